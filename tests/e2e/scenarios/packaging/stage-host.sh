#!/bin/bash
# Host side of the packaging scenarios: builds what they install in the VM,
# before it boots (the VM has no network and no compiler).
#
#   tests/e2e/scenarios/packaging/stage-host.sh BUILD_DIR OUT_DIR
#
# OUT_DIR (the share's stage/packaging) gets:
#   plugin-rootfs.tar, config.json, make-plugin-dir.sh   the managed plugin,
#       built offline from Debian packages and BUILD_DIR's holdfastd
#       (packaging/plugin/build-rootfs.sh; its Debian part is cached)
#   holdfast_<v>-1_<arch>.deb, holdfast_<v>-2_<arch>.deb   the package and
#       an "upgrade" (same build, Debian revision 2), from BUILD_DIR/deb:
#       a second build tree configured for Debian's layout with BUILD_DIR's
#       build type (packaging/deb/build-deb.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../../.." && pwd)
[[ $# == 2 ]] || { echo "usage: stage-host.sh BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd) out=$2
mkdir -p "$out"
rm -f "$out"/*.deb

"$repo/packaging/plugin/build-rootfs.sh" "$build/src/daemon/holdfastd" "$out/plugin-rootfs.tar"
cp "$repo/packaging/plugin/config.json" "$repo/packaging/plugin/make-plugin-dir.sh" "$out/"

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
for release in 1 2; do
  deb=$("$repo/packaging/deb/build-deb.sh" "$build/deb" --release "$release" --build-type "${build_type:-Release}" 2>"$build/deb-$release.log") \
    || { tail -30 "$build/deb-$release.log" >&2; exit 1; }
  cp "$deb" "$out/"
done
ls -l "$out"
