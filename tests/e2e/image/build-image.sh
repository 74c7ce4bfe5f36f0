#!/bin/bash
# Builds (or finds in the cache) the Debian bookworm VM image of the e2e suite
# and prints its directory on the last line of stdout. The directory holds
#   rootfs.img    ext4 root filesystem (raw, sparse), made with mkfs.ext4 -d (no loop mount)
#   vmlinuz, initrd.img   the guest's own kernel and initramfs (MODULES=list)
#   manifest.txt  `dpkg -l` of the image;  build.log, build-info.txt
#
# Adapted from the shared VM harness (/work/shared/vm/build-image.sh); the
# project does not use that copy.
#
# Cache key: sha256 of every file in this directory (the package list, this
# script, the files baked into the image), the extra packages and the apt
# sources used, so any change to an image input gives a new image.
#
# Environment:
#   VM_CACHE_DIR       cache root (default /var/cache/holdfast-vm); images go to $VM_CACHE_DIR/e2e/<key>
#   VM_EXTRA_PACKAGES  extra Debian packages, space separated
#   VM_APT_SOURCES     apt sources files to use, space separated (default: the host's
#                      /etc/apt/sources.list.d/debian.sources, else /etc/apt/sources.list)
#   VM_REBUILD=1       ignore the cache
#   VM_CACHE_KEEP      how many e2e images to keep (default 4, newest first)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${VM_CACHE_DIR:-/var/cache/holdfast-vm}/e2e

if [[ -n ${VM_APT_SOURCES:-} ]]; then
    read -r -a sources <<<"$VM_APT_SOURCES"
elif [[ -s /etc/apt/sources.list.d/debian.sources ]]; then
    sources=(/etc/apt/sources.list.d/debian.sources)
else
    sources=(/etc/apt/sources.list)
fi

packages=$( (grep -v -e '^\s*#' -e '^\s*$' "$here/packages.txt"; for p in ${VM_EXTRA_PACKAGES:-}; do echo "$p"; done) | sort -u)
key=$( {
    echo "$packages"
    for f in $(cd "$here" && ls -1 | sort); do echo "== $f"; cat "$here/$f"; done
    cat "${sources[@]}"
} | sha256sum | cut -c1-16)
out="$cache_root/$key"

if [[ -f $out/rootfs.img && ${VM_REBUILD:-0} != 1 ]]; then
    echo "cached image: $out" >&2
    echo "$out"
    exit 0
fi

command -v mmdebstrap >/dev/null || { echo "need mmdebstrap (scripts/install-deps.sh)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root (mmdebstrap root mode)" >&2; exit 1; }

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9   # one build at a time; a second caller then finds the image
if [[ -f $out/rootfs.img && ${VM_REBUILD:-0} != 1 ]]; then
    echo "cached image (built meanwhile): $out" >&2
    echo "$out"
    exit 0
fi

work=$(mktemp -d "$cache_root/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
start=$(date +%s)

echo "building VM image $key ($(echo $packages | wc -w) packages; takes about a minute)" >&2
# Check-Valid-Until off: the host's mirror may be a dated snapshot.
mmdebstrap \
    --variant=apt \
    --include="$(echo $packages | tr ' ' ',')" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"' \
    --essential-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/harness.conf"' \
    --essential-hook="install -m 0755 '$here/initramfs-hook' \"\$1/etc/initramfs-tools/hooks/harness\"" \
    --customize-hook="'$here/customize-image.sh' \"\$1\"" \
    bookworm "$root" "${sources[@]}" >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; exit 1; }
t_mmdebstrap=$(( $(date +%s) - start ))

kver=$(ls "$root/lib/modules" | sort -V | tail -1)
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"
mv "$root/root/manifest.txt" "$work/manifest.txt"

# Directory -> sparse ext4 image with 3 GiB free (volumes, docker layers).
used_mb=$(du -sm --apparent-size "$root" | cut -f1)
size_mb=$(( used_mb * 12 / 10 + 3072 ))
truncate -s "${size_mb}M" "$work/rootfs.img"
mkfs.ext4 -q -F -L holdfast-root -d "$root" "$work/rootfs.img"
rm -rf "$root"

echo "kernel=$kver rootfs_used_mb=$used_mb image_mb=$size_mb mmdebstrap_s=$t_mmdebstrap total_s=$(( $(date +%s) - start ))" \
    | tee "$work/build-info.txt" >&2
rm -rf "$out"
trap - EXIT
mv "$work" "$out"
ls -1dt "$cache_root"/*/ | tail -n +$(( ${VM_CACHE_KEEP:-4} + 1 )) | xargs -r rm -rf
echo "$out"
