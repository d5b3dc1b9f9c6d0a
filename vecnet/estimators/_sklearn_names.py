"""scikit-learn's names for a fitted MLP's network: ``coefs_``, ``intercepts_``, ``n_layers_`` and the like.

vecnet's estimators keep their network in ``net_`` (a :class:`vecnet.Network`);
code written for scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` reads it
under these names (and ``out_activation_``, ``loss_``). Each is a read-only
property computed from ``net_``; the weight matrices and biases are views, so
writing into them changes the network, as in scikit-learn. Before ``fit``, and
for an ensemble (``n_estimators > 1``) all but ``loss_``, they raise
``AttributeError`` saying why (so ``hasattr`` is False). scikit-learn's ``t_``
(samples seen) has no counterpart: vecnet counts updates
(``net_.optimizer_state.steps``).
"""

from __future__ import annotations

OUT_ACTIVATIONS = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity"}
"""scikit-learn's names of the output activations."""


class ScikitLearnNames:
    """The mixin of :class:`vecnet.MLPClassifier` and :class:`vecnet.MLPRegressor` that gives the names."""

    def _one_network(self, name):
        """``net_``, or ``AttributeError`` naming ``name`` when unfitted or an ensemble."""
        members = self.__dict__.get("estimators_")
        if not members:
            raise AttributeError(f"{type(self).__name__} has no {name} before fit")
        if len(members) > 1:
            raise AttributeError(f"{name}: an ensemble (n_estimators={len(members)}) has one per member; "
                                 f"read estimators_[k].params")
        return members[0]

    @property
    def coefs_(self):
        """list of ndarray, each (n_in, n_out): the weight matrices (views of ``net_``'s)."""
        return [W for W, _ in self._one_network("coefs_").params]

    @property
    def intercepts_(self):
        """list of ndarray, each (n_out,): the biases (views of ``net_``'s)."""
        return [b for _, b in self._one_network("intercepts_").params]

    @property
    def n_layers_(self):
        """int: layers, input and output included (``len(net_.sizes)``)."""
        return len(self._one_network("n_layers_").sizes)

    @property
    def out_activation_(self):
        """str: the output activation in scikit-learn's words: ``"logistic"``, ``"softmax"`` or ``"identity"``."""
        return OUT_ACTIVATIONS[self._one_network("out_activation_").output_activation]

    @property
    def loss_(self):
        """float or None: the last epoch's training loss (``loss_curve_[-1]``; None before any epoch)."""
        curve = self.__dict__.get("loss_curve_")
        if curve is None:
            raise AttributeError(f"{type(self).__name__} has no loss_ before fit")
        return curve[-1] if curve else None
