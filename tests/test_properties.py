"""Property-based tests (hypothesis) of forward and fit over shapes, dtypes and finite values.

Whatever the network and the data, as long as both are valid: no crash, no
warning escaping as an error, outputs finite and shaped right; a failure is
always one of the documented ones (an overflow reported as ``ValueError`` by
predict, a ``DivergenceWarning`` by fit).
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vecnet
from helpers import BASELINE, CHALLENGERS, GENERAL_ENGINES
from vecnet import DivergenceWarning, Network

HIDDEN = sorted(n for n, a in vecnet.ACTIVATIONS.items() if not a.output_only)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


COMPILED = [  # (hidden, output, loss, dtype, optimizer): what a compiled engine trains here
    ("sigmoid", "sigmoid", "mse", np.float64, "sgd"),
    ("tanh", "softmax", "cce", np.float32, "adam"),
    ("relu", "sigmoid", "bce", np.float64, "adam"),
    ("identity", "tanh", "mse", np.float32, "sgd"),
]
"""Networks drawn for a compiled engine come in these kinds only (with per-sample and batch
training, 8 kernels): each kind compiles a kernel of its own, seconds each, where the NumPy
engine runs any kind at once. Every hidden activation and loss is here, and both dtypes and
optimizers; the compiled kernels' whole cross-product runs through their Python twin in
``test_kernels.py``."""


@st.composite
def networks(draw, max_layers=3, max_width=6, compiled=False):
    """A valid Network: sizes, activations, a loss paired with its output, dtype, init, seed.

    With ``compiled``, activations, loss and dtype are one of the :data:`COMPILED` kinds
    (:func:`optimizer_for` gives its optimizer).
    """
    n_layers = draw(st.integers(1, max_layers))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=n_layers + 1, max_size=n_layers + 1))
    if compiled:
        hidden, out, loss, dtype, _ = draw(st.sampled_from(COMPILED))
    else:
        loss = draw(st.sampled_from(["mse", "bce", "cce"]))
        out = {"bce": "sigmoid", "cce": "softmax"}.get(loss) or draw(st.sampled_from(HIDDEN))
        hidden = draw(st.sampled_from(HIDDEN))
        dtype = draw(st.sampled_from([np.float64, np.float32]))
    if loss == "cce":
        sizes[-1] = max(sizes[-1], 2)
    return Network(sizes, activation=hidden, output_activation=out,
                   loss=loss, init=draw(st.sampled_from(["normal", "glorot", "he"])),
                   seed=draw(st.integers(0, 2**32 - 1)), dtype=dtype)


def optimizer_for(net):
    """The optimizer of ``net``'s :data:`COMPILED` kind."""
    kind = (net.activation, net.output_activation, net.loss, np.dtype(net.dtype).type)
    return next(c[4] for c in COMPILED if c[:4] == kind)


def inputs(n_features, dtype, max_value, min_rows=1, max_rows=8):
    """2-D arrays of ``dtype`` with finite values in [-max_value, max_value]."""
    if np.dtype(dtype).kind == "f":
        max_value = float(np.dtype(dtype).type(max_value))  # representable in dtype
        elements = st.floats(-max_value, max_value, allow_nan=False, allow_infinity=False,
                             width=np.dtype(dtype).itemsize * 8)
    else:
        elements = st.integers(-int(max_value), int(max_value))
    return hnp.arrays(dtype, st.tuples(st.integers(min_rows, max_rows), st.just(n_features)),
                      elements=elements)


def _layouts(X, choice):
    """``X`` as given, in Fortran order, as a strided view or read-only."""
    if choice == "F":
        return np.asfortranarray(X)
    if choice == "strided":
        wide = np.zeros((X.shape[0] * 2, X.shape[1] * 2), dtype=X.dtype)
        wide[::2, ::2] = X
        return wide[::2, ::2]
    if choice == "read-only":
        X = X.copy()
        X.flags.writeable = False
    return X


RANGE = {"identity": (-np.inf, np.inf), "relu": (0, np.inf), "sigmoid": (0, 1), "tanh": (-1, 1),
         "softmax": (0, 1)}


@SETTINGS
@given(data=st.data(), net=networks())
def test_forward_is_finite_and_shaped_right_or_reports_overflow(data, net):
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64, np.int32]))
    max_value = data.draw(st.sampled_from([1.0, 1e3, 1e30, 1e300]))
    if np.dtype(dtype).kind == "i":
        max_value = min(max_value, np.iinfo(dtype).max)
    elif dtype == np.float32:
        max_value = min(max_value, 1e38)
    X = _layouts(data.draw(inputs(net.sizes[0], dtype, max_value)),
                 data.draw(st.sampled_from(["C", "F", "strided", "read-only"])))
    X_before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            try:
                out = net.predict(X)
            except ValueError as exc:
                beyond_float32 = net.dtype == np.float32 and "beyond the range of float32" in str(exc)
                assert "a layer overflowed" in str(exc) or beyond_float32
                assert max_value >= 1e30  # only inputs this large may overflow these weights
                return
    assert out.shape == (X.shape[0], net.sizes[-1]) and out.dtype == net.dtype
    assert np.isfinite(out).all()
    low, high = RANGE[net.output_activation]
    assert ((out >= low) & (out <= high)).all()
    if net.output_activation == "softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5 if net.dtype == np.float32 else 1e-12)
    np.testing.assert_array_equal(X, X_before)


@SETTINGS
@given(data=st.data())
def test_fit_never_crashes_and_never_leaves_non_finite_weights(data):
    engine = data.draw(st.sampled_from(GENERAL_ENGINES))
    net = data.draw(networks(max_layers=2, max_width=5, compiled=engine != BASELINE))
    n = data.draw(st.integers(1, 10))
    X = data.draw(inputs(net.sizes[0], data.draw(st.sampled_from([np.float64, np.float32, np.int64])),
                         1e3, min_rows=n, max_rows=n))
    k = net.sizes[-1]
    if net.loss == "mse":
        y = data.draw(hnp.arrays(np.float64, (n, k), elements=st.floats(-10, 10)))
    elif net.loss == "bce":
        y = data.draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0, 1)))
    else:
        y = np.eye(k)[data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))]
    optimizer = optimizer_for(net) if engine != BASELINE else data.draw(st.sampled_from(["sgd", "adam"]))
    lr = data.draw(st.sampled_from([1e-3, 0.1, 10.0]))
    batch_size = data.draw(st.one_of(st.none(), st.integers(1, n + 2)))
    epochs = data.draw(st.integers(1, 3))
    X_before, y_before = X.copy(), y.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="raise"):
            history = net.fit(X, y, epochs=epochs, lr=lr, batch_size=batch_size, engine=engine,
                              optimizer=optimizer, shuffle=data.draw(st.booleans()), seed=0)
    kinds = {type(w.message) for w in caught}
    assert kinds <= {DivergenceWarning, UserWarning}, [str(w.message) for w in caught]
    assert (UserWarning in kinds) == (batch_size is not None and batch_size > n)
    assert np.isfinite(net.theta).all() and np.isfinite(history.loss).all()
    if history.stopped == "diverged":
        assert DivergenceWarning in kinds and history.epochs < epochs
    else:
        assert history.stopped is None and history.epochs == epochs
        assert DivergenceWarning not in kinds
    try:
        assert net.predict(X).shape == (n, k)
    except ValueError as exc:  # weights grown huge just before a divergence may overflow
        assert "a layer overflowed" in str(exc)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


@SETTINGS
@given(data=st.data(), net=networks(max_layers=2, max_width=5, compiled=True))
def test_numpy_and_numba_engines_agree_on_any_valid_problem(data, net):
    assume(net.activation != "relu" and net.output_activation != "relu")  # kinks amplify rounding
    n = data.draw(st.integers(1, 8))
    X = data.draw(inputs(net.sizes[0], np.float64, 3.0, min_rows=n, max_rows=n))
    k = net.sizes[-1]
    if net.loss == "cce":
        y = np.eye(k)[data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))]
    else:
        y = data.draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0, 1)))
    batch_size = data.draw(st.one_of(st.none(), st.integers(1, n)))
    a = net.copy()
    optimizer = optimizer_for(net)
    ha = a.fit(X, y, epochs=2, lr=0.05, batch_size=batch_size, engine=BASELINE, optimizer=optimizer)
    for engine in CHALLENGERS:
        b = net.copy()
        hb = b.fit(X, y, epochs=2, lr=0.05, batch_size=batch_size, engine=engine, optimizer=optimizer)
        # Same algorithm, sums in another order: agreement to rounding of the network's dtype.
        tol = 1e-4 if net.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(a.theta, b.theta, rtol=tol, atol=tol)
        np.testing.assert_allclose(ha.loss, hb.loss, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", ["predict", "fit"])
@SETTINGS
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]), data=st.data())
def test_any_non_finite_value_anywhere_is_reported(method, bad, data):
    net = Network([3, 2, 1], seed=0)
    n = data.draw(st.integers(1, 6))
    X = data.draw(inputs(3, np.float64, 10.0, min_rows=n, max_rows=n))
    i, j = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, 2))
    X[i, j] = bad
    word = "NaN" if np.isnan(bad) else "inf"
    with pytest.raises(ValueError, match=rf"X contains 1 {word} value \(the first at \[{i}, {j}\]\)"):
        net.predict(X) if method == "predict" else net.fit(X, np.zeros(n), epochs=1)


@SETTINGS
@given(data=st.data())
def test_save_load_round_trip_keeps_every_weight_and_prediction(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "model.npz"
    engine = data.draw(st.sampled_from(GENERAL_ENGINES + [None]))  # None: not trained
    net = data.draw(networks(compiled=engine not in (None, BASELINE)))
    if engine is not None:  # trained models carry optimizer state too
        X = data.draw(inputs(net.sizes[0], np.float64, 10.0))
        rng = np.random.default_rng(0)
        if net.loss == "cce":
            y = np.eye(net.sizes[-1])[rng.integers(0, net.sizes[-1], len(X))]
        else:
            y = rng.uniform(0, 1, (len(X), net.sizes[-1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            net.fit(X, y, epochs=2, batch_size=min(3, len(X)), engine=engine,
                    optimizer=optimizer_for(net) if engine != BASELINE else "sgd")
    vecnet.save(net, path)
    loaded = vecnet.load(path)
    assert loaded.sizes == net.sizes and loaded.dtype == net.dtype
    assert (loaded.activation, loaded.output_activation, loaded.loss) == (
        net.activation, net.output_activation, net.loss)
    np.testing.assert_array_equal(loaded.theta, net.theta)
    X = data.draw(inputs(net.sizes[0], np.float64, 10.0))
    try:
        expected = net.predict(X)
    except ValueError as exc:  # documented: weights blown up by training overflow a layer
        with pytest.raises(ValueError, match="outputs are not finite"):
            loaded.predict(X)
        assert "outputs are not finite" in str(exc)
        return
    np.testing.assert_array_equal(loaded.predict(X), expected)
