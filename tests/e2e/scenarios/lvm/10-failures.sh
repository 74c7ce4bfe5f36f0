# Failures leave nothing behind: lvcreate refused for lack of space, mkfs
# failing after lvcreate (the LV is removed again), bad options refused at
# the door.
expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o size=10G huge
assert_contains "$OUT" "insufficient free space"
! lv_exists hf-huge || fail "LV hf-huge exists"

expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o size=64M -o "mkfs_options=-N 4294967295" badfs
assert_contains "$OUT" "mkfs.ext4 exited with status"
! lv_exists hf-badfs || fail "half-made LV hf-badfs left behind"
assert_contains "$(cat /var/log/holdfastd.log)" "removed half-made logical volume hfvg/hf-badfs" "holdfastd log"

expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o size=10X o1
assert_contains "$OUT" "unknown unit"
expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o mount_options=nobarrier o2
assert_contains "$OUT" "is not allowed for ext4"
expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o fs=btrfs o3
assert_contains "$OUT" "is not one of: ext4, xfs"
expect_fail docker volume create -d "$DRIVER" -o backend=lvthick -o size=17T o4
assert_contains "$OUT" "larger than this backend's maximum"
assert_eq "" "$(holdfast_lvs)" "holdfast LVs left in $VG"
