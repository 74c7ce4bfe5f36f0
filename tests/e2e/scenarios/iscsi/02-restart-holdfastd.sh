# holdfastd restarted (SIGTERM, start) while a container uses an iSCSI
# volume: the kernel mount and session stay, the container keeps writing, the
# new daemon knows the volume is still attached, the container stops cleanly
# (the volume is unmounted, the session logged out), and the next mount finds
# the data without formatting again.
vol_create rs -o backend=san1
ctr_start worker -v rs:/vol
docker exec worker sh -c 'echo before > /vol/f'
holdfastd_stop TERM
[[ -n $(iscsi_mount_line rs) ]] || fail "the mount went away with the daemon"
docker exec worker sh -c 'echo during >> /vol/f'
holdfastd_start
docker exec worker sh -c 'echo after >> /vol/f'
assert_eq "$(hostname)" "$(vol_field rs .Status.holder)" "holder after the restart"
docker stop worker >/dev/null
docker rm worker >/dev/null
wait_output 20 "" iscsi_mount_line rs
wait_output 20 0 iscsi_sessions
log "unmounted and logged out after the container stopped"
assert_eq "before during after" "$(docker run --rm -v rs:/vol "$BUSYBOX" cat /vol/f | xargs)" "data after the restart"
assert_eq false "$(vol_status rs | jq -r .last_attach.formatted)" "no second format"
