# Helpers for the nfs scenarios (sourced after guest/lib.sh).
NFS_ROOT=/srv/nfs                       # the export behind instance nfs1
NFS_BASE=$NFS_ROOT/holdfast             # nfs1's base_path on the server
MOUNT_ROOT=/var/lib/holdfast/mounts

# The directory on the server of volume NAME under base ROOT: each creation
# of a name gets its own "<name>@<generation>" (named by its record).
#   nfs_dir ROOT NAME
nfs_dir() { echo "$1/$(jq -r .dir "$1/.holdfast/volumes/$2.json")"; }

# The /proc/mounts line of a volume's kernel mount ("" when not mounted).
nfs_mount_line() { awk -v m="$MOUNT_ROOT/$1" '$2 == m' /proc/mounts; }

# The kernel NFS server, stopped and started as an operator would. Stopped:
# port 2049 refuses connections.
nfsd_stop() { rpc.nfsd 0; log "nfsd stopped"; }
nfsd_start() {
    rpc.nfsd 4
    echo Y >/proc/fs/nfsd/v4_end_grace 2>/dev/null || true
    log "nfsd started"
}
# A black hole: packets to the NFS port are dropped (a dead server behind a
# live network, a firewall).
nfs_blackhole_on() { iptables -I INPUT -p tcp --dport 2049 -j DROP; log "port 2049 black-holed"; }
nfs_blackhole_off() {
    while iptables -D INPUT -p tcp --dport 2049 -j DROP 2>/dev/null; do :; done
    log "port 2049 answers again"
}

# Duration in ms of the last VolumeDriver.Mount of a volume, from
# holdfastd's log ("... VolumeDriver.Mount volume="x" id="..." 12.3ms ...").
last_mount_ms() {
    grep "VolumeDriver.Mount volume=\"$1\"" "$E2E_LOG_DIR/holdfastd.log" | tail -1 \
        | grep -oE 'id="[^"]*" [0-9.]+ms' | head -1 | sed -E 's/.* ([0-9.]+)ms$/\1/'
}

# Duration in ms of holdfastd's last answer to ENDPOINT (List, Get, ...),
# from its log ("... VolumeDriver.List 0.1ms ok").
last_call_ms() {
    grep "VolumeDriver.$1 " "$E2E_LOG_DIR/holdfastd.log" | tail -1 \
        | grep -oE '[0-9.]+ms (ok|error)' | head -1 | sed -E 's/ms .*//'
}
