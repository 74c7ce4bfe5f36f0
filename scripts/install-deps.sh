#!/usr/bin/env bash
# Installs every Debian 12 package holdfast needs to build, test and run.
# Idempotent; safe to re-run. Groups: build, runtime, test servers, VM harness.
#   scripts/install-deps.sh            build + runtime + test servers + VM harness
#   scripts/install-deps.sh --runtime  only what holdfastd needs to run (and build it)
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config git ccache
  libnfs-dev libiscsi-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev
  libcli11-dev libspdlog-dev libfmt-dev libmount-dev libsystemd-dev
  catch2 libcurl4-openssl-dev
)
runtime_pkgs=( util-linux e2fsprogs xfsprogs nfs-common )
test_pkgs=(
  nfs-ganesha nfs-ganesha-vfs rpcbind tgt libiscsi-bin curl jq python3
  clang-14 libclang-rt-14-dev
)
vm_pkgs=( qemu-system-x86 qemu-utils mmdebstrap )

want=("${build_pkgs[@]}" "${runtime_pkgs[@]}")
if [[ "${1:-}" != "--runtime" ]]; then
  want+=("${test_pkgs[@]}" "${vm_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends keeps CI lean; policy-rc.d stops the packages'
  # own services from starting (the tests start the servers they need).
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
