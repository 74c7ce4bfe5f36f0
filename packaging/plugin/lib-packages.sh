#!/bin/bash
# Prints the Debian packages that hold the shared libraries BINARY loads, one
# per line, sorted (for the managed plugin's rootfs: build-rootfs.sh and the
# Dockerfile). Fails, naming the library, if one does not come from a package.
#   packaging/plugin/lib-packages.sh /path/to/holdfastd
set -euo pipefail
binary=${1:?usage: lib-packages.sh BINARY}
[[ -x $binary ]] || { echo "lib-packages.sh: $binary is not an executable" >&2; exit 2; }
libs=$(ldd "$binary" | awk '/=> \// { print $3 } /^\s*\/[^ ]*ld-linux/ { print $1 }')
status=0
pkgs=()
for lib in $libs; do
  pkg=''
  # dpkg knows a file by the path its package shipped it at; with merged
  # /usr that may be the /usr or the / spelling, or the link's target.
  for p in "$lib" "/usr$lib" "${lib#/usr}" "$(readlink -f "$lib")"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $pkg ]] && break
  done
  if [[ -z $pkg ]]; then
    echo "lib-packages.sh: $lib (needed by $binary) is not from a Debian package" >&2
    status=1
  else
    pkgs+=("$pkg")
  fi
done
((${#pkgs[@]} == 0)) || printf '%s\n' "${pkgs[@]}" | sort -u
exit "$status"
