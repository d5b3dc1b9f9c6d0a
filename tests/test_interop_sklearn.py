"""vecnet against scikit-learn's MLP: the same weights give the same outputs and the same SGD steps.

scikit-learn is set to the weights by hand here (a first ``partial_fit`` to
create its fitted state, then ``coefs_`` / ``intercepts_`` overwritten and its
optimizer dropped), independently of :mod:`vecnet.interop.sklearn`, and its own
``partial_fit`` takes the steps. The expected scale factors (vecnet's gradient
over scikit-learn's) are written out below, worked out from scikit-learn's
``_backprop`` (``dL/dZ = (A - Y) / n`` for every loss) and vecnet's losses.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import vecnet
from helpers import engine_cases
from vecnet.interop import from_sklearn, network_from_sklearn, to_sklearn
from vecnet.optimizers import SGD, Adam

sk_nn = pytest.importorskip("sklearn.neural_network")

TOL = 1e-12
HIDDEN = (5, 4)
N, N_IN = 12, 3
SK_HIDDEN = {"identity": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}

# task -> (vecnet output, vecnet loss, outputs k, vecnet gradient / scikit-learn gradient)
TASKS = {
    "squared k=1": ("identity", "mse", 1, 2.0),        # 2 (A - Y) / n   vs  (A - Y) / n
    "squared k=3": ("identity", "mse", 3, 2.0 / 3),    # 2 (A - Y) / (3n) vs (A - Y) / n
    "binary": ("sigmoid", "bce", 1, 1.0),              # (A - Y) / n      vs  (A - Y) / n
    "multiclass": ("softmax", "cce", 3, 1.0),          # (A - Y) / n      vs  (A - Y) / n
    "multilabel k=3": ("sigmoid", "bce", 3, 1.0 / 3),  # (A - Y) / (3n)   vs  (A - Y) / n
}


def data(task, seed=0):
    """``X`` (N, 3), scikit-learn's ``y`` and vecnet's float targets ``Y`` (N, k)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, N_IN))
    _, _, k, _ = TASKS[task]
    if task.startswith("squared"):
        Y = rng.normal(size=(N, k))
        return X, (Y[:, 0] if k == 1 else Y), Y
    if task == "binary":
        y = np.arange(N) % 2
        return X, y, y[:, None].astype(float)
    if task == "multiclass":
        y = np.arange(N) % 3
        return X, y, np.eye(3)[y]
    Y = (rng.random((N, k)) < 0.5).astype(int)
    Y[0], Y[1] = 0, 1                      # both values in every column
    return X, Y, Y.astype(float)


def vecnet_net(task, activation, seed=1):
    out, loss, k, _ = TASKS[task]
    return vecnet.Network([N_IN, *HIDDEN, k], activation=activation, output_activation=out, loss=loss,
                          init="glorot", seed=seed)


def sklearn_at(task, net, X, y, **params):
    """A scikit-learn MLP for ``task`` holding ``net``'s weights, with fresh optimizer memory."""
    cls = sk_nn.MLPRegressor if task.startswith("squared") else sk_nn.MLPClassifier
    sk = cls(hidden_layer_sizes=HIDDEN, activation=SK_HIDDEN[net.activation], shuffle=False, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = np.arange(y.shape[1]) if task.startswith("multilabel") else np.unique(y)
        sk.partial_fit(X, y, **({} if task.startswith("squared") else {"classes": classes}))
    sk.coefs_ = [W.copy() for W, _ in net.params]
    sk.intercepts_ = [b.copy() for _, b in net.params]
    del sk._optimizer
    return sk


def sk_outputs(sk, X):
    if isinstance(sk, sk_nn.MLPRegressor):
        return sk.predict(X).reshape(X.shape[0], -1)
    p = sk.predict_proba(X)
    return p[:, 1:] if p.shape[1] == 2 and sk.out_activation_ == "logistic" and sk.n_outputs_ == 1 else p


def assert_same_weights(net, sk, label):
    for k, ((W, b), W_sk, b_sk) in enumerate(zip(net.params, sk.coefs_, sk.intercepts_)):
        err = max(np.abs(W - W_sk).max(), np.abs(b - b_sk).max())
        assert err <= TOL, f"{label}: layer {k} differs by {err:.3g}"


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", SK_HIDDEN)
def test_forward_agrees(task, activation):
    X, y, _ = data(task)
    net = vecnet_net(task, activation)
    sk = sklearn_at(task, net, X, y)
    np.testing.assert_allclose(net.predict(X), sk_outputs(sk, X), rtol=0, atol=TOL)


@pytest.mark.parametrize("task, activation, engine", engine_cases(TASKS, SK_HIDDEN))
def test_one_sgd_step_agrees(task, activation, engine):
    X, y, Y = data(task)
    net = vecnet_net(task, activation)
    lr, alpha = 0.3, 0.0
    sk = sklearn_at(task, net, X, y, solver="sgd", learning_rate_init=lr, momentum=0.0, batch_size=N,
                    alpha=alpha)
    sk.partial_fit(X, y)
    factor = TASKS[task][3]
    net.fit(X, Y, epochs=1, batch_size=None, optimizer=SGD(lr=lr / factor), engine=engine)
    assert_same_weights(net, sk, f"{task}, {activation}, {engine}")


@pytest.mark.parametrize("task, nesterov, engine", engine_cases(TASKS, [False, True]))
def test_momentum_and_l2_steps_agree(task, nesterov, engine):
    """8 steps (2 epochs of 4 batches of 3) with momentum 0.9 and L2."""
    X, y, Y = data(task, seed=2)
    net = vecnet_net(task, "tanh", seed=3)
    lr, alpha, batch, momentum = 0.05, 0.3, 3, 0.9
    sk = sklearn_at(task, net, X, y, solver="sgd", learning_rate_init=lr, momentum=momentum,
                    nesterovs_momentum=nesterov, batch_size=batch, alpha=alpha)
    sk.partial_fit(X, y)
    sk.partial_fit(X, y)
    factor = TASKS[task][3]
    opt = SGD(lr=lr / factor, momentum=momentum, nesterov=nesterov, l2=alpha * factor / batch)
    net.fit(X, Y, epochs=2, batch_size=batch, optimizer=opt, engine=engine)
    assert_same_weights(net, sk, f"{task}, nesterov={nesterov}, {engine}")


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_adam_steps_agree_where_the_factor_is_one(task):
    X, y, Y = data(task, seed=4)
    net = vecnet_net(task, "relu", seed=5)
    sk = sklearn_at(task, net, X, y, solver="adam", learning_rate_init=0.01, batch_size=4, alpha=0.1)
    sk.partial_fit(X, y)
    net.fit(X, Y, epochs=1, batch_size=4, optimizer=Adam(lr=0.01, l2=0.1 / 4), engine="numpy")
    assert_same_weights(net, sk, task)


# -- from_sklearn / to_sklearn ---------------------------------------------------------------------


def fitted_sklearn(task, activation="tanh", **params):
    X, y, _ = data(task, seed=6)
    cls = sk_nn.MLPRegressor if task.startswith("squared") else sk_nn.MLPClassifier
    sk = cls(hidden_layer_sizes=(6,), activation=activation, max_iter=30, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sk.fit(X, y), X, y


@pytest.mark.parametrize("task", TASKS)
def test_network_from_sklearn_predicts_the_same(task):
    sk, X, _ = fitted_sklearn(task, activation="logistic")
    net = network_from_sklearn(sk)
    assert net.activation == "sigmoid" and net.sizes == [N_IN, 6, TASKS[task][2]]
    assert (net.output_activation, net.loss) == TASKS[task][:2]
    np.testing.assert_allclose(net.predict(X), sk_outputs(sk, X), rtol=0, atol=TOL)


@pytest.mark.parametrize("task", ["squared k=1", "squared k=3", "binary", "multiclass"])
def test_from_sklearn_gives_an_estimator_that_predicts_and_trains_the_same(task):
    sk, X, y = fitted_sklearn(task, solver="sgd", learning_rate_init=0.05, shuffle=False, batch_size=4,
                              alpha=0.01)
    est = from_sklearn(sk)
    assert type(est).__name__ == type(sk).__name__ and est.__module__.startswith("vecnet")
    assert est.n_iter_ == sk.n_iter_ and est.loss_curve_ == sk.loss_curve_
    assert est.solver == "sgd" and est.alpha == 0.01 and est.hidden_layer_sizes == (6,)
    np.testing.assert_allclose(est.predict(X), sk.predict(X), rtol=0, atol=TOL)
    if hasattr(sk, "classes_"):
        np.testing.assert_array_equal(est.classes_, sk.classes_)
        np.testing.assert_allclose(est.predict_proba(X), sk.predict_proba(X), rtol=0, atol=TOL)
    del sk._optimizer                 # vecnet's copy starts with fresh optimizer memory too
    sk.partial_fit(X, y)
    est.partial_fit(X, y)
    assert_same_weights(est.net_, sk, task)


def test_from_sklearn_keeps_string_labels_and_multilabel_becomes_a_network():
    X, _, _ = data("binary")
    labels = np.array(["cat", "dog", "emu"])[np.arange(N) % 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_nn.MLPClassifier((4,), max_iter=5, random_state=0).fit(X, labels)
    est = from_sklearn(sk)
    assert est.predict(X).tolist() == sk.predict(X).tolist()
    multi, X, _ = fitted_sklearn("multilabel k=3")
    net = from_sklearn(multi)
    assert isinstance(net, vecnet.Network)
    np.testing.assert_allclose(net.predict(X), multi.predict_proba(X), rtol=0, atol=TOL)


def test_feature_names_go_both_ways():
    pd = pytest.importorskip("pandas")
    X, _, _ = data("binary")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.arange(N) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_nn.MLPClassifier((4,), max_iter=5, random_state=0).fit(df, labels)
        ours = vecnet.MLPClassifier((4,), max_iter=5, random_state=0, engine="numpy").fit(df, labels)
    for converted in (from_sklearn(sk), to_sklearn(ours)):
        np.testing.assert_array_equal(converted.feature_names_in_, df.columns)
        with pytest.raises(ValueError, match="same order as they were in fit"):
            converted.predict(df[df.columns[::-1]])   # was: a warning that it had no names, then swapped columns


def test_from_sklearn_refuses_what_vecnet_does_not_have():
    sk, _, _ = fitted_sklearn("squared k=1", solver="lbfgs")
    with pytest.raises(ValueError, match="solver='lbfgs' has no vecnet equivalent"):
        from_sklearn(sk)
    assert from_sklearn(sk, solver="sgd").solver == "sgd"
    sk, _, _ = fitted_sklearn("squared k=1", solver="sgd", learning_rate="adaptive")
    with pytest.raises(ValueError, match="learning_rate='adaptive'"):
        from_sklearn(sk)
    sk, X, _ = fitted_sklearn("squared k=1")
    with pytest.raises(ValueError, match="fixed by the model's weights"):
        from_sklearn(sk, hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="unknown parameter"):
        from_sklearn(sk, colour="red")
    poisson = sk_nn.MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poisson.fit(X, np.arange(N) % 4)
    with pytest.raises(ValueError, match="'exp' output .* no vecnet equivalent"):
        network_from_sklearn(poisson)
    with pytest.raises(ValueError, match="not fitted"):
        from_sklearn(sk_nn.MLPRegressor())
    with pytest.raises(TypeError, match="MLPClassifier or MLPRegressor"):
        from_sklearn(vecnet.MLPRegressor())


@pytest.mark.parametrize("task", TASKS)
def test_to_sklearn_from_a_network_predicts_and_trains_the_same(task):
    X, y, Y = data(task, seed=7)
    net = vecnet_net(task, "relu", seed=8)
    sk = to_sklearn(net, solver="sgd", learning_rate_init=0.2, momentum=0.0, batch_size=N, shuffle=False,
                    alpha=0.0)
    np.testing.assert_allclose(sk_outputs(sk, X), net.predict(X), rtol=0, atol=TOL)
    sk.partial_fit(X, y)
    net.fit(X, Y, epochs=1, batch_size=None, optimizer=SGD(lr=0.2 / TASKS[task][3]), engine="numpy")
    assert_same_weights(net, sk, task)


def test_from_sklearn_refuses_a_model_without_hidden_layers_and_names_the_way_out():
    X, y, _ = data("multiclass")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_nn.MLPClassifier(hidden_layer_sizes=(), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"without hidden layers .* network_from_sklearn"):
        from_sklearn(sk)
    net = network_from_sklearn(sk)
    assert net.sizes == [N_IN, 3] and np.allclose(net.predict(X), sk.predict_proba(X), rtol=0, atol=TOL)


def test_to_sklearn_makes_a_two_unit_softmax_one_logistic_unit_that_trains_as_binary():
    X, y, _ = data("binary", seed=3)
    net = vecnet.Network([N_IN, *HIDDEN, 2], activation="relu", output_activation="softmax", loss="cce",
                         init="glorot", seed=4)
    sk = to_sklearn(net, solver="sgd", learning_rate_init=0.2, momentum=0.0, batch_size=N, shuffle=False,
                    alpha=0.0)
    assert (sk.n_outputs_, sk.out_activation_, sk.coefs_[-1].shape) == (1, "logistic", (HIDDEN[-1], 1))
    np.testing.assert_allclose(sk.predict_proba(X), net.predict(X), rtol=0, atol=TOL)
    # the binary network it equals: one sigmoid unit holding the difference of the two units
    binary = vecnet.Network([N_IN, *HIDDEN, 1], activation="relu", output_activation="sigmoid", loss="bce")
    for (W, b), (W2, b2) in zip(binary.params, net.params):
        W[...], b[...] = (W2, b2) if W.shape == W2.shape else (W2[:, 1:] - W2[:, :1], b2[1:] - b2[:1])
    sk.partial_fit(X, y)
    binary.fit(X, y[:, None].astype(float), epochs=1, batch_size=None, optimizer=SGD(lr=0.2), engine="numpy")
    assert_same_weights(binary, sk, "2-unit softmax as binary")
    for _ in range(20):
        sk.partial_fit(X, y)
    assert sk.n_outputs_ == 1 and sk.predict(X).shape == (N,) and 0 <= sk.score(X, y) <= 1


@pytest.mark.parametrize("cls", [vecnet.MLPClassifier, vecnet.MLPRegressor])
def test_to_sklearn_from_an_estimator_carries_parameters_and_goes_on_the_same(cls):
    X, y, _ = data("multiclass" if cls is vecnet.MLPClassifier else "squared k=3", seed=9)
    y = np.array(["x", "y", "z"])[y] if cls is vecnet.MLPClassifier else y
    est = cls((7,), activation="logistic", solver="sgd", learning_rate_init=0.05, batch_size=3, shuffle=False,
              alpha=0.01, max_iter=3, random_state=0, engine="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    sk = to_sklearn(est)
    assert (sk.activation, sk.solver, sk.batch_size, sk.alpha, sk.n_iter_) == ("logistic", "sgd", 3, 0.01, 3)
    for seed in (np.random.SeedSequence(0), np.random.PCG64(0), np.random.default_rng(0)):
        converted = to_sklearn(est.set_params(random_state=seed))   # scikit-learn would refuse them
        assert converted.random_state is None
        converted.partial_fit(X, y)
    est.set_params(random_state=0)
    if cls is vecnet.MLPRegressor:
        np.testing.assert_allclose(sk.predict(X), est.predict(X), rtol=0, atol=TOL)
    else:
        assert sk.predict(X).tolist() == est.predict(X).tolist()
        np.testing.assert_allclose(sk.predict_proba(X), est.predict_proba(X), rtol=0, atol=TOL)
    est.net_.optimizer_state = None     # scikit-learn's copy starts with fresh optimizer memory
    est.partial_fit(X, y)
    sk.partial_fit(X, y)
    assert_same_weights(est.net_, sk, cls.__name__)


def test_to_sklearn_float32_and_refusals():
    net32 = vecnet.Network([3, 4, 1], activation="tanh", output_activation="identity", seed=0, dtype="float32")
    sk = to_sklearn(net32)
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    assert sk.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(sk.predict(X), net32.predict(X)[:, 0], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="sigmoid output trained with mse has no scikit-learn equivalent"):
        to_sklearn(vecnet.Network([2, 2, 1]))
    with pytest.raises(ValueError, match="fixed by the model's weights"):
        to_sklearn(net32, activation="relu")
    with pytest.raises(vecnet.NotFittedError):
        to_sklearn(vecnet.MLPRegressor())


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.neural_network", None)
    with pytest.raises(ImportError, match=r'pip install "vecnet\[sklearn\]"'):
        to_sklearn(vecnet.Network([2, 2, 1], output_activation="identity"))


def test_import_vecnet_loads_no_optional_library():
    code = ("import sys, vecnet, vecnet.interop; "
            "print(sorted(m for m in ('sklearn', 'torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
