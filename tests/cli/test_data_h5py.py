"""h5py, a second HDF5 client, reads dataset.h5 files written by `trd data` and
must find exactly the arrays and attributes that `trd inspect --json` reports."""

import os
import subprocess
import tempfile

import h5py
import numpy as np

from common import run, run_json, shared_dataset

SPLITS = ["base", "rl", "valid", "test"]


def check_against_inspect(path):
    report = run_json("inspect", path)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "trd-dataset", f.attrs["format"]
        assert f.attrs["version"] == 1
        for key in ["dataset", "source", "source_crc32", "filter", "split_rule"]:
            assert f.attrs[key] == report[key], (key, f.attrs[key], report[key])
        assert list(f.attrs["split_ratios"]) == report["split_ratios"]
        users, items = f["users/raw_id"], f["items/raw_id"]
        assert users.shape == (report["n_users"],) and items.shape == (report["n_items"],)
        for ids, summary in [(users, report["users_raw_id"]), (items, report["items_raw_id"])]:
            values = ids.asstr()[()] if h5py.check_string_dtype(ids.dtype) else ids[()]
            kind = "string" if h5py.check_string_dtype(ids.dtype) else "int64"
            assert kind == summary["kind"], (kind, summary)
            assert kind == "string" or ids.dtype == np.int64
            assert values[0] == summary["first"] and values[-1] == summary["last"]
            assert len(set(values)) == len(values), "raw ids must be unique"
        total = 0
        for name in SPLITS:
            group, expected = f["splits"][name], report["splits"][name]
            columns = {c: group[c][()] for c in ["user", "item", "rating", "timestamp"]}
            assert columns["user"].dtype == np.int32 and columns["item"].dtype == np.int32
            assert columns["rating"].dtype == np.float32 and columns["timestamp"].dtype == np.int64
            n = len(columns["user"])
            assert n == expected["n"] and all(len(c) == n for c in columns.values())
            assert len(np.unique(columns["user"])) == expected["users_with_rows"]
            for column, values in columns.items():
                summary = expected[column]
                if n == 0:
                    continue
                assert values.min() == summary["min"] and values.max() == summary["max"], column
                if column == "rating":
                    assert abs(values.astype(np.float64).sum() - summary["sum"]) < 1e-6 * n
                else:
                    assert int(values.astype(np.int64).sum()) == summary["sum"], column
            assert columns["user"].min() >= 0 and columns["user"].max() < report["n_users"]
            assert columns["item"].min() >= 0 and columns["item"].max() < report["n_items"]
            total += n
        assert total == report["n_interactions"]
    # h5dump, the HDF5 project's own tool, must read the file too.
    subprocess.run(["h5dump", "-H", path], check=True, capture_output=True)
    return report


def time_bounds(path, name):
    with h5py.File(path, "r") as f:
        ts = f["splits"][name]["timestamp"][()]
    return ts.min(), ts.max()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = os.path.join(tmp, "synthetic.h5")
        made = run_json("data", "--dataset", "synthetic", "--synthetic-interactions", "20000",
                        "--seed", "3", "--out", synthetic)
        report = check_against_inspect(synthetic)
        assert made["n_interactions"] == report["n_interactions"]

        u_data = shared_dataset("ml-100k/u.data")
        if u_data is None:
            return
        per_user = os.path.join(tmp, "ml-100k.h5")
        run("data", "--dataset", "ml-100k", "--input", u_data, "--out", per_user)
        report = check_against_inspect(per_user)
        assert (report["n_users"], report["n_items"], report["n_interactions"]) == (943, 1682, 100000)
        assert [report["splits"][s]["n"] for s in SPLITS] == [60367, 10051, 9949, 19633]
        assert report["users_raw_id"]["first"] == 1 and report["users_raw_id"]["last"] == 943

        global_time = os.path.join(tmp, "ml-100k-global.h5")
        run("data", "--dataset", "ml-100k", "--input", u_data, "--split", "global-time",
            "--out", global_time)
        report = check_against_inspect(global_time)
        assert [report["splits"][s]["n"] for s in SPLITS] == [60000, 10000, 10000, 20000]
        for earlier, later in zip(SPLITS, SPLITS[1:]):
            assert time_bounds(global_time, earlier)[1] <= time_bounds(global_time, later)[0]


if __name__ == "__main__":
    main()
    print("ok")
