#!/usr/bin/env bash
# promtool, which the end-to-end tests run on the output of GET /metrics (`promtool check metrics`).
# Installed once, from Debian's prometheus package; a no-op when promtool is on PATH already.
# Only the binary is wanted: if installing the package started its Prometheus server (:9090), it is
# stopped and disabled again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

command -v promtool >/dev/null && exit 0

apt_install promtool "install promtool (https://prometheus.io/download/) on PATH" --no-install-recommends prometheus

if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
promtool --version 2>&1 | head -n 1
