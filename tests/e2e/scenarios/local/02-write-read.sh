# A container writes to a volume and exits; a second one reads it back
# (read-only), and the files are where docker says the volume is.
vol_create data
docker run --rm -v data:/vol "$BUSYBOX" sh -c 'echo hello > /vol/greeting && mkdir /vol/sub && echo deep > /vol/sub/f'
ctr_start reader -v data:/vol:ro
assert_eq hello "$(docker exec reader cat /vol/greeting)" "second container reads"
assert_eq deep "$(docker exec reader cat /vol/sub/f)" "nested file"
expect_fail docker exec reader sh -c 'echo no > /vol/ro-test'
src=$(vol_mountpoint data)
log "the volume's Mountpoint on the host: $src"
assert_eq hello "$(cat "$src/greeting")" "the file on the host"
docker stop reader >/dev/null
