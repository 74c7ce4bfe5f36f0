# LVM on the VM's blank spare disk: volume group hfvg with a 1.5 GiB thin
# pool; the rest (about 2.4 GiB) is free for thick volumes.
modprobe -a dm_mod dm_thin_pool dm_snapshot
disk=/dev/disk/by-id/virtio-spare
pvcreate -y "$disk"
vgcreate hfvg "$disk"
lvcreate -y -L 1536M -T hfvg/pool
lvs -a hfvg
