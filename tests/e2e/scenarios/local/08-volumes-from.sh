# --volumes-from gives a second container the holdfast volume of a running
# one, read-write or read-only.
vol_create vf
ctr_start donor -v vf:/vol
docker exec donor sh -c 'echo shared > /vol/f'
assert_eq shared "$(docker run --rm --volumes-from donor "$BUSYBOX" sh -c 'cat /vol/f; echo added > /vol/g')" \
    "read through --volumes-from"
assert_eq added "$(docker exec donor cat /vol/g)" "donor sees the write"
expect_fail docker run --rm --volumes-from donor:ro "$BUSYBOX" sh -c 'echo z > /vol/z'
assert_contains "$OUT" "Read-only file system" "the error"
docker rm -f donor >/dev/null
docker volume rm vf >/dev/null
