# from=<volume> in a thin pool is a thin snapshot: it shows the data written
# to the source while a container still uses it, and is independent of it
# afterwards. Quotes the snapshot time.
vol_create src -o backend=lvthin -o size=512M
ctr_start writer -v src:/vol
docker exec writer sh -c 'echo one > /vol/a && mkdir /vol/d && echo two > /vol/d/b && sync'
timed "snapshot of a mounted 512M thin volume (docker volume create)" vol_create snap -o backend=lvthin -o from=src
assert_eq src "$(status_json snap | jq -r .source)" "Status source"
assert_eq hf-src "$(lvs --noheadings -o origin "$VG/hf-snap" | xargs)" "LVM origin of the snapshot"
assert_eq "one two" "$(docker run --rm -v snap:/vol "$BUSYBOX" sh -c 'cat /vol/a /vol/d/b; echo changed > /vol/a' | xargs)" "data in the snapshot"
assert_eq one "$(docker exec writer cat /vol/a)" "source unchanged by a write to the snapshot"
docker exec writer sh -c 'echo three > /vol/c'
expect_fail docker run --rm -v snap:/vol "$BUSYBOX" cat /vol/c
