# A new volume is empty, so Docker copies the image's files into it; Remove
# is refused while a container uses the volume and then leaves no LV.
vol_create cu -o backend=lvthick -o size=64M
assert_match '^[0-9]{3,}$' "$(docker run --rm -v cu:/bin "$BUSYBOX" sh -c 'ls /bin | wc -l' | xargs)" "files copied up into /bin"
ctr_start user -v cu:/vol
expect_fail docker volume rm cu
lv_exists hf-cu || fail "LV removed while in use"
docker rm -f user >/dev/null
timed "remove (docker volume rm)" docker volume rm cu
assert_no_volume cu
! lv_exists hf-cu || fail "LV hf-cu still exists after remove"
assert_eq "" "$(holdfast_lvs)" "holdfast LVs left in $VG"
