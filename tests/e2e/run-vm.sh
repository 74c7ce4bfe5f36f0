#!/bin/bash
# Boots the e2e VM image under TCG (no KVM: nested KVM hangs here; no
# network), runs SCRIPT in it as root with cwd /mnt/host, and exits with the
# script's exit code (125: the guest gave none, i.e. it crashed or timed out).
#
# Adapted from the shared VM harness (/work/shared/vm/run-vm.sh).
#
# Usage: run-vm.sh [options] SCRIPT [ARGS...]
#   -s DIR    host folder shared into the guest at /mnt/host (9p, read-write; required)
#   -m MB     guest memory (default 2048)
#   -c N      guest vCPUs (default 2)
#   -t SEC    wall-clock limit for the whole VM run (default 1200)
#   -d MB     size of the blank spare disk /dev/vdb = /dev/disk/by-id/virtio-spare (default 4096)
#   --shell   no script: a root shell on the console (exit it to power off)
# Environment: VM_KERNEL_ARGS (e.g. "loglevel=7"), and those of image/build-image.sh.
# Writes DIR/.vm-run/: output.log (script output), console.log (serial
# console), rc, guest-times, host-times. The root disk is opened with
# snapshot=on: every run starts from the pristine image, parallel runs are safe.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
share='' mem=2048 cpus=2 limit=1200 disk_mb=4096 shell=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -s) share=$2; shift 2 ;;
        -m) mem=$2; shift 2 ;;
        -c) cpus=$2; shift 2 ;;
        -t) limit=$2; shift 2 ;;
        -d) disk_mb=$2; shift 2 ;;
        --shell) shell=1; shift ;;
        --) shift; break ;;
        -*) echo "run-vm.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[[ -n $share && ( $# -gt 0 || $shell == 1 ) ]] || { sed -n '/^# Usage/,/^# snapshot/p' "$0" >&2; exit 2; }

t0=$(date +%s.%N)
image=$("$here/image/build-image.sh" | tail -1)
t_image=$(date +%s.%N)

share=$(cd "$share" && pwd)
run="$share/.vm-run"
rm -rf "$run"; mkdir -p "$run"
vmtmp=$(mktemp -d /tmp/holdfast-e2e-vm.XXXXXX)
trap 'rm -rf "$vmtmp"' EXIT
truncate -s "${disk_mb}M" "$vmtmp/spare.img"

append="root=/dev/vda rw rootfstype=ext4 init=/sbin/harness-init console=ttyS0 quiet panic=-1 ${VM_KERNEL_ARGS:-}"
if [[ $shell == 1 ]]; then
    append+=" harness.shell"
else
    cp "$1" "$run/script"; chmod +x "$run/script"; shift
    { printf 'exec /mnt/host/.vm-run/script'; [[ $# == 0 ]] || printf ' %q' "$@"; echo; } >"$run/run.sh"
fi

# Disks are explicit virtio-blk-pci devices in this order so the root disk is
# /dev/vda (-drive if=virtio would be enumerated after them).
# shellcheck disable=SC2054  # commas are qemu option syntax
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$mem" -smp "$cpus"
    -nodefaults -no-reboot -nic none -display none
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$append"
    -drive "file=$image/rootfs.img,format=raw,if=none,id=root,snapshot=on"
    -device virtio-blk-pci,drive=root,serial=root
    -drive "file=$vmtmp/spare.img,format=raw,if=none,id=spare"
    -device virtio-blk-pci,drive=spare,serial=spare
    -virtfs "local,path=$share,mount_tag=host0,security_model=none,id=host0"
    -device virtio-rng-pci)

if [[ $shell == 1 ]]; then
    TMPDIR=$vmtmp "${qemu[@]}" -serial mon:stdio
    exit 0
fi

set +e
TMPDIR=$vmtmp timeout --foreground -k 10 "$limit" "${qemu[@]}" -serial stdio </dev/null | tee "$run/console.log"
qemu_rc=${PIPESTATUS[0]}
set -e
awk -v a="$t0" -v b="$t_image" -v c="$(date +%s.%N)" 'BEGIN {
    printf "image_lookup_s=%.1f\nvm_wall_s=%.1f\ntotal_s=%.1f\n", b - a, c - b, c - a }' >"$run/host-times"

if [[ ! -f $run/rc ]]; then
    echo "run-vm.sh: no exit code from the guest (qemu rc=$qemu_rc; 124 = timed out after ${limit}s)" >&2
    exit 125
fi
exit "$(cat "$run/rc")"
