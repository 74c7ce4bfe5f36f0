# Create claims a LUN (the label is on the LUN itself); the first Mount logs
# the kernel in, scans in only that LUN, formats it (ext4, leaving the label
# alone) and mounts it; data written by one container is read by the next,
# whose Mount does not format again; while mounted, inspect shows this host
# as holder; the last Unmount deletes the SCSI device and logs out.
vol_create data1 -o backend=san1 -o size=400M
status=$(vol_status data1)
log "status after create: $status"
lun=$(jq -r .lun <<<"$status")
assert_match '^[1-4]$' "$lun" "Status.lun"
assert_eq "$ISCSI_IQN" "$(jq -r .target <<<"$status")" "Status.target"
assert_eq 536870912 "$(jq -r .capacity <<<"$status")" "Status.capacity"
label=$(iscsi_label "$lun")
log "label: $label"
assert_contains "$label" '"volume":"data1"' "the claim label on the LUN"
assert_contains "$label" "\"created_by\":\"$(hostname)\"" "the claim label"
assert_eq 0 "$(iscsi_sessions)" "sessions before the first mount"

timed "first mount (login, format, mount) + write" \
    docker run --rm -v data1:/vol "$BUSYBOX" sh -c 'echo persisted > /vol/f'
status=$(vol_status data1)
log "status after the first container: $status"
assert_eq true "$(jq -r .last_attach.formatted <<<"$status")" "the first attach formatted"
log "first attach: total $(jq -r .last_attach.total_ms <<<"$status") ms, login+device $(jq -r .last_attach.login_ms <<<"$status") ms, mkfs $(jq -r .last_attach.mkfs_ms <<<"$status") ms"
wait_output 20 "" iscsi_mount_line data1
assert_eq 0 "$(iscsi_sessions)" "sessions after the last unmount"
assert_eq 0 "$(iscsi_disks)" "iSCSI disks after the last unmount"

ctr_start reader -v data1:/vol
line=$(iscsi_mount_line data1)
log "mount: $line"
assert_match '^/dev/sd[a-z]+ ' "$line" "mount source"
assert_contains "$line" " ext4 " "mount type"
assert_eq 1 "$(iscsi_sessions)" "sessions while mounted"
assert_eq 1 "$(iscsi_disks)" "only this LUN is attached (node.session.scan=manual)"
assert_eq persisted "$(docker exec reader cat /vol/f)" "a second container reads the data"
status=$(vol_status data1)
assert_eq false "$(jq -r .last_attach.formatted <<<"$status")" "the second attach did not format"
assert_eq "$(hostname)" "$(jq -r .holder <<<"$status")" "Status.holder while mounted"
assert_contains "$(iscsi_label "$lun")" "\"holder\":{\"beat\"" "the label names the holder"
# The filesystem ends where the reserved tail begins.
fs_kib=$(docker exec reader df -k /vol | awk 'NR == 2 { print $2 }')
log "filesystem size seen in the container: ${fs_kib} KiB"
(( fs_kib < 523264 )) || fail "the filesystem covers the label area (${fs_kib} KiB)"
docker rm -f reader >/dev/null
wait_output 20 "" iscsi_mount_line data1
wait_output 20 0 iscsi_disks
assert_not_contains "$(iscsi_label "$lun")" '"holder"' "the label after the last unmount"
docker volume rm data1 >/dev/null
assert_no_volume data1
assert_eq "" "$(iscsi_label "$lun")" "label after remove (wipe)"
