# Removing a volume a container references fails and leaves it intact; it
# succeeds once the container is gone. holdfastd itself refuses to remove a
# volume that is mounted (asked directly on its socket, as the engine never would).
vol_create busy
docker create --init --name holder -v busy:/vol "$BUSYBOX" sleep 100000 >/dev/null
expect_fail docker volume rm busy
assert_contains "$OUT" "in use" "the error"
vol_exists busy || fail "busy vanished after a refused rm"

docker start holder >/dev/null
docker exec holder sh -c 'echo keep > /vol/f'
reply=$(plugin_call Remove '{"Name":"busy"}')
log "holdfastd's reply to Remove while mounted: $reply"
assert_match '.' "$(jq -r '.Err // empty' <<<"$reply")" "Err of Remove of a mounted volume"
assert_eq keep "$(docker exec holder cat /vol/f)" "data after the refused Remove"

docker rm -f holder >/dev/null
docker volume rm busy >/dev/null
assert_no_volume busy
assert_not_contains "$(holdfast_volumes)" busy "the volume list"
reply=$(plugin_call Get '{"Name":"busy"}')
assert_match '.' "$(jq -r '.Err // empty' <<<"$reply")" "Err of holdfastd's Get after the remove"
