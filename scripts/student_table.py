#!/usr/bin/env python3
"""The README's student table: `trd run` on ML-100K (default protocol) for
several seeds; prints the test metrics of the five report lines (teacher,
student, MostPop, history_rerank, window_ceiling) as means over the seeds,
and the student's relative gain over the teacher and over history_rerank with
a 95% bootstrap interval of the difference pooled over the seeds: each user's
difference is averaged over the seeds, then users are resampled (1000 times,
numpy seed 0).

Usage: scripts/student_table.py [--trd build/apps/trd] [--seeds 0,1,2]
                                [--out runs/student-table] [-- extra trd run flags]
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys


def pooled_interval(out, seeds, key, reference):
    """95% percentile bootstrap of the mean over users of student - reference,
    each user's difference averaged over the seeds' runs."""
    import numpy as np
    differences = None
    for seed in seeds:
        with open(f"{out}/seed-{seed}/eval_per_user.csv") as f:
            rows = list(csv.DictReader(f))
        d = np.array([float(r[f"student:{key}"]) - float(r[f"{reference}:{key}"]) for r in rows])
        differences = d if differences is None else differences + d
    differences /= len(seeds)
    rng = np.random.default_rng(0)
    means = [differences[rng.integers(0, len(differences), len(differences))].mean()
             for _ in range(1000)]
    return np.percentile(means, 2.5), np.percentile(means, 97.5)


LINES = ("teacher", "student", "mostpop", "history_rerank", "window_ceiling")


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
    applicable = [line for line in LINES if all(r[line] is not None for r in runs)]
    print(f"lists built with eval feedback '{first['eval_feedback']}'"
          + (" (THEY USED HELD-OUT LABELS)" if first["lists_used_held_out_labels"] else
             " (label-free)") + "; window_ceiling is an upper bound that reads the labels\n")
    references = [r for r in ("teacher", "history_rerank") if r in applicable]
    print("| metric | " + " | ".join(applicable) + " | "
          + " | ".join(f"student vs {r}: gain, difference [95% CI pooled over seeds]"
                       for r in references) + " |")
    print("| --- |" + " ---: |" * len(applicable) + " --- |" * len(references))
    for metric in ("ndcg", "precision", "recall", "hr", "map", "mrr"):
        for k in (1, 5, 10, 20):
            key = f"{metric}@{k}"
            mean = {who: statistics.mean(r[who][key] for r in runs) for who in applicable}
            cells = [f"{mean[who]:.4f}" for who in applicable]
            for reference in references:
                gain = (100.0 * (mean["student"] / mean[reference] - 1.0)
                        if mean[reference] else 0.0)
                low, high = pooled_interval(args.out, seeds, key, reference)
                cells.append(f"{gain:+.1f}%, {mean['student'] - mean[reference]:+.4f} "
                             f"[{low:+.4f}, {high:+.4f}]")
            print(f"| {key} | " + " | ".join(cells) + " |")
    for line in LINES:
        if line not in applicable:
            reason = next(r["not_applicable"][line] for r in runs if r[line] is None)
            print(f"\n{line}: {reason}")


if __name__ == "__main__":
    main()
