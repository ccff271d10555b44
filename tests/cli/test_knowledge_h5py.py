"""Knowledge files cross the tool boundary both ways: h5py reads what `trd
teacher` wrote, and trd validates, summarises and evaluates a file h5py wrote
from plain numpy arrays. Bad knowledge is exit 2 with a precise message."""

import filecmp
import os
import tempfile

import h5py
import numpy as np

from common import run, run_json
from test_bad_input import expect_bad_input


def seen_items(dataset_path, stage_splits):
    with h5py.File(dataset_path, "r") as f:
        n_users = int(f.attrs["n_users"])
        seen = [set() for _ in range(n_users)]
        for name in stage_splits:
            split = f["splits"][name]
            for u, i in zip(split["user"][()], split["item"][()]):
                seen[u].add(int(i))
    return seen


def check_trd_written(path, dataset_path, report):
    with h5py.File(path, "r") as f:
        attrs = f.attrs
        assert attrs["format"] == "trd-knowledge" and attrs["version"] == 1
        assert (attrs["teacher"], attrs["stage"]) == ("bprmf", "rl")
        n_users, n_items, dim = int(attrs["n_users"]), int(attrs["n_items"]), int(attrs["dim"])
        users, items = f["user_embeddings"], f["item_embeddings"]
        assert users.dtype == np.float32 and users.shape == (n_users, dim)
        assert items.dtype == np.float32 and items.shape == (n_items, dim)
        lists, scores = f["ranking/items"][()], f["ranking/scores"][()]
        assert lists.dtype == np.int32 and scores.dtype == np.float32
        assert lists.shape == scores.shape == (n_users, 25)
        # The scores are the embeddings' dot products, sorted best first.
        real = lists >= 0
        dots = np.einsum("ud,uld->ul", users[()], items[()][np.where(real, lists, 0)])
        assert np.allclose(dots[real], scores[real], rtol=1e-4, atol=1e-5)
        assert np.all(np.diff(np.where(real, scores, -np.inf), axis=1)[real[:, 1:]] <= 0)
        seen = seen_items(dataset_path, ["base"])
        for u in range(n_users):
            assert not (set(lists[u][lists[u] >= 0].tolist()) & seen[u]), f"user {u} sees a seen item"
        assert report["ranking"]["item_sum"] == int(lists[real].sum())
        assert abs(report["user_embeddings_sum"] - float(users[()].astype(np.float64).sum())) < 1e-3


def write_foreign(path, dataset_path, n_users, n_items, dim=6, nan=False, extra_items=0):
    """A knowledge file made with numpy and h5py alone, as another tool would."""
    rng = np.random.default_rng(1)
    users = rng.normal(size=(n_users, dim)).astype(np.float32)
    items = rng.normal(size=(n_items + extra_items, dim)).astype(np.float32)
    scores = users @ items.T
    for u, seen in enumerate(seen_items(dataset_path, ["base"])):
        scores[u, list(seen)] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :50].astype(np.int32)
    if nan:
        users[2, 3] = np.nan
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": "trd-knowledge", "version": 1, "teacher": "numpy-mf",
                        "dataset": "synthetic", "stage": "rl", "n_users": n_users,
                        "n_items": n_items + extra_items, "dim": dim})
        f["user_embeddings"] = users
        f["item_embeddings"] = items
        f["ranking/items"] = order
        f["ranking/scores"] = np.take_along_axis(scores, order, axis=1).astype(np.float32)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        dataset = os.path.join(tmp, "dataset.h5")
        made = run_json("data", "--dataset", "synthetic", "--synthetic-interactions", "4000",
                        "--synthetic-users", "50", "--out", dataset)
        n_users, n_items = made["n_users"], made["n_items"]

        knowledge = os.path.join(tmp, "bprmf-rl.h5")
        teach = ["teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "rl",
                 "--epochs", "3", "--dim", "8", "--list-length", "25", "--seed", "4"]
        run(*teach, "--out", knowledge)
        check_trd_written(knowledge, dataset, run_json("inspect", knowledge))
        again = os.path.join(tmp, "bprmf-rl-again.h5")
        run(*teach, "--out", again)
        assert filecmp.cmp(knowledge, again, shallow=False), "same seed, different bytes"

        foreign = os.path.join(tmp, "foreign.h5")
        write_foreign(foreign, dataset, n_users, n_items)
        report = run_json("inspect", foreign)
        assert (report["teacher"], report["n_users"], report["list_length"]) == ("numpy-mf", n_users, 50)
        assert report["dim"] == 6 and report["embeddings"] is True
        csv_path = os.path.join(tmp, "eval.csv")
        evaluation = run_json("eval", "--dataset", dataset, "--knowledge", foreign, "--split", "rl",
                              "--compare", knowledge, "--csv", csv_path)
        assert 0 <= evaluation["ndcg@10"] <= 1 and evaluation["users"] == n_users
        with open(csv_path) as f:
            rows = [line.strip().split(",") for line in f][1:]
        assert len(rows) == 6 * 4, rows
        by_key = {f"{r[0]}@{r[1]}": r for r in rows}
        assert abs(float(by_key["ndcg@10"][2]) - evaluation["ndcg@10"]) < 1e-9
        interval = evaluation["compare"]["ndcg@10"]
        assert interval["low"] <= interval["difference"] <= interval["high"]

        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        nan_file = os.path.join(tmp, "nan.h5")
        write_foreign(nan_file, dataset, n_users, n_items, nan=True)
        expect_bad_input(["inspect", nan_file], out_dir, nan_file, "/user_embeddings[2, 3] is nan")
        bigger = os.path.join(tmp, "bigger.h5")
        write_foreign(bigger, dataset, n_users, n_items, extra_items=5)
        expect_bad_input(["eval", "--dataset", dataset, "--knowledge", bigger], out_dir, bigger,
                         f"{n_items + 5} items", "another dataset")
        expect_bad_input(["eval", "--dataset", dataset, "--knowledge", foreign, "--split", "rl",
                          "--k", "5,60"],
                         out_dir, foreign, "k = 60", "L = 50")
        out = os.path.join(out_dir, "k.h5")
        expect_bad_input(["teacher", "--dataset", dataset, "--teacher", "svd++", "--out", out],
                         out_dir, "svd++", "bprmf")
        expect_bad_input(["teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "valid",
                          "--init", foreign, "--out", out], out_dir, foreign, "numpy-mf")
        expect_bad_input(["teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "rl",
                          "--init", knowledge, "--out", out], out_dir, knowledge, "earlier stage")


if __name__ == "__main__":
    main()
    print("ok")
