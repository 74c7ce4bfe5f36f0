# on_remove: archive moves the data and the record into the trash with a
# timestamp; retain keeps the data where it was and forgets the volume; a
# new Create of that name makes a new, empty directory; the retained data is
# adopted back by renaming it to the volume's name (adopt_existing).
vol_create arch -o backend=nfsarchive
arch_dir=$(nfs_dir "$NFS_ROOT/archived" arch)
docker run --rm -v arch:/vol "$BUSYBOX" sh -c 'mkdir -p /vol/d && echo archived > /vol/d/f'
docker volume rm arch >/dev/null
assert_no_volume arch
[[ ! -e $arch_dir ]] || fail "the archived volume is still in place"
kept=$(ls -d "$NFS_ROOT"/archived/.holdfast/trash/arch@* | grep -v '\.json$')
assert_eq archived "$(cat "$kept/d/f")" "the archived data"
[[ -f $kept.json ]] || fail "no archived record next to $kept"

vol_create keep -o backend=nfsretain
keep_dir=$(nfs_dir "$NFS_ROOT/retained" keep)
docker run --rm -v keep:/vol "$BUSYBOX" sh -c 'echo retained > /vol/f'
docker volume rm keep >/dev/null
assert_no_volume keep
assert_eq retained "$(cat "$keep_dir/f")" "the retained data"
[[ ! -e $NFS_ROOT/retained/.holdfast/volumes/keep.json ]] || fail "the record of a removed volume is still there"
vol_create keep -o backend=nfsretain
assert_eq 0 "$(ls -A "$(nfs_dir "$NFS_ROOT/retained" keep)" | wc -l)" "a fresh, empty volume"
assert_eq retained "$(cat "$keep_dir/f")" "the retained data, untouched"
docker volume rm keep >/dev/null
# Adoption: the operator renames the retained directory to the volume's name.
mv "$keep_dir" "$NFS_ROOT/retained/keep"
expect_fail docker volume create -d "$DRIVER" -o backend=nfsretain keep
assert_contains "$OUT" adopt_existing "the error"
