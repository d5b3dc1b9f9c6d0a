"""Record the original network's behaviour as golden data for tests/test_reference.py.

Run from the repository root, with the seed folder beside the checkout::

    python tests/golden/make_golden.py ../shared/seed/original_network.py

For numpy.random.seed 0, 1 and 2 this runs the original code unchanged (its
``nerualnetwo`` class and its ``__main__`` data), captures every loss it prints
and the nine trained parameters, and writes ``tests/golden/original_seed<k>.json``.
Floats are stored with ``float.hex`` so that the comparison is bit for bit.

Each file also says where it was made (``recorded_with``): the numpy version and
the SIMD features numpy dispatched to on that machine. numpy's ``exp`` takes a
different code path per CPU (an AVX-512 one, or the C library's otherwise), so
the logged losses and trained parameters are bit for bit only on a machine that
dispatches the same way; elsewhere they agree within a few ulps.

tests/test_reference.py imports ``run_original`` and ``parse_log`` from here to run
the original live when it is at hand, and ``recorded_with`` to compare machines.
"""

import contextlib
import io
import json
import pathlib
import platform
import runpy
import sys

import numpy

NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")
SEEDS = (0, 1, 2)


def _article_data():
    """The original's ``__main__`` data, verbatim."""
    data = numpy.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])
    all_y_trues = numpy.array([1, 0, 0, 1])
    return data, all_y_trues


def run_original(path, seed):
    """Run the original, unchanged, on its own data from ``numpy.random.seed(seed)``.

    Returns the trained network (its nine parameters as attributes), its
    parameters as drawn, and everything it printed.
    """
    module = runpy.run_path(str(path))  # defines the class; does not run __main__
    numpy.random.seed(seed)
    ner = module["nerualnetwo"]()
    initial = {n: getattr(ner, n) for n in NAMES}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ner.train(*_article_data())
    return ner, initial, out.getvalue()


def parse_log(text):
    """The original's ``print(i, loss)`` lines as ``[[epoch, loss.hex()], ...]``."""
    logged = []
    for line in text.splitlines():
        epoch, loss = line.split()
        logged.append([int(epoch), float(loss).hex()])
    return logged


def record(path, seed):
    """The original's initial and trained parameters and logged losses, as hex strings."""
    ner, initial, printed = run_original(path, seed)
    return {
        "seed": seed,
        "initial": {n: float(v).hex() for n, v in initial.items()},
        "final": {n: float(getattr(ner, n)).hex() for n in NAMES},
        "logged": parse_log(printed),
    }


def simd_features():
    """numpy's SIMD dispatch on this machine, as ``numpy.show_runtime()`` reports it.

    ``baseline``: features numpy was compiled to require; ``dispatched``: the optional
    targets it found and uses here (``NPY_DISABLE_CPU_FEATURES`` removes some);
    ``not_dispatched``: the optional targets it does not use here.
    """
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as umath
    features = umath.__cpu_features__
    dispatch = list(umath.__cpu_dispatch__)
    return {
        "baseline": list(umath.__cpu_baseline__),
        "dispatched": [f for f in dispatch if features.get(f)],
        "not_dispatched": [f for f in dispatch if not features.get(f)],
    }


def recorded_with():
    """Where golden data is made: numpy version, SIMD dispatch, machine, Python."""
    return {
        "numpy": numpy.__version__,
        "simd": simd_features(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


if __name__ == "__main__":
    source = sys.argv[1]
    here = pathlib.Path(__file__).parent
    for seed in SEEDS:
        golden = {"recorded_with": recorded_with(), **record(source, seed)}
        (here / f"original_seed{seed}.json").write_text(json.dumps(golden, indent=1) + "\n")
        print(f"seed {seed}: {len(golden['logged'])} logged losses")
