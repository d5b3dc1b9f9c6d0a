"""``vecnet seeds``: how often the article's 2-2-1 network converges, over many initial weight draws.

The computation is :func:`vecnet.studies.seeds_study`; this module parses the
options, shows progress, prints the summary (or ``--json``) and draws
``--plot`` (matplotlib, the ``plot`` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from ..data.options import check_figure_path
from ..engines import engine_names
from ..studies import GROUP, PERCENTILES, THRESHOLDS, seeds_study

EPILOG = """\
examples:
  vecnet seeds                                  # 10,000 draws x 1,000 epochs, lr 0.1
  vecnet seeds --draws 1000 --epochs 5000 --thresholds 0.01,0.001,0.0001
  vecnet seeds --json > seeds.json
  vecnet seeds --plot seeds.png                 # needs pip install "vecnet[plot]"

Draw k starts from vecnet.Network([2, 2, 1], seed=numpy.random.SeedSequence(SEED,
spawn_key=(k,))): nine N(0, 1) weights, the article's initialisation. The same
--seed gives the same figures; the first N draws of a larger study are those of
--draws N. The loss of an epoch is the mean of the per-sample losses taken
before each update (History.loss).
"""


def _count(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _thresholds(text):
    parts = [p.strip() for p in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers > 0 such as 0.01,0.001, got {text!r}")
    try:
        return [_positive(p) for p in parts]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated finite numbers > 0 such as 0.01,0.001, got {text!r}") from None


def add_parser(sub):
    """Register ``vecnet seeds`` on the subcommands ``sub``."""
    p = sub.add_parser(
        "seeds", help="how often the article's network converges, over many initial weight draws",
        description="Train the article's 2-2-1 sigmoid network (its 4 samples, per-sample SGD) from "
                    "many N(0, 1) initial weight draws and report the share that reach each loss "
                    "threshold, the epochs they took (percentiles) and a histogram of the final losses.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--draws", type=_count, default=10_000, metavar="N",
                   help="initial weight draws (default 10000)")
    p.add_argument("--epochs", type=_count, default=1000, metavar="E", help="epochs per draw (default 1000)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed of the study (default 0)")
    p.add_argument("--lr", type=_positive, default=0.1, help="learning rate (default 0.1, the article's)")
    p.add_argument("--thresholds", type=_thresholds, default=list(THRESHOLDS), metavar="T1,T2",
                   help="loss thresholds, comma-separated (default 0.01,0.001)")
    p.add_argument("--engine", choices=engine_names(), default="auto", help="training engine (default auto)")
    p.add_argument("--group", type=_count, default=GROUP, metavar="K",
                   help=f"networks trained together per vecnet.fit_many call (default {GROUP})")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of text")
    p.add_argument("--plot", metavar="PATH", help='save a figure (needs pip install "vecnet[plot]")')
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def _progress_bar(total, stream):
    """``(update, close)``: a tqdm bar when tqdm is installed, else a plain line on ``stream``."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=total, unit="draw", file=stream)

        def update(done, _total):
            bar.update(done - bar.n)
        return update, bar.close
    t0 = time.perf_counter()
    tty = stream.isatty()

    def update(done, _total):
        line = f"vecnet seeds: {done:,} of {total:,} draws trained ({time.perf_counter() - t0:.1f} s)"
        stream.write("\r\033[K" + line if tty else line + "\n")
        stream.flush()

    def close():
        if tty:
            stream.write("\n")
            stream.flush()
    return update, close


def _epochs_line(p):
    return ", ".join(f"{q}% {p[f'p{q}']:,}" for q in PERCENTILES)


def report(study, out=print):
    """Print ``study``'s summary for people."""
    s = study.summary()
    out(f"vecnet seeds: the article's 2-2-1 sigmoid network from {s['draws']:,} N(0, 1) weight draws "
        f"(seed {s['seed']}), its 4 samples, per-sample SGD, lr={s['lr']:g}, {s['epochs']:,} epochs, "
        f"engine {s['engine']}")
    out("")
    for t in s["thresholds"]:
        line = (f"loss < {t['threshold']:g} within {s['epochs']:,} epochs: {t['reached']:,} of "
                f"{s['draws']:,} draws ({100 * t['share']:.2f}%)")
        if t["epochs_to_reach"]:
            line += f"; epochs to get there: {_epochs_line(t['epochs_to_reach'])}"
        out(line)
    if s["diverged"]:
        out(f"diverged: {s['diverged']:,} draws (left out of the final losses below)")
    fl = s["final_loss"]
    out("")
    out(f"final loss after {s['epochs']:,} epochs (log-spaced bins; a bin holds lo <= loss < hi):")
    counts = fl["histogram"]["counts"]
    edges = fl["histogram"]["edges"]
    width = 40 / max(max(counts, default=1), 1)
    for lo, hi, c in zip(edges[:-1], edges[1:], counts):
        bar = "#" * math.ceil(c * width) if c else ""
        out(f"  [{lo:9.3g}, {hi:9.3g})  {c:7,}  {bar}".rstrip())
    if fl["percentiles"]:
        p = fl["percentiles"]
        out("  percentiles: " + ", ".join(f"{q}% {p[f'p{q}']:.3g}" for q in PERCENTILES))
    out("")
    out(f"time: {s['seconds']:.1f} s (kernel compile or cache load {s['compile_seconds']:.1f} s of it)")


def plot(study, path):
    """A figure of ``study``: some loss curves, the share under each threshold by epoch, the final losses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..studies import log_histogram

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4.2))
    epochs = np.arange(1, study.epochs + 1)
    for curve in study.curves:
        a.plot(epochs, curve, color="0.4", linewidth=0.8, alpha=0.6)
    a.set_yscale("log")
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    a.set_title(f"loss curves of the first {len(study.curves)} draws")
    for i, t in enumerate(study.thresholds):
        b.plot(epochs, 100 * study.share_by_epoch(i), color=f"C{i}", label=f"loss < {t:g}")
        a.axhline(t, color=f"C{i}", linestyle="--", linewidth=0.8)
    b.set_ylim(0, 100)
    b.set_xlabel("epoch")
    b.set_ylabel("% of draws")
    b.set_title("share of draws below each threshold by epoch")
    b.legend()
    ok = study.final[~study.diverged]
    edges, counts = log_histogram(ok)
    if counts.size:
        c.bar(edges[:-1], counts, width=np.diff(edges), align="edge", edgecolor="black", linewidth=0.5)
    c.set_xscale("log")
    for i, t in enumerate(study.thresholds):
        c.axvline(t, color=f"C{i}", linestyle="--", linewidth=0.8)
    c.set_yscale("log")
    c.set_xlabel(f"training loss after {study.epochs:,} epochs")
    c.set_ylabel("draws (log scale)")
    c.set_title("final losses (dashed: thresholds)")
    fig.suptitle(f"the article's 2-2-1 network from {study.draws:,} N(0, 1) weight draws "
                 f"(seed {study.seed}), lr {study.lr:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(args, out=print):
    """``vecnet seeds``: run the study, print it (text or JSON), save the figure if asked."""
    if args.plot:   # before the study: matplotlib installed, a folder to write in, a file type it writes
        check_figure_path(args.plot)
    update = close = None
    if not args.no_progress:
        update, close = _progress_bar(args.draws, sys.stderr)
    try:
        study = seeds_study(draws=args.draws, epochs=args.epochs, seed=args.seed, lr=args.lr,
                            thresholds=args.thresholds, engine=args.engine, group=args.group, progress=update)
    finally:
        if close is not None:
            close()
    if args.json:
        out(json.dumps(study.summary(), indent=2))
    else:
        report(study, out)
    if args.plot:
        plot(study, args.plot)
        if not args.json:
            out(f"figure saved to {args.plot}")
    return 0
