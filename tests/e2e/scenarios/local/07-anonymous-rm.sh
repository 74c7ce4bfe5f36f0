# Anonymous volumes of `docker run --rm --volume-driver holdfast -v /path`
# are created by holdfastd and removed with the container; a named volume
# created implicitly by the same docker run stays.
before=$(holdfast_volumes | sort | xargs)
docker run -d --rm --init --name anon --volume-driver "$DRIVER" -v /vol "$BUSYBOX" sleep 100000 >/dev/null
name=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' anon)
assert_match '^[0-9a-f]{64}$' "$name" "anonymous volume name"
assert_eq holdfast "$(docker inspect -f '{{range .Mounts}}{{.Driver}}{{end}}' anon)" "its driver"
docker exec anon sh -c 'echo x > /vol/x'
docker stop anon >/dev/null
wait_for 30 bash -c "! docker volume inspect $name"
log "anonymous volume $name removed with its container"

docker run --rm --volume-driver "$DRIVER" -v /scratch -v implicit:/vol "$BUSYBOX" sh -c 'echo y > /scratch/y; echo kept > /vol/f'
assert_eq "$(xargs -n1 <<<"$before implicit" | sort | xargs)" "$(holdfast_volumes | sort | xargs)" "holdfast volumes after the --rm runs"
assert_eq holdfast "$(vol_field implicit .Driver)" "driver of the implicitly created volume"
