# Benchmark (figures only, no timing assertion): `docker run -v` start time
# through holdfast (probe + mount.nfs per first mount) against the same
# export mounted by Docker's own `local` driver (-o type=nfs), alternating,
# in the same run. Prints the medians and their ratio (target: within
# 1.05x of local). Also checks both volumes see the same kind of data.
rounds=${NFS_BENCH_ROUNDS:-5}
mkdir -p "$NFS_ROOT/bench-local"
vol_create bench-hf -o backend=nfs1
docker volume create -d local -o type=nfs -o o=addr=127.0.0.1,vers=4,nosuid,nodev \
    -o device=:/srv/nfs/bench-local bench-local >/dev/null
trap 'docker volume rm -f bench-local >/dev/null 2>&1 || true' EXIT
hf=() lc=()
for ((i = 0; i < rounds; i++)); do
    t0=$(now); docker run --rm -v bench-hf:/vol "$BUSYBOX" sh -c "echo $i > /vol/f"; hf+=("$(elapsed "$t0")")
    t0=$(now); docker run --rm -v bench-local:/vol "$BUSYBOX" sh -c "echo $i > /vol/f"; lc+=("$(elapsed "$t0")")
done
assert_eq "$((rounds - 1))" "$(cat "$(nfs_dir "$NFS_BASE" bench-hf)/f")" "last write through holdfast"
assert_eq "$((rounds - 1))" "$(cat "$NFS_ROOT/bench-local/f")" "last write through the local driver"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
m_hf=$(median "${hf[@]}")
m_lc=$(median "${lc[@]}")
log "docker run -v, holdfast nfs: ${hf[*]} s (median $m_hf)"
log "docker run -v, local type=nfs: ${lc[*]} s (median $m_lc)"
log "BENCH nfs docker-run ratio holdfast/local = $(awk -v a="$m_hf" -v b="$m_lc" 'BEGIN { printf "%.3f", a / b }') (target <= 1.05)"
grep 'VolumeDriver.Mount volume="bench-hf"' "$E2E_LOG_DIR/holdfastd.log" | tail -"$rounds" \
    | grep -oE 'id="[^"]*" [0-9.]+ms' | awk '{ print "holdfast Mount took " $2 }' || true
