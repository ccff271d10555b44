#!/usr/bin/env python3
"""Times a teacher's three warm-started stages (rl, valid, test) on ML-100K for
two builds in one run, alternating them seed by seed, and prints each build's
median fit time, their ratio and the test NDCG@10 of every seed (full ranking).
Issue 13 compares item2vec against a build of commit 968b151, the last before
its training loop was made faster:

  git worktree add /tmp/base 968b151 && cmake -S /tmp/base -B /tmp/base/build \\
      -DBUILD_TESTING=OFF && cmake --build /tmp/base/build -j2 --target trd
  bench/compare_teacher.py --baseline /tmp/base/build/apps/trd [--teacher item2vec] \\
      [--threads 1] [-- extra trd teacher flags]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(command):
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout


def three_stages(binary, dataset, folder, teacher, seed, extra):
    """Seconds of the three fits and the test stage's NDCG@10."""
    previous = None
    start = time.monotonic()
    for stage in ("rl", "valid", "test"):
        out = os.path.join(folder, f"{stage}.h5")
        command = [binary, "teacher", "--dataset", dataset, "--teacher", teacher, "--stage", stage,
                   "--seed", str(seed), "--out", out] + extra
        if previous is not None:
            command += ["--init", previous]
        run(command)
        previous = out
    seconds = time.monotonic() - start
    figures = json.loads(run([binary, "eval", "--dataset", dataset, "--knowledge", previous,
                              "--json"]).strip().splitlines()[-1])
    return seconds, figures["ndcg@10"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="trd binary of the older build")
    parser.add_argument("--trd", default="build/apps/trd")
    parser.add_argument("--teacher", default="item2vec")
    parser.add_argument("--input", default="../shared/datasets/ml-100k/u.data")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1,
                        help="--threads of this build (the baseline runs with 1)")
    parser.add_argument("extra", nargs="*", help="flags for both builds' trd teacher")
    args = parser.parse_args()
    if not os.path.isfile(args.input):
        sys.exit(f"{args.input}: ML-100K u.data not found (--input)")
    seeds = [int(s) for s in args.seeds.split(",")]
    builds = {"baseline": (args.baseline, []),
              "this build": (args.trd, ["--threads", str(args.threads)])}
    results = {name: [] for name in builds}
    with tempfile.TemporaryDirectory() as tmp:
        dataset = os.path.join(tmp, "dataset.h5")
        run([args.trd, "data", "--dataset", "ml-100k", "--input", args.input, "--out", dataset])
        for seed in seeds:
            for name, (binary, flags) in builds.items():
                folder = os.path.join(tmp, f"{name.replace(' ', '_')}-{seed}")
                os.makedirs(folder)
                results[name].append(three_stages(binary, dataset, folder, args.teacher, seed,
                                                  flags + args.extra))
                seconds, ndcg = results[name][-1]
                print(f"  seed {seed} {name}: {seconds:.1f} s, test NDCG@10 {ndcg:.4f}", flush=True)
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(r[0] for r in runs)
        ndcgs = [r[1] for r in runs]
        print(f"{name} ({' '.join([builds[name][0]] + builds[name][1])}): three stages median "
              f"{medians[name]:.1f} s of {', '.join(f'{r[0]:.1f}' for r in runs)}; test NDCG@10 "
              f"mean {statistics.mean(ndcgs):.4f} ({' / '.join(f'{v:.4f}' for v in ndcgs)})")
    print(f"speed-up: {medians['baseline'] / medians['this build']:.2f}x")


if __name__ == "__main__":
    main()
