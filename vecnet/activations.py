"""Activation functions: a registry of name -> :class:`Activation`.

Each activation has a forward ``a = f(z)`` (``out=`` to write it in place,
as the hidden layers of :meth:`vecnet.Network.forward` do) and an in-place backward that turns
``dL/da`` into ``dL/dz`` using the activation's *output* ``a`` (as scikit-learn
does: ``delta *= a * (1 - a)`` for the sigmoid), so the backward pass never
needs ``z``. Arrays are batches of shape (n_samples, n_units).

Every activation also has an integer ``code`` that the compiled kernels in
:mod:`vecnet.engines._kernels` dispatch on (the table is :mod:`vecnet.codes`); the two implementations are held equal by
tests parametrized over :data:`ACTIVATIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import codes


def identity(z, out=None):
    """``z``."""
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def sigmoid(z, out=None):
    """``1 / (1 + exp(-z))``, the original's formula; ``exp`` overflowing to inf gives exactly 0."""
    with np.errstate(over="ignore", under="ignore"):
        e = np.negative(z, out=out)
        np.exp(e, out=e)
        e += 1
        return np.reciprocal(e, out=e)


def tanh(z, out=None):
    """``tanh(z)``."""
    return np.tanh(z, out=out)


def relu(z, out=None):
    """``max(z, 0)``."""
    return np.maximum(z, 0, out=out)


def softmax(z, out=None):
    """``exp(z - max(z)) / sum(exp(z - max(z)))`` along each row.

    ``z - max(z)`` is <= 0, so ``exp`` can only underflow (to 0, harmlessly)."""
    with np.errstate(over="ignore", under="ignore"):
        e = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= e.sum(axis=1, keepdims=True)
    return e


def identity_backward(a, delta):
    """``delta *= 1``: nothing to do."""


def sigmoid_backward(a, delta):
    """``delta *= a * (1 - a)``."""
    delta *= a * (1 - a)


def tanh_backward(a, delta):
    """``delta *= 1 - a**2``."""
    delta *= 1 - a**2


def relu_backward(a, delta):
    """``delta *= (a > 0)``."""
    delta *= a > 0


def softmax_backward(a, delta):
    """``delta = a * (delta - sum(delta * a))`` along each row (the softmax Jacobian)."""
    delta -= (delta * a).sum(axis=1, keepdims=True)
    delta *= a


@dataclass(frozen=True)
class Activation:
    """One activation: its forward, its in-place backward from the output, its kernel code."""

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
