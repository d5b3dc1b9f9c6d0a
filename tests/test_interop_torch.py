"""vecnet against PyTorch: the same weights give the same outputs and the same SGD steps (float64).

The torch models here are built by hand from the weights (``weight = W.T``),
independently of :func:`vecnet.interop.to_torch`, and trained by
``torch.optim.SGD`` with torch's own losses (``reduction="mean"``). Expected
scale factor, vecnet's gradient over torch's: 1 for every loss, since each torch
loss averages over the same elements as vecnet's.
"""

import sys

import numpy as np
import pytest

import vecnet
from helpers import engine_cases
from vecnet.interop import from_torch, to_torch
from vecnet.optimizers import SGD

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = 1e-12
N, N_IN, HIDDEN = 12, 3, (5, 4)
ACTS = {"identity": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}

# case -> (vecnet output, vecnet loss, outputs, torch loss, does the torch model end with the output activation?)
CASES = {
    "mse identity k=1": ("identity", "mse", 1, nn.MSELoss, True),
    "mse identity k=3": ("identity", "mse", 3, nn.MSELoss, True),
    "mse sigmoid k=2": ("sigmoid", "mse", 2, nn.MSELoss, True),
    "bce k=1": ("sigmoid", "bce", 1, nn.BCEWithLogitsLoss, False),
    "bce k=3": ("sigmoid", "bce", 3, nn.BCEWithLogitsLoss, False),
    "cce class indices": ("softmax", "cce", 3, nn.CrossEntropyLoss, False),
    "cce probabilities": ("softmax", "cce", 3, nn.CrossEntropyLoss, False),
}


def data(case, seed=0):
    """``X`` (N, 3), vecnet's targets ``Y`` (N, k) and torch's targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, N_IN))
    out, loss, k, _, _ = CASES[case]
    if loss == "mse":
        Y = rng.normal(size=(N, k)) if out == "identity" else rng.random((N, k))
    elif loss == "bce":
        Y = (rng.random((N, k)) < 0.5).astype(float)
    elif case == "cce class indices":
        y = np.arange(N) % 3
        return X, np.eye(3)[y], torch.from_numpy(y).long()
    else:
        Y = rng.dirichlet(np.ones(k), size=N)
    return X, Y, torch.from_numpy(Y)


def vecnet_net(case, activation="tanh", seed=1):
    out, loss, k, _, _ = CASES[case]
    return vecnet.Network([N_IN, *HIDDEN, k], activation=activation, output_activation=out, loss=loss,
                          init="glorot", seed=seed)


def torch_at(net, ends_with_output):
    """A float64 torch Sequential with ``net``'s weights, written out layer by layer."""
    layers = []
    for k, (W, b) in enumerate(net.params):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight[...] = torch.from_numpy(W.T.copy())
            linear.bias[...] = torch.from_numpy(b.copy())
        layers.append(linear)
        if k < net.n_layers - 1:
            layers.append(ACTS[net.activation]())
        elif ends_with_output and net.output_activation != "identity":
            layers.append(ACTS[net.output_activation]())
    return nn.Sequential(*layers)


def torch_predict(model, net, X):
    with torch.no_grad():
        out = model(torch.from_numpy(X))
    if net.loss == "bce":
        out = torch.sigmoid(out)
    elif net.loss == "cce":
        out = torch.softmax(out, dim=1)
    return out.numpy()


def assert_same_weights(net, model, label):
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for k, ((W, b), m) in enumerate(zip(net.params, linears)):
        err = max(np.abs(W - m.weight.detach().numpy().T).max(), np.abs(b - m.bias.detach().numpy()).max())
        assert err <= TOL, f"{label}: layer {k} differs by {err:.3g}"


def torch_train(model, loss_fn, X, target, batch, epochs, **sgd):
    """``torch.optim.SGD`` over ``X`` in order, batches of ``batch``; ``l2`` on the weights only."""
    l2 = sgd.pop("l2", 0.0)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    biases = [m.bias for m in model if isinstance(m, nn.Linear)]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": l2}, {"params": biases, "weight_decay": 0.0}],
                          **sgd)
    Xt = torch.from_numpy(X)
    for _ in range(epochs):
        for start in range(0, N, batch):
            opt.zero_grad()
            loss_fn(model(Xt[start:start + batch]), target[start:start + batch]).backward()
            opt.step()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ACTS)
def test_forward_agrees(case, activation):
    X, _, _ = data(case)
    net = vecnet_net(case, activation)
    model = torch_at(net, CASES[case][4])
    np.testing.assert_allclose(net.predict(X), torch_predict(model, net, X), rtol=0, atol=TOL)


@pytest.mark.parametrize("case, activation, engine", engine_cases(CASES, ACTS))
def test_one_sgd_step_agrees(case, activation, engine):
    X, Y, target = data(case)
    net = vecnet_net(case, activation)
    model = torch_at(net, CASES[case][4])
    torch_train(model, CASES[case][3](), X, target, batch=N, epochs=1, lr=0.3)
    net.fit(X, Y, epochs=1, batch_size=None, optimizer=SGD(lr=0.3), engine=engine)
    assert_same_weights(net, model, f"{case}, {activation}, {engine}")


@pytest.mark.parametrize("case, nesterov, engine",
                         engine_cases(["mse identity k=3", "bce k=3", "cce class indices"], [False, True]))
def test_momentum_and_l2_steps_agree(case, nesterov, engine):
    """8 steps (2 epochs of 4 batches of 3) with momentum 0.9 and L2 on the weights."""
    X, Y, target = data(case, seed=2)
    net = vecnet_net(case, "relu", seed=3)
    model = torch_at(net, CASES[case][4])
    torch_train(model, CASES[case][3](), X, target, batch=3, epochs=2, lr=0.05, momentum=0.9,
                nesterov=nesterov, l2=0.1)
    net.fit(X, Y, epochs=2, batch_size=3, optimizer=SGD(lr=0.05, momentum=0.9, nesterov=nesterov, l2=0.1),
            engine=engine)
    assert_same_weights(net, model, f"{case}, nesterov={nesterov}, {engine}")


# -- to_torch / from_torch ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_to_torch_gives_the_model_and_loss_that_train_the_same(case):
    X, Y, target = data(case, seed=4)
    net = vecnet_net(case, "sigmoid", seed=5)
    model, loss_fn = to_torch(net)
    assert isinstance(loss_fn, CASES[case][3]) and loss_fn.reduction == "mean"
    assert all(p.dtype == torch.float64 for p in model.parameters())
    np.testing.assert_allclose(torch_predict(model, net, X), net.predict(X), rtol=0, atol=TOL)
    torch_train(model, loss_fn, X, target, batch=N, epochs=1, lr=0.2)
    net.fit(X, Y, epochs=1, batch_size=None, optimizer=SGD(lr=0.2), engine="numpy")
    assert_same_weights(net, model, case)
    back = from_torch(model, loss_fn)
    assert (back.sizes, back.activation, back.output_activation, back.loss) == \
        (net.sizes, net.activation, net.output_activation, net.loss)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for (W, b), m in zip(back.params, linears):
        np.testing.assert_array_equal(W, m.weight.detach().numpy().T)
        np.testing.assert_array_equal(b, m.bias.detach().numpy())


def test_to_torch_float32_and_an_estimator():
    net = vecnet.Network([3, 4, 2], activation="relu", output_activation="identity", seed=0, dtype=np.float32)
    model, _ = to_torch(net)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert from_torch(model, nn.MSELoss()).dtype == np.float32
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.warns(vecnet.ConvergenceWarning):
        est = vecnet.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    model, loss_fn = to_torch(est)
    p = torch.sigmoid(model(torch.from_numpy(X))).detach().numpy()[:, 0]
    np.testing.assert_allclose(p, est.predict_proba(X)[:, 1], rtol=0, atol=TOL)


def test_from_torch_reads_output_activations_from_the_module_the_loss_or_the_argument():
    lin = [nn.Linear(3, 4, dtype=torch.float64), nn.Linear(4, 2, dtype=torch.float64)]
    net = from_torch(nn.Sequential(lin[0], nn.Tanh(), lin[1], nn.Sigmoid()), nn.BCELoss())
    assert (net.activation, net.output_activation, net.loss) == ("tanh", "sigmoid", "bce")
    net = from_torch(nn.Sequential(lin[0], nn.ReLU(), lin[1]), nn.MSELoss(), output_activation="sigmoid")
    assert (net.activation, net.output_activation, net.loss) == ("relu", "sigmoid", "mse")
    net = from_torch(nn.Sequential(lin[0], lin[1], nn.Softmax(dim=1)), "mse")
    assert (net.activation, net.output_activation, net.loss) == ("identity", "softmax", "mse")
    net = from_torch(lin[1], "cce")
    assert (net.sizes, net.output_activation, net.loss) == ([4, 2], "softmax", "cce")
    np.testing.assert_array_equal(net.params[0][0], lin[1].weight.detach().numpy().T)


@pytest.mark.parametrize("module, loss, kwargs, message", [
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Dropout(), nn.Linear(4, 1)), nn.MSELoss(), {},
     "Dropout has no vecnet equivalent"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)),
     nn.MSELoss(), {}, "one hidden activation"),
    (lambda: nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 1)), nn.MSELoss(), {}, "without bias"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1)), nn.MSELoss(), {}, "takes 5 inputs"),
    (lambda: nn.Sequential(nn.Linear(3, 1)), nn.MSELoss(reduction="sum"), {}, "reduction='sum'"),
    (lambda: nn.Sequential(nn.Linear(3, 2)), nn.CrossEntropyLoss(label_smoothing=0.1), {}, "label_smoothing"),
    (lambda: nn.Sequential(nn.Linear(3, 1)), nn.BCEWithLogitsLoss(pos_weight=torch.ones(1)), {}, "weighted"),
    (lambda: nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()), nn.BCEWithLogitsLoss(), {}, "works on logits"),
    (lambda: nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()), nn.MSELoss(), {"output_activation": "tanh"},
     "second output activation"),
    (lambda: nn.Sequential(nn.Linear(3, 2)), nn.CrossEntropyLoss(), {"output_activation": "sigmoid"},
     "implies a 'softmax' output"),
    (lambda: nn.Sequential(nn.Linear(3, 2)), nn.NLLLoss(), {}, "NLLLoss has no vecnet equivalent"),
    (lambda: nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)), nn.MSELoss(), {}, "Softmax"),
    (lambda: nn.Sequential(nn.Linear(3, 1)).to(torch.bfloat16), nn.MSELoss(), {},
     r"dtype torch.bfloat16; vecnet holds float32 or float64: convert the module first"),
    (lambda: nn.Sequential(nn.Linear(3, 1)).to(torch.float16), nn.MSELoss(), {}, r"dtype torch.float16; vecnet"),
])
def test_from_torch_refuses_what_vecnet_does_not_have(module, loss, kwargs, message):
    with pytest.raises(ValueError, match=message):
        from_torch(module(), loss, **kwargs)


class _Doubled(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


def _hooked(on_sequential=False):
    module = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    (module if on_sequential else module[2]).register_forward_hook(lambda mod, args, out: out * 10)
    return module


@pytest.mark.parametrize("module, message", [
    (lambda: nn.Sequential(_Doubled(3, 4), nn.ReLU(), nn.Linear(4, 1)), "_Doubled is a subclass of Linear"),
    (lambda: _hooked(), "layer 2: Linear has forward hooks"),
    (lambda: _hooked(on_sequential=True), "the Sequential has forward hooks"),
])
def test_from_torch_refuses_layers_whose_forward_it_cannot_know(module, message):
    """These computed something else than their weights say: they were read silently as plain layers."""
    with pytest.raises(ValueError, match=message):
        from_torch(module(), nn.MSELoss())


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r'pip install "vecnet\[torch\]"'):
        to_torch(vecnet.Network([2, 2, 1]))
