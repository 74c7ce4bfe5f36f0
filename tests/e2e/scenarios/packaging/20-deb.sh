# Proves the Debian package (cmake/Packaging.cmake, packaging/deb/) on a
# real Debian 12 system without systemd, as an operator would use it:
#   install   dpkg -i with no network (the dependencies dpkg-shlibdeps
#             computed are in the image): files, conffile, units enabled
#             (deb-systemd-helper links, as systemd would see them), docs;
#             `holdfastd --check-config`; the daemon started by hand with the
#             unit's ExecStart serves a volume to containers
#   upgrade   to revision 2: the operator's config edit is kept, the state
#             and the volume's data survive a restart on the new binary
#   remove    binary gone, config kept, units masked, state kept
#   purge     /etc/holdfast gone, unit links gone, /var/lib/holdfast KEPT
# The suite's own holdfastd (/usr/local/sbin) is stopped meanwhile and its
# config put aside, then both are restored.
stage=/mnt/host/stage/packaging
pkg_pid=''

debs=("$stage"/holdfast_*-1_*.deb)
deb1=${debs[0]}
debs=("$stage"/holdfast_*-2_*.deb)
deb2=${debs[0]}
[[ -s $deb1 && -s $deb2 ]] || fail "no .debs in $stage (tests/e2e/scenarios/packaging/stage-host.sh did not run?)"

pkg_daemon_start() { # runs the unit's ExecStart by hand (no systemd here)
  local exec_start t0
  exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/holdfast.service)
  [[ $exec_start == /usr/sbin/holdfastd* ]] || fail "unexpected ExecStart: $exec_start"
  # shellcheck disable=SC2086  # the unit's argv, split as systemd would
  setsid $exec_start >>/var/log/holdfastd-deb.log 2>&1 </dev/null &
  pkg_pid=$!
  t0=$(date +%s)
  until holdfastd_answers; do
    pid_alive "$pkg_pid" || fail "packaged holdfastd exited: $(tail -5 /var/log/holdfastd-deb.log)"
    (($(date +%s) - t0 < 30)) || fail "packaged holdfastd did not answer within 30s"
    sleep 0.2
  done
  log "packaged holdfastd running (pid $pkg_pid): $(/usr/sbin/holdfastd --version)"
}
pkg_daemon_gone() { ! pid_alive "$pkg_pid"; }
pkg_daemon_stop() {
  [[ -n $pkg_pid ]] && pid_alive "$pkg_pid" || return 0
  kill -TERM "$pkg_pid"
  wait_for 20 pkg_daemon_gone
  pkg_pid=''
  log "packaged holdfastd stopped"
}
restore_suite() {
  docker rm -f dc1 >/dev/null 2>&1 || true
  pkg_daemon_stop || true
  if dpkg-query -W holdfast >/dev/null 2>&1; then
    dpkg -P holdfast >/dev/null 2>&1 || true
  fi
  rm -rf /etc/holdfast
  [[ ! -d /tmp/e2e-suite-etc-holdfast ]] || mv /tmp/e2e-suite-etc-holdfast /etc/holdfast
  holdfastd_running || holdfastd_start || true
}
trap restore_suite EXIT

holdfastd_stop
mv /etc/holdfast /tmp/e2e-suite-etc-holdfast

# ---- install
log "installing $(basename "$deb1"): Depends: $(dpkg-deb -f "$deb1" Depends)"
timed "dpkg -i" dpkg -i "$deb1"
assert_eq "install ok installed 0.1.0-1" "$(dpkg-query -W -f '${Status} ${Version}' holdfast)" "package state"
for f in /usr/sbin/holdfastd /usr/bin/holdfast /etc/holdfast/holdfast.yaml /lib/systemd/system/holdfast.service \
  /lib/systemd/system/holdfast.socket /usr/share/doc/holdfast/copyright; do
  [[ -f $f ]] || fail "$f not installed"
done
# The image's dpkg filters keep only copyright of /usr/share/doc (as on many
# minimal systems): the other documents are checked in the package itself.
contents=$(dpkg-deb -c "$deb1")
for f in changelog.Debian.gz operations.md examples/holdfast.yaml; do
  assert_contains "$contents" "./usr/share/doc/holdfast/$f" "package contents"
done
log "ok: files installed"
assert_contains "$(dpkg-query -W -f '${Conffiles}' holdfast)" "/etc/holdfast/holdfast.yaml" "conffiles"
assert_eq /lib/systemd/system/holdfast.socket "$(readlink /etc/systemd/system/sockets.target.wants/holdfast.socket)" \
  "holdfast.socket enabled"
assert_eq /lib/systemd/system/holdfast.service "$(readlink /etc/systemd/system/multi-user.target.wants/holdfast.service)" \
  "holdfast.service enabled"
if ldd /usr/sbin/holdfastd | grep 'not found'; then
  fail "the package's Depends miss a library"
fi
timed check-config /usr/sbin/holdfastd --check-config --config /etc/holdfast/holdfast.yaml

pkg_daemon_start
vol_create dv
docker run --rm -v dv:/vol "$BUSYBOX" sh -c 'echo written-by-0.1.0-1 >/vol/f'
assert_eq written-by-0.1.0-1 "$(docker run --rm -v dv:/vol "$BUSYBOX" cat /vol/f)" "read back"
[[ -s /var/lib/holdfast/volumes/dv.json ]] || fail "no state file /var/lib/holdfast/volumes/dv.json"

# ---- upgrade, with an operator's edit in the conffile and the daemon running
echo "# e2e: operator edit, must survive the upgrade" >>/etc/holdfast/holdfast.yaml
ctr_start dc1 -v dv:/vol
assert_eq /var/lib/holdfast/local/dv "$(vol_field dv .Mountpoint)" "mountpoint while mounted"
timed "dpkg -i (upgrade)" dpkg -i "$deb2"
assert_eq "install ok installed 0.1.0-2" "$(dpkg-query -W -f '${Status} ${Version}' holdfast)" "package state"
assert_contains "$(cat /etc/holdfast/holdfast.yaml)" "e2e: operator edit" "config after upgrade"
if compgen -G '/etc/holdfast/*.dpkg-*' >/dev/null; then
  fail "dpkg left $(ls /etc/holdfast/*.dpkg-*)"
fi
/usr/sbin/holdfastd --check-config --config /etc/holdfast/holdfast.yaml >/dev/null
assert_eq running "$(ctr_state dc1)" "container during the upgrade"
# No systemd to restart it: restart on the new binary by hand, as documented.
pkg_daemon_stop
pkg_daemon_start
assert_eq written-by-0.1.0-1 "$(docker exec dc1 cat /vol/f)" "data seen by the running container"
docker rm -f dc1 >/dev/null
assert_eq written-by-0.1.0-1 "$(docker run --rm -v dv:/vol "$BUSYBOX" cat /vol/f)" "data after the upgrade"

# ---- remove: config and state kept
pkg_daemon_stop
timed "dpkg -r" dpkg -r holdfast
assert_eq "deinstall ok config-files" "$(dpkg-query -W -f '${Status}' holdfast)" "package state"
[[ ! -e /usr/sbin/holdfastd ]] || fail "/usr/sbin/holdfastd left after remove"
assert_contains "$(cat /etc/holdfast/holdfast.yaml)" "e2e: operator edit" "config after remove"
assert_eq /dev/null "$(readlink /etc/systemd/system/holdfast.socket)" "holdfast.socket masked"
[[ -s /var/lib/holdfast/volumes/dv.json ]] || fail "state lost by remove"

# ---- purge: config gone, state and data kept
timed "dpkg -P" dpkg -P holdfast
expect_fail dpkg-query -W holdfast
[[ ! -e /etc/holdfast ]] || fail "/etc/holdfast left after purge: $(ls -la /etc/holdfast)"
links=$(find /etc/systemd/system -name 'holdfast.*' | tr '\n' ' ')
[[ -z $links ]] || fail "unit links left after purge: $links"
[[ -s /var/lib/holdfast/volumes/dv.json ]] || fail "purge removed /var/lib/holdfast/volumes/dv.json"
assert_eq written-by-0.1.0-1 "$(cat /var/lib/holdfast/local/dv/f)" "local volume data after purge"
log "ok: purge removed /etc/holdfast only"
# dv is removed by the suite's clean-up once its own holdfastd is back.
