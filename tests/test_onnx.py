"""ONNX export: the exported graph, run by onnxruntime, gives vecnet's predictions."""

import os
import sys
import warnings

import numpy as np
import pytest

import vecnet
from vecnet.interop import export_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROWS = [1, 1000]


def run(path_or_proto, X):
    """onnxruntime's outputs, by name, for ``X``."""
    source = path_or_proto if isinstance(path_or_proto, str) else path_or_proto.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X})))


def rows(n, n_features=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, n_features))


def fitted(cls, y_kind, dtype="float64"):
    X = rows(60, seed=1)
    y = {"binary": np.arange(60) % 2, "strings": np.array(["cat", "dog", "emu"])[np.arange(60) % 3],
         "multiclass": np.arange(60) % 4, "one": X @ [1.0, -2.0, 0.5, 0.0],
         "three": X[:, :3] * [1.0, -2.0, 3.0], "binary strings": np.array(["no", "yes"])[np.arange(60) % 2],
         "float labels": (np.arange(60) % 3) * 2.0,
         "uint64 past int64": np.array([7, 2**63 + 5], dtype=np.uint64)[np.arange(60) % 2]}[y_kind]
    est = cls((8, 5), activation="tanh", max_iter=30, random_state=0, engine="numpy", dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
        return est.fit(X, y)


NETWORKS = {
    "sigmoid mse (the article's kind)": dict(activation="sigmoid"),
    "relu softmax": dict(activation="relu", output_activation="softmax", loss="cce"),
    "tanh sigmoid bce": dict(activation="tanh", output_activation="sigmoid", loss="bce"),
    "identity identity": dict(activation="identity", output_activation="identity"),
    "relu tanh": dict(activation="relu", output_activation="tanh"),
}


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("name", NETWORKS)
def test_network_float64_and_float32(tmp_path, name, n):
    net = vecnet.Network([4, 7, 6, 3], seed=2, **NETWORKS[name])
    X = rows(n)
    path = str(tmp_path / "net.onnx")
    proto = export_onnx(net, path)
    assert isinstance(proto, onnx.ModelProto) and os.path.exists(path)
    np.testing.assert_allclose(run(path, X)["Y"], net.predict(X), rtol=0, atol=1e-12)
    out32 = run(export_onnx(net, dtype="float32"), X.astype(np.float32))["Y"]
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, net.predict(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("y_kind", ["binary", "binary strings", "multiclass", "strings", "float labels",
                                    "uint64 past int64"])
def test_classifier_label_and_probabilities(y_kind, n):
    est = fitted(vecnet.MLPClassifier, y_kind)
    X = rows(n, seed=3) * 2
    out = run(export_onnx(est), X)
    assert out["label"].tolist() == est.predict(X).tolist()
    np.testing.assert_allclose(out["probabilities"], est.predict_proba(X), rtol=0, atol=1e-12)
    out32 = run(export_onnx(est, dtype=np.float32), X.astype(np.float32))
    proba = est.predict_proba(X)
    np.testing.assert_allclose(out32["probabilities"], proba, rtol=0, atol=1e-5)
    top = np.sort(proba, axis=1)
    clear = top[:, -1] - top[:, -2] > 1e-4      # labels agree wherever float32 cannot tip the choice
    assert out32["label"][clear].tolist() == est.predict(X)[clear].tolist()


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("y_kind", ["one", "three"])
def test_regressor_predictions_have_predict_s_shape(y_kind, n):
    est = fitted(vecnet.MLPRegressor, y_kind)
    X = rows(n, seed=4)
    out = run(export_onnx(est), X)["predictions"]
    assert out.shape == est.predict(X).shape
    np.testing.assert_allclose(out, est.predict(X), rtol=0, atol=1e-12)
    out32 = run(export_onnx(est, dtype="float32"), X.astype(np.float32))["predictions"]
    np.testing.assert_allclose(out32, est.predict(X), rtol=1e-5, atol=1e-5)


def test_a_float32_model_exports_float32_by_default():
    est = fitted(vecnet.MLPClassifier, "multiclass", dtype="float32")
    proto = export_onnx(est)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    X = rows(50, seed=5).astype(np.float32)
    np.testing.assert_allclose(run(proto, X)["probabilities"], est.predict_proba(X), rtol=0, atol=1e-5)


def test_graph_is_checked_with_a_symbolic_batch_and_plain_operators(tmp_path):
    est = fitted(vecnet.MLPClassifier, "strings")
    path = tmp_path / "model.onnx"
    vecnet.export_onnx(est, path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    ops = {node.op_type for node in proto.graph.node}
    assert {"MatMul", "Add", "Tanh", "Softmax", "ArgMax", "Gather"} <= ops
    assert proto.opset_import[0].version == 17 and proto.producer_name == "vecnet"


def test_writing_is_atomic_and_replaces(tmp_path):
    net = vecnet.Network([2, 2, 1], seed=0)
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    export_onnx(net, path)
    assert onnx.load(str(path)).graph.input[0].name == "X"
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_onnx(net, tmp_path / "missing" / "m.onnx")
    (tmp_path / "adir.onnx").mkdir()
    with pytest.raises(IsADirectoryError, match=r"adir\.onnx: it is a directory"):   # not the temporary's name
        export_onnx(net, tmp_path / "adir.onnx")


def test_bad_arguments():
    net = vecnet.Network([2, 2, 1], seed=0)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        export_onnx(net, dtype="int32")
    with pytest.raises(vecnet.NotFittedError):
        export_onnx(vecnet.MLPClassifier())
    with pytest.raises(TypeError, match="takes a vecnet Network"):
        export_onnx("model.npz")


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "vecnet\[onnx\]"'):
        export_onnx(vecnet.Network([2, 2, 1]))
