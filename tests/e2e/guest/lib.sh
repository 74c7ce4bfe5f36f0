# Helpers for the e2e guest driver and scenarios; sourced, runs INSIDE the VM.
#
# Scenarios are bash files run one at a time with `set -Eeuo pipefail` and
# this file sourced, so any failing command fails the scenario. They use only
# the docker CLI and ordinary host tools; the helpers below wrap the
# repetitive parts (assertions, waiting, timing, starting and stopping the
# daemons the way an operator would by hand: the guest has no systemd).

E2E_LOG_DIR=/var/log                        # dockerd.log and holdfastd.log
HOLDFAST_CONFIG=/etc/holdfast/holdfast.yaml
HOLDFAST_SOCKET=/run/docker/plugins/holdfast.sock
HOLDFAST_PIDFILE=/run/e2e/holdfastd.pid
DRIVER=holdfast                              # the plugin name docker knows
BUSYBOX=busybox:local                        # imported from the image at start

# ---------------------------------------------------------------- reporting

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# A progress line in the scenario's log, with seconds since the scenario began.
log() {
    if [[ -n ${E2E_SCENARIO_T0:-} ]]; then echo "[+$(elapsed "$E2E_SCENARIO_T0")s] $*"; else echo "$*"; fi
}
fail() { echo "FAIL: $*" >&2; exit 1; }

# timed LABEL CMD...: runs CMD and logs how long it took.
timed() {
    local label=$1 t0 rc=0
    shift
    t0=$(now)
    "$@" || rc=$?
    log "$label took $(elapsed "$t0")s (rc=$rc)"
    return "$rc"
}

# ---------------------------------------------------------------- assertions

assert_eq() { # EXPECTED ACTUAL [WHAT]
    [[ $1 == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
    log "ok: ${3:-value} = '$2'"
}
assert_match() { # ERE ACTUAL [WHAT]
    [[ $2 =~ $1 ]] || fail "${3:-value}: '$2' does not match /$1/"
    log "ok: ${3:-value} '$2' matches /$1/"
}
assert_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ $1 == *"$2"* ]] || fail "${3:-output} does not contain '$2': $1"
    log "ok: ${3:-output} contains '$2'"
}
assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ $1 != *"$2"* ]] || fail "${3:-output} unexpectedly contains '$2': $1"
    log "ok: ${3:-output} does not contain '$2'"
}
# expect_fail CMD...: CMD must exit non-zero; its output is left in $OUT.
expect_fail() {
    local rc=0
    OUT=$("$@" 2>&1) || rc=$?
    [[ $rc != 0 ]] || fail "expected failure, but it succeeded: $* -> $OUT"
    log "ok: failed as expected (rc=$rc): $* -> $OUT"
}

# wait_for SECONDS CMD...: retries CMD every 0.5 s; on timeout runs it once
# more with its output shown, and fails.
wait_for() {
    local limit=$1 t0
    shift
    t0=$(date +%s)
    while (( $(date +%s) - t0 < limit )); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    "$@" || fail "gave up after ${limit}s waiting for: $*"
}
# wait_output SECONDS EXPECTED CMD...: retries CMD every 0.5 s until its
# output is EXPECTED. (Not `wait_for N test "$(cmd)" = x`: the $(...) is
# expanded once, before wait_for runs, so that only checks once.)
wait_output() {
    local limit=$1 want=$2 t0 got
    shift 2
    t0=$(date +%s)
    while (( $(date +%s) - t0 < limit )); do
        got=$("$@" 2>/dev/null) && [[ $got == "$want" ]] && return 0
        sleep 0.5
    done
    got=$("$@" 2>&1) || true
    [[ $got == "$want" ]] || fail "gave up after ${limit}s waiting for '$want' from: $* (last: '$got')"
}

# ---------------------------------------------------------------- processes

pid_alive() { # PID: running and not a zombie
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# ---------------------------------------------------------------- holdfastd

holdfastd_pid() { cat "$HOLDFAST_PIDFILE" 2>/dev/null; }
holdfastd_running() { local p; p=$(holdfastd_pid) && [[ -n $p ]] && pid_alive "$p"; }
# Answers on its socket (a stale socket left by a killed daemon does not).
# Sent like the engine sends it: an empty body with Content-Length: 0.
holdfastd_answers() {
    curl -sf --max-time 5 --unix-socket "$HOLDFAST_SOCKET" -X POST -d '' http://holdfast/Plugin.Activate \
        | grep -q VolumeDriver
}
# Starts holdfastd by hand as an operator would, in its own session (so a
# scenario's timeout never takes it down), and waits until it answers.
holdfastd_start() {
    ! holdfastd_running || fail "holdfastd already running (pid $(holdfastd_pid))"
    mkdir -p "${HOLDFAST_PIDFILE%/*}"
    echo "=== $(date -u +%FT%TZ) e2e: starting holdfastd" >>"$E2E_LOG_DIR/holdfastd.log"
    setsid holdfastd --config "$HOLDFAST_CONFIG" >>"$E2E_LOG_DIR/holdfastd.log" 2>&1 </dev/null &
    echo $! >"$HOLDFAST_PIDFILE"
    local t0
    t0=$(date +%s)
    until holdfastd_answers; do
        holdfastd_running || fail "holdfastd exited at start; log tail: $(tail -5 "$E2E_LOG_DIR/holdfastd.log")"
        (( $(date +%s) - t0 < 30 )) || fail "holdfastd did not answer on $HOLDFAST_SOCKET within 30s"
        sleep 0.2
    done
    log "holdfastd running (pid $(holdfastd_pid))"
}
# holdfastd_stop [SIGNAL]: TERM by default (a clean stop); KILL for a crash.
holdfastd_stop() {
    local sig=${1:-TERM} pid t0
    pid=$(holdfastd_pid) || fail "holdfastd has no pid file"
    echo "=== $(date -u +%FT%TZ) e2e: sending SIG$sig to holdfastd" >>"$E2E_LOG_DIR/holdfastd.log"
    kill -s "$sig" "$pid"
    t0=$(date +%s)
    while pid_alive "$pid"; do
        (( $(date +%s) - t0 < 20 )) || fail "holdfastd (pid $pid) still running 20s after SIG$sig"
        sleep 0.2
    done
    log "holdfastd stopped with SIG$sig"
}

# ---------------------------------------------------------------- dockerd

# containerd runs on its own, as Debian's units run it (docker.service
# starts dockerd with --containerd). dockerd's own child containerd must
# answer within a fixed 60 s, which an emulated guest on a busy host misses
# ("failed to start containerd: timeout waiting for containerd to start");
# here the wait is ours: long, and cut short if the daemon dies.
# E2E_DAEMON_WAIT (s, default 600) bounds each daemon's start.
CONTAINERD_SOCKET=/run/containerd/containerd.sock
CONTAINERD_PIDFILE=/run/e2e/containerd.pid
containerd_running() { local p; p=$(cat "$CONTAINERD_PIDFILE" 2>/dev/null) && [[ -n $p ]] && pid_alive "$p"; }
containerd_start() {
    containerd_running && return 0
    mkdir -p "${CONTAINERD_PIDFILE%/*}"
    echo "=== $(date -u +%FT%TZ) e2e: starting containerd" >>"$E2E_LOG_DIR/containerd.log"
    setsid containerd >>"$E2E_LOG_DIR/containerd.log" 2>&1 </dev/null &
    echo $! >"$CONTAINERD_PIDFILE"
    daemon_wait containerd containerd_running ctr --address "$CONTAINERD_SOCKET" version
    log "containerd ready"
}
# daemon_wait NAME ALIVE-CMD READY-CMD...: waits until READY-CMD succeeds;
# fails at once if ALIVE-CMD says the daemon exited.
daemon_wait() {
    local name=$1 alive=$2 limit=${E2E_DAEMON_WAIT:-600} t0
    shift 2
    t0=$(date +%s)
    until "$@" >/dev/null 2>&1; do
        "$alive" || fail "$name exited at start; log tail: $(tail -5 "$E2E_LOG_DIR/$name.log")"
        (( $(date +%s) - t0 < limit )) || { "$@" || true; fail "$name did not answer within ${limit}s"; }
        sleep 0.5
    done
}
dockerd_running() { [[ -s /run/docker.pid ]] && pid_alive "$(cat /run/docker.pid)"; }
dockerd_start() {
    ! dockerd_running || fail "dockerd already running"
    containerd_start
    echo "=== $(date -u +%FT%TZ) e2e: starting dockerd" >>"$E2E_LOG_DIR/dockerd.log"
    setsid dockerd --containerd "$CONTAINERD_SOCKET" >>"$E2E_LOG_DIR/dockerd.log" 2>&1 </dev/null &
    DOCKERD_PID=$!
    # Until dockerd writes its pid file, the child we started is the one.
    daemon_wait dockerd dockerd_alive_at_start docker info
    log "dockerd ready"
}
dockerd_alive_at_start() { pid_alive "$DOCKERD_PID"; }
dockerd_stop() {
    local pid t0
    pid=$(cat /run/docker.pid)
    echo "=== $(date -u +%FT%TZ) e2e: stopping dockerd" >>"$E2E_LOG_DIR/dockerd.log"
    kill -TERM "$pid"
    t0=$(date +%s)
    while pid_alive "$pid"; do
        (( $(date +%s) - t0 < 60 )) || fail "dockerd still running 60s after SIGTERM"
        sleep 0.3
    done
    log "dockerd stopped"
}

# ---------------------------------------------------------------- docker

# A long-running container that stops at once on `docker stop` (docker-init
# forwards SIGTERM; busybox sleep as PID 1 would ignore it).
ctr_start() { # NAME DOCKER-RUN-ARGS...
    local name=$1
    shift
    docker run -d --init --name "$name" "$@" "$BUSYBOX" sleep 100000 >/dev/null
    log "container $name running"
}
ctr_state() { docker inspect -f '{{.State.Status}}' "$1"; }
vol_create() { # NAME [DOCKER-VOLUME-CREATE-ARGS...]
    local name=$1
    shift
    docker volume create -d "$DRIVER" "$@" "$name" >/dev/null
    log "volume $name created $*"
}
vol_field() { docker volume inspect -f "{{$2}}" "$1"; } # NAME GO-TEMPLATE-FIELD
vol_exists() { docker volume inspect "$1" >/dev/null 2>&1; }
holdfast_volumes() { docker volume ls -q --filter "driver=$DRIVER"; }
assert_no_volume() { # NAME
    ! vol_exists "$1" || fail "volume $1 exists: $(docker volume inspect "$1" 2>&1 | tr -s ' \n' ' ')"
    log "ok: no volume $1"
}
# plugin_call ENDPOINT JSON: asks holdfastd directly on its socket (the way
# the engine does) and prints its reply.
plugin_call() {
    curl -s --max-time 30 --unix-socket "$HOLDFAST_SOCKET" -X POST -d "$2" "http://holdfast/VolumeDriver.$1"
}
# The volume's Mountpoint as `docker volume inspect` shows it (from
# holdfastd's Get); fails unless it is a directory on this host.
vol_mountpoint() { # NAME
    local mp
    mp=$(vol_field "$1" .Mountpoint)
    [[ -n $mp && -d $mp ]] || fail "volume $1: Mountpoint '$mp' is not a directory on the host"
    echo "$mp"
}
