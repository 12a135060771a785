#!/usr/bin/env bash
# The README's test command: installs what is needed, builds everything and runs every test.
# The sandbox tests need root (user, mount and network namespaces, cgroups), as CI has.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KURA_BUILD_DIR:-$root/build}
bash "$root/deploy/build.sh"
cd "$build"
ctest --output-on-failure --timeout 600 -j "${KURA_TEST_JOBS:-2}" "$@"
