#!/bin/bash
# mmdebstrap --customize-hook: runs on the HOST with the image root as $1.
# Installs the VM's init, bakes a busybox rootfs tarball (a local container
# image: the VM has no registry) and writes the package manifest.
# From the shared VM harness (/work/shared/vm/guest/customize-image.sh).
set -euo pipefail
root=$1
here=$(cd "$(dirname "$0")" && pwd)

install -m 0755 "$here/harness-init" "$root/sbin/harness-init"
echo holdfast-vm >"$root/etc/hostname"

# Rootfs tarball for a tiny local container image (no registry in the VM):
#   docker import /opt/harness/busybox-rootfs.tar busybox:local
bb=$(mktemp -d)
mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/data"
cp "$root/bin/busybox" "$bb/bin/"
for applet in $(chroot "$root" /bin/busybox --list); do
    [[ -e $bb/bin/$applet ]] || ln -s busybox "$bb/bin/$applet"
done
mkdir -p "$root/opt/harness"
tar -C "$bb" --owner=0 --group=0 -cf "$root/opt/harness/busybox-rootfs.tar" .
rm -rf "$bb"

chroot "$root" dpkg -l >"$root/root/manifest.txt"
