"""trd starts without LibTorch for the commands that do not need it, and hands
the others to trd-torch on the same command line (apps/libtorch_commands.hpp).
The dynamic loader's own log (LD_DEBUG=files) names every library a process
maps, the ones opened at run time included."""

import os
import shutil
import subprocess
import sys
import tempfile

from common import TRD, run

TRD_TORCH = os.path.join(os.path.dirname(TRD), "trd-torch")


def loaded_libraries(binary, *args, expect=0):
    """Runs `binary ARGS` under LD_DEBUG=files; returns (stdout, the libraries it loaded)."""
    env = dict(os.environ, LD_DEBUG="files")
    proc = subprocess.run([binary, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == expect, (args, proc.returncode, proc.stderr[-2000:])
    names = {line.split("file=")[1].split()[0] for line in proc.stderr.splitlines()
             if "file=" in line and "generating link map" in line}
    return proc.stdout, names


def loads_torch(names):
    return any("libtorch" in name or "libc10" in name for name in names)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        d, rl = os.path.join(tmp, "d.h5"), os.path.join(tmp, "rl.h5")
        light = [
            ["--help"],
            ["data", "--dataset", "synthetic", "--synthetic-interactions", "3000", "--out", d],
            ["teacher", "--dataset", d, "--teacher", "bprmf", "--epochs", "1", "--stage", "rl",
             "--out", rl],
            ["teacher", "--dataset", d, "--teacher", "item2vec", "--epochs", "1", "--stage",
             "valid", "--out", os.path.join(tmp, "valid.h5")],
            ["inspect", d],
            ["inspect", rl],
            ["eval", "--dataset", d, "--knowledge", rl, "--split", "rl"],
            ["eval", "--help"],
            ["bench", "--help"],
        ]
        for args in light:
            _, names = loaded_libraries(TRD, *args)
            assert names, "LD_DEBUG gave no library names: the check would pass blindly"
            assert not loads_torch(names), (args, sorted(n for n in names if "torch" in n))

        # What needs LibTorch runs in trd-torch, with the same flags and output.
        for args in (["train", "--help"], ["run", "--help"], ["recommend", "--help"]):
            stdout, names = loaded_libraries(TRD, *args)
            assert loads_torch(names), args
            assert stdout == run(*args)[0]
            assert stdout == subprocess.run([TRD_TORCH, *args], capture_output=True,
                                            text=True).stdout
        for args in (["teacher", "--help"], ["eval", "--help"], ["data", "--help"]):
            torch_help = subprocess.run([TRD_TORCH, *args], capture_output=True, text=True)
            assert run(*args)[0] == torch_help.stdout, args
        neumf = os.path.join(tmp, "neumf.h5")
        _, names = loaded_libraries(TRD, "teacher", "--dataset", d, "--teacher", "neumf",
                                    "--epochs", "1", "--stage", "rl", "--out", neumf)
        assert loads_torch(names) and os.path.getsize(neumf) > 0
        # Bad input is still exit 2 before any hand-off.
        _, names = loaded_libraries(TRD, "teacher", "--dataset", d, "--teacher", "neumf",
                                    "--epochs", "-1", "--stage", "rl", "--out", neumf, expect=2)
        assert not loads_torch(names)

        # Without trd-torch beside it, trd says what is missing (exit 1), and
        # the commands without LibTorch still work.
        alone = os.path.join(tmp, "alone")
        os.mkdir(alone)
        shutil.copy(TRD, alone)
        proc = subprocess.run([os.path.join(alone, "trd"), "train", "--help"],
                              capture_output=True, text=True)
        assert proc.returncode == 1, proc
        assert "needs LibTorch" in proc.stderr and os.path.join(alone, "trd-torch") in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        subprocess.run([os.path.join(alone, "trd"), "inspect", d], check=True,
                       capture_output=True)
        run_head_beside(tmp)
    print("startup: OK")


def run_head_beside(tmp):
    """trd run runs its data stage and first teacher in trd while trd-torch
    loads LibTorch (apps/run_head.hpp): the same files as trd-torch alone, and
    trd-torch keeps to its side of the channel when trd is a second client."""
    quick = ["run", "--dataset", "synthetic", "--synthetic-interactions", "3000",
             "--epochs", "1", "--list-length", "60"]
    beside, alone = os.path.join(tmp, "beside"), os.path.join(tmp, "alone_run")
    run(*quick, "--out", beside)
    subprocess.run([TRD_TORCH, *quick, "--out", alone], check=True, capture_output=True)
    for name in ("dataset.h5", "bprmf-rl.h5", "bprmf-valid.h5", "agent/agent.pt", "eval.csv"):
        with open(os.path.join(beside, name), "rb") as a, open(os.path.join(alone, name), "rb") as b:
            assert a.read() == b.read(), name

    def torch_with_trd_played_by(answer, out):
        to_trd_read, to_trd_write = os.pipe()
        from_trd_read, from_trd_write = os.pipe()
        env = dict(os.environ, TRD_RUN_HEAD=f"{to_trd_write},{from_trd_read},0,{os.getpid()}")
        proc = subprocess.Popen([TRD_TORCH, *quick, "--out", out], env=env, text=True,
                                pass_fds=(to_trd_write, from_trd_read),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(to_trd_write)
        os.close(from_trd_read)
        from_torch = os.fdopen(to_trd_read, "rb")
        head = from_torch.read(int(from_torch.readline()))  # its length, a newline, the head
        assert os.path.join(out, "dataset.h5").encode() in head, head
        assert b"--stage2\nrl" in head, head  # each argument after its length
        with os.fdopen(from_trd_write, "wb") as to_torch:
            to_torch.write(answer)
        stdout, stderr = proc.communicate(timeout=300)
        errors_for_trd = from_torch.read().decode()  # what trd would show after its rollback
        from_torch.close()
        return proc.returncode, stdout, stderr + errors_for_trd

    # "n": trd read the command line otherwise; trd-torch runs the head itself.
    told = os.path.join(tmp, "told")
    os.mkdir(told)
    status, stdout, stderr = torch_with_trd_played_by(b"n", told)
    assert status == 0, stderr
    assert "wrote " + os.path.join(told, "dataset.h5") in stdout, stdout
    with open(os.path.join(told, "agent", "agent.pt"), "rb") as a, \
            open(os.path.join(alone, "agent", "agent.pt"), "rb") as b:
        assert a.read() == b.read()
    # No answer: trd's head failed and trd shows why; trd-torch stops, silent.
    failed = os.path.join(tmp, "failed")
    os.mkdir(failed)
    status, stdout, stderr = torch_with_trd_played_by(b"", failed)
    assert status == 2 and "error" not in stderr, (status, stderr)
    assert not os.path.exists(os.path.join(failed, "agent")), os.listdir(failed)


if __name__ == "__main__":
    sys.exit(main())
