# Mount options: a volume's options reach the kernel mount (vers=3, noatime,
# timeo, retrans); suid is refused (not in allow_options), a value that
# tries to smuggle another option is refused, neither leaves anything on the
# export; Create again with the same options succeeds, with other options it
# is refused by holdfast (asked directly, as the engine does).
vol_create opt3 -o backend=nfs1 -o vers=3 -o noatime -o timeo=50 -o retrans=3
ctr_start holder -v opt3:/vol
line=$(nfs_mount_line opt3)
log "mount: $line"
assert_contains "$line" "vers=3" "mount options"
assert_contains "$line" noatime "mount options"
assert_contains "$line" "timeo=50" "mount options"
assert_contains "$line" "retrans=3" "mount options"
docker exec holder sh -c 'echo v3 > /vol/f'
assert_eq v3 "$(cat "$(nfs_dir "$NFS_BASE" opt3)/f")" "written over NFSv3"
docker rm -f holder >/dev/null

expect_fail docker volume create -d "$DRIVER" -o backend=nfs1 -o suid bad-suid
assert_contains "$OUT" allow_options "the error"
expect_fail docker volume create -d "$DRIVER" -o backend=nfs1 -o timeo=600,suid bad-inject
assert_contains "$OUT" timeo "the error"
expect_fail docker volume create -d "$DRIVER" -o backend=nfs1 -o vers=5 bad-vers
assert_no_volume bad-suid
assert_no_volume bad-inject
assert_no_volume bad-vers
for n in bad-suid bad-inject bad-vers; do
    [[ -z $(compgen -G "$NFS_BASE/$n*") && ! -e $NFS_BASE/.holdfast/volumes/$n.json ]] || fail "$n left something on the export"
done

vol_create opt3 -o backend=nfs1 -o vers=3 -o noatime -o timeo=50 -o retrans=3
reply=$(plugin_call Create '{"Name":"opt3","Opts":{"backend":"nfs1","vers":"4.1"}}')
log "Create with other options: $reply"
assert_contains "$(jq -r .Err <<<"$reply")" "already exists" "the Err"
