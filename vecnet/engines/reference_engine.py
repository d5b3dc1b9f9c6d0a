"""The reference engine: the per-scalar :class:`vecnet.reference.ReferenceNetwork` itself.

It runs the article's 2-2-1 network with plain SGD, per sample or full batch,
in order, exactly as the original code does.
"""

from __future__ import annotations

import numpy as np

from ..optimizers import SGD
from ..scalar_map import is_article_network, set_from_reference, to_reference
from .base import Engine


class ReferenceEngine(Engine):
    """``"reference"``: the original's arithmetic, scalar by scalar; for checking, not speed."""

    name = "reference"
    rank = 2
    general = False
    multi_epoch = True   # the reference network is copied back once, after all epochs

    def check(self, net, n_samples, batch_size, optimizer, shuffled, streamed):
        if streamed:
            raise ValueError("engine 'reference' trains on in-memory data only")
        if not is_article_network(net):
            raise ValueError("engine 'reference' runs only the article's network "
                             "([2, 2, 1], sigmoid, mse)")
        if not (type(optimizer) is SGD and optimizer.momentum == 0 and optimizer.l2 == 0
                and optimizer.schedule == "constant"):
            raise ValueError("engine 'reference' runs only plain SGD (no momentum, l2 or schedule)")
        if batch_size not in (1, n_samples):
            raise ValueError("engine 'reference' runs per-sample (batch_size=1) or full-batch "
                             "(batch_size=None) training only")
        if shuffled:
            raise ValueError("engine 'reference' visits samples in order; it cannot shuffle")

    def run_epochs(self, net, X, Y, orders, epochs, batch_size, optimizer, state):
        """Train the per-scalar reference from ``net``'s weights and copy the result back."""
        ref = to_reference(net)
        n = X.shape[0]
        losses = []
        for _ in range(epochs):  # one epoch at a time, to stop like the other engines
            saved = ref.params()
            if batch_size == 1:
                ref.train(X, Y[:, 0], epochs=1, learn_rate=optimizer.lr, log_every=None,
                          epoch_losses=losses)
            else:
                losses.extend(ref.train_full_batch(X, Y[:, 0], epochs=1, learn_rate=optimizer.lr))
            if not np.isfinite([losses[-1], *ref.params().values()]).all():
                ref = type(ref)(saved)
                losses.pop()
                break
            state.steps[0] += n if batch_size == 1 else 1
        set_from_reference(net, ref)
        return losses


ENGINE = ReferenceEngine()
