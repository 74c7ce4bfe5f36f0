# The guest's iSCSI target and initiator, before holdfastd starts:
#   tgtd on 127.0.0.1:3260 and a second portal 127.0.0.1:3261 (two paths
#   for the multipath scenario), target iqn.2024-01.io.holdfast:e2e, sparse
#   file-backed LUNs in /srv/iscsi: 1-6 and 8 of 512 MiB, 7 of 20 GiB;
#   iscsid (open-iscsi) with the host's initiator name.
# Nothing is logged in here: holdfastd does that per volume. multipathd is
# started only by the multipath scenario (lib.sh mp_start): while it runs it
# would claim the single-path LUNs of the other instances too.
modprobe -a iscsi_tcp sd_mod dm_multipath dm_round_robin
mkdir -p /etc/iscsi /srv/iscsi
[[ -s /etc/iscsi/initiatorname.iscsi ]] || echo "InitiatorName=$(iscsi-iname)" >/etc/iscsi/initiatorname.iscsi
cat /etc/iscsi/initiatorname.iscsi
# In the foreground of its own session, logging to a file (no syslog here):
# scenarios show its log when they fail.
pgrep -x iscsid >/dev/null || { setsid iscsid -f >>/var/log/iscsid.log 2>&1 </dev/null & }
wait_for 20 pgrep -x iscsid
pgrep -x tgtd >/dev/null || tgtd
wait_for 20 tgtadm --lld iscsi --op show --mode target
iqn=iqn.2024-01.io.holdfast:e2e
tgtadm --lld iscsi --op new --mode target --tid 1 -T "$iqn"
for lun in 1 2 3 4 5 6 7 8; do
    size=512M
    [[ $lun != 7 ]] || size=20G
    truncate -s "$size" "/srv/iscsi/lun$lun.img"
    tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun "$lun" -b "/srv/iscsi/lun$lun.img"
done
tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
tgtadm --lld iscsi --op new --mode portal --param portal=127.0.0.1:3261
tgtadm --lld iscsi --op show --mode portal
tgtadm --lld iscsi --op show --mode target | grep -E '^Target|LUN:|Size:'
