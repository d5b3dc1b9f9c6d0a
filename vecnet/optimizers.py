"""Optimizers: SGD (with momentum and Nesterov) and Adam, with an L2 penalty
and a learning-rate schedule.

An optimizer is a small frozen dataclass of settings. The NumPy engine calls
:meth:`Optimizer.step` on the flat parameter vector; the compiled kernels get
the same settings through :meth:`Optimizer.kernel_settings` and apply the same
formulas in :func:`vecnet.engines._kernel_pieces.update`.

With ``lr_t`` the learning rate of update ``t`` (``t = 0, 1, ...``):

- ``schedule="constant"``: ``lr_t = lr``; ``"invscaling"``:
  ``lr_t = lr / (t + 1) ** power_t``.
- SGD: ``theta -= lr_t * g`` when ``momentum == 0``; otherwise
  ``v = momentum * v - lr_t * g`` and ``theta += v`` (Nesterov:
  ``theta += momentum * v - lr_t * g``).
- Adam: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``,
  ``theta -= lr_t * sqrt(1 - b2**(t+1)) / (1 - b1**(t+1)) * m / (sqrt(v) + eps)``.
- ``l2``: adds ``l2 * W`` to the gradient of every weight matrix (not the
  biases), the gradient of ``l2 / 2 * sum(W**2)``. Reported losses do not
  include the penalty.

What an optimizer carries from one update (and one ``fit``) to the next is an
:class:`OptimizerState`: its memory, its update count and the family of the
optimizer that made it (``"sgd"``, with or without momentum, or ``"adam"``). A
network keeps the state of its last training in
:attr:`vecnet.Network.optimizer_state`, so that training continues where it
stopped and the state is saved with the weights; a ``fit`` with an optimizer of
the other family starts from a fresh state instead (:func:`starting_state`), as
SGD's velocity is not Adam's moments.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np

from . import codes
from .data.options import check_bool, check_choice, check_real

SCHEDULES = {"constant": codes.CONSTANT, "invscaling": codes.INVSCALING}


@dataclass
class OptimizerState:
    """What an optimizer carries from one update to the next; updated in place by the engines.

    Attributes
    ----------
    memory : ndarray, shape (2, n_params)
        SGD's velocity in row 0 (row 1 unused), or Adam's ``m`` and ``v``; of
        the network's dtype.
    steps : ndarray of int64, shape (1,)
        Updates taken so far (``t`` of the schedule and of Adam's bias correction).
    family : {"sgd", "adam"} or None, default None
        The optimizer family that made this state (plain SGD and SGD with
        momentum are one family: plain SGD never reads the memory). A ``fit``
        continues from the state only with an optimizer of the same family, and
        starts afresh with the other; ``None`` (unknown, as in files saved
        before the family was recorded) continues with either.
    """

    memory: np.ndarray
    steps: np.ndarray
    family: str | None = None

    @classmethod
    def zeros(cls, n_params, dtype, family=None):
        """A fresh state: zero memory, no update taken."""
        return cls(np.zeros((2, n_params), dtype=dtype), np.zeros(1, dtype=np.int64), family)

    def fits(self, n_params, dtype, optimizer=None):
        """True when this state belongs to ``n_params`` parameters of ``dtype``, and to ``optimizer``'s family if given.

        A family of ``None``, the state's or the optimizer's, is unknown and fits any.
        """
        family = None if optimizer is None else optimizer.family
        return (self.memory.shape == (2, n_params) and self.memory.dtype == dtype
                and (family is None or self.family in (None, family)))

    def copy(self):
        """An independent copy."""
        return OptimizerState(self.memory.copy(), self.steps.copy(), self.family)


@dataclass(frozen=True)
class Optimizer:
    """Settings shared by every optimizer; use :class:`SGD` or :class:`Adam`.

    Every setting but ``lr`` is keyword-only (``SGD(0.01, momentum=0.9)``): by
    position, ``SGD(0.01, 0.9)`` is a ``TypeError``, not a silent ``l2=0.9``.
    """

    lr: float = 0.1
    _: KW_ONLY
    l2: float = 0.0
    schedule: str = "constant"
    power_t: float = 0.5

    code = None
    family = None

    def __post_init__(self):
        self._set("lr", check_real(self.lr, "lr", low=0, low_open=True))
        self._set("l2", check_real(self.l2, "l2", low=0))
        check_choice(self.schedule, "schedule", sorted(SCHEDULES))
        self._set("power_t", check_real(self.power_t, "power_t", low=0))

    def _set(self, name, value):
        """Store a checked, converted setting on the frozen instance."""
        object.__setattr__(self, name, value)

    def learning_rate(self, t):
        """The learning rate of update ``t`` (0-based)."""
        if self.schedule == "invscaling":
            return self.lr / (t + 1.0) ** self.power_t
        return self.lr

    def kernel_settings(self):
        """The settings the compiled kernels use, by name (see :mod:`vecnet.engines._kernel_config`)."""
        return {"optimizer": self.code, "nesterov": bool(getattr(self, "nesterov", False)),
                "schedule": SCHEDULES[self.schedule], "lr": self.lr,
                "momentum": getattr(self, "momentum", 0.0), "beta1": getattr(self, "beta1", 0.9),
                "beta2": getattr(self, "beta2", 0.999), "eps": getattr(self, "eps", 1e-8),
                "l2": self.l2, "power_t": self.power_t}


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Parameters
    ----------
    lr : float, default 0.1
    momentum : float, default 0.0
        In [0, 1). ``0`` is the original's plain update ``theta -= lr * g``.
    nesterov : bool, default False
    l2 : float, default 0.0
    schedule : {"constant", "invscaling"}, default "constant"
    power_t : float, default 0.5
    """

    _: KW_ONLY
    momentum: float = 0.0
    nesterov: bool = False

    code = codes.SGD
    family = "sgd"

    def __post_init__(self):
        super().__post_init__()
        self._set("momentum", check_real(self.momentum, "momentum", low=0, high=1, high_open=True))
        self._set("nesterov", check_bool(self.nesterov, "nesterov"))
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0 (with momentum=0 it would do nothing)")

    def step(self, theta, grad, state, t, scratch=None):
        """Update ``theta`` (n_params,) in place from ``grad``; ``state`` (2, n_params).

        ``grad`` serves as scratch (its values afterwards are undefined), and
        with ``scratch`` (n_params,) too a step allocates nothing; the
        arithmetic is the same either way.
        """
        lr = self.learning_rate(t)
        if self.momentum == 0:
            theta -= np.multiply(lr, grad, out=grad)
            return
        v = state[0]
        v *= self.momentum
        step = np.multiply(lr, grad, out=grad)  # lr_t * g
        v -= step
        if self.nesterov:
            step = np.subtract(np.multiply(self.momentum, v, out=scratch), step, out=scratch)
        else:
            step = v
        theta += step


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma and Ba), as scikit-learn's MLP applies it.

    Parameters
    ----------
    lr : float, default 0.001
    beta1, beta2 : float, default 0.9, 0.999
    eps : float, default 1e-8
    l2 : float, default 0.0
    schedule : {"constant", "invscaling"}, default "constant"
    power_t : float, default 0.5
    """

    lr: float = 0.001
    _: KW_ONLY
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    code = codes.ADAM
    family = "adam"

    def __post_init__(self):
        super().__post_init__()
        for name in ("beta1", "beta2"):
            self._set(name, check_real(getattr(self, name), name, low=0, high=1, high_open=True))
        self._set("eps", check_real(self.eps, "eps", low=0, low_open=True))

    def step(self, theta, grad, state, t, scratch=None):
        """Update ``theta`` (n_params,) in place from ``grad``; ``state`` (2, n_params).

        ``grad`` serves as scratch (its values afterwards are undefined), and
        with ``scratch`` (n_params,) too a step allocates nothing; the
        arithmetic is the same either way.
        """
        lr = self.learning_rate(t) * np.sqrt(1.0 - self.beta2 ** (t + 1.0)) / (1.0 - self.beta1 ** (t + 1.0))
        m, v = state
        m *= self.beta1
        m += np.multiply(1 - self.beta1, grad, out=scratch)
        v *= self.beta2
        square = np.multiply(1 - self.beta2, grad, out=scratch)
        square *= grad
        v += square
        if scratch is None or theta.dtype != lr.dtype:  # float32: lr (float64) makes this float64
            theta -= lr * m / (np.sqrt(v) + self.eps)
            return
        step = np.multiply(lr, m, out=grad)
        step /= np.add(np.sqrt(v, out=scratch), self.eps, out=scratch)
        theta -= step


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
"""Optimizers by name."""

FAMILIES = tuple(cls.family for cls in OPTIMIZERS.values())
"""The values :attr:`OptimizerState.family` takes besides ``None``: ``("sgd", "adam")``."""


def _check_state(state):
    """``TypeError`` / ``ValueError`` unless ``state`` is an :class:`OptimizerState` the engines can update."""
    if not isinstance(state, OptimizerState):
        raise TypeError(f"optimizer_state must be a vecnet.optimizers.OptimizerState or None, got "
                        f"{type(state).__name__}")
    memory, steps = state.memory, state.steps
    if not (isinstance(memory, np.ndarray) and memory.ndim == 2 and memory.shape[0] == 2
            and memory.dtype.kind == "f" and memory.flags.c_contiguous and memory.flags.writeable):
        raise ValueError(f"optimizer_state.memory must be a writable C-contiguous float array of shape "
                         f"(2, n_params), got {_describe(memory)}")
    if not (isinstance(steps, np.ndarray) and steps.shape == (1,) and steps.dtype == np.int64
            and steps.flags.writeable and steps[0] >= 0):
        raise ValueError(f"optimizer_state.steps must be a writable int64 array of shape (1,) holding a "
                         f"count >= 0, got {_describe(steps)}")
    if not np.isfinite(memory).all():
        raise ValueError("optimizer_state.memory holds NaN or inf (set net.optimizer_state = None to start "
                         "afresh)")


def _describe(a):
    """``a``'s type, and for an array its dtype, shape and layout: what a message about it shows."""
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    layout = "C-contiguous" if a.flags.c_contiguous else "not C-contiguous"
    return f"{a.dtype} {a.shape}, {layout}{'' if a.flags.writeable else ', read-only'}"


def starting_state(state, optimizer, n_params, dtype):
    """The state a ``fit`` with ``optimizer`` starts from, labelled with its family.

    Parameters
    ----------
    state : OptimizerState or None
        The network's state (:attr:`vecnet.Network.optimizer_state`); ``None``
        to start afresh.
    optimizer : Optimizer
    n_params : int
    dtype : numpy dtype
        The network's.

    Returns
    -------
    OptimizerState
        ``state`` itself when it fits the network and ``optimizer``'s family
        (see :meth:`OptimizerState.fits`), otherwise a fresh one.
    """
    if state is not None:
        _check_state(state)
    if state is None or not state.fits(n_params, dtype, optimizer):
        state = OptimizerState.zeros(n_params, dtype)
    elif optimizer.family == "adam" and (state.memory[1] < 0).any():
        raise ValueError("optimizer_state.memory[1] holds negative values: Adam's second moments are squares "
                         "(set net.optimizer_state = None to start afresh)")
    state.family = optimizer.family
    return state


def make_optimizer(optimizer, lr=None):
    """An :class:`Optimizer` from a name (``"sgd"``, ``"adam"``) or an instance.

    ``lr`` sets a named optimizer's learning rate; with an instance it must be None or
    the instance's own ``lr`` (``ValueError`` otherwise).
    """
    if isinstance(optimizer, Optimizer):
        if not callable(getattr(optimizer, "step", None)):
            raise ValueError(f"optimizer must be a vecnet.SGD or vecnet.Adam, or a subclass with its own "
                             f"step(theta, grad, state, t); got {type(optimizer).__name__}, which has no step")
        if lr is not None and lr != optimizer.lr:
            raise ValueError("pass lr either to fit or to the optimizer, not both")
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a name or an instance; got the class "
                         f"{optimizer.__name__}: pass {optimizer.__name__}() instead")
    check_choice(optimizer, "optimizer", sorted(OPTIMIZERS))
    return OPTIMIZERS[optimizer]() if lr is None else OPTIMIZERS[optimizer](lr=lr)
