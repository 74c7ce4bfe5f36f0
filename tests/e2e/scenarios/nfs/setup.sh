# The guest's kernel NFS server (NFSv3 and v4) on 127.0.0.1, before
# holdfastd starts:
#   /srv/nfs       no_root_squash                       (nfs1, nfsarchive, nfsretain)
#   /srv/nfs-anon  root_squash, anonuid/anongid 1234    (nfsanon)
# libnfs binds a privileged source port as root, so the default `secure`
# export option holds.
modprobe -a nfsd nfs nfsv3 nfsv4
mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
mkdir -p /srv/nfs /srv/nfs-anon
chown 1234:1234 /srv/nfs-anon
cat >/etc/exports <<'EXPORTS'
/srv/nfs      127.0.0.1(rw,sync,no_subtree_check,no_root_squash)
/srv/nfs-anon 127.0.0.1(rw,sync,no_subtree_check,root_squash,anonuid=1234,anongid=1234)
EXPORTS
pgrep -x rpcbind >/dev/null || rpcbind -w
pgrep -x rpc.statd >/dev/null || rpc.statd   # NLM locking for NFSv3 mounts
exportfs -ra
pgrep -x rpc.mountd >/dev/null || rpc.mountd
echo 10 >/proc/fs/nfsd/nfsv4gracetime
echo 10 >/proc/fs/nfsd/nfsv4leasetime
rpc.nfsd 4
echo Y >/proc/fs/nfsd/v4_end_grace || true   # no clients to reclaim: no grace period
exportfs -v
cat /proc/fs/nfsd/versions
