#!/usr/bin/env bash
# Quick start, step 1: install everything holdfast needs on a Debian 12 host,
# build it, install it, and start holdfastd on its zero-config default (the
# local backend), so that `docker volume create -d holdfast v` works at once.
#
#   sudo scripts/install.sh [--prefix /usr] [--no-start]
#
# With systemd as PID 1 the socket and service units are enabled and started
# (socket activation: Docker may start before the daemon). Without systemd
# (containers, CI) holdfastd is started in the background, logging to
# /var/log/holdfast.log.
set -euo pipefail

prefix=/usr
start=1
while (($#)); do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "usage: $0 [--prefix DIR] [--no-start]" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "install.sh: run as root (it installs packages and a system daemon)" >&2; exit 1; }

src="$(cd "$(dirname "$0")/.." && pwd)"
build="${HOLDFAST_BUILD_DIR:-$src/build-release}"

"$src/scripts/install-deps.sh" --runtime
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_SYSCONFDIR=/etc -DHOLDFAST_BUILD_TESTS=OFF -DHOLDFAST_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target holdfastd
# Keep an operator's edited config: install the default only if none exists.
keep=""
if [[ -f /etc/holdfast/holdfast.yaml ]]; then
  keep=$(mktemp) && cp -p /etc/holdfast/holdfast.yaml "$keep"
fi
cmake --install "$build" >/dev/null
if [[ -n "$keep" ]]; then
  cp -p "$keep" /etc/holdfast/holdfast.yaml && rm -f "$keep"
fi
"$prefix/sbin/holdfastd" --check-config --config /etc/holdfast/holdfast.yaml

((start)) || { echo "holdfast installed (not started)"; exit 0; }

if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl enable --now holdfast.socket
  systemctl enable holdfast.service
  systemctl restart holdfast.service
  echo "holdfast started (systemd): $(systemctl is-active holdfast.service)"
else
  if pid=$(pgrep -x holdfastd); then
    kill "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  nohup "$prefix/sbin/holdfastd" --config /etc/holdfast/holdfast.yaml >>/var/log/holdfast.log 2>&1 &
  for _ in $(seq 50); do
    [[ -S /run/docker/plugins/holdfast.sock ]] && break
    sleep 0.1
  done
  [[ -S /run/docker/plugins/holdfast.sock ]] || { echo "holdfastd did not start; see /var/log/holdfast.log" >&2; exit 1; }
  echo "holdfast started (pid $!), log /var/log/holdfast.log"
fi
echo "try: docker volume create -d holdfast myvol"
