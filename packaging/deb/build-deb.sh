#!/bin/bash
# Builds the holdfast .deb: configures BUILD_DIR for Debian's layout (prefix
# /usr, config in /etc, units in /lib/systemd/system; no tests, no
# benchmarks), builds it, runs `cpack -G DEB`, then checks the result with
# dpkg-deb (and lintian when installed). Build output goes to stderr; the
# .deb's path is the only line on stdout.
#
#   packaging/deb/build-deb.sh [BUILD_DIR] [--release N] [--build-type T]
#     BUILD_DIR       default ./build-deb
#     --release N     Debian revision (version 0.1.0-N), default 1: bump it
#                     to test an upgrade (only the changelog is rebuilt)
#     --build-type T  CMAKE_BUILD_TYPE, default Release
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=./build-deb release=1 build_type=Release
while (($#)); do
  case $1 in
    --release) release=$2; shift 2 ;;
    --build-type) build_type=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-deb.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc \
  -DHOLDFAST_SYSTEMD_UNIT_DIR=/lib/systemd/system \
  -DHOLDFAST_BUILD_TESTS=OFF -DHOLDFAST_BUILD_BENCH=OFF \
  -DHOLDFAST_DEB_RELEASE="$release" >&2
cmake --build "$build" -j2 >&2
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { tail -30 "$build/cpack.log" >&2; exit 1; }
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$build/cpack.log" | tail -1)
[[ -s $deb ]] || { echo "build-deb.sh: cpack made no .deb (see $build/cpack.log)" >&2; exit 1; }

# The checks a reviewer would do by hand.
dpkg-deb -I "$deb" >/dev/null
contents=$(dpkg-deb -c "$deb")
for want in ./usr/sbin/holdfastd ./usr/bin/holdfast ./etc/holdfast/holdfast.yaml ./lib/systemd/system/holdfast.socket \
  ./lib/systemd/system/holdfast.service ./usr/share/doc/holdfast/copyright; do
  grep -q " $want\$" <<<"$contents" || { echo "build-deb.sh: $deb lacks $want" >&2; exit 1; }
done
if grep -Ev ' \./(etc|usr|lib)(/|$)' <<<"$contents" | grep -v ' \./$'; then
  echo "build-deb.sh: $deb installs outside /etc, /usr and /lib (above)" >&2
  exit 1
fi
dpkg-deb -f "$deb" Depends | grep -q 'libc6' \
  || { echo "build-deb.sh: Depends lacks the shared libraries (dpkg-shlibdeps did not run?)" >&2; exit 1; }
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb" >&2 || echo "build-deb.sh: lintian reported the above" >&2
fi
echo "$deb"
