# Helpers for the packaging scenarios (sourced before each by scenario.sh).
# The managed plugin is created by 10-managed-plugin.sh and, when that passes,
# left installed for 11-managed-plugin-upgrade.sh, which removes it: creating
# a plugin from a ~100 MB rootfs takes a minute or more under TCG, so the two
# halves of its lifecycle share one creation instead of each paying for it.

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
