"""--config files, data-folder lookup and the auto dataset choice."""

import json
import os
import subprocess
import tempfile

from common import TRD, run_json

U_DATA = "1\t10\t5\t100\n1\t20\t3\t101\n2\t10\t4\t102\n2\t30\t1\t103\n3\t20\t2\t104\n"


def data_json(cwd, *args, env=None):
    proc = subprocess.run([TRD, "data", *args, "--json"], cwd=cwd, capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # A working folder with no datasets/ and no ../shared/datasets beside it.
        work = os.path.join(tmp, "a", "work")
        os.makedirs(work)
        env = {k: v for k, v in os.environ.items() if k != "TRD_DATA_DIR"}

        made, stderr = data_json(work, "--synthetic-interactions", "3000", "--out", "d.h5", env=env)
        assert made["dataset"] == "synthetic", made
        assert "using the built-in synthetic dataset" in stderr, stderr

        mine = os.path.join(tmp, "mine")
        os.makedirs(os.path.join(mine, "ml-100k"))
        with open(os.path.join(mine, "ml-100k", "u.data"), "w") as f:
            f.write(U_DATA)
        made, _ = data_json(work, "--data-dir", mine, "--out", "d.h5", env=env)
        assert (made["dataset"], made["n_users"], made["n_items"]) == ("ml-100k", 3, 3), made
        made, _ = data_json(work, "--dataset", "ml-100k", "--out", "d.h5",
                            env={**env, "TRD_DATA_DIR": mine})
        assert made["n_interactions"] == 5, made

        # INI values apply; the command line wins over them.
        config = os.path.join(tmp, "run.ini")
        with open(config, "w") as f:
            f.write("dataset = ml-100k\ninput = " + os.path.join(mine, "ml-100k") +
                    "\nmin-rating = 3\nout = from-config.h5\n")
        made, _ = data_json(work, "--config", config, env=env)
        assert made["n_interactions"] == 3 and made["out"] == "from-config.h5", made
        assert os.path.isfile(os.path.join(work, "from-config.h5"))
        made, _ = data_json(work, "--config", config, "--min-rating", "4", env=env)
        assert made["n_interactions"] == 2, made

        # The same seed gives the same synthetic data; another seed does not.
        def synthetic(seed, out):
            run_json("data", "--dataset", "synthetic", "--synthetic-interactions", "3000",
                     "--seed", seed, "--out", os.path.join(tmp, out))
            return run_json("inspect", os.path.join(tmp, out))["splits"]
        assert synthetic("5", "s1.h5") == synthetic("5", "s2.h5")
        assert synthetic("5", "s1.h5") != synthetic("6", "s3.h5")


if __name__ == "__main__":
    main()
    print("ok")
