#!/usr/bin/env bash
# Installs what is missing, builds trd, and runs the main job into runs/main:
# ML-100K when its u.data is found (--data-dir, $TRD_DATA_DIR, ./datasets,
# ../shared/datasets), otherwise the built-in synthetic dataset. The job
# prepares the dataset, fits BPRMF through the three stages (warm-started) and
# MostPop for the test stage, and evaluates BPRMF against MostPop on the test
# split. Extra arguments go to `trd data` (e.g. --split global-time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j2
trd=build/apps/trd
out=runs/main
mkdir -p "$out"
$trd data --dataset auto --out "$out/dataset.h5" "$@"
$trd inspect "$out/dataset.h5"
previous=()
for stage in rl valid test; do
  $trd teacher --dataset "$out/dataset.h5" --teacher bprmf --stage "$stage" "${previous[@]}" \
    --out "$out/bprmf-$stage.h5"
  previous=(--init "$out/bprmf-$stage.h5")
done
$trd teacher --dataset "$out/dataset.h5" --teacher mostpop --stage test --out "$out/mostpop-test.h5"
$trd eval --dataset "$out/dataset.h5" --knowledge "$out/bprmf-test.h5" \
  --compare "$out/mostpop-test.h5" --csv "$out/eval.csv"
