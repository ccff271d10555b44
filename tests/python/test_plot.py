"""python3 -m trd.plot RUN_DIR on a small `trd run` folder: both PNGs are
written, decode, and have the sizes trd.plot promises; with --follow the
learning curve waits for a line on stdin and the comparison for stdin to close; a folder without train.csv is exit 2
and writes nothing. `trd run` itself draws them.
"""

import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "cli"))
from common import TRD, import_or_skip  # noqa: E402

EXPECTED = {"learning_curve.png": (1200, 360), "test_comparison.png": (1200, 640)}


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def main():
    if import_or_skip("matplotlib", "python3-matplotlib") is None:
        return
    import matplotlib.image
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        proc = subprocess.run(
            [TRD, "run", "--dataset", "synthetic", "--synthetic-interactions", "3000",
             "--epochs", "2", "--n-actions", "20", "--list-length", "40", "--out", run_dir],
            capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        assert "pictures in" in proc.stderr, proc.stderr
        for name in EXPECTED:
            os.remove(os.path.join(run_dir, name))

        proc = subprocess.run([sys.executable, "-m", "trd.plot", run_dir], capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        for name, size in EXPECTED.items():
            path = os.path.join(run_dir, name)
            assert path in proc.stdout, proc.stdout
            assert png_size(path) == size, (name, png_size(path))
            pixels = matplotlib.image.imread(path)
            assert pixels.shape[:2] == (size[1], size[0]), pixels.shape
            assert pixels.std() > 0.01, f"{name} is blank"
        assert not any(n.endswith(".partial.png") for n in os.listdir(run_dir))

        # --follow, as trd run drives it: nothing before a line on stdin
        # (training ended), then the learning curve, and the comparison only
        # after stdin closes (eval.csv is written then).
        for name in EXPECTED:
            os.remove(os.path.join(run_dir, name))
        eval_csv = os.path.join(run_dir, "eval.csv")
        os.rename(eval_csv, eval_csv + ".later")
        plot = subprocess.Popen([sys.executable, "-m", "trd.plot", "--follow", run_dir],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        curve = os.path.join(run_dir, "learning_curve.png")
        time.sleep(3)
        assert not os.path.exists(curve) and plot.poll() is None, plot.poll()
        plot.stdin.write("\n")
        plot.stdin.flush()
        deadline = time.monotonic() + 120
        while not os.path.exists(curve) and plot.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(curve) and plot.poll() is None, plot.poll()
        assert not os.path.exists(os.path.join(run_dir, "test_comparison.png"))
        os.rename(eval_csv + ".later", eval_csv)
        out, err = plot.communicate(timeout=120)
        assert plot.returncode == 0, err
        for name, size in EXPECTED.items():
            assert png_size(os.path.join(run_dir, name)) == size, name

        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        proc = subprocess.run([sys.executable, "-m", "trd.plot", empty], capture_output=True,
                              text=True)
        assert proc.returncode == 2, (proc.returncode, proc.stderr)
        assert "no train.csv" in proc.stderr and os.listdir(empty) == [], proc.stderr


if __name__ == "__main__":
    main()
    print("ok")
