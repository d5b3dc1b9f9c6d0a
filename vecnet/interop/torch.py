"""Weights to and from PyTorch: an ``nn.Sequential`` of ``Linear`` layers and activations.

Layout: torch's ``Linear`` computes ``x @ weight.T + bias`` with ``weight`` of
shape ``(n_out, n_in)``, so vecnet's ``W`` is ``weight.T`` (copied) and ``b`` is
``bias``. Parameters keep their dtype (float32 or float64) both ways.

Losses, all with ``reduction="mean"`` (torch's default):

========  ==================================  ======================================
vecnet    torch loss                          the ``Sequential``'s last layer
========  ==================================  ======================================
``mse``   ``MSELoss()``                       the output activation (none for identity)
``bce``   ``BCEWithLogitsLoss()``             the last ``Linear``: logits
``cce``   ``CrossEntropyLoss()``              the last ``Linear``: logits
========  ==================================  ======================================

Each averages over the same elements as vecnet's loss (``MSELoss`` and
``BCEWithLogitsLoss`` over samples and outputs, ``CrossEntropyLoss`` over
samples, with class-index or probability targets), so the gradients are the
same: scale factor 1, and a vecnet SGD step with ``lr`` equals
``torch.optim.SGD(lr=lr)``'s step (tests/test_interop_torch.py checks 1e-12).
Momentum: torch keeps ``buf = momentum * buf + g`` and steps ``-lr * buf``
(Nesterov: ``-lr * (g + momentum * buf)``); vecnet's ``v`` is ``-lr * buf``, so
the steps agree for a constant ``lr`` (torch's ``dampening=0``). vecnet's
``l2`` penalises weights only: ``weight_decay=l2`` on the ``Linear`` weights and
0 on the biases (two parameter groups).
"""

from __future__ import annotations

import numpy as np

from vecnet.losses import LOSSES
from vecnet.network import Network

from ._common import network_of, require

TORCH_ACTIVATIONS = {"identity": "Identity", "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
                     "softmax": "Softmax"}
"""vecnet activation -> the ``torch.nn`` module class name."""

TORCH_LOSSES = {"mse": "MSELoss", "bce": "BCEWithLogitsLoss", "cce": "CrossEntropyLoss"}
"""vecnet loss -> the ``torch.nn`` loss class that :func:`to_torch` returns."""


def _torch(what):
    return require("torch", "torch", what)


def to_torch(net):
    """A ``torch.nn.Sequential`` with the network's weights, and its loss.

    Parameters
    ----------
    net : Network, vecnet.MLPClassifier or vecnet.MLPRegressor
        A network or a fitted estimator (its ``net_``).

    Returns
    -------
    module : torch.nn.Sequential
        ``Linear, activation, Linear, ..., Linear`` with the network's dtype
        (``weight = W.T``, copied). For ``mse`` it ends with the output
        activation, so it computes :meth:`vecnet.Network.predict`; for ``bce``
        and ``cce`` it ends with the last ``Linear`` and computes logits
        (``torch.sigmoid`` / ``torch.softmax(dim=1)`` of them are the
        predictions).
    loss_fn : torch.nn.Module
        ``MSELoss()``, ``BCEWithLogitsLoss()`` or ``CrossEntropyLoss()``, whose
        gradient equals vecnet's (see the module docstring).

    Raises
    ------
    TypeError
        ``net`` is no vecnet network or estimator.
    vecnet.NotFittedError
        ``net`` is an estimator not fitted yet.
    ValueError
        ``net`` is an ensemble (``n_estimators > 1``).
    ImportError
        PyTorch is not installed (``pip install "vecnet[torch]"``).
    """
    torch = _torch("to_torch")
    net = network_of(net, "to_torch")
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    logits = net.loss in ("bce", "cce")
    layers = []
    for k, ((W, b), name) in enumerate(zip(net.params, net.layer_activations())):
        linear = torch.nn.utils.skip_init(torch.nn.Linear, W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(linear)
        last = k == net.n_layers - 1
        if last and (logits or name == "identity"):
            continue
        layers.append(torch.nn.Softmax(dim=1) if name == "softmax"
                      else getattr(torch.nn, TORCH_ACTIVATIONS[name])())
    return torch.nn.Sequential(*layers), getattr(torch.nn, TORCH_LOSSES[net.loss])()


def _layers(module, nn):
    """``[(Linear, activation name or None), ...]`` of a Sequential (or a single Linear)."""
    if isinstance(module, nn.Sequential) and (module._forward_hooks or module._forward_pre_hooks):
        raise ValueError("the Sequential has forward hooks, which may change what it computes; vecnet "
                         "reads the weights alone: remove the hooks first")
    if isinstance(module, nn.Sequential) and type(module) is not nn.Sequential:
        raise ValueError(f"{type(module).__name__} is a subclass of Sequential, whose forward vecnet cannot "
                         f"know; only torch.nn.Sequential itself is read")
    modules = list(module) if isinstance(module, nn.Sequential) else [module]
    by_class = {getattr(nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    layers = []
    for i, m in enumerate(modules):
        if getattr(m, "_forward_hooks", None) or getattr(m, "_forward_pre_hooks", None):
            raise ValueError(f"layer {i}: {type(m).__name__} has forward hooks, which may change what it "
                             f"computes; vecnet reads the weights alone: remove the hooks first")
        if isinstance(m, nn.Linear) and type(m) is not nn.Linear:
            raise ValueError(f"layer {i}: {type(m).__name__} is a subclass of Linear, whose forward vecnet "
                             f"cannot know; only torch.nn.Linear itself is read")
        if isinstance(m, nn.Linear):
            if m.bias is None:
                raise ValueError(f"layer {i}: a Linear without bias; every vecnet layer has one")
            layers.append([m, None])
            continue
        name = by_class.get(type(m))
        if name is None:
            raise ValueError(f"layer {i}: {type(m).__name__} has no vecnet equivalent; from_torch reads "
                             f"Linear layers and {sorted(c for c in TORCH_ACTIVATIONS.values())}")
        if not layers or layers[-1][1] is not None:
            raise ValueError(f"layer {i}: {type(m).__name__} must follow a Linear layer")
        if name == "softmax" and (m.dim not in (1, -1) or i != len(modules) - 1):
            raise ValueError(f"layer {i}: only a last Softmax(dim=1) has a vecnet equivalent")
        layers[-1][1] = name
    if not layers:
        raise ValueError("the module has no Linear layer")
    return layers


def _loss_spec(loss, nn):
    """``(vecnet loss, computed from logits?)`` of a torch loss module or a vecnet loss name."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid ones are {sorted(LOSSES)} or a torch loss")
        return loss, loss != "mse"
    kinds = {nn.MSELoss: ("mse", False), nn.BCEWithLogitsLoss: ("bce", True), nn.BCELoss: ("bce", False),
             nn.CrossEntropyLoss: ("cce", True)}
    spec = kinds.get(type(loss))
    if spec is None:
        raise ValueError(f"loss {type(loss).__name__} has no vecnet equivalent; use MSELoss, "
                         "BCEWithLogitsLoss, BCELoss or CrossEntropyLoss")
    if loss.reduction != "mean":
        raise ValueError(f"loss with reduction={loss.reduction!r}: vecnet's losses are means "
                         "(reduction='mean')")
    for attr in ("weight", "pos_weight"):
        if getattr(loss, attr, None) is not None:
            raise ValueError(f"a weighted loss ({attr}=...) has no vecnet equivalent")
    if getattr(loss, "label_smoothing", 0.0):
        raise ValueError("CrossEntropyLoss with label_smoothing has no vecnet equivalent")
    return spec


def from_torch(module, loss, output_activation=None):
    """A :class:`~vecnet.Network` with the weights of a torch ``Sequential``.

    Parameters
    ----------
    module : torch.nn.Sequential or torch.nn.Linear
        ``Linear`` layers (with bias), each but the last followed by the same
        activation (``Sigmoid``, ``Tanh``, ``ReLU`` or ``Identity``, or none);
        the last may be followed by one of those or ``Softmax(dim=1)``.
    loss : torch.nn.Module or str
        ``MSELoss``, ``BCEWithLogitsLoss`` or ``CrossEntropyLoss`` (on the
        module's logits), ``BCELoss`` (after a ``Sigmoid``), all with
        ``reduction="mean"``; or a vecnet name, ``"mse"`` / ``"bce"`` /
        ``"cce"`` standing for the first three.
    output_activation : str, optional
        The vecnet output activation when the module does not end with it,
        e.g. ``"sigmoid"`` for a module whose outputs go through
        ``torch.sigmoid`` before ``MSELoss``. With ``BCEWithLogitsLoss`` and
        ``CrossEntropyLoss`` it is ``"sigmoid"`` / ``"softmax"``, implied.

    Returns
    -------
    Network
        ``W = weight.T``, ``b = bias`` (copied), of the module's dtype; the
        loss and output activation as above.

    Raises
    ------
    ValueError
        A module or loss with no vecnet equivalent, two output activations
        (one in the module and another in ``output_activation``), or a
        logits loss after an output activation.
    ImportError
        PyTorch is not installed (``pip install "vecnet[torch]"``).
    """
    torch = _torch("from_torch")
    layers = _layers(module, torch.nn)
    loss_name, from_logits = _loss_spec(loss, torch.nn)
    hidden = {act or "identity" for _, act in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(f"the hidden layers use {sorted(hidden)}; a vecnet network has one hidden activation")
    last = layers[-1][1]
    if from_logits:
        implied = "sigmoid" if loss_name == "bce" else "softmax"
        if last not in (None, "identity"):
            raise ValueError(f"{type(loss).__name__ if not isinstance(loss, str) else loss!r} works on "
                             f"logits, but the module ends with {TORCH_ACTIVATIONS[last]}")
        if output_activation not in (None, implied):
            raise ValueError(f"this loss implies a {implied!r} output, not {output_activation!r}")
        out = implied
    elif last not in (None, "identity") and output_activation is not None:
        raise ValueError(f"the module ends with {TORCH_ACTIVATIONS[last]}; output_activation="
                         f"{output_activation!r} would be a second output activation")
    else:
        out = output_activation or last or "identity"
    for k in range(len(layers) - 1):
        if layers[k][0].out_features != layers[k + 1][0].in_features:
            raise ValueError(f"Linear {k} has {layers[k][0].out_features} outputs but Linear {k + 1} "
                             f"takes {layers[k + 1][0].in_features} inputs")
    dtypes = {p.dtype for m, _ in layers for p in (m.weight, m.bias)}
    if not dtypes <= {torch.float32, torch.float64}:   # before .numpy(), which has no bfloat16
        raise ValueError(f"the parameters have dtype {', '.join(sorted(str(d) for d in dtypes))}; vecnet "
                         f"holds float32 or float64: convert the module first (module.double() or .float())")
    weights = [(m.weight.detach().cpu().numpy().T.copy(), m.bias.detach().cpu().numpy().copy())
               for m, _ in layers]
    dtype = np.result_type(*(a for pair in weights for a in pair))
    sizes = [layers[0][0].in_features, *(m.out_features for m, _ in layers)]
    net = Network(sizes, activation=hidden.pop() if hidden else "identity", output_activation=out,
                  loss=loss_name, seed=0, dtype=dtype)
    return net.set_params(weights)
