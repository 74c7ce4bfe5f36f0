# Snapshots may be bigger than their source (grown at first mount) but not
# smaller; an xfs snapshot mounts next to its mounted source (nouuid); a
# snapshot survives the removal of its source.
vol_create src -o backend=lvthin -o size=512M
docker run --rm -v src:/vol "$BUSYBOX" sh -c 'echo two > /vol/b'
vol_create big -o backend=lvthin -o from=src -o size=1G
out=$(docker run --rm -v big:/vol "$BUSYBOX" sh -c 'df -k /vol; cat /vol/b')
assert_between 950000 1048576 "$(awk '$NF == "/vol" { print $2 }' <<<"$out")" "df of a 1G snapshot of a 512M volume (KiB)"
assert_contains "$out" two "data in the bigger snapshot"
expect_fail docker volume create -d "$DRIVER" -o backend=lvthin -o from=src -o size=256M small
assert_contains "$OUT" "smaller than the source"

vol_create xs -o backend=lvthin -o fs=xfs -o size=512M
ctr_start xwriter -v xs:/vol
docker exec xwriter sh -c 'echo x > /vol/f && sync'
vol_create xsnap -o backend=lvthin -o from=xs
assert_eq x "$(docker run --rm -v xsnap:/vol "$BUSYBOX" cat /vol/f)" "xfs snapshot next to its mounted source"
docker rm -f xwriter >/dev/null

docker volume rm src >/dev/null
assert_eq two "$(docker run --rm -v big:/vol "$BUSYBOX" cat /vol/b)" "snapshot after its source was removed"
expect_fail docker volume create -d "$DRIVER" -o backend=lvthin -o from=src again
assert_contains "$OUT" "does not exist"
