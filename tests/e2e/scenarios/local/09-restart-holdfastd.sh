# holdfastd is stopped (SIGTERM) and started again while a container uses a
# volume: the container keeps working, docker talks to the new daemon, and
# the container then stops cleanly and its volume can be removed (the mount
# it had before the restart was remembered and released).
vol_create rs
ctr_start worker -v rs:/vol
docker exec worker sh -c 'echo before > /vol/f'
holdfastd_stop TERM
docker exec worker sh -c 'echo during >> /vol/f'
holdfastd_start
docker exec worker sh -c 'echo after >> /vol/f'
assert_eq "before during after" "$(docker exec worker cat /vol/f | xargs)" "the file"

vol_create rs-new
assert_eq holdfast "$(vol_field rs-new .Driver)" "a volume created after the restart"
assert_eq before "$(docker run --rm -v rs:/vol "$BUSYBOX" head -1 /vol/f)" "a second container after the restart"

docker stop worker >/dev/null
# 143 = 128 + SIGTERM: it ended on docker stop's SIGTERM (137 would mean it
# had to be killed after the grace period).
assert_eq 143 "$(docker inspect -f '{{.State.ExitCode}}' worker)" "exit code of the stopped container"
docker rm worker >/dev/null
docker volume rm rs >/dev/null
assert_no_volume rs
log "rs removed after the restart"
