#!/bin/sh
# The Debian packages the tests use, the first step of the README's test command:
# - chromium, for the real-browser tests (tests/browser/): the tests drive it with Playwright (the
#   `playwright` package from PyPI) and never download a browser build of their own;
# - espeak-ng, the speech synthesiser whose voices the produced-sound tests and benchmarks level,
#   denoise and detect (tests/interview.py);
# - git-lfs, which the workflow tests use to check a network repository out without its masters
#   and fetch only the ones a run needs (`git lfs pull --include`).
# Idempotent: installs only what is not on PATH, nothing when all are there. Run as root, or
# through sudo.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v espeak-ng >/dev/null 2>&1 || missing="$missing espeak-ng"
command -v git-lfs >/dev/null 2>&1 || missing="$missing git-lfs"
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "system-packages.sh: not installed and this is not root (no sudo): install Debian's packages:$missing" >&2
    exit 1
fi
echo "installing Debian's packages for the tests (apt-get):$missing" >&2
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086  # one word per package
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
for tool in $missing; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "system-packages.sh: apt-get installed $tool, but it is not on PATH" >&2
        exit 1
    }
done
