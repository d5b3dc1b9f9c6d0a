"""What a compiled kernel is built for, and the numbers it is called with (private).

Importing this module does not import Numba: :mod:`vecnet.engines._kernels`
(which does) is imported the first time a kernel is needed.

- :class:`KernelConfig`: everything that changes the kernel's code. One kernel
  is built (and cached in memory and on disk) per distinct value; its fields are
  plain ints, bools and strings, the codes of :mod:`vecnet.codes`.
- :class:`Hyper`: the float settings, passed to the kernel at every call, so
  that a new learning rate does not compile a new kernel.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from .. import codes
from ..activations import get_activation
from ..losses import get_loss

RUNNING, FINISHED, DIVERGED = 0, 1, 2
"""What a kernel call returns: its row budget ran out, every epoch ran, or an epoch diverged."""


class KernelConfig(NamedTuple):
    """The settings that select a kernel's code.

    Attributes
    ----------
    hidden, output : int
        Activation codes of the hidden layers and of the output layer.
    loss : int
        Loss code.
    optimizer : int
        ``codes.SGD`` or ``codes.ADAM``.
    momentum : bool
        SGD with ``momentum != 0`` (plain SGD is applied during back-propagation).
    nesterov : bool
        Nesterov momentum (SGD with momentum only).
    l2 : bool
        ``l2 != 0``: the weight decay term is added to the gradients.
    schedule : int
        ``codes.CONSTANT`` or ``codes.INVSCALING``.
    per_sample : bool
        ``batch_size == 1``: the kernel is built for one sample per update.
    dtype : str
        ``"float64"`` or ``"float32"``, the network's.
    shape : tuple of int, default ()
        The layer sizes, input first, when the kernel is built for that one
        shape (:func:`fixed_shape`: per sample, at most :data:`FIXED_MAX_PARAMS`
        parameters); ``()`` for a kernel that reads them at run time.
    """

    hidden: int
    output: int
    loss: int
    optimizer: int
    momentum: bool
    nesterov: bool
    l2: bool
    schedule: int
    per_sample: bool
    dtype: str
    shape: tuple = ()


FIXED_MAX_PARAMS, FIXED_MAX_LAYERS = 64, 4
"""Largest network (in parameters, in layers) whose per-sample kernel is built for its shape."""


def fixed_shape(sizes, per_sample):
    """``KernelConfig.shape`` for layer ``sizes``: ``tuple(sizes)`` when per sample and small, else ``()``.

    Such a kernel unrolls every layer into straight-line code (about 40% less
    time per update for the article's 2-2-1 network), at the price of one
    compile per shape.
    """
    sizes = tuple(int(v) for v in sizes)
    n_params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    small = n_params <= FIXED_MAX_PARAMS and len(sizes) - 1 <= FIXED_MAX_LAYERS
    return sizes if per_sample and small else ()


class Hyper(NamedTuple):
    """The float settings of the update, as float64."""

    lr: float
    momentum: float
    beta1: float
    beta2: float
    eps: float
    l2: float
    power_t: float


def kernel_settings(net, optimizer, batch_size):
    """``(KernelConfig, Hyper)`` for training ``net`` with ``optimizer`` in batches of ``batch_size``."""
    s = optimizer.kernel_settings()
    config = _config(net.activation, net.output_activation, net.n_layers, net.loss, net.dtype, s["optimizer"],
                     s["momentum"] != 0.0, s["nesterov"], s["l2"] != 0.0, s["schedule"], batch_size == 1,
                     fixed_shape(net.sizes, batch_size == 1))
    return config, Hyper(*(float(s[name]) for name in Hyper._fields))


@functools.lru_cache(maxsize=1024)   # every fit asks twice: a short fit feels the ~20 us it takes
def _config(activation, output_activation, n_layers, loss, dtype, optimizer, momentum, nesterov, l2, schedule,
            per_sample, shape):
    output = get_activation(output_activation).code
    # a network without hidden layers shares the kernel of one whose hidden layers match its output
    hidden = get_activation(activation).code if n_layers > 1 else output
    momentum = optimizer == codes.SGD and momentum
    return KernelConfig(hidden=int(hidden), output=int(output), loss=int(get_loss(loss).code),
                        optimizer=int(optimizer), momentum=bool(momentum), nesterov=bool(momentum and nesterov),
                        l2=bool(l2), schedule=int(schedule), per_sample=per_sample, dtype=str(dtype),
                        shape=shape)
