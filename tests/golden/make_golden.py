"""Record the original network's behaviour as golden data for tests/test_reference.py.

Run from the repository root, with the seed folder beside the checkout::

    python tests/golden/make_golden.py ../shared/seed/original_network.py

For numpy.random.seed 0, 1 and 2 this runs the original code unchanged (its
``nerualnetwo`` class and its ``__main__`` data), captures every loss it prints
and the nine trained parameters, and writes ``tests/golden/original_seed<k>.json``.
Floats are stored with ``float.hex`` so that the comparison is bit for bit.
"""

import contextlib
import io
import json
import pathlib
import runpy
import sys

import numpy

NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")


def record(path, seed):
    module = runpy.run_path(path)  # defines the class; does not run __main__
    data = numpy.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])
    all_y_trues = numpy.array([1, 0, 0, 1])
    numpy.random.seed(seed)
    ner = module["nerualnetwo"]()
    initial = {n: float(getattr(ner, n)).hex() for n in NAMES}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ner.train(data, all_y_trues)
    logged = []
    for line in out.getvalue().splitlines():
        epoch, loss = line.split()
        logged.append([int(epoch), float(loss).hex()])
    final = {n: float(getattr(ner, n)).hex() for n in NAMES}
    return {"seed": seed, "initial": initial, "final": final, "logged": logged}


if __name__ == "__main__":
    source = sys.argv[1]
    here = pathlib.Path(__file__).parent
    for seed in (0, 1, 2):
        golden = record(source, seed)
        (here / f"original_seed{seed}.json").write_text(json.dumps(golden, indent=1) + "\n")
        print(f"seed {seed}: {len(golden['logged'])} logged losses")
