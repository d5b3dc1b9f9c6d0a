"""vecnet's MLPClassifier against scikit-learn's on the bundled digits set.

Both get the same architecture and settings (one hidden layer of 100 ReLU units,
Adam with learning rate 1e-3, L2 alpha 1e-4, batches of 200, up to 200 epochs,
scikit-learn's stopping rule with tol 1e-4 and 10 epochs of patience), the same
75/25 stratified split of the 1797 8x8 images (pixels scaled to [0, 1]), and are
timed on ``fit`` alone. vecnet's JIT compile time is measured apart, by a
one-epoch fit before the timed ones, and reported separately.

Run::

    pip install scikit-learn
    python examples/digits.py             # one timed fit each
    python examples/digits.py --repeats 5 # best of 5
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import vecnet

SETTINGS = dict(hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=1e-4,
                batch_size=200, learning_rate_init=1e-3, max_iter=200, shuffle=True, tol=1e-4,
                n_iter_no_change=10)
"""The settings both classifiers get (scikit-learn's defaults, written out)."""


def digits_split(seed=0):
    """The digits set scaled to [0, 1], split 75/25 stratified: ``Xtr, Xte, ytr, yte``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)


def _timed_fit(make, Xtr, ytr):
    """Seconds of one ``fit`` of a fresh ``make()``, and the fitted model."""
    model = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # ConvergenceWarning if max_iter is reached
        t0 = time.perf_counter()
        model.fit(Xtr, ytr)
        return time.perf_counter() - t0, model


def compare(seed=0, repeats=1, engine="auto", blas_threads=1):
    """Fit both classifiers on the digits; return their accuracies, fit times and epochs.

    Returns
    -------
    dict
        ``vecnet_accuracy``, ``sklearn_accuracy``, ``vecnet_time``, ``sklearn_time``
        (seconds, best of ``repeats``), ``vecnet_epochs``, ``sklearn_epochs``,
        ``compile_time`` (vecnet's one-epoch warm-up fit), ``engine``.

    Both libraries run with the same BLAS thread limit, ``blas_threads``
    (``None``: no limit); on a shared machine, threads spinning for tiny matrix
    products make unlimited timings swing tenfold.
    """
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _compare(SkMLP, seed, repeats, engine)


def _compare(SkMLP, seed, repeats, engine):
    """:func:`compare` under the thread limit."""
    Xtr, Xte, ytr, yte = digits_split(seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vecnet.MLPClassifier(**{**SETTINGS, "max_iter": 1}, engine=engine, random_state=seed).fit(Xtr, ytr)
    compile_time = time.perf_counter() - t0
    vt = st = np.inf
    for _ in range(repeats):   # alternate, so that a busy moment does not favour either
        t, vnet = _timed_fit(lambda: vecnet.MLPClassifier(**SETTINGS, engine=engine, random_state=seed),
                             Xtr, ytr)
        vt = min(vt, t)
        t, sk = _timed_fit(lambda: SkMLP(**SETTINGS, random_state=seed), Xtr, ytr)
        st = min(st, t)
    return {"vecnet_accuracy": vnet.score(Xte, yte), "sklearn_accuracy": sk.score(Xte, yte),
            "vecnet_time": vt, "sklearn_time": st, "vecnet_epochs": vnet.n_iter_,
            "sklearn_epochs": sk.n_iter_, "compile_time": compile_time, "engine": vnet.engine_}


def main(argv=None):
    parser = argparse.ArgumentParser(description="vecnet vs scikit-learn MLPClassifier on the digits set")
    parser.add_argument("--seed", type=int, default=0, help="split and weight seed (default 0)")
    parser.add_argument("--repeats", type=int, default=1, help="timed fits per library, best kept (default 1)")
    parser.add_argument("--engine", default="auto", choices=["auto", "numpy", "numba"],
                        help="vecnet engine (default auto)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads for both libraries (default 1; 0 for no limit)")
    args = parser.parse_args(argv)
    r = compare(args.seed, args.repeats, args.engine, args.blas_threads or None)
    print(f"digits, 1347 train / 450 test, {SETTINGS['hidden_layer_sizes']} relu, adam, batch 200, "
          f"BLAS threads {args.blas_threads or 'unlimited'}")
    print(f"{'':10s}{'accuracy':>10s}{'fit (s)':>10s}{'epochs':>8s}")
    print(f"{'vecnet':10s}{r['vecnet_accuracy']:10.4f}{r['vecnet_time']:10.3f}{r['vecnet_epochs']:8d}"
          f"   engine {r['engine']}, compile/warm-up {r['compile_time']:.2f} s apart")
    print(f"{'sklearn':10s}{r['sklearn_accuracy']:10.4f}{r['sklearn_time']:10.3f}{r['sklearn_epochs']:8d}")
    print(f"fit time ratio sklearn / vecnet: {r['sklearn_time'] / r['vecnet_time']:.2f}x")


if __name__ == "__main__":
    main()
