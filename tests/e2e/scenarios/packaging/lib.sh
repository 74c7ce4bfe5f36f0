# Helpers for the packaging scenarios (sourced before each by scenario.sh).
# The managed plugin's lifecycle is split over 10-managed-plugin.sh (create,
# use, in use, crash), 11-managed-plugin-upgrade.sh (re-create, data intact)
# and 12-managed-plugin-remove.sh (settings, rm): `docker plugin create` of a
# ~90 MB rootfs takes 1.5 to 3 minutes under TCG on a busy host, so each file
# stays within one scenario time limit. Each leaves the plugin (and volume
# pv1) to the next when it passes; run alone, a scenario creates them first
# (plugin_ensure).

PKG_STAGE=/mnt/host/stage/packaging     # written by stage-host.sh on the host
PLUGIN=holdfast/plugin:1
PLUGIN_HOST_STATE=/var/lib/holdfast-plugin

quiet() { "$@" >/dev/null; } # for `timed`, whose own line must still show
plugin_installed() { docker plugin inspect "$PLUGIN" >/dev/null 2>&1; }
plugin_id() { docker plugin inspect -f '{{.Id}}' "$PLUGIN"; }
plugin_enabled() { docker plugin inspect -f '{{.Enabled}}' "$PLUGIN"; }
# The plugin's holdfastd, told apart from the suite's own by its state dir.
plugin_daemon_pid() {
  ps -eo pid=,args= | awk '$2 == "/usr/sbin/holdfastd" && / --state-dir \/mnt\/volumes\/state / { print $1 }'
}

# plugin_create DIR: lays out DIR from the staged rootfs (tmpfs: faster than
# the VM's disk under TCG), then `docker plugin create` + `enable`, as
# docs/operations.md says.
plugin_create() {
  local dir=$1
  [[ -s $PKG_STAGE/plugin-rootfs.tar ]] \
    || fail "no $PKG_STAGE/plugin-rootfs.tar (tests/e2e/scenarios/packaging/stage-host.sh did not run?)"
  mkdir -p "$PLUGIN_HOST_STATE" /etc/iscsi /run/lock
  rm -rf "$dir"
  timed make-plugin-dir quiet "$PKG_STAGE/make-plugin-dir.sh" --config "$PKG_STAGE/config.json" \
    "$PKG_STAGE/plugin-rootfs.tar" "$dir"
  log "plugin dir $dir: $(du -sm "$dir" | cut -f1) MB"
  timed "plugin create" quiet docker plugin create "$PLUGIN" "$dir"
  rm -rf "$dir"
  assert_eq false "$(plugin_enabled)" "enabled after create"
  timed "plugin enable" docker plugin enable --timeout 120 "$PLUGIN"
  assert_eq true "$(plugin_enabled)" "enabled after enable"
}

# Removes the plugin, its volumes and containers, whatever state they are in.
plugin_cleanup() {
  docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker volume ls -q --filter "driver=$PLUGIN" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
  if plugin_installed; then
    docker plugin disable -f "$PLUGIN" >/dev/null 2>&1 || true
    docker plugin rm -f "$PLUGIN" >/dev/null 2>&1 || true
  fi
  rm -rf /tmp/plugin-dir
}

PV1_DATA=$(printf 'written-by-plugin\nfrom-running-container')
# The state an earlier scenario leaves: the plugin enabled, volume pv1 holding
# $PV1_DATA in f. Made from scratch when missing (a scenario run alone).
plugin_ensure() {
  if plugin_installed && [[ $(plugin_enabled) == true ]] && docker volume inspect pv1 >/dev/null 2>&1; then
    return 0
  fi
  log "no plugin left by the previous scenario: creating it"
  plugin_cleanup
  plugin_create /tmp/plugin-dir
  docker volume create -d "$PLUGIN" pv1 >/dev/null
  docker run --rm -v pv1:/vol "$BUSYBOX" sh -c 'printf "written-by-plugin\nfrom-running-container\n" >/vol/f'
}
