#!/usr/bin/env bash
# Installs what is missing, builds trd, and runs the main job into runs/main:
# the whole pipeline (trd run) on ML-100K when its u.data is found
# (--data-dir, $TRD_DATA_DIR, ./datasets, ../shared/datasets), otherwise on
# the built-in synthetic dataset: dataset -> BPRMF teacher for the rl, valid
# and test stages (warm-started) -> DQN student -> the test report of teacher
# vs student vs MostPop (runs/main/eval.md). Extra arguments go to `trd run`
# (e.g. --split global-time --candidates 1000, or --agent random).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j2
build/apps/trd run --out runs/main "$@"
