"""Random policy through trd.VecRecEnv from Python against the same loop in C++.

    PYTHONPATH=build/python python3 bench/python_env.py [--dataset FILE] [--repeat 5]

One env (B = 1024 users, one thread, n_actions 20, H 5, K 10, default slot
features unless --features says otherwise, MostPop lists: the settings of
`trd bench env`) is stepped by a
uniform random valid slot, drawn in numpy (Python row) or by env/policies'
random_policy inside C++ (C++ row), alternately, in one process; the figures
are medians of --repeat runs of --user-steps user-steps each. The dataset is
ML-100K when found (--dataset, $TRD_DATA_DIR or ../shared/datasets, through
`trd data`), else `trd data --dataset synthetic`.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

import trd

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s (%d cores)" % (model, os.cpu_count())


def mostpop_knowledge(dataset, list_length=100):
    """Each user's most popular base-split items it has not met before rl."""
    base = dataset.split("base")
    popularity = np.bincount(base["item"], minlength=dataset.n_items).astype(np.float32)
    order = np.argsort(-popularity, kind="stable")
    seen = [set() for _ in range(dataset.n_users)]
    for user, item in zip(base["user"], base["item"]):
        seen[user].add(item)
    lists = np.full((dataset.n_users, list_length), -1, np.int32)
    scores = np.zeros((dataset.n_users, list_length), np.float32)
    for user in range(dataset.n_users):
        unseen = [i for i in order[:list_length + len(seen[user])] if i not in seen[user]]
        unseen = unseen[:list_length]
        lists[user, :len(unseen)] = unseen
        scores[user, :len(unseen)] = popularity[unseen]
    return trd.Knowledge(teacher="mostpop", stage="rl", ranking_items=lists,
                         ranking_scores=scores, dataset=dataset)


def prepared_dataset(args, folder):
    if args.dataset:
        return trd.read_dataset(args.dataset), args.dataset
    trd_binary = args.trd or os.path.join(SOURCE_DIR, "build", "apps", "trd")
    path = os.path.join(folder, "d.h5")
    for name in ("ml-100k", "synthetic"):
        proc = subprocess.run([trd_binary, "data", "--dataset", name, "--out", path],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            return trd.read_dataset(path), name
    raise SystemExit("python_env: trd data failed: " + proc.stderr.strip())


def python_random_policy(env, steps, rng):
    obs, _ = env.reset(seed=1)
    start = time.perf_counter()
    for _ in range(steps):
        # Valid slots are a prefix of the window (DESIGN.md): a uniform valid
        # slot is a uniform index below their count.
        valid = obs["action_mask"].sum(axis=1, dtype=np.int32)
        actions = (rng.random(env.num_envs) * valid).astype(np.int32)
        obs, *_ = env.step(actions)
    return time.perf_counter() - start


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a trd dataset file (default: ML-100K or synthetic)")
    parser.add_argument("--trd", help="the trd binary (default: build/apps/trd)")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--user-steps", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--features", default="default",
                        help="slot features (none: the env without them, where Python's own "
                             "overhead weighs most)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        dataset, name = prepared_dataset(args, folder)
    knowledge = mostpop_knowledge(dataset)
    env = trd.VecRecEnv(dataset, knowledge, split="rl", num_envs=args.batch, n_actions=20,
                        history_length=5, episode_length=10, features=args.features)
    steps = max(1, args.user_steps // args.batch)
    rng = np.random.default_rng(0)
    python_seconds, cpp_seconds = [], []
    for run in range(args.repeat):
        python_seconds.append(python_random_policy(env, steps, rng))
        env.reset(seed=1)
        cpp_seconds.append(env._core.time_cpp_random_policy(steps, run))
    python_rate = steps * args.batch / float(np.median(python_seconds))
    cpp_rate = steps * args.batch / float(np.median(cpp_seconds))
    print("python_env: %s, B = %d, one thread, n_actions 20, H 5, K 10, %s slot features, "
          "median of %d runs of %d user-steps, on %s"
          % (name, args.batch, args.features, args.repeat, steps * args.batch, machine()))
    print("  C++ random policy:    %6.2f M user-steps/s" % (cpp_rate / 1e6))
    print("  Python random policy: %6.2f M user-steps/s  (%.0f%% of C++)"
          % (python_rate / 1e6, 100 * python_rate / cpp_rate))
    if args.json:
        print(json.dumps({"dataset": name, "batch": args.batch, "machine": machine(),
                          "features": args.features,
                          "cpp_user_steps_per_s": cpp_rate, "python_user_steps_per_s": python_rate,
                          "ratio": python_rate / cpp_rate}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
