"""The Python package and the trd binary exchange files both ways: knowledge
written from numpy by trd.write_knowledge is accepted by `trd train` and
`trd eval`; files trd writes read back equal (checked against h5py, a second
client); trd.evaluate gives `trd eval --json`'s figures; bad input raises
trd.InputError with the C++ readers' message and writes nothing.
"""

import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

import trd

TRD = os.path.abspath(sys.argv[1])


def run(*args):
    proc = subprocess.run([TRD, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    return proc.stdout


def run_json(*args):
    return json.loads(run(*args, "--json").strip().splitlines()[-1])


def expect_input_error(call, *phrases):
    try:
        call()
    except trd.InputError as error:
        for phrase in phrases:
            assert phrase in str(error), (phrase, str(error))
        return str(error)
    raise AssertionError("no trd.InputError")


def numpy_knowledge(dataset, stage, seed, dim=8):
    """A 'teacher' made in numpy: random embeddings, lists of the highest dot
    products among the items a user has not met before the stage's split."""
    rng = np.random.default_rng(seed)
    users = rng.standard_normal((dataset.n_users, dim)).astype(np.float32)
    items = rng.standard_normal((dataset.n_items, dim)).astype(np.float32)
    scores = users @ items.T
    order = ["base", "rl", "valid", "test"]
    for split in order[:order.index(stage)]:
        columns = dataset.split(split)
        scores[columns["user"], columns["item"]] = -np.inf
    lists = np.argsort(-scores, axis=1, kind="stable")[:, :60].astype(np.int32)
    list_scores = np.take_along_axis(scores, lists, axis=1).astype(np.float32)
    return dict(teacher="numpy-mf", stage=stage, dataset=dataset, ranking_items=lists,
                ranking_scores=list_scores, user_embeddings=users, item_embeddings=items)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = lambda name: os.path.join(tmp, name)  # noqa: E731
        run("data", "--dataset", "synthetic", "--synthetic-interactions", "6000",
            "--out", path("d.h5"))
        dataset = trd.read_dataset(path("d.h5"))

        # The dataset as h5py reads it, and as views of the C++ object.
        with h5py.File(path("d.h5"), "r") as f:
            assert dataset.n_users == f.attrs["n_users"] and dataset.n_items == f.attrs["n_items"]
            for split in ("base", "rl", "valid", "test"):
                columns = dataset.split(split)
                for column in ("user", "item", "rating", "timestamp"):
                    assert np.array_equal(columns[column], f["splits"][split][column][()]), column
        base = dataset.split("base")
        assert np.shares_memory(base["item"], dataset.split("base")["item"])
        assert dataset.fingerprint == trd.read_dataset(path("d.h5")).fingerprint

        # numpy -> trd.write_knowledge -> trd train and trd eval.
        for stage, seed in (("rl", 1), ("valid", 2), ("test", 3)):
            trd.write_knowledge(path(f"np-{stage}.h5"), **numpy_knowledge(dataset, stage, seed))
        sidecar = run_json("train", "--dataset", path("d.h5"), "--knowledge", path("np-rl.h5"),
                           "--valid-knowledge", path("np-valid.h5"), "--n-actions", "20",
                           "--epochs", "1", "--out", path("agent"))
        assert sidecar["train_knowledge"]["teacher"] == "numpy-mf", sidecar["train_knowledge"]
        from_cli = run_json("eval", "--dataset", path("d.h5"), "--knowledge", path("np-test.h5"))
        from_python = trd.evaluate(path("np-test.h5"), path("d.h5"), split="test")
        for key in ("ndcg@5", "precision@1", "recall@20", "map@10", "mrr@5", "hr@1", "users",
                    "users_with_hit", "users_without_history", "mean_first_hit"):
            assert abs(from_cli[key] - from_python[key]) < 1e-12, (key, from_cli[key],
                                                                   from_python[key])
        # An array of lists scores the same as the knowledge holding them.
        lists = trd.read_knowledge(path("np-test.h5")).ranking_items
        assert trd.evaluate(np.array(lists), dataset)["ndcg@10"] == from_python["ndcg@10"]

        # trd's own knowledge read back equal, and written back by Python as the same arrays.
        run("teacher", "--dataset", path("d.h5"), "--teacher", "bprmf", "--epochs", "2",
            "--stage", "rl", "--list-length", "50", "--out", path("bprmf-rl.h5"))
        knowledge = trd.read_knowledge(path("bprmf-rl.h5"))
        with h5py.File(path("bprmf-rl.h5"), "r") as f:
            assert knowledge.teacher == f.attrs["teacher"] and knowledge.stage == "rl"
            assert knowledge.dataset_fingerprint == f.attrs["dataset_fingerprint"]
            for name, array in (("user_embeddings", knowledge.user_embeddings),
                                ("item_embeddings", knowledge.item_embeddings),
                                ("ranking/items", knowledge.ranking_items),
                                ("ranking/scores", knowledge.ranking_scores)):
                assert np.array_equal(array, f[name][()]), name
        trd.write_knowledge(path("copy.h5"), knowledge)
        copy = trd.read_knowledge(path("copy.h5"))
        for name in ("user_embeddings", "item_embeddings", "ranking_items", "ranking_scores"):
            assert np.array_equal(getattr(copy, name), getattr(knowledge, name)), name
        assert copy.candidates == knowledge.candidates == 0
        run("inspect", path("copy.h5"))
        with_candidates = trd.evaluate(path("bprmf-rl.h5"), dataset, split="rl", candidates=0)
        assert with_candidates["users"] > 0

        # Bad input: the C++ checks, one message, no file left behind.
        bad = numpy_knowledge(dataset, "rl", 4)
        bad["user_embeddings"] = bad["user_embeddings"].copy()
        bad["user_embeddings"][2, 3] = np.nan
        expect_input_error(lambda: trd.write_knowledge(path("nan.h5"), **bad),
                           "/user_embeddings[2, 3] is nan")
        assert not os.path.exists(path("nan.h5"))
        short = numpy_knowledge(dataset, "rl", 5)
        short["ranking_scores"] = short["ranking_scores"][:, :10]
        expect_input_error(lambda: trd.Knowledge(**short), "/ranking/scores", "same as /ranking/items")
        unsorted = numpy_knowledge(dataset, "rl", 6)
        unsorted["ranking_scores"] = unsorted["ranking_scores"][:, ::-1].copy()
        expect_input_error(lambda: trd.Knowledge(**unsorted), "/ranking/scores")
        expect_input_error(lambda: trd.read_knowledge(path("d.h5")), path("d.h5"), "trd-knowledge")
        expect_input_error(lambda: trd.read_dataset(path("missing.h5")), "missing.h5")
        other = trd.Dataset.from_splits({"base": {"user": [0, 1], "item": [1, 0]},
                                         "rl": {"user": [0, 1], "item": [0, 1]}})
        expect_input_error(lambda: trd.VecRecEnv(other, knowledge), "another dataset")
        expect_input_error(lambda: trd.evaluate(lists[:3], dataset), "3 rows")
        expect_input_error(lambda: trd.evaluate(path("np-test.h5"), dataset, candidates=50),
                           "candidates")
        expect_input_error(
            lambda: trd.Dataset.from_splits({"rl": {"user": [0, 0], "item": [1, 2],
                                                    "timestamp": [5, 4]}}),
            "time order")
        expect_input_error(lambda: trd.Dataset.from_splits({"train": {"user": [0], "item": [0]}}),
                           "'train'", "base, rl, valid or test")

        # numpy would truncate or wrap these; the package refuses them.
        wrapped = numpy_knowledge(dataset, "rl", 7)
        wrapped["ranking_items"] = wrapped["ranking_items"].astype(np.int64) + 2**32
        expect_input_error(lambda: trd.Knowledge(**wrapped), "ranking_items", "do not fit int32")
        floats = numpy_knowledge(dataset, "rl", 8)
        floats["ranking_items"] = floats["ranking_items"] + 0.5
        expect_input_error(lambda: trd.Knowledge(**floats), "ranking_items", "expected integers")
        expect_input_error(lambda: trd.write_knowledge(path("neg.h5"), candidates=-5,
                                                       **numpy_knowledge(dataset, "rl", 9)),
                           "candidates = -5")
        assert not os.path.exists(path("neg.h5"))
        expect_input_error(lambda: trd.Dataset.from_splits({"rl": {"user": [0.7, 1.2],
                                                                  "item": [0, 1]}}),
                           "['user']", "expected integers")
        expect_input_error(lambda: trd.Dataset.from_splits({"rl": {"user": [0], "item": [0]}},
                                                           n_users=2**40), "n_users")
        numpy_ids = trd.Dataset.from_splits({"rl": {"user": [0, 1], "item": [0, 1]}},
                                            user_ids=np.array([10, 20]))
        assert numpy_ids.user_ids == [10, 20], numpy_ids.user_ids
        bad_lists = np.array(lists)
        bad_lists[0, 0] = dataset.n_items
        expect_input_error(lambda: trd.evaluate(bad_lists, dataset), "lists[0, 0]", "outside")
        bad_lists[0, 0] = bad_lists[0, 1]
        expect_input_error(lambda: trd.evaluate(bad_lists, dataset), "lists[0, 1]",
                           "repeats item")
        expect_input_error(lambda: trd.evaluate(lists + 0.25, dataset), "expected integers")
        try:
            trd.Knowledge(dataset="d.h5", **{k: v for k, v in numpy_knowledge(dataset, "rl", 1).items()
                                            if k != "dataset"})
        except TypeError as error:
            assert "trd.Dataset" in str(error), str(error)
        else:
            raise AssertionError("a path was taken for a trd.Dataset")

        # A dataset built in Python, written, and read by the binary.
        trd.write_dataset(path("py.h5"), other)
        summary = run_json("inspect", path("py.h5"))
        assert summary["n_users"] == 2 and summary["n_items"] == 2, summary


if __name__ == "__main__":
    main()
    print("ok")
