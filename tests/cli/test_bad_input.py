"""Bad input gets exit code 2, one line on stderr naming the file and the
problem, and no output file (not even a temporary one)."""

import os
import tempfile

import h5py
import numpy as np

from common import run, shared_dataset, write


def expect_bad_input(args, out_dir, *phrases):
    before = set(os.listdir(out_dir))
    _, stderr = run(*args, expect=2)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"
    assert set(os.listdir(out_dir)) == before, f"left files: {set(os.listdir(out_dir)) - before}"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        inputs = os.path.join(tmp, "inputs")
        out_dir = os.path.join(tmp, "out")
        os.makedirs(inputs)
        os.makedirs(out_dir)
        out = os.path.join(out_dir, "dataset.h5")

        def data(path, *extra):
            return ["data", "--dataset", "ml-100k", "--input", path, "--out", out, *extra]

        missing = os.path.join(inputs, "nope.data")
        expect_bad_input(data(missing), out_dir, missing, "no such file")

        truncated = write(os.path.join(inputs, "truncated.data"), "1\t2\t5\t100\n1\t3\n")
        expect_bad_input(data(truncated), out_dir, truncated + ":2:", "expected at least 4 fields")

        non_numeric = write(os.path.join(inputs, "rating.data"), "1\t2\t5\t100\n2\t3\tfive\t101\n")
        expect_bad_input(data(non_numeric), out_dir, non_numeric + ":2:", "rating 'five'")

        ok = write(os.path.join(inputs, "ok.data"), "1\t2\t3\t100\n2\t3\t2\t101\n")
        expect_bad_input(data(ok, "--min-rating", "4"), out_dir, ok, "no interactions left")
        expect_bad_input(data(ok, "--filter", "5core"), out_dir, ok, "no interactions left")
        expect_bad_input(data(ok, "--filter", "fivecore"), out_dir, "--filter 'fivecore'")
        expect_bad_input(data(ok, "--ratios", "0.5,0.5"), out_dir, "--ratios")
        expect_bad_input(["data", "--dataset", "netflix", "--out", out], out_dir, "netflix")
        expect_bad_input(["data", "--no-such-flag"], out_dir, "no-such-flag")
        expect_bad_input(["data", "--dataset", "csv", "--out", out], out_dir, "needs --input")

        # Files that are not trd files, for `trd inspect`.
        corrupted = write(os.path.join(inputs, "corrupted.h5"), "this is not HDF5\n")
        expect_bad_input(["inspect", corrupted], out_dir, corrupted, "not an HDF5 file")
        foreign = os.path.join(inputs, "foreign.h5")
        with h5py.File(foreign, "w") as f:
            f["weights"] = np.zeros(3)
        expect_bad_input(["inspect", foreign], out_dir, foreign, "'format' attribute")
        other_format = os.path.join(inputs, "other.h5")
        with h5py.File(other_format, "w") as f:
            f.attrs["format"] = "keras-model"
        expect_bad_input(["inspect", other_format], out_dir, other_format, "keras-model")

        run("data", "--dataset", "synthetic", "--synthetic-interactions", "2000", "--out", out)
        good_size = os.path.getsize(out)
        cut = os.path.join(inputs, "cut.h5")
        with open(out, "rb") as src, open(cut, "wb") as dst:
            dst.write(src.read(good_size // 2))
        os.remove(out)
        expect_bad_input(["inspect", cut], out_dir, cut)
        wrong_schema = os.path.join(inputs, "wrong_schema.h5")
        with h5py.File(wrong_schema, "w") as f:
            f.attrs["format"] = "trd-dataset"
            f.attrs["version"] = np.int64(1)
        expect_bad_input(["inspect", wrong_schema], out_dir, wrong_schema, "missing attribute")

        # A feature list is checked before any data is made.
        synthetic_run = ["run", "--dataset", "synthetic", "--out", os.path.join(out_dir, "run")]
        expect_bad_input(synthetic_run + ["--features", "teacher_rank,colour"], out_dir,
                         "--features", "unknown feature 'colour'")
        expect_bad_input(synthetic_run + ["--features", "none"], out_dir,
                         "--features none", "--slot-embeddings")

        # Out-of-range counts are bad input before any work, not an abort, a
        # hang or a machine-filling allocation.
        expect_bad_input(synthetic_run + ["--threads", "1000"], out_dir,
                         "--threads 1000", "[1, 256]")
        expect_bad_input(synthetic_run + ["--teacher-threads", "100000"], out_dir,
                         "--teacher-threads 100000")
        expect_bad_input(synthetic_run + ["--n-actions", "100000"], out_dir,
                         "--list-length", "hold 100 items", "--n-actions 100000")
        expect_bad_input(synthetic_run + ["--episode-length", "101"], out_dir,
                         "--episode-length 101")
        expect_bad_input(synthetic_run + ["--epsilon-start", "2"], out_dir,
                         "--epsilon-start", "[0, 1]")
        expect_bad_input(synthetic_run + ["--grad-clip", "0"], out_dir, "--grad-clip")
        made = os.path.join(inputs, "small.h5")
        run("data", "--dataset", "synthetic", "--synthetic-interactions", "3000", "--out", made)
        expect_bad_input(["teacher", "--dataset", made, "--teacher", "bprmf", "--threads",
                          "100000", "--out", os.path.join(out_dir, "k.h5")], out_dir,
                         "--threads 100000")
        rl = os.path.join(inputs, "rl.h5")
        valid = os.path.join(inputs, "valid.h5")
        run("teacher", "--dataset", made, "--teacher", "mostpop", "--stage", "rl",
            "--list-length", "30", "--out", rl)
        run("teacher", "--dataset", made, "--teacher", "mostpop", "--stage", "valid",
            "--list-length", "30", "--init", rl, "--out", valid)
        expect_bad_input(["train", "--dataset", made, "--knowledge", rl, "--valid-knowledge",
                          valid, "--out", os.path.join(out_dir, "agent")], out_dir,
                         rl, "hold 30 items", "--n-actions 50")

        stdout, _ = run("data", "--help")
        assert "--min-rating" in stdout and "--split" in stdout
        run("--help")
        run("no-such-command", expect=2)


if __name__ == "__main__":
    main()
    print("ok")
