"""The student commands end to end on the synthetic dataset: trd run's JSON
and files (the refined lists read back with h5py), and bad input to trd
train / eval / run: exit 2 with one precise line and no partial output."""

import csv
import os
import tempfile

import h5py
import numpy as np

from common import run, run_json


def expect_bad_input(args, *phrases):
    _, stderr = run(*args, expect=2)
    lines = stderr.strip().splitlines()
    assert len(lines) >= 1, "no error line"
    last = lines[-1]
    for phrase in phrases:
        assert phrase in last, f"{phrase!r} not in {last!r}"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        synthetic = ["--dataset", "synthetic", "--synthetic-interactions", "20000",
                     "--synthetic-users", "300", "--synthetic-items", "400"]
        figures = run_json("run", *synthetic, "--out", out, "--epochs", "2",
                           "--teacher-epochs", "5")
        for who in ("teacher", "student", "mostpop"):
            for key in ("ndcg@5", "precision@1", "ndcg@10"):
                assert 0.0 <= figures[who][key] <= 1.0, (who, key, figures[who])
        assert figures["difference"]["ndcg@5"]["low"] <= figures["difference"]["ndcg@5"]["high"]

        sidecar = run_json("inspect", os.path.join(out, "agent"))
        assert sidecar["agent"] == "dqn" and sidecar["train_knowledge"]["stage"] == "rl"
        assert sidecar["settings"]["hidden"] == 16 and sidecar["env"]["n_actions"] == 50
        assert sidecar["env"]["features"].split(",")[:3] == [
            "teacher_score", "teacher_rank", "history_similarity"], sidecar["env"]

        dataset = os.path.join(out, "dataset.h5")
        with h5py.File(os.path.join(out, "recommendations.h5"), "r") as f:
            items = f["ranking/items"][:]
            teacher = h5py.File(os.path.join(out, "bprmf-test.h5"), "r")["ranking/items"][:]
            # The student re-orders the head of the teacher's list: same items
            # in the first K + window (10 + 50) positions, as a set, for every user.
            for u in range(items.shape[0]):
                assert set(items[u, :10]) <= set(teacher[u, :60]), u
            assert np.array_equal(np.sort(items, axis=1), np.sort(teacher, axis=1))
        with open(os.path.join(out, "recommendations.csv")) as f:
            rows = list(csv.DictReader(f))
        assert rows[0]["rank"] == "1" and len(rows) == 20 * items.shape[0]

        # The fixed-teacher protocol: the test lists come from the model fit on
        # base alone (the rl stage's embeddings), yet skip what users met since.
        fixed = os.path.join(tmp, "fixed-test.h5")
        run("teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "test",
            "--fit-on", "rl", "--epochs", "5", "--out", fixed)
        run("teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "rl",
            "--epochs", "5", "--out", os.path.join(tmp, "fixed-rl.h5"))
        with h5py.File(fixed, "r") as f, h5py.File(os.path.join(tmp, "fixed-rl.h5"), "r") as g:
            assert np.array_equal(f["user_embeddings"][:], g["user_embeddings"][:])
            assert f.attrs["stage"] == "test"
            assert not np.array_equal(f["ranking/items"][:], g["ranking/items"][:])
        expect_bad_input(["teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "rl",
                          "--fit-on", "test", "--out", os.path.join(tmp, "late.h5")],
                         "--fit-on test")

        # A knowledge file for another dataset.
        other = os.path.join(tmp, "other")
        run("data", "--dataset", "synthetic", "--synthetic-interactions", "5000",
            "--out", os.path.join(tmp, "other.h5"))
        run("teacher", "--dataset", os.path.join(tmp, "other.h5"), "--teacher", "mostpop",
            "--out", os.path.join(tmp, "other-rl.h5"))
        expect_bad_input(["train", "--dataset", dataset, "--knowledge",
                          os.path.join(tmp, "other-rl.h5"), "--valid-knowledge",
                          os.path.join(out, "bprmf-valid.h5"), "--out", other],
                         "other-rl.h5", "another dataset")
        assert not os.path.exists(other)

        # An agent name that does not exist.
        expect_bad_input(["train", "--dataset", dataset, "--knowledge",
                          os.path.join(out, "bprmf-rl.h5"), "--valid-knowledge",
                          os.path.join(out, "bprmf-valid.h5"), "--out", other,
                          "--agent", "sarsa"], "'sarsa'", "unknown agent")

        # A checkpoint for another embedding width.
        wide = os.path.join(tmp, "bprmf-test-64.h5")
        run("teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "test",
            "--dim", "64", "--epochs", "2", "--out", wide)
        expect_bad_input(["eval", "--dataset", dataset, "--knowledge", wide,
                          "--agent", os.path.join(out, "agent"), "--out", other],
                         "bprmf-test-64.h5", "width 64", "width 32")
        assert not os.path.exists(other)

        # trd run rejects an unknown agent before it writes anything.
        expect_bad_input(["run", *synthetic, "--out", other, "--agent", "sarsa"], "unknown agent")
        assert not os.path.exists(other)

        # DESIGN.md's literal DQN input stays one flag set away, and the
        # evaluation rebuilds the env with the feature set the student trained on.
        literal = os.path.join(tmp, "literal")
        run("train", "--dataset", dataset, "--knowledge", os.path.join(out, "bprmf-rl.h5"),
            "--valid-knowledge", os.path.join(out, "bprmf-valid.h5"), "--out", literal,
            "--epochs", "1", "--features", "teacher_score,teacher_rank",
            "--state-embeddings", "1", "--slot-embeddings", "1")
        literal_sidecar = run_json("inspect", literal)
        assert literal_sidecar["env"]["features"] == "teacher_score,teacher_rank"
        assert literal_sidecar["settings"]["slot_embeddings"] is True
        report = run_json("eval", "--dataset", dataset, "--knowledge",
                          os.path.join(out, "bprmf-test.h5"), "--agent", literal)
        assert 0.0 <= report["student"]["ndcg@5"] <= 1.0

        # The same seed gives the same report; another seed another student.
        again = run_json("run", *synthetic, "--out", os.path.join(tmp, "again"), "--epochs", "2",
                         "--teacher-epochs", "5")
        assert again["student"] == figures["student"], (again["student"], figures["student"])
        assert again["teacher"] == figures["teacher"]

        # An rl split that is empty for every user.
        empty = os.path.join(tmp, "empty.h5")
        run("data", *synthetic, "--ratios", "0.7,0,0.1,0.2", "--out", empty)
        run("teacher", "--dataset", empty, "--teacher", "mostpop", "--stage", "rl",
            "--out", os.path.join(tmp, "empty-rl.h5"))
        run("teacher", "--dataset", empty, "--teacher", "mostpop", "--stage", "valid",
            "--out", os.path.join(tmp, "empty-valid.h5"))
        expect_bad_input(["train", "--dataset", empty, "--knowledge",
                          os.path.join(tmp, "empty-rl.h5"), "--valid-knowledge",
                          os.path.join(tmp, "empty-valid.h5"), "--out", other],
                         "empty.h5", "rl split is empty")
        assert not os.path.exists(other)
    print("ok")


if __name__ == "__main__":
    main()
