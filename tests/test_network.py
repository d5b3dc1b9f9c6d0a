"""The matrix network: layout, scalar map, gradients, and the two engines on deeper nets."""

import numpy as np
import pytest

import vecnet
from helpers import GENERAL_ENGINES, finite_difference
from vecnet.activations import ACTIVATIONS
from vecnet.losses import LOSSES
from vecnet.reference import PARAM_NAMES, ReferenceNetwork

HIDDEN = [name for name, act in ACTIVATIONS.items() if not act.output_only]
# every loss with every output activation it is defined for
PAIRS = [(loss, out) for loss in LOSSES for out in ACTIVATIONS
         if LOSSES[loss].requires_output in (None, out)]


def _targets(loss, n, k, rng):
    if loss == "cce":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "bce":
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


def test_params_are_views_into_theta_with_the_documented_shapes():
    net = vecnet.Network([3, 5, 4, 2], seed=0)
    assert [(W.shape, b.shape) for W, b in net.params] == [((3, 5), (5,)), ((5, 4), (4,)), ((4, 2), (2,))]
    assert net.n_params == net.theta.size == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
    net.theta[:] = np.arange(net.n_params)
    assert net.params[0][0][0, 1] == 1 and net.params[0][1][0] == 15 and net.params[1][0][0, 0] == 20


def test_forward_is_the_layer_formula():
    rng = np.random.default_rng(1)
    net = vecnet.Network([3, 4, 2], activation="tanh", output_activation="identity", seed=2)
    X = rng.normal(size=(6, 3))
    (W0, b0), (W1, b1) = net.params
    expected = np.tanh(X @ W0 + b0) @ W1 + b1
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_scalar_map_round_trip_and_forward_agree_with_the_reference(seed):
    np.random.seed(seed)
    ref = ReferenceNetwork()
    net = vecnet.from_reference(ref)
    (W0, b0), (W1, b1) = net.params
    # the article's formulas, written against the map in vecnet/scalar_map.py's table
    assert (W0[0, 0], W0[1, 0], W0[0, 1], W0[1, 1]) == (ref.w1, ref.w2, ref.w3, ref.w4)
    assert (W1[0, 0], W1[1, 0], b0[0], b0[1], b1[0]) == (ref.w5, ref.w6, ref.b1, ref.b2, ref.b3)
    assert vecnet.to_reference(net).params() == ref.params()
    X, _ = vecnet.article_data()
    np.testing.assert_allclose(net.predict(X)[:, 0], ref.predict(X), rtol=0, atol=1e-15)
    assert set(vecnet.SCALAR_MAP) == set(PARAM_NAMES)


def test_to_reference_refuses_other_networks():
    with pytest.raises(ValueError, match="article"):
        vecnet.to_reference(vecnet.Network([2, 3, 1]))


@pytest.mark.parametrize("init", ["normal", "glorot", "he"])
def test_same_seed_same_weights(init):
    a = vecnet.Network([4, 6, 3], init=init, seed=11)
    b = vecnet.Network([4, 6, 3], init=init, seed=11)
    c = vecnet.Network([4, 6, 3], init=init, seed=12)
    assert np.array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)


def test_normal_init_is_standard_normal():
    net = vecnet.Network([200, 100, 50], init="normal", seed=0)
    assert abs(net.theta.mean()) < 0.02 and abs(net.theta.std() - 1) < 0.02


@pytest.mark.parametrize("kind,name", [("activation", "swish"), ("loss", "hinge"), ("init", "xavier")])
def test_unknown_names_list_the_valid_ones(kind, name):
    with pytest.raises(ValueError, match="valid ones are"):
        vecnet.Network([2, 2, 1], **{kind: name})


def test_unknown_engine_lists_the_valid_ones():
    X, y = vecnet.article_data()
    with pytest.raises(ValueError, match="valid ones are.*numba"):
        vecnet.Network([2, 2, 1]).fit(X, y, epochs=1, engine="torch")


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss,output", PAIRS)
def test_gradients_match_central_finite_differences(hidden, loss, output):
    rng = np.random.default_rng(3)
    net = vecnet.Network([3, 5, 4, 3], activation=hidden, output_activation=output, loss=loss,
                         init="glorot", seed=4)
    net.theta[:] += rng.normal(scale=0.1, size=net.n_params)  # non-zero biases
    X = rng.normal(size=(7, 3))
    Y = _targets(loss, 7, 3, rng)
    _, grad = net.gradients(X, Y)
    np.testing.assert_allclose(grad, finite_difference(net, X, Y), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
def test_mini_batch_step_is_the_mean_of_per_sample_gradients(engine):
    """One batch of 4 moves theta by -lr times the mean of the four single-sample gradients."""
    rng = np.random.default_rng(8)
    net = vecnet.Network([3, 4, 2], activation="tanh", seed=9)
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    per_sample = np.mean([net.gradients(X[i:i + 1], Y[i:i + 1])[1] for i in range(4)], axis=0)
    start = net.theta.copy()
    net.fit(X, Y, epochs=1, lr=0.1, batch_size=4, engine=engine)
    # mse averages over outputs too, so a single sample's gradient of a 2-output net is
    # already divided by 2: the batch mean of those is the batch gradient
    np.testing.assert_allclose(net.theta, start - 0.1 * per_sample, rtol=1e-13, atol=1e-15)


def _share_theta(net):
    return all(np.shares_memory(net.theta, W) and np.shares_memory(net.theta, b) for W, b in net.params)


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "copy"])
def test_a_copied_or_unpickled_network_trains_and_predicts_with_one_set_of_weights(how):
    import copy
    import pickle

    X, y = vecnet.article_data()
    net = vecnet.Network([2, 2, 1], seed=0)
    twin = {"pickle": lambda: pickle.loads(pickle.dumps(net)), "deepcopy": lambda: copy.deepcopy(net),
            "copy": net.copy}[how]()
    assert _share_theta(twin) and not np.shares_memory(twin.theta, net.theta)
    np.testing.assert_array_equal(twin.theta, net.theta)
    twin.fit(X, y, epochs=50, engine="numpy")
    net.fit(X, y, epochs=50, engine="numpy")
    np.testing.assert_array_equal(twin.theta, net.theta)
    np.testing.assert_array_equal(twin.predict(X), net.predict(X))   # predict reads params: the same weights


def test_a_network_pickled_by_vecnet_0_1_loads_with_params_as_views():
    import pickle

    net = vecnet.Network([2, 3, 1], seed=0)
    old = dict(net.__dict__)   # 0.1 kept theta and params as plain attributes, both pickled
    old["theta"] = old.pop("_theta")
    twin = object.__new__(vecnet.Network)
    twin.__setstate__(pickle.loads(pickle.dumps(old)))
    assert _share_theta(twin)
    np.testing.assert_array_equal(twin.theta, net.theta)
    np.testing.assert_array_equal(twin.predict(np.eye(2)), net.predict(np.eye(2)))


def test_assigning_theta_copies_into_the_weights_the_params_view():
    net = vecnet.Network([2, 3, 1], seed=0)
    values = np.arange(net.n_params, dtype=float)
    net.theta = values
    assert _share_theta(net) and not np.shares_memory(net.theta, values)
    np.testing.assert_array_equal(net.params[0][0].ravel(), values[:6])   # W1, row-major, first in theta
    before = net.theta.copy()
    for bad, message in [(np.zeros(3), r"theta must have shape \(13,\)"), (np.full(13, np.nan), "finite")]:
        with pytest.raises(ValueError, match=message):
            net.theta = bad
    np.testing.assert_array_equal(net.theta, before)


def test_assigning_params_copies_into_theta_so_training_and_saving_see_it(tmp_path):
    X, y = vecnet.article_data()
    net = vecnet.Network([2, 2, 1], seed=0)
    new = [(np.full((2, 2), 0.25), np.array([0.5, -0.5])), (np.array([[1.0], [-1.0]]), np.array([0.125]))]
    net.params = new
    assert _share_theta(net)
    assert net.theta.tolist() == [0.25, 0.25, 0.25, 0.25, 0.5, -0.5, 1.0, -1.0, 0.125]   # W1, b1, W2, b2
    net.save(tmp_path / "m.npz")   # what is saved is what predicts
    np.testing.assert_array_equal(vecnet.load(tmp_path / "m.npz").predict(X), net.predict(X))
    before = net.predict(X)
    net.fit(X, y, epochs=50, engine="numpy")   # training moves what predict reads
    assert not np.array_equal(net.predict(X), before)
    kept = net.theta.copy()
    for bad, message in [([np.zeros(4), np.zeros(2)], r"2 layers of \(W, b\) pairs, got \['ndarray', 'ndarray'\]"),
                         ([(np.zeros((2, 2)),), new[1]], r"pairs, got \['1-tuple', '2-tuple'\]"),
                         ([(np.full((2, 2), np.nan), np.zeros(2)), new[1]], "layer 0: W must hold finite"),
                         ([(np.zeros((3, 2)), np.zeros(2)), new[1]], r"layer 0: expected W \(2, 2\)")]:
        with pytest.raises(ValueError, match=message):
            net.params = bad
    with pytest.raises(ValueError, match=r"theta must have shape \(9,\) \(n_params,\), got None"):
        net.theta = None
    np.testing.assert_array_equal(net.theta, kept)


def test_a_float32_network_refuses_weights_beyond_its_range_and_keeps_its_own():
    net = vecnet.Network([2, 3, 1], seed=0, dtype=np.float32)
    before = net.theta.copy()
    params = net.get_params()
    params[0] = (np.full((2, 3), 1e300), params[0][1])   # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"layer 0: W must hold finite real numbers \(within float32's range\)"):
        net.set_params(params)
    with pytest.raises(ValueError, match=r"theta must hold finite real numbers \(within float32's range\)"):
        net.theta = np.full(net.n_params, 1e300)
    np.testing.assert_array_equal(net.theta, before)


def test_copy_keeps_the_subclass():
    class Sub(vecnet.Network):
        pass

    assert type(Sub([2, 2, 1], seed=0).copy()) is Sub
