#!/bin/sh
# Entrypoint of the managed (v2) holdfast plugin, run by the Docker engine as
# the plugin's only process (installed as /usr/lib/holdfast/plugin-entrypoint).
#
# Why a wrapper rather than holdfastd directly: the engine execs the
# Entrypoint without a shell, so the settable CONFIG and LOG_LEVEL variables
# have to become arguments somewhere; and the state has to be both
# persistent and visible under the propagated mount (below).
#
# Layout inside the plugin (host paths in brackets):
#   /var/lib/holdfast        [/var/lib/holdfast-plugin; settable: docker plugin set holdfast state.source=DIR]
#   /mnt/volumes             [/var/lib/docker/plugins/<id>/propagated-mount]
#     state/                   bind of /var/lib/holdfast: holdfastd's --state-dir
#       volumes/<name>.json      one state file per volume
#       local/<name>/            the local backend's volumes (its default base_dir)
#     mounts/<name>/           --mount-root: NFS, iSCSI and LVM volumes are mounted here
#   /run/docker/plugins/holdfast.sock    the engine dials it
#   /run/docker/plugins/admin.sock       [/run/docker/plugins/<id>/admin.sock] the operator CLI's
set -eu

# Every Mountpoint handed to the engine must be under the propagated mount,
# but the propagated mount lives in the plugin's own folder, which
# `docker plugin rm` deletes. So the data stays on the persistent state
# mount, and the state mount is bound into the propagated mount; the bind
# propagates to the host, where the engine resolves Mountpoints. After a
# plugin crash the engine restarts this process with the earlier bind still
# in place: do not stack another one.
mkdir -p /mnt/volumes/state /mnt/volumes/mounts
if ! mountpoint -q /mnt/volumes/state; then
  mount --bind /var/lib/holdfast /mnt/volumes/state
fi

exec /usr/sbin/holdfastd \
  --config "${CONFIG:-/etc/holdfast/holdfast.yaml}" \
  --log-level "${LOG_LEVEL:-info}" \
  --socket /run/docker/plugins/holdfast.sock \
  --state-dir /mnt/volumes/state \
  --mount-root /mnt/volumes/mounts
