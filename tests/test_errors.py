"""Bad input gets a clear error at the public boundary, before any work.

Issue 5, items 1-7 and 9-14: every check below states the behaviour; the
README's "Errors and guarantees" table lists them.
"""

import re
import warnings

import numpy as np
import pytest

import vecnet
from helpers import GENERAL_ENGINES
from vecnet import SGD, Adam, DivergenceWarning, Network

ENGINES = GENERAL_ENGINES   # every registered engine that runs any network
FMAX = np.finfo(np.float64).max


def _data(n=12, d=3, k=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = 1 / (1 + np.exp(-X @ rng.normal(size=(d, k))))
    return X, (y[:, 0] if k == 1 else y)


def _net(d=3, k=1, **kw):
    kw.setdefault("seed", 0)
    return Network([d, 4, k], **kw)


class Spy:
    """Array-like that records whether anyone looked at it: proves a check ran before any work."""

    def __init__(self, arr):
        self.arr = arr
        self.read = False

    def __array__(self, dtype=None, copy=None):
        self.read = True
        return self.arr if dtype is None else self.arr.astype(dtype)

    def __len__(self):
        self.read = True
        return len(self.arr)


@pytest.fixture(autouse=True)
def _strict():
    """Every test here runs with warnings as errors and numpy raising on any FP fault."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


# -- 1. NaN and inf ----------------------------------------------------------------
@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
@pytest.mark.parametrize("where", ["X", "y"])
def test_nan_or_inf_at_fit_names_the_value_and_the_input(bad, word, where):
    X, y = _data()
    X, y = X.copy(), y.copy()
    if where == "X":
        X[3, 1] = bad
    else:
        y[3] = bad
    net = _net()
    before = net.theta.copy()
    with pytest.raises(ValueError, match=rf"^{where} contains 1 {word} value \(the first at \[3"):
        net.fit(X, y, epochs=1)
    np.testing.assert_array_equal(net.theta, before)


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf")])
@pytest.mark.parametrize("method", ["predict", "forward"])
def test_nan_or_inf_at_predict_names_the_value(bad, word, method):
    X, _ = _data()
    X[5, 2] = bad
    with pytest.raises(ValueError, match=rf"^X contains 1 {word} value \(the first at \[5, 2\]\)"):
        getattr(_net(), method)(X)


def test_nan_and_inf_together_are_both_counted():
    X, y = _data()
    X[0, 0], X[1, 1], X[2, 2] = np.nan, np.inf, np.nan
    with pytest.raises(ValueError, match=r"X contains 2 NaN and 1 inf values"):
        _net().fit(X, y, epochs=1)


# -- 2. empty ------------------------------------------------------------------------
@pytest.mark.parametrize("shape, what", [((0, 3), "0 samples"), ((4, 0), "0 features")])
def test_empty_X_is_refused_at_fit_and_predict(shape, what):
    net = Network([3, 2, 1], seed=0) if shape[1] else Network([1, 1], seed=0)
    with pytest.raises(ValueError, match=what):
        net.fit(np.zeros(shape), np.zeros(shape[0]), epochs=1)
    with pytest.raises(ValueError, match=what):
        net.predict(np.zeros(shape))


# -- 3. 1-D X ------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["fit", "predict", "forward"])
def test_1d_X_says_to_reshape(call):
    net = Network([2, 2, 1], seed=0)
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=re.escape("X.reshape(1, -1)")):
        net.fit(x, [1.0, 0.0], epochs=1) if call == "fit" else getattr(net, call)(x)


def test_3d_X_is_refused():
    with pytest.raises(ValueError, match=r"X must be 2-D .* got shape \(2, 2, 1\)"):
        Network([2, 1], seed=0).predict(np.zeros((2, 2, 1)))


# -- 4. complex, object and non-numeric --------------------------------------------------
@pytest.mark.parametrize("where", ["X", "y"])
def test_complex_input_is_a_value_error(where):
    X, y = _data()
    args = (X + 1j, y) if where == "X" else (X, y + 0j)
    with pytest.raises(ValueError, match=f"{where} is complex"):
        _net().fit(*args, epochs=1)


def test_complex_numbers_inside_an_object_array_are_a_value_error():
    X = np.array([[1.0, 2j, 3.0]], dtype=object)
    with pytest.raises(ValueError, match="X is complex"):
        _net().predict(X)


def test_object_arrays_of_numbers_train_like_floats():
    X, y = _data()
    a, b = _net(), _net()
    a.fit(X, y, epochs=3, engine="numpy")
    b.fit(X.astype(object), [float(v) for v in y], epochs=3, engine="numpy")
    np.testing.assert_array_equal(a.theta, b.theta)


@pytest.mark.parametrize("X", [
    np.array([["a", "b", "c"]], dtype=object),
    np.array([[1.0, None, 3.0]], dtype=object),
    np.array([["1", "2", "3"]]),  # strings, even numeric-looking ones, are not numbers
    np.array([[b"1", b"2", b"3"]]),
    np.array([["2020-01-01"] * 3], dtype="datetime64[D]"),
])
def test_non_numeric_input_is_a_type_error(X):
    with pytest.raises(TypeError, match="X must be numeric"):
        _net().predict(X)


@pytest.mark.parametrize("kind", ["U3", "S3", "datetime64[D]"])
def test_the_estimators_take_no_text_bytes_or_dates_for_numbers(kind):
    X = np.array([["1.5", "2", "3"], ["4", "5", "6e0"], ["7", "8", "9"]])
    X = X.astype(kind) if kind != "datetime64[D]" else np.arange(9).reshape(3, 3).astype(kind)
    y = np.array([0.0, 1.0, 0.0])
    for est in (vecnet.MLPRegressor((2,), max_iter=1), vecnet.MLPClassifier((2,), max_iter=1)):
        with pytest.raises(TypeError, match=re.escape(f"X must be numeric, got dtype {np.dtype(kind)}")):
            est.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # one epoch: not converged
        fitted = vecnet.MLPRegressor((2,), max_iter=1, engine="numpy").fit(np.ones((3, 3)), y)
    with pytest.raises(TypeError, match="X must be numeric"):
        fitted.predict(X)
    with pytest.raises(ValueError, match="MLPRegressor needs numeric targets"):
        vecnet.MLPRegressor((2,), max_iter=1).fit(np.ones((3, 3)), np.array(["1", "2", "3"]).astype(kind)
                                                  if kind != "datetime64[D]" else np.arange(3).astype(kind))


def test_ragged_lists_are_a_value_error():
    with pytest.raises(ValueError, match="X could not be read as a numeric array"):
        _net().predict([[1.0, 2.0, 3.0], [1.0]])


# -- 5. sparse -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["csr_matrix", "csr_array", "coo_matrix"])
@pytest.mark.parametrize("where", ["X", "y", "predict"])
def test_sparse_input_is_a_type_error(kind, where):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = _data()
    make = getattr(sparse, kind)
    with pytest.raises(TypeError, match=r"sparse input is not supported .*toarray\(\)"):
        if where == "X":
            _net().fit(make(X), y, epochs=1)
        elif where == "y":
            _net().fit(X, make(y.reshape(-1, 1)), epochs=1)
        else:
            _net().predict(make(X))


# -- 6. X and y that do not match ----------------------------------------------------------
def test_length_mismatch_shows_both_shapes():
    X, y = _data(n=12)
    with pytest.raises(ValueError, match=re.escape("X has shape (12, 3), y has shape (11,)")):
        _net().fit(X, y[:11], epochs=1)


def test_wrong_number_of_outputs_shows_both_shapes():
    X, _ = _data()
    with pytest.raises(ValueError, match=re.escape("y has shape (12, 3), but the network has 1 "
                                                   "outputs (expected shape (12, 1))")):
        _net().fit(X, np.zeros((12, 3)), epochs=1)


def test_y_of_three_dimensions_is_refused():
    X, _ = _data()
    with pytest.raises(ValueError, match=r"y must be 1-D or 2-D, got shape \(12, 1, 1\)"):
        _net().fit(X, np.zeros((12, 1, 1)), epochs=1)


@pytest.mark.parametrize("loss, out, k", [("bce", "sigmoid", 1), ("cce", "softmax", 3)])
def test_cross_entropy_targets_outside_0_1_are_refused(loss, out, k):
    X, _ = _data()
    y = np.zeros((12, k))
    y[0, 0] = 2.0  # a class label where a probability is expected
    net = Network([3, 4, k], output_activation=out, loss=loss, seed=0)
    with pytest.raises(ValueError, match=rf"loss '{loss}' needs targets in \[0, 1\].*\[0, 2\]"):
        net.fit(X, y, epochs=1)


def _cce_targets(n=12, k=3, bad_row=7):
    """One-hot rows but row ``bad_row``: 0.5 + 0.25 + 0.5 = 1.25, each value in [0, 1], the row no distribution."""
    y = np.eye(k)[np.arange(n) % k]
    y[bad_row] = [0.5, 0.25, 0.5]
    return y


def _npy(tmp_path, name, a):
    np.save(tmp_path / name, a)
    return tmp_path / name


CCE_PATHS = {   # every way targets reach training; chunk_bytes of 2 rows puts row 7 in a later block
    "Network.fit": lambda net, X, y, tmp: net.fit(X, y, epochs=1, engine="numpy"),
    "vecnet.fit": lambda net, X, y, tmp: vecnet.fit(net, X, y, epochs=1, engine="numpy"),
    "fit_many": lambda net, X, y, tmp: vecnet.fit_many([net, net.copy()], X, y, epochs=1, engine="numpy"),
    "validation_data": lambda net, X, y, tmp: net.fit(X, np.eye(3)[np.arange(12) % 3], epochs=1,
                                                      engine="numpy", validation_data=(X, y)),
    "open_npy, streamed": lambda net, X, y, tmp: net.fit(
        vecnet.open_npy(_npy(tmp, "X.npy", X)), vecnet.open_npy(_npy(tmp, "y.npy", y)), epochs=1,
        engine="numpy", chunk_bytes=2 * 8 * 6),
    "memmap, streamed": lambda net, X, y, tmp: net.fit(
        np.load(_npy(tmp, "X.npy", X), mmap_mode="r"), np.load(_npy(tmp, "y.npy", y.astype(np.float32)),
                                                               mmap_mode="r"),
        epochs=1, engine="numpy", chunk_bytes=2 * 8 * 6),
}


@pytest.mark.parametrize("path", CCE_PATHS)
def test_cce_target_rows_that_do_not_sum_to_1_are_refused(path, tmp_path):
    X, _ = _data()
    net = Network([3, 4, 3], output_activation="softmax", loss="cce", seed=0)
    before = net.theta.copy()
    name = "validation y" if path == "validation_data" else "y"
    with pytest.raises(ValueError, match=rf"loss 'cce' needs each row of {name} to sum to 1 \(probabilities or "
                                         rf"one-hot rows\), but row 7 sums to 1\.25 \(allowed: 1 \+/- "):
        CCE_PATHS[path](net, X, _cce_targets(), tmp_path)
    np.testing.assert_array_equal(net.theta, before)


def test_the_cce_example_of_all_ones_no_longer_trains_to_a_negative_loss():
    X, _ = vecnet.article_data()
    net = Network([2, 3, 2], output_activation="softmax", loss="cce")
    with pytest.raises(ValueError, match=r"row 0 sums to 2\.0 \(allowed: 1 \+/- 1\.5e-08, sqrt\(eps\) of float64\)"):
        net.fit(X, np.ones((4, 2)), epochs=300, engine="numpy")


def test_the_cce_row_sum_tolerance_is_sqrt_eps_of_the_coarser_dtype():
    X, _ = _data()
    # float32(1/3) = 11184811 / 2**25, so three of them sum to 1 + 2**-25 = 1.0000000298...:
    # more than sqrt(eps) of float64 (1.49e-8) from 1, far less than that of float32 (3.45e-4)
    thirds = np.full((12, 3), 1 / 3, dtype=np.float32)
    assert float(thirds[0].astype(np.float64).sum()) == 1 + 2.0**-25
    Network([3, 4, 3], output_activation="softmax", loss="cce", seed=0).fit(X, thirds, epochs=1, engine="numpy")
    Network([3, 4, 3], output_activation="softmax", loss="cce", seed=0, dtype=np.float32).fit(
        X, thirds.astype(np.float64), epochs=1, engine="numpy")
    with pytest.raises(ValueError, match=r"row 0 sums to 1\.0000000298023224 \(allowed: 1 \+/- 1\.5e-08, "
                                         r"sqrt\(eps\) of float64\)"):
        Network([3, 4, 3], output_activation="softmax", loss="cce", seed=0).fit(
            X, thirds.astype(np.float64), epochs=1, engine="numpy")
    off = np.eye(3)[np.arange(12) % 3]
    off[4] = [0.5, 0.5 - 1e-3, 0.0]   # 1e-3 short: beyond float32's 3.45e-4 too
    with pytest.raises(ValueError, match=r"row 4 sums to 0\.999 \(allowed: 1 \+/- 0\.00035, sqrt\(eps\) of float32\)"):
        Network([3, 4, 3], output_activation="softmax", loss="cce", seed=0, dtype=np.float32).fit(
            X, off, epochs=1, engine="numpy")


# -- 7. wrong number of features at predict ---------------------------------------------------
@pytest.mark.parametrize("method", ["predict", "forward"])
def test_predict_with_the_wrong_number_of_features(method):
    with pytest.raises(ValueError, match="^X has 5 features, but the network expects 3$"):
        getattr(_net(), method)(np.zeros((2, 5)))


# -- 9. hyperparameters -----------------------------------------------------------------------
BAD_FIT = [
    dict(lr=0), dict(lr=-0.1), dict(lr=np.nan), dict(lr=np.inf), dict(lr="0.1"), dict(lr=True),
    dict(lr=[0.1]), dict(epochs=0), dict(epochs=-1), dict(epochs=2.0), dict(epochs=True),
    dict(epochs="5"), dict(batch_size=0), dict(batch_size=1.5), dict(batch_size=False),
    dict(engine="fast"), dict(engine=["numpy"]), dict(engine=None), dict(optimizer="rmsprop"),
    dict(optimizer=["sgd"]), dict(optimizer=SGD), dict(shuffle="yes"), dict(shuffle=None),
    dict(seed=-1), dict(seed="abc"), dict(seed=1.5), dict(verbose="no"),
    dict(optimizer=SGD(lr=0.1), lr=0.2),
]


@pytest.mark.parametrize("kwargs", BAD_FIT, ids=[repr(k) for k in BAD_FIT])
def test_bad_fit_options_fail_before_any_work(kwargs):
    X, y = _data()
    net = _net()
    before = net.theta.copy()
    X_spy, y_spy = Spy(X), Spy(y)
    with pytest.raises(ValueError):
        vecnet.fit(net, X_spy, y_spy, **{"epochs": 1, **kwargs})
    assert not X_spy.read and not y_spy.read, "the data was read before the options were checked"
    np.testing.assert_array_equal(net.theta, before)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0), r"lr must be a finite number in \(0, inf\), got 0"),
    (dict(epochs=True), "epochs must be an integer >= 1, got True"),
    (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
    (dict(engine="fast"), r"unknown engine 'fast'; valid ones are \['auto', 'numpy'"),
    (dict(optimizer="rmsprop"), r"unknown optimizer 'rmsprop'; valid ones are \['adam', 'sgd'\]"),
    (dict(optimizer=SGD), r"pass SGD\(\) instead"),
])
def test_bad_fit_options_say_what_is_wrong(kwargs, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        _net().fit(X, y, **{"epochs": 1, **kwargs})


BAD_NETWORK = [
    dict(sizes=[3, 0, 1]), dict(sizes=[3, -2, 1]), dict(sizes=[3]), dict(sizes=[]),
    dict(sizes=[3, True, 1]), dict(sizes=[3, 2.5, 1]), dict(sizes=[3, "4", 1]), dict(sizes=3),
    dict(sizes=None), dict(sizes="321"), dict(activation="swish"), dict(activation=None),
    dict(activation="softmax"), dict(output_activation="gelu"), dict(loss="hinge"),
    dict(loss="bce", output_activation="tanh"), dict(init="xavier"), dict(init=None),
    dict(dtype=np.int64), dict(dtype="not a dtype"), dict(dtype=np.float16), dict(seed=-3),
    dict(seed="x"), dict(seed=True),
    dict(sizes=[3, 4, 1], output_activation="softmax", loss="cce"),  # softmax of 1 unit is 1.0
]


@pytest.mark.parametrize("kwargs", BAD_NETWORK, ids=[repr(k) for k in BAD_NETWORK])
def test_bad_network_options_are_value_errors(kwargs):
    kwargs = {"sizes": [3, 4, 1], **kwargs}
    with pytest.raises(ValueError):
        Network(**kwargs)


def test_network_messages_name_the_problem():
    with pytest.raises(ValueError, match=r"sizes must hold integers, got True"):
        Network([2, True, 1])
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; valid ones are"):
        Network([2, 1], activation="swish")
    with pytest.raises(ValueError, match="softmax output needs at least 2 units"):
        Network([2, 1], activation="identity", output_activation="softmax", loss="cce")


@pytest.mark.parametrize("sizes, params", [
    ([10**12, 10**12, 1], "1,000,000,000,002,000,000,000,001"),   # 10**24 + 2 * 10**12 + 1
    ([2**62, 2, 1], "9,223,372,036,854,775,813"),                   # 2**63 + 2 + 2 + 1: beyond int64
])
def test_sizes_beyond_any_memory_are_a_value_error_naming_sizes(sizes, params):
    with pytest.raises(ValueError, match=rf"^sizes {re.escape(str(sizes))} need {params} parameters "
                                         r"\([0-9.e+]+ GB\), more memory than this process can have$"):
        Network(sizes)


def test_numpy_integers_are_accepted_where_ints_are_expected():
    X, y = _data()
    net = Network(np.array([3, 4, 1]), seed=np.int64(0))
    history = net.fit(X, y, epochs=np.int32(2), batch_size=np.int64(4))
    assert history.epochs == 2


BAD_OPTIMIZER = [
    (SGD, dict(lr=0)), (SGD, dict(lr=np.nan)), (SGD, dict(lr="a")), (SGD, dict(lr=None)),
    (SGD, dict(lr=True)), (SGD, dict(momentum=1.0)), (SGD, dict(momentum=-0.1)),
    (SGD, dict(momentum=np.nan)), (SGD, dict(momentum="0.9")), (SGD, dict(nesterov="yes")),
    (SGD, dict(nesterov=True)),  # without momentum Nesterov does nothing
    (SGD, dict(l2=-1.0)), (SGD, dict(l2=np.inf)), (SGD, dict(schedule="cosine")),
    (SGD, dict(schedule=["constant"])), (SGD, dict(power_t=-0.5)), (Adam, dict(beta1=1.0)),
    (Adam, dict(beta2=np.nan)), (Adam, dict(eps=0.0)), (Adam, dict(eps=np.inf)),
    (Adam, dict(eps=np.nan)), (Adam, dict(lr=-1e-3)),
]


@pytest.mark.parametrize("cls, kwargs", BAD_OPTIMIZER, ids=[f"{c.__name__}{k}" for c, k in BAD_OPTIMIZER])
def test_bad_optimizer_settings_are_value_errors(cls, kwargs):
    with pytest.raises(ValueError):
        cls(**kwargs)


def test_optimizer_settings_are_stored_as_floats():
    opt = SGD(lr=1, momentum=np.float32(0.5))
    assert type(opt.lr) is float and type(opt.momentum) is float
    settings = opt.kernel_settings()
    assert (settings["lr"], settings["momentum"]) == (1.0, 0.5)
    assert type(settings["lr"]) is float and type(settings["momentum"]) is float


def test_a_batch_larger_than_the_data_is_clipped_with_a_warning():
    X, y = _data(n=12)
    clipped, full = _net(), _net()
    with pytest.warns(UserWarning, match="batch_size=100 is larger than the 12 samples; using 12"):
        clipped.fit(X, y, epochs=5, batch_size=100, engine="numpy")
    full.fit(X, y, epochs=5, batch_size=None, engine="numpy")
    np.testing.assert_array_equal(clipped.theta, full.theta)


def test_set_params_refuses_nan_weights_and_keeps_the_old_ones():
    net = _net()
    before = net.theta.copy()
    params = net.get_params()
    params[1] = (params[1][0], np.array([np.nan]))
    with pytest.raises(ValueError, match="layer 1: b must hold finite real numbers"):
        net.set_params(params)
    np.testing.assert_array_equal(net.theta, before)


# -- 10. dtypes, memory layouts, read-only arrays and memmaps, in every engine ----------------
def _variants(X, path):
    """``name -> array`` holding the same numbers as ``X`` in another dtype or layout.

    ``path`` is a new ``.npy`` file for the read-only memmap.
    """
    ro = X.copy()
    ro.flags.writeable = False
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    wide[::2, ::3] = X
    np.save(path, X)
    return {
        "float32": X.astype(np.float32), "int32": X.astype(np.int32), "int64": X.astype(np.int64),
        "fortran": np.asfortranarray(X), "strided slice": wide[::2, ::3], "read-only": ro,
        "read-only memmap": np.load(path, mmap_mode="r"), "list": X.tolist(),
    }


def _as_exact_float64(a):
    return np.asarray(a).astype(np.float64)


@pytest.mark.parametrize("engine", ENGINES + ["reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_dtype_and_layout_trains_like_float64_c_order(engine, dtype, tmp_path):
    if engine == "reference" and dtype == np.float32:
        pytest.skip("the reference computes in Python floats whatever the network's dtype")
    X, y = vecnet.article_data()
    X = X * 1.25  # not all integers, so float32 and int casts really change values
    y_variants = _variants(y.reshape(-1, 1), tmp_path / "y.npy")
    for name, Xv in _variants(X, tmp_path / "X.npy").items():
        for yname in ("int32", "read-only memmap", "strided slice"):
            yv = y_variants[yname]
            a = Network([2, 2, 1], seed=0, dtype=dtype)
            b = a.copy()
            a.fit(Xv, yv, epochs=3, batch_size=1, engine=engine)
            b.fit(_as_exact_float64(Xv), _as_exact_float64(yv), epochs=3, batch_size=1, engine=engine)
            np.testing.assert_array_equal(a.theta, b.theta, err_msg=f"X {name}, y {yname}")
            assert a.theta.dtype == dtype


@pytest.mark.parametrize("engine", ENGINES)
def test_boolean_targets_train_like_zeros_and_ones(engine):
    X, y = vecnet.article_data()
    a, b = Network([2, 2, 1], seed=0), Network([2, 2, 1], seed=0)
    a.fit(X, y > 0.5, epochs=3, engine=engine)
    b.fit(X, np.where(y > 0.5, 1.0, 0.0), epochs=3, engine=engine)
    np.testing.assert_array_equal(a.theta, b.theta)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_dtype_and_layout_predicts_like_float64_c_order(dtype, tmp_path):
    X, _ = vecnet.article_data()
    net = Network([2, 3, 1], seed=0, dtype=dtype)
    for name, Xv in _variants(X * 1.25, tmp_path / "X.npy").items():
        out = net.predict(Xv)
        np.testing.assert_array_equal(out, net.predict(_as_exact_float64(Xv)), err_msg=name)
        assert out.dtype == dtype


# -- 11. inputs are never modified ------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES + ["reference"])
@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_fit_and_predict_never_modify_their_inputs(engine, batch_size):
    if engine == "reference" and batch_size == 3:
        pytest.skip("the reference runs per sample or full batch only")
    X, y = vecnet.article_data()
    X = np.asfortranarray(np.vstack([X, X[::-1] + 0.5]))
    y = np.concatenate([y, y[::-1]])
    X_copy, y_copy = X.copy(order="A"), y.copy()
    flags = [(a.flags.writeable, a.flags.c_contiguous, a.flags.f_contiguous, a.flags.owndata)
             for a in (X, y)]
    net = Network([2, 2, 1], seed=0)
    net.fit(X, y, epochs=3, batch_size=batch_size, engine=engine, shuffle=engine != "reference",
            seed=1)
    net.predict(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    assert [(a.flags.writeable, a.flags.c_contiguous, a.flags.f_contiguous, a.flags.owndata)
            for a in (X, y)] == flags


# -- 12. extreme values --------------------------------------------------------------------
EXTREME = np.array([[-1000.0, 1000.0, 0.0, -FMAX, FMAX, 5e-324, -5e-324]])


@pytest.mark.parametrize("name", sorted(vecnet.ACTIVATIONS))
def test_activations_stay_finite_at_extreme_inputs(name):
    act = vecnet.ACTIVATIONS[name]
    a = act.forward(EXTREME.copy())
    assert np.isfinite(a).all()
    delta = np.ones_like(a)
    # The backward runs only inside fit, where underflow to 0 is allowed (a**2 of 5e-324).
    with np.errstate(all="raise", under="ignore"):
        act.backward(a, delta)
    assert np.isfinite(delta).all()
    if name == "sigmoid":  # the limits, exactly
        np.testing.assert_array_equal(a[0, [0, 1, 3, 4]], [0.0, 1.0, 0.0, 1.0])


def _one_layer(out, loss, W, b=0.0, dtype=np.float64):
    net = Network([1, np.size(W)], activation="identity", output_activation=out, loss=loss,
                  seed=0, dtype=dtype)
    net.set_params([(np.atleast_2d(W), np.full(np.size(W), b))])
    return net


# Losses at logits of +/-1000, by hand: bce(z, 0) = z for z = 1000 and 0 for z = -1000;
# mse of sigmoid outputs 1 and 0 against 1 is (0 + 1) / 2; cce of logits (1000, -1000)
# for class 1 is logsumexp - z_1 = 1000 + 1000; for class 0 it is 0.
LOSS_CASES = [
    ("sigmoid", "bce", 1000.0, [[1.0], [-1.0]], [0.0, 0.0], 500.0),
    ("sigmoid", "bce", 1000.0, [[1.0], [-1.0]], [1.0, 0.0], 0.0),
    ("sigmoid", "mse", 1000.0, [[1.0], [-1.0]], [1.0, 1.0], 0.5),
    ("tanh", "mse", 1000.0, [[1.0], [-1.0]], [1.0, -1.0], 0.0),
    ("softmax", "cce", [1000.0, -1000.0], [[1.0], [1.0]], [[0.0, 1.0], [1.0, 0.0]], 1000.0),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("out, loss, W, X, y, expected", LOSS_CASES)
def test_losses_at_logits_of_1000_are_finite_and_exact_in_both_engines(engine, out, loss, W, X, y,
                                                                       expected):
    net = _one_layer(out, loss, W)
    history = net.fit(np.array(X), np.array(y), epochs=1, batch_size=None, lr=1e-9, engine=engine)
    assert history.loss == [expected]
    assert np.isfinite(net.theta).all()


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_saturating_layers_absorb_inputs_near_the_float_max(act):
    net = Network([2, 3, 1], activation=act, output_activation="sigmoid", seed=0)
    net.params[0][0][...] = 3.0  # X @ W overflows to +inf in the hidden layer
    out = net.predict(np.array([[FMAX / 2, 0.0], [0.5, 0.25]]))
    assert np.isfinite(out).all() and ((out >= 0) & (out <= 1)).all()


@pytest.mark.parametrize("act", ["relu", "identity"])
def test_predict_that_overflows_is_a_clear_error_not_nan(act):
    net = Network([2, 3, 1], activation=act, output_activation="identity", seed=0)
    net.params[0][0][...] = 3.0
    with pytest.raises(ValueError, match=r"not finite for 1 row\(s\) of X \(the first is row 0\): "
                                         r"a layer overflowed.*scale X"):
        net.predict(np.array([[FMAX / 2, 0.0], [0.5, 0.25]]))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_a_fit_that_blows_up_in_its_last_epoch_warns_and_predict_blames_the_weights(engine):
    # each epoch's loss is taken before its updates: finite all along (up to 2.7e266), yet the last
    # updates leave weights of 7.5e199, which no forward pass survives
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    net = Network([2, 3, 1], activation="identity", seed=0)
    with pytest.warns(DivergenceWarning, match=r"training blew up: the weights grew as large as 7.\d+e\+199, "
                                               r"beyond 1.34e\+154, .* Try a smaller learning rate"):
        history = net.fit(X, y, epochs=6, lr=0.5, batch_size=None, engine=engine)
    assert history.stopped is None and np.isfinite(history.loss).all() and history.loss[-1] > 1e250
    with pytest.raises(ValueError, match=r"a layer overflowed. X has values as large as .* weights this large "
                                         r"come from training with too large a learning rate"):
        net.predict(X)
    nets = [Network([2, 3, 1], activation="identity", seed=0) for _ in range(3)]
    with pytest.warns(DivergenceWarning, match=r"the weights of 2 of 3 networks \(indexes \[0, 2\]\) grew"):
        vecnet.fit_many(nets, X, y, epochs=6, lr=[0.5, 0.01, 0.5], batch_size=None, engine=engine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # an ordinary fit: no such warning
        Network([2, 3, 1], activation="identity", seed=0).fit(X, y, epochs=6, lr=0.01, batch_size=None,
                                                              engine=engine)


@pytest.mark.parametrize("where, index, place", [
    (lambda net: net.theta, slice(None), r"theta\[0\] \(layer 0 W\[0, 0\]\)"),
    (lambda net: net.params[1][0], (2, 0), r"theta\[11\] \(layer 1 W\[2, 0\]\)"),   # 2*3 + 3 + 2
    (lambda net: net.params[0][1], 1, r"theta\[7\] \(layer 0 b\[1\]\)"),           # 2*3 + 1
])
def test_predict_with_nan_weights_blames_the_weights_not_X(where, index, place):
    net = Network([2, 3, 1], seed=0)
    where(net)[index] = np.nan
    n_bad = int(np.isnan(net.theta).sum())
    with pytest.raises(ValueError, match=rf"^the network's weights are not finite: theta holds {n_bad} NaN or "
                                         rf"inf value\(s\), the first nan at {place}; set finite weights"):
        net.predict(np.array([[0.5, 0.25]]))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float32, 1e30)])
def test_fit_refuses_inputs_too_large_to_train_on(engine, dtype, big):
    X, y = vecnet.article_data()
    X = X.copy()
    X[2, 1] = big
    with pytest.raises(ValueError, match="X has values as large as .*: scale X first"):
        Network([2, 2, 1], seed=0, dtype=dtype).fit(X, y, epochs=1, engine=engine)
    with pytest.raises(ValueError, match="y has values as large as"):
        Network([2, 2, 1], output_activation="identity", seed=0, dtype=dtype).fit(
            vecnet.article_data()[0], np.full(4, big), epochs=1, engine=engine)


@pytest.mark.skipif(np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="longdouble is float64 here")
def test_values_beyond_float64_are_named_as_they_are_and_float64_is_not_offered():
    X = np.array([[np.longdouble("1.5e400"), 0.0], [0.0, 1.0]], dtype=np.longdouble)
    y = np.array([0.0, 1.0])
    tail = r"1.5e\+400, beyond the range of float(64|32), the (network|estimator)'s dtype: scale X$"
    for fit in (lambda: Network([2, 2, 1], seed=0).fit(X, y, epochs=1),
                lambda: Network([2, 2, 1], seed=0, dtype=np.float32).fit(X, y, epochs=1),
                lambda: Network([2, 2, 1], seed=0).predict(X),
                lambda: vecnet.MLPRegressor(max_iter=1).fit(X, y)):
        with pytest.raises(ValueError, match=r"X has values as large as " + tail):
            fit()
    # beyond float32 only: float64 is the advice
    with pytest.raises(ValueError, match=r"as large as 1e\+39, .* scale X or use a float64 network$"):
        Network([2, 2, 1], seed=0, dtype=np.float32).fit(np.array([[1e39, 0.0]]), np.array([0.0]), epochs=1)
    with pytest.raises(ValueError, match=r"as large as 1e\+39, .* scale X or use dtype=numpy.float64$"):
        vecnet.MLPRegressor(max_iter=1, dtype=np.float32).fit(np.array([[1e39, 0.0]]), np.array([0.0]))


@pytest.mark.parametrize("engine", ENGINES)
def test_validation_data_too_large_to_train_on_is_evaluated_as_predict_would(engine):
    # never trained on: validation data needs what predict's input needs (finite, in the dtype's range)
    X, y = vecnet.article_data()
    X_val = np.array([[1e200, -1e200], [3e250, 0.5]])
    y_val = np.array([0.0, 1.0])
    net = Network([2, 2, 1], seed=0)
    history = net.fit(X, y, epochs=2, engine=engine, validation_data=(X_val, y_val))
    assert len(history.val_loss) == 2
    assert history.val_loss[-1] == pytest.approx(np.mean((net.predict(X_val)[:, 0] - y_val) ** 2), rel=1e-12)
    with pytest.raises(ValueError, match="validation X holds non-finite values|validation X .*nan|NaN"):
        net.fit(X, y, epochs=1, engine=engine, validation_data=(np.array([[np.nan, 0.0]]), np.array([0.0])))
    with pytest.raises(ValueError, match="validation X has values as large as .* beyond the range of float32"):
        Network([2, 2, 1], seed=0, dtype=np.float32).fit(X, y, epochs=1, engine=engine,
                                                          validation_data=(np.array([[1e39, 0.0]]), np.array([0.0])))


@pytest.mark.parametrize("engine", ENGINES)
def test_an_mse_that_overflows_stops_as_divergence_in_both_engines(engine):
    # |y - y_pred| = 1e250 and its square overflows: the loss is inf, a numerical fault.
    net = _one_layer("identity", "mse", 1e100)
    before = net.theta.copy()
    with pytest.warns(DivergenceWarning, match="diverged in epoch 1"):
        history = net.fit(np.array([[1e150]]), np.array([0.0]), epochs=5, engine=engine)
    assert history.stopped == "diverged" and history.loss == []
    np.testing.assert_array_equal(net.theta, before)


# -- 13. divergence ------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_divergence_warns_and_keeps_the_last_finite_weights(engine, momentum):
    # Full-batch gradient descent with a step past the stable range: the weights
    # grow geometrically and overflow after some dozens of epochs.
    X, y = _data(n=16, d=3)
    net = Network([3, 8, 1], activation="tanh", output_activation="identity", seed=0)
    start = net.copy()
    with pytest.warns(DivergenceWarning, match="Try a smaller learning rate"):
        history = net.fit(X, y, epochs=1000, batch_size=None, optimizer=SGD(lr=2.0, momentum=momentum),
                          engine=engine)
    assert history.stopped == "diverged" and 10 < history.epochs < 1000
    assert np.isfinite(net.theta).all() and np.isfinite(history.loss).all()
    # The weights are exactly those after the last completed epoch: rerun that many epochs.
    start.fit(X, y, epochs=history.epochs, batch_size=None, optimizer=SGD(lr=2.0, momentum=momentum),
              engine=engine)
    np.testing.assert_array_equal(net.theta, start.theta)


def test_the_reference_engine_stops_on_divergence_too():
    X = np.array([[1.3e154, -1.3e154], [1.0, 2.0]])
    net = Network([2, 2, 1], seed=0)
    net.params[0][0][...] = 1e155  # x0*w1 = +inf and x1*w2 = -inf: the sum is NaN
    before = net.theta.copy()
    with pytest.warns(DivergenceWarning):
        history = net.fit(X, [1.0, 0.0], epochs=3, engine="reference")
    assert history.stopped == "diverged" and history.loss == []
    np.testing.assert_array_equal(net.theta, before)


# -- 14. determinism, sample order, batch versus row ------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_is_idempotent_with_a_fixed_seed(engine, optimizer):
    X, y = _data(n=40)
    runs = []
    for _ in range(2):
        net = Network([3, 5, 1], seed=7)
        h = net.fit(X, y, epochs=4, batch_size=8, shuffle=True, seed=3, optimizer=optimizer,
                    engine=engine)
        runs.append((net.theta.copy(), h.loss))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_copy_keeps_its_own_optimizer_memory(engine):
    X, y = _data()
    net = _net()
    net.fit(X, y, epochs=1, optimizer="adam", engine=engine)
    twin = net.copy()
    twin.fit(X, y, epochs=2, optimizer="adam", engine=engine)
    net.fit(X, y, epochs=2, optimizer="adam", engine=engine)
    np.testing.assert_array_equal(twin.theta, net.theta)


@pytest.mark.parametrize("engine", ENGINES)
def test_full_batch_training_does_not_depend_on_sample_order(engine):
    X, y = _data(n=50)
    perm = np.random.default_rng(5).permutation(50)
    a, b = Network([3, 6, 1], seed=2), Network([3, 6, 1], seed=2)
    ha = a.fit(X, y, epochs=20, batch_size=None, lr=0.5, engine=engine)
    hb = b.fit(X[perm], y[perm], epochs=20, batch_size=None, lr=0.5, engine=engine)
    # Only the order of the sums over samples differs: agreement to rounding.
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictions_for_a_batch_equal_predictions_row_by_row(dtype):
    X, _ = _data(n=257, d=10)
    net = Network([10, 32, 32, 3], activation="tanh", output_activation="sigmoid", init="glorot",
                  seed=1, dtype=dtype)
    rows = np.vstack([net.predict(X[i:i + 1]) for i in range(len(X))])
    # BLAS may use another kernel for one row than for many: outputs in [0, 1] agree
    # to a few units in the last place.
    np.testing.assert_allclose(net.predict(X), rows, rtol=0, atol=8 * np.finfo(dtype).eps)


def test_values_beyond_float32_are_refused_by_a_float32_network():
    X = np.array([[1e39, 0.0]])  # finite in float64, inf in float32
    net = Network([2, 1], seed=0, dtype=np.float32)
    with pytest.raises(ValueError, match="beyond the range of float32, the network's dtype"):
        net.predict(X)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        net.fit(X, [0.0], epochs=1)


def test_a_nan_far_into_a_memmap_is_found_block_by_block(monkeypatch, tmp_path):
    import vecnet.data.validation as validation

    monkeypatch.setattr(validation, "FINITE_CHECK_ELEMENTS", 30)  # 10 rows of 3 per block
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64, shape=(95, 3))
    X[:] = 1.0
    X[87, 2] = np.inf
    X.flush()
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"X contains 1 inf value \(the first at \[87, 2\]\)"):
        _net().predict(X)


# -- the Python API's own objects, given wrongly ----------------------------------------
def test_optimizer_settings_but_lr_are_keyword_only():
    # by position, SGD(0.01, 0.9) set l2=0.9 (the base class's fields come first), silently
    with pytest.raises(TypeError, match="positional"):
        vecnet.SGD(0.01, 0.9)
    with pytest.raises(TypeError, match="positional"):
        vecnet.Adam(0.001, 0.9)
    assert vecnet.SGD(0.01, momentum=0.9).momentum == 0.9 and vecnet.SGD(0.01).l2 == 0.0
    assert vecnet.Adam(0.01, beta1=0.8).beta1 == 0.8


def test_loss_value_and_gradients_refuse_a_target_that_would_broadcast():
    X, y = vecnet.article_data()
    net = Network([2, 2, 1], seed=0)
    expected = np.mean((y - net.predict(X)[:, 0]) ** 2)   # the mse, computed here
    assert net.loss_value(X, y.reshape(-1, 1)) == pytest.approx(expected, rel=1e-15)
    for call in (net.loss_value, net.gradients):
        with pytest.raises(ValueError, match=r"shapes \(n_samples, 2\) and \(n_samples, 1\), got \(4, 2\) "
                                             r"and \(4,\)"):
            call(X, y)   # (4,) against outputs (4, 1): a (4, 4) difference
        with pytest.raises(ValueError, match="got list and"):
            call(X.tolist(), y.reshape(-1, 1))


@pytest.mark.parametrize("bad", ["float32 X", "int Y", "object X", "matrix X", "masked X"])
def test_loss_value_and_gradients_refuse_arrays_not_of_the_networks_dtype(bad):
    """These trust their inputs' values, not their type: an object array failed deep in NumPy ("no
    callable exp method"), a masked one or a matrix with NumPy's broadcasting errors, and float32 data
    were computed at another precision than fit's."""
    X, y = vecnet.article_data()
    Y = y.reshape(-1, 1)
    net = Network([2, 2, 1], seed=0)
    if bad == "matrix X":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)   # "the matrix subclass is not ..."
            X = np.asmatrix(X)
    else:
        X, Y = {"float32 X": (X.astype(np.float32), Y), "int Y": (X, Y.astype(int)),
                "object X": (X.astype(object), Y), "masked X": (np.ma.masked_array(X), Y)}[bad]
    for call in (net.loss_value, net.gradients):
        with pytest.raises(ValueError, match="plain numpy arrays of the network's dtype float64"):
            call(X, Y)


@pytest.mark.parametrize("bad", ["float32", "int64", "too long", "2-D", "strided", "read-only", "theta",
                                 "a view of theta"])
def test_gradients_refuse_an_out_that_cannot_take_the_gradient(bad):
    """``out`` went unchecked: float32 was downcast silently, ``out=net.theta`` gave a wrong gradient
    silently (the weights were overwritten while it was computed), other shapes failed in NumPy."""
    X, y = vecnet.article_data()
    Y = y.reshape(-1, 1)
    net = Network([2, 2, 1], seed=0)
    p = net.n_params
    out = {"float32": lambda: np.empty(p, np.float32), "int64": lambda: np.empty(p, np.int64),
           "too long": lambda: np.empty(p + 1), "2-D": lambda: np.empty((1, p)),
           "strided": lambda: np.empty(2 * p)[::2], "read-only": lambda: _read_only(np.empty(p)),
           "theta": lambda: net.theta, "a view of theta": lambda: net.theta[:]}[bad]()
    theta = net.theta.copy()
    with pytest.raises(ValueError, match="out must"):
        net.gradients(X, Y, out=out)
    np.testing.assert_array_equal(net.theta, theta)
    good = np.empty(p)
    assert net.gradients(X, Y, out=good)[1] is good


def _read_only(a):
    a.flags.writeable = False
    return a


def test_initialize_forgets_the_optimizer_state_of_the_old_weights():
    X, y = vecnet.article_data()
    a = Network([2, 2, 1], seed=0)
    a.fit(X, y, epochs=5, optimizer="adam", engine="numpy")
    a.initialize("normal", seed=1)
    assert a.optimizer_state is None
    a.fit(X, y, epochs=5, optimizer="adam", engine="numpy")
    b = Network([2, 2, 1], seed=1)
    b.fit(X, y, epochs=5, optimizer="adam", engine="numpy")
    np.testing.assert_array_equal(a.theta, b.theta)


@pytest.mark.parametrize("call, says", [
    (lambda X, y: vecnet.fit(None, X, y, epochs=1), "net must be a vecnet.Network, got NoneType"),
    (lambda X, y: vecnet.fit(vecnet.MLPRegressor(), X, y, epochs=1), "net must be a vecnet.Network, got MLPRegressor"),
    (lambda X, y: vecnet.to_reference(None), "net must be a vecnet.Network, got NoneType"),
    (lambda X, y: vecnet.from_reference(None), "ref must be a vecnet.reference.ReferenceNetwork, got NoneType"),
    (lambda X, y: vecnet.from_reference(Network([2, 2, 1])), "ref must be a .*ReferenceNetwork, got Network"),
])
def test_objects_of_the_wrong_kind_are_a_type_error_naming_it(call, says):
    X, y = vecnet.article_data()
    with pytest.raises(TypeError, match=says):
        call(X, y)


def test_numpy_bools_and_dtypes_are_taken_or_refused_as_python_ones():
    X, y = vecnet.article_data()
    a, b = Network([2, 2, 1], seed=0), Network([2, 2, 1], seed=0)
    ha = a.fit(X, y, epochs=3, engine="numpy", early_stopping=np.True_, validation_data=(X, y))
    hb = b.fit(X, y, epochs=3, engine="numpy", early_stopping=True, validation_data=(X, y))
    assert ha.loss == hb.loss
    ref = vecnet.to_reference(Network([2, 2, 1], seed=0))
    for bad in (0, ""):
        with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
            vecnet.from_reference(ref, dtype=bad)


def test_seeds_study_checks_progress_before_training_and_takes_a_0d_threshold(monkeypatch):
    from vecnet import studies

    calls = []
    monkeypatch.setattr(studies, "fit_many", lambda *a, **k: calls.append(1))
    with pytest.raises(ValueError, match="progress must be a callable"):
        studies.seeds_study(draws=3, epochs=5, engine="numpy", progress="x")
    assert not calls   # refused before any group trained
    monkeypatch.undo()
    assert studies.seeds_study(draws=2, epochs=3, engine="numpy", thresholds=np.array(0.01)).thresholds == (0.01,)


def test_an_optimizer_state_set_by_hand_is_checked_when_a_fit_starts():
    from vecnet.optimizers import OptimizerState

    X, y = vecnet.article_data()
    net = Network([2, 2, 1], seed=0)
    n = net.n_params
    ok_steps = np.zeros(1, np.int64)
    cases = [
        ({"memory": 1}, TypeError, "optimizer_state must be a vecnet.optimizers.OptimizerState or None, got dict"),
        (OptimizerState(np.zeros((2, n)), np.array(5), "adam"), ValueError,
         r"optimizer_state.steps must be a writable int64 array of shape \(1,\).*got int64 \(\)"),
        (OptimizerState(np.full((2, n), np.nan), ok_steps, "adam"), ValueError, "memory holds NaN or inf"),
        (OptimizerState(-np.ones((2, n)), ok_steps, "adam"), ValueError, "negative values: Adam's second moments"),
        (OptimizerState(np.asfortranarray(np.zeros((2, n))), ok_steps, "adam"), ValueError,
         r"memory must be a writable C-contiguous float array.*not C-contiguous"),
    ]
    for state, error, says in cases:
        for engine in ("numpy", "numba"):
            net.optimizer_state = state
            start = net.theta.copy()
            with pytest.raises(error, match=says):
                net.fit(X, y, epochs=1, optimizer="adam", engine=engine)
            np.testing.assert_array_equal(net.theta, start)
    net.optimizer_state = OptimizerState(np.ones((2, n)), ok_steps.copy(), "sgd")   # momentum's velocity may be < 0
    net.optimizer_state.memory[0] *= -1
    net.fit(X, y, epochs=1, optimizer=vecnet.SGD(momentum=0.5), engine="numpy")


def test_r2_score_refuses_what_has_no_score_and_scores_the_rest():
    from vecnet.training.metrics import r2_score

    y, p = [1.0, 2.0, 4.0], [1.5, 2.0, 3.0]
    mean = sum(y) / 3
    expected = 1 - sum((a - b) ** 2 for a, b in zip(y, p)) / sum((a - mean) ** 2 for a in y)
    assert r2_score(y, p) == pytest.approx(expected, rel=1e-15)
    assert r2_score(np.array(y)[:, None], p) == r2_score(y, np.array(p)[:, None]) == r2_score(y, p)
    for args, says in [
        (([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]), "must be finite"),
        (([1.0, 2.0, 3.0], [1.0, 2.0, np.inf]), "must be finite"),
        ((np.arange(6.0), np.ones((3, 2))), r"of one shape .* got \(6,\) and \(3, 2\)"),
        (([1.0, 2.0, 3.0], np.ones((3, 2))), r"got \(3,\) and \(3, 2\)"),
        (([], []), "at least one row"),
        ((1.0, 1.0), "at least one row"),
        (([1.0, 2.0, 3.0], [1.0, 2.0, 2.0], [0, 0, 0]), "not all zero"),
        (([1.0, 2.0, 3.0], [1.0, 2.0, 2.0], [-1, 1, 1]), "non-negative"),
        (([1.0, 2.0, 3.0], [1.0, 2.0, 2.0], [1, 1]), r"of shape \(3,\)"),
    ]:
        with pytest.raises(ValueError, match=says):
            r2_score(*args)


# -- read-only weights ---------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_read_only_weights_are_refused_before_training_changes_anything(engine):
    """A read-only theta (``flags.writeable = False``, a read-only memory map) failed at the first
    write, or in the roll-back, with NumPy's bare "assignment destination is read-only", and the
    failed fit had set an optimizer state."""
    X, y = _data()
    net = _net()
    before = net.theta.copy()
    net.theta.flags.writeable = False
    with pytest.raises(ValueError, match=r"weights \(theta\) are read-only .*net\.copy\(\)"):
        net.fit(X, y, epochs=2, engine=engine)
    assert net.optimizer_state is None
    np.testing.assert_array_equal(net.theta, before)
    net.copy().fit(X, y, epochs=2, engine=engine)   # the copy is writable and trains


def test_the_reference_engine_does_not_train_read_only_weights_through_their_views():
    """The reference engine wrote through ``params`` (views made before theta was frozen)."""
    X, y = vecnet.article_data()
    net = Network([2, 2, 1], seed=0, init="normal")
    before = net.theta.copy()
    net.theta.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        net.fit(X, y, epochs=2, engine="reference")
    np.testing.assert_array_equal(net.theta, before)


def test_fit_many_refuses_a_read_only_network_before_any_trains():
    X, y = _data()
    nets = [_net(seed=k) for k in range(3)]
    nets[2].theta.flags.writeable = False
    before = [net.theta.copy() for net in nets]
    with pytest.raises(ValueError, match="read-only"):
        vecnet.fit_many(nets, X, y, epochs=2, engine="numpy")
    for net, theta in zip(nets, before):
        np.testing.assert_array_equal(net.theta, theta)
        assert net.optimizer_state is None


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_an_estimator_memory_mapped_read_only_is_refused_a_continued_fit_and_left_as_it_was(tmp_path, how):
    joblib = pytest.importorskip("joblib")
    X, y = _data(40)
    labels = (y > 0.5).astype(int)
    est = vecnet.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with pytest.warns(Warning, match="Maximum iterations"):
        est.fit(X, labels)
    joblib.dump(est, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert not loaded.net_.theta.flags.writeable
    theta, n_iter, curve = loaded.net_.theta.copy(), loaded.n_iter_, list(loaded.loss_curve_)
    with pytest.raises(ValueError, match=r"read-only .*mmap_mode='c'"):
        if how == "partial_fit":
            loaded.partial_fit(X, labels)
        else:
            loaded.set_params(warm_start=True).fit(X, labels)
    assert loaded.n_iter_ == n_iter and loaded.loss_curve_ == curve
    np.testing.assert_array_equal(loaded.net_.theta, theta)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    joblib.load(tmp_path / "model.joblib", mmap_mode="c").partial_fit(X, labels)   # copy-on-write trains


# -- Python ints beyond float64 --------------------------------------------------------------
_BIG = 10**400


@pytest.mark.parametrize("where", ["fit X", "fit y", "predict", "validation X", "fit_many", "regressor X",
                                   "regressor y", "classifier X", "score sample_weight"])
def test_python_ints_beyond_float64_are_a_value_error(where):
    """An int too large for float64 in a list raised Python's OverflowError from the conversion,
    which is neither of the errors a bad input is documented to raise."""
    X, y = _data(8)
    Xbig, ybig = [[_BIG, 0, 0]] + X[1:].tolist(), [_BIG] + y[1:].tolist()
    labels = (y > 0.5).astype(int)
    calls = {
        "fit X": lambda: _net().fit(Xbig, y, epochs=1),
        "fit y": lambda: _net().fit(X, ybig, epochs=1),
        "predict": lambda: _net().predict(Xbig),
        "validation X": lambda: _net().fit(X, y, epochs=1, validation_data=(Xbig, y)),
        "fit_many": lambda: vecnet.fit_many([_net()], Xbig, y, epochs=1),
        "regressor X": lambda: vecnet.MLPRegressor(max_iter=1).fit(Xbig, y),
        "regressor y": lambda: vecnet.MLPRegressor(max_iter=1).fit(X, ybig),
        "classifier X": lambda: vecnet.MLPClassifier(max_iter=1).fit(Xbig, labels),
        "score sample_weight": lambda: _fitted_classifier(X, labels).score(X, labels, sample_weight=ybig),
    }
    with pytest.raises(ValueError):
        calls[where]()


def _fitted_classifier(X, labels):
    with pytest.warns(Warning, match="Maximum iterations"):
        return vecnet.MLPClassifier(max_iter=1).fit(X, labels)


def test_decimals_train_and_predict_as_floats_everywhere():
    """The estimators took Decimal values (as floats), Network.fit and predict refused them."""
    from decimal import Decimal

    X, y = _data(8)
    X_dec = np.array([[Decimal(float(v)) for v in row] for row in X], dtype=object)   # exact
    a, b = _net(), _net()
    a.fit(X, y, epochs=2, engine="numpy")
    b.fit(X_dec, y, epochs=2, engine="numpy")
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.predict(X_dec), a.predict(X))


@pytest.mark.parametrize("weights", ["complex", "text", "dates"])
def test_score_refuses_sample_weights_that_are_not_real_numbers(weights):
    """Complex weights lost their imaginary part with a ComplexWarning; text was parsed; dates
    counted as seconds since 1970."""
    X, y = _data(8)
    labels = (y > 0.5).astype(int)
    with pytest.warns(Warning, match="Maximum iterations"):
        est = vecnet.MLPClassifier(max_iter=1).fit(X, labels)
    w = {"complex": np.ones(8) + 0j, "text": ["1"] * 8,
         "dates": np.arange(1, 9).astype("datetime64[s]")}[weights]
    with pytest.raises(ValueError, match="sample_weight must hold numbers"):
        est.score(X, labels, sample_weight=w)
