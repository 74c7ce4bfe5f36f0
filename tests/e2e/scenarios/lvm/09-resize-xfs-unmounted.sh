# Resize of a mounted thin xfs volume (xfs_growfs), and of an unmounted ext4
# volume (lvextend now; the filesystem grows at its next mount).
need_cli
vol_create rx -o backend=lvthin -o fs=xfs -o size=512M
ctr_start appx -v rx:/vol
timed "resize mounted thin xfs 512M -> 1G" holdfast resize rx 1G
assert_between 900000 1048576 "$(docker exec appx df -k /vol | awk 'NR == 2 { print $2 }')" "xfs df after resize (KiB)"
docker rm -f appx >/dev/null

vol_create ru -o backend=lvthick -o size=128M
timed "resize unmounted ext4 128M -> 300M" holdfast resize ru 300M
assert_contains "$(holdfast inspect ru)" "grows to the volume size at the next mount"
assert_between 270000 307200 "$(df_kib ru)" "df of the formerly unmounted volume after resize (KiB)"
