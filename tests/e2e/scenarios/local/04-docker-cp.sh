# docker cp into and out of a volume of a running container (the engine
# mounts the volume a second time meanwhile); the volume can be removed
# afterwards, so every Mount was matched by an Unmount.
vol_create cpvol
ctr_start cp-ctr -v cpvol:/vol
echo payload >/tmp/in.txt
docker cp /tmp/in.txt cp-ctr:/vol/in.txt
assert_eq payload "$(docker exec cp-ctr cat /vol/in.txt)" "file copied in"
docker exec cp-ctr sh -c 'echo back > /vol/out.txt'
docker cp cp-ctr:/vol/out.txt /tmp/out.txt
assert_eq back "$(cat /tmp/out.txt)" "file copied out"
docker cp cp-ctr:/vol/in.txt /tmp/in-again.txt
assert_eq payload "$(cat /tmp/in-again.txt)" "second copy out"
docker stop cp-ctr >/dev/null
docker rm cp-ctr >/dev/null
docker volume rm cpvol >/dev/null
assert_no_volume cpvol
log "volume removed"
