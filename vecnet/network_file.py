"""A network in a model file: what is written, and, read back, its header checked against the arrays.

:meth:`vecnet.Network._to_file`, ``_from_file`` and ``_check_declared`` (see
:mod:`vecnet.io`) call these; the class to build is passed in, so this module
never imports it.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS
from .io import ModelFormatError
from .losses import LOSSES
from .optimizers import FAMILIES, OptimizerState
from .weights import count_params


def check_declared_network(path, spec, shapes):
    """``ModelFormatError`` unless ``spec`` (a file's header) is valid and fits the declared arrays.

    ``shapes`` maps array names to ``(dtype, shape)`` as their ``.npy`` headers
    declare them; the number of parameters is computed from ``spec["sizes"]``
    by arithmetic alone, so nothing is allocated here.
    """
    sizes = _check_spec(path, spec)
    dtype = np.dtype(spec["dtype"])
    n_params = count_params(sizes)
    got = shapes.get("theta")
    if got != (dtype, (n_params,)):
        got = None if got is None else f"{got[0]} {got[1]}"
        raise ModelFormatError(f"{path}: the weights do not match the architecture {sizes}: expected "
                               f"{dtype} ({n_params},), got {got}")
    memory, steps = shapes.get("optimizer_memory"), shapes.get("optimizer_steps")
    if (memory, steps) != (None, None) and (memory != (dtype, (2, n_params))
                                            or steps != (np.dtype(np.int64), (1,))):
        raise ModelFormatError(f"{path}: the optimizer state does not match the network")


def _check_spec(path, spec):
    """The layer sizes of ``spec`` (a file's header), after checking every field of it."""
    if not isinstance(spec, dict):
        raise ModelFormatError(f"{path}: the header has no network description")
    sizes = spec.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)):
        raise ModelFormatError(f"{path}: invalid layer sizes {sizes!r}")
    for key, registry in (("activation", ACTIVATIONS), ("output_activation", ACTIVATIONS), ("loss", LOSSES)):
        if not isinstance(spec.get(key), str) or spec.get(key) not in registry:
            raise ModelFormatError(f"{path}: unknown {key} {spec.get(key)!r}")
    if spec.get("dtype") not in ("float32", "float64"):
        raise ModelFormatError(f"{path}: invalid dtype {spec.get('dtype')!r}")
    if spec.get("optimizer_family") not in (None, *FAMILIES):   # absent (older files): unknown
        raise ModelFormatError(f"{path}: invalid optimizer_family {spec.get('optimizer_family')!r}; "
                               f"expected one of {list(FAMILIES)} or none")
    return sizes


def build_network(cls, path, spec, theta):
    """The network of class ``cls`` that ``spec`` (a file's header) describes, holding ``theta``, checked."""
    sizes = _check_spec(path, spec)
    try:
        net = cls(sizes, activation=spec["activation"], output_activation=spec["output_activation"],
                      loss=spec["loss"], dtype=spec["dtype"], seed=0)
    except ValueError as exc:
        raise ModelFormatError(f"{path}: invalid architecture: {exc}") from None
    if theta is None or theta.dtype != net.dtype or theta.shape != (net.n_params,):
        got = None if theta is None else f"{theta.dtype} {theta.shape}"
        raise ModelFormatError(f"{path}: the weights do not match the architecture {sizes}: expected "
                               f"{net.dtype} ({net.n_params},), got {got}")
    if not np.isfinite(theta).all():
        raise ModelFormatError(f"{path}: the weights contain NaN or inf")
    net.theta[...] = theta
    return net


def restore_optimizer(path, net, memory, steps, family=None):
    """Give ``net`` the saved optimizer state, of ``family`` (checked by :func:`_check_spec`), after checking it."""
    if memory is None and steps is None:
        return
    if (memory is None or steps is None or memory.dtype != net.dtype or memory.shape != (2, net.n_params)
            or steps.dtype != np.int64 or steps.shape != (1,) or steps[0] < 0):
        raise ModelFormatError(f"{path}: the optimizer state does not match the network")
    if not np.isfinite(memory).all():
        raise ModelFormatError(f"{path}: the optimizer state contains NaN or inf")
    if family == "adam" and (memory[1] < 0).any():   # a mean of squares: the first step would be NaN
        raise ModelFormatError(f"{path}: the Adam state has negative second moments")
    net.optimizer_state = OptimizerState(memory.copy(), steps.copy(), family)


def network_fields(net):
    """Header fields and arrays of ``net`` for :func:`vecnet.io.save`: its architecture, its weights and,
    when it fits the network and is finite, its optimizer state; ``ValueError`` for weights not finite."""
    if not np.isfinite(net.theta).all():
        raise ValueError("the network's weights contain NaN or inf; refusing to save them")
    fields = {"network": {"sizes": list(net.sizes), "activation": net.activation,
                          "output_activation": net.output_activation, "loss": net.loss,
                          "dtype": net.dtype.name}}
    arrays = {"theta": net.theta}
    state = net.optimizer_state
    if (state is not None and state.fits(net.n_params, net.dtype)
            and np.isfinite(state.memory).all()):
        arrays["optimizer_memory"] = state.memory
        arrays["optimizer_steps"] = state.steps
        if state.family is not None:
            fields["network"]["optimizer_family"] = state.family
    return fields, arrays
