# from=<volume> without a thin pool is a full copy (dd): the data arrives
# intact, the clone may be bigger (grown at its first mount), and a source in
# use is refused before anything is created. Quotes the copy time.
vol_create base -o backend=lvthick -o size=200M
docker run --rm -v base:/vol "$BUSYBOX" sh -c \
    'echo data > /vol/f && dd if=/dev/urandom of=/vol/r bs=1M count=20 2>/dev/null && cd /vol && md5sum r > sum'
timed "full copy of a 200M thick volume (docker volume create)" vol_create cl -o backend=lvthick -o from=base -o size=300M
assert_eq base "$(status_json cl | jq -r .source)" "Status source"
out=$(docker run --rm -v cl:/vol "$BUSYBOX" sh -c 'cd /vol && md5sum -c sum && cat f && df -k /vol')
assert_contains "$out" "r: OK" "checksum of the copied file"
assert_contains "$out" data "copied file"
assert_between 270000 307200 "$(awk '$NF == "/vol" { print $2 }' <<<"$out")" "df of the 300M clone (KiB), grown at first mount"

ctr_start user -v base:/vol
expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o from=base busy
assert_contains "$OUT" "is in use"
! lv_exists hf-busy || fail "an LV was created for a refused clone"
