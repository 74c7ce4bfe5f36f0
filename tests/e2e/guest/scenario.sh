#!/bin/bash
# Runs ONE scenario file inside the VM (called by driver.sh under `timeout`):
# strict mode, the helpers of lib.sh, the backend's optional lib.sh, and a
# trap that names the failing line and command.
# Usage: scenario.sh SCENARIO_FILE
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap 'echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND (rc=$?)" >&2' ERR
backend_lib="$(dirname "$1")/lib.sh"
# shellcheck disable=SC1090
[[ ! -f $backend_lib ]] || source "$backend_lib"
cd /tmp
# shellcheck disable=SC1090
source "$1"
