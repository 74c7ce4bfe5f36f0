#!/bin/bash
# Runs the end-to-end suite: holdfastd under a real Docker engine and a real
# kernel, in a qemu VM (TCG) built from Debian packages. See tests/e2e/README.md.
#
# Usage: tests/e2e/run.sh [BUILD_DIR] [options]       (as root)
#   BUILD_DIR        CMake build dir (default ./build); holdfastd is built there
#                    (target holdfastd) unless --no-build; it is configured first
#                    if it has no CMakeCache.txt
#   --backend LIST   comma-separated scenario folders to run (default: all of
#                    tests/e2e/scenarios/*, local first)
#   --only REGEX     run only scenarios whose "<backend>/<file name>" matches
#   --no-build       use BUILD_DIR/src/daemon/holdfastd and BUILD_DIR/src/cli/holdfast
#                    (the operator CLI, installed in the guest too) as they are
# Environment: E2E_VM_TIMEOUT (s, default 600 + 150 per scenario), E2E_SCENARIO_TIMEOUT
#   (s, default 300), NFS_BENCH_ROUNDS and NFS_BENCH_CASES (nfs/90-bench-*),
#   E2E_DAEMON_WAIT (s, default 600: each containerd/dockerd start),
#   VM_CACHE_DIR (image cache, default /var/cache/holdfast-vm), VM_REBUILD=1.
# Work folder (the VM's share): BUILD_DIR/e2e; results in BUILD_DIR/e2e/results.
# Prints one line per scenario and "e2e: N passed, N failed"; exits 1 on any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=./build backends='' only='' do_build=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --backend) backends=${2//,/ }; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --no-build) do_build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) build=$1; shift ;;
    esac
done
t_start=$(date +%s.%N)
[[ $(id -u) == 0 ]] || { echo "run.sh: needs root (mmdebstrap, qemu)" >&2; exit 2; }
for tool in qemu-system-x86_64 mmdebstrap; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool missing: run scripts/install-deps.sh" >&2; exit 2; }
done

# ---- holdfastd
if [[ $do_build == 1 ]]; then
    [[ -f $build/CMakeCache.txt ]] || cmake -S "$repo" -B "$build" >/dev/null
    cmake --build "$build" -j2 --target holdfastd holdfast
fi
build=$(cd "$build" && pwd)
daemon=$build/src/daemon/holdfastd
cli=$build/src/cli/holdfast
[[ -x $daemon ]] || { echo "run.sh: no holdfastd at $daemon" >&2; exit 2; }
[[ -x $cli ]] || { echo "run.sh: no holdfast CLI at $cli (target holdfast)" >&2; exit 2; }

# ---- scenarios: <backend>/<NN-name>.sh, local first, then the others by name
if [[ -z $backends ]]; then
    backends=$(cd "$here/scenarios" && ls -d -- */ | tr -d / | awk '$0 == "local" { print; next } { rest = rest $0 "\n" } END { printf "%s", rest }' | xargs)
fi
scenarios=()
for b in $backends; do
    [[ -d $here/scenarios/$b ]] || { echo "run.sh: no scenario folder tests/e2e/scenarios/$b" >&2; exit 2; }
    for f in "$here/scenarios/$b"/[0-9]*.sh; do
        [[ -e $f ]] || continue
        entry=$b/$(basename "$f")
        [[ -z $only || ${entry%.sh} =~ $only ]] && scenarios+=("$entry")
    done
done
(( ${#scenarios[@]} )) || { echo "run.sh: no scenario selected" >&2; exit 2; }

# ---- image; holdfastd's shared libraries must come from Debian packages in it
image=$("$here/image/build-image.sh" | tail -1)
lib_packages() { # the Debian packages holding the libraries holdfastd loads
    local libs owners lib pkg
    mapfile -t libs < <({ ldd "$daemon" "$cli" 2>/dev/null || true; } | awk '/=> \// { print $3 }' | sort -u)
    (( ${#libs[@]} )) || return 0
    # One dpkg -S for all (it is slow); merged /usr: try both spellings.
    owners=$(for lib in "${libs[@]}"; do echo "$lib"; echo "/usr$lib"; readlink -f "$lib"; done \
        | sort -u | xargs dpkg -S 2>/dev/null || true)
    for lib in "${libs[@]}"; do
        pkg=$(awk -F': ' -v a="$lib" -v b="/usr$lib" -v c="$(readlink -f "$lib")" \
            '$2 == a || $2 == b || $2 == c { sub(/:.*/, "", $1); print $1; exit }' <<<"$owners")
        if [[ -n $pkg ]]; then
            echo "$pkg"
        else
            echo "run.sh: $lib (needed by holdfastd) is not from a Debian package" >&2
            echo '!'
        fi
    done | sort -u
}
needed=$(lib_packages)
[[ $needed != *'!'* ]] || exit 2
missing=$(for p in $needed; do awk -v p="$p" '$1 == "ii" && ($2 == p || $2 == p ":amd64") { f = 1 } END { exit !f }' \
    "$image/manifest.txt" || echo "$p"; done)
if [[ -n $missing ]]; then
    echo "run.sh: the image lacks holdfastd's runtime packages: $missing (add them to tests/e2e/image/packages.txt); building an image with them" >&2
    export VM_EXTRA_PACKAGES="${VM_EXTRA_PACKAGES:-} $missing"
    image=$("$here/image/build-image.sh" | tail -1)
fi

# ---- the share: holdfastd, its config, the suite, the scenario list
work=$build/e2e
rm -rf "$work/stage" "$work/suite" "$work/results"
mkdir -p "$work/stage" "$work/suite" "$work/results"
cp "$daemon" "$work/stage/holdfastd"
cp "$cli" "$work/stage/holdfast"
cp -r "$here/guest" "$here/scenarios" "$work/suite/"
printf '%s\n' "${scenarios[@]}" >"$work/stage/scenarios.txt"
# The guest does not inherit our environment: settings go through the share.
{
    echo "E2E_SCENARIO_TIMEOUT=${E2E_SCENARIO_TIMEOUT:-300}"
    echo "export E2E_DAEMON_WAIT=${E2E_DAEMON_WAIT:-600}"
    for v in NFS_BENCH_ROUNDS NFS_BENCH_CASES; do  # scenario knobs, when set
        [[ ! -v $v ]] || echo "export $v=${!v@Q}"
    done
} >"$work/stage/settings.sh"
# Host-side hook: a backend folder's stage-host.sh BUILD_DIR OUT_DIR prepares
# what its scenarios need from the host (the VM has no network, no compiler);
# OUT_DIR is /mnt/host/stage/<backend> in the guest.
for b in $backends; do
    hook=$here/scenarios/$b/stage-host.sh
    [[ -f $hook ]] || continue
    selected=0
    for entry in "${scenarios[@]}"; do [[ ${entry%%/*} != "$b" ]] || selected=1; done
    [[ $selected == 1 ]] || continue
    echo "e2e: staging for $b (scenarios/$b/stage-host.sh)"
    bash "$hook" "$build" "$work/stage/$b" || { echo "run.sh: scenarios/$b/stage-host.sh failed" >&2; exit 2; }
done
seen_local=0
{
    echo "# holdfastd config for the e2e VM, written by tests/e2e/run.sh"
    echo "log_level: debug"
    echo "backends:"
    # The local backend is always configured (the daemon's default backend,
    # as on an operator's host), whichever folders run.
    for b in local $backends; do
        [[ $b != local || $seen_local != 1 ]] || continue
        [[ $b != local ]] || seen_local=1
        frag=$here/scenarios/$b/holdfast.yaml
        [[ ! -f $frag ]] || sed -e '/^\s*#/d' -e '/^\s*$/d' -e 's/^/  /' "$frag"
    done
} >"$work/stage/holdfast.yaml"

echo "e2e: ${#scenarios[@]} scenario(s) [$backends], image $(basename "$image"), share $work"
set +e
"$here/run-vm.sh" -s "$work" -t "${E2E_VM_TIMEOUT:-$(( 600 + 150 * ${#scenarios[@]} ))}" "$here/guest/driver.sh"
vm_rc=$?
set -e

# ---- report
results=$work/results
passed=0 failed=0 lines=''
for entry in "${scenarios[@]}"; do
    id=${entry%.sh}
    line=$(awk -v id="$id" '$2 == id' "$results/summary.txt" 2>/dev/null | tail -1)
    if [[ -z $line ]]; then
        line=$(printf 'FAIL %-40s %7s (not run)' "$id" '-')
    fi
    [[ $line == PASS* ]] && passed=$((passed + 1)) || failed=$((failed + 1))
    lines+="$line"$'\n'
done
if (( failed )); then
    for f in "$results"/*/*.fail; do
        [[ -e $f ]] && { echo; cat "$f"; }
    done
fi
echo
echo "===== e2e results (logs: $results)"
[[ ! -s $results/timings.txt ]] || sed 's/^/setup /' "$results/timings.txt"
printf '%s' "$lines"
cat "$work/.vm-run/host-times" 2>/dev/null | tr '\n' ' ' | sed 's/^/vm: /; s/ $/\n/'
awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "wall time: %.1fs\n", b - a }'
if [[ $vm_rc == 125 ]]; then
    echo "the VM ended without an exit code (crash or E2E_VM_TIMEOUT); console: $work/.vm-run/console.log"
    (( failed )) || failed=1
fi
echo "e2e: $passed passed, $failed failed"
(( failed == 0 ))
