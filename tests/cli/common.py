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
