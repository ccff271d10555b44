#!/usr/bin/env bash
# Installs what is missing, builds trd, and runs the main job into runs/main:
# ML-100K when its u.data is found (--data-dir, $TRD_DATA_DIR, ./datasets,
# ../shared/datasets), otherwise the built-in synthetic dataset.
# Extra arguments go to `trd data` (e.g. --split global-time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j2
mkdir -p runs/main
build/apps/trd data --dataset auto --out runs/main/dataset.h5 "$@"
build/apps/trd inspect runs/main/dataset.h5
