#!/usr/bin/env python3
"""The README's student table: `trd run` on ML-100K (default protocol) for
several seeds; prints teacher, student and MostPop test metrics as means over
the seeds, the student's relative gain, and each seed's bootstrap interval of
student - teacher.

Usage: scripts/student_table.py [--trd build/apps/trd] [--seeds 0,1,2]
                                [--out runs/student-table] [-- extra trd run flags]
"""

import argparse
import json
import statistics
import subprocess
import sys


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
          "student - teacher, 95% CI per seed |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for metric in ("precision", "ndcg", "recall", "hr", "map", "mrr"):
        for k in (1, 5, 10, 20):
            key = f"{metric}@{k}"
            mean = {who: statistics.mean(r[who][key] for r in runs)
                    for who in ("teacher", "student", "mostpop")}
            gain = 100.0 * (mean["student"] / mean["teacher"] - 1.0) if mean["teacher"] else 0.0
            intervals = ", ".join(f"[{r['difference'][key]['low']:.4f}, "
                                  f"{r['difference'][key]['high']:.4f}]" for r in runs)
            print(f"| {key} | {mean['teacher']:.4f} | {mean['student']:.4f} | "
                  f"{mean['mostpop']:.4f} | {gain:+.1f}% | {intervals} |")


if __name__ == "__main__":
    main()
