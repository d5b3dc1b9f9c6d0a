"""Peers for ``vecnet bench --peers``: PyTorch on the CPU and scikit-learn's MLP.

Each trains the same layer sizes from the same initial weights on the same
data, in the same batches, for the same epochs, with plain SGD. PyTorch runs
the very same network and loss; scikit-learn has its own output layer and loss
(``MLPClassifier``: logistic or softmax output with log-loss, used for the
``bce``, ``cce`` and sigmoid-output jobs; ``MLPRegressor``: identity output
with squared error), so its time is for comparable, not identical, work.
Neither package is needed at import time.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

PEERS = ("torch", "sklearn")
MODULES = {"torch": "torch", "sklearn": "sklearn"}
INSTALL = {"torch": "pip install torch", "sklearn": 'pip install "vecnet[peers]"'}
NOTES = {"sklearn": "own output layer and loss"}


def missing(engine):
    """``"not installed (pip install ...)"`` for a peer that is missing, else ``""``."""
    module = MODULES.get(engine)
    if module is None or importlib.util.find_spec(module) is not None:
        return ""
    return f"not installed ({INSTALL[engine]})"


def runner(engine):
    """``run(workload, net, X, Y, epochs=None, n=None)`` for the peer ``engine``."""
    return {"torch": _torch, "sklearn": _sklearn}[engine]


def _batches(n, batch_size):
    batch = n if batch_size is None else min(batch_size, n)
    return [(s, min(s + batch, n)) for s in range(0, n, batch)]


def _torch(w, net, X, Y, epochs=None, n=None):
    import torch

    n = X.shape[0] if n is None else n
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    acts = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU,
            "identity": torch.nn.Identity}
    layers = []
    for k, (W, b) in enumerate(net.params):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
        if k < net.n_layers - 1:
            layers.append(acts[net.activation]())
    if net.loss == "mse":
        layers.append(acts[net.output_activation]())
        loss_fn = torch.nn.MSELoss()
    elif net.loss == "bce":
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=w.lr)
    Xt = torch.from_numpy(np.ascontiguousarray(X[:n]))
    Yt = torch.from_numpy(np.ascontiguousarray(Y[:n]))
    if net.loss == "cce":
        Yt = Yt.argmax(dim=1)
    for _ in range(w.epochs if epochs is None else epochs):
        for s, e in _batches(n, w.batch_size):
            opt.zero_grad()
            loss = loss_fn(model(Xt[s:e]), Yt[s:e])
            loss.backward()
            opt.step()


def _sklearn(w, net, X, Y, epochs=None, n=None):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    n = X.shape[0] if n is None else n
    activation = {"sigmoid": "logistic"}.get(net.activation, net.activation)
    epochs = w.epochs if epochs is None else epochs
    kwargs = dict(hidden_layer_sizes=tuple(net.sizes[1:-1]), activation=activation, solver="sgd",
                  alpha=0.0, batch_size=n if w.batch_size is None else min(w.batch_size, n),
                  learning_rate_init=w.lr, momentum=0.0, nesterovs_momentum=False,
                  max_iter=epochs, shuffle=False, tol=0.0, n_iter_no_change=epochs + 1)
    if net.loss == "mse" and net.output_activation == "identity":
        model, target = MLPRegressor(**kwargs), Y[:n]
    elif net.loss == "cce":
        model, target = MLPClassifier(**kwargs), Y[:n].argmax(axis=1)
    else:
        model, target = MLPClassifier(**kwargs), (Y[:n, 0] > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:n], target)
