"""The sequence format (`--dataset sequences`): a dataset written out with
scripts/dataset_to_sequences.py reads back into the same per-user splits, and
malformed files are bad input naming the file and line."""

import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from common import SOURCE_DIR, run

SPLITS = ("base", "rl", "valid", "test")


def user_split_items(path):
    """{(raw user, split): raw items in time order} of a dataset.h5."""
    with h5py.File(path, "r") as f:
        users = f["users/raw_id"][:]
        items = f["items/raw_id"][:]
        result = {}
        for split in SPLITS:
            g = f["splits"][split]
            user, item, time = g["user"][:], g["item"][:], g["timestamp"][:]
            for row in np.lexsort((time, user)):
                result.setdefault((users[user[row]], split), []).append(items[item[row]])
        return result


def main():
    with tempfile.TemporaryDirectory() as tmp:
        original = os.path.join(tmp, "original.h5")
        run("data", "--dataset", "synthetic", "--synthetic-interactions", "6000",
            "--synthetic-users", "200", "--synthetic-items", "300", "--out", original)
        sequences = os.path.join(tmp, "sequences.txt")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "scripts",
                                                     "dataset_to_sequences.py"),
                        original, sequences], check=True)
        with open(sequences) as f:
            lines = f.read().splitlines()
        assert len(lines) == 200 and all(len(line.split()) >= 2 for line in lines)
        reread = os.path.join(tmp, "reread.h5")
        run("data", "--dataset", "sequences", "--input", sequences, "--out", reread)
        assert user_split_items(reread) == user_split_items(original)
        with h5py.File(reread, "r") as f:
            assert (f["splits/base/rating"][:] == 1).all()

        for text, phrase in (("1 2 3\n7\n", ":2: user '7' has no items"),
                             ("1 2\n2 3\n1 4\n", ":3: user '1' already has line 1")):
            bad = os.path.join(tmp, "bad.txt")
            with open(bad, "w") as f:
                f.write(text)
            out = os.path.join(tmp, "bad.h5")
            _, stderr = run("data", "--dataset", "sequences", "--input", bad, "--out", out,
                            expect=2)
            assert len(stderr.strip().splitlines()) == 1 and bad + phrase in stderr, stderr
            assert not os.path.exists(out)
    print("sequence format: round trip and bad lines checked")


if __name__ == "__main__":
    main()
