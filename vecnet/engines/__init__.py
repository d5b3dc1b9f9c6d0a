"""The training engines, one function each, and the choice between them.

Every engine runs ``epochs`` epochs over ``X`` (n_samples, n_in) and ``Y``
(n_samples, n_out), already validated and of the network's dtype, visiting the
samples of epoch ``e`` in the order ``orders[e % len(orders)]`` in batches of
``batch_size``. Each returns the per-epoch training losses (the mean of the
per-sample losses taken before each update) of the epochs it completed; it
stops early, with the weights as they were at the start of the failing epoch,
when the loss or a weight stops being finite.

- ``"numpy"``: whole batches through matrix products; Python loops over batches
  only.
- ``"numba"``: the compiled kernel :func:`vecnet.engines._kernels.train_epochs`, every
  sample and every update in compiled code.
- ``"reference"``: the per-scalar :class:`vecnet.reference.ReferenceNetwork`,
  for the article's 2-2-1 network with plain SGD, per sample or full batch.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..losses import get_loss
from ..optimizers import SGD
from ..scalar_map import is_article_network, set_from_reference, to_reference
from . import _kernels
from ._workspace import Workspace

ENGINES = ("auto", "numpy", "numba", "reference")


class EngineState:
    """What an optimizer carries from one call to the next: memory and update count."""

    def __init__(self, net):
        self.memory = np.zeros((2, net.n_params), dtype=net.dtype)
        self.steps = np.zeros(1, dtype=np.int64)


def run_numpy(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train with batch matrix products; see the module docstring."""
    n = X.shape[0]
    shuffled = len(orders) > 1 or not np.array_equal(orders[0], np.arange(n))
    ws = Workspace(net, min(batch_size, n), gather=shuffled)  # every batch-sized array, reused
    grad, grad_views = ws.grad, ws.grad_views
    # the built-in optimizers take a scratch vector; a subclass's own step may not
    scratch = {"scratch": ws.spare} if "scratch" in inspect.signature(optimizer.step).parameters else {}
    losses = []
    for e in range(epochs):
        saved = net.theta.copy()
        order = orders[e % len(orders)]
        in_order = np.array_equal(order, np.arange(n))
        total = 0.0
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            bws = ws if m == ws.rows else ws.view(m)  # the last batch: views of the first m rows
            if in_order:
                Xb, Yb = X[start:start + batch_size], Y[start:start + batch_size]
            else:
                rows = order[start:start + batch_size]
                Xb = np.take(X, rows, axis=0, out=bws.X, mode="clip")  # rows are valid: no copy
                Yb = np.take(Y, rows, axis=0, out=bws.Y, mode="clip")
            value, _ = net.gradients(Xb, Yb, workspace=bws)
            if not math.isfinite(value):
                net.theta[...] = saved
                return losses
            total += value * m
            if optimizer.l2:
                for (dW, _), (W, _), (tmp, _) in zip(grad_views, net.params, ws.spare_views):
                    dW += np.multiply(optimizer.l2, W, out=tmp)
            optimizer.step(net.theta, grad, state.memory, int(state.steps[0]), **scratch)
            state.steps[0] += 1
        if not np.isfinite(net.theta).all():
            net.theta[...] = saved
            return losses
        losses.append(total / n)
    return losses


def run_numba(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train with the compiled kernel; see the module docstring."""
    (code, nesterov, schedule), hyper = optimizer.kernel_args()
    cfg = np.array([get_loss(net.loss).code, batch_size, code, nesterov, schedule], dtype=np.int64)
    losses = np.zeros(epochs, dtype=np.float64)
    done = _kernels.train_epochs(net.theta, net.layout(), cfg, hyper, X, Y, orders, epochs,
                                 state.memory, state.steps, losses)
    return losses[:done].tolist()


def check_reference(net, X, batch_size, optimizer, orders):
    """Refuse what the per-scalar reference cannot run, with the reason."""
    n = X.shape[0]
    if not is_article_network(net):
        raise ValueError("engine 'reference' runs only the article's network "
                         "([2, 2, 1], sigmoid, mse)")
    if not (type(optimizer) is SGD and optimizer.momentum == 0 and optimizer.l2 == 0
            and optimizer.schedule == "constant"):
        raise ValueError("engine 'reference' runs only plain SGD (no momentum, l2 or schedule)")
    if batch_size not in (1, n):
        raise ValueError("engine 'reference' runs per-sample (batch_size=1) or full-batch "
                         "(batch_size=None) training only")
    if any(not np.array_equal(o, np.arange(n)) for o in orders):
        raise ValueError("engine 'reference' visits samples in order; it cannot shuffle")


def run_reference(net, X, Y, orders, epochs, batch_size, optimizer, state):
    """Train the per-scalar reference from ``net``'s weights and copy the result back."""
    ref = to_reference(net)
    n = X.shape[0]
    losses = []
    for _ in range(epochs):  # one epoch at a time, to stop like the other engines
        saved = ref.params()
        if batch_size == 1:
            ref.train(X, Y[:, 0], epochs=1, learn_rate=optimizer.lr, log_every=None,
                      epoch_losses=losses)
        else:
            losses.extend(ref.train_full_batch(X, Y[:, 0], epochs=1, learn_rate=optimizer.lr))
        if not np.isfinite([losses[-1], *ref.params().values()]).all():
            ref = type(ref)(saved)
            losses.pop()
            break
        state.steps[0] += n if batch_size == 1 else 1
    set_from_reference(net, ref)
    return losses


RUNNERS = {"numpy": run_numpy, "numba": run_numba, "reference": run_reference}

# engine="auto": the compiled kernel costs about the same per multiply-add at
# any batch size, while the NumPy engine pays ~20-50 us of Python per batch and
# then runs BLAS, which gets faster per multiply-add as the matrices grow. So
# NumPy wins once batch x layer size is large enough. Measured one epoch each,
# numpy against numba, on [w, w, w, 1] tanh/sigmoid/bce networks (2-core Xeon
# 2.5 GHz, benchmarks/test_bench_crossover.py and `vecnet bench`), numba stays
# faster up to a batch of ~1024 at width 4, ~256 at width 16, ~32 at width 64
# and ~3 at width 256: everywhere batch * width**1.5 = 8,000 to 16,000 at the
# crossover. The 784-256-128-10 network (width 448) goes to numpy even per
# sample; 10-32-32-1 in batches of 32 (5,800) to numba; a full batch of 10,000
# samples on 2-2-1 (28,000) to numpy.
AUTO_CROSSOVER = 12_000
"""``batch_size * width**1.5`` above which ``engine="auto"`` picks NumPy."""


def layer_width(net):
    """``sqrt(max(n_in * n_out))`` over the layers: the side of the biggest weight matrix made square."""
    return max(i * o for i, o in zip(net.sizes[:-1], net.sizes[1:])) ** 0.5


def choose_engine(net, n_samples, batch_size):
    """The engine ``"auto"`` picks for ``net`` trained in batches of ``batch_size``.

    ``"numba"`` while ``batch_size * layer_width(net) ** 1.5 <= AUTO_CROSSOVER``,
    else ``"numpy"``; ``n_samples`` counts through ``batch_size`` (full batch is
    ``batch_size == n_samples``). See the measurements above.
    """
    return "numba" if batch_size * layer_width(net) ** 1.5 <= AUTO_CROSSOVER else "numpy"
