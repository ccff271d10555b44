"""Agents from plugins (agents/plugin.hpp): the linear example agent trained and
evaluated through `trd run --agent-library`, its folder re-evaluated with and
without the library, and libraries trd must refuse with exit 2 and one line.

Usage: test_plugins.py TRD LINEAR_PLUGIN NO_ENTRY_LIBRARY OTHER_VERSION_PLUGIN
"""

import json
import os
import subprocess
import sys
import tempfile

from common import TRD, run

LINEAR, NO_ENTRY, OTHER_VERSION = (os.path.abspath(p) for p in sys.argv[2:5])


def expect_refused(args, *phrases):
    proc = subprocess.run([TRD, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        # The plugin's own flags (--lr, --exploration) parse once it is loaded.
        _, stderr = run("run", "--dataset", "synthetic", "--synthetic-interactions", "4000",
                        "--epochs", "2", "--n-actions", "20", "--list-length", "40",
                        "--agent-library", LINEAR, "--agent", "linear", "--exploration", "0.2",
                        "--out", out)
        with open(os.path.join(out, "agent", "agent.json")) as f:
            sidecar = json.load(f)
        assert sidecar["agent"] == "linear", sidecar["agent"]
        assert sidecar["settings"]["exploration"] == 0.2, sidecar["settings"]
        with open(os.path.join(out, "eval.csv")) as f:
            header = f.readline().strip().split(",")
        assert header[2:4] == ["student", "teacher"], header

        # --help lists the plugin's options beside the built-in agents'.
        help_text, _ = run("train", "--agent-library", LINEAR, "--help")
        for section in ("dqn options", "ddpg options", "linear options", "--exploration"):
            assert section in help_text, section

        evaluate = ["eval", "--dataset", os.path.join(out, "dataset.h5"),
                    "--knowledge", os.path.join(out, "bprmf-test.h5"),
                    "--agent", os.path.join(out, "agent"), "--out", os.path.join(tmp, "again")]
        run(*evaluate, "--agent-library", LINEAR)
        expect_refused(evaluate, "agent 'linear' is not registered", "--agent-library")

        train = ["train", "--dataset", os.path.join(out, "dataset.h5"),
                 "--knowledge", os.path.join(out, "bprmf-rl.h5"),
                 "--valid-knowledge", os.path.join(out, "bprmf-valid.h5"),
                 "--n-actions", "20", "--out", os.path.join(tmp, "refused"), "--agent", "linear"]
        expect_refused(train, "--agent 'linear': unknown agent", "--agent-library")
        expect_refused(train + ["--agent-library", NO_ENTRY], NO_ENTRY,
                       "exports no trd_register_agents")
        not_a_library = os.path.join(tmp, "agent.so")
        with open(not_a_library, "w") as f:
            f.write("not an ELF file\n")
        expect_refused(train + ["--agent-library", not_a_library], not_a_library,
                       "cannot load it as a shared library")
        expect_refused(train + ["--agent-library", os.path.join(tmp, "missing.so")],
                       "missing.so: no such file")
        expect_refused(train + ["--agent-library", OTHER_VERSION], OTHER_VERSION,
                       "built against trd 0.0.0-other", "rebuild the plugin")
        expect_refused(train + ["--agent-library", LINEAR, "--exploration", "1.5"],
                       "exploration", "[0, 1]")
        expect_refused(train[:-2] + ["--agent", "dqn", "--exploration", "0.5",
                                     "--agent-library", LINEAR],
                       "--exploration is a flag of agent linear, not of --agent dqn")
        assert not os.path.exists(os.path.join(tmp, "refused"))


if __name__ == "__main__":
    main()
    print("ok")
