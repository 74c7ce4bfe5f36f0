# A thin volume lives in the thin pool (overcommitted beyond the pool's size)
# and Status reports the pool's fill once the background refresh ran.
plugin_timed "Create thin 2G (holdfastd alone)" Create '{"Name":"th","Opts":{"backend":"lvthin","size":"2G"}}'
read -r attr pool < <(lvs --noheadings -o lv_attr,pool_lv "$VG/hf-th")
assert_match '^V' "$attr" "LV attr (thin volume)"
assert_eq pool "$pool" "thin pool of the LV"
out=$(docker run --rm -v th:/vol "$BUSYBOX" sh -c 'df -k /vol; dd if=/dev/zero of=/vol/f bs=1M count=64 conv=fsync 2>&1')
assert_between 1900000 2097152 "$(awk '$NF == "/vol" { print $2 }' <<<"$out")" "df of a 2G thin volume in a 1.5G pool (KiB)"
wait_for 60 sh -c "docker volume inspect -f '{{json .Status}}' th | jq -e .pool_data_percent"
st=$(status_json th)
log "Status: $st"
assert_eq "thin hfvg/pool" "$(jq -r '"\(.type) \(.thin_pool)"' <<<"$st")" "Status"
assert_match '^[0-9.]+ [0-9.]+$' "$(jq -r '"\(.pool_data_percent) \(.pool_metadata_percent)"' <<<"$st")" "pool fill"
assert_eq null "$(jq -r .warning <<<"$st")" "no warning below 80%"
