# A half-made LV left by a crashed daemon (tag holdfast.incomplete=<token of
# another process>) is removed by the background refresh; an LV holdfast did
# not make is never touched, even when its name collides.
lvcreate -y -L 16M -n hf-crashed --addtag holdfast --addtag holdfast.volume=crashed \
    --addtag holdfast.incomplete=1.deadbeef "$VG" >/dev/null
wait_for 60 sh -c "! lvs $VG/hf-crashed"
log "half-made LV of an earlier process removed by the refresh"

lvcreate -y -L 16M -n hf-mine "$VG" >/dev/null
expect_fail docker volume create -d "$DRIVER" -o backend=lvthick mine
assert_contains "$OUT" "does not belong to this volume"
lv_exists hf-mine || fail "a foreign LV was removed"
lvremove -f "$VG/hf-mine" >/dev/null
