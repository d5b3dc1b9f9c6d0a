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

    def run_many(self, net, thetas, X, Y, orders, epochs, batch_size, optimizers, memory, steps, active):
        """Train ``K`` models of ``net``'s architecture side by side; None when this engine cannot.

        Model ``k`` must come out exactly (bit for bit) as :meth:`run_epochs` would leave a
        network of ``net``'s architecture with weights ``thetas[k]``, trained alone on ``X``,
        ``Y`` with ``optimizers[k]`` and state ``(memory[k], steps[k])``, visiting in epoch
        ``e`` the samples in the order ``orders[k % len(orders), e % orders.shape[1]]``.

        Parameters
        ----------
        net : Network
            The architecture (sizes, activations, loss, dtype); its own weights are not used.
        thetas : ndarray, shape (K, n_params), net.dtype, C-contiguous
            Row ``k`` is model ``k``'s flat parameters; updated in place.
        X : ndarray, shape (n_samples, n_in); Y : ndarray, shape (n_samples, n_out)
            Shared by every model; checked, of ``net.dtype``, C-contiguous.
        orders : ndarray of int64, shape (1 or K, n_orders, n_samples)
        epochs, batch_size : int
        optimizers : sequence of K Optimizer
            One class, equal settings but for ``lr`` and ``l2``, which may differ by model.
        memory : ndarray, shape (K, 2, n_params), net.dtype; steps : ndarray of int64, shape (K, 1)
            The optimizer state of each model; updated in place.
        active : ndarray of bool, shape (K,)
            The models to train; the others are left untouched.

        Returns
        -------
        losses : ndarray of float64, shape (K, epochs)
            ``losses[k, :done[k]]`` are model ``k``'s epoch losses.
        done : ndarray of int64, shape (K,)
            Epochs each model completed (0 when inactive). ``done[k] < epochs`` for an active
            model means it diverged in epoch ``done[k]`` (the rule of :meth:`run_epochs`): its
            weights, memory and steps are put back to that epoch's start; the others go on.
        """
        return None

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
