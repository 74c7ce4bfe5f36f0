# Benchmark (figures only, no timing assertion): `docker run -v` start time
# through holdfast (probe + mount.nfs per first mount) against the same
# export mounted by Docker's own `local` driver (-o type=nfs, mount(2)),
# alternating, in the same run. Prints the medians and their ratio (target:
# within 1.05x of local) for each NFS version compared like for like, then
# for the defaults as users write them: holdfast's nfs_version "4" lets
# mount.nfs negotiate the highest minor version (4.2 here), while the local
# driver's vers=4 goes to mount(2) as NFSv4.0, whose mount costs less.
# Also checks both volumes see the data. NFS_BENCH_ROUNDS (default 7) and
# NFS_BENCH_CASES (default "v4.2 v4.0 defaults"; also v3, not run so far) set a
# longer run.
# e2e-timeout: 600
rounds=${NFS_BENCH_ROUNDS:-7}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
local_volumes=()
drop_local_volumes() {
    local v
    for v in "${local_volumes[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1 || true; done
}
trap drop_local_volumes EXIT

# compare LABEL HF_VERS LOCAL_VERS: one holdfast and one local volume, the
# holdfast one with -o vers=HF_VERS (empty: the backend's default).
compare() {
    local label=$1 hf_vers=$2 local_vers=$3 i t0 hf=() lc=()
    local hfv=bench-hf-$label lcv=bench-local-$label
    mkdir -p "$NFS_ROOT/$lcv"
    local hf_opts=(-o backend=nfs1)
    [[ -z $hf_vers ]] || hf_opts+=(-o vers="$hf_vers")
    vol_create "$hfv" "${hf_opts[@]}"
    docker volume create -d local -o type=nfs -o o=addr=127.0.0.1,vers="$local_vers",nosuid,nodev \
        -o device=":$NFS_ROOT/$lcv" "$lcv" >/dev/null
    local_volumes+=("$lcv")
    for ((i = 0; i < rounds; i++)); do
        t0=$(now); docker run --rm -v "$hfv":/vol "$BUSYBOX" sh -c "echo $i > /vol/f"; hf+=("$(elapsed "$t0")")
        t0=$(now); docker run --rm -v "$lcv":/vol "$BUSYBOX" sh -c "echo $i > /vol/f"; lc+=("$(elapsed "$t0")")
    done
    assert_eq "$((rounds - 1))" "$(cat "$(nfs_dir "$NFS_BASE" "$hfv")/f")" "last write through holdfast ($label)"
    assert_eq "$((rounds - 1))" "$(cat "$NFS_ROOT/$lcv/f")" "last write through the local driver ($label)"
    local m_hf m_lc
    m_hf=$(median "${hf[@]}")
    m_lc=$(median "${lc[@]}")
    log "docker run -v, holdfast nfs (vers=${hf_vers:-default}): ${hf[*]} s (median $m_hf)"
    log "docker run -v, local type=nfs (vers=$local_vers): ${lc[*]} s (median $m_lc)"
    log "BENCH nfs docker-run $label ratio holdfast/local = $(awk -v a="$m_hf" -v b="$m_lc" 'BEGIN { printf "%.3f", a / b }') (target <= 1.05)"
    # Rounds alternate, so each round's difference cancels the drift of the
    # emulated host's speed over the run.
    local diffs=() m_diff
    for ((i = 0; i < rounds; i++)); do diffs+=("$(awk -v a="${hf[i]}" -v b="${lc[i]}" 'BEGIN { printf "%.2f", a - b }')"); done
    m_diff=$(median "${diffs[@]}")
    log "BENCH nfs docker-run $label median of round differences holdfast-local = ${m_diff} s ($(awk -v d="$m_diff" -v b="$m_lc" 'BEGIN { printf "%+.1f", 100 * d / b }')% of local's median)"
    grep "attached: probe" "$E2E_LOG_DIR/holdfastd.log" | grep "\"$hfv\"" | tail -"$rounds" \
        | sed -E 's/.*attached: /holdfast attach: /' || true
    grep "VolumeDriver.Mount volume=\"$hfv\"" "$E2E_LOG_DIR/holdfastd.log" | tail -"$rounds" \
        | grep -oE 'id="[^"]*" [0-9.]+ms' | awk '{ print "holdfast Mount took " $2 }' || true
    log "in a container: holdfast $(docker run --rm -v "$hfv":/vol "$BUSYBOX" grep ' /vol ' /proc/mounts | grep -oE 'vers=[0-9.]+')," \
        "local $(docker run --rm -v "$lcv":/vol "$BUSYBOX" grep ' /vol ' /proc/mounts | grep -oE 'vers=[0-9.]+')"
}

for case in ${NFS_BENCH_CASES:-v4.2 v4.0 defaults}; do
    case $case in
        v4.2) compare v4.2 4.2 4.2 ;;
        v4.0) compare v4.0 4.0 4.0 ;;
        v3) compare v3 3 3 ;;
        defaults) compare defaults "" 4 ;;
        *) fail "NFS_BENCH_CASES: unknown case $case (v4.2, v4.0, v3, defaults)" ;;
    esac
done
