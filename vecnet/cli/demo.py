"""``vecnet demo``: the article's network trained by every engine from the same weights."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..article import from_reference
from ..data.examples import article_data
from ..data.options import check_positive_int, check_real
from ..reference import ReferenceNetwork
from ..training import DivergenceWarning

ENGINE_ORDER = ("reference", "numpy", "numba")


def run_demo(seed=0, epochs=1000, lr=0.1, every=100, out=print):
    """Train the article's 2-2-1 network with each engine and report how they compare.

    Parameters
    ----------
    seed : int, default 0
        ``numpy.random.seed`` for the original's nine N(0, 1) draws.
    epochs : int, default 1000
    lr : float, default 0.1
    every : int, default 100
        Print the loss every ``every`` epochs.
    out : callable, default print

    Raises
    ------
    ValueError
        A parameter is out of range, or training diverged (``lr`` too large).

    Returns
    -------
    dict
        ``{engine: (network, history)}``.
    """
    epochs = check_positive_int(epochs, "epochs")
    every = check_positive_int(every, "every")
    lr = check_real(lr, "lr", low=0, low_open=True)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    X, y = article_data()
    np.random.seed(seed)
    start = ReferenceNetwork()
    out(f"vecnet demo: the article's 2-2-1 sigmoid network, {len(X)} samples, per-sample SGD, "
        f"lr={lr}, {epochs} epochs, initial weights from numpy.random.seed({seed})")
    results = {}
    for engine in ENGINE_ORDER:
        if engine == "numba":
            out("(the Numba engine compiles this configuration's kernel on first use, a few "
                "seconds once; later runs load it from the cache)")
        net = from_reference(start)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)   # said below, in one line
            history = net.fit(X, y, epochs=epochs, lr=lr, batch_size=1, engine=engine)
        total = time.perf_counter() - t0
        if history.stopped == "diverged":
            raise ValueError(f"training diverged with lr={lr:g}: the loss or a weight stopped being "
                             f"finite in epoch {history.epochs + 1} (engine {engine}); use a smaller lr")
        results[engine] = (net, history, total - history.compile_time)
    out("")
    out("epoch  " + "  ".join(f"{e:>12}" for e in ENGINE_ORDER) + "   (training loss)")
    for epoch in sorted({*range(0, epochs, every), epochs - 1}):   # the last epoch once
        row = "  ".join(f"{results[e][1].loss[epoch]:12.8f}" for e in ENGINE_ORDER)
        out(f"{epoch:5d}  {row}")
    out("")
    out("final predictions (target):")
    for engine in ENGINE_ORDER:
        pred = results[engine][0].predict(X)[:, 0]
        out(f"  {engine:>9}: " + "  ".join(f"{p:.6f}" for p in pred) + f"   ({y.astype(int).tolist()})")
    ref_theta = results["reference"][0].theta
    out("")
    out("largest parameter difference from the reference:")
    for engine in ENGINE_ORDER[1:]:
        diff = np.abs(results[engine][0].theta - ref_theta).max()
        out(f"  {engine:>9}: {diff:.3g}")
    out("")
    out("time (training only; JIT compile or cache load shown apart):")
    updates = epochs * len(X)
    for engine in ENGINE_ORDER:
        _, history, train_time = results[engine]
        extra = f"   + compile {history.compile_time:.2f} s" if engine == "numba" else ""
        out(f"  {engine:>9}: {train_time * 1e3:9.2f} ms  ({train_time / updates * 1e9:,.0f} ns/update){extra}")
    return {e: results[e][:2] for e in ENGINE_ORDER}
