"""What every training engine offers; each engine module defines one :class:`Engine`.

An engine runs whole epochs over data the training loop has already checked
and converted: ``X`` (n_samples, n_in) and ``Y`` (n_samples, n_out) of the
network's dtype, C-contiguous, visiting the samples of epoch ``e`` in the order
``orders[e % len(orders)]`` in batches of ``batch_size``. It updates the
network's flat ``theta`` and the optimizer state (``memory``, ``steps``: see
:class:`vecnet.optimizers.OptimizerState`) in place and returns the per-epoch
training losses (the mean of the per-sample losses taken before each update) of
the epochs it completed. It stops at the first epoch in which the loss or a
weight stops being finite and does not count it: see :attr:`Engine.multi_epoch`
for who puts that epoch's weights back.
"""

from __future__ import annotations


class Engine:
    """One way of running training epochs; the registry in :mod:`vecnet.engines` holds one of each.

    Attributes
    ----------
    name : str
        The name users pass as ``engine=``.
    general : bool
        True when the engine runs any network, optimizer and data (so the
        estimators and the command line offer it).
    rank : int
        Place in listings (error messages, ``--engine`` choices), lowest first.
    multi_epoch : bool
        True when one call may run several epochs; such an engine puts back the
        weights of the start of a failing epoch itself. The training loop calls
        the others one epoch at a time and puts those weights back for them.
    """

    name = ""
    rank = 100
    general = True
    multi_epoch = False

    def check(self, net, n_samples, batch_size, optimizer, shuffled, streamed):
        """Raise ``ValueError`` saying why, when this engine cannot run the training described."""

    def run_epochs(self, net, X, Y, orders, epochs, batch_size, optimizer, state):
        """Run up to ``epochs`` epochs; return the losses of those completed (see the module docstring)."""
        raise NotImplementedError

    def warm_up(self, net, X, Y, optimizer, batch_size):
        """Get ready to run on arrays like ``X`` and ``Y`` in batches of ``batch_size`` (e.g. compile).

        Returns the seconds it took.
        """
        return 0.0

    def cost(self, net, n_samples, batch_size):
        """Relative time per multiply-add for ``engine="auto"``, or None to be never chosen.

        Only comparisons between engines mean something; see
        :func:`vecnet.engines.choose_engine`.
        """
        return None

    def __repr__(self):
        return f"<vecnet engine {self.name!r}>"
