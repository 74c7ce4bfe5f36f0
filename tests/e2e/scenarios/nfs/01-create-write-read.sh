# Create with uid/gid/mode makes a directory on the export with that owner
# and mode (checked on the server side) and a record next to it; a container
# writes through a real kernel NFS mount (nosuid,nodev, the configured
# options), a second container reads it (still one mount), inspect shows the nfs Status
# (capacity from the background refresh), and Remove deletes the data on
# the server.
vol_create web -o backend=nfs1 -o uid=1000 -o gid=1000 -o mode=0750
web_dir=$(nfs_dir "$NFS_BASE" web)
assert_match "^$NFS_BASE/web@" "$web_dir" "the volume's own directory"
assert_eq "1000 1000 750" "$(stat -c '%u %g %a' "$web_dir")" "owner, group and mode on the server"
[[ -f $NFS_BASE/.holdfast/volumes/web.json ]] || fail "no record for web on the export"
assert_eq "$(hostname)" "$(jq -r .created_by "$NFS_BASE/.holdfast/volumes/web.json")" "created_by in the record"

# One container holds the volume (one kernel mount, however many
# containers use it); it writes as uid 1000, a second container reads.
ctr_start holder -v web:/vol
assert_eq "1000 1000 750" "$(docker exec holder stat -c '%u %g %a' /vol)" "as a container sees it"
docker exec -u 1000:1000 holder sh -c 'echo hello-nfs > /vol/greeting'
assert_eq hello-nfs "$(cat "$web_dir/greeting")" "the file on the server"
assert_eq hello-nfs "$(docker run --rm -v web:/vol "$BUSYBOX" cat /vol/greeting)" "a second container reads it"
assert_eq 1 "$(grep -c " $MOUNT_ROOT/web " /proc/mounts)" "kernel mounts of web while two containers used it"

line=$(nfs_mount_line web)
log "mount: $line"
assert_match "^127\.0\.0\.1:$web_dir " "$line" "mount source"
assert_match ' nfs4? ' "$line" "mount type"
assert_contains "$line" nosuid "mount options"
assert_contains "$line" nodev "mount options"
assert_contains "$line" hard "mount options"
assert_eq "$MOUNT_ROOT/web" "$(vol_field web .Mountpoint)" "Mountpoint while mounted"

status=$(docker volume inspect -f '{{json .Status}}' web)
log "status: $status"
assert_eq 127.0.0.1 "$(jq -r .server <<<"$status")" "Status.server"
assert_eq /srv/nfs "$(jq -r .export <<<"$status")" "Status.export"
assert_eq "$web_dir" "$(jq -r .path <<<"$status")" "Status.path"
assert_eq 4 "$(jq -r .nfs_version <<<"$status")" "Status.nfs_version"
# Capacity comes from the background refresh (refresh_interval 15 s).
wait_for 40 sh -c "docker volume inspect -f '{{json .Status}}' web | jq -e '.capacity_bytes > 0'"
log "capacity: $(docker volume inspect -f '{{.Status.capacity}} total, {{.Status.available}} available' web)"

docker rm -f holder >/dev/null
wait_output 10 "" nfs_mount_line web
log "unmounted after the last container"
docker volume rm web >/dev/null
assert_no_volume web
[[ ! -e $web_dir ]] || fail "the data is still on the server"
[[ ! -e $NFS_BASE/.holdfast/volumes/web.json ]] || fail "the record is still on the server"
