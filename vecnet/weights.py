"""Checks of a network's flat weight vector: allocating it, values written into it, what it holds.

:class:`vecnet.Network` calls these; they take the arrays and the layout
(:meth:`vecnet.Network.layout`) as arguments and never import the network.
"""

from __future__ import annotations

import numpy as np


def count_params(sizes):
    """Parameters of a network of layer ``sizes``: each layer's weights and biases."""
    return sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))


def check_writable(theta):
    """``ValueError`` unless ``theta`` can be trained in place.

    A read-only ``theta`` comes from a memory map opened read-only (``joblib.load(...,
    mmap_mode="r")``) or from ``theta.flags.writeable = False``; refused before a fit
    changes anything, rather than by the first write into it.
    """
    if not theta.flags.writeable:
        raise ValueError("the network's weights (theta) are read-only (memory-mapped with mmap_mode='r', "
                         "or flags.writeable = False): train a copy (net.copy()), or load the model with "
                         "mmap_mode='c'")


def check_out(out, theta):
    """``ValueError`` unless ``out`` can take a gradient laid out as ``theta``: an ndarray of its shape
    and dtype, C-contiguous, writable, and no view of ``theta`` (the gradient would overwrite the weights
    it is computed from)."""
    if not (isinstance(out, np.ndarray) and out.shape == theta.shape and out.dtype == theta.dtype
            and out.flags.c_contiguous and out.flags.writeable):
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"out must be a writable C-contiguous {theta.dtype} array of shape {theta.shape} "
                         f"(laid out as theta), got {got}")
    if np.may_share_memory(out, theta):
        raise ValueError("out must not share memory with theta: the gradient would overwrite the weights it "
                         "is computed from")


def zeros_for(sizes, n_params, dtype):
    """A zero vector of ``n_params`` of ``dtype``; ``ValueError`` naming ``sizes`` when it cannot be allocated."""
    nbytes = n_params * dtype.itemsize
    if nbytes <= np.iinfo(np.intp).max:   # beyond, numpy says only "Maximum allowed dimension exceeded"
        try:
            return np.zeros(n_params, dtype=dtype)
        except MemoryError:
            pass
    raise ValueError(f"sizes {sizes} need {n_params:,} parameters ({nbytes / 1e9:.3g} GB), more "
                     f"memory than this process can have")


def checked(values, dtype, name):
    """``values`` (an ndarray) as ``dtype``, or ``ValueError`` naming ``name`` unless they are finite real
    numbers there (a float64 beyond float32's range would become inf in a float32 network)."""
    if values.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold finite real numbers, got dtype {values.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        cast = values.astype(dtype)
    if not np.isfinite(cast).all():
        beyond = f" (within {np.dtype(dtype).name}'s range)" if np.isfinite(values).all() else ""
        raise ValueError(f"{name} must hold finite real numbers{beyond}")
    return cast


def check_finite(theta, layout):
    """``ValueError`` naming the first NaN or inf in ``theta``, its layer and the count, if there is one.

    ``layout`` holds the rows ``n_in, n_out, w_off, b_off, act`` of :meth:`vecnet.Network.layout`.
    """
    bad = np.flatnonzero(~np.isfinite(theta))
    if not bad.size:
        return
    first = int(bad[0])
    k = int(np.searchsorted(layout[:, 3] + layout[:, 1], first, side="right"))   # the layer ends before it
    _, o, w_off, b_off, _ = (int(v) for v in layout[k])
    where = f"W[{(first - w_off) // o}, {(first - w_off) % o}]" if first < b_off else f"b[{first - b_off}]"
    raise ValueError(f"the network's weights are not finite: theta holds {bad.size} NaN or inf "
                     f"value(s), the first {theta[first]} at theta[{first}] (layer {k} {where}); "
                     f"set finite weights (set_params refuses any other) or train from a fresh network")
