"""The training engines: a registry of :class:`~vecnet.engines.base.Engine` objects and ``"auto"``.

Each engine lives in its own module ``vecnet/engines/<name>_engine.py``, which
defines one :class:`~vecnet.engines.base.Engine` as ``ENGINE``; every such
module is registered here, so adding an engine is adding its module.

- ``"numpy"`` (:mod:`.numpy_engine`): whole batches through matrix products.
- ``"numba"`` (:mod:`.numba_engine`): the compiled kernel, every sample and
  every update in compiled code.
- ``"reference"`` (:mod:`.reference_engine`): the per-scalar
  :class:`vecnet.reference.ReferenceNetwork`, for the article's 2-2-1 network
  with plain SGD, per sample or full batch.

``engine="auto"`` asks every engine for its :meth:`~vecnet.engines.base.Engine.cost`
and takes the cheapest (:func:`choose_engine`).
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Engine
from .numpy_engine import AUTO_CROSSOVER, layer_width

AUTO = "auto"


def _discover():
    """``{name: engine}`` of every ``*_engine`` module of this package, by :attr:`Engine.rank`."""
    found = [importlib.import_module(f"{__name__}.{info.name}").ENGINE
             for info in pkgutil.iter_modules(__path__) if info.name.endswith("_engine")]
    return {e.name: e for e in sorted(found, key=lambda e: (e.rank, e.name))}


ENGINES = _discover()
"""Engine name -> :class:`~vecnet.engines.base.Engine`; ``"auto"`` is not one (see :func:`resolve`)."""


def engine_names(general=False):
    """``("auto", ...)`` and the registered names; ``general`` keeps those that run any network."""
    return (AUTO, *(name for name, e in ENGINES.items() if e.general or not general))


def choose_engine(net, n_samples, batch_size):
    """The name of the engine ``"auto"`` picks for ``net`` trained in batches of ``batch_size``.

    The engine of the lowest :meth:`~vecnet.engines.base.Engine.cost` (ties go
    to the first name in alphabetical order); ``n_samples`` counts through
    ``batch_size`` (full batch is ``batch_size == n_samples``). With today's
    engines: ``"numba"`` while ``batch_size * layer_width(net) ** 1.5 <=
    AUTO_CROSSOVER``, else ``"numpy"`` (see :mod:`vecnet.engines.numpy_engine`
    for the measurements).
    """
    return _ranked(net, n_samples, batch_size)[0]


def _ranked(net, n_samples, batch_size):
    """The names of the engines that have a cost for this work, cheapest first (ties: by name)."""
    costs = ((e.cost(net, n_samples, batch_size), name) for name, e in ENGINES.items())
    return [name for _, name in sorted(c for c in costs if c[0] is not None)]


def resolve(name, net, n_samples, batch_size, optimizer, shuffled=False, streamed=False):
    """The engine called ``name``, after it accepted the work.

    ``"auto"``: the engine :func:`choose_engine` names, or, if it refuses the work
    (the compiled engine and an optimizer with its own ``step``), the next cheapest
    that takes it.

    Raises
    ------
    ValueError
        Unknown name, or the engine cannot run this training (the message says why).
    """
    if name == AUTO:   # the cheapest engine that takes the work (a custom optimizer: numpy)
        ranked = _ranked(net, n_samples, batch_size)
        for candidate in ranked:
            try:
                ENGINES[candidate].check(net, n_samples, batch_size, optimizer, shuffled, streamed)
            except ValueError:
                continue
            return ENGINES[candidate]
        name = ranked[0]   # none takes it: the cheapest says why, below
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; valid ones are {list(engine_names())}")
    engine = ENGINES[name]
    engine.check(net, n_samples, batch_size, optimizer, shuffled, streamed)
    return engine


__all__ = ["AUTO", "AUTO_CROSSOVER", "ENGINES", "Engine", "choose_engine", "engine_names",
           "layer_width", "resolve"]
