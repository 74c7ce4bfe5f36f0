#!/bin/bash
# The e2e guest driver: runs INSIDE the VM as its only script (run.sh boots the
# VM with it). It sets the machine up the way an operator would by hand (no
# systemd in the guest), then runs the scenarios one by one.
#
#   1. load kernel modules; install /usr/local/sbin/holdfastd and
#      /etc/holdfast/holdfast.yaml from the share (staged by run.sh)
#   2. each selected backend's scenarios/<backend>/setup.sh (storage servers etc.)
#   3. holdfastd --config /etc/holdfast/holdfast.yaml, in the background
#   4. containerd, then dockerd --containerd (overlay2, cgroupfs), as Debian's
#      units run them; then `docker import` of the baked busybox rootfs
#   5. every scenario listed in stage/scenarios.txt, in order, each under a
#      time limit, followed by a clean-up (containers, services, swarm,
#      holdfast volumes; daemons restarted if a scenario left them down)
#
# Share layout (/mnt/host): suite/ = copy of tests/e2e; stage/ = holdfastd,
# holdfast.yaml, scenarios.txt, settings.sh; results/ = written here: summary.txt (one
# line per scenario), timings.txt (set-up phases), <backend>/<name>.log,
# <backend>/<name>.fail (the failure's context), dockerd.log, holdfastd.log.
# Exit code: number of failed scenarios and set-up steps (at most 100).
# shellcheck disable=SC2317  # functions run through phase/cleanup
set -uo pipefail
share=/mnt/host
suite=$share/suite
stage=$share/stage
results=$share/results
# shellcheck source=lib.sh
source "$suite/guest/lib.sh"
export PATH=/usr/local/sbin:/usr/local/bin:$PATH
# shellcheck source=/dev/null
source "$stage/settings.sh"   # written by run.sh
scenario_limit=${E2E_SCENARIO_TIMEOUT:-300}
failures=0
mkdir -p "$results"
: >"$results/summary.txt"
: >"$results/timings.txt"

# phase NAME CMD...: a timed set-up step; its output goes to the console.
# Call it as a plain statement, never inside if/&&/||: bash would then ignore
# `set -e` in the step.
phase() {
    local name=$1 t0 rc
    t0=$(now)
    echo "--- $name"
    ( set -Eeuo pipefail; "${@:2}" )
    rc=$?
    printf '%-5s %-28s %6ss\n' "$([[ $rc == 0 ]] && echo ok || echo FAIL)" "$name" "$(elapsed "$t0")" \
        | tee -a "$results/timings.txt"
    [[ $rc == 0 ]] || failures=$((failures + 1))
    return "$rc"
}

modules() {
    modprobe -a overlay br_netfilter veth bridge nf_tables nft_chain_nat xt_MASQUERADE dummy loop
}

install_holdfast() {
    install -m 0755 "$stage/holdfastd" /usr/local/sbin/holdfastd
    install -m 0755 "$stage/holdfast" /usr/local/bin/holdfast
    install -d /etc/holdfast
    install -m 0644 "$stage/holdfast.yaml" "$HOLDFAST_CONFIG"
    # Fails here, clearly, if a runtime library is missing from the image.
    if ldd /usr/local/sbin/holdfastd /usr/local/bin/holdfast 2>/dev/null | grep 'not found'; then
        echo "holdfastd or holdfast needs libraries the image lacks (add their packages to tests/e2e/image/packages.txt)"
        return 1
    fi
}

start_dockerd() {
    mkdir -p /etc/docker
    cat >/etc/docker/daemon.json <<'EOF'
{
  "storage-driver": "overlay2",
  "exec-opts": ["native.cgroupdriver=cgroupfs"]
}
EOF
    dockerd_start
    docker version --format 'docker client {{.Client.Version}}, server {{.Server.Version}}'
}

import_busybox() {
    docker import -c 'ENV PATH=/bin' /opt/harness/busybox-rootfs.tar "$BUSYBOX" >/dev/null
}

# Between scenarios: bring the daemons back if a scenario left them down, and
# remove what it left behind, so each scenario starts from the same state.
# Through the engine API with curl: the Go docker CLI takes seconds to start
# under TCG, and this runs after every scenario.
dapi() { curl -sf --max-time 120 --unix-socket /run/docker.sock "$@"; }
cleanup() {
    local info id
    if ! holdfastd_running || ! holdfastd_answers; then
        echo "cleanup: holdfastd was not answering; restarting it"
        ! holdfastd_running || holdfastd_stop KILL
        holdfastd_start
    fi
    if ! info=$(dapi http://docker/info); then
        echo "cleanup: dockerd was down; restarting it"
        ! dockerd_running || dockerd_stop
        dockerd_start
        info=$(dapi http://docker/info)
    fi
    [[ $(jq -r .Swarm.LocalNodeState <<<"$info") == inactive ]] || docker swarm leave --force
    for id in $(dapi 'http://docker/containers/json?all=1' | jq -r '.[].Id'); do
        dapi -X DELETE "http://docker/containers/$id?force=1&v=1" >/dev/null
    done
    for id in $(dapi --get --data-urlencode "filters={\"driver\":[\"$DRIVER\"]}" http://docker/volumes \
            | jq -r '.Volumes[]?.Name'); do
        dapi -X DELETE "http://docker/volumes/$id?force=1" >/dev/null
    done
}

log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
log_since() { # FILE OFFSET LINES: the last LINES lines written after OFFSET
    tail -c +$(( $2 + 1 )) "$1" 2>/dev/null | tail -n "$3"
}

run_scenario() { # BACKEND FILE
    local backend=$1 file=$2 name id out t0 rc secs hf_off dk_off verdict
    name=$(basename "$file" .sh)
    id=$backend/$name
    out=$results/$backend/$name.log
    mkdir -p "$results/$backend"
    hf_off=$(log_size "$E2E_LOG_DIR/holdfastd.log")
    dk_off=$(log_size "$E2E_LOG_DIR/dockerd.log")
    echo "=== $(date -u +%FT%TZ) e2e: scenario $id" | tee -a "$E2E_LOG_DIR/holdfastd.log" >>"$E2E_LOG_DIR/dockerd.log"
    t0=$(now)
    if [[ -n ${setup_failed[$backend]:-} ]]; then
        echo "not run: set-up of backend $backend failed" >"$out"
        rc=1
    else
        # A scenario may ask for more time on a line "# e2e-timeout: SECONDS".
        limit=$(sed -nE 's/^# e2e-timeout: ([0-9]+)$/\1/p' "$file" | head -1)
        limit=$(( ${limit:-0} > scenario_limit ? limit : scenario_limit ))
        E2E_SCENARIO=$id E2E_BACKEND=$backend E2E_SCENARIO_T0=$t0 \
            timeout -k 10 "$limit" bash "$suite/guest/scenario.sh" "$file" >"$out" 2>&1 </dev/null
        rc=$?
        [[ $rc != 124 ]] || echo "FAIL: timed out after ${limit}s" >>"$out"
    fi
    secs=$(elapsed "$t0")
    verdict=PASS
    if [[ $rc != 0 ]]; then
        verdict=FAIL
        failures=$((failures + 1))
        {
            echo "----- $id: scenario output (last 40 lines; whole: results/$backend/$name.log)"
            tail -n 40 "$out"
            echo "----- $id: dockerd log during the scenario (last 30 lines)"
            log_since "$E2E_LOG_DIR/dockerd.log" "$dk_off" 30
            echo "----- $id: holdfastd log during the scenario (last 30 lines)"
            log_since "$E2E_LOG_DIR/holdfastd.log" "$hf_off" 30
        } >"$results/$backend/$name.fail"
    fi
    printf '%s %-40s %6ss\n' "$verdict" "$id" "$secs" | tee -a "$results/summary.txt"
    local c0
    c0=$(now)
    echo "----- clean-up" >>"$out"
    ( set -Eeuo pipefail; cleanup ) >>"$out" 2>&1
    [[ $? == 0 ]] || echo "e2e: clean-up after $id failed (see results/$backend/$name.log)"
    echo "clean-up took $(elapsed "$c0")s" >>"$out"
}

echo "guest: kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print int($2 / 1024) " MB" }' /proc/meminfo), uptime $(cut -d' ' -f1 /proc/uptime)s"
mapfile -t scenarios <"$stage/scenarios.txt"
declare -A setup_failed=()
backends=$(printf '%s\n' "${scenarios[@]}" | cut -d/ -f1 | awk '!seen[$0]++')

ready=1
phase modules modules
phase install-holdfastd install_holdfast
[[ $failures == 0 ]] || ready=0
for backend in $backends; do
    setup=$suite/scenarios/$backend/setup.sh
    [[ -f $setup ]] || continue
    # shellcheck disable=SC2016
    phase "setup-$backend" bash -Eeuo pipefail -c 'source "$1"; source "$2"' _ "$suite/guest/lib.sh" "$setup"
    [[ $? == 0 ]] || setup_failed[$backend]=1
done
for step in holdfastd-ready:holdfastd_start dockerd-ready:start_dockerd busybox-import:import_busybox; do
    if [[ $ready == 1 ]]; then
        phase "${step%%:*}" "${step#*:}"
        [[ $? == 0 ]] || ready=0
    fi
done

if [[ $ready == 1 ]]; then
    for entry in "${scenarios[@]}"; do
        run_scenario "${entry%%/*}" "$suite/scenarios/$entry"
    done
else
    echo "e2e: set-up failed; no scenario was run"
    tail -n 30 "$E2E_LOG_DIR/dockerd.log" "$E2E_LOG_DIR/holdfastd.log" 2>/dev/null
fi

cp "$E2E_LOG_DIR/dockerd.log" "$E2E_LOG_DIR/containerd.log" "$E2E_LOG_DIR/holdfastd.log" "$results/" 2>/dev/null
echo "guest: done at uptime $(cut -d' ' -f1 /proc/uptime)s, $failures failure(s)"
exit $(( failures > 100 ? 100 : failures ))
