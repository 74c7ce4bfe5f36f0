# Two portals of one target (tgtd on 127.0.0.1:3260 and :3261, setup.sh;
# instance sanmp, multipath: on) give a multipath device: the first Mount
# logs in on both portals, scans the LUN in on each session, waits for
# multipathd's map over the two paths, registers both paths, formats and
# mounts /dev/mapper/<map>, which Status.device names. When one path is
# black-holed the running container keeps writing through the other; when
# it is back the map uses both paths again and writes still succeed. The
# last Unmount flushes the map, deletes both paths and logs out of both
# sessions.
mp_diag() { # the multipath, iSCSI and kernel state, when the scenario fails
    echo "----- multipath -ll"; multipath -ll 2>&1 || true
    echo "----- multipathd show paths"; multipathd show paths 2>&1 || true
    echo "----- iscsiadm -m session -P 3"; iscsiadm -m session -P 3 2>&1 | grep -E 'Current Portal|Iface Name|State|Attached scsi disk' || true
    echo "----- iscsid log"; tail -20 /var/log/iscsid.log 2>&1 || true
    echo "----- dmesg"; dmesg | tail -40
}
mp_start
trap 'rc=$?; [[ $rc == 0 ]] || mp_diag; iptables -D INPUT -p tcp --dport 3261 -j DROP 2>/dev/null || true; mp_stop' EXIT

vol_create mp -o backend=sanmp
timed "first mount over two paths (2 logins, map, format, mount) + write" \
    docker run --rm -v mp:/vol "$BUSYBOX" sh -c 'echo via-multipath > /vol/f'
status=$(vol_status mp)
log "status after the first container: $status"
assert_eq true "$(jq -r .last_attach.formatted <<<"$status")" "the first attach formatted"
log "multipath attach: total $(jq -r .last_attach.total_ms <<<"$status") ms, logins+map $(jq -r .last_attach.login_ms <<<"$status") ms, mkfs $(jq -r .last_attach.mkfs_ms <<<"$status") ms"
wait_output 30 "" iscsi_mount_line mp
wait_output 30 0 iscsi_sessions
assert_eq 0 "$(iscsi_disks)" "iSCSI disks after the last unmount"
assert_eq "" "$(dmsetup ls --target multipath 2>/dev/null | grep -v '^No devices found' || true)" "multipath maps after the last unmount"

ctr_start holder -v mp:/vol
line=$(iscsi_mount_line mp)
log "mount: $line"
dev=$(vol_status mp | jq -r .device)
assert_match '^/dev/mapper/[A-Za-z0-9_-]+$' "$dev" "Status.device"
assert_eq "$dev" "${line%% *}" "the mounted device is the multipath map"
map=${dev#/dev/mapper/}
multipath -ll "$map"
assert_eq 2 "$(iscsi_sessions)" "sessions while mounted (one per portal)"
assert_eq 2 "$(iscsi_disks)" "iSCSI disks while mounted (one path per portal)"
dm=$(basename "$(readlink -f "$dev")")
assert_eq 2 "$(ls "/sys/block/$dm/slaves" | wc -l)" "paths under $dm"
wait_output 30 2 mp_paths "$map" 'active ready running'
assert_eq via-multipath "$(docker exec holder cat /vol/f)" "data written through the map"

# One path goes dark: I/O moves to the other (replacement_timeout 15 s).
iptables -I INPUT -p tcp --dport 3261 -j DROP
log "portal 127.0.0.1:3261 black-holed"
timed "write + fsync with one path black-holed" \
    docker exec holder sh -c 'dd if=/dev/urandom of=/vol/g bs=64k count=32 conv=fsync 2>/dev/null && md5sum /vol/g >/vol/g.sum'
wait_output 60 1 mp_paths "$map" failed
multipath -ll "$map" || true
assert_eq 1 "$(mp_paths "$map" 'active ready running')" "paths still active with one portal dark"
iptables -D INPUT -p tcp --dport 3261 -j DROP
log "portal 127.0.0.1:3261 answers again"
wait_output 120 2 mp_paths "$map" 'active ready running'
multipath -ll "$map"
# Both paths carry I/O again (round robin): every write must still succeed.
timed "write + fsync after the path came back" \
    docker exec holder sh -c 'for i in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=/vol/h$i bs=64k count=8 conv=fsync 2>/dev/null || exit 1; done; sync'
docker exec holder md5sum -c /vol/g.sum
assert_not_contains "$(dmesg | tail -50)" "EXT4-fs error" "kernel log"

docker rm -f holder >/dev/null
wait_output 30 "" iscsi_mount_line mp
wait_output 30 0 iscsi_sessions
assert_eq 0 "$(iscsi_disks)" "iSCSI disks after the last unmount"
assert_eq "" "$(dmsetup ls --target multipath 2>/dev/null | grep -v '^No devices found' || true)" "multipath maps after the last unmount"
assert_eq via-multipath "$(docker run --rm -v mp:/vol "$BUSYBOX" cat /vol/f)" "data after a re-attach"
docker volume rm mp >/dev/null
assert_no_volume mp
