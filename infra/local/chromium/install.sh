#!/usr/bin/env bash
# Chromium, which the web console's browser tests drive (playwright-core, test/console.e2e-spec.ts).
# Installed once, from Debian's chromium package; a no-op when it is there already (CHROMIUM_PATH,
# default /usr/bin/chromium). No browser is downloaded by npm: playwright-core brings none.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM_PATH" ] && exit 0

apt_install Chromium "install Chromium and set CHROMIUM_PATH to it" chromium
"$CHROMIUM_PATH" --version 2>/dev/null | head -n 1
