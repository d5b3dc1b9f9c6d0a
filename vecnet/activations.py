"""Activation functions: a registry of name -> :class:`Activation`.

Each activation has a forward ``a = f(z)`` (``out=`` to write it in place,
as the hidden layers of :meth:`vecnet.Network.forward` do) and an in-place backward that turns
``dL/da`` into ``dL/dz`` using the activation's *output* ``a`` (as scikit-learn
does: ``delta *= a * (1 - a)`` for the sigmoid), so the backward pass never
needs ``z``. Arrays are batches of shape (n_samples, n_units).

Both take an optional :class:`Scratch` of the batch's shape: given one, they
allocate nothing and write their intermediate arrays into it (the NumPy
engine's buffers, reused from step to step), and leave the floating-point
error state to the caller (see :func:`errstate`); the arithmetic is the same
operations in the same order either way, so the results are bit-identical.
(``np.add.reduce`` and ``np.maximum.reduce`` are what ``np.sum`` and ``np.max``
call, without their Python wrapper.)

Every activation also has an integer ``code`` that the compiled kernels in
:mod:`vecnet.engines._kernels` dispatch on (the table is :mod:`vecnet.codes`); the two implementations are held equal by
tests parametrized over :data:`ACTIVATIONS`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import codes


class Scratch:
    """Work arrays for one batch shape: ``tmp``, ``tmp2`` (n, k), ``col`` (n, 1), ``row``, ``row2`` (n,).

    A hidden layer needs ``tmp`` only (``output=False``: the others are None);
    the output layer's softmax and losses use the rest. :meth:`view` gives the
    first ``m`` rows of each, for a smaller last batch.
    """

    __slots__ = ("tmp", "tmp2", "col", "row", "row2")

    def __init__(self, n, k, dtype, arrays=None, output=True):
        if arrays is None:
            arrays = ((np.empty((n, k), dtype), np.empty((n, k), dtype), np.empty((n, 1), dtype),
                       np.empty(n, dtype), np.empty(n, dtype)) if output
                      else (np.empty((n, k), dtype), None, None, None, None))
        self.tmp, self.tmp2, self.col, self.row, self.row2 = arrays

    def view(self, m):
        """A :class:`Scratch` of views of the first ``m`` rows."""
        return Scratch(m, None, None, tuple(None if a is None else a[:m] for a in (
            self.tmp, self.tmp2, self.col, self.row, self.row2)))


UNBUFFERED = Scratch(0, None, None, (None,) * 5)
"""A :class:`Scratch` without arrays: the functions allocate their results as
without one, but leave the error state to the caller, like with one."""

_ENGINE_STATE = contextlib.nullcontext()


def errstate(work, **kwargs):
    """``numpy.errstate(**kwargs)``, or nothing when ``work`` is given.

    Given a :class:`Scratch` (or :data:`UNBUFFERED`), the caller is an engine or a
    :class:`vecnet.Network` method, which set the floating-point error state once
    around a whole pass (entering ``numpy.errstate`` costs about a microsecond, a
    lot for a small batch or a single row).
    """
    return _ENGINE_STATE if work is not None else np.errstate(**kwargs)


def identity(z, out=None, work=None):
    """``z``."""
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def sigmoid(z, out=None, work=None):
    """``1 / (1 + exp(-z))``, the original's formula; ``exp`` overflowing to inf gives exactly 0."""
    with errstate(work, over="ignore", under="ignore"):
        e = np.negative(z, out=out)
        np.exp(e, out=e)
        e += 1
        return np.reciprocal(e, out=e)


def tanh(z, out=None, work=None):
    """``tanh(z)``."""
    return np.tanh(z, out=out)


def relu(z, out=None, work=None):
    """``max(z, 0)``."""
    return np.maximum(z, 0, out=out)


def softmax(z, out=None, work=None):
    """``exp(z - max(z)) / sum(exp(z - max(z)))`` along each row.

    ``z - max(z)`` is <= 0, so ``exp`` can only underflow (to 0, harmlessly)."""
    col = None if work is None else work.col
    with errstate(work, over="ignore", under="ignore"):
        e = np.subtract(z, np.maximum.reduce(z, axis=1, keepdims=True, out=col), out=out)
        np.exp(e, out=e)
        e /= np.add.reduce(e, axis=1, keepdims=True, out=col)
    return e


def identity_backward(a, delta, work=None):
    """``delta *= 1``: nothing to do."""


def sigmoid_backward(a, delta, work=None):
    """``delta *= a * (1 - a)``."""
    tmp = None if work is None else work.tmp
    one_minus = np.subtract(1, a, out=tmp)
    delta *= np.multiply(a, one_minus, out=tmp)


def tanh_backward(a, delta, work=None):
    """``delta *= 1 - a**2``."""
    tmp = None if work is None else work.tmp
    square = np.square(a, out=tmp)
    delta *= np.subtract(1, square, out=tmp)


def relu_backward(a, delta, work=None):
    """``delta *= (a > 0)``."""
    # a > 0 as 1.0 / 0.0 in the float scratch: what ``delta *= a > 0`` casts the bools to
    delta *= a > 0 if work is None else np.greater(a, 0, out=work.tmp)


def softmax_backward(a, delta, work=None):
    """``delta = a * (delta - sum(delta * a))`` along each row (the softmax Jacobian)."""
    tmp, col = (None, None) if work is None else (work.tmp, work.col)
    delta -= np.add.reduce(np.multiply(delta, a, out=tmp), axis=1, keepdims=True, out=col)
    delta *= a


@dataclass(frozen=True)
class Activation:
    """One activation: its forward, its in-place backward from the output, its kernel code.

    ``forward(z, out=None, work=None)``, ``backward(a, delta, work=None)``; ``work``
    is an optional :class:`Scratch` of the batch's shape.
    """

    name: str
    forward: Callable
    backward: Callable
    code: int
    output_only: bool = False


ACTIVATIONS = {
    "identity": Activation("identity", identity, identity_backward, codes.IDENTITY),
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_backward, codes.SIGMOID),
    "tanh": Activation("tanh", tanh, tanh_backward, codes.TANH),
    "relu": Activation("relu", relu, relu_backward, codes.RELU),
    "softmax": Activation("softmax", softmax, softmax_backward, codes.SOFTMAX, output_only=True),
}
"""Registered activations by name. ``softmax`` is for the output layer only."""


def get_activation(name):
    """The registered :class:`Activation` called ``name``; ``ValueError`` listing the valid ones."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; valid ones are {sorted(ACTIVATIONS)}") from None
