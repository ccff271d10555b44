#!/usr/bin/env bash
# Installs what is missing, builds trd with its tests, and runs every test.
#   scripts/test.sh             the whole suite (build/)
#   scripts/test.sh --sanitize  the tests that do not link LibTorch, built with
#                               AddressSanitizer and UndefinedBehaviorSanitizer
#                               (build-sanitize/)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ "${1:-}" == "--sanitize" ]]; then
  start=$SECONDS
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON \
    -DTRD_SANITIZE=ON
  cmake --build build-sanitize -j2 --target trd_tests
  # One process runs every test case, so the sanitizers see them all; any
  # report fails the run.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-sanitize/tests/trd_tests
  echo "test.sh --sanitize: passed in $((SECONDS - start)) s"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "usage: scripts/test.sh [--sanitize]" >&2
  exit 2
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
