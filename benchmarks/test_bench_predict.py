"""Prediction side by side: vecnet, onnxruntime and scikit-learn, the same weights.

64-128-64-10, relu hidden layers, softmax output, one thread everywhere
(OpenBLAS through threadpoolctl, onnxruntime's intra- and inter-op pools):
100,000 rows in float64 and float32, and one row per call. The ONNX graph is
built here with ``onnx.helper`` (MatMul + Add + Relu ... + Softmax), so this
file needs no exporter; scikit-learn's ``MLPClassifier`` gets the weights
through its fitted attributes and answers with ``predict_proba``.

    python -m pytest benchmarks/test_bench_predict.py --benchmark-enable
"""

import numpy as np
import pytest

import vecnet

SIZES = (64, 128, 64, 10)
ROWS = 100_000
PEERS = ("vecnet", "onnxruntime", "sklearn")


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _network(dtype):
    return vecnet.Network(SIZES, activation="relu", output_activation="softmax", loss="cce",
                          init="he", seed=0, dtype=dtype)


def onnx_session(net):
    """An onnxruntime session computing ``net``'s outputs, one thread."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    elem = TensorProto.DOUBLE if net.dtype == np.float64 else TensorProto.FLOAT
    ops = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}
    nodes, weights, prev = [], [], "X"
    for k, ((W, b), act) in enumerate(zip(net.params, net.layer_activations())):
        weights += [numpy_helper.from_array(W, f"W{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes += [helper.make_node("MatMul", [prev, f"W{k}"], [f"M{k}"]),
                  helper.make_node("Add", [f"M{k}", f"b{k}"], [f"Z{k}"])]
        prev = f"Z{k}"
        if act != "identity":
            attrs = {"axis": 1} if act == "softmax" else {}
            nodes.append(helper.make_node(ops[act], [prev], [f"A{k}"], **attrs))
            prev = f"A{k}"
    nodes[-1].output[0] = "Y"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("X", elem, ["n", net.sizes[0]])],
        [helper.make_tensor_value_info("Y", elem, ["n", net.sizes[-1]])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def sklearn_model(net):
    """A scikit-learn ``MLPClassifier`` holding ``net``'s weights (relu, softmax output)."""
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2 * net.sizes[-1], net.sizes[0])).astype(net.dtype)
    y = np.arange(2 * net.sizes[-1]) % net.sizes[-1]
    clf = MLPClassifier(hidden_layer_sizes=net.sizes[1:-1], activation="relu", max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf.coefs_ = [W.copy() for W, _ in net.params]
    clf.intercepts_ = [b.copy() for _, b in net.params]
    return clf


def predictor(peer, net):
    """``predict(X)`` of ``peer`` with ``net``'s weights: outputs (n, n_out)."""
    if peer == "vecnet":
        return net.predict
    if peer == "onnxruntime":
        session = onnx_session(net)
        return lambda X: session.run(None, {"X": X})[0]
    return sklearn_model(net).predict_proba


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_many_rows(benchmark, peer, dtype):
    benchmark.group = f"predict {ROWS:,} rows, 64-128-64-10 relu/softmax, {dtype}, 1 thread"
    net = _network(dtype)
    n = 1_000 if benchmark.disabled else ROWS
    X = np.random.default_rng(1).standard_normal((n, SIZES[0])).astype(dtype)
    predict = predictor(peer, net)
    predict(X[:10])  # warm-up: onnxruntime's first run allocates
    out = benchmark.pedantic(predict, args=(X,), rounds=1 if benchmark.disabled else 10,
                             warmup_rounds=0 if benchmark.disabled else 1)
    atol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out, net.predict(X), rtol=0, atol=atol)


@pytest.mark.parametrize("peer", PEERS)
def test_predict_one_row(benchmark, peer):
    benchmark.group = "predict 1 row per call, 64-128-64-10 relu/softmax, float64, 1 thread"
    net = _network("float64")
    x = np.random.default_rng(2).standard_normal((1, SIZES[0]))
    predict = predictor(peer, net)
    out = benchmark(predict, x)
    np.testing.assert_allclose(out, net.predict(x), rtol=0, atol=1e-12)
