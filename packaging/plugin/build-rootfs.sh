#!/bin/bash
# Builds the managed (v2) plugin's root filesystem OFFLINE, that is without a
# container registry: Debian bookworm packages through mmdebstrap plus the
# holdfastd you built. The result is the same rootfs the Dockerfile's runtime
# stage produces, as a tarball; make-plugin-dir.sh turns it into a directory
# for `docker plugin create`.
#
#   packaging/plugin/build-rootfs.sh HOLDFASTD OUT.tar      (as root)
#
# Two layers, so a rebuilt daemon costs seconds, not a Debian bootstrap:
#   base  mmdebstrap --variant=essential with packages.txt and the packages
#         holding holdfastd's shared libraries (lib-packages.sh), minus the
#         files in dpkg-excludes.cfg (docs, man pages, locales...), finished
#         by slim-rootfs.sh (drops what the plugin never runs, checks that
#         every program still loads); cached as <cache>/base-<key>.tar, key =
#         sha256(package list, these three files); a minute or two to build.
#   top   appended to a copy of the base: holdfastd (stripped), the
#         entrypoint, the plugin's default config.
#
# Environment:
#   HOLDFAST_PLUGIN_CACHE   cache folder (default /var/cache/holdfast-plugin)
#   HOLDFAST_APT_SOURCES    space-separated apt sources files (default: the
#                           host's debian.sources, else sources.list)
#   HOLDFAST_PLUGIN_REBUILD=1   ignore the cached base
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
[[ $# == 2 ]] || { usage >&2; exit 2; }
daemon=$1 out=$2
[[ -x $daemon ]] || { echo "build-rootfs.sh: $daemon is not an executable" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "build-rootfs.sh: run as root (mmdebstrap root mode)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "build-rootfs.sh: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 2; }
cache=${HOLDFAST_PLUGIN_CACHE:-/var/cache/holdfast-plugin}

libs=$("$here/lib-packages.sh" "$daemon")
packages=$( { grep -v -e '^\s*#' -e '^\s*$' "$here/packages.txt"; echo "$libs"; } | sort -u)
key=$( { echo "$packages"; cat "$0" "$here/slim-rootfs.sh" "$here/dpkg-excludes.cfg"; } | sha256sum | cut -c1-16)
base=$cache/base-$key.tar

if [[ -n ${HOLDFAST_APT_SOURCES:-} ]]; then
  read -r -a sources <<<"$HOLDFAST_APT_SOURCES"
elif [[ -s /etc/apt/sources.list.d/debian.sources ]]; then
  sources=(/etc/apt/sources.list.d/debian.sources)
else
  sources=(/etc/apt/sources.list)
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one build at a time; a second caller then finds the cached base

if [[ -s $base && ${HOLDFAST_PLUGIN_REBUILD:-0} != 1 ]]; then
  echo "build-rootfs.sh: cached base $base" >&2
else
  t0=$(date +%s)
  echo "build-rootfs.sh: building base $key ($(echo "$packages" | wc -l) packages)" >&2
  tmp=$(mktemp "$cache/.base-$key.XXXXXX.tar")
  trap 'rm -f "$tmp"' EXIT
  # essential + the listed packages: no apt, no init system; files the
  # plugin never reads are not unpacked (dpkg-excludes.cfg).
  mmdebstrap \
    --variant=essential \
    --include="$(printf '%s\n' "$packages" usr-is-merged | paste -sd,)" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt="$here/dpkg-excludes.cfg" \
    --customize-hook="'$here/slim-rootfs.sh' \"\$1\"" \
    bookworm "$tmp" "${sources[@]}" >"$cache/base-$key.log" 2>&1 \
    || { tail -30 "$cache/base-$key.log" >&2; exit 1; }
  chmod 0644 "$tmp" && mv "$tmp" "$base"
  trap - EXIT
  echo "build-rootfs.sh: base built in $(( $(date +%s) - t0 ))s: $(du -m "$base" | cut -f1) MB" >&2
  # keep the three newest bases
  # shellcheck disable=SC2012  # our own file names, no odd characters
  ls -1t "$cache"/base-*.tar | tail -n +4 | while read -r old; do rm -f "$old" "${old%.tar}.log"; done
fi
exec 9>&-

# The top layer, appended to a copy of the base (tar -r: no extraction).
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
# mmdebstrap leaves the contents of /run out of its tarball; the engine wants
# /run/docker/plugins in the rootfs (it binds the socket folder there).
install -d "$top/usr/sbin" "$top/usr/lib/holdfast" "$top/etc/holdfast" "$top/run/docker/plugins"
install -m 0755 "$daemon" "$top/usr/sbin/holdfastd"
strip --strip-unneeded "$top/usr/sbin/holdfastd"
install -m 0755 "$here/entrypoint.sh" "$top/usr/lib/holdfast/plugin-entrypoint"
install -m 0644 "$here/holdfast.yaml" "$top/etc/holdfast/holdfast.yaml"
cp "$base" "$out.tmp" && chmod 0644 "$out.tmp"
tar -rf "$out.tmp" --owner=0 --group=0 --numeric-owner --no-recursion -C "$top" \
  ./run/docker ./run/docker/plugins ./usr/sbin/holdfastd ./usr/lib/holdfast/plugin-entrypoint ./etc/holdfast/holdfast.yaml
mv "$out.tmp" "$out"
echo "build-rootfs.sh: $out ($(du -m "$out" | cut -f1) MB)" >&2
