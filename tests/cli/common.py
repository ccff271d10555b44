"""Helpers for the command-line tests: run the trd binary, find shared data."""

import json
import os
import subprocess
import sys

TRD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "trd"
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, expect=0):
    """Runs `trd ARGS`; checks the exit code; returns (stdout, stderr)."""
    proc = subprocess.run([TRD, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != expect:
        raise AssertionError(
            f"trd {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc.stdout, proc.stderr


def run_json(*args):
    """Runs `trd ARGS --json` and returns the JSON object on stdout's last line."""
    stdout, _ = run(*args, "--json")
    return json.loads(stdout.strip().splitlines()[-1])


def write(path, text):
    """Writes `text` to `path`; returns the path."""
    with open(path, "w") as f:
        f.write(text)
    return path


def small_pipeline(folder):
    """A synthetic dataset, BPRMF knowledge for rl, valid and test (warm-started,
    lists of 40) and a one-epoch DQN student, in `folder`; returns their paths
    (dataset, rl, valid, test, agent folder)."""
    d = os.path.join(folder, "d.h5")
    rl, valid, test = (os.path.join(folder, f"{s}.h5") for s in ("rl", "valid", "test"))
    agent = os.path.join(folder, "agent")
    run("data", "--dataset", "synthetic", "--synthetic-interactions", "4000", "--out", d)
    teacher = ["teacher", "--dataset", d, "--teacher", "bprmf", "--epochs", "2",
               "--list-length", "40"]
    run(*teacher, "--stage", "rl", "--out", rl)
    run(*teacher, "--stage", "valid", "--init", rl, "--out", valid)
    run(*teacher, "--stage", "test", "--init", valid, "--out", test)
    run("train", "--dataset", d, "--knowledge", rl, "--valid-knowledge", valid,
        "--n-actions", "20", "--epochs", "1", "--out", agent)
    return d, rl, valid, test, agent


def import_or_skip(module, debian_package):
    """The module, or None after saying it is missing (fails under CI=true)."""
    try:
        return __import__(module)
    except ImportError:
        message = f"{module} not importable (Debian package {debian_package})"
        if os.environ.get("CI") == "true":
            raise AssertionError("CI=true and " + message)
        print("SKIPPED: " + message)
        return None


def shared_dataset(relative):
    """Path of a shared dataset file, or None after saying why (fails under CI=true)."""
    dirs = [d for d in [os.environ.get("TRD_DATA_DIR"),
                        os.path.join(SOURCE_DIR, "..", "shared", "datasets")] if d]
    for d in dirs:
        path = os.path.join(d, relative)
        if os.path.isfile(path):
            return path
    message = f"{relative} not found (looked in {', '.join(dirs)})"
    if os.environ.get("CI") == "true":
        raise AssertionError("CI=true and " + message)
    print("SKIPPED: " + message)
    return None
