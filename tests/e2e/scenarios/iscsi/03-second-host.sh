# A second host (another holdfastd: host id host-b, its own initiator name and
# iscsiadm interface, state dir, mount root and socket) on the same target:
# it lists the volume this host created (labels only); its Mount is refused,
# naming this host, while this host has the LUN mounted, and it attaches and
# reads this host's data once this host unmounts. Then this host's daemon
# dies with the volume mounted, host B takes the LUN over by the operator
# policy, and this host's kernel is fenced: its writes fail. When this
# host's daemon is back and its container stops, the fenced attachment is
# undone here too (unmounted, SCSI device deleted, logged out).
cfg=/etc/holdfast/host-b.yaml
sock=/run/holdfast-b/holdfast.sock
mkdir -p /run/holdfast-b
cat >"$cfg" <<YAML
socket: $sock
admin_socket: /run/holdfast-b/admin.sock
state_dir: /var/lib/holdfast-b
mount_root: /var/lib/holdfast-b/mounts
host_id: host-b
refresh_interval: 2s
default_backend: san1
backends:
  san1:
    type: iscsi
    portals: [127.0.0.1]
    target: $ISCSI_IQN
    luns: "1-4"
    remove: wipe
    initiator_name: iqn.2024-01.io.holdfast:host-b
    iface: holdfast-b
    takeover: operator
YAML
setsid holdfastd --config "$cfg" >>/var/log/holdfastd-b.log 2>&1 </dev/null &
b_pid=$!
cleanup_b() {
    local rc=$?
    if [[ $rc != 0 ]]; then
        echo "----- iscsiadm -m session -P 3"
        iscsiadm -m session -P 3 2>&1 | grep -E 'Current Portal|Iface Name|Lun:|Attached scsi disk' || true
    fi
    b_call Unmount '{"Name":"shared","ID":"b-1"}' >/dev/null 2>&1 || true
    kill "$b_pid" 2>/dev/null
    wait "$b_pid" 2>/dev/null
    umount -l /var/lib/holdfast-b/mounts/* 2>/dev/null || true
    holdfastd_running || holdfastd_start
}
trap cleanup_b EXIT
b_call() { curl -s --max-time 100 --unix-socket "$sock" -X POST -d "$2" "http://holdfast/VolumeDriver.$1"; }
# With a body, as the engine sends it (a POST without Content-Length gets 400).
wait_for 60 curl -sf --unix-socket "$sock" -X POST -d '{}' http://holdfast/Plugin.Activate
log "host-b holdfastd running (pid $b_pid)"

vol_create shared -o backend=san1
ctr_start holder-a -v shared:/vol
docker exec holder-a sh -c 'echo from-a > /vol/f && sync'

found=""
for _ in $(seq 30); do
    found=$(b_call List '{}' | jq -r '.Volumes[].Name' | grep -x shared || true)
    [[ -z $found ]] || break
    sleep 1
done
assert_eq shared "$found" "host-b lists host-a's volume"
assert_eq "$(hostname)" "$(b_call Get '{"Name":"shared"}' | jq -r .Volume.Status.created_by)" "creator seen by host-b"

t0=$(now)
mount=$(b_call Mount '{"Name":"shared","ID":"b-1"}')
log "host-b Mount while host-a has it mounted ($(elapsed "$t0")s): $mount"
err=$(jq -r .Err <<<"$mount")
assert_contains "$err" "host \"$(hostname)\"" "host-b's refusal"
assert_contains "$err" "touch /var/lib/holdfast-b/backends/san1/takeover/shared" "host-b's refusal"
assert_eq 0 "$(iscsi_sessions holdfast-b)" "host-b's kernel was not touched"

docker rm -f holder-a >/dev/null
wait_output 20 "" iscsi_mount_line shared
t0=$(now)
mount=$(b_call Mount '{"Name":"shared","ID":"b-1"}')
log "host-b Mount after host-a let go ($(elapsed "$t0")s): $mount"
assert_eq "" "$(jq -r .Err <<<"$mount")" "host-b's Mount"
mp=$(jq -r .Mountpoint <<<"$mount")
assert_eq from-a "$(cat "$mp/f")" "host-b reads host-a's data"
echo from-b >>"$mp/f"
expect_fail docker run --rm -v shared:/vol "$BUSYBOX" true
assert_contains "$OUT" 'host "host-b"' "host-a's refusal names host-b"
assert_eq "" "$(b_call Unmount '{"Name":"shared","ID":"b-1"}' | jq -r .Err)" "host-b's Unmount"
assert_eq "from-a from-b" "$(docker run --rm -v shared:/vol "$BUSYBOX" cat /vol/f | xargs)" "host-a reads host-b's write"

# Host A's daemon dies with the volume mounted: a dead holder.
ctr_start holder-a -v shared:/vol
holdfastd_stop KILL
mount=$(b_call Mount '{"Name":"shared","ID":"b-1"}')
assert_contains "$(jq -r .Err <<<"$mount")" "is attached on host \"$(hostname)\"" "refused before the operator acts"
touch /var/lib/holdfast-b/backends/san1/takeover/shared
t0=$(now)
mount=$(b_call Mount '{"Name":"shared","ID":"b-1"}')
log "host-b takeover Mount ($(elapsed "$t0")s): $mount"
assert_eq "" "$(jq -r .Err <<<"$mount")" "host-b's takeover"
[[ ! -e /var/lib/holdfast-b/backends/san1/takeover/shared ]] || fail "the takeover file was not consumed"
# Host A's kernel is fenced: its writes to the LUN fail now.
if docker exec holder-a dd if=/dev/zero of=/vol/late bs=4k count=16 conv=fsync 2>&1; then
    fail "host-a could still write after the takeover"
fi
dmesg | grep -i 'reservation conflict' | tail -3 || true
log "host-a's write failed after the takeover, as it must"
assert_eq "" "$(b_call Unmount '{"Name":"shared","ID":"b-1"}' | jq -r .Err)" "host-b's Unmount after the takeover"

holdfastd_start
docker rm -f holder-a >/dev/null
wait_output 30 "" iscsi_mount_line shared
wait_output 30 0 iscsi_disks
wait_output 30 0 iscsi_sessions
log "this host's fenced attachment was undone when its container stopped"
