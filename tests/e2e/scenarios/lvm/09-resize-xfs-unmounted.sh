# Resize of a mounted thin xfs volume (xfs_growfs), and of an unmounted ext4
# volume (mounted privately for the grow by the tool).
tool=$(resize_tool)
vol_create rx -o backend=lvthin -o fs=xfs -o size=512M
ctr_start appx -v rx:/vol
timed "resize mounted thin xfs 512M -> 1G" "$tool" rx 1G
assert_between 900000 1048576 "$(docker exec appx df -k /vol | awk 'NR == 2 { print $2 }')" "xfs df after resize (KiB)"
docker rm -f appx >/dev/null

vol_create ru -o backend=lvthick -o size=128M
timed "resize unmounted ext4 128M -> 300M" "$tool" ru 300M
assert_between 270000 307200 "$(df_kib ru)" "df of the formerly unmounted volume after resize (KiB)"
