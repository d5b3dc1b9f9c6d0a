"""The matrix network.

Conventions, stated once:

- a batch is a row-major array of shape ``(n_samples, n_features)``;
- parameters are a list of ``(W, b)``, one per layer, ``W`` of shape
  ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``; a layer computes
  ``A_out = f(A_in @ W + b)``;
- every ``W`` and ``b`` is a view into one flat vector, :attr:`Network.theta`,
  laid out ``W1, b1, W2, b2, ...`` (``W`` row-major). Optimizers and the
  compiled kernels work on that vector; ``params`` sees their updates.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import ACTIVATIONS, UNBUFFERED, get_activation
from .data.options import check_choice, check_float_dtype, check_seed, check_sizes
from .data.validation import check_batch, check_X
from .engines._workspace import forward_blocks
from .io import savable
from .io import save as save_model
from .losses import check_pairing, get_loss
from .network_file import build_network, check_declared_network, network_fields, restore_optimizer
from .training import fit as fit_network
from .weights import check_finite, check_out, checked, count_params, zeros_for

INITS = ("normal", "glorot", "he")
"""Weight initialisations: the original's N(0, 1) for every parameter, Glorot
uniform and He normal (both with zero biases)."""


@savable
class Network:
    """A feedforward network of dense layers, its weights held as matrices.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first: ``[2, 2, 1]`` is the article's network.
    activation : str, default "sigmoid"
        Hidden-layer activation, a key of :data:`vecnet.activations.ACTIVATIONS`.
    output_activation : str, optional
        Output-layer activation; defaults to ``activation``.
    loss : str, default "mse"
        A key of :data:`vecnet.losses.LOSSES`.
    init : {"normal", "glorot", "he"}, default "normal"
        ``"normal"`` draws every weight and bias from N(0, 1), as the original.
    seed : int >= 0, numpy.random.Generator, SeedSequence or BitGenerator, optional
        Seed for the initial weights; the same seed gives the same weights.
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Floating type of the weights, kept end to end in training.

    Attributes
    ----------
    params : list of (ndarray (n_in, n_out), ndarray (n_out,))
        Views into :attr:`theta`.
    theta : ndarray, shape (n_params,)
        All parameters, flat. Assigning to it (``net.theta = values``), or to
        :attr:`params`, copies the values in, checked as :meth:`set_params` checks
        them, so that :attr:`params` stay its views (also after ``pickle`` or ``copy.deepcopy``).
    optimizer_state : vecnet.optimizers.OptimizerState or None
        The optimizer's memory, update count and family after the last
        training (``None`` before any): the next :meth:`fit` continues from it
        when it matches (same shape, dtype and optimizer family), :meth:`save`
        stores it. Set it to ``None`` to train with a
        fresh optimizer.
    """

    def __init__(self, sizes, activation="sigmoid", output_activation=None, loss="mse",
                 init="normal", seed=None, dtype=np.float64):
        sizes = check_sizes(sizes)
        check_choice(activation, "activation", sorted(ACTIVATIONS))
        output_activation = activation if output_activation is None else output_activation
        if get_activation(activation).output_only:
            raise ValueError(f"activation {activation!r} can only be the output activation")
        check_choice(output_activation, "output_activation", sorted(ACTIVATIONS))
        get_loss(loss)
        check_pairing(loss, output_activation)
        if output_activation == "softmax" and sizes[-1] < 2:
            raise ValueError(f"a softmax output needs at least 2 units (one is always 1.0), "
                             f"got sizes {sizes}")
        check_choice(init, "init", INITS)
        check_seed(seed)
        dtype = check_float_dtype(dtype)
        self.sizes = sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.dtype = dtype
        self._theta = zeros_for(sizes, self.n_params, dtype)
        self._params = self._views(self._theta)
        self.optimizer_state = None
        self.initialize(init, seed)

    @property
    def theta(self):
        """ndarray, shape (n_params,): every weight, flat (``params`` are views of it); set copies in."""
        return self._theta

    @theta.setter
    def theta(self, values):
        got = np.asarray(values).shape if values is not None else "None"
        if got != self._theta.shape:
            raise ValueError(f"theta must have shape {self._theta.shape} (n_params,), got {got}; "
                             f"it is copied into the network, whose params are views of it")
        values = np.asarray(values)
        self._theta[...] = checked(values, self.dtype, "theta")

    @property
    def params(self):
        """list of ``(W, b)`` per layer, views of ``theta``; set copies in (as :meth:`set_params`)."""
        return self._params

    @params.setter
    def params(self, values):
        self.set_params(values)

    def __getstate__(self):
        """For ``pickle`` and ``copy.deepcopy``: ``params`` are rebuilt as views of ``theta``, not stored."""
        state = dict(self.__dict__)
        del state["_params"]
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "theta" in state:   # pickled by vecnet 0.1, where theta was a plain attribute
            state["_theta"] = state.pop("theta")
        state.pop("params", None)   # stored by vecnet 0.1
        self.__dict__.update(state)
        self._params = self._views(self._theta)

    # -- layout ---------------------------------------------------------------
    @property
    def n_layers(self):
        """Number of weight layers (``len(sizes) - 1``)."""
        return len(self.sizes) - 1

    @property
    def n_params(self):
        """Number of scalar parameters."""
        return count_params(self.sizes)

    def layer_activations(self):
        """Activation name of each layer, output last."""
        return [self.activation] * (self.n_layers - 1) + [self.output_activation]

    def _activations(self):
        """The :class:`~vecnet.activations.Activation` of each layer, output last."""
        return [ACTIVATIONS[self.activation]] * (self.n_layers - 1) + [ACTIVATIONS[self.output_activation]]

    def layout(self):
        """Kernel layout: int64 array (n_layers, 5) of ``n_in, n_out, w_offset, b_offset, act_code``."""
        rows, off = [], 0
        for (i, o), act in zip(zip(self.sizes[:-1], self.sizes[1:]), self.layer_activations()):
            rows.append((i, o, off, off + i * o, ACTIVATIONS[act].code))
            off += i * o + o
        return np.array(rows, dtype=np.int64)

    def _views(self, flat):
        """``[(W, b), ...]`` as views into the flat vector ``flat``."""
        out, off = [], 0
        for i, o in zip(self.sizes[:-1], self.sizes[1:]):
            out.append((flat[off:off + i * o].reshape(i, o), flat[off + i * o:off + i * o + o]))
            off += i * o + o
        return out

    # -- weights ----------------------------------------------------------------
    def initialize(self, init="normal", seed=None):
        """Draw new weights in place, and forget the optimizer state; see the class parameters."""
        check_choice(init, "init", INITS)
        rng = np.random.default_rng(check_seed(seed))
        self.optimizer_state = None   # moments and update count of other weights
        for (W, b), (n_in, n_out) in zip(self.params, zip(self.sizes[:-1], self.sizes[1:])):
            if init == "normal":
                W[...] = rng.standard_normal(W.shape)
                b[...] = rng.standard_normal(b.shape)
            elif init == "glorot":
                limit = np.sqrt(6.0 / (n_in + n_out))
                W[...] = rng.uniform(-limit, limit, W.shape)
                b[...] = 0
            else:  # he
                W[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / n_in)
                b[...] = 0
        return self

    def get_params(self):
        """A copy of the parameters: list of ``(W, b)``."""
        return [(W.copy(), b.copy()) for W, b in self.params]

    def set_params(self, params):
        """Copy ``params``, a list of ``(W, b)`` with this network's shapes, into the network."""
        params = list(params)
        if len(params) != self.n_layers or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in params):
            got = [type(p).__name__ if not isinstance(p, (tuple, list)) else f"{len(p)}-{type(p).__name__}"
                   for p in params]
            raise ValueError(f"expected {self.n_layers} layers of (W, b) pairs, got {got}")
        for k, ((W, b), (W_new, b_new)) in enumerate(zip(self.params, params)):
            W_new, b_new = np.asarray(W_new), np.asarray(b_new)
            if W_new.shape != W.shape or b_new.shape != b.shape:
                raise ValueError(f"layer {k}: expected W {W.shape} and b {b.shape}, "
                                 f"got W {W_new.shape} and b {b_new.shape}")
            params[k] = (checked(W_new, self.dtype, f"layer {k}: W"), checked(b_new, self.dtype, f"layer {k}: b"))
        for (W, b), (W_new, b_new) in zip(self.params, params):
            W[...] = W_new
            b[...] = b_new
        return self

    def copy(self):
        """An independent copy of the network."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._theta = self._theta.copy()
        new._params = new._views(new._theta)
        if self.optimizer_state is not None:  # the optimizer's memory, not shared
            new.optimizer_state = self.optimizer_state.copy()
        return new

    # -- computing --------------------------------------------------------------
    def forward(self, X, keep=False):
        """Forward a batch through the network.

        Parameters
        ----------
        X : array-like, shape (n_samples, sizes[0])
            Checked and converted to the network's dtype (see :func:`predict`).
        keep : bool, default False
            Also return what back-propagation needs.

        Returns
        -------
        ndarray, shape (n_samples, sizes[-1])
            The outputs; with ``keep=True``, ``(activations, Z)`` instead: the
            list of every layer's output, ``X`` first, and the output layer's
            pre-activation ``Z``.

        Raises
        ------
        ValueError
            For bad ``X`` (see the README's "Errors and guarantees"), and when
            the outputs are not finite: NaN or inf weights (set directly in
            ``theta`` or ``params``), else ``X`` too large for the weights, so
            that a layer overflowed.
        TypeError
            For sparse or non-numeric ``X``.
        """
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            X = self._check_input(X)
            out = self._forward(np.ascontiguousarray(X), True) if keep else forward_blocks(self, X)
        A = out[0][-1] if keep else out
        with np.errstate(over="ignore", invalid="ignore"):   # a sum of +inf and -inf: checked just below
            total = np.add.reduce(A, axis=None)
        if not (math.isfinite(total) or np.isfinite(A).all()):
            rows = np.flatnonzero(~np.isfinite(A).all(axis=1))
            check_finite(self.theta, self.layout())
            x, w = float(np.abs(X[rows[0]]).max()), float(np.abs(self.theta).max())
            raise ValueError(
                f"the network's outputs are not finite for {rows.size} row(s) of X (the first is "
                f"row {rows[0]}): a layer overflowed. X has values as large as {x:.3g} and the weights "
                f"as large as {w:.3g}; " + ("scale X" if x >= w else "weights this large come from training "
                                            "with too large a learning rate (or scale X)"))
        return out

    def _check_input(self, X):
        """:func:`check_X`, with a fast path for a C-ordered ndarray of the right dtype and shape.

        The fast path accepts ``X`` when ``sum(X**2)`` is finite, which it can
        only be when every value is (a NaN or an inf makes it NaN or inf); if
        the squares overflow, the full check decides.
        """
        if (type(X) is np.ndarray and X.dtype == self.dtype and X.ndim == 2 and X.shape[0]
                and X.shape[1] == self.sizes[0] and X.flags.c_contiguous):
            flat = X.reshape(-1)
            if math.isfinite(np.dot(flat, flat)):  # overflow ignored: forward sets the error state
                return X
        return check_X(X, self.sizes[0], self.dtype)

    def _forward(self, X, keep=False, workspace=None, out=None):
        """:meth:`forward` for an ``X`` already checked and of the network's dtype.

        With a :class:`~vecnet.engines._workspace.Workspace` for ``X``'s rows, every
        array goes into its buffers (the output into ``out``, else ``workspace.out``).
        The caller sets ``np.errstate`` (overflow and underflow ignored).
        """
        ws = workspace
        acts = [X]
        A = X
        Z = None
        last = self.n_layers - 1
        fns = self._activations() if ws is None else ws.activations
        for k, ((W, b), fn) in enumerate(zip(self.params, fns)):
            Z = np.matmul(A, W, out=None if ws is None else ws.Z[k])
            Z += b
            # hidden layers in place; the output layer keeps Z for the loss
            to = Z if k < last else out if out is not None or ws is None else ws.out
            A = fn.forward(Z, to, UNBUFFERED if ws is None else ws.work[k])
            if keep:
                acts.append(A)
        return (acts, Z) if keep else A

    def predict(self, X):
        """Outputs for ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, sizes[0])
            Any real dtype, order or memory layout; converted to the network's
            dtype, never modified.

        Returns
        -------
        ndarray, shape (n_samples, sizes[-1])

        Raises
        ------
        ValueError
            ``X`` not 2-D, empty, complex, with NaN or inf, with the wrong number
            of features ("X has k features, but the network expects d"), or so
            large that the outputs overflow; NaN or inf weights that make the
            outputs not finite.
        TypeError
            ``X`` sparse or non-numeric.
        """
        return self.forward(X)

    def loss_value(self, X, Y):
        """The loss of the network on ``X`` (n_samples, n_in) and ``Y`` (n_samples, n_out).

        Like :meth:`gradients`, this checks only that ``X`` and ``Y`` are arrays
        of these shapes and of the network's dtype (``ValueError`` otherwise: a
        ``Y`` of shape (n,) would broadcast); their values it trusts: finite, as
        :func:`vecnet.fit` passes them (no scan, for speed).
        A loss beyond the float maximum is ``inf``, without a warning, whatever
        the caller's ``numpy.errstate`` (training stops such an epoch as diverged).
        """
        check_batch(X, Y, self.sizes[0], self.sizes[-1], self.dtype)
        with np.errstate(over="ignore", under="ignore"):
            acts, Z = self._forward(X, keep=True)
            return get_loss(self.loss).value(Y, acts[-1], Z, UNBUFFERED)

    def gradients(self, X, Y, out=None, workspace=None):
        """Loss and gradient of the batch loss, by matrix products.

        The engines call this once per batch, so it trusts the values of its
        inputs: finite, as :func:`vecnet.fit` passes them. Without ``workspace``,
        their shapes and dtype (the network's) are checked, and ``out``.

        Parameters
        ----------
        X : ndarray, shape (n_samples, sizes[0])
        Y : ndarray, shape (n_samples, sizes[-1])
        out : ndarray, shape (n_params,), optional
            Flat buffer to write the gradient into (laid out as :attr:`theta`).
        workspace : vecnet.engines._workspace.Workspace, optional
            Buffers for ``X``'s number of rows: then nothing batch-sized is
            allocated, and the gradient goes to ``workspace.grad`` unless ``out``
            is given. The results are bit-identical.

        Returns
        -------
        loss : float
        grad : ndarray, shape (n_params,)
            Flat gradient; ``self._views(grad)`` gives it as ``[(dW, db), ...]``.

        Raises
        ------
        ValueError
            Without ``workspace``: ``X`` or ``Y`` not an array of the shape above and
            the network's dtype; ``out`` not a writable C-contiguous array like
            :attr:`theta`, or sharing memory with it.
        """
        if workspace is not None:  # the engines, which set the error state once for a whole fit
            return self._gradients(X, Y, out, workspace)
        check_batch(X, Y, self.sizes[0], self.sizes[-1], self.dtype)
        if out is not None:
            check_out(out, self.theta)
        with np.errstate(over="ignore", under="ignore"):
            return self._gradients(X, Y, out, None)

    def _gradients(self, X, Y, out, ws):
        """:meth:`gradients` with the error state set by the caller."""
        if ws is None:
            grad = np.empty_like(self.theta) if out is None else out
            views = self._views(grad)
        else:
            grad = ws.grad if out is None else out
            views = ws.grad_views if grad is ws.grad else self._views(grad)
        acts, Z = self._forward(X, True, ws)
        loss = get_loss(self.loss)
        work = UNBUFFERED if ws is None else ws.work[-1]
        value = loss.value(Y, acts[-1], Z, work)
        delta = loss.delta(Y, acts[-1], Z, self.output_activation,
                           None if ws is None else ws.delta[-1], work)
        fns = self._activations() if ws is None else ws.activations
        for k in range(len(fns) - 1, -1, -1):
            dW, db = views[k]
            np.matmul(acts[k].T, delta, out=dW)
            np.add.reduce(delta, axis=0, out=db)  # np.sum without its Python wrapper
            if k:
                delta = np.matmul(delta, self.params[k][0].T, out=None if ws is None else ws.delta[k - 1])
                fns[k - 1].backward(acts[k], delta, UNBUFFERED if ws is None else ws.work[k - 1])
        return value, grad

    # -- training ---------------------------------------------------------------
    def fit(self, X, y, **kwargs):
        """Train the network; see :func:`vecnet.training.fit` for every option.

        Returns
        -------
        vecnet.training.History
        """
        return fit_network(self, X, y, **kwargs)

    def save(self, path, *, metadata=None):
        """Save the network to ``path`` (an ``.npz`` file, no pickle); see :func:`vecnet.io.save`."""
        save_model(self, path, metadata=metadata)

    # -- files (see vecnet.io) ------------------------------------------------------
    _file_arrays = (("theta",), ("optimizer_memory", "optimizer_steps"))

    def _to_file(self):
        """Header fields and arrays for :func:`vecnet.io.save`."""
        return network_fields(self)

    @classmethod
    def _check_declared(cls, path, header, shapes):
        """Refuse a header whose architecture disagrees with the arrays' declared ``(dtype, shape)``."""
        check_declared_network(path, header.get("network"), shapes)

    @classmethod
    def _from_file(cls, path, header, arrays):
        """The network a file describes, after checking it; see :func:`vecnet.io.load`."""
        net = build_network(cls, path, header.get("network"), arrays.get("theta"))
        restore_optimizer(path, net, arrays.get("optimizer_memory"), arrays.get("optimizer_steps"),
                          header["network"].get("optimizer_family"))
        return net

    def __repr__(self):
        return (f"Network(sizes={self.sizes}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r}, loss={self.loss!r}, "
                f"dtype={self.dtype.name})")

