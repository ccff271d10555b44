#!/usr/bin/env python3
r"""Times `trd run` on ML-100K for several builds in one run, alternating them, and
prints the medians, their ratio and each build's test NDCG@5 (student and
teacher). Issue 13 compares against a build of commit 3b291ed:

  git worktree add /tmp/base 3b291ed && cmake -S /tmp/base -B /tmp/base/build \
      -DBUILD_TESTING=OFF && cmake --build /tmp/base/build -j2 --target trd
  bench/compare_trd_run.py --baseline /tmp/base/build/apps/trd [--baseline OTHER/trd]
      [--trd build/apps/trd] [--also "--patience 3"]

--also times this build a second time with those flags added (repeatable).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed_run(binary, flags, u_data, out):
    start = time.monotonic()
    proc = subprocess.run([binary, "run", "--dataset", "ml-100k", "--input", u_data,
                           "--out", out, "--json", *flags], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{binary} run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    return seconds, figures["student"]["ndcg@5"], figures["teacher"]["ndcg@5"]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, action="append",
                        help="trd binary of an older build (repeat for several; the first is "
                             "the one the speed-up is against)")
    parser.add_argument("--trd", default="build/apps/trd", help="trd binary of this build")
    parser.add_argument("--input", default="../shared/datasets/ml-100k/u.data",
                        help="ML-100K's u.data")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each build; the medians are compared")
    parser.add_argument("--also", action="append", default=[],
                        help="flags of another run of this build, as one string")
    args = parser.parse_args()
    if not os.path.isfile(args.input):
        sys.exit(f"{args.input}: ML-100K u.data not found (--input)")
    builds = {f"baseline {i + 1}": (binary, []) for i, binary in enumerate(args.baseline)}
    builds["this build"] = (args.trd, [])
    for flags in args.also:
        builds[f"this build {flags}"] = (args.trd, flags.split())
    results = {name: [] for name in builds}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            for number, (name, (binary, flags)) in enumerate(builds.items()):
                out = os.path.join(tmp, f"build{number}-{run}")
                results[name].append(timed_run(binary, flags, args.input, out))
                print(f"  run {run + 1} {name}: {results[name][-1][0]:.1f} s", flush=True)
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(r[0] for r in runs)
        print(f"{name} ({builds[name][0]}): median {medians[name]:.1f} s of "
              f"{', '.join(f'{r[0]:.1f}' for r in runs)}; test NDCG@5 student {runs[0][1]:.4f}, "
              f"teacher {runs[0][2]:.4f}")
    for baseline in (name for name in builds if name.startswith("baseline")):
        for name in (name for name in builds if name.startswith("this build")):
            print(f"{name} against {baseline}: {medians[baseline] / medians[name]:.2f}x")


if __name__ == "__main__":
    main()
