#!/bin/bash
# Lays out a managed (v2) plugin directory for `docker plugin create`:
#   DIR/config.json   packaging/plugin/config.json (or --config FILE)
#   DIR/rootfs/       the rootfs tarball from build-rootfs.sh, extracted
# then, offline:
#   docker plugin create holdfast DIR && docker plugin enable holdfast
#
#   packaging/plugin/make-plugin-dir.sh [--config FILE] ROOTFS.tar DIR   (as root)
# DIR must not exist or be empty (an old rootfs is never merged into).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
config=$here/config.json
if [[ ${1:-} == --config ]]; then
  config=$2
  shift 2
fi
[[ $# == 2 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
rootfs_tar=$1 dir=$2
[[ -s $rootfs_tar ]] || { echo "make-plugin-dir.sh: no rootfs tarball at $rootfs_tar" >&2; exit 2; }
[[ -s $config ]] || { echo "make-plugin-dir.sh: no config.json at $config" >&2; exit 2; }
if [[ -e $dir && -n $(ls -A "$dir") ]]; then
  echo "make-plugin-dir.sh: $dir exists and is not empty" >&2
  exit 2
fi
[[ $(id -u) == 0 ]] || { echo "make-plugin-dir.sh: run as root (the rootfs has device nodes and root-owned files)" >&2; exit 2; }
mkdir -p "$dir/rootfs"
cp "$config" "$dir/config.json"
tar -xf "$rootfs_tar" -C "$dir/rootfs" --numeric-owner
# What the engine needs, checked here rather than at `docker plugin enable`.
for need in usr/sbin/holdfastd usr/lib/holdfast/plugin-entrypoint etc/holdfast/holdfast.yaml run/docker/plugins mnt/volumes; do
  [[ -e $dir/rootfs/$need ]] || { echo "make-plugin-dir.sh: the rootfs lacks /$need" >&2; exit 1; }
done
echo "$dir"
