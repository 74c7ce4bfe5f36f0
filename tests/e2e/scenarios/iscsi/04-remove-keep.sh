# remove: keep retains the LUN with its data; a Create of the same name takes
# it back with the data, and another name does not get it.
vol_create kept -o backend=sankeep
lun=$(vol_field kept .Status.lun)
docker run --rm -v kept:/vol "$BUSYBOX" sh -c 'echo still-here > /vol/f'
docker volume rm kept >/dev/null
assert_no_volume kept
assert_contains "$(iscsi_label "$lun")" '"state":"retained"' "label after remove (keep)"
vol_create other -o backend=sankeep
[[ $(vol_field other .Status.lun) != "$lun" ]] || fail "a retained LUN went to another volume"
docker volume rm other >/dev/null
vol_create kept -o backend=sankeep
assert_eq "$lun" "$(vol_field kept .Status.lun)" "the same name gets its LUN back"
assert_eq still-here "$(docker run --rm -v kept:/vol "$BUSYBOX" cat /vol/f)" "the data came back"
