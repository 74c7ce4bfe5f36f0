# Proves the managed plugin's offline upgrade with the real engine: disable
# -f, rm -f, create again under the same name from a new directory, enable;
# the volume and its data are intact because they live in the host's state
# folder, not in the plugin's. Continues from 10-managed-plugin.sh.
passed=0
trap '[[ $passed == 1 ]] || plugin_cleanup' EXIT
plugin_ensure
id1=$(plugin_id)

timed "plugin disable -f" docker plugin disable -f "$PLUGIN"
timed "plugin rm -f" quiet docker plugin rm -f "$PLUGIN"
[[ ! -e /var/lib/docker/plugins/$id1 ]] || fail "/var/lib/docker/plugins/$id1 still there after rm"
assert_eq "$PV1_DATA" "$(cat "$PLUGIN_HOST_STATE/local/pv1/f")" "data on the host after rm"
plugin_create /tmp/plugin-dir
id2=$(plugin_id)
[[ $id2 != "$id1" ]] || fail "the re-created plugin has the old id $id1"
log "ok: new plugin id $id2"
assert_contains "$(docker volume ls -q --filter "driver=$PLUGIN")" pv1 "volume listed after the upgrade"
assert_eq "$PV1_DATA" "$(docker run --rm -v pv1:/vol "$BUSYBOX" cat /vol/f)" "data intact after the upgrade"
passed=1
