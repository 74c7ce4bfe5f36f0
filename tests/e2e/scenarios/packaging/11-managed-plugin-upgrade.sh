# Proves the managed plugin's offline upgrade and removal with the real
# engine: disable -f, rm -f, create again under the same name from a new
# directory, enable; the volume and its data are intact because they live in
# the host's state folder. Then a setting changed while disabled takes effect,
# and `docker plugin rm` removes the plugin but leaves that folder.
# Continues from 10-managed-plugin.sh (its plugin and volume pv1); run alone,
# it creates them first.
trap plugin_cleanup EXIT
if ! plugin_installed || ! docker volume inspect pv1 >/dev/null 2>&1; then
  log "no plugin from 10-managed-plugin.sh: creating it"
  plugin_cleanup
  plugin_create /tmp/plugin-dir
  docker volume create -d "$PLUGIN" pv1 >/dev/null
  docker run --rm -v pv1:/vol "$BUSYBOX" sh -c 'printf "written-by-plugin\nfrom-running-container\n" >/vol/f'
fi
expected=$(printf 'written-by-plugin\nfrom-running-container')
id1=$(plugin_id)

# ---- offline upgrade: disable, rm, create the same name from a new directory
timed "plugin disable -f" docker plugin disable -f "$PLUGIN"
timed "plugin rm -f" quiet docker plugin rm -f "$PLUGIN"
[[ ! -e /var/lib/docker/plugins/$id1 ]] || fail "/var/lib/docker/plugins/$id1 still there after rm"
assert_eq "$expected" "$(cat "$PLUGIN_HOST_STATE/local/pv1/f")" "data on the host after rm"
plugin_create /tmp/plugin-dir
id2=$(plugin_id)
[[ $id2 != "$id1" ]] || fail "the re-created plugin has the old id $id1"
log "ok: new plugin id $id2"
assert_contains "$(docker volume ls -q --filter "driver=$PLUGIN")" pv1 "volume listed after the upgrade"
assert_eq "$expected" "$(docker run --rm -v pv1:/vol "$BUSYBOX" cat /vol/f)" "data intact after the upgrade"
docker volume rm pv1 >/dev/null
[[ ! -e $PLUGIN_HOST_STATE/volumes/pv1.json && ! -e $PLUGIN_HOST_STATE/local/pv1 ]] \
  || fail "volume rm left pv1's state or data"

# ---- settings: LOG_LEVEL is settable while the plugin is disabled
timed "plugin disable" docker plugin disable "$PLUGIN"
expect_fail docker plugin set "$PLUGIN" NO_SUCH_SETTING=1
docker plugin set "$PLUGIN" LOG_LEVEL=debug
assert_contains "$(docker plugin inspect -f '{{.Settings.Env}}' "$PLUGIN")" "LOG_LEVEL=debug" "settings after set"
timed "plugin enable (debug)" docker plugin enable --timeout 120 "$PLUGIN"
pid=$(plugin_daemon_pid)
assert_contains "$(tr '\0' ' ' </proc/"$pid"/cmdline)" "--log-level debug" "holdfastd's arguments"
docker volume create -d "$PLUGIN" pv2 >/dev/null
assert_eq ok "$(docker run --rm -v pv2:/vol "$BUSYBOX" sh -c 'echo ok >/vol/g && cat /vol/g')" "volume after set"
docker volume rm pv2 >/dev/null

# ---- remove
timed "plugin disable" docker plugin disable "$PLUGIN"
timed "plugin rm" quiet docker plugin rm "$PLUGIN"
expect_fail docker plugin inspect "$PLUGIN"
[[ ! -e /var/lib/docker/plugins/$id2 ]] || fail "/var/lib/docker/plugins/$id2 still there after rm"
[[ -d $PLUGIN_HOST_STATE/volumes ]] || fail "$PLUGIN_HOST_STATE lost by plugin rm"
log "ok: plugin removed, $PLUGIN_HOST_STATE kept"
