"""Checks of the options users pass: hyperparameters, choices, seeds, layer sizes, file names.

The scalar counterpart of :mod:`vecnet.data.validation` (which checks arrays):
every check raises ``ValueError`` naming the argument, what it got and what it
needs (``TypeError`` for a file name that is not one), before any work is done.
"""

from __future__ import annotations

import numbers
import os

import numpy as np


def check_positive_int(value, name, minimum=1):
    """``value`` as an int >= ``minimum``, or ``ValueError``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(value, name, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite float in the interval given, or ``ValueError``.

    ``low`` / ``high`` are bounds (``None``: unbounded); ``*_open`` excludes them.
    """
    lo = "(" if low_open else "["
    hi = ")" if high_open or high is None else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}")
    value = float(value)
    ok = np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return value


def check_bool(value, name):
    """``value`` as a bool; ``ValueError`` for anything but ``True``/``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value, name, choices):
    """``value`` when it is one of the strings ``choices``, else ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid ones are {list(choices)}")
    return value


def check_seed(seed, name="seed"):
    """``seed`` when ``numpy.random.default_rng`` takes it: None, an int >= 0, a Generator, SeedSequence
    or BitGenerator."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence,
                                         np.random.BitGenerator)):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be None, an integer >= 0, or a numpy.random.Generator, "
                         f"SeedSequence or BitGenerator, got {seed!r}")
    return int(seed)


def check_sizes(sizes):
    """Layer sizes as a list of at least two ints >= 1, or ``ValueError``."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ValueError(f"sizes must be a sequence of layer sizes such as [2, 2, 1], got {sizes!r}")
    sizes = list(sizes)
    bad = [s for s in sizes if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer))]
    if bad:
        raise ValueError(f"sizes must hold integers, got {bad[0]!r} in {sizes!r}")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes needs at least two layers of at least 1 unit each, got {sizes}")
    return sizes


MAX_EPOCHS = 10**8
"""Most epochs one fit may run: the history keeps a loss per epoch (about 3 GB at this count)."""


def check_epochs(epochs):
    """``epochs`` as an int in ``[1, MAX_EPOCHS]``, else ``ValueError``."""
    epochs = check_positive_int(epochs, "epochs")
    if epochs > MAX_EPOCHS:
        raise ValueError(f"epochs must be an integer in [1, {MAX_EPOCHS}] (the history keeps one "
                         f"loss per epoch), got {epochs!r}")
    return epochs


def check_fit_params(epochs, batch_size, engine, engines, shuffle, seed, verbose):
    """Validate :func:`vecnet.fit`'s scalar options; return ``epochs`` and ``batch_size`` as ints (or None)."""
    check_choice(engine, "engine", engines)
    epochs = check_epochs(epochs)
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(shuffle, "shuffle")
    if not isinstance(verbose, (bool, np.bool_)):
        check_positive_int(verbose, "verbose", minimum=0)
    check_seed(seed)
    return epochs, batch_size


def check_callbacks(callbacks):
    """``callbacks`` as a list of callables; ``ValueError`` naming the first that is not one."""
    if callable(callbacks) or isinstance(callbacks, (str, bytes, dict)) or not hasattr(callbacks, "__iter__"):
        raise ValueError(f"callbacks must be a sequence of callables callback(epoch, logs), "
                         f"got {callbacks!r}")
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not callable(cb):
            raise ValueError(f"callbacks[{i}] must be a callable callback(epoch, logs), got {cb!r}")
    return callbacks


def check_validation_fraction(value, name="validation_fraction"):
    """``None`` or a float in (0, 1), else ``ValueError`` naming ``name``."""
    if value is None:
        return None
    return check_real(value, name, low=0, high=1, low_open=True, high_open=True)


def check_path(path, name="path"):
    """``path`` as a ``str`` (or ``bytes``) file name; ``TypeError`` or ``ValueError`` naming ``name`` otherwise.

    A NUL byte is refused here (the operating system would refuse it with "embedded null
    byte", which names neither the parameter nor the path).
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a file name (str or os.PathLike), got {path!r}") from None
    if ("\0" if isinstance(path, str) else b"\0") in path:
        raise ValueError(f"{name} must be a file name without NUL bytes, got {path!r}")
    return path


def check_float_dtype(value, name="dtype", note=""):
    """``numpy.dtype('float32')`` or ``numpy.dtype('float64')`` from ``value``; ``ValueError`` naming ``name``.

    Anything numpy cannot read as a dtype (it parses strings such as ``"0:"`` as record
    formats, with its own parser's errors) is refused with the same message.
    """
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError, SyntaxError):
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be 'float32' or 'float64'{note}, got {value!r}")
    return dtype


def check_output_path(path, option, what="file", example="out"):
    """``ValueError`` unless a ``what`` can be written at ``path`` (given as ``option``).

    Checked before any work, so that a long run does not end in an error: the
    path is not a folder, and its folder exists and is writable.
    """
    if os.path.isdir(path):
        raise ValueError(f"{option} {path}: is a folder; name the {what} to write, "
                         f"e.g. {os.path.join(path, example)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the folder {folder} is not writable")


def check_figure_path(path, option="--plot"):
    """:func:`check_output_path` for a matplotlib figure, and a file type matplotlib writes.

    Imports matplotlib (the ``plot`` extra): ``OSError`` saying how to install it when it is missing.
    """
    try:
        import matplotlib
    except ImportError:
        raise OSError(f'{option} needs matplotlib: pip install "vecnet[plot]"') from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    check_output_path(path, option, "figure", "figure.png")
    kind = os.path.splitext(path)[1][1:].lower()
    types = Figure().canvas.get_supported_filetypes()
    if kind and kind not in types:   # no extension: matplotlib's default, png
        raise ValueError(f"{option} {path}: matplotlib cannot write .{kind} files; use one of "
                         f"{', '.join('.' + t for t in sorted(types))}")

