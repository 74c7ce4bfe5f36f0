# A thick volume is an LV of the requested size with its own ext4: the LV
# carries holdfast's tags, Status describes it, a new volume is empty
# (lost+found removed), a container sees the size in df and cannot write past
# it. Quotes create, mount and unmount times.
timed "create thick 300M (docker volume create)" vol_create t1 -o backend=lvthick -o size=300M
read -r size tags < <(lvs --noheadings --units m -o lv_size,lv_tags "$VG/hf-t1")
assert_eq 300.00m "$size" "LV hfvg/hf-t1 size"
assert_contains "$tags" "holdfast.volume=t1" "LV tags"
assert_contains "$tags" "holdfast.fs=ext4" "LV tags"
assert_not_contains "$tags" "holdfast.incomplete" "LV tags"
st=$(status_json t1)
log "Status: $st"
assert_eq "hf-t1 thick ext4 300 MiB" "$(jq -r '"\(.logical_volume) \(.type) \(.fs) \(.size)"' <<<"$st")" "Status"

plugin_timed "Mount (first, holdfastd alone)" Mount '{"Name":"t1","ID":"e2e-1"}'
mp=/var/lib/holdfast/mounts/t1
assert_eq "/dev/$VG/hf-t1 ext4" "$(mount_of "$mp")" "kernel mount"
assert_eq "" "$(ls -A "$mp")" "a new volume's content (lost+found removed)"
plugin_timed "Unmount (last, holdfastd alone)" Unmount '{"Name":"t1","ID":"e2e-1"}'
assert_eq "" "$(mount_of "$mp")" "kernel mount after unmount"

expect_fail docker run --rm -v t1:/vol "$BUSYBOX" sh -c 'df -k /vol; dd if=/dev/zero of=/vol/big bs=1M count=400'
assert_contains "$OUT" "No space left on device" "writing 400M into 300M"
kib=$(awk '$NF == "/vol" { print $2 }' <<<"$OUT")
assert_between 270000 307200 "$kib" "df size in the container (KiB)"
