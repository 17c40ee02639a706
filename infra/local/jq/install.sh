#!/usr/bin/env bash
# jq, which the examples of README.md and docs/ use to keep the ids an answer gives (an event, a batch,
# a schedule) for the next command. Installed once, from Debian's jq package; a no-op when jq is on PATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

command -v jq >/dev/null && exit 0

apt_install jq "install jq (https://jqlang.org/download/) on PATH" --no-install-recommends jq
jq --version
