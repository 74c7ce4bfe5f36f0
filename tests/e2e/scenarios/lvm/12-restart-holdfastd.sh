# holdfastd stopped (SIGTERM) and started again while a container uses an
# LVM volume: the container keeps writing, the restarted daemon keeps the
# mount (Status then shows the mounted volume's usage), and the volume is
# unmounted and removed cleanly afterwards.
vol_create rs -o backend=lvthin -o size=256M
ctr_start worker -v rs:/vol
docker exec worker sh -c 'echo before > /vol/f'
holdfastd_stop TERM
docker exec worker sh -c 'echo during >> /vol/f'
holdfastd_start
docker exec worker sh -c 'echo after >> /vol/f'
assert_eq "before during after" "$(docker exec worker cat /vol/f | xargs)" "the file"
wait_for 60 sh -c "docker volume inspect -f '{{json .Status}}' rs | jq -e .used"
log "Status after the restart: $(status_json rs)"
docker rm -f worker >/dev/null
assert_eq "" "$(mount_of /var/lib/holdfast/mounts/rs)" "mount after the container stopped"
docker volume rm rs >/dev/null
! lv_exists hf-rs || fail "LV hf-rs left after remove"
