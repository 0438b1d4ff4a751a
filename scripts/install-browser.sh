#!/usr/bin/env bash
# Installs what the browser end-to-end test (tests/tests/browser.rs) needs: Debian's `chromium`
# and `chromium-driver` (apt-get, as root or with passwordless sudo). Idempotent: exits at once
# when both are on PATH (or CHROME_BIN and CHROMEDRIVER name executables).
#
# Usage: scripts/install-browser.sh
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

if [ -n "${CHROME_BIN:-}" ] && [ -x "${CHROME_BIN}" ] && [ -n "${CHROMEDRIVER:-}" ] && [ -x "${CHROMEDRIVER}" ]; then
    echo "install-browser: using CHROME_BIN=${CHROME_BIN} and CHROMEDRIVER=${CHROMEDRIVER}"
    exit 0
fi
if have chromium && have chromedriver; then
    echo "install-browser: chromium and chromedriver are installed ($(command -v chromium), $(command -v chromedriver))"
    exit 0
fi

fail() {
    echo "install-browser: error: $*" >&2
    echo "install-browser: install Chromium and ChromeDriver yourself (Debian/Ubuntu packages: chromium chromium-driver)," >&2
    echo "install-browser: or point CHROME_BIN and CHROMEDRIVER at them, then run the tests again." >&2
    exit 1
}

if ! have apt-get; then
    fail "chromium/chromedriver are missing and apt-get is not available on this machine"
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif have sudo && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    fail "chromium/chromedriver are missing; installing them needs root (run this script as root or with passwordless sudo)"
fi

echo "install-browser: installing chromium and chromium-driver with apt-get..."
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q || fail "apt-get update failed"
# fonts-liberation is only a recommendation of chromium, but pages and screenshots need real fonts.
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-liberation \
    || fail "apt-get install chromium chromium-driver failed"

if ! have chromium || ! have chromedriver; then
    fail "chromium or chromedriver is still not on PATH after installing"
fi
echo "install-browser: installed $(chromium --version 2>/dev/null || echo chromium) and $(chromedriver --version 2>/dev/null || echo chromedriver)"
