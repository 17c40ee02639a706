#!/usr/bin/env bash
# promtool, which the end-to-end tests run on the output of GET /metrics (`promtool check metrics`).
# Installed once, from Debian's prometheus package; a no-op when promtool is on PATH already.
# Only the binary is wanted: if installing the package started its Prometheus server (:9090), it is
# stopped and disabled again.
set -euo pipefail

command -v promtool >/dev/null && exit 0

if ! command -v apt-get >/dev/null; then
  echo "FAIL promtool is missing and this is not a Debian-like system: install promtool (https://prometheus.io/download/) on PATH" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "FAIL promtool is missing; installing it needs root: apt-get install prometheus" >&2; exit 1; }
  as_root=(sudo)
fi

echo "==> installing promtool (Debian package prometheus, without its recommends)"
"${as_root[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends prometheus

if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  "${as_root[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  "${as_root[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
promtool --version 2>&1 | head -n 1
