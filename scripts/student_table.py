#!/usr/bin/env python3
"""The README's student table: `trd run` on ML-100K (default protocol) for
several seeds; prints teacher, student and MostPop test metrics as means over
the seeds, the student's relative gain, and a 95% bootstrap interval of
student - teacher pooled over the seeds: each user's difference is averaged
over the seeds, then users are resampled (1000 times, numpy seed 0).

Usage: scripts/student_table.py [--trd build/apps/trd] [--seeds 0,1,2]
                                [--out runs/student-table] [-- extra trd run flags]
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys


def pooled_interval(out, seeds, key):
    """95% percentile bootstrap of the mean over users of student - teacher,
    each user's difference averaged over the seeds' runs."""
    import numpy as np
    differences = None
    for seed in seeds:
        with open(f"{out}/seed-{seed}/eval_per_user.csv") as f:
            rows = list(csv.DictReader(f))
        d = np.array([float(r[f"student:{key}"]) - float(r[f"teacher:{key}"]) for r in rows])
        differences = d if differences is None else differences + d
    differences /= len(seeds)
    rng = np.random.default_rng(0)
    means = [differences[rng.integers(0, len(differences), len(differences))].mean()
             for _ in range(1000)]
    return np.percentile(means, 2.5), np.percentile(means, 97.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trd", default="build/apps/trd")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default="runs/student-table")
    parser.add_argument("extra", nargs="*", help="flags passed to trd run (after --)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    for seed in seeds:
        command = [args.trd, "run", "--out", f"{args.out}/seed-{seed}", "--seed", str(seed),
                   "--json", *args.extra]
        print("running:", " ".join(command), file=sys.stderr)
        proc = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    first = runs[0]
    print(f"{first['agent']} student of {first['teacher_name']}, {first['split']} split, "
          f"{'full ranking' if first['candidates'] == 0 else str(first['candidates']) + ' candidates'}"
          f", mean of seeds {args.seeds}; {first['users']} users "
          f"({first['users_without_history']} without history); "
          f"run time {statistics.median(r['seconds'] for r in runs):.1f} s (median)\n")
    print("| metric | teacher | student | MostPop | student vs teacher | "
          "student - teacher, 95% CI pooled over seeds |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for metric in ("ndcg", "precision", "recall", "hr", "map", "mrr"):
        for k in (1, 5, 10, 20):
            key = f"{metric}@{k}"
            mean = {who: statistics.mean(r[who][key] for r in runs)
                    for who in ("teacher", "student", "mostpop")}
            gain = 100.0 * (mean["student"] / mean["teacher"] - 1.0) if mean["teacher"] else 0.0
            low, high = pooled_interval(args.out, seeds, key)
            print(f"| {key} | {mean['teacher']:.4f} | {mean['student']:.4f} | "
                  f"{mean['mostpop']:.4f} | {gain:+.1f}% | "
                  f"{mean['student'] - mean['teacher']:+.4f} [{low:+.4f}, {high:+.4f}] |")


if __name__ == "__main__":
    main()
