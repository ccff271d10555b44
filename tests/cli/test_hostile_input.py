"""Hostile input (issue 11): every case exits 2 with one line naming the flag
or file and the problem, leaves no output behind and never changes an input
(checksums before and after)."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import zlib

import h5py
import numpy as np

from common import TRD, run, small_pipeline, write


def tree(folder):
    """Every file under `folder` with its checksum."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                found[os.path.relpath(path, folder)] = "-> " + os.readlink(path)
                continue
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.md5(f.read()).hexdigest()
    return found


def expect_refused(args, folder, *phrases, last_line=False):
    """trd ARGS exits 2 with one line holding every phrase; nothing under
    `folder` (inputs and outputs) is created, removed or changed."""
    before = tree(folder)
    _, stderr = run(*args, expect=2)
    lines = stderr.strip().splitlines()
    if not last_line:
        assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    for phrase in phrases:
        assert phrase in lines[-1], f"{phrase!r} not in {lines[-1]!r}"
    after = tree(folder)
    assert after == before, (f"trd {' '.join(args)} changed files: "
                             f"{set(after.items()) ^ set(before.items())}")
    return stderr


def main():
    with tempfile.TemporaryDirectory() as tmp:
        d, rl, valid, test, agent = small_pipeline(tmp)
        teacher = ["teacher", "--dataset", d, "--teacher", "bprmf", "--epochs", "2",
                   "--list-length", "40"]
        train = ["train", "--dataset", d, "--knowledge", rl, "--valid-knowledge", valid,
                 "--n-actions", "20", "--epochs", "1"]
        evaluate = ["eval", "--dataset", d, "--knowledge", test]
        student_eval = evaluate + ["--agent", agent, "--out", os.path.join(tmp, "report")]
        run(*student_eval)
        shutil.rmtree(os.path.join(tmp, "report"))
        k = os.path.join(tmp, "k.h5")

        # 2. A diverged teacher writes nothing; bad penalties are refused first.
        for flag, value, phrase in [("--lr", "inf", "teacher lr inf"),
                                    ("--lr", "1e30", "diverged"),
                                    ("--l2", "nan", "teacher l2 nan"),
                                    ("--l2", "1e6", "diverged"),
                                    ("--l2", "-1", "teacher l2 -1")]:
            expect_refused(teacher + ["--out", k, flag, value], tmp, phrase, last_line=True)

        # 3. An output that is an input, however spelled or linked, or not a file.
        same = write(os.path.join(tmp, "same.data"), "1\t2\t5\t100\n2\t3\t4\t101\n")
        expect_refused(["data", "--dataset", "ml-100k", "--input", same, "--out", same], tmp,
                       "--out " + same, "is also an input")
        expect_refused(["teacher", "--dataset", d, "--teacher", "mostpop", "--out", d], tmp,
                       "is also an input")
        expect_refused(teacher + ["--stage", "valid", "--init", rl, "--out", rl], tmp,
                       "is also an input")
        os.link(d, os.path.join(tmp, "hardlink.h5"))
        expect_refused(evaluate + ["--csv", os.path.join(tmp, "hardlink.h5")], tmp,
                       "--csv", "is also an input")
        os.remove(os.path.join(tmp, "hardlink.h5"))
        os.symlink(d, os.path.join(tmp, "symlink.h5"))
        expect_refused(evaluate + ["--csv", os.path.join(tmp, "symlink.h5")], tmp,
                       "is also an input")
        os.remove(os.path.join(tmp, "symlink.h5"))
        expect_refused(["recommend", "--agent", agent, "--knowledge", test, "--out",
                        os.path.join(agent, "agent.pt")], tmp, "is also an input")
        expect_refused(["teacher", "--dataset", d, "--teacher", "mostpop", "--out", "/dev/full"],
                       tmp, "/dev/full", "not a regular file")

        # 6. Outputs the input is at fault for: exit 2, not 1.
        synthetic = ["data", "--dataset", "synthetic", "--synthetic-interactions", "2000"]
        expect_refused(synthetic + ["--out", tmp], tmp, "is a folder")
        expect_refused(synthetic + ["--out", ""], tmp, "--out is empty")
        expect_refused(synthetic + ["--out", "/proc/x.h5"], tmp, "cannot create files in /proc")
        expect_refused(evaluate + ["--csv", "."], tmp, "--csv .", "is a folder")
        expect_refused(train + ["--out", d], tmp, "is a file, expected a folder")
        expect_refused(["run", "--dataset", "synthetic", "--out", d], tmp,
                       "is a file, expected a folder")
        loop = os.path.join(tmp, "loop")
        os.symlink(loop, loop)
        expect_refused(["inspect", loop], tmp, loop, "symbolic links")
        os.remove(loop)

        # 4. trd run checks every stage's flags before its first stage.
        run_folder = os.path.join(tmp, "run")
        quick_run = ["run", "--dataset", "synthetic", "--synthetic-interactions", "3000",
                     "--out", run_folder]
        for flags, phrase in [(["--k", "0"], "--k '0'"),
                              (["--reward", "ndcg"], "--reward 'ndcg'"),
                              (["--episode-length", "0"], "--episode-length"),
                              (["--batch-users", "0"], "--batch-users"),
                              (["--epochs", "0"], "--epochs"),
                              (["--threads", "0"], "--threads 0"),
                              (["--list-length", "0"], "--list-length"),
                              (["--list-length", "1"], "--list-length"),
                              (["--list-length", "60", "--k", "1,100"], "--k 100"),
                              (["--teacher-dim", "0"], "--teacher-dim"),
                              (["--teacher-lr", "nan"], "--teacher-lr"),
                              (["--teacher-threads", "0"], "--teacher-threads 0"),
                              (["--teacher-stage", "fixed", "--teacher-threads", "2"],
                               "--teacher-stage fixed"),
                              (["--target-update", "0"], "--target-update"),
                              (["--seed", "-1"], "--seed -1")]:
            expect_refused(quick_run + flags, tmp, phrase)
        assert not os.path.exists(run_folder)
        # So is a run into a finished run's folder, whose files stay as they
        # were, though trd runs the first stages while trd-torch checks.
        run(*quick_run, "--epochs", "1")
        for flags, phrase in [(["--epochs", "0"], "--epochs"), (["--k", "1,500"], "--k 500")]:
            expect_refused(quick_run + flags, tmp, phrase)
        shutil.rmtree(run_folder)
        # A failure after the first stage takes away what the run wrote and
        # keeps what was there before.
        one_each = write(os.path.join(tmp, "one_each.csv"),
                         "user,item\n" + "".join(f"{u},{u % 7}\n" for u in range(50)))
        os.makedirs(run_folder)
        write(os.path.join(run_folder, "notes.txt"), "mine\n")
        stderr = expect_refused(["run", "--dataset", "csv", "--input", one_each, "--out",
                                 run_folder], tmp, "dataset.h5", "rl split is empty",
                                last_line=True)
        assert "removed the 1 files this run wrote" in stderr, stderr
        shutil.rmtree(run_folder)
        # trd train checks its flags before it makes its folder.
        expect_refused(train + ["--epochs", "0", "--out", os.path.join(tmp, "agent0")], tmp,
                       "--epochs")

        # 5. A damaged checkpoint never loads.
        checkpoint = os.path.join(agent, "agent.pt")
        with open(checkpoint, "rb") as f:
            good = f.read()
        def with_checkpoint(content, *phrases):
            with open(checkpoint, "wb") as f:
                f.write(content)
            expect_refused(student_eval, tmp, *phrases)
            expect_refused(["inspect", agent], tmp, *phrases)
        flipped = bytearray(good)
        for position in range(len(good) // 3, len(good) // 3 + 100):
            flipped[position] ^= 0x5A
        with_checkpoint(bytes(flipped), "agent.pt", "CRC-32")
        with_checkpoint(b"", "agent.pt", "CRC-32")
        with_checkpoint(good[: len(good) // 2], "agent.pt", "CRC-32")
        # Damage behind a sidecar that records the damaged file's CRC: the
        # archive's own CRCs catch it before LibTorch parses it.
        sidecar_path = os.path.join(agent, "agent.json")
        with open(sidecar_path) as f:
            sidecar_text = f.read()
        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 0x01
        write(sidecar_path, sidecar_text.replace(f"{zlib.crc32(good):08x}",
                                                 f"{zlib.crc32(bytes(flipped)):08x}"))
        with_checkpoint(bytes(flipped), "agent.pt", "fails its CRC-32")
        write(sidecar_path, sidecar_text)
        with open(checkpoint, "wb") as f:
            f.write(good)
        # A sidecar edited to a setting no agent takes fails in the agent itself.
        sidecar = json.loads(sidecar_text)
        sidecar["settings"]["target_update"] = 0
        write(sidecar_path, json.dumps(sidecar))
        expect_refused(student_eval, tmp, "target_update", "at least 1")
        write(sidecar_path, sidecar_text)
        del sidecar["checkpoint"]
        sidecar["settings"]["target_update"] = 200
        write(sidecar_path, json.dumps(sidecar))
        expect_refused(["inspect", agent], tmp, "checkpoint")
        write(sidecar_path, sidecar_text)
        run("inspect", agent)

        # 7. Out-of-range values.
        expect_refused(synthetic + ["--min-rating", "nan", "--out", k], tmp, "--min-rating nan")
        expect_refused(synthetic + ["--seed", "-1", "--out", k], tmp, "--seed -1")
        _, stderr = run("teacher", "--dataset", d, "--teacher", "mostpop", "--list-length",
                        "100000", "--out", k)
        assert "exceeds the" in stderr, stderr
        stdout, _ = run("inspect", k, "--json")
        assert json.loads(stdout.splitlines()[-1])["list_length"] < 1000
        os.remove(k)
        expect_refused(train + ["--episode-length", "1000", "--out", os.path.join(tmp, "a2")],
                       tmp, "--episode-length 1000")
        _, stderr = run("teacher", "--dataset", d, "--teacher", "mostpop", "--stage", "valid",
                        "--candidates", "1", "--out", k)
        _, stderr = run("eval", "--dataset", d, "--knowledge", k, "--split", "valid",
                        "--candidates", "1")
        assert "warning: --candidates 1" in stderr, stderr
        os.remove(k)

        # 8. Raw ids: a trailing space or a leading zero is not another user.
        spaced = write(os.path.join(tmp, "spaced.data"),
                       "1\t10\t5\t100\n1 \t11\t4\t101\n01\t12\t3\t102\n2\t10\t5\t103\n")
        stdout, _ = run("data", "--dataset", "ml-100k", "--input", spaced, "--out", k, "--json")
        assert json.loads(stdout.splitlines()[-1])["n_users"] == 2, stdout
        os.remove(k)

        # 9. Smaller ones.
        expect_refused(["data", "--config", tmp, "--out", k], tmp, "--config", "not a file")
        _, stderr = run("data", "--dataset", "csv", "--input", one_each, "--out", k)
        assert "warning" in stderr and "empty split(s) rl, valid, test" in stderr, stderr
        lists = os.path.join(tmp, "lists.h5")
        run("teacher", "--dataset", k, "--teacher", "mostpop", "--stage", "test", "--out", lists)
        expect_refused(["eval", "--dataset", k, "--knowledge", lists], tmp, k,
                       "test split is empty")
        os.remove(k)
        os.remove(lists)
        # dataset.h5 readers: unique raw ids, each user's rows in time order.
        def damaged_dataset(name, damage):
            path = os.path.join(tmp, name)
            shutil.copy(d, path)
            with h5py.File(path, "r+") as f:
                damage(f)
            return path
        def repeat_user_id(f):
            ids = f["users/raw_id"]
            ids[1] = ids[0]
        def unsorted_history(f):
            users, times = f["splits/base/user"][:], f["splits/base/timestamp"]
            row = int(np.flatnonzero(users[:-1] == users[1:])[0])
            times[row] = times[row + 1] + 1
        def test_before_base(f):
            user = f["splits/test/user"][0]
            base = f["splits/base"]
            first = base["timestamp"][:][base["user"][:] == user].min()
            f["splits/test/timestamp"][0] = first - 1
        for name, damage, phrase in [("repeat.h5", repeat_user_id, "repeats the id"),
                                     ("unsorted.h5", unsorted_history, "/splits/base/timestamp"),
                                     ("leak.h5", test_before_base, "/splits/test/timestamp")]:
            path = damaged_dataset(name, damage)
            expect_refused(["inspect", path], tmp, path, phrase)
            os.remove(path)

        # Two runs into one folder: the second says the folder is busy. The
        # first has far more epochs than the check needs, and is stopped.
        busy = os.path.join(tmp, "busy")
        first = subprocess.Popen([TRD, *quick_run[:-1], busy, "--epochs", "100000"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        while not os.path.exists(os.path.join(busy, "dataset.h5")):
            assert first.poll() is None, "the first run ended early"
            time.sleep(0.01)
        _, stderr = run(*quick_run[:-1], busy, expect=2)
        assert "in use by another trd process" in stderr, stderr
        first.kill()
        first.wait()

if __name__ == "__main__":
    main()
    print("ok")
