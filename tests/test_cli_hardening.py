"""Issue 10, class 9: the command line ends every bad input in one clear line and exit code 2.

Where the input allows, before training starts: the tests replace the
estimators' ``fit`` with one that raises :class:`TrainingStarted`, so a check
that comes too late shows up as that exception instead of exit code 2.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecnet.cli import main
from vecnet.estimators import MLPClassifier, MLPRegressor


class TrainingStarted(Exception):
    """Raised by the patched ``fit``: the command got as far as training."""


@pytest.fixture
def no_training(monkeypatch):
    def fit(self, X, y, **kw):
        raise TrainingStarted(type(self).__name__)
    monkeypatch.setattr(MLPClassifier, "fit", fit)
    monkeypatch.setattr(MLPRegressor, "fit", fit)


def _exit_code(argv, capsys):
    """(exit code, stdout, stderr) of ``vecnet argv``, through argparse's SystemExit or main's return."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_clear_line(err, command, message):
    lines = [line for line in err.splitlines() if line.startswith(f"vecnet {command}: error:")]
    assert len(lines) == 1, err
    assert message in lines[0], err
    assert "Traceback" not in err


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    return path


@pytest.mark.parametrize("argv, message", [
    (["train", "{tmp}/dup.csv", "--target", "a", "-o", "{tmp}/m.npz"], "names column 'a' twice"),
    (["train", "{tmp}/dup.csv", "-o", "{tmp}/m.npz"], "names column 'a' twice"),
    (["train", "{tmp}/big.csv", "-o", "{tmp}/m.npz"], "class label"),
    (["train", "{tmp}/big.csv", "--task", "classification", "-o", "{tmp}/m.npz"], "class label"),
    (["train", "{table}", "-o", "{tmp}"], "is a folder"),
    (["train", "{table}", "-o", "{tmp}/missing/m.npz"], "does not exist"),
    (["train", "{table}", "--delimiter", "", "-o", "{tmp}/m.npz"], "--delimiter: expected one character"),
    (["train", "{table}", "--delimiter", ",,", "-o", "{tmp}/m.npz"], "--delimiter: expected one character"),
    (["predict", "{tmp}/m.npz", "{table}", "--delimiter", ""], "--delimiter: expected one character"),
    (["demo", "--every", "0"], "--every: expected an integer >= 1"),
    (["demo", "--epochs", "-3"], "--epochs: expected an integer >= 1"),
    (["demo", "--lr", "nan"], "--lr: expected a finite number > 0"),
    (["demo", "--lr", "0"], "--lr: expected a finite number > 0"),
    (["demo", "--seed", "-1"], "--seed: expected an integer in [0, 2**32)"),
])
def test_bad_input_is_one_line_and_exit_2_before_training(tmp_path, table, capsys, no_training, argv,
                                                         message):
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,0\n3,4,1\n")
    (tmp_path / "big.csv").write_text("x,y\n1,0\n2,1e20\n3,0\n")   # 2 distinct integer labels
    code, out, err = _exit_code([a.format(tmp=tmp_path, table=table) for a in argv], capsys)
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    _one_clear_line(err, argv[0], message)
    assert not (tmp_path / "m.npz").exists()


def test_demo_with_a_learning_rate_that_diverges_is_one_line_and_exit_2(capsys):
    code, out, err = _exit_code(["demo", "--lr", "1e308", "--epochs", "20"], capsys)
    assert code == 2 and "Traceback" not in err
    _one_clear_line(err, "demo", "training diverged with lr=1e+308")


def test_train_with_a_learning_rate_that_diverges_saves_nothing(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    table = np.column_stack([X, (X[:, 0] > 0).astype(int)])
    (tmp_path / "ok.csv").write_text("a,b,c\n" + "".join(f"{float(a)!r},{float(b)!r},{int(c)}\n" for a, b, c in table))
    model = tmp_path / "m.npz"
    code, out, err = _exit_code(["train", tmp_path / "ok.csv", "--lr", "1e300", "--optimizer", "sgd",
                                 "--engine", "numpy", "-o", model], capsys)
    assert code == 2 and "Traceback" not in err
    _one_clear_line(err, "train", "training diverged with --lr 1e+300: lower --lr (or scale the data); "
                                  "nothing was saved")
    assert not model.exists()   # was: saved, then the training score overflowed ("scale X")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=st.one_of(st.integers(-2**70, 2**70), st.sampled_from([2**53, 2**53 + 2, -2**53, 2**63,
                                                                    2**64, -2**63 - 1024])))
def test_integer_labels_train_or_are_refused_by_size(tmp_path, capsys, no_training, label):
    path = tmp_path / "labels.csv"
    path.write_text(f"x,y\n1,0\n2,{label}\n3,0\n")
    try:
        code, _, err = _exit_code(["train", path, "--task", "classification", "-o", tmp_path / "m.npz"],
                                  capsys)
    except TrainingStarted:
        assert abs(float(label)) <= 2**53   # labels exact in float64 train
        return
    assert code == 2
    assert abs(float(label)) > 2**53
    _one_clear_line(err, "train", "class label")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=5))
def test_header_names_must_be_unique(tmp_path, capsys, no_training, names):
    path = tmp_path / "h.csv"
    rows = "\n".join(",".join(str((i + j) % 2) for j in range(len(names))) for i in range(4))
    path.write_text(",".join(names) + "\n" + rows + "\n")
    try:
        code, _, err = _exit_code(["train", path, "--target", names[0], "-o", tmp_path / "m.npz"], capsys)
    except TrainingStarted:
        assert len(set(names)) == len(names)
        return
    assert code == 2 and len(set(names)) < len(names)
    _one_clear_line(err, "train", "twice")


def test_predict_refuses_a_header_with_duplicate_names(tmp_path, capsys):
    X = np.arange(12.0).reshape(4, 3)
    (tmp_path / "t.csv").write_text("a,b,label\n" + "\n".join(f"{r[0]},{r[1]},{int(r[2]) % 2}" for r in X))
    code, _, err = _exit_code(["train", tmp_path / "t.csv", "--epochs", "1", "--engine", "numpy",
                               "-o", tmp_path / "m.npz"], capsys)
    assert code == 0, err
    (tmp_path / "d.csv").write_text("a,a,b\n1,2,3\n")
    code, _, err = _exit_code(["predict", tmp_path / "m.npz", tmp_path / "d.csv"], capsys)
    assert code == 2
    _one_clear_line(err, "predict", "names column 'a' twice")


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink", "hardlink"])
def test_train_refuses_to_write_the_model_over_its_data(tmp_path, table, capsys, no_training, monkeypatch,
                                                        spelling):
    before = table.read_bytes()
    monkeypatch.chdir(tmp_path)
    out = {"same": table, "relative": "sub/../t.csv", "symlink": tmp_path / "link.csv",
           "hardlink": tmp_path / "hard.csv"}[spelling]
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(table)
    (tmp_path / "hard.csv").hardlink_to(table)
    code, out_text, err = _exit_code(["train", table, "-o", out], capsys)
    assert code == 2 and out_text == ""
    _one_clear_line(err, "train", f"-o {out}: is the training data file {table}; writing there would "
                                  f"overwrite it: name another file")
    assert table.read_bytes() == before


def test_predict_and_convert_refuse_to_overwrite_their_inputs(tmp_path, table, capsys):
    model = tmp_path / "m.npz"
    assert _exit_code(["train", table, "--epochs", "1", "--engine", "numpy", "-o", model], capsys)[0] == 0
    saved, data = model.read_bytes(), table.read_bytes()
    for argv, command, message in [
            (["predict", model, table, "--out", table], "predict", f"--out {table}: is the data file {table}"),
            (["predict", model, table, "--out", model], "predict", f"--out {model}: is the model file {model}"),
            (["convert", model, model], "convert", f"destination {model}: is the source file {model}")]:
        code, out, err = _exit_code(argv, capsys)
        assert code == 2 and out == ""
        _one_clear_line(err, command, message)
    assert model.read_bytes() == saved and table.read_bytes() == data
