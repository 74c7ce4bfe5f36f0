# Two running containers share one volume; stopping one leaves the other
# working on the same data.
vol_create shared
ctr_start ctr-a -v shared:/vol
ctr_start ctr-b -v shared:/vol
docker exec ctr-a sh -c 'echo from-a > /vol/a'
assert_eq from-a "$(docker exec ctr-b cat /vol/a)" "b reads what a wrote"
src=$(vol_mountpoint shared)
assert_eq from-a "$(cat "$src/a")" "a's write on the host, at the volume's Mountpoint"

docker stop ctr-a >/dev/null
assert_eq exited "$(ctr_state ctr-a)" "state of a"
docker exec ctr-b sh -c 'echo from-b > /vol/b'
assert_eq from-a "$(docker exec ctr-b cat /vol/a)" "b still reads after a stopped"
assert_eq from-b "$(cat "$src/b")" "b's write on the host"

docker start ctr-a >/dev/null
assert_eq from-b "$(docker exec ctr-a cat /vol/b)" "a restarted reads b's write"
docker stop ctr-a ctr-b >/dev/null
docker rm ctr-a ctr-b >/dev/null
docker volume rm shared >/dev/null
assert_no_volume shared
log "removed after both containers were gone"
