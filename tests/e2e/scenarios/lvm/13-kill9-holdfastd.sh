# holdfastd killed (SIGKILL) while a container uses an LVM volume: the mount
# survives, the restarted daemon reconciles it, and stopping the container
# then unmounts it and the volume can be removed without a trace.
vol_create rk -o backend=lvthick -o size=128M
ctr_start worker -v rk:/vol
docker exec worker sh -c 'echo before > /vol/f'
holdfastd_stop KILL
docker exec worker sh -c 'echo during >> /vol/f'
holdfastd_start
assert_eq "/dev/$VG/hf-rk ext4" "$(mount_of /var/lib/holdfast/mounts/rk)" "mount kept across the crash"
assert_eq "before during" "$(docker exec worker cat /vol/f | xargs)" "the file"
docker rm -f worker >/dev/null
assert_eq "" "$(mount_of /var/lib/holdfast/mounts/rk)" "mount after the container stopped"
docker volume rm rk >/dev/null
! lv_exists hf-rk || fail "LV hf-rk left after remove"
