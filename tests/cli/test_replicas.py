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


class Process:
    """A process whose stdout and stderr go to files, so that nothing blocks
    on a full pipe and stderr can be read while it runs."""

    def __init__(self, args, folder):
        self.args = args
        self.out = tempfile.NamedTemporaryFile("w+", dir=folder, suffix=".out", delete=False)
        self.err = tempfile.NamedTemporaryFile("w+", dir=folder, suffix=".err", delete=False)
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err, text=True,
                                     stdin=subprocess.DEVNULL)

    def stderr(self):
        with open(self.err.name) as f:
            return f.read()

    def finish(self, limit_s):
        """(exit code, stdout, stderr); fails when the process outlives `limit_s`."""
        try:
            self.proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.args} still running after {limit_s} s")
        with open(self.out.name) as f:
            return self.proc.returncode, f.read(), self.stderr()

    def wait_for(self, phrase, limit_s=120):
        """Returns once stderr holds `phrase`; fails after `limit_s` or at exit."""
        deadline = time.time() + limit_s
        while time.time() < deadline:
            if phrase in self.stderr():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.args}: no {phrase!r} in stderr:\n{self.stderr()}")


def planted_pair(folder):
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    ranks = [Process([WORKER, str(r), "2", rendezvous, str(TIMEOUT_S)], folder) for r in (0, 1)]
    results = []
    for proc in ranks:
        code, stdout, stderr = proc.finish(300)
        assert code == 0, (code, stderr)
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    zero, one = results
    # The same weights give the same Q-values, to the last bit.
    assert zero["q"] == one["q"] and zero["q"], (zero["q"][:80], one["q"][:80])
    assert zero["verified_updates"] == one["verified_updates"] > 100, results
    # The teacher never hits here (precision@1 0); the group finds the slot.
    assert zero["precision_at_1"] >= 0.95 and one["precision_at_1"] >= 0.95, results


def planted_rank_dies(folder):
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    survivor = Process([WORKER, "0", "2", rendezvous, str(TIMEOUT_S)], folder)
    doomed = Process([WORKER, "1", "2", rendezvous, str(TIMEOUT_S), "2"], folder)
    assert doomed.finish(120)[0] == 3
    began = time.time()
    code, _, stderr = survivor.finish(TIMEOUT_S + 30)
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
    mostpop_rl, mostpop_valid = (os.path.join(folder, f"mostpop-{s}.h5") for s in ("rl", "valid"))
    run("teacher", "--dataset", dataset, "--teacher", "mostpop", "--stage", "rl",
        "--out", mostpop_rl)
    run("teacher", "--dataset", dataset, "--teacher", "mostpop", "--stage", "valid",
        "--out", mostpop_valid)
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    out = os.path.join(folder, "group")
    elsewhere = os.path.join(folder, "rank1-out")

    def train(rank, world, epochs, out_dir, *extra, knowledge=(rl, valid), timeout_s=TIMEOUT_S):
        return [TRD, "train", "--dataset", dataset, "--knowledge", knowledge[0],
                "--valid-knowledge", knowledge[1], "--epochs", str(epochs), "--world-size",
                str(world), "--rank", str(rank), "--rendezvous", rendezvous,
                "--rendezvous-timeout", str(timeout_s), "--out", out_dir, *extra]

    # Flags alone: refused before anything is read.
    for rank, world, phrase in ((2, 2, "--rank 2 is outside [0, 2)"),
                                (-1, 2, "--rank -1"), (0, 0, "--world-size 0")):
        _, stderr = run(*train(rank, world, 1, elsewhere)[1:], expect=2)
        assert phrase in stderr, stderr
    _, stderr = run("train", "--dataset", dataset, "--knowledge", rl, "--valid-knowledge", valid,
                    "--world-size", "2", "--rendezvous", "udp://x", "--out", elsewhere,
                    expect=2)
    assert "tcp://HOST:PORT" in stderr, stderr

    # Two ranks train together, checking their weights after every update:
    # DQN on BPRMF's knowledge, and DDPG on MostPop's, which has no embeddings
    # (the ranks' frozen tables must still be one).
    for agent, knowledge in (("dqn", (rl, valid)), ("ddpg", (mostpop_rl, mostpop_valid))):
        rendezvous = f"tcp://127.0.0.1:{free_port()}"
        out = os.path.join(folder, agent)
        ranks = [Process(train(rank, 2, 4, (out, elsewhere)[rank], "--agent", agent,
                               "--verify-replicas", "1", knowledge=knowledge), folder)
                 for rank in (0, 1)]
        outputs = [proc.finish(300) for proc in ranks]
        for code, _, stderr in outputs:
            assert code == 0, (agent, code, stderr)
        assert "ranks held bit-identical weights after each of" in outputs[0][2], outputs[0][2]
        with open(os.path.join(out, "agent.json")) as f:
            sidecar = json.load(f)
        assert sidecar["training"]["world_size"] == 2 and sidecar["agent"] == agent, sidecar
        assert sorted(os.listdir(out)) == ["agent.json", "agent.pt", "train.csv"], os.listdir(out)
        assert not os.path.exists(elsewhere), "rank 1 wrote outputs"

    # The same through a file; a file an earlier, killed group left behind
    # is refused.
    store = os.path.join(folder, "store")
    rendezvous = "file://" + store
    ranks = [Process(train(rank, 2, 2, (os.path.join(folder, "file"), elsewhere)[rank]), folder)
             for rank in (0, 1)]
    for proc in ranks:
        code, _, stderr = proc.finish(300)
        assert code == 0, (code, stderr)
    lone = Process(train(0, 2, 2, os.path.join(folder, "lone")), folder)
    deadline = time.time() + 60
    while not (os.path.exists(store) and os.path.getsize(store) > 0) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    lone.proc.send_signal(signal.SIGKILL)
    lone.finish(30)
    code, _, stderr = Process(train(0, 2, 2, os.path.join(folder, "stale")), folder).finish(60)
    assert code == 2 and "holds an earlier group's keys" in stderr, (code, stderr)

    # A rank started with other flags than rank 0's is refused, naming the
    # flag; rank 0 gives up on the group after its timeout. (Rank 1 starts
    # first: it waits for rank 0 for up to its own timeout.)
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    unequal = Process(train(1, 2, 5, elsewhere), folder)
    zero = Process(train(0, 2, 4, os.path.join(folder, "unequal"), timeout_s=3), folder)
    code, _, stderr = unequal.finish(60)
    assert code == 2, (code, stderr)
    assert "has /training/epochs = 5, rank 0 has 4" in stderr.strip().splitlines()[-1], stderr
    code, _, stderr = zero.finish(60)
    assert code == 1 and "did not form within 3 s" in stderr, (code, stderr)

    # While a group trains: a second rank 1, and a process that thinks the
    # group has 3 ranks, are refused; then a rank killed mid-training stops
    # the other with an error.
    rendezvous = f"tcp://127.0.0.1:{free_port()}"
    ranks = [Process(train(0, 2, 200, os.path.join(folder, "killed")), folder),
             Process(train(1, 2, 200, elsewhere), folder)]
    for proc in ranks:
        proc.wait_for("joined " + rendezvous)
    for rank, world, phrase in ((1, 2, "rank 1 has already joined this group"),
                                (2, 3, "started with --world-size 3, but rank 0 started a group "
                                       "of 2")):
        code, _, stderr = Process(train(rank, world, 200, elsewhere), folder).finish(60)
        assert code == 2, (code, stderr)
        assert phrase in stderr.strip().splitlines()[-1], stderr
    assert ranks[0].proc.poll() is None and ranks[1].proc.poll() is None, "the group stopped"
    ranks[1].proc.send_signal(signal.SIGKILL)
    ranks[1].finish(30)
    code, _, stderr = ranks[0].finish(TIMEOUT_S + 30)
    assert code == 1, (code, stderr)
    assert "another rank died" in stderr.strip().splitlines()[-1], stderr


def main():
    with tempfile.TemporaryDirectory() as folder:
        planted_pair(folder)
        planted_rank_dies(folder)
        cli_group(folder)
    print("replicas: ok")


if __name__ == "__main__":
    main()
