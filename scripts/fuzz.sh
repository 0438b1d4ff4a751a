#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 10 s each), starting from the committed
# seeds (fuzz/seeds/TARGET) plus what earlier runs found (fuzz/corpus/TARGET, not committed).
# Installs cargo-fuzz if it is missing (and says so). Needs the nightly toolchain.
#
# Usage: scripts/fuzz.sh [seconds per target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-10}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(verify_token extract_token jwks_document management_response emulator_request)
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: error: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing; installing it (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

cd fuzz
cargo +nightly fuzz build
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "== fuzz $target for ${seconds}s"
    # A crash stops the run with a non-zero status and leaves the input in fuzz/artifacts/.
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread .* panicked|Test unit written|Done [0-9]+ runs)' || true
    test "${PIPESTATUS[0]}" -eq 0
done
