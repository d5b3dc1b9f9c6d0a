"""Issue 10, class 7: every parameter of the public API is checked up front, by name.

For each public function and each of its parameters, random values (of every
type, in and out of range) either work or raise ``ValueError`` / ``TypeError``
whose message names the parameter: never a numpy, ufunc or ``MemoryError``
message, and never after training has changed the weights.
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecnet
from vecnet import SGD, Adam, EarlyStopping, MLPClassifier, MLPRegressor, Network

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 12), st.sampled_from([10**13, -1, 2**64, 0]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1.0, 1e308, -0.0]),
    st.text(max_size=4), st.sampled_from(["0.5", "10", "no", "sgd", "adam", "numpy", "relu", "tanh",
                                          "float32", "loss", "constant", "glorot", ""]),
    st.lists(st.integers(-1, 4), max_size=3), st.tuples(st.integers(1, 3)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(object()), st.just(np.float64(np.nan)), st.just(np.int64(3)), st.just(np.array([1.0, 2.0])),
)


def _data(n=12):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > 0).astype(np.float64)


def _names_it(exc, name, aliases=()):
    text = str(exc)
    return any(word in text for word in (name, name.replace("_", " "), *aliases))


def _call(fn, name, aliases=(), path_like=False):
    """Run ``fn``; it may work, or must raise an error that names ``name``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except (ValueError, TypeError) as exc:
        assert _names_it(exc, name, aliases), f"{type(exc).__name__}: {exc}"
        return exc
    except OSError:
        assert path_like
    except MemoryError:   # pragma: no cover - what this test exists to catch
        pytest.fail(f"MemoryError for {name}")


FIT_PARAMS = ["epochs", "lr", "batch_size", "engine", "optimizer", "shuffle", "seed", "validation_data",
              "validation_fraction", "early_stopping", "callbacks", "verbose", "chunk_bytes"]


@settings(max_examples=250, deadline=None)
@given(name=st.sampled_from(FIT_PARAMS), value=ANY)
def test_fit_checks_every_parameter_by_name(name, value):
    if name == "engine" and isinstance(value, str) and value in ("auto", "numba"):
        return   # valid, and would compile the kernel: not what this test is about
    X, y = _data()
    net = Network([2, 3, 1], seed=0)
    kwargs = {"epochs": 2, "engine": "numpy", name: value}
    _call(lambda: net.fit(X, y, **kwargs), name,
          aliases=("validation X", "validation y", "early stopping", "pass lr") if name in (
              "validation_data", "early_stopping", "lr") else ())
    assert np.isfinite(net.theta).all()


NETWORK_PARAMS = ["sizes", "activation", "output_activation", "loss", "init", "seed", "dtype"]


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NETWORK_PARAMS), value=ANY)
def test_network_checks_every_parameter_by_name(name, value):
    kwargs = {"sizes": [2, 3, 2], "activation": "tanh", "output_activation": "sigmoid", "loss": "bce"}
    kwargs[name] = value
    aliases = {"sizes": ("softmax output",), "loss": ("output activation",),
               "output_activation": ("output activation", "loss")}.get(name, ())
    _call(lambda: Network(**kwargs), name, aliases)


@settings(max_examples=150, deadline=None)
@given(cls=st.sampled_from([SGD, Adam]), name=st.sampled_from(["lr", "l2", "schedule", "power_t",
                                                               "momentum", "nesterov", "beta1",
                                                               "beta2", "eps"]), value=ANY)
def test_optimizers_check_every_parameter_by_name(cls, name, value):
    if name not in cls.__dataclass_fields__:
        return
    _call(lambda: cls(**{name: value}), name, aliases=("nesterov",) if name == "momentum" else ())


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["patience", "min_delta", "restore_best", "monitor"]), value=ANY)
def test_early_stopping_checks_every_parameter_by_name(name, value):
    _call(lambda: EarlyStopping(**{name: value}), name)


ESTIMATOR_PARAMS = sorted(MLPClassifier._param_names())


@settings(max_examples=300, deadline=None)
@given(cls=st.sampled_from([MLPClassifier, MLPRegressor]), name=st.sampled_from(ESTIMATOR_PARAMS),
       value=ANY)
def test_estimators_check_every_parameter_by_name(cls, name, value):
    if name == "engine" and isinstance(value, str) and value in ("auto", "numba"):
        return
    X, y = _data()
    params = {"hidden_layer_sizes": (3,), "max_iter": 2, "engine": "numpy", "random_state": 0}
    if name == "max_iter" and isinstance(value, int) and value > 20:
        value = 10**13   # a valid large count would just train long; the huge one must be refused
    params[name] = value
    aliases = ("early_stopping",) if name == "validation_fraction" else ()
    _call(lambda: cls(**params).fit(X, y), name, aliases)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["path", "metadata", "load", "read_header", "open_npy"]), value=ANY)
def test_files_check_their_parameters_by_name(tmp_path, name, value):
    cwd = os.getcwd()
    os.chdir(tmp_path)   # a random string path lands here
    try:
        net = Network([2, 2, 1], seed=0)
        if name == "path":
            _call(lambda: vecnet.save(net, value), "path", path_like=True)
        elif name == "metadata":
            _call(lambda: vecnet.save(net, "m.npz", metadata=value), "metadata")
        elif name == "load":
            _call(lambda: vecnet.load(value), "path", aliases=(str(value),), path_like=True)
        elif name == "read_header":
            _call(lambda: vecnet.io.read_header(value), "path", aliases=(str(value),), path_like=True)
        else:
            _call(lambda: vecnet.open_npy(value), "path", aliases=(str(value),), path_like=True)
    finally:
        os.chdir(cwd)


# -- the examples of the issue: each is refused, by name, with what is accepted ------------------
@pytest.mark.parametrize("call, words", [
    (lambda X, y: Network([2, 3, 1]).fit(X, y, validation_fraction="0.5", engine="numpy"),
     ["validation_fraction", "(0, 1)"]),
    (lambda X, y: EarlyStopping(min_delta=None), ["min_delta", "[0, inf"]),
    (lambda X, y: MLPClassifier(random_state=-1, engine="numpy").fit(X, y),
     ["random_state", "integer >= 0"]),
    (lambda X, y: MLPClassifier(hidden_layer_sizes="10", engine="numpy").fit(X, y),
     ["hidden_layer_sizes", "(64, 32)"]),
    (lambda X, y: Network([2, 3, 1]).fit(X, y, epochs=10**13, engine="numba"),
     ["epochs", "[1, 100000000]"]),
    (lambda X, y: MLPClassifier(max_iter=10**13, engine="numba").fit(X, y),
     ["max_iter", "[1, 100000000]"]),
    (lambda X, y: MLPClassifier(validation_fraction="0.5", engine="numpy").fit(X, y),
     ["validation_fraction", "[0, 1)"]),
    (lambda X, y: MLPClassifier(shuffle="no", engine="numpy").fit(X, y), ["shuffle", "True or False"]),
    (lambda X, y: Network([10**7, 10**7, 1]), ["sizes", "parameters"]),
])
def test_the_issue_examples_are_refused_by_name(call, words):
    X, y = _data()
    with pytest.raises(ValueError) as info:
        call(X, y)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("callbacks", [[lambda e, logs: None, 3], "print", 3, print])
def test_callbacks_are_checked_before_the_first_epoch(callbacks):
    X, y = _data()
    net = Network([2, 3, 1], seed=0)
    before = net.theta.copy()
    with pytest.raises(ValueError, match="callbacks"):
        net.fit(X, y, epochs=2, engine="numpy", callbacks=callbacks)
    np.testing.assert_array_equal(net.theta, before)
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, engine="numpy", random_state=0,
                        warm_start=True).fit(X, y)
    before = est.net_.theta.copy()
    with pytest.raises(ValueError, match="callbacks"):
        est.fit(X, y, callbacks=callbacks)
    np.testing.assert_array_equal(est.net_.theta, before)


@pytest.mark.parametrize("value", ["0:", "f8,", "(2)i", "[('a', float)]"])
def test_a_dtype_numpy_cannot_parse_is_refused_by_name(value):
    # numpy reads such strings as record formats and raises its own parser's message
    X, y = _data()
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        vecnet.MLPClassifier(dtype=value).fit(X, (y > 0).astype(int).ravel())


@pytest.mark.parametrize("call", ["save", "load", "read_header", "open_npy"])
@pytest.mark.parametrize("path", ["a\x00b.npz", b"a\x00b.npz"])
def test_a_path_with_a_nul_byte_is_refused_by_name(tmp_path, call, path):
    net = Network([2, 3, 1], seed=0)
    fn = {"save": lambda: vecnet.save(net, path), "load": lambda: vecnet.load(path),
          "read_header": lambda: vecnet.io.read_header(path), "open_npy": lambda: vecnet.open_npy(path)}[call]
    with pytest.raises(ValueError, match="path must be a file name without NUL bytes"):
        fn()
