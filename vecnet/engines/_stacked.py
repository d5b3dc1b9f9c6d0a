"""Stacked NumPy passes: ``K`` networks of one architecture through one Python step.

Model ``k``'s arrays are slice ``k`` of arrays with a leading axis of ``K``: a
batch ``(K, m, n)``, its weights ``(K, n_in, n_out)`` and biases ``(K, n_out)``
as views into the rows of ``thetas`` ``(K, n_params)``. A batch of data shared
by every model stays 2-D ``(m, n)`` and broadcasts.

Every operation is the one the solo engine (:meth:`vecnet.Network.gradients`,
:mod:`vecnet.activations`, :mod:`vecnet.losses`, :mod:`vecnet.optimizers`) runs
for one model, applied to the stack, chosen so that slice ``k`` comes out bit
for bit as model ``k`` alone (``tests/test_many_numpy.py`` holds them to it):

- ``np.matmul`` on stacks runs its core loop once per slice, picking gemm,
  gemv, dot or its own loop from the core shapes and strides; every slice has
  the 2-D product's shapes and strides (C-ordered batch rows, weights as
  row-major views, ``.T`` as transposed views), so each slice is the same BLAS
  call. BLAS splits no sum by thread at these sizes' shapes (rows and columns
  only), so one or two threads agree.
- Elementwise operations are exact per element; NumPy's SIMD ``exp``,
  ``tanh``, ``log1p`` and ``log`` give the same value at any position and
  stride (checked on this build: contiguous, strided, tails).
- Reductions run along the same axes in the same memory order as the 2-D
  ones: over a batch's contiguous rows (a mean, a softmax row) the pairwise
  sum of the same run; over the rows of a column (a bias gradient) the same
  sequential sum, except that a 1-column ``delta`` is one contiguous run in
  both, summed pairwise in both.
- Per-model scalars (``lr``, ``l2``) become arrays of the dtype a Python float
  is cast to in ``float32 * python_float`` (NEP 50); Adam's float64 step size
  stays float64, as in :meth:`vecnet.optimizers.Adam.step`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..activations import ACTIVATIONS, Scratch
from ..optimizers import SGD, Adam

ELEMENTWISE = ("identity", "sigmoid", "tanh", "relu")
"""Activations that act per element: their solo functions serve stacks as they are."""


def stacked_views(net, flat, broadcast=False):
    """``[(W, b), ...]`` of ``flat`` (K, n_params): ``W`` (K, n_in, n_out), ``b`` (K, n_out).

    With ``broadcast``, ``b`` is (K, 1, n_out), to add to a batch (K, m, n_out).
    """
    out, off = [], 0
    K = flat.shape[0]
    for i, o in zip(net.sizes[:-1], net.sizes[1:]):
        b = flat[:, None, off + i * o:off + i * o + o] if broadcast else flat[:, off + i * o:off + i * o + o]
        out.append((flat[:, off:off + i * o].reshape(K, i, o), b))
        off += i * o + o
    return out


class StackedWorkspace:
    """Reused arrays for ``K`` models' passes over batches of at most ``rows`` rows.

    As :class:`vecnet.engines._workspace.Workspace`, each array with a leading
    axis of ``K``. ``gather`` is None (in-order batches, no copy), ``"shared"``
    (one gathered batch ``(rows, n)`` for every model) or ``"each"`` (one per
    model, ``(K, rows, n)``). :meth:`view` gives the first ``m`` rows of each.
    ``ZT`` and ``XT`` are the transposed views the backward pass multiplies by;
    ``rows_first`` (rows, K, n) and ``bias`` (K, n) serve the bias gradients.
    """

    def __init__(self, net, K, rows, gather=None, _parent=None):
        self.rows = rows
        if _parent is not None:
            p = _parent
            self.Z = [z[:, :rows] for z in p.Z]
            self.out = p.out[:, :rows]
            self.delta = [d[:, :rows] for d in p.delta]
            self.work = [Scratch(0, None, None, tuple(
                None if a is None else a[:, :rows] for a in (w.tmp, w.tmp2, w.col, w.row, w.row2)))
                for w in p.work]
            self.X = None if p.X is None else p.X[..., :rows, :]
            self.Y = None if p.Y is None else p.Y[..., :rows, :]
            self.rows_first = [None if b is None else b[:rows] for b in p.rows_first]
            self.bias = p.bias
            self.grad, self.grad_views = p.grad, p.grad_views
            self.spare, self.spare_views = p.spare, p.spare_views
            self._views = p._views
        else:
            dt = net.dtype
            widths = net.sizes[1:]
            self.Z = [np.empty((K, rows, k), dt) for k in widths]
            self.out = np.empty((K, rows, widths[-1]), dt)
            self.delta = [np.empty((K, rows, k), dt) for k in widths]
            self.work = [Scratch(0, None, None, (np.empty((K, rows, k), dt), None, None, None, None))
                         for k in widths[:-1]]
            k = widths[-1]
            self.work.append(Scratch(0, None, None, (
                np.empty((K, rows, k), dt), np.empty((K, rows, k), dt), np.empty((K, rows, 1), dt),
                np.empty((K, rows), dt), np.empty((K, rows), dt))))
            lead = () if gather == "shared" else (K,)
            self.X = None if gather is None else np.empty(lead + (rows, net.sizes[0]), dt)
            self.Y = None if gather is None else np.empty(lead + (rows, widths[-1]), dt)
            self.rows_first = [None if k == 1 else np.empty((rows, K, k), dt) for k in widths]
            self.bias = [np.empty((K, k), dt) for k in widths]
            self.grad = np.empty((K, net.n_params), dt)
            self.grad_views = stacked_views(net, self.grad)
            self.spare = np.empty((K, net.n_params), dt)
            self.spare_views = stacked_views(net, self.spare)
            self._views = {rows: self}
        self.ZT = [z.transpose(0, 2, 1) for z in self.Z]
        self.XT = None if self.X is None else np.swapaxes(self.X, -1, -2)

    def view(self, rows):
        """The workspace for a batch of ``rows <= self.rows`` rows (cached)."""
        ws = self._views.get(rows)
        if ws is None:
            ws = self._views[rows] = StackedWorkspace(None, None, rows, _parent=self)
        return ws


# -- the softmax and the losses along the last axis, per model ------------------------------------
# (the solo functions reduce along axis 1 and average over the whole batch; these are the
# same operations along axis 2 and per model)

def sigmoid(z, out, work):
    """:func:`vecnet.activations.sigmoid`, with ``1.0 / e`` for ``np.reciprocal(e)``.

    Both are one IEEE division (the same bits, NaN and inf included); NumPy's
    ``divide`` is the faster loop here.
    """
    e = np.negative(z, out=out)
    np.exp(e, out=e)
    e += 1
    return np.divide(1.0, e, out=e)


def softmax(z, out, work):
    """:func:`vecnet.activations.softmax` of each row of each model."""
    e = np.subtract(z, np.maximum.reduce(z, axis=2, keepdims=True, out=work.col), out=out)
    np.exp(e, out=e)
    e /= np.add.reduce(e, axis=2, keepdims=True, out=work.col)
    return e


def softmax_backward(a, delta, work):
    """:func:`vecnet.activations.softmax_backward` of each row of each model."""
    delta -= np.add.reduce(np.multiply(delta, a, out=work.tmp), axis=2, keepdims=True, out=work.col)
    delta *= a


FORWARD = {name: ACTIVATIONS[name].forward for name in ELEMENTWISE} | {"sigmoid": sigmoid, "softmax": softmax}
BACKWARD = {name: ACTIVATIONS[name].backward for name in ELEMENTWISE} | {"softmax": softmax_backward}


def means(a):
    """Each model's ``vecnet.losses._mean``: (K,) float64 from ``a`` (K, ...) (sum, / count, dtype)."""
    total = np.add.reduce(a, axis=tuple(range(1, a.ndim)))
    return np.divide(total, np.intp(a[0].size)).astype(a.dtype, copy=False).astype(np.float64, copy=False)


def mse_value(Y, A, Z, work):
    """:func:`vecnet.losses.mse_value` per model."""
    return means(np.square(np.subtract(Y, A, out=work.tmp), out=work.tmp))


def bce_value(Y, A, Z, work):
    """:func:`vecnet.losses.bce_value` per model."""
    tmp, tmp2 = work.tmp, work.tmp2
    terms = np.subtract(np.maximum(Z, 0, out=tmp), np.multiply(Z, Y, out=tmp2), out=tmp)
    soft = np.negative(np.abs(Z, out=tmp2), out=tmp2)
    np.exp(soft, out=soft)
    terms += np.log1p(soft, out=soft)
    return means(terms)


def cce_value(Y, A, Z, work):
    """:func:`vecnet.losses.cce_value` per model."""
    zmax = np.maximum.reduce(Z, axis=2, keepdims=True, out=work.col)
    e = np.subtract(Z, zmax, out=work.tmp)
    np.exp(e, out=e)
    lse = np.log(np.add.reduce(e, axis=2, out=work.row), out=work.row)
    lse = np.add(zmax[..., 0], lse, out=work.row)
    lse -= np.add.reduce(np.multiply(Y, Z, out=work.tmp), axis=2, out=work.row2)
    return means(lse)


LOSS_VALUE = {"mse": mse_value, "bce": bce_value, "cce": cce_value}


def loss_delta(loss, activation, Y, A, out, work):
    """``dL/dZ`` of :mod:`vecnet.losses` per model: ``(A - Y)`` times the solo factor, in ``out``."""
    m, k = A.shape[1], A.shape[2]
    delta = np.subtract(A, Y, out=out)
    if loss == "mse":
        delta *= 2.0 / (m * k)   # mse_delta's 2.0 / Y.size of one model's Y
        BACKWARD[activation](A, delta, work)
    elif loss == "bce":
        delta *= 1.0 / (m * k)
    else:  # cce
        delta *= 1.0 / m
    return delta


def supported(net):
    """True when every activation and the loss of ``net`` have stacked forms here."""
    return all(a in FORWARD for a in net.layer_activations()) and net.loss in LOSS_VALUE


def matmul(a, b, out):
    """``np.matmul(a, b, out=out)``; over an inner dimension of 1, its result computed elementwise.

    NumPy's matmul multiplies ``(.., m, 1) @ (.., 1, p)`` (``p, m > 1``) in its own
    loop, ``0 + a * b`` per element, slice by slice: ten times slower than
    ``np.multiply`` on the stack and then ``+= 0.0``, the same two roundings (``0 +``
    turns a product of -0.0 into 0.0). With ``m`` or ``p`` 1 it calls ``dot`` or its
    loop, the same value.
    """
    if a.shape[-1] != 1:
        return np.matmul(a, b, out=out)
    np.multiply(a, b, out=out)
    out += 0.0
    return out


def bias_gradient(delta, db, rows_first, tmp):
    """``np.add.reduce(delta, axis=1, out=db)`` of ``delta`` (K, m, n), as each model's 2-D sum.

    A model's ``delta`` (m, n) sums over its rows one after the other (n > 1;
    ``rows_first`` (m, K, n) lets NumPy do so for all K at once, with ``tmp``
    (K, n) contiguous: a third of the time), or pairwise over its contiguous
    column (n = 1, as the stack does along axis 1).
    """
    if rows_first is None:
        np.add.reduce(delta, axis=1, out=db)
        return
    np.copyto(rows_first, delta.transpose(1, 0, 2))
    np.add.reduce(rows_first, axis=0, out=tmp)
    np.copyto(db, tmp)


class Passes:
    """Forward and backward for ``net``'s architecture on stacks; :meth:`gradients` per batch.

    ``params`` are :func:`stacked_views` of the models' weights (``broadcast=True``).
    """

    def __init__(self, net, params):
        self.loss = net.loss
        self.names = net.layer_activations()
        self.forward = [FORWARD[a] for a in self.names]
        self.backward = [BACKWARD[a] for a in self.names]
        self.value = LOSS_VALUE[net.loss]
        self.params = params
        self.WT = [W.transpose(0, 2, 1) for W, _ in params]

    def gradients(self, X, Y, ws):
        """Each model's batch loss (K,) float64; the gradients go to ``ws.grad`` (K, n_params).

        ``X`` (m, n_in) shared or (K, m, n_in), ``Y`` likewise; ``ws`` a workspace for
        ``m`` rows. The operations of :meth:`vecnet.Network._gradients`, stacked.
        """
        last = len(self.names) - 1
        A, Z = X, None
        for k, ((W, b), forward) in enumerate(zip(self.params, self.forward)):
            Z = matmul(A, W, ws.Z[k])
            Z += b
            A = forward(Z, Z if k < last else ws.out, ws.work[k])
        work = ws.work[-1]
        values = self.value(Y, A, Z, work)
        delta = loss_delta(self.loss, self.names[-1], Y, A, ws.delta[-1], work)
        for k in range(last, -1, -1):
            dW, db = ws.grad_views[k]
            AT = ws.ZT[k - 1] if k else X.T if X.ndim == 2 else ws.XT
            matmul(AT, delta, dW)
            bias_gradient(delta, db, ws.rows_first[k], ws.bias[k])
            if k:
                delta = matmul(delta, self.WT[k], ws.delta[k - 1])
                self.backward[k - 1](ws.Z[k - 1], delta, ws.work[k - 1])
        return values


# -- the optimizers, per model -------------------------------------------------------------------

def _shared_settings(opt):
    """``opt``'s class and settings but ``lr`` and ``l2``: what every model's optimizer must share.

    A tuple, not a copy of ``opt`` (``dataclasses.replace`` checks every setting again: at
    10,000 models, a third of a second per call).
    """
    return (type(opt), *((f.name, getattr(opt, f.name)) for f in dataclasses.fields(opt)
                         if f.name not in ("lr", "l2")))


class StackedOptimizer:
    """``K`` built-in optimizers of one class and settings but ``lr`` and ``l2``, applied to stacks.

    Raises ``ValueError`` when the optimizers differ otherwise; :meth:`usable`
    says whether a list of optimizers has a stacked form at all.
    """

    def __init__(self, optimizers, dtype):
        first = optimizers[0]
        shared = _shared_settings(first)
        for k, opt in enumerate(optimizers):
            if _shared_settings(opt) != shared:
                raise ValueError(f"every model's optimizer must be of one class with the same settings "
                                 f"but lr and l2; model 0 has {first!r}, model {k} has {opt!r}")
        self.opt = first
        self.dtype = dtype
        self.optimizers = list(optimizers)
        self._index(np.arange(len(optimizers)))

    @staticmethod
    def usable(optimizers):
        """True when the optimizers are all :class:`SGD` or all :class:`Adam` (not subclasses)."""
        return len(optimizers) > 0 and all(type(o) in (SGD, Adam) for o in optimizers)

    def _index(self, rows):
        """Keep the models ``rows`` (an index array into the current ones), in that order."""
        self.optimizers = [self.optimizers[i] for i in rows]
        self.lr = np.array([o.lr for o in self.optimizers], dtype=np.float64)
        l2 = np.array([o.l2 for o in self.optimizers], dtype=np.float64)
        self.l2_mask = None if l2.all() else (l2 != 0)[:, None, None]
        with np.errstate(over="ignore"):   # an lr beyond float32 casts to inf, as in the solo step
            self.lr_col = self.lr.astype(self.dtype)[:, None]   # lr * g: the Python float cast to g's dtype
            self.l2 = l2.astype(self.dtype)[:, None, None]   # l2 * W: likewise
        self.any_l2 = bool(l2.any())

    keep = _index

    def rates(self, steps):
        """``learning_rate(t)`` of each model (K,) float64 for update counts ``steps`` (K,) int64."""
        opt = self.opt
        if opt.schedule != "invscaling":
            return self.lr
        t = int(steps[0])
        if (steps == t).all():   # one count for all: one power, the same division per model
            return self.lr / (t + 1.0) ** opt.power_t
        return np.array([o.learning_rate(int(s)) for o, s in zip(self.optimizers, steps)])

    def add_l2(self, params, ws):
        """``dW += l2 * W`` for every weight matrix of every model with ``l2 > 0`` (as the solo engine)."""
        if not self.any_l2:
            return
        for (dW, _), (W, _), (tmp, _) in zip(ws.grad_views, params, ws.spare_views):
            term = np.multiply(self.l2, W, out=tmp)
            if self.l2_mask is None:
                dW += term
            else:   # models without l2 skip the addition (0 * W + dW could turn -0.0 into 0.0)
                np.add(dW, term, out=dW, where=self.l2_mask)

    def step(self, theta, grad, memory, steps, scratch):
        """One update of every model: ``theta``, ``grad``, ``scratch`` (K, n_params), ``memory`` (K, 2, n_params).

        The arithmetic of :meth:`SGD.step` / :meth:`Adam.step` with ``lr`` a column.
        """
        opt = self.opt
        lr = self.rates(steps)
        if isinstance(opt, Adam):
            t = int(steps[0])
            if (steps == t).all():
                lr = lr * np.sqrt(1.0 - opt.beta2 ** (t + 1.0)) / (1.0 - opt.beta1 ** (t + 1.0))
            else:
                lr = np.array([r * np.sqrt(1.0 - opt.beta2 ** (s + 1.0)) / (1.0 - opt.beta1 ** (s + 1.0))
                               for r, s in zip(lr.tolist(), steps.tolist())])
            _adam(opt, theta, grad, memory, lr[:, None], scratch)
            return
        lr = self.lr_col if lr is self.lr else lr.astype(self.dtype)[:, None]
        if opt.momentum == 0:
            theta -= np.multiply(lr, grad, out=grad)
            return
        v = memory[:, 0]
        v *= opt.momentum
        step = np.multiply(lr, grad, out=grad)
        v -= step
        if opt.nesterov:
            step = np.subtract(np.multiply(opt.momentum, v, out=scratch), step, out=scratch)
        else:
            step = v
        theta += step


def _adam(opt, theta, grad, memory, lr, scratch):
    """:meth:`Adam.step` with the step sizes ``lr`` (K, 1) float64."""
    m, v = memory[:, 0], memory[:, 1]
    m *= opt.beta1
    m += np.multiply(1 - opt.beta1, grad, out=scratch)
    v *= opt.beta2
    square = np.multiply(1 - opt.beta2, grad, out=scratch)
    square *= grad
    v += square
    if theta.dtype != lr.dtype:   # float32: float64 lr * m, as the solo step
        theta -= lr * m / (np.sqrt(v) + opt.eps)
        return
    step = np.multiply(lr, m, out=grad)
    step /= np.add(np.sqrt(v, out=scratch), opt.eps, out=scratch)
    theta -= step
