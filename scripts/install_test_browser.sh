#!/usr/bin/env bash
# Install the real browser the default Molecule scenario drives: Debian's
# chromium, run headless on the controller against the dbhub container.
# scripts/test.sh calls this before the Molecule scenarios; it is a no-op when
# chromium is already there.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    chromium --version
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "install_test_browser: run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update
# fonts-liberation: without any font the screenshot is blank boxes.
apt-get install -y --no-install-recommends chromium fonts-liberation
chromium --version
