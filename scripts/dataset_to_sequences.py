#!/usr/bin/env python3
"""Writes a trd dataset.h5 in the sequence format trd reads back with
`--dataset sequences --input FILE`: one line per user, `user item item ...`
(raw ids, whitespace-separated) in time order over every split, as in
SASRec / S3-Rec data files. Ratings are dropped (every interaction becomes a
positive); ties in time keep the split order base, rl, valid, test.

Usage: scripts/dataset_to_sequences.py DATASET.h5 OUT.txt
"""

import os
import sys

import h5py
import numpy as np

SPLITS = ("base", "rl", "valid", "test")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, target = sys.argv[1], sys.argv[2]
    with h5py.File(source, "r") as f:
        users_raw = f["users/raw_id"][:]
        items_raw = f["items/raw_id"][:]
        columns = {c: [] for c in ("user", "item", "timestamp", "split")}
        for rank, split in enumerate(SPLITS):
            group = f["splits"][split]
            for c in ("user", "item", "timestamp"):
                columns[c].append(group[c][:])
            columns["split"].append(np.full(len(group["user"]), rank))
    user, item, timestamp, split = (np.concatenate(columns[c])
                                    for c in ("user", "item", "timestamp", "split"))
    order = np.lexsort((split, timestamp, user))
    text = lambda raw: raw.decode() if isinstance(raw, bytes) else str(raw)
    sorted_users = user[order]
    starts = np.flatnonzero(np.diff(sorted_users)) + 1
    lines = [" ".join([text(users_raw[rows_user[0]])] + [text(items_raw[i]) for i in rows_item])
             for rows_user, rows_item in zip(np.split(sorted_users, starts),
                                             np.split(item[order], starts))]
    temporary = target + ".tmp"
    with open(temporary, "w") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(temporary, target)


if __name__ == "__main__":
    main()
