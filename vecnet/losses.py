"""Loss functions: a registry of name -> :class:`Loss`.

A loss sees a batch of targets ``Y``, outputs ``A = f(Z)`` and output
pre-activations ``Z``, all of shape (n_samples, n_outputs). ``value`` is the
loss averaged over the batch; ``delta`` is ``dL/dZ`` of that average, the
error that back-propagation starts from.

- ``mse``: ``mean((Y - A)**2)`` over samples and outputs. Its gradient per
  sample and output is the original's ``-2 * (y - y_pred)``, divided by
  ``n_samples * n_outputs``. Works with any output activation.
- ``bce``: binary cross-entropy, for a ``sigmoid`` output; computed from the
  logits ``Z`` (``max(z, 0) - z*y + log1p(exp(-|z|))``), so logits of
  +/-1000 give finite values. ``delta = (A - Y) / (n_samples * n_outputs)``.
- ``cce``: categorical cross-entropy, for a ``softmax`` output; computed as
  ``logsumexp(z) - sum(y * z)`` per sample. ``delta = (A - Y) / n_samples``.
  Its target rows must sum to 1 (``rows_sum_to_one``): for other rows the
  loss has no minimum and training drives it to -inf.

``value(Y, A, Z, work=None)`` and ``delta(Y, A, Z, activation, out=None,
work=None)`` take an optional :class:`vecnet.activations.Scratch` of the
output's shape and ``out`` for ``delta``: given them, they allocate nothing
(the NumPy engine's reused buffers) and leave the floating-point error state
to the caller (:func:`vecnet.activations.errstate`); the operations are the
same either way.

Each loss has an integer ``code`` for :mod:`vecnet.engines._kernels` (the table is :mod:`vecnet.codes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from . import codes
from .activations import ACTIVATIONS, errstate


def _mean(a):
    """``float(np.mean(a))`` without its Python wrapper: the same sum, the same division.

    (``np.mean`` sums with ``np.add.reduce`` and divides by the count as an
    ``np.intp``, then casts back to the array's dtype.)
    """
    return float(a.dtype.type(np.add.reduce(a, axis=None) / np.intp(a.size)))


def mse_value(Y, A, Z, work=None):
    """``mean((Y - A)**2)``; inf when the squares overflow (training then stops as diverged)."""
    tmp = None if work is None else work.tmp
    with errstate(work, over="ignore"):
        return _mean(np.square(np.subtract(Y, A, out=tmp), out=tmp))


def mse_delta(Y, A, Z, activation, out=None, work=None):
    """``dL/dZ = -2 (Y - A) / (n * k) * f'(Z)``, formed in place from the output ``A``."""
    delta = np.subtract(A, Y, out=out)
    delta *= 2.0 / Y.size
    ACTIVATIONS[activation].backward(A, delta, work)
    return delta


def bce_value(Y, A, Z, work=None):
    """``mean(max(z, 0) - z*y + log1p(exp(-|z|)))``: cross-entropy of ``sigmoid(z)``."""
    tmp, tmp2 = (None, None) if work is None else (work.tmp, work.tmp2)
    with errstate(work, under="ignore"):  # exp(-|z|) underflows to 0 for |z| > 745: harmless
        terms = np.subtract(np.maximum(Z, 0, out=tmp), np.multiply(Z, Y, out=tmp2), out=tmp)
        soft = np.negative(np.abs(Z, out=tmp2), out=tmp2)
        np.exp(soft, out=soft)
        terms += np.log1p(soft, out=soft)
        return _mean(terms)


def bce_delta(Y, A, Z, activation, out=None, work=None):
    """``dL/dZ = (A - Y) / (n * k)``."""
    delta = np.subtract(A, Y, out=out)
    delta *= 1.0 / Y.size
    return delta


def cce_value(Y, A, Z, work=None):
    """``mean(logsumexp(z) - sum(y * z))``: cross-entropy of ``softmax(z)``."""
    tmp, col, row, row2 = (None,) * 4 if work is None else (work.tmp, work.col, work.row, work.row2)
    zmax = np.maximum.reduce(Z, axis=1, keepdims=True, out=col)
    with errstate(work, over="ignore", under="ignore"):  # Z - zmax <= 0: exp only underflows
        e = np.subtract(Z, zmax, out=tmp)
        np.exp(e, out=e)
        lse = np.log(np.add.reduce(e, axis=1, out=row), out=row)
        lse = np.add(zmax[:, 0], lse, out=row)
    lse -= np.add.reduce(np.multiply(Y, Z, out=tmp), axis=1, out=row2)
    return _mean(lse)


def cce_delta(Y, A, Z, activation, out=None, work=None):
    """``dL/dZ = (A - Y) / n``."""
    delta = np.subtract(A, Y, out=out)
    delta *= 1.0 / Y.shape[0]
    return delta


@dataclass(frozen=True)
class Loss:
    """One loss: its batch value, its ``dL/dZ``, its kernel code, the output and the targets it needs."""

    name: str
    value: Callable
    delta: Callable
    code: int
    requires_output: Optional[str] = None
    rows_sum_to_one: bool = False


LOSSES = {
    "mse": Loss("mse", mse_value, mse_delta, codes.MSE),
    "bce": Loss("bce", bce_value, bce_delta, codes.BCE, requires_output="sigmoid"),
    "cce": Loss("cce", cce_value, cce_delta, codes.CCE, requires_output="softmax", rows_sum_to_one=True),
}
"""Registered losses by name."""


def get_loss(name):
    """The registered :class:`Loss` called ``name``; ``ValueError`` listing the valid ones."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; valid ones are {sorted(LOSSES)}") from None


def check_pairing(loss, output_activation):
    """Refuse a loss with an output activation it is not defined for."""
    need = get_loss(loss).requires_output
    if need is not None and output_activation != need:
        raise ValueError(
            f"loss {loss!r} needs a {need!r} output activation, got {output_activation!r}"
        )
