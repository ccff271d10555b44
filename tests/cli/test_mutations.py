"""Mutation test (issue 11): seeded corruptions of a valid dataset.h5,
knowledge.h5, agent.pt and u.data. Each must give exit 0 with a valid result
or exit 2 with one line; never another code, never a crash, never a NaN in an
output.

Usage: test_mutations.py TRD [--seed S] [--count N] (N per file kind)"""

import argparse
import concurrent.futures
import os
import random
import shutil
import subprocess
import tempfile
import zlib

import h5py
import numpy as np

from common import TRD, small_pipeline


def truncate(content, rng):
    return content[: rng.randrange(len(content))]


def flip_bytes(content, rng):
    damaged = bytearray(content)
    for _ in range(rng.randint(1, 16)):
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def damage_hdf5(path, rng):
    """One structural change through h5py: NaN or extreme values, another
    dtype, another shape, a dropped array or attribute. Returns what it did."""
    with h5py.File(path, "r+") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        name = rng.choice(names)
        data = f[name][()]
        kind = rng.choice(["nan", "extreme", "dtype", "shape", "drop", "attribute"])
        if kind == "nan" and data.dtype.kind == "f" and data.size:
            flat = data.reshape(-1)
            flat[rng.randrange(flat.size)] = rng.choice([np.nan, np.inf, -np.inf])
            f[name][...] = flat.reshape(data.shape)
        elif kind == "extreme" and data.dtype.kind in "iu" and data.size:
            flat = data.reshape(-1)
            flat[rng.randrange(flat.size)] = rng.choice([-2, -1, 2**31 - 1, 1 << 20])
            f[name][...] = flat.reshape(data.shape)
        elif kind == "dtype" and data.dtype.kind in "fiu":
            del f[name]
            with np.errstate(over="ignore", invalid="ignore"):
                f[name] = data.astype(rng.choice([np.float64, np.int8, np.uint64, np.float16]))
        elif kind == "shape" and data.size:
            del f[name]
            f[name] = data.reshape(-1)[: max(0, data.size - rng.randint(1, 3))]
        elif kind == "drop":
            del f[name]
        else:
            kind = "attribute"
            owner = f if rng.random() < 0.5 or not len(f[name].parent.attrs) else f[name].parent
            keys = list(owner.attrs.keys())
            if keys:
                key = rng.choice(keys)
                if rng.random() < 0.5:
                    del owner.attrs[key]
                else:
                    owner.attrs[key] = rng.choice([np.int64(-1), "garbage", np.float64(np.nan),
                                                   np.int64(2**40)])
        return f"{kind} {name}"


def damaged_copy(source, content, target, n, rng):
    """Writes a damaged copy of the HDF5 file `source` (bytes `content`) to
    `target`: bytes for even `n`, structure for odd. Returns (target, what)."""
    if n % 2 == 0:
        with open(target, "wb") as f:
            f.write((truncate if rng.random() < 0.3 else flip_bytes)(content, rng))
        return target, "bytes"
    shutil.copy(source, target)
    return target, damage_hdf5(target, rng)


def damage_text(content, rng):
    lines = content.decode().splitlines()
    row = rng.randrange(len(lines))
    fields = lines[row].split("\t")
    kind = rng.choice(["drop field", "garbage", "nan rating", "huge", "negative", "blank",
                       "binary", "spaces"])
    if kind == "drop field":
        fields.pop(rng.randrange(len(fields)))
    elif kind == "garbage":
        fields[rng.randrange(len(fields))] = "x!@"
    elif kind == "nan rating":
        fields[2] = rng.choice(["nan", "inf", "-inf", "1e400"])
    elif kind == "huge":
        fields[rng.randrange(len(fields))] = "9" * rng.randint(10, 40)
    elif kind == "negative":
        fields[rng.randrange(len(fields))] = "-" + fields[0]
    elif kind == "blank":
        fields = []
    elif kind == "binary":
        fields[rng.randrange(len(fields))] = "\x00\xff"
    else:
        fields[rng.randrange(len(fields))] = " " + fields[0] + " "
    lines[row] = "\t".join(fields)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"), kind


def check(result, label):
    """Exit 0 or 2 only; 2 with one line; no NaN in what exit 0 printed."""
    code, stdout, stderr = result
    assert code in (0, 2), f"{label}: exit {code}\nstderr: {stderr[-2000:]}"
    if code == 2:
        lines = stderr.strip().splitlines()
        assert lines and "error:" in lines[-1], f"{label}: exit 2 without an error line: {stderr!r}"
    else:
        lowered = stdout.lower()
        assert "nan" not in lowered.replace("nan_", ""), f"{label}: NaN in the output\n{stdout}"
    return code


def trd(*args):
    proc = subprocess.run([TRD, *args], capture_output=True, text=True, errors="replace",
                          stdin=subprocess.DEVNULL, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trd")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--keep", help="write the cases into this new folder and keep them")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"mutation test: seed {args.seed}, {args.count} corruptions per file kind")

    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        os.makedirs(tmp, exist_ok=bool(args.keep is None))
        d, _, _, test, agent = small_pipeline(tmp)
        u_data = "".join(f"{u}\t{(u * 7 + j) % 40 + 1}\t{1 + (u + j) % 5}\t{1000 + 10 * j}\n"
                         for u in range(1, 61) for j in range(8)).encode()

        jobs = []  # (label, files to write, command)
        with open(d, "rb") as f:
            dataset_bytes = f.read()
        with open(test, "rb") as f:
            knowledge_bytes = f.read()
        with open(os.path.join(agent, "agent.pt"), "rb") as f:
            agent_bytes = f.read()
        for n in range(args.count):
            case = os.path.join(tmp, f"case{n}")
            os.makedirs(case)
            # dataset.h5, read by inspect and eval; knowledge.h5, scored by eval.
            mutated, what = damaged_copy(d, dataset_bytes, os.path.join(case, "d.h5"), n, rng)
            jobs.append((f"dataset.h5 #{n} ({what})", ["inspect", mutated]))
            jobs.append((f"dataset.h5 #{n} ({what}) eval",
                         ["eval", "--dataset", mutated, "--knowledge", test]))
            mutated, what = damaged_copy(test, knowledge_bytes, os.path.join(case, "k.h5"), n, rng)
            jobs.append((f"knowledge.h5 #{n} ({what})",
                         ["eval", "--dataset", d, "--knowledge", mutated]))
            # agent.pt: every other one with the sidecar's CRC updated, so the
            # archive reader itself meets the damage.
            folder = os.path.join(case, "agent")
            shutil.copytree(agent, folder)
            damaged = (truncate if rng.random() < 0.3 else flip_bytes)(agent_bytes, rng)
            with open(os.path.join(folder, "agent.pt"), "wb") as f:
                f.write(damaged)
            if n % 2 == 1:
                sidecar = os.path.join(folder, "agent.json")
                with open(sidecar) as f:
                    text = f.read()
                old = f"{zlib.crc32(agent_bytes):08x}"
                assert old in text
                with open(sidecar, "w") as f:
                    f.write(text.replace(old, f"{zlib.crc32(damaged):08x}"))
            jobs.append((f"agent.pt #{n}", ["eval", "--dataset", d, "--knowledge", test,
                                            "--agent", folder, "--out", os.path.join(case, "r")]))
            # u.data text.
            mutated = os.path.join(case, "u.data")
            damaged, what = damage_text(u_data, rng)
            with open(mutated, "wb") as f:
                f.write(damaged)
            jobs.append((f"u.data #{n} ({what})", ["data", "--dataset", "ml-100k", "--input",
                                                   mutated, "--out", os.path.join(case, "u.h5")]))

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda job: trd(*job[1]), jobs))
        codes = {0: 0, 2: 0}
        for (label, command), result in zip(jobs, results):
            codes[check(result, label + ": trd " + " ".join(command))] += 1
        # What exit 0 wrote must be valid too.
        for n in range(args.count):
            written = os.path.join(tmp, f"case{n}", "u.h5")
            if os.path.exists(written):
                code, stdout, _ = trd("inspect", written)
                assert code == 0, f"u.data #{n}: trd data wrote a file trd inspect refuses"
                with h5py.File(written) as f:
                    for split in f["splits"].values():
                        assert np.isfinite(split["rating"][()]).all()
        print(f"{len(jobs)} runs: {codes[0]} exit 0, {codes[2]} exit 2")


if __name__ == "__main__":
    main()
    print("ok")
