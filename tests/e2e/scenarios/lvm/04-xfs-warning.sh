# xfs volumes work, and a thin pool above an instance's warning threshold
# (1% on lvwarn) shows a warning in Status and in holdfastd's log.
timed "create thin xfs 512M (docker volume create)" vol_create tx -o backend=lvthin -o size=512M -o fs=xfs
ctr_start xuser -v tx:/vol
assert_eq "/dev/$VG/hf-tx xfs" "$(mount_of /var/lib/holdfast/mounts/tx)" "kernel mount"
assert_between 430000 524288 "$(docker exec xuser df -k /vol | awk 'NR == 2 { print $2 }')" "xfs df size (KiB)"
docker rm -f xuser >/dev/null

vol_create w1 -o backend=lvwarn -o size=64M
wait_for 60 sh -c "docker volume inspect -f '{{json .Status}}' w1 | jq -e .warning"
st=$(status_json w1)
assert_eq hw-w1 "$(jq -r .logical_volume <<<"$st")" "LV name with the instance's prefix"
assert_contains "$(jq -r .warning <<<"$st")" "at or above the 1% warning threshold" "Status warning"
assert_contains "$(cat /var/log/holdfastd.log)" "thin pool hfvg/pool is" "holdfastd log"
