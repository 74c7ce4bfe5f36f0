# Resize (`holdfast resize` -> admin socket -> LvmBackend::resize under the
# volume's lock) grows a mounted ext4 volume online: the running container
# sees the new size at once and keeps its data; shrinking is refused.
need_cli
vol_create rz -o backend=lvthick -o size=256M
ctr_start app -v rz:/vol
docker exec app sh -c 'echo keep > /vol/f'
before=$(docker exec app df -k /vol | awk 'NR == 2 { print $2 }')
timed "resize mounted ext4 256M -> 512M" holdfast resize rz 512M
after=$(docker exec app df -k /vol | awk 'NR == 2 { print $2 }')
log "df in the running container: before $before KiB, after $after KiB"
assert_between 480000 524288 "$after" "df in the running container after resize (KiB)"
assert_eq keep "$(docker exec app cat /vol/f)" "data after resize"
assert_eq 512.00m "$(lvs --noheadings --units m -o lv_size "$VG/hf-rz" | xargs)" "LV size"
expect_fail holdfast resize rz 128M
assert_contains "$OUT" "shrinking is refused"
