# Create with options: uid, gid and mode reach the directory a container sees;
# an unknown option, a bad value and an unsafe name are refused and leave
# nothing behind.
vol_create opts -o uid=1000 -o gid=1000 -o mode=0750
vol_create plain
assert_eq holdfast "$(vol_field opts .Driver)" "driver"
seen=$(docker run --rm -v opts:/vol -v plain:/plain "$BUSYBOX" stat -c '%u %g %a' /vol /plain | xargs)
assert_eq "1000 1000 750 0 0 755" "$seen" "owner, group and mode of /vol (with options) and /plain (without)"

expect_fail docker volume create -d "$DRIVER" -o bogus=1 bad-option
assert_contains "$OUT" bogus "the error"
assert_contains "$OUT" uid "the error (lists the accepted options)"
assert_no_volume bad-option

expect_fail docker volume create -d "$DRIVER" -o mode=banana bad-mode
assert_no_volume bad-mode

expect_fail docker volume create -d "$DRIVER" 'x/../../escape'
[[ ! -e /var/lib/holdfast/escape && ! -e /var/lib/escape ]] \
    || fail "a path-traversal name created something outside the volume directory"
assert_not_contains "$(holdfast_volumes)" escape "the volume list"
