"""The ``vecnet`` command line: ``demo``, ``bench``, ``train``, ``predict``, ``convert`` and ``seeds``."""

from __future__ import annotations

import argparse
import math
import sys

from .train import _positive_int


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32), got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _demo(args):
    from .demo import run_demo

    run_demo(seed=args.seed, epochs=args.epochs, lr=args.lr, every=args.every)
    return 0


def _bench(args):
    from ..bench import main

    return main(args)


def build_parser():
    """The argument parser of the ``vecnet`` command."""
    parser = argparse.ArgumentParser(
        prog="vecnet", description="Small feedforward networks, exact down to each weight and fast.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="train the article's 2-2-1 network with every engine and compare",
        description="Train the article's 2-2-1 sigmoid network with the per-scalar reference, the "
                    "NumPy engine and the Numba engine from the same initial weights; print the "
                    "loss, the final predictions, the largest parameter difference and the times.")
    demo.add_argument("--seed", type=_seed, default=0,
                      help="numpy.random.seed for the initial weights (default 0)")
    demo.add_argument("--epochs", type=_positive_int, default=1000, help="epochs (default 1000)")
    demo.add_argument("--lr", type=_positive_float, default=0.1, help="learning rate (default 0.1)")
    demo.add_argument("--every", type=_positive_int, default=100,
                      help="print the loss every N epochs (default 100)")
    demo.set_defaults(func=_demo)

    bench = sub.add_parser(
        "bench", help="time the engines side by side on a small matrix of workloads",
        description="Train the same networks from the same weights with every engine and print, "
                    "per workload, the time per update (per-sample SGD) or per epoch, and the "
                    "speed-up against the per-scalar loop and against the NumPy engine. The JIT "
                    "compile is kept out of the times and reported apart.")
    bench.add_argument("--quick", action="store_true",
                       help="a smaller matrix (seconds once its kernels are compiled; the first run "
                            "compiles them: about a minute)")
    bench.add_argument("--peers", action="store_true",
                       help="also time PyTorch (CPU) and scikit-learn's MLP where installed")
    bench.add_argument("--json", metavar="PATH", help="save the results as JSON")
    bench.add_argument("--plot", metavar="PATH", help="save a bar chart (needs matplotlib)")
    bench.set_defaults(func=_bench)

    from .train import add_parsers

    add_parsers(sub)
    from .convert import add_parser as add_convert

    add_convert(sub)
    from .seeds import add_parser as add_seeds

    add_seeds(sub)
    return parser


def main(argv=None):
    """Entry point of the ``vecnet`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"vecnet {args.command}: error: {exc}", file=sys.stderr)
        return 2

