# Helpers for the iscsi scenarios (sourced after guest/lib.sh).
ISCSI_IQN=iqn.2024-01.io.holdfast:e2e
MOUNT_ROOT=/var/lib/holdfast/mounts

# The claim label's JSON body, read from the LUN's backing file on the
# target side: 4 KiB at the start of the reserved last MiB, after the 64-byte
# header.
iscsi_label() { # LUN
    local f=/srv/iscsi/lun$1.img size off
    size=$(stat -c %s "$f")
    off=$(( (size - 1048576) / 1048576 ))
    dd if="$f" bs=1M skip="$off" count=1 status=none | head -c 4096 | tail -c +65 | tr -d '\0'
}
# iSCSI sessions to the e2e target through interface record $1 (default holdfast).
iscsi_sessions() {
    iscsiadm -m session -P 1 2>/dev/null | grep -c "Iface Name: ${1:-holdfast}\$" || true
}
# SCSI disks the kernel has attached over iSCSI.
iscsi_disks() { lsblk -dn -o NAME,TRAN 2>/dev/null | awk '$2 == "iscsi"' | wc -l; }
iscsi_mount_line() { awk -v m="$MOUNT_ROOT/$1" '$2 == m' /proc/mounts; }
vol_status() { docker volume inspect -f '{{json .Status}}' "$1"; }
