# holdfastd is restarted (SIGTERM, start) while a container uses an NFS
# volume: the kernel mount stays, the container keeps writing, the new
# daemon still knows the mount, and the container then stops cleanly and
# the volume is unmounted and removable.
vol_create rs -o backend=nfs1
ctr_start worker -v rs:/vol
docker exec worker sh -c 'echo before > /vol/f'
holdfastd_stop TERM
[[ -n $(nfs_mount_line rs) ]] || fail "the mount went away with the daemon"
docker exec worker sh -c 'echo during >> /vol/f'
holdfastd_start
docker exec worker sh -c 'echo after >> /vol/f'
assert_eq "before during after" "$(xargs <"$(nfs_dir "$NFS_BASE" rs)/f")" "the file on the server"
assert_eq before "$(docker run --rm -v rs:/vol "$BUSYBOX" head -1 /vol/f)" "a second container after the restart"

docker stop worker >/dev/null
# 0, or 143 when docker-init reports the SIGTERM; never 137 (SIGKILL after
# a stop that hung).
assert_match '^(0|143)$' "$(docker inspect -f '{{.State.ExitCode}}' worker)" "exit code of the stopped container"
docker rm worker >/dev/null
wait_output 10 "" nfs_mount_line rs
log "unmounted after the container stopped"
docker volume rm rs >/dev/null
assert_no_volume rs
