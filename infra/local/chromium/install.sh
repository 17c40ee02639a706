#!/usr/bin/env bash
# Chromium, which the web console's browser tests drive (playwright-core, test/console.e2e-spec.ts).
# Installed once, from Debian's chromium package; a no-op when it is there already (CHROMIUM_PATH,
# default /usr/bin/chromium). No browser is downloaded by npm: playwright-core brings none.
set -euo pipefail

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM_PATH" ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "FAIL Chromium is missing at $CHROMIUM_PATH and this is not a Debian-like system: install Chromium and set CHROMIUM_PATH to it" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "FAIL Chromium is missing; installing it needs root: apt-get install chromium" >&2; exit 1; }
  as_root=(sudo)
fi

echo "==> installing Chromium (Debian package chromium, with its fonts)"
"${as_root[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q chromium
"$CHROMIUM_PATH" --version 2>/dev/null | head -n 1
