# A second host: another holdfastd (host id host-b, its own state dir, mount
# root and socket) on the same export sees the volume this host created -
# List and Get without a Create, with its options and creator - mounts it
# with a real kernel mount, reads and writes, and unmounts; this host sees
# host B's write.
cfg=/etc/holdfast/host-b.yaml
sock=/run/holdfast-b/holdfast.sock
mkdir -p /run/holdfast-b
cat >"$cfg" <<YAML
socket: $sock
admin_socket: /run/holdfast-b/admin.sock
state_dir: /var/lib/holdfast-b
mount_root: /var/lib/holdfast-b/mounts
host_id: host-b
refresh_interval: 1s
default_backend: nfs1
backends:
  nfs1:
    type: nfs
    server: 127.0.0.1
    export: /srv/nfs
    probe_timeout: 3s
YAML
setsid holdfastd --config "$cfg" >>/var/log/holdfastd-b.log 2>&1 </dev/null &
b_pid=$!
trap 'kill $b_pid 2>/dev/null; wait $b_pid 2>/dev/null; umount -l /var/lib/holdfast-b/mounts/* 2>/dev/null || true' EXIT
b_call() { curl -s --max-time 60 --unix-socket "$sock" -X POST -d "$2" "http://holdfast/VolumeDriver.$1"; }
for _ in $(seq 120); do
    curl -sf --unix-socket "$sock" -X POST -d '{}' http://holdfast/Plugin.Activate >/dev/null 2>&1 && break
    kill -0 "$b_pid" 2>/dev/null || fail "host-b holdfastd exited: $(tail -5 /var/log/holdfastd-b.log)"
    sleep 0.5
done
curl -sf --unix-socket "$sock" -X POST -d '{}' http://holdfast/Plugin.Activate >/dev/null \
    || fail "host-b holdfastd does not answer: $(tail -5 /var/log/holdfastd-b.log)"
log "host-b holdfastd running (pid $b_pid)"

vol_create shared -o backend=nfs1 -o uid=1000 -o timeo=70
docker run --rm -v shared:/vol "$BUSYBOX" sh -c 'echo from-a > /vol/f'

found=""
for _ in $(seq 20); do
    found=$(b_call List '{}' | jq -r '.Volumes[].Name' | grep -x shared || true)
    [[ -z $found ]] || break
    sleep 1
done
assert_eq shared "$found" "host-b lists host-a's volume"
get=$(b_call Get '{"Name":"shared"}')
log "host-b Get: $get"
assert_eq "$(hostname)" "$(jq -r .Volume.Status.created_by <<<"$get")" "creator seen by host-b"
assert_eq "" "$(jq -r .Err <<<"$get")" "Get Err"

mount=$(b_call Mount '{"Name":"shared","ID":"b-1"}')
log "host-b Mount: $mount"
assert_eq "" "$(jq -r .Err <<<"$mount")" "Mount Err"
mp=$(jq -r .Mountpoint <<<"$mount")
assert_eq /var/lib/holdfast-b/mounts/shared "$mp" "host-b's mountpoint"
line=$(awk -v m="$mp" '$2 == m' /proc/mounts)
assert_contains "$line" "timeo=70" "host-b mounts with the volume's options"
assert_eq from-a "$(cat "$mp/f")" "host-b reads host-a's data"
echo from-b >>"$mp/f"
unmount=$(b_call Unmount '{"Name":"shared","ID":"b-1"}')
assert_eq "" "$(jq -r .Err <<<"$unmount")" "Unmount Err"
[[ -z $(awk -v m="$mp" '$2 == m' /proc/mounts) ]] || fail "host-b still has it mounted"
assert_eq "from-a from-b" "$(docker run --rm -v shared:/vol "$BUSYBOX" cat /vol/f | xargs)" "host-a reads host-b's write"
