"""Buffers for the NumPy passes of one network, allocated once and reused.

A :class:`Workspace` holds every array that a forward pass, the loss and a
backward pass of :class:`vecnet.Network` write for a batch of ``rows`` rows:
the layers' outputs, the output activation, the errors ``delta`` of each layer,
the activations' and the loss's scratch (:class:`vecnet.activations.Scratch`),
the gathered rows of a shuffled batch and the flat gradient. The NumPy engine
makes one per training call and uses it for every step of every epoch; a
smaller last batch uses :meth:`Workspace.view`, views of the first rows of the
same buffers. :meth:`vecnet.Network.predict` makes one for its row blocks
(:func:`forward_blocks`).

Every buffer is C-contiguous, as the arrays the passes allocate otherwise,
so the arithmetic is the same operations on the same layouts: bit-identical.
"""

from __future__ import annotations

import numpy as np

from ..activations import Scratch

PREDICT_BLOCK_ROWS = 1024
"""Rows per block of :func:`forward_blocks` (a block's activations stay in the CPU caches)."""


class Workspace:
    """Reused arrays for ``net``'s passes over batches of at most ``rows`` rows.

    Parameters
    ----------
    net : vecnet.Network
    rows : int
        The largest batch.
    train : bool, default True
        Also the buffers of the backward pass (``delta``, ``X``, ``Y``, ``grad``);
        ``False`` for prediction.
    gather : bool, default True
        Allocate ``X`` and ``Y`` for shuffled batches (else they are None: a full
        batch of in-order data needs no copy of the data).

    Attributes
    ----------
    rows : int
    Z : list of ndarray (rows, sizes[k + 1])
        Each layer's pre-activation; the hidden layers' activations in place.
    out : ndarray (rows, sizes[-1])
        The output activation.
    work : list of Scratch
        Scratch per layer, of the layer's width.
    activations : list of vecnet.activations.Activation
        Each layer's activation, output last.
    delta : list of ndarray (rows, sizes[k + 1])
        ``dL/dZ`` per layer (training only).
    X, Y : ndarray (rows, sizes[0]), (rows, sizes[-1])
        A shuffled batch's rows, gathered (training only).
    grad : ndarray (n_params,)
        The flat gradient, shared by every view (training only).
    grad_views : list of (ndarray, ndarray)
        ``grad`` as ``[(dW, db), ...]``.
    spare : ndarray (n_params,)
        Scratch of the parameters' shape (the L2 term, the optimizer's step).
    spare_views : list of (ndarray, ndarray)
        ``spare`` as ``[(W, b), ...]``.
    """

    def __init__(self, net, rows, train=True, gather=True, _parent=None):
        self.rows = rows
        self.train = train
        if _parent is not None:  # views of the first ``rows`` rows of the parent's buffers
            p = _parent
            self.Z = [z[:rows] for z in p.Z]
            self.out = p.out[:rows]
            self.work = [w.view(rows) for w in p.work]
            if train:
                self.delta = [d[:rows] for d in p.delta]
                self.X, self.Y = (None, None) if p.X is None else (p.X[:rows], p.Y[:rows])
                self.grad, self.grad_views = p.grad, p.grad_views
                self.spare, self.spare_views = p.spare, p.spare_views
            self._views, self.activations = p._views, p.activations
            return
        dt = net.dtype
        widths = net.sizes[1:]
        self.Z = [np.empty((rows, k), dt) for k in widths]
        self.out = np.empty((rows, widths[-1]), dt)
        last = len(widths) - 1  # only the output layer needs the softmax's and the losses' scratch
        self.work = [Scratch(rows, k, dt, output=i == last) for i, k in enumerate(widths)]
        if train:
            self.delta = [np.empty((rows, k), dt) for k in widths]
            self.X = np.empty((rows, net.sizes[0]), dt) if gather else None
            self.Y = np.empty((rows, widths[-1]), dt) if gather else None
            self.grad = np.empty_like(net.theta)
            self.grad_views = net._views(self.grad)
            self.spare = np.empty_like(net.theta)
            self.spare_views = net._views(self.spare)
        self.activations = net._activations()
        self._views = {rows: self}

    def view(self, rows):
        """The workspace for a batch of ``rows <= self.rows`` rows (cached)."""
        ws = self._views.get(rows)
        if ws is None:
            if rows > self.rows:
                raise ValueError(f"a workspace for {self.rows} rows cannot hold {rows}")
            ws = self._views[rows] = Workspace(None, rows, self.train, _parent=self)
        return ws


def forward_blocks(net, X, block_rows=None):
    """``net``'s outputs (n, sizes[-1]) for a checked ``X``, in row blocks through one workspace.

    Up to ``block_rows`` (default :data:`PREDICT_BLOCK_ROWS`) rows go through
    ``net._forward`` as they are; more go block by block, each block's output
    written straight into the result. Each goes C-ordered (a block of another
    layout copied: BLAS may sum a Fortran-ordered product in another order), so
    the outputs are those of a C-ordered copy of ``X``, bit for bit. The caller
    sets ``np.errstate``.
    """
    block_rows = PREDICT_BLOCK_ROWS if block_rows is None else block_rows
    n = X.shape[0]
    if n <= block_rows:
        return net._forward(np.ascontiguousarray(X))
    out = np.empty((n, net.sizes[-1]), dtype=net.dtype)
    ws = Workspace(net, block_rows, train=False)
    for lo in range(0, n, block_rows):
        hi = min(lo + block_rows, n)
        net._forward(np.ascontiguousarray(X[lo:hi]), workspace=ws.view(hi - lo), out=out[lo:hi])
    return out
