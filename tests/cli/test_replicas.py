"""Data-parallel training (c10d, Gloo) on loopback: two ranks learn the planted
environment together and hold bit-identical weights after every update; a
process with a taken rank or another group size is refused with exit 2; a
rank that dies makes the other stop with a clear error, not hang.

Usage: test_replicas.py TRD TRD_REPLICA_WORKER"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from common import TRD, run

WORKER = os.path.abspath(sys.argv[2])
TIMEOUT_S = 20  # each process' --rendezvous-timeout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def finish(proc, limit_s):
    """(exit code, stdout, stderr); fails when `proc` outlives `limit_s`."""
    try:
        stdout, stderr = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{proc.args} still running after {limit_s} s")
    return proc.returncode, stdout, stderr


def wait_for_line(proc, phrase, limit_s=60):
    """Reads `proc`'s stderr up to a line containing `phrase`."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        line = proc.stderr.readline()
        if phrase in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"{proc.args}: no line with {phrase!r}")


def planted_pair():
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    ranks = [start([WORKER, str(r), "2", rendezvous, str(TIMEOUT_S)]) for r in (0, 1)]
    results = []
    for proc in ranks:
        code, stdout, stderr = finish(proc, 300)
        assert code == 0, (code, stderr)
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    zero, one = results
    # The same weights give the same Q-values, to the last bit.
    assert zero["q"] == one["q"] and zero["q"], (zero["q"][:80], one["q"][:80])
    assert zero["verified_updates"] == one["verified_updates"] > 100, results
    # The teacher never hits here (precision@1 0); the group finds the slot.
    assert zero["precision_at_1"] >= 0.95 and one["precision_at_1"] >= 0.95, results


def planted_rank_dies():
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    survivor = start([WORKER, "0", "2", rendezvous, str(TIMEOUT_S)])
    doomed = start([WORKER, "1", "2", rendezvous, str(TIMEOUT_S), "2"])
    assert finish(doomed, 120)[0] == 3
    began = time.time()
    code, _, stderr = finish(survivor, TIMEOUT_S + 30)
    assert code == 1, (code, stderr)
    assert "another rank died, stopped or took longer than" in stderr, stderr
    print(f"rank 0 stopped {time.time() - began:.1f} s after rank 1 died")


def cli_group(folder):
    dataset, rl, valid = (os.path.join(folder, f) for f in ("d.h5", "rl.h5", "valid.h5"))
    run("data", "--dataset", "synthetic", "--synthetic-interactions", "20000",
        "--synthetic-users", "300", "--synthetic-items", "400", "--out", dataset)
    for stage, out in (("rl", rl), ("valid", valid)):
        run("teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", stage,
            "--epochs", "3", "--out", out)
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    out = os.path.join(folder, "group")
    elsewhere = os.path.join(folder, "rank1-out")

    def train(rank, world, epochs, out_dir, *extra):
        return [TRD, "train", "--dataset", dataset, "--knowledge", rl, "--valid-knowledge",
                valid, "--epochs", str(epochs), "--world-size", str(world), "--rank", str(rank),
                "--rendezvous", rendezvous, "--rendezvous-timeout", str(TIMEOUT_S),
                "--out", out_dir, *extra]

    # Flags alone: refused before anything is read.
    for rank, world, phrase in ((2, 2, "--rank 2 is outside [0, 2)"),
                                (-1, 2, "--rank -1"), (0, 0, "--world-size 0")):
        _, stderr = run(*train(rank, world, 1, elsewhere)[1:], expect=2)
        assert phrase in stderr, stderr
    _, stderr = run("train", "--dataset", dataset, "--knowledge", rl, "--valid-knowledge", valid,
                    "--world-size", "2", "--rendezvous", "udp://x", "--out", elsewhere,
                    expect=2)
    assert "tcp://HOST:PORT" in stderr, stderr

    ranks = [start(train(0, 2, 12, out, "--verify-replicas", "1")),
             start(train(1, 2, 12, elsewhere, "--verify-replicas", "1"))]
    for proc in ranks:
        wait_for_line(proc, "joined " + rendezvous)
    # While the group trains: a second rank 1, and a process that thinks the
    # group has 3 ranks.
    for rank, world, phrase in ((1, 2, "rank 1 has already joined this group"),
                                (2, 3, "started with --world-size 3, but rank 0 started a group "
                                       "of 2")):
        code, _, stderr = finish(start(train(rank, world, 1, elsewhere)), 60)
        assert code == 2, (code, stderr)
        assert phrase in stderr.strip().splitlines()[-1], stderr
    outputs = [finish(proc, 300) for proc in ranks]
    for code, _, stderr in outputs:
        assert code == 0, (code, stderr)
    assert "ranks held bit-identical weights after each of" in outputs[0][2], outputs[0][2]
    with open(os.path.join(out, "agent.json")) as f:
        sidecar = json.load(f)
    assert sidecar["training"]["world_size"] == 2, sidecar["training"]
    assert sorted(os.listdir(out)) == ["agent.json", "agent.pt", "train.csv"], os.listdir(out)
    assert not os.path.exists(elsewhere), "rank 1 wrote outputs"

    # A rank killed mid-training: the other stops with an error.
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    out = os.path.join(folder, "killed")
    ranks = [start(train(0, 2, 200, out)), start(train(1, 2, 200, elsewhere))]
    for proc in ranks:
        wait_for_line(proc, "joined " + rendezvous)
    time.sleep(1)
    ranks[1].send_signal(signal.SIGKILL)
    finish(ranks[1], 30)
    code, _, stderr = finish(ranks[0], TIMEOUT_S + 30)
    assert code == 1, (code, stderr)
    assert "another rank died" in stderr.strip().splitlines()[-1], stderr


def main():
    planted_pair()
    planted_rank_dies()
    with tempfile.TemporaryDirectory() as folder:
        cli_group(folder)
    print("replicas: ok")


if __name__ == "__main__":
    main()
