#!/usr/bin/env bash
# Checks that the libraries enable only the dependency features they use (issue: lean features).
# `cargo tree -e normal,features -p CRATE` lists what building CRATE alone turns on; a forbidden
# feature in it fails the check, naming the crate and the feature.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
# check CRATE "CARGO TREE ARGS" PATTERN...: each PATTERN is `dependency feature "name"`.
check() {
    local crate="$1" args="$2"
    shift 2
    local tree
    # shellcheck disable=SC2086
    tree="$(cargo tree --locked -q -e normal,features -p "$crate" $args --prefix none)"
    for pattern in "$@"; do
        if grep -qF "$pattern" <<<"$tree"; then
            echo "check-features: $crate turns on $pattern, which it does not use" >&2
            status=1
        fi
    done
}

# (Features a dependency turns on for itself are its own: reqwest needs Tokio's `net`, and axum's
# `serve`, which the emulator uses, needs Tokio's `macros`.)
check passage-core "" 'tokio feature "macros"' 'tokio feature "signal"' \
    'tokio feature "rt-multi-thread"' 'reqwest feature "json"' 'metrics v'
# The TLS choice is a choice: native-tls alone brings no rustls.
check passage-core "--no-default-features --features native-tls" 'rustls v'
check passage-axum "" 'axum feature "json"' 'axum feature "form"' 'axum feature "query"' \
    'axum feature "macros"' 'axum feature "http1"' 'tokio feature "macros"'
check passage-actix "" 'actix-web feature "macros"' 'actix-web feature "cookies"'
check passage-rocket "" 'rocket feature "json"'
check passage-warp "" 'warp feature "server"' 'tokio feature "macros"'
check passage-emulator "--no-default-features" 'tracing-subscriber v' 'tokio feature "signal"' \
    'tokio feature "rt-multi-thread"' 'clap v'
# WebAuthn (the emulator's passkeys) stays in the emulator: the SDK crates gain no dependency.
for crate in passage-core passage-axum passage-actix passage-rocket passage-warp; do
    check "$crate" "" 'webauthn-rs v' 'passkey-client v'
done

if [ "$status" -eq 0 ]; then
    echo "check-features: every library enables only the features it uses"
fi
exit "$status"
