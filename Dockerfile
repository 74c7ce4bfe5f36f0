# syntax=docker/dockerfile:1
# The managed (v2) Docker plugin's root filesystem: holdfastd plus the tools
# its backends run (mount.nfs, iscsiadm, lvm, mkfs.ext4/xfs), on Debian 12.
# The plugin itself is this image's filesystem plus packaging/plugin/config.json:
#
#   docker build -t holdfast-plugin-rootfs .
#   id=$(docker create holdfast-plugin-rootfs true)
#   docker export "$id" >rootfs.tar && docker rm "$id"
#   packaging/plugin/make-plugin-dir.sh rootfs.tar plugin-dir
#   docker plugin create holdfast plugin-dir     # or org/holdfast:TAG, then docker plugin push
#
# Without a registry (no debian:bookworm image to pull), build the same rootfs
# from Debian packages with packaging/plugin/build-rootfs.sh instead
# (docs/operations.md, "Managed plugin"). Both paths install the same package
# list (packaging/plugin/packages.txt plus holdfastd's libraries), the same
# dpkg filters and the same finishing script, so they give the same rootfs.

# ---- build: holdfastd, Release, stripped; and the packages of its libraries
FROM debian:bookworm AS build
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release \
        -DHOLDFAST_BUILD_TESTS=OFF -DHOLDFAST_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target holdfastd \
 && install -D -m 0755 /build/src/daemon/holdfastd /out/usr/sbin/holdfastd \
 && strip --strip-unneeded /out/usr/sbin/holdfastd \
 && /src/packaging/plugin/lib-packages.sh /out/usr/sbin/holdfastd >/out/lib-packages.txt

# ---- runtime: the plugin's rootfs
FROM debian:bookworm-slim
COPY packaging/plugin/dpkg-excludes.cfg /etc/dpkg/dpkg.cfg.d/holdfast-excludes
COPY packaging/plugin/packages.txt packaging/plugin/slim-rootfs.sh /tmp/holdfast/
COPY --from=build /out/lib-packages.txt /tmp/holdfast/
RUN apt-get update \
 && grep -hv -e '^\s*#' -e '^\s*$' /tmp/holdfast/packages.txt /tmp/holdfast/lib-packages.txt \
      | xargs env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
 && apt-get clean \
 && /tmp/holdfast/slim-rootfs.sh / \
 && rm -rf /tmp/holdfast /var/lib/apt/lists/*
COPY --from=build /out/usr/sbin/holdfastd /usr/sbin/holdfastd
COPY packaging/plugin/entrypoint.sh /usr/lib/holdfast/plugin-entrypoint
COPY packaging/plugin/holdfast.yaml /etc/holdfast/holdfast.yaml
RUN mkdir -p /run/docker/plugins /mnt/volumes /var/lib/holdfast
