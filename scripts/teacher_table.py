#!/usr/bin/env python3
"""Fits all six teachers on ML-100K under both protocols and prints the README's
teacher table (Markdown). Rerun: scripts/teacher_table.py [--trd build/apps/trd]
[--data-dir DIR] [--out runs/teachers].

Default protocol: per-user time split, BPRMF-style warm start through the
stages (rl -> valid -> test), full ranking over unseen items.
Original TRD protocol: global time split, candidates = held-out + uniform
negatives up to 1000 (the teacher ranks only those)."""

import argparse
import json
import os
import subprocess
import sys
import time

TEACHERS = ["mostpop", "itemknn", "puresvd", "bprmf", "item2vec", "neumf"]
COLUMNS = ["precision@1", "precision@5", "ndcg@5", "ndcg@10", "hr@10", "recall@20", "mrr@10"]


def trd(binary, *args):
    proc = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"trd {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def protocol(binary, out, data_args, candidates, seed):
    os.makedirs(out, exist_ok=True)
    dataset = os.path.join(out, "dataset.h5")
    trd(binary, "data", "--dataset", "ml-100k", *data_args, "--out", dataset)
    rows = {}
    for teacher in TEACHERS:
        start = time.monotonic()
        previous = None
        for stage in ["rl", "valid", "test"]:
            knowledge = os.path.join(out, f"{teacher}-{stage}.h5")
            args = ["teacher", "--dataset", dataset, "--teacher", teacher, "--stage", stage,
                    "--seed", str(seed), "--out", knowledge]
            if previous:
                args += ["--init", previous]
            if candidates and stage == "test":
                args += ["--candidates", str(candidates)]
            trd(binary, *args)
            previous = knowledge
        seconds = time.monotonic() - start
        args = ["eval", "--dataset", dataset, "--knowledge", previous, "--seed", str(seed)]
        if candidates:
            args += ["--candidates", str(candidates)]
        rows[teacher] = (trd(binary, *args), seconds)
        print(f"  {teacher}: ndcg@10 {rows[teacher][0]['ndcg@10']:.4f} ({seconds:.1f} s)",
              file=sys.stderr)
    return rows


def table(title, rows):
    lines = [f"**{title}**", "",
             "| teacher | " + " | ".join(COLUMNS) + " | users (no history) | fit, 3 stages |",
             "| --- | " + " | ".join("---:" for _ in COLUMNS) + " | ---: | ---: |"]
    for teacher, (figures, seconds) in rows.items():
        cells = [f"{figures[c]:.4f}" for c in COLUMNS]
        lines.append(f"| {teacher} | " + " | ".join(cells) +
                     f" | {figures['users']} ({figures['users_without_history']}) | {seconds:.1f} s |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trd", default="build/apps/trd")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--out", default="runs/teachers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data_args = ["--data-dir", args.data_dir] if args.data_dir else []
    print("default protocol", file=sys.stderr)
    default = protocol(args.trd, os.path.join(args.out, "user-time"), data_args, 0, args.seed)
    print("original TRD protocol", file=sys.stderr)
    original = protocol(args.trd, os.path.join(args.out, "global-time"),
                        data_args + ["--split", "global-time"], 1000, args.seed)
    print(table("Default protocol: per-user time split, warm-started teachers, full ranking "
                "(test split)", default))
    print()
    print(table("Original TRD protocol: global time split, 1000 candidates (test split)", original))


if __name__ == "__main__":
    main()
