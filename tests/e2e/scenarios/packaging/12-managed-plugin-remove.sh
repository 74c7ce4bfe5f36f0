# Proves the managed plugin's settings and removal with the real engine:
# `docker volume rm` deletes the volume's state and data from the host's
# state folder; a setting (LOG_LEVEL) changed while disabled reaches
# holdfastd; `docker plugin rm` removes the plugin and leaves the state
# folder. Continues from 11-managed-plugin-upgrade.sh.
trap plugin_cleanup EXIT
plugin_ensure

docker volume rm pv1 >/dev/null
[[ ! -e $PLUGIN_HOST_STATE/volumes/pv1.json && ! -e $PLUGIN_HOST_STATE/local/pv1 ]] \
  || fail "volume rm left pv1's state or data"
log "ok: volume rm removed pv1's state and data"

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
id=$(plugin_id)
timed "plugin disable" docker plugin disable "$PLUGIN"
timed "plugin rm" quiet docker plugin rm "$PLUGIN"
expect_fail docker plugin inspect "$PLUGIN"
[[ ! -e /var/lib/docker/plugins/$id ]] || fail "/var/lib/docker/plugins/$id still there after rm"
[[ -d $PLUGIN_HOST_STATE/volumes ]] || fail "$PLUGIN_HOST_STATE lost by plugin rm"
log "ok: plugin removed, $PLUGIN_HOST_STATE kept"
