# Helpers for the iscsi scenarios (sourced after guest/lib.sh).
ISCSI_IQN=iqn.2024-01.io.holdfast:e2e
MOUNT_ROOT=/var/lib/holdfast/mounts

# The claim label's JSON body, read from the LUN's backing file on the
# target side: 4 KiB at the start of the reserved last MiB, after the 64-byte
# header. dd reads exactly that block: a reader that stops early (head)
# would kill dd with SIGPIPE, which pipefail reports as a failure.
iscsi_label() { # LUN
    local f=/srv/iscsi/lun$1.img size
    size=$(stat -c %s "$f")
    dd if="$f" bs=4096 skip=$(( (size - 1048576) / 4096 )) count=1 status=none | tail -c +65 | tr -d '\0'
}
# iSCSI sessions to the e2e target through interface record $1 (default holdfast).
iscsi_sessions() {
    iscsiadm -m session -P 1 2>/dev/null | grep -c "Iface Name: ${1:-holdfast}\$" || true
}
# SCSI disks the kernel has attached over iSCSI.
iscsi_disks() { lsblk -dn -o NAME,TRAN 2>/dev/null | awk '$2 == "iscsi"' | wc -l; }
iscsi_mount_line() { awk -v m="$MOUNT_ROOT/$1" '$2 == m' /proc/mounts; }
vol_status() { docker volume inspect -f '{{json .Status}}' "$1"; }

# multipathd, for the multipath scenario only (setup.sh does not start it:
# it would claim the single-path LUNs of the other instances). It takes
# every path that is not blacklisted (find_multipaths off); the VM's own
# virtio disks are blacklisted.
mp_start() {
    cat >/etc/multipath.conf <<'CONF'
defaults {
    user_friendly_names yes
    find_multipaths off
}
blacklist {
    devnode "^vd[a-z]"
}
CONF
    multipathd
    wait_for 30 multipathd show status
    log "multipathd running"
}
mp_stop() {
    multipath -F >/dev/null 2>&1 || true
    multipathd shutdown >/dev/null 2>&1 || true
    local t0
    t0=$(date +%s)
    while pgrep -x multipathd >/dev/null && (( $(date +%s) - t0 < 30 )); do sleep 0.5; done
    rm -f /etc/multipath.conf /etc/multipath/wwids /etc/multipath/bindings
    log "multipathd stopped"
}
# How many paths of a multipath map are in a state, from multipathd's own
# view: STATE is the start of "<dm state> <checker state> <device state>",
# e.g. "active ready running" (in use) or "failed" (failed, whatever else).
mp_paths() { # MAP STATE
    multipathd show paths format '%m %d %t %T %o' 2>/dev/null \
        | awk -v m="$1" -v s="$2" '$1 == m && index($3 " " $4 " " $5, s) == 1' | wc -l
}
