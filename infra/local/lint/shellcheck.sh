#!/usr/bin/env bash
# Runs shellcheck over the shell of infra/: every *.sh, and every other file that starts with a bash
# shebang or declares `# shellcheck shell=bash`. shellcheck comes from Debian's package, installed
# once when it is missing (as promtool is).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"

if ! command -v shellcheck >/dev/null; then
  apt_install shellcheck "install shellcheck (https://www.shellcheck.net) on PATH" --no-install-recommends shellcheck
fi

cd "$ROOT"
files=()
while IFS= read -r -d '' f; do
  case "$f" in
    *.sh) files+=("$f") ;;
    *) if head -n 1 "$f" | grep -Eq '^#!.*\bbash\b' || grep -q '^# shellcheck shell=bash' "$f"; then files+=("$f"); fi ;;
  esac
done < <(git ls-files -z --cached --others --exclude-standard -- infra)
[ ${#files[@]} -gt 0 ] || { fail "shellcheck: no shell files found under infra/"; exit 1; }
# -x follows `source` to the files the directives name, so functions defined there are known.
shellcheck -x "${files[@]}"
