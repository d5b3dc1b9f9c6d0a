"""The jobs that ``vecnet bench`` and the ``benchmarks/`` suites time.

A :class:`Workload` is one training job (network, data, batching, epochs);
:data:`WORKLOADS` is the default matrix and :data:`QUICK` a smaller one.
:func:`handwritten_numpy` is the plain NumPy loop that bounds the NumPy engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..data.examples import article_data, synthetic
from ..network import Network


@dataclass(frozen=True)
class Workload:
    """One training job: a network, its data, its batches, its epochs.

    Parameters
    ----------
    name : str
    sizes : tuple of int
        Layer sizes, input first.
    n_samples : int
        Synthetic samples (``"article"`` data when ``article`` is True).
    batch_size : int or None
        ``1`` per-sample SGD, ``None`` full batch.
    epochs : int
    activation, output_activation, loss : str
        As :class:`vecnet.Network`.
    dtype : {"float64", "float32"}
    engines : tuple of str
        Runners to time, from :data:`ENGINE_ORDER`.
    article : bool
        Train on the article's four samples instead of synthetic data.
    lr : float, default 0.1
        Learning rate of plain SGD.
    """

    name: str
    sizes: tuple
    n_samples: int
    batch_size: object = 1
    epochs: int = 1
    activation: str = "sigmoid"
    output_activation: object = None
    loss: str = "mse"
    dtype: str = "float64"
    engines: tuple = ("reference", "numpy", "numba")
    article: bool = False
    lr: float = 0.1

    @property
    def per_update(self):
        """True when time is reported per update (per-sample SGD), else per epoch."""
        return self.batch_size == 1

    @property
    def updates(self):
        """Optimizer updates in the whole job."""
        batch = self.n_samples if self.batch_size is None else self.batch_size
        return -(-self.n_samples // batch) * self.epochs

    def network(self, seed=0):
        """The initial network (the same for every engine)."""
        return Network(self.sizes, activation=self.activation,
                       output_activation=self.output_activation, loss=self.loss,
                       init="normal" if self.article else "glorot", seed=seed, dtype=self.dtype)

    def data(self, seed=1):
        """``X`` (n_samples, sizes[0]) and ``Y`` (n_samples, sizes[-1]) in the workload's dtype."""
        if self.article:
            X, y = article_data()
            return X.astype(self.dtype), y[:, None].astype(self.dtype)
        X, y = synthetic(self.n_samples, n_features=self.sizes[0], n_outputs=self.sizes[-1],
                         seed=seed, dtype=self.dtype)
        if self.sizes[0] != 2:
            X /= 10  # unit variance (the 2-feature sets keep the article's scale)
        Y = y.reshape(self.n_samples, -1)
        if self.loss == "cce":
            Y = np.eye(self.sizes[-1], dtype=self.dtype)[Y.argmax(axis=1)]
        elif self.loss == "bce":
            Y = (Y > 0.5).astype(self.dtype)
        return X, Y

    def label(self):
        """A short description of the job for the table."""
        batch = {1: "per-sample", None: "full batch"}.get(self.batch_size, f"batch {self.batch_size}")
        data = "article data" if self.article else f"{self.n_samples:,} samples"
        dtype = "" if self.dtype == "float64" else f", {self.dtype}"
        act = "" if self.sizes == (2, 2, 1) else f"{self.activation} "
        return (f"{act}{'-'.join(map(str, self.sizes))}, {batch}, {data}, "
                f"{self.epochs} epoch{'s' if self.epochs > 1 else ''}{dtype}")


ARTICLE = Workload("article", (2, 2, 1), 4, 1, 1000, article=True)
SGD_10K = Workload("sgd-10k", (2, 2, 1), 10_000)
SGD_100K = Workload("sgd-100k", (2, 2, 1), 100_000, engines=("reference", "numba"))
FULL = Workload("full-batch", (2, 2, 1), 1_000, None, 50)
SMALL = Workload("small", (10, 32, 32, 1), 50_000, 32, activation="sigmoid",
                 output_activation="sigmoid", loss="bce", engines=("numpy", "numpy-hand", "numba"))
SMALL_TANH = replace(SMALL, name="small-tanh", activation="tanh")
WIDE = Workload("wide", (784, 256, 128, 10), 6_000, 128, activation="relu",
                output_activation="softmax", loss="cce", lr=0.01,
                engines=("numpy", "numpy-hand", "numba"))

WORKLOADS = (ARTICLE, SGD_10K, SGD_100K, FULL, SMALL, SMALL_TANH, WIDE,
             replace(WIDE, name="wide-f32", dtype="float32"))
"""The default matrix of ``vecnet bench`` (about half a minute here)."""

QUICK = (replace(ARTICLE, epochs=200), replace(SGD_10K, n_samples=2_000),
         replace(FULL, n_samples=200), replace(SMALL, n_samples=10_000),
         replace(SMALL_TANH, n_samples=10_000),
         replace(WIDE, n_samples=1_280, engines=("numpy", "numpy-hand")))
"""``vecnet bench --quick``: the same kinds of job, smaller."""


def _hand_hidden(Z, activation):
    """The hidden activation, the plain way (a new array)."""
    if activation == "relu":
        return np.maximum(Z, 0)
    if activation == "tanh":
        return np.tanh(Z)
    return 1 / (1 + np.exp(-Z))


def _hand_backward(delta, A, activation):
    """``delta`` times the hidden activation's derivative at its output ``A``, the plain way."""
    if activation == "relu":
        delta[A <= 0] = 0
    elif activation == "tanh":
        delta *= 1 - A**2
    else:
        delta *= A * (1 - A)
    return delta


def handwritten_numpy(net, X, Y, batch_size, epochs, lr):
    """Train ``net`` in place the plain way, with its arithmetic and nothing else.

    Hidden layers ``relu``, ``tanh`` or ``sigmoid``; a softmax output with
    cross-entropy or a sigmoid output with binary cross-entropy (the loss from
    the logits, as the engine computes it). The same arithmetic as the
    ``"numpy"`` engine (``delta = (P - Y) / m``, ``dW = A.T @ delta``,
    ``W -= lr * dW``) written as a plain loop, each intermediate a new array:
    the ceiling for that engine. Returns the last epoch's mean loss.
    """
    params = net.params
    hidden = net.activation
    softmax = net.output_activation == "softmax"
    n = X.shape[0]
    for _ in range(epochs):
        total = 0.0
        for start in range(0, n, batch_size):
            A = X[start:start + batch_size]
            Yb = Y[start:start + batch_size]
            m = A.shape[0]
            acts = [A]
            for W, b in params[:-1]:
                A = A @ W
                A += b
                A = _hand_hidden(A, hidden)
                acts.append(A)
            W, b = params[-1]
            Z = A @ W
            Z += b
            if softmax:
                Z -= Z.max(axis=1, keepdims=True)
                P = np.exp(Z)
                s = P.sum(axis=1, keepdims=True)
                total += float(np.sum(np.log(s[:, 0]) - (Yb * Z).sum(axis=1)))
                P /= s
                delta = P - Yb
                delta *= 1.0 / m
            else:
                P = 1 / (1 + np.exp(-Z))
                total += float(np.mean(np.maximum(Z, 0) - Z * Yb + np.log1p(np.exp(-np.abs(Z))))) * m
                delta = P - Yb
                delta *= 1.0 / delta.size
            for k in range(len(params) - 1, -1, -1):
                W, b = params[k]
                dW = acts[k].T @ delta
                db = delta.sum(axis=0)
                if k:
                    delta = _hand_backward(delta @ W.T, acts[k], hidden)
                W -= lr * dW
                b -= lr * db
        total /= n
    return total


def blas_floor(net, X, batch_size, epochs):
    """The matrix products of :func:`handwritten_numpy`'s steps and nothing else: the floor of any NumPy engine.

    Per batch, the forward products ``A @ W``, the weight gradients ``A.T @ delta``
    and the deltas ``delta @ W.T`` (none for the input), each with its shapes, into
    buffers made once; the "delta" of a layer is its forward output, as only the
    shapes matter. Trains nothing (``net`` is unchanged). A training step costs
    this plus its elementwise work (activations, loss, bias sums, the update): a
    peer's time over this one says how far any engine of the same arithmetic could
    get ahead of that peer.
    """
    params = net.params
    n, rows = X.shape[0], min(batch_size, X.shape[0])
    outs = [np.empty((rows, W.shape[1]), X.dtype) for W, _ in params]
    backs = [np.empty((rows, W.shape[0]), X.dtype) for W, _ in params]
    grads = [np.empty_like(W) for W, _ in params]
    for _ in range(epochs):
        for start in range(0, n, batch_size):
            A = X[start:start + batch_size]
            m = A.shape[0]
            acts = [A]
            for (W, _), out in zip(params, outs):
                acts.append(np.matmul(acts[-1], W, out=out[:m]))
            for k in range(len(params) - 1, -1, -1):
                delta = acts[k + 1] if k == len(params) - 1 else backs[k + 1][:m]
                np.matmul(acts[k].T, delta, out=grads[k])
                if k:
                    np.matmul(delta, params[k][0].T, out=backs[k][:m])
