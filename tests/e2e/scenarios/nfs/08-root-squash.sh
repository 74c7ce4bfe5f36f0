# An export that squashes root to anonuid 1234: volumes created with
# uid/gid 1234 (the instance's defaults) work - holdfast skips the chown
# that changes nothing - and root in a container writes as 1234; a volume
# asking for another owner is refused with an Err that explains root_squash
# and leaves nothing behind.
vol_create sq -o backend=nfsanon -o mode=0770
sq_dir=$(nfs_dir /srv/nfs-anon sq)
assert_eq "1234 1234 770" "$(stat -c '%u %g %a' "$sq_dir")" "owner, group and mode on the server"
docker run --rm -v sq:/vol "$BUSYBOX" sh -c 'echo squashed > /vol/f'
assert_eq 1234 "$(stat -c %u "$sq_dir/f")" "root in the container writes as the anonymous user"

expect_fail docker volume create -d "$DRIVER" -o backend=nfsanon -o uid=1000 -o gid=1000 other
assert_contains "$OUT" root_squash "the error"
assert_contains "$OUT" anonuid "the error"
assert_no_volume other
[[ -z $(compgen -G '/srv/nfs-anon/other*') && ! -e /srv/nfs-anon/.holdfast/volumes/other.json ]] || fail "a refused volume left something behind"
