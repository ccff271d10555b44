"""Pictures of a trd run: python3 -m trd.plot RUN_DIR

Writes, into RUN_DIR (a `trd run` folder, or a `trd train` folder):
  learning_curve.png   mean return, loss and the valid NDCG per epoch, from
                       train.csv, against the teacher's valid NDCG (agent.json)
  test_comparison.png  each metric against k for every line of eval.csv
                       (student, teacher, MostPop and the reference lines);
                       only where the folder has an eval.csv
Needs matplotlib (Debian: python3-matplotlib); exits 3 without it, 2 when the
folder holds no train.csv.

python3 -m trd.plot --follow RUN_DIR loads matplotlib and builds and draws
the empty figures at once, draws the learning curve when a line arrives on
its stdin and the comparison when its stdin closes: `trd run` starts it with
the run, writes the line when train.csv is complete and closes its stdin
when eval.csv is written, so the interpreter's start overlaps the stages and
the first picture the report.
"""

import csv
import json
import os
import sys

FIGURE_DPI = 100
LEARNING_CURVE_SIZE = (12, 3.6)   # inches: 1200 x 360 pixels
COMPARISON_SIZE = (12, 6.4)       # 1200 x 640
COMPARISON_MARGINS = dict(left=0.05, right=0.99, top=0.95, bottom=0.13, wspace=0.22, hspace=0.35)
# The comparison's titles are placed, not left to matplotlib, which measured
# every tick label (a fifth of the picture's time) to lift a title clear of
# top ticks or an axis offset; its axes have neither (they start at 0). The
# learning curve's return axis can show an offset, so its titles stay auto.
COMPARISON_TITLE_HEIGHT = 1.0
CEILING = "window_ceiling"
METRICS = ("precision", "recall", "hr", "map", "mrr", "ndcg")
EXIT_BAD_INPUT, EXIT_NO_MATPLOTLIB = 2, 3
FOLLOW_FLAG = "--follow"


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _floats(rows, column):
    return [float(row[column]) if row[column] not in ("", "nan") else float("nan") for row in rows]


def _agent_dir(run_dir):
    nested = os.path.join(run_dir, "agent")
    return nested if os.path.isfile(os.path.join(nested, "train.csv")) else run_dir


def _save(pyplot, figure, out_path):
    # Written beside and renamed, so a crash never leaves half a picture.
    partial = out_path + ".partial.png"
    figure.savefig(partial, dpi=FIGURE_DPI)
    pyplot.close(figure)
    os.replace(partial, out_path)


def empty_figures(pyplot):
    """Both pictures' empty grids, about a fifth of their drawing time: trd
    run has them built while it trains."""
    return (pyplot.subplots(1, 3, figsize=LEARNING_CURVE_SIZE, dpi=FIGURE_DPI),
            pyplot.subplots(2, 3, figsize=COMPARISON_SIZE, dpi=FIGURE_DPI))


def learning_curve(pyplot, run_dir, out_path, figure_and_axes):
    from matplotlib.ticker import MaxNLocator

    agent_dir = _agent_dir(run_dir)
    rows = _read_csv(os.path.join(agent_dir, "train.csv"))
    if not rows:
        raise ValueError(os.path.join(agent_dir, "train.csv") + ": no epochs")
    epochs = [int(row["epoch"]) for row in rows]
    valid_column = next(c for c in rows[0] if c.startswith("valid_ndcg@"))
    teacher = None
    sidecar = os.path.join(agent_dir, "agent.json")
    if os.path.isfile(sidecar):
        with open(sidecar) as f:
            teacher = json.load(f).get("valid_teacher")
    figure, axes = figure_and_axes
    for ax, column, title in (
        (axes[0], "mean_return", "mean return per episode"),
        (axes[1], "loss", "loss"),
        (axes[2], valid_column, "valid " + valid_column.split("_", 1)[1].upper()),
    ):
        ax.plot(epochs, _floats(rows, column), marker="o", label="student")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if teacher is not None:
        axes[2].axhline(teacher, color="grey", linestyle="--", label="teacher")
    best = [e for e, row in zip(epochs, rows) if row.get("best") == "1"]
    if best:
        axes[2].axvline(best[-1], color="green", alpha=0.3, label="best epoch")
    axes[2].legend()
    figure.tight_layout()
    _save(pyplot, figure, out_path)


def test_comparison(pyplot, eval_csv, out_path, figure_and_axes):
    rows = _read_csv(eval_csv)
    columns = list(rows[0])
    lines = columns[2:next((i for i, c in enumerate(columns) if c.startswith("difference")),
                           len(columns))]
    lines = [line for line in lines if line != "eval_feedback"]
    figure, axes = figure_and_axes
    for ax, metric in zip(axes.flat, METRICS):
        metric_rows = [row for row in rows if row["metric"] == metric]
        ks = [int(row["k"]) for row in metric_rows]
        top = 0.0
        for line in lines:
            values = _floats(metric_rows, line)
            if line == CEILING:
                ax.plot(ks, values, marker="o", linestyle=":", color="grey",
                        label=CEILING + " (reads labels; may run off the top)")
            else:
                ax.plot(ks, values, marker="o", label=line)
                top = max([top] + [v for v in values if v == v])
        # The methods' range: the label-reading ceiling would flatten them.
        ax.set_ylim(0, top * 1.15 if top > 0 else 1)
        ax.set_title(metric, y=COMPARISON_TITLE_HEIGHT)
        ax.set_xlabel("k")
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9)
    # Fixed margins for this fixed grid: tight_layout measured every label
    # for 0.15 s of the 0.4 s this picture took, the last step of trd run.
    figure.subplots_adjust(**COMPARISON_MARGINS)
    _save(pyplot, figure, out_path)


def plot_run(pyplot, run_dir, figures, before_comparison=None):
    """Draws `figures` (empty_figures()) into the pictures; returns their
    paths. `before_comparison`, when given, is called between the two (trd
    run writes eval.csv meanwhile)."""
    curve, comparison = figures
    written = []
    path = os.path.join(run_dir, "learning_curve.png")
    learning_curve(pyplot, run_dir, path, curve)
    written.append(path)
    if before_comparison is not None:
        before_comparison()
    eval_csv = os.path.join(run_dir, "eval.csv")
    if os.path.isfile(eval_csv):
        path = os.path.join(run_dir, "test_comparison.png")
        test_comparison(pyplot, eval_csv, path, comparison)
        written.append(path)
    return written


def _wait_for_stdin_to_close():
    while sys.stdin.read(4096):
        pass


def main(argv):
    follow = argv[:1] == [FOLLOW_FLAG]
    if follow:
        argv = argv[1:]
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else EXIT_BAD_INPUT
    run_dir = argv[0]

    def has_train_csv():
        if os.path.isfile(os.path.join(_agent_dir(run_dir), "train.csv")):
            return True
        print("trd.plot: error: %s: no train.csv (not a trd run or train folder)" % run_dir,
              file=sys.stderr)
        return False

    if not follow and not has_train_csv():
        return EXIT_BAD_INPUT
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot  # most of the start's time
    except ImportError:
        print("trd.plot: matplotlib is not importable (Debian: python3-matplotlib)", file=sys.stderr)
        return EXIT_NO_MATPLOTLIB
    figures = empty_figures(pyplot)
    if follow:
        # Drawn once while trd run trains: a process' first drawing loads the
        # fonts and fills matplotlib's caches, a third of the pictures' time
        # after training. They come out pixel for pixel the same.
        for figure, _ in figures:
            figure.canvas.draw()
    if follow and (not sys.stdin.readline() or not has_train_csv()):
        return EXIT_BAD_INPUT  # trd run ended before training did, or train.csv is gone
    try:
        wait = _wait_for_stdin_to_close if follow else None
        for path in plot_run(pyplot, run_dir, figures, wait):
            print(path)
    except (KeyError, ValueError, StopIteration, IndexError) as error:
        print("trd.plot: error: %s: malformed run files (%s)" % (run_dir, error), file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
