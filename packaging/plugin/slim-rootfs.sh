#!/bin/bash
# mmdebstrap customize hook of build-rootfs.sh: finishes the plugin's rootfs
# at $1 (after every package's maintainer scripts ran) and checks it.
#
# The tools the backends need drag in large hard dependencies that a plugin
# never runs: python3 (nfs-common's nfsiostat, xfsprogs' xfs_scrub_all), ICU
# (only xfs_scrub), udev's hardware database, and perl (apt satisfies
# init-system-helpers' "usrmerge | usr-is-merged" with usrmerge, a perl
# script, although the tree is merged already). build-rootfs.sh keeps ICU and
# the hwdb sources from being unpacked; usrmerge and perl are purged cleanly
# (usr-is-merged stays), python and perl-base with their reverse dependencies
# left in place (dpkg is never run in the plugin).
# The check at the end proves that every program in the rootfs still finds
# its libraries, and that the tools holdfastd runs are there.
set -euo pipefail
root=${1:?usage: slim-rootfs.sh ROOTFS}

mkdir -p "$root/run/docker/plugins" "$root/mnt/volumes" "$root/var/lib/holdfast" \
  "$root/etc/holdfast" "$root/usr/lib/holdfast"

# shellcheck disable=SC2016  # dpkg-query's and awk's own syntax
installed() { chroot "$root" dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk -v re="$1" '$1 == "ii" && $2 ~ re { print $2 }'; }
perl=$(installed '^(usrmerge|perl|libperl5\.36|perl-modules-5\.36|libfile-find-rule-perl|libnumber-compare-perl|libtext-glob-perl)$')
if [[ -n $perl ]]; then
  # shellcheck disable=SC2086  # one word per package
  chroot "$root" dpkg --purge $perl >/dev/null
fi
python=$(installed python3)
if [[ -n $python ]]; then
  # shellcheck disable=SC2086  # one word per package
  chroot "$root" dpkg --purge --force-depends $python >/dev/null
fi
# perl-base (11 MB) is Essential only for maintainer scripts (debconf's);
# nothing the plugin runs is written in perl.
if [[ -n $(installed '^perl-base$') ]]; then
  chroot "$root" dpkg --purge --force-remove-essential --force-depends perl-base >/dev/null 2>&1
fi
rm -f "$root/usr/lib/udev/hwdb.bin" "$root/lib/udev/hwdb.bin" "$root/etc/udev/hwdb.bin"
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
  "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/usr/share/icu

# Every ELF executable and library resolves (xfs_scrub, left without ICU on
# purpose, is not unpacked at all).
# shellcheck disable=SC2016  # expanded by the bash in the chroot
missing=$(chroot "$root" /bin/bash -c '
  for f in /usr/bin/* /usr/sbin/* /usr/lib/x86_64-linux-gnu/*.so*; do
    [[ -f $f && ! -L $f ]] || continue
    out=$(ldd "$f" 2>/dev/null) || continue
    grep -q "not found" <<<"$out" && echo "$f: $(grep "not found" <<<"$out" | tr -s " \t\n" " ")"
  done; true')
if [[ -n $missing ]]; then
  echo "slim-rootfs.sh: unresolved libraries in the plugin rootfs:" >&2
  echo "$missing" >&2
  exit 1
fi
for tool in mount umount mountpoint findmnt blkid mount.nfs mount.nfs4 iscsiadm lvm thin_check \
  mkfs.ext4 mkfs.xfs e2fsck xfs_repair resize2fs xfs_growfs modprobe; do
  chroot "$root" /bin/bash -c "command -v $tool" >/dev/null \
    || { echo "slim-rootfs.sh: $tool missing from the plugin rootfs" >&2; exit 1; }
done
