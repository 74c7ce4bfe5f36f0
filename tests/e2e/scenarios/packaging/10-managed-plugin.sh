# Proves the managed (v2) plugin with the real engine, offline: the rootfs
# built from Debian packages (packaging/plugin/build-rootfs.sh) plus
# config.json is created with `docker plugin create`, enabled, and serves a
# volume to containers (written by one, read by another); the data and state
# are in the host's state folder; `disable` is refused while the plugin is in
# use; after a crash the engine restarts the plugin, which does not stack
# another state bind and still serves the volume.
# On success the plugin and volume pv1 stay for 11-managed-plugin-upgrade.sh
# (see lib.sh).
passed=0
trap '[[ $passed == 1 ]] || plugin_cleanup' EXIT
plugin_cleanup

# ---- create and enable
plugin_create /tmp/plugin-dir
id=$(plugin_id)
assert_eq /mnt/volumes "$(docker plugin inspect -f '{{.Config.PropagatedMount}}' "$PLUGIN")" "propagated mount"
assert_eq host "$(docker plugin inspect -f '{{.Config.Network.Type}}' "$PLUGIN")" "network"
assert_eq "docker.volumedriver/1.0" \
  "$(docker plugin inspect -f '{{range .Config.Interface.Types}}{{.}}{{end}}' "$PLUGIN")" "interface"
assert_contains "$(docker plugin inspect -f '{{.Settings.Env}}' "$PLUGIN")" "LOG_LEVEL=info" "settings"
[[ -S /run/docker/plugins/$id/holdfast.sock ]] || fail "no plugin socket at /run/docker/plugins/$id/holdfast.sock"
log "ok: plugin $id listening"

# ---- a volume, written by one container and read by another
timed "volume create" quiet docker volume create -d "$PLUGIN" pv1
assert_eq "$PLUGIN" "$(docker volume inspect -f '{{.Driver}}' pv1)" "driver"
assert_contains "$(docker volume ls -q --filter "driver=$PLUGIN")" pv1 "volume ls"
timed write docker run --rm -v pv1:/vol "$BUSYBOX" sh -c 'echo written-by-plugin >/vol/f'
assert_eq written-by-plugin "$(docker run --rm -v pv1:/vol "$BUSYBOX" cat /vol/f)" "read back"
# The data and the state are in the host's state folder, not in the plugin.
assert_eq written-by-plugin "$(cat "$PLUGIN_HOST_STATE/local/pv1/f")" "data in $PLUGIN_HOST_STATE/local/pv1"
[[ -s $PLUGIN_HOST_STATE/volumes/pv1.json ]] || fail "no state file $PLUGIN_HOST_STATE/volumes/pv1.json"
log "ok: state in $PLUGIN_HOST_STATE/volumes/pv1.json"

# ---- disable is refused while the plugin is in use
ctr_start pc1 -v pv1:/vol
# Get reports the Mountpoint while the volume is mounted: the plugin's own
# path, under the propagated mount, which the engine mapped to the host.
assert_eq /mnt/volumes/state/local/pv1 "$(docker volume inspect -f '{{.Mountpoint}}' pv1)" "mountpoint (inside the plugin)"
expect_fail docker plugin disable "$PLUGIN"
assert_contains "$OUT" "in use" "disable refused"
assert_eq true "$(plugin_enabled)" "still enabled"
docker exec pc1 sh -c 'echo from-running-container >>/vol/f'

# ---- crash: the engine restarts the plugin; the state bind is not stacked
# (how many copies of the bind the host shows depends on the engine's mount
# peer groups; what matters is that a restart adds none)
state_binds() { grep -c " /var/lib/docker/plugins/$id/[^ ]*/state " /proc/self/mountinfo || true; }
binds_before=$(state_binds)
grep " /var/lib/docker/plugins/$id/[^ ]*/state " /proc/self/mountinfo
(( binds_before > 0 )) || fail "the plugin's state bind is not visible on the host"
pid=$(plugin_daemon_pid)
[[ -n $pid ]] || fail "the plugin's holdfastd is not in ps"
kill -KILL "$pid"
log "killed the plugin's holdfastd (pid $pid)"
restarted() { local p; p=$(plugin_daemon_pid); [[ -n $p && $p != "$pid" ]]; }
wait_for 90 restarted
wait_for 30 docker volume inspect pv1
log "plugin restarted by the engine (pid $(plugin_daemon_pid))"
grep " /var/lib/docker/plugins/$id/[^ ]*/state " /proc/self/mountinfo
assert_eq "$binds_before" "$(state_binds)" "state binds on the host after the restart"
assert_eq "$PV1_DATA" "$(docker run --rm -v pv1:/vol "$BUSYBOX" cat /vol/f)" "read after the plugin restart"
docker rm -f pc1 >/dev/null

# Without containers the volume still holds a reference: disable still refused.
expect_fail docker plugin disable "$PLUGIN"
assert_contains "$OUT" "in use" "disable refused while a volume exists"
passed=1
