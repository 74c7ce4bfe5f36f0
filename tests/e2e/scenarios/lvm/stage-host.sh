# Host side (run by tests/e2e/run.sh as stage-host.sh BUILD_DIR OUT_DIR):
# builds the interim resize tool holdfast-lvm-resize (LvmBackend::resize)
# for the resize scenarios and puts it in OUT_DIR (/mnt/host/stage/lvm in
# the guest). It links the same libraries as holdfastd, which the image has.
set -euo pipefail
build=$1 out=$2
cmake --build "$build" -j2 --target holdfast-lvm-resize
mkdir -p "$out"
cp "$build/backends/lvm/holdfast-lvm-resize" "$out/"
