#!/usr/bin/env bash
# Configures and builds kura into build/ (or $KURA_BUILD_DIR) with CMake and Ninja.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KURA_BUILD_DIR:-$root/build}
bash "$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${KURA_BUILD_TYPE:-RelWithDebInfo} >/dev/null
# Two cores and gRPC-heavy translation units: more jobs than cores only thrashes memory.
ninja -C "$build" -j "${KURA_JOBS:-$(nproc)}"
