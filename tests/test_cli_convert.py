"""``vecnet convert`` end to end, through ``vecnet.cli.main``."""

import pickle
import sys
import warnings

import numpy as np
import pytest

import vecnet
from vecnet.cli import main

X = np.random.default_rng(0).normal(size=(40, 3))
y = np.arange(40) % 3


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, err, fragment):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecnet convert: error: "), err
    assert fragment in lines[0], lines[0]


@pytest.fixture
def vecnet_model(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vecnet.ConvergenceWarning)
        est = vecnet.MLPClassifier((6,), max_iter=5, random_state=0, engine="numpy").fit(X, y)
    path = tmp_path / "model.npz"
    est.save(path)
    return est, path


@pytest.fixture
def sklearn_model(tmp_path):
    sk_nn = pytest.importorskip("sklearn.neural_network")
    joblib = pytest.importorskip("joblib")

    def make(**params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = sk_nn.MLPClassifier((5,), max_iter=10, random_state=0, **params).fit(X, y)
        path = tmp_path / "sk.joblib"
        joblib.dump(sk, path)
        return sk, path
    return make


def test_npz_to_onnx(vecnet_model, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    est, path = vecnet_model
    out_path = tmp_path / "model.onnx"
    code, out, err = run(["convert", path, out_path], capsys)
    assert code == 0, err
    assert out.strip() == f"converted {path} (MLPClassifier [3, 6, 3]) to {out_path} (ONNX, float64)"
    label, proba = ort.InferenceSession(str(out_path)).run(None, {"X": X})
    assert label.tolist() == est.predict(X).tolist()
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=0, atol=1e-12)
    code, out, err = run(["convert", path, tmp_path / "m32.onnx", "--dtype", "float32"], capsys)
    assert code == 0 and "(ONNX, float32)" in out, err


def test_a_pickle_is_refused_without_trust_pickle(sklearn_model, tmp_path, capsys):
    _, path = sklearn_model()
    code, _, err = run(["convert", path, tmp_path / "m.npz"], capsys)
    assert_one_error_line(code, err, "pass --trust-pickle (loading a pickle runs code from the file")
    assert not (tmp_path / "m.npz").exists()


def test_sklearn_pickle_to_npz_and_onnx_with_trust_pickle(sklearn_model, tmp_path, capsys):
    pytest.importorskip("onnx")
    sk, path = sklearn_model()
    code, out, err = run(["convert", path, tmp_path / "m.npz", "--trust-pickle"], capsys)
    assert code == 0, err
    est = vecnet.load(tmp_path / "m.npz")
    assert isinstance(est, vecnet.MLPClassifier)
    np.testing.assert_allclose(est.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-12)
    code, out, err = run(["convert", path, tmp_path / "m.onnx", "--trust-pickle"], capsys)
    assert code == 0 and "(MLPClassifier [3, 5, 3])" in out, err


def test_lbfgs_is_replaced_with_a_warning(sklearn_model, tmp_path, capsys):
    sk, path = sklearn_model(solver="lbfgs")
    code, out, err = run(["convert", path, tmp_path / "m.npz", "--trust-pickle"], capsys)
    assert code == 0
    assert err.strip() == ("vecnet convert: warning: solver='lbfgs' has no vecnet equivalent; the converted "
                           "model trains on with solver='adam'")
    assert vecnet.load(tmp_path / "m.npz").solver == "adam"


def test_npz_to_a_sklearn_pickle(vecnet_model, tmp_path, capsys):
    pytest.importorskip("sklearn")
    est, path = vecnet_model
    code, out, err = run(["convert", path, tmp_path / "sk.pkl"], capsys)
    assert code == 0 and "(scikit-learn MLPClassifier, pickled)" in out, err
    with open(tmp_path / "sk.pkl", "rb") as f:
        sk = pickle.load(f)
    np.testing.assert_allclose(sk.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize("make_source, dest, extra, fragment", [
    (lambda d: d / "nothing.npz", "m.onnx", [], "no such file"),
    (lambda d: d / "model.npz", "m.txt", [], "unknown output format '.txt'"),
    (lambda d: d / "model.npz", "m.npz", ["--dtype", "float32"], "--dtype applies to .onnx output only"),
])
def test_errors_end_in_one_line(vecnet_model, tmp_path, capsys, make_source, dest, extra, fragment):
    code, _, err = run(["convert", make_source(tmp_path), tmp_path / dest, *extra], capsys)
    assert_one_error_line(code, err, fragment)


def test_bad_pickles_are_errors(tmp_path, capsys):
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x80\x05not a pickle at all")
    code, _, err = run(["convert", garbage, tmp_path / "m.npz", "--trust-pickle"], capsys)
    assert_one_error_line(code, err, "could not be read as a joblib or pickle file")
    other = tmp_path / "dict.pkl"
    other.write_bytes(pickle.dumps({"a": 1}))
    code, _, err = run(["convert", other, tmp_path / "m.npz", "--trust-pickle"], capsys)
    assert_one_error_line(code, err, "holds a builtins.dict, not a scikit-learn MLPClassifier")


def test_missing_onnx_is_an_error_naming_the_extra(vecnet_model, tmp_path, capsys, monkeypatch):
    _, path = vecnet_model
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, _, err = run(["convert", path, tmp_path / "m.onnx"], capsys)
    assert_one_error_line(code, err, 'pip install "vecnet[onnx]"')


def test_help_says_that_a_pickle_runs_code(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    out = capsys.readouterr().out
    assert "--trust-pickle" in out and "Loading a pickle (joblib files are pickles) runs code" in out


def test_npz_to_npz_keeps_the_metadata(vecnet_model, tmp_path, capsys):
    # vecnet train's column names live there: a copy without them was read by position
    est, path = vecnet_model
    vecnet.save(est, path, metadata={"features": ["a", "b", "c"], "target_index": 3})
    code, out, err = run(["convert", path, tmp_path / "copy.npz"], capsys)
    assert code == 0, err
    assert vecnet.io.read_header(tmp_path / "copy.npz")["metadata"] == {"features": ["a", "b", "c"],
                                                                        "target_index": 3}
