#!/usr/bin/env bash
# The README's main job: installs what is needed, builds kura and runs the demo walk-through.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KURA_BUILD_DIR=${KURA_BUILD_DIR:-$root/build}
bash "$root/deploy/build.sh"
for step in "$root"/deploy/demo/*.sh; do
  [ -e "$step" ] || continue
  bash "$step"
done
