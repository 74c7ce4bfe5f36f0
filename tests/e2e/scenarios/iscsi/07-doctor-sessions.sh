# `holdfast doctor` against the kernel initiator (docs/operations.md,
# "Doctor"): no session is fine, a session under a mounted holdfast volume is
# fine, and a session to a configured target that carries no holdfast volume
# attached on this host (here: an operator's manual login) is a warning that
# names the command to log it out. Following that advice clears it.
sessions_check() { # the doctor's "iscsi sessions" entries, as JSON
    local reply
    reply=$(holdfast --json doctor) || true   # exit 1 on any warning
    jq -c '[.checks[] | select(.name == "iscsi sessions")]' <<<"$reply"
}
manual_logout() {
    iscsiadm -m node -T "$ISCSI_IQN" -p 127.0.0.1:3260 -I default --logout >/dev/null 2>&1 || true
    iscsiadm -m node -T "$ISCSI_IQN" -I default -o delete >/dev/null 2>&1 || true
}
trap manual_logout EXIT

check=$(sessions_check)
log "no session: $check"
assert_contains "$check" '"status":"ok"' "doctor with no iSCSI session"
assert_not_contains "$check" '"warn"' "doctor with no iSCSI session"

vol_create dv -o backend=san1
ctr_start dv-user -v dv:/vol
check=$(sessions_check)
log "a mounted volume: $check"
assert_contains "$check" "each with a volume attached" "doctor with a volume mounted"
assert_not_contains "$check" '"warn"' "doctor with a volume mounted"
docker rm -f dv-user >/dev/null
wait_output 20 0 iscsi_sessions
log "ok: holdfast logged out after the last unmount"

# An orphan: the operator logs in by hand through the default interface.
iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 -I default >/dev/null
iscsiadm -m node -T "$ISCSI_IQN" -p 127.0.0.1:3260 -I default --login >/dev/null
check=$(sessions_check)
log "a manual login: $check"
assert_contains "$check" '"warn"' "doctor with an orphan session"
assert_contains "$check" "carries no holdfast volume attached here" "doctor with an orphan session"
rc=0
holdfast doctor >/tmp/doctor.txt 2>&1 || rc=$?
cat /tmp/doctor.txt
assert_eq 1 "$rc" "doctor's exit code with a warning"
advice=$(grep -oE 'iscsiadm -m session -r [0-9]+ -u' <<<"$check" | head -1)
[[ -n $advice ]] || fail "no logout command in the doctor's report"
log "following the advice: $advice"
read -r -a argv <<<"$advice"
"${argv[@]}" >/dev/null
check=$(sessions_check)
log "after the logout: $check"
assert_not_contains "$check" '"warn"' "doctor after the advised logout"
docker volume rm dv >/dev/null
