#!/usr/bin/env bash
# The project's test command: installs the browser the end-to-end test needs (if missing), then
# runs every test of the workspace. Extra arguments go to `cargo test`.
#
# Usage: scripts/test.sh [cargo test arguments...]
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "test: error: cargo is not on PATH; install Rust from https://rustup.rs" >&2
    exit 1
fi

scripts/install-browser.sh
# Libraries, binaries, integration tests, benches (run once each as tests), then the compiled
# examples in the documentation.
# Both always run (and every test binary within each), so one failure never hides the rest of the
# report; the script fails if either did.
status=0
cargo test --workspace --all-targets --no-fail-fast "$@" || status=$?
cargo test --workspace --doc --no-fail-fast "$@" || status=$?
exit "$status"
