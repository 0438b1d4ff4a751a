#!/usr/bin/env bash
# Supply-chain checks: licenses, banned or wildcard dependencies, and sources (cargo-deny, policy in
# deny.toml). Installs cargo-deny first when it is missing. Advisories are not checked here: see
# deny.toml for why and how to check them where an advisory database can be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny: cargo-deny is missing; installing it (cargo install cargo-deny --locked)" >&2
    cargo install cargo-deny --locked
fi
# cargo-deny reads `cargo metadata` offline, which needs every package of Cargo.lock on disk, also
# those no build here has needed yet (optional dependencies of other platforms or features).
cargo fetch --locked --quiet
cargo deny --offline check licenses bans sources
