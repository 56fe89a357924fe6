#!/bin/sh
# Debian's chromium for the real-browser tests (tests/browser/): the tests drive it with Playwright
# (the `playwright` package from PyPI) and never download a browser build of their own.
# Idempotent: does nothing when `chromium` is already on PATH. Run as root, or through sudo.
set -eu
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "install-chromium.sh: chromium is not installed and this is not root (no sudo): install Debian's chromium package" >&2
    exit 1
fi
echo "installing Debian's chromium for the browser tests (apt-get)" >&2
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || {
    echo "install-chromium.sh: apt-get installed chromium, but it is not on PATH" >&2
    exit 1
}
