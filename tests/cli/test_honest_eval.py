"""Honest evaluation from the command line, on the synthetic dataset: the five
report lines in trd run's JSON and files, trd recommend's lists equal to trd
eval --agent's recommendations.csv, the label-using option saying so, the
protocol attributes and ItemKNN's neighbours read back with h5py, and every
protocol mismatch refused with exit 2 and one line naming file and attribute."""

import csv
import os
import tempfile

import h5py
import numpy as np

from common import run, run_json

LINES = ("student", "teacher", "mostpop", "history_rerank", "window_ceiling")
SYNTHETIC = ["--dataset", "synthetic", "--synthetic-interactions", "20000",
             "--synthetic-users", "300", "--synthetic-items", "400"]


def expect_bad_input(args, *phrases):
    _, stderr = run(*args, expect=2)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def check_report(out, figures):
    for line in LINES:
        assert 0.0 <= figures[line]["ndcg@5"] <= 1.0, (line, figures[line])
    assert figures["window_ceiling"]["upper_bound"] is True
    assert figures["window_ceiling"]["ndcg@5"] >= figures["student"]["ndcg@5"]
    for key in ("difference", "difference_history_rerank"):
        d = figures[key]["ndcg@5"]
        assert d["low"] <= d["difference"] <= d["high"], (key, d)
    difference = figures["student"]["ndcg@5"] - figures["history_rerank"]["ndcg@5"]
    assert abs(figures["difference_history_rerank"]["ndcg@5"]["difference"] - difference) < 1e-9
    assert figures["eval_feedback"] == "none" and figures["lists_used_held_out_labels"] is False

    per_user = read_csv(os.path.join(out, "eval_per_user.csv"))
    assert len(per_user) == figures["users"]
    for line in LINES:
        column = [float(r[f"{line}:ndcg@5"]) for r in per_user]
        assert abs(np.mean(column) - figures[line]["ndcg@5"]) < 1e-7, line
    table = read_csv(os.path.join(out, "eval.csv"))
    assert {r["eval_feedback"] for r in table} == {"none"}
    assert "difference_history_rerank" in table[0] and "window_ceiling" in table[0]
    with open(os.path.join(out, "eval.md")) as f:
        markdown = f.read()
    assert "upper bound that reads the held-out labels" in markdown
    assert "Lists built label-free (feedback none)." in markdown


def check_recommend(out):
    agent = os.path.join(out, "agent")
    knowledge = os.path.join(out, "bprmf-test.h5")
    recs = os.path.join(out, "recommend.csv")
    run("recommend", "--agent", agent, "--knowledge", knowledge, "--top", "20", "--out", recs)
    with open(recs) as f, open(os.path.join(out, "recommendations.csv")) as g:
        assert f.read() == g.read(), "trd recommend differs from trd eval --agent's lists"
    rows = read_csv(recs)
    assert rows[0].keys() == {"user", "rank", "item", "score"}
    # The student's K = 10 picks carry its Q-value; the teacher's tail none.
    assert all(r["score"] != "" for r in rows if int(r["rank"]) <= 10)
    assert all(r["score"] == "" for r in rows if int(r["rank"]) > 10)

    users = os.path.join(out, "users.txt")
    chosen = [rows[0]["user"], rows[-1]["user"]]
    with open(users, "w") as f:
        f.write("\n".join(chosen) + "\n")
    subset = os.path.join(out, "subset.csv")
    run("recommend", "--agent", agent, "--knowledge", knowledge, "--users", users,
        "--top", "5", "--out", subset)
    picked = read_csv(subset)
    assert [r["user"] for r in picked] == [chosen[0]] * 5 + [chosen[1]] * 5
    by_user = {(r["user"], r["rank"]): r["item"] for r in rows}
    assert all(by_user[(r["user"], r["rank"])] == r["item"] for r in picked)

    h5 = os.path.join(out, "recommend.h5")
    run("recommend", "--agent", agent, "--knowledge", knowledge, "--format", "h5",
        "--top", "10", "--out", h5)
    with h5py.File(h5, "r") as f, h5py.File(os.path.join(out, "recommendations.h5"), "r") as g:
        assert np.array_equal(f["ranking/items"][:], g["ranking/items"][:, :10])

    with open(users, "w") as f:
        f.write("no-such-user\n")
    expect_bad_input(["recommend", "--agent", agent, "--knowledge", knowledge, "--users", users,
                      "--out", os.path.join(out, "never.csv")], users, "line 1", "no-such-user")
    assert not os.path.exists(os.path.join(out, "never.csv"))


def check_label_using_option(out):
    agent = os.path.join(out, "agent")
    report = os.path.join(out, "hits")
    figures = run_json("eval", "--dataset", os.path.join(out, "dataset.h5"), "--knowledge",
                       os.path.join(out, "bprmf-test.h5"), "--agent", agent, "--out", report,
                       "--eval-feedback", "hits")
    assert figures["eval_feedback"] == "hits" and figures["lists_used_held_out_labels"] is True
    with open(os.path.join(report, "eval.md")) as f:
        assert "LISTS USED HELD-OUT LABELS" in f.read()
    assert {r["eval_feedback"] for r in read_csv(os.path.join(report, "eval.csv"))} == {"hits"}


def check_protocol(tmp, out):
    dataset = os.path.join(out, "dataset.h5")
    agent = os.path.join(out, "agent")
    with h5py.File(os.path.join(out, "bprmf-test.h5"), "r") as f:
        assert f.attrs["candidates"] == 0 and f.attrs["candidate_seed"] == 0
        assert f.attrs["fit_on"] == "base+rl+valid"
        assert len(f.attrs["warm_start_crc32"]) == 8  # warm-started from the valid stage
    with h5py.File(os.path.join(out, "bprmf-rl.h5"), "r") as f:
        assert f.attrs["fit_on"] == "base" and f.attrs["warm_start_crc32"] == ""

    sampled = os.path.join(tmp, "sampled-test.h5")
    run("teacher", "--dataset", dataset, "--teacher", "mostpop", "--stage", "test",
        "--candidates", "200", "--seed", "3", "--out", sampled)
    with h5py.File(sampled, "r") as f:
        assert f.attrs["candidates"] == 200 and f.attrs["candidate_seed"] == 3
    expect_bad_input(["eval", "--dataset", dataset, "--knowledge", sampled],
                     sampled, "attribute candidates = 200", "full ranking")
    expect_bad_input(["eval", "--dataset", dataset, "--knowledge", sampled, "--candidates",
                      "200", "--seed", "4"], sampled, "candidate_seed = 3", "expected 200 and 4")
    expect_bad_input(["eval", "--dataset", dataset, "--knowledge", sampled, "--candidates",
                      "100", "--candidate-seed", "3"], sampled, "candidates = 200")
    run("eval", "--dataset", dataset, "--knowledge", sampled, "--candidates", "200",
        "--candidate-seed", "3", "--seed", "9")

    expect_bad_input(["eval", "--dataset", dataset, "--knowledge",
                      os.path.join(out, "bprmf-test.h5"), "--candidates", "100"],
                     "bprmf-test.h5", "attribute candidates = 0", "expected 100")
    expect_bad_input(["recommend", "--agent", agent, "--knowledge", sampled, "--out",
                      os.path.join(tmp, "never.csv")], sampled, "attribute candidates = 200")
    assert not os.path.exists(os.path.join(tmp, "never.csv"))

    train = ["train", "--dataset", dataset, "--out", os.path.join(tmp, "never"), "--epochs", "1"]
    expect_bad_input(train + ["--knowledge", os.path.join(out, "bprmf-test.h5"),
                              "--valid-knowledge", os.path.join(out, "bprmf-valid.h5")],
                     "bprmf-test.h5", "attribute stage = 'test', expected 'rl'")
    expect_bad_input(train + ["--knowledge", os.path.join(out, "bprmf-rl.h5"),
                              "--valid-knowledge", os.path.join(out, "bprmf-rl.h5")],
                     "bprmf-rl.h5", "attribute stage = 'rl', expected 'valid'")
    # A valid stage continued from another rl-stage teacher than the student's.
    other_rl = os.path.join(tmp, "other-rl.h5")
    other_valid = os.path.join(tmp, "other-valid.h5")
    run("teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "rl", "--epochs", "5",
        "--seed", "8", "--out", other_rl)
    run("teacher", "--dataset", dataset, "--teacher", "bprmf", "--stage", "valid", "--epochs",
        "5", "--init", other_rl, "--out", other_valid)
    expect_bad_input(train + ["--knowledge", os.path.join(out, "bprmf-rl.h5"),
                              "--valid-knowledge", other_valid],
                     other_valid, "attribute warm_start_crc32", "bprmf-rl.h5")
    assert not os.path.exists(os.path.join(tmp, "never"))
    expect_bad_input(["eval", "--dataset", dataset, "--knowledge",
                      os.path.join(out, "bprmf-valid.h5"), "--agent", agent, "--out",
                      os.path.join(tmp, "never")],
                     "bprmf-valid.h5", "attribute stage = 'valid', expected 'test'")
    assert not os.path.exists(os.path.join(tmp, "never"))


def check_itemknn(tmp):
    out = os.path.join(tmp, "knn")
    figures = run_json("run", *SYNTHETIC, "--out", out, "--teacher", "itemknn",
                       "--teacher-neighbours", "20", "--epochs", "1")
    # No embeddings: history_rerank compares items through the neighbour lists.
    assert figures["history_rerank"] is not None
    assert figures["history_rerank"]["ndcg@5"] != figures["teacher"]["ndcg@5"]
    knowledge = os.path.join(out, "itemknn-rl.h5")
    with h5py.File(knowledge, "r") as f:
        items = f["item_neighbours/items"][:]
        weights = f["item_neighbours/weights"][:]
        assert items.shape == (f.attrs["n_items"], 20) and weights.shape == items.shape
        assert items.dtype == np.int32 and weights.dtype == np.float32
        real = items >= 0
        assert real.any() and (weights[~real] == 0).all()
        assert all((np.diff(weights[r][real[r]]) <= 0).all() for r in range(len(items)))
    broken = os.path.join(tmp, "broken.h5")
    with h5py.File(knowledge, "r") as f, h5py.File(broken, "w") as g:
        for name, value in f.attrs.items():
            g.attrs[name] = value
        f.copy("ranking", g)
        g["item_neighbours/items"] = np.where(items >= 0, items, -1)[:, :5]
        g["item_neighbours/weights"] = weights[:, :4]
    expect_bad_input(["inspect", broken], broken, "/item_neighbours/weights", "shape")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        figures = run_json("run", *SYNTHETIC, "--out", out, "--epochs", "2",
                           "--teacher-epochs", "5")
        check_report(out, figures)
        check_recommend(out)
        check_label_using_option(out)
        check_protocol(tmp, out)
        check_itemknn(tmp)
    print("honest evaluation: OK")


if __name__ == "__main__":
    main()
