# dockerd is restarted with holdfastd running: a container with
# --restart always comes back with its holdfast volume and data, and the
# volume is still listed and inspectable.
vol_create dr -o mode=0755
docker run -d --init --name keeper --restart always -v dr:/vol "$BUSYBOX" sleep 100000 >/dev/null
docker exec keeper sh -c 'echo persisted > /vol/f'
dockerd_stop
dockerd_start
wait_for 90 bash -c '[[ $(docker inspect -f "{{.State.Status}}" keeper) == running ]]'
assert_eq persisted "$(docker exec keeper cat /vol/f)" "data after the dockerd restart"
assert_eq holdfast "$(vol_field dr .Driver)" "driver after the restart"
assert_contains "$(docker volume ls --format '{{.Driver}} {{.Name}}')" "holdfast dr" "docker volume ls"
docker stop keeper >/dev/null
docker rm keeper >/dev/null
docker volume rm dr >/dev/null
