# The server disappears while a container uses the volume: stopping the
# container (the last Unmount) is not blocked - holdfast's unmount gives up
# after unmount_timeout (3 s) and detaches lazily. When the server is back
# the volume mounts again with its data.
vol_create dying -o backend=nfs1
ctr_start user -v dying:/vol
docker exec user sh -c 'echo survived > /vol/f'
nfs_blackhole_on
trap 'nfs_blackhole_off' EXIT
t0=$(now)
docker stop user >/dev/null
docker rm user >/dev/null
secs=$(elapsed "$t0")
log "container stopped and removed in ${secs}s with the server black-holed"
awk -v s="$secs" 'BEGIN { exit !(s < 40) }' || fail "stopping the container took ${secs}s"
wait_output 10 "" nfs_mount_line dying
log "the mount is detached"
nfs_blackhole_off
trap - EXIT
assert_eq survived "$(docker run --rm -v dying:/vol "$BUSYBOX" cat /vol/f)" "the data after the server came back"
