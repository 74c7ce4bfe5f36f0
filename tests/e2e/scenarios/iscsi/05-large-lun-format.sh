# The first Mount of a volume on a 20 GiB LUN formats it within Docker's
# Mount budget (lazy inode-table and journal init, no discard); the times
# are logged (and in Status.last_attach) for docs/backends/iscsi.md.
vol_create big -o backend=sanbig -o size=10G
timed "first mount of 20 GiB (login, format, mount) + write" \
    docker run --rm -v big:/vol "$BUSYBOX" sh -c 'echo x > /vol/f && df -k /vol'
status=$(vol_status big)
log "status: $status"
assert_eq true "$(jq -r .last_attach.formatted <<<"$status")" "formatted"
log "20 GiB attach: total $(jq -r .last_attach.total_ms <<<"$status") ms, login+device $(jq -r .last_attach.login_ms <<<"$status") ms, mkfs $(jq -r .last_attach.mkfs_ms <<<"$status") ms"
timed "second mount of 20 GiB (no format)" docker run --rm -v big:/vol "$BUSYBOX" cat /vol/f
log "20 GiB re-attach: total $(vol_status big | jq -r .last_attach.total_ms) ms"
