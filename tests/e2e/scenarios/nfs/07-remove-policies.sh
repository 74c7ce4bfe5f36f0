# on_remove: archive moves the data and the record into the trash with a
# timestamp; retain keeps the data where it was and forgets the volume, and
# a new Create of that name is refused until the directory is moved away.
vol_create arch -o backend=nfsarchive
docker run --rm -v arch:/vol "$BUSYBOX" sh -c 'mkdir -p /vol/d && echo archived > /vol/d/f'
docker volume rm arch >/dev/null
assert_no_volume arch
[[ ! -e $NFS_ROOT/archived/arch ]] || fail "the archived volume is still in place"
kept=$(ls -d "$NFS_ROOT"/archived/.holdfast/trash/arch@* | grep -v '\.json$')
assert_eq archived "$(cat "$kept/d/f")" "the archived data"
[[ -f $kept.json ]] || fail "no archived record next to $kept"

vol_create keep -o backend=nfsretain
docker run --rm -v keep:/vol "$BUSYBOX" sh -c 'echo retained > /vol/f'
docker volume rm keep >/dev/null
assert_no_volume keep
assert_eq retained "$(cat "$NFS_ROOT/retained/keep/f")" "the retained data"
[[ ! -e $NFS_ROOT/retained/.holdfast/volumes/keep.json ]] || fail "the record of a removed volume is still there"
expect_fail docker volume create -d "$DRIVER" -o backend=nfsretain keep
assert_contains "$OUT" adopt_existing "the error"
mv "$NFS_ROOT/retained/keep" "$NFS_ROOT/retained/keep.old"
vol_create keep -o backend=nfsretain
assert_eq 0 "$(ls -A "$NFS_ROOT/retained/keep" | wc -l)" "a fresh, empty volume"
