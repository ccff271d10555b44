"""Long stages print progress with an estimate of the time left: plain lines
when stderr is a pipe, a live line rewritten in place on a terminal."""

import os
import pty
import re
import subprocess
import tempfile

from common import TRD, run

ETA = re.compile(r"about \d+ (s|min \d+ s|h \d+ min) left")


def on_terminal(args):
    """stderr of `trd ARGS` written to a pseudo-terminal."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([TRD, *args], stdout=subprocess.DEVNULL, stderr=terminal,
                            stdin=subprocess.DEVNULL)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert proc.wait() == 0
    return b"".join(chunks).decode()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "d.h5")
        run("data", "--dataset", "synthetic", "--synthetic-interactions", "4000", "--out", d)
        teacher = ["teacher", "--dataset", d, "--teacher", "bprmf", "--epochs", "5",
                   "--list-length", "40"]
        _, stderr = run(*teacher, "--stage", "rl", "--out", os.path.join(tmp, "rl.h5"))
        lines = stderr.splitlines()
        assert lines[0].startswith("bprmf rl:") and "epoch 1/5" in lines[0], lines
        assert ETA.search(lines[0]), lines[0]
        assert any("epoch 5/5" in line for line in lines), lines
        run(*teacher, "--stage", "valid", "--init", os.path.join(tmp, "rl.h5"),
            "--out", os.path.join(tmp, "valid.h5"))

        train = ["train", "--dataset", d, "--knowledge", os.path.join(tmp, "rl.h5"),
                 "--valid-knowledge", os.path.join(tmp, "valid.h5"), "--n-actions", "20",
                 "--epochs", "3", "--batch-users", "4"]
        _, stderr = run(*train, "--out", os.path.join(tmp, "agent"))
        # The first step's line (under 1% of the steps): too early for an
        # estimate, which one-off costs would make.
        first = next(line for line in stderr.splitlines() if line.startswith("trd train:"))
        assert "(epoch 1/3)" in first and "so far" in first, first
        assert not ETA.search(first), first
        epochs = [line for line in stderr.splitlines() if line.startswith("trd train: epoch")]
        assert len(epochs) == 3, stderr
        # An epoch's line comes when it is judged, with the time its steps
        # leave: the first's before the last epoch's steps are done, the
        # last's (and maybe the second's) after them.
        assert ETA.search(epochs[0]), epochs
        assert not ETA.search(epochs[2]), epochs[2]

        live = on_terminal(train + ["--out", os.path.join(tmp, "agent-tty")])
        assert "\r\x1b[K" in live, repr(live[:300])
        assert "trd train: epoch 3/3" in live, repr(live[-300:])


if __name__ == "__main__":
    main()
    print("ok")
