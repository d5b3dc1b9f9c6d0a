"""The article's 2-2-1 sigmoid network, one scalar at a time.

This module is the exact, runnable reference that the matrix engines are held
against. It computes bit for bit what ``shared/seed/original_network.py``
computes: the nine parameters are drawn from numpy's *global* generator with
``numpy.random.normal()`` in the order w1, w2, w3, w4, w5, w6, b1, b2, b3; the
sigmoid uses ``numpy.exp``; every partial derivative of a step is taken from
the weights before the step, then all nine are updated; samples are visited in
order. Bit for bit holds on the same machine: numpy's ``exp`` takes another
code path on CPUs without AVX-512, and both the original and this module then
end a few ulps away from where they end on one with it.

The network::

    h1 = sigmoid(w1 * x0 + w2 * x1 + b1)
    h2 = sigmoid(w3 * x0 + w4 * x1 + b2)
    o  = sigmoid(w5 * h1 + w6 * h2 + b3)

and the per-sample loss gradient is ``-2 * (y_true - o)``.

Only two things differ from the original, and neither changes a single bit of
the arithmetic: the loss that the original prints every 10 epochs is returned
as a history (printing is optional), and learning rate and epochs are
arguments (defaults 0.1 and 1000, as in the original).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

PARAM_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")
"""The original's parameter names, in the order they are drawn."""


def sigmoid(x):
    """``1 / (1 + exp(-x))`` with ``numpy.exp``, as in the original."""
    return 1 / (1 + numpy.exp(-x))


def der_sigmoid(x):
    """``sigmoid(x) * (1 - sigmoid(x))``, as in the original."""
    return sigmoid(x) * (1 - sigmoid(x))


def mse_loss(y_true, y_pred):
    """Mean of the squared errors, as in the original."""
    return ((y_true - y_pred) ** 2).mean()


@dataclass
class LogEntry:
    """One loss the original prints: ``(epoch, loss)``, after sample ``sample``."""

    epoch: int
    sample: int
    loss: float


class ReferenceNetwork:
    """The article's 2-2-1 network with nine scalar parameters.

    Parameters
    ----------
    params : mapping of str to float, optional
        Values for ``w1`` .. ``w6``, ``b1`` .. ``b3``. When omitted, the nine
        are drawn with ``numpy.random.normal()`` from numpy's global generator
        in the original's order, so ``numpy.random.seed(s)`` followed by
        ``ReferenceNetwork()`` starts where the original starts.
    """

    def __init__(self, params=None):
        if params is None:
            for name in PARAM_NAMES:
                setattr(self, name, numpy.random.normal())
        else:
            missing = [n for n in PARAM_NAMES if n not in params]
            if missing:
                raise ValueError(f"params is missing {missing}; it needs all of {list(PARAM_NAMES)}")
            for name in PARAM_NAMES:
                setattr(self, name, params[name])

    def params(self):
        """The nine parameters as a dict ``{name: value}`` in the original's order."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def feedforward(self, x):
        """Forward one sample ``x`` of shape (2,): ``(h1, h1f, h2, h2f, o1, of)``."""
        h1 = x[0] * self.w1 + x[1] * self.w2 + self.b1
        h1f = sigmoid(h1)
        h2 = x[0] * self.w3 + x[1] * self.w4 + self.b2
        h2f = sigmoid(h2)
        o1 = h1f * self.w5 + h2f * self.w6 + self.b3
        of = sigmoid(o1)
        return h1, h1f, h2, h2f, o1, of

    def simulate(self, x):
        """The network's output for one sample ``x`` of shape (2,)."""
        return self.feedforward(x)[5]

    def predict(self, data):
        """Outputs for every row of ``data`` (n_samples, 2): shape (n_samples,)."""
        return numpy.apply_along_axis(self.simulate, 1, data)

    def loss(self, data, y_true):
        """The original's logged loss: mean squared error over ``data``."""
        return mse_loss(y_true, self.predict(data))

    def _gradients(self, x, y_tr):
        """The original's nine partial derivatives of one sample's loss, in PARAM_NAMES order."""
        h1, h1f, h2, h2f, o1, of = self.feedforward(x)
        der_L_y_pre = -2 * (y_tr - of)
        d_o1 = der_sigmoid(o1)
        d_h1 = der_sigmoid(h1)
        d_h2 = der_sigmoid(h2)
        der_y_pre_h1 = d_o1 * self.w5
        der_y_pre_h2 = d_o1 * self.w6
        # Each product is evaluated left to right, exactly as the original's
        # ``learn_rate * der_L_y_pre * a * b`` once learn_rate is factored out.
        return der_L_y_pre, (
            (der_y_pre_h1, d_h1 * x[0]),  # w1
            (der_y_pre_h1, d_h1 * x[1]),  # w2
            (der_y_pre_h2, d_h2 * x[0]),  # w3
            (der_y_pre_h2, d_h2 * x[1]),  # w4
            (d_o1 * h1f,),  # w5
            (d_o1 * h2f,),  # w6
            (der_y_pre_h1, d_h1),  # b1
            (der_y_pre_h2, d_h2),  # b2
            (d_o1,),  # b3
        )

    def train(self, data, all_y_tr, epochs=1000, learn_rate=0.1, log_every=10, verbose=False,
              epoch_losses=None):
        """Per-sample gradient descent, exactly as the original's ``train``.

        Parameters
        ----------
        data : ndarray, shape (n_samples, 2)
        all_y_tr : ndarray, shape (n_samples,)
        epochs : int, default 1000
        learn_rate : float, default 0.1
        log_every : int or None, default 10
            Log the loss over all of ``data`` after every sample of each epoch
            ``i`` with ``i % log_every == 0``, as the original does (it logs once
            per sample, a quirk kept for exactness). ``None`` logs nothing.
        verbose : bool, default False
            Also print each logged loss as the original does (``print(i, loss)``).
        epoch_losses : list, optional
            If given, each epoch appends the mean over its samples of
            ``(y_true - y_pred)**2`` taken before each update (the training
            loss the matrix engines report per epoch).

        Returns
        -------
        list of LogEntry
            The logged losses in the order the original prints them.
        """
        history = []
        for i in range(epochs):
            total = 0.0
            for s, (x, y_tr) in enumerate(zip(data, all_y_tr)):
                dl, grads = self._gradients(x, y_tr)
                total += (dl / 2) ** 2
                for name, factors in zip(PARAM_NAMES, grads):
                    step = learn_rate * dl
                    for f in factors:
                        step = step * f
                    setattr(self, name, getattr(self, name) - step)
                if log_every and i % log_every == 0:
                    loss = self.loss(data, all_y_tr)
                    history.append(LogEntry(i, s, loss))
                    if verbose:
                        print(i, loss)
            if epoch_losses is not None:
                epoch_losses.append(float(total / len(data)))
        return history

    def train_full_batch(self, data, all_y_tr, epochs=1000, learn_rate=0.1):
        """Full-batch gradient descent, per scalar: the reference for batch training.

        Each epoch sums the original's per-sample partial derivatives over all
        samples (in sample order), divides each sum by ``n_samples``, then
        updates all nine parameters from the weights before the epoch.

        Parameters
        ----------
        data : ndarray, shape (n_samples, 2)
        all_y_tr : ndarray, shape (n_samples,)
        epochs : int, default 1000
        learn_rate : float, default 0.1

        Returns
        -------
        list of float
            The loss over ``data`` before each epoch's update.
        """
        n = len(data)
        history = []
        for _ in range(epochs):
            sums = [0.0] * len(PARAM_NAMES)
            total = 0.0
            for x, y_tr in zip(data, all_y_tr):
                dl, grads = self._gradients(x, y_tr)
                total += (dl / 2) ** 2
                for k, factors in enumerate(grads):
                    g = dl
                    for f in factors:
                        g = g * f
                    sums[k] = sums[k] + g
            for name, g_sum in zip(PARAM_NAMES, sums):
                setattr(self, name, getattr(self, name) - learn_rate * (g_sum / n))
            history.append(float(total / n))
        return history
