# The NFS server goes away: Mount fails fast with an Err that names the
# server (the libnfs probe runs before mount.nfs), while `docker volume ls`
# and inspect stay instant. Stopped (connection refused) and black-holed
# (packets dropped: a timeout within probe_timeout, 3 s). The bound is
# checked on holdfastd's own Mount time (its log), not on `docker run`,
# whose container start takes tens of seconds under TCG. When the server
# is back, the volume mounts again with its data.
vol_create down -o backend=nfs1
docker run --rm -v down:/vol "$BUSYBOX" sh -c 'echo kept > /vol/f'

nfsd_stop
trap 'nfsd_start' EXIT
t0=$(now)
expect_fail docker run --rm -v down:/vol "$BUSYBOX" true
secs=$(elapsed "$t0")
log "docker run with the server stopped failed after ${secs}s"
assert_contains "$OUT" "nfs server 127.0.0.1" "the error"
assert_contains "$OUT" "Connection refused" "the error"
ms=$(last_mount_ms down)
log "holdfastd answered the Mount in ${ms} ms"
awk -v ms="$ms" 'BEGIN { exit !(ms < 3000) }' || fail "Mount took ${ms} ms with the server stopped"
# Get and List never touch the network: holdfastd answers them at once
# (its own timing, from its log: curl and the docker CLI alone take
# seconds in an emulated guest).
docker volume ls >/dev/null
docker volume inspect down >/dev/null
plugin_call List '{}' | jq -e '.Volumes | map(.Name) | index("down")' >/dev/null
plugin_call Get '{"Name":"down"}' | jq -e '.Err == ""' >/dev/null
list_ms=$(last_call_ms List)
get_ms=$(last_call_ms Get)
log "with the server down, holdfastd answered List in ${list_ms} ms and Get in ${get_ms} ms"
awk -v a="$list_ms" -v b="$get_ms" 'BEGIN { exit !(a < 200 && b < 200) }' \
    || fail "List/Get took ${list_ms}/${get_ms} ms with the server down"
nfsd_start
trap - EXIT
assert_eq kept "$(docker run --rm -v down:/vol "$BUSYBOX" cat /vol/f)" "the data after the server came back"

nfs_blackhole_on
trap 'nfs_blackhole_off' EXIT
t0=$(now)
expect_fail docker run --rm -v down:/vol "$BUSYBOX" true
secs=$(elapsed "$t0")
log "docker run with port 2049 black-holed failed after ${secs}s"
assert_contains "$OUT" "not answering" "the error"
ms=$(last_mount_ms down)
log "holdfastd answered the Mount in ${ms} ms (probe_timeout 3 s)"
awk -v ms="$ms" 'BEGIN { exit !(ms >= 2900 && ms < 6000) }' || fail "Mount took ${ms} ms with a black-holed server"
nfs_blackhole_off
trap - EXIT
assert_eq kept "$(docker run --rm -v down:/vol "$BUSYBOX" cat /vol/f)" "the data after the black hole"
