# holdfastd is killed with SIGKILL while a container writes to a volume, and
# started again (over its stale socket): the container keeps writing, new
# containers and volumes work, and the volume can be removed once unused.
vol_create k9
docker run -d --init --name writer -v k9:/vol "$BUSYBOX" \
    sh -c 'i=0; while :; do i=$((i + 1)); echo $i > /vol/counter; sleep 1; done' >/dev/null
wait_for 30 docker exec writer test -s /vol/counter
holdfastd_stop KILL
[[ -S $HOLDFAST_SOCKET ]] && log "stale socket left behind, as expected after SIGKILL"
c1=$(docker exec writer cat /vol/counter)
sleep 2.5
c2=$(docker exec writer cat /vol/counter)
(( c2 > c1 )) || fail "the writer stopped while holdfastd was down ($c1 -> $c2)"
holdfastd_start
assert_match '^[0-9]+$' "$(docker run --rm -v k9:/vol "$BUSYBOX" cat /vol/counter)" "counter read by a new container"
vol_create k9-new
assert_eq holdfast "$(vol_field k9-new .Driver)" "a volume created after the crash"
docker stop writer >/dev/null
docker rm writer >/dev/null
docker volume rm k9 k9-new >/dev/null
assert_no_volume k9
log "k9 removed after the crash and restart"
