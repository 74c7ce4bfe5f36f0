# Swarm: a service whose mount names holdfast as its volume driver, with a
# volume option, reaches Running; the volume exists with the option applied.
# Swarm needs a non-loopback address and the VM has no NIC: use dummy0.
modprobe dummy
ip link show dummy0 >/dev/null 2>&1 || ip link add dummy0 type dummy
ip addr replace 10.99.0.1/24 dev dummy0
ip link set dummy0 up
timed "swarm init" docker swarm init --advertise-addr 10.99.0.1 >/dev/null
docker service create --detach --no-resolve-image --init --name svc \
    --mount type=volume,source=svcvol,target=/vol,volume-driver=holdfast,volume-opt=uid=1000 \
    "$BUSYBOX" sleep 100000 >/dev/null
timed "service Running" wait_for 180 bash -c "docker service ps svc --format '{{.CurrentState}}' | grep -q Running"
assert_eq holdfast "$(vol_field svcvol .Driver)" "driver of the service's volume"
assert_contains "$(vol_field svcvol .Options)" "uid:1000" "the volume's options"
task=$(docker ps -q --filter label=com.docker.swarm.service.name=svc)
[[ -n $task ]] || fail "no running task container"
assert_eq 1000 "$(docker exec "$task" stat -c %u /vol)" "owner of /vol in the task"
docker exec "$task" sh -c 'echo svc > /vol/f'
mp=$(vol_mountpoint svcvol)
assert_eq svc "$(cat "$mp/f")" "the task's write on the host"

docker service rm svc >/dev/null
timed "task removal" wait_for 60 bash -c '[[ -z $(docker ps -aq --filter label=com.docker.swarm.service.name=svc) ]]'
docker volume rm svcvol >/dev/null
docker swarm leave --force >/dev/null
