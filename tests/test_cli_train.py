"""``vecnet train`` and ``vecnet predict`` end to end, through ``vecnet.cli.main``."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import vecnet
from vecnet.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def blobs_table(n=120, seed=0):
    """Columns a, b, c (features) and label (3 classes from the features)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    label = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, label


def write_csv(path, table, header=None):
    lines = [",".join(header)] if header else []
    lines += [",".join(repr(float(v)) for v in row) for row in table]
    path.write_text("\n".join(lines) + "\n")


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def iris_like(tmp_path):
    X, label = blobs_table()
    csv = tmp_path / "train.csv"
    write_csv(csv, np.column_stack([X[:, :1], label, X[:, 1:]]), ["a", "label", "b", "c"])
    return tmp_path, X, label, csv


def test_train_on_a_csv_with_a_named_target_then_predict(iris_like, capsys):
    tmp_path, X, label, csv = iris_like
    model = tmp_path / "m.npz"
    code, out, err = run(["train", csv, "--target", "label", "--hidden", "16", "--epochs", "300",
                          "--lr", "0.01", "-o", model], capsys)
    assert code == 0, err
    assert "MLPClassifier [3, 16, 3] on 120 samples x 3 features (3 classes; target column 'label')" in out
    clf = vecnet.load(model)
    assert clf.hidden_layer_sizes == (16,) and clf.learning_rate_init == 0.01 and clf.max_iter == 300
    assert vecnet.io.read_header(model)["metadata"]["features"] == ["a", "b", "c"]
    assert clf.score(X, label) > 0.9
    # Prediction file: a header, columns in another order, the target absent.
    new = tmp_path / "new.csv"
    write_csv(new, X[:10, [2, 0, 1]], ["c", "a", "b"])
    code, out, err = run(["predict", model, new], capsys)
    assert code == 0, err
    assert out.split() == [str(v) for v in clf.predict(X[:10])]
    # The training file itself (target column included) gives the same labels.
    code, out, _ = run(["predict", model, csv], capsys)
    assert out.split() == [str(v) for v in clf.predict(X)]


@pytest.fixture
def ab_model(tmp_path, capsys):
    """A regressor trained on a CSV with header ``a,b,y``; its features (a, b) and its path."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2)) * [1.0, 3.0]
    write_csv(tmp_path / "ab.csv", np.column_stack([X, X[:, 0] - 2 * X[:, 1]]), ["a", "b", "y"])
    model = tmp_path / "ab.npz"
    code, _, err = run(["train", tmp_path / "ab.csv", "--task", "regression", "--hidden", "4", "--epochs", "3",
                        "--engine", "numpy", "-o", model], capsys)
    assert code == 0, err
    return X, model


def _numbers(out):
    return np.array([float(v) for v in out.split()])


@pytest.mark.parametrize("target", [None, "y", "0"])
def test_predict_maps_columns_by_name_with_or_without_target(ab_model, tmp_path, capsys, target):
    X, model = ab_model
    expected = vecnet.load(model).predict(X)   # the model on its own columns (a, b)
    assert not np.allclose(expected, vecnet.load(model).predict(X[:, ::-1]))   # the order matters
    write_csv(tmp_path / "yba.csv", np.column_stack([X[:, 0] - 2 * X[:, 1], X[:, 1], X[:, 0]]), ["y", "b", "a"])
    code, out, err = run(["predict", model, tmp_path / "yba.csv"] + (["--target", target] if target else []),
                         capsys)
    assert code == 0, err
    np.testing.assert_array_equal(_numbers(out), expected)


def test_predict_refuses_a_header_without_a_feature_name(ab_model, tmp_path, capsys):
    X, model = ab_model
    write_csv(tmp_path / "ybc.csv", np.column_stack([X[:, 0], X[:, 1], X[:, 0]]), ["y", "b", "c"])
    code, out, err = run(["predict", model, tmp_path / "ybc.csv", "--target", "y"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (f"vecnet predict: error: {tmp_path / 'ybc.csv'}: the header has no column named 'a', "
                           f"one of the model's features ['a', 'b']; the file's columns are ['b', 'c'] "
                           f"(after --target dropped 'y')")
    write_csv(tmp_path / "yba.csv", np.column_stack([X[:, 0], X[:, 1], X[:, 0]]), ["y", "b", "a"])
    code, _, err = run(["predict", model, tmp_path / "yba.csv", "--target", "a"], capsys)   # a feature
    assert code == 2 and err.strip().endswith("the header has no column named 'a', one of the model's features "
                                              "['a', 'b']; the file's columns are ['y', 'b'] (after --target "
                                              "dropped 'a')")


def test_predict_proba_writes_a_header_of_classes_and_rows_summing_to_one(iris_like, capsys):
    tmp_path, X, _, csv = iris_like
    model, probs = tmp_path / "m.npz", tmp_path / "p.csv"
    assert run(["train", csv, "--target", "1", "--epochs", "5", "-o", model], capsys)[0] == 0
    code, out, err = run(["predict", model, csv, "--proba", "--out", probs], capsys)
    assert code == 0 and out == "" and "wrote 120 predictions" in err
    lines = probs.read_text().splitlines()
    assert lines[0] == "0,1,2"
    table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(table, vecnet.load(model).predict_proba(X), rtol=0, atol=0)


def test_regression_on_an_npy_file_with_the_target_first(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = X @ [0.5, -1.0, 2.0, 0.1] + 0.25
    np.save(tmp_path / "d.npy", np.column_stack([y, X]))
    model = tmp_path / "r.npz"
    code, out, err = run(["train", tmp_path / "d.npy", "--target", "0", "--optimizer", "sgd",
                          "--lr", "0.01", "--batch-size", "20", "--seed", "3", "-o", model], capsys)
    assert code == 0, err
    assert "MLPRegressor [4, 100, 1]" in out and "target column 0" in out
    reg = vecnet.load(model)
    assert (reg.solver, reg.batch_size, reg.random_state) == ("sgd", 20, 3)
    assert reg.score(X, y) > 0.9
    np.save(tmp_path / "x.npy", X[:7])
    code, out, _ = run(["predict", model, tmp_path / "x.npy"], capsys)
    np.testing.assert_array_equal([float(v) for v in out.split()], reg.predict(X[:7]))


def test_task_auto_picks_classification_for_few_integers_and_regression_otherwise(tmp_path, capsys):
    X, label = blobs_table()
    write_csv(tmp_path / "c.csv", np.column_stack([X, label]))
    write_csv(tmp_path / "r.csv", np.column_stack([X, X[:, 0] * 1.5]))
    for name, kind in (("c", "MLPClassifier"), ("r", "MLPRegressor")):
        code, out, err = run(["train", tmp_path / f"{name}.csv", "--epochs", "2", "-o", tmp_path / "m.npz"],
                             capsys)
        assert code == 0, err
        assert out.startswith(kind) and "warning: Stochastic Optimizer" in err
        assert type(vecnet.load(tmp_path / "m.npz")).__name__ == kind


def test_early_stopping_reports_the_best_validation_score(iris_like, capsys):
    tmp_path, _, _, csv = iris_like
    code, out, _ = run(["train", csv, "--target", "label", "--early-stopping", "--validation-fraction",
                        "0.25", "-o", tmp_path / "m.npz"], capsys)
    clf = vecnet.load(tmp_path / "m.npz")
    assert code == 0 and clf.early_stopping and clf.validation_fraction == 0.25
    assert f"best validation accuracy {clf.best_validation_score_:.4f}" in out


@pytest.mark.parametrize("argv, message", [
    (["train", "{tmp}/none.csv", "-o", "{tmp}/m.npz"], "none.csv: no such file"),
    (["train", "{csv}", "--target", "species", "-o", "{tmp}/m.npz"], "no column named 'species'"),
    (["train", "{csv}", "--target", "9", "-o", "{tmp}/m.npz"], "column index 9 is out of range"),
    (["train", "{tmp}/bad.csv", "-o", "{tmp}/m.npz"], "could not convert string 'x'"),
    (["train", "{tmp}/nan.csv", "-o", "{tmp}/m.npz"], "row 2 contains NaN"),
    (["train", "{tmp}/empty.csv", "-o", "{tmp}/m.npz"], "the file is empty"),
    (["train", "{csv}", "--target", "a", "--task", "classification", "-o", "{tmp}/m.npz"],
     "needs integer class labels"),
    (["predict", "{csv}", "{csv}"], "is not a vecnet model file"),
    (["predict", "{tmp}/m0.npz", "{tmp}/two.csv"], "has 2 columns, but the model expects 3 features"),
])
def test_bad_input_exits_2_with_a_message_and_no_traceback(iris_like, capsys, argv, message):
    tmp_path, _, _, csv = iris_like
    (tmp_path / "bad.csv").write_text("1,2,3\n4,x,6\n")
    (tmp_path / "nan.csv").write_text("1,2,3\n4,nan,6\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "two.csv").write_text("1,2\n3,4\n")
    main(["train", str(csv), "--target", "label", "--epochs", "1", "-o", str(tmp_path / "m0.npz")])
    capsys.readouterr()
    code, out, err = run([a.format(tmp=tmp_path, csv=csv) for a in argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"vecnet {argv[0]}: error: ") and message in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["train", "x.csv"], "the following arguments are required: -o/--out"),
    (["train", "x.csv", "-o", "m", "--hidden", "8,x"], "expected comma-separated integers"),
    (["train", "x.csv", "-o", "m", "--batch-size", "0"], "expected 'auto' or an integer >= 1"),
    (["train", "x.csv", "-o", "m", "--task", "cluster"], "invalid choice: 'cluster'"),
])
def test_bad_options_exit_2_through_argparse(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command, words", [
    ("train", ["--target NAME_OR_INDEX", "--task {auto,classification,regression}", "--hidden SIZES",
               "--epochs", "--batch-size N", "--lr", "--optimizer {adam,sgd}", "--seed", "--engine",
               "-o MODEL, --out MODEL", "examples:"]),
    ("predict", ["model", "data", "--out FILE", "--proba", "examples:"]),
])
def test_help_lists_every_option(capsys, command, words):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    for word in words:
        assert word in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_console_script_reports_errors_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "vecnet", "train", str(tmp_path / "no.csv"),
                             "-o", str(tmp_path / "m.npz")], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert "vecnet train: error:" in result.stderr and "Traceback" not in result.stderr


def test_read_table_takes_quoted_numbers_and_says_what_is_wrong_in_its_own_words(tmp_path):
    from vecnet.cli.train import read_table

    (tmp_path / "q.csv").write_text('a,b,y\n"0.5","1.5","1"\n0.25,-2e-3,0\n')
    data, names = read_table(str(tmp_path / "q.csv"))
    assert names == ["a", "b", "y"] and data.tolist() == [[0.5, 1.5, 1.0], [0.25, -0.002, 0.0]]
    (tmp_path / "h.csv").write_text("a,b,y\n")
    with pytest.raises(ValueError, match=r"h\.csv: the file has a header but no rows of data$"):
        read_table(str(tmp_path / "h.csv"))
    (tmp_path / "w.csv").write_text("a,b,y\n1,2,1\n   \n3,4,0\n")
    with pytest.raises(ValueError, match=r"w\.csv: not a numeric table \(the number of columns changed from 3 to 1 "
                                         r"at row \d+\)$"):
        read_table(str(tmp_path / "w.csv"))


def test_header_option_takes_names_that_look_like_numbers(tmp_path, capsys):
    X, label = blobs_table(60)
    csv = tmp_path / "years.csv"
    write_csv(csv, np.column_stack([X, label]), ["a", "2020", "2021", "label"])
    code, _, err = run(["train", csv, "--target", "label", "--epochs", "2", "-o", tmp_path / "m.npz"], capsys)
    assert code == 2 and "a header line must name every column (pass --header when some names are numbers)" in err
    code, out, err = run(["train", csv, "--header", "--target", "label", "--hidden", "4", "--epochs", "2",
                          "--engine", "numpy", "-o", tmp_path / "m.npz"], capsys)
    assert code == 0, err
    assert "on 60 samples x 3 features" in out   # no row taken as the header's, none lost
    assert vecnet.io.read_header(tmp_path / "m.npz")["metadata"]["features"] == ["a", "2020", "2021"]
    new = tmp_path / "new.csv"   # the columns by name, in another order
    write_csv(new, X[:8, [2, 0, 1]], ["2021", "a", "2020"])
    code, out, err = run(["predict", tmp_path / "m.npz", new, "--header"], capsys)
    assert code == 0, err
    assert out.split() == [str(v) for v in vecnet.load(tmp_path / "m.npz").predict(X[:8])]
    # --no-header: a first line of numbers is data either way, and a line of names is then an error
    code, out, err = run(["predict", tmp_path / "m.npz", new, "--no-header"], capsys)
    assert code == 2 and "not a numeric table" in err and "--header" not in err


def _fitted_on_named_columns(labels):
    """A classifier as fitting on a DataFrame with columns a, b, c leaves it (``feature_names_in_``)."""
    X, label = blobs_table()
    clf = vecnet.MLPClassifier((5,), max_iter=30, random_state=0, engine="numpy")
    with pytest.warns(vecnet.ConvergenceWarning):
        clf.fit(X, np.asarray(labels)[label])
    clf.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    return X, clf


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")  # the test's own predict
def test_predict_takes_an_estimators_feature_names_in_by_name(tmp_path, capsys):
    # a model fitted on a DataFrame (not by vecnet train) carries its column names as
    # feature_names_in_: predict read the columns by position, giving other numbers and no error
    X, clf = _fitted_on_named_columns([0, 1, 2])
    clf.save(tmp_path / "m.npz")
    new = tmp_path / "new.csv"
    write_csv(new, X[:8, [2, 0, 1]], ["c", "a", "b"])
    code, out, err = run(["predict", tmp_path / "m.npz", new, "--proba"], capsys)
    assert code == 0 and err == "", err
    got = np.array([[float(v) for v in line.split(",")] for line in out.split()[1:]])
    np.testing.assert_array_equal(got, clf.predict_proba(X[:8]))
    write_csv(new, X[:8, :2], ["a", "b"])   # a column missing: refused, not read by position
    code, out, err = run(["predict", tmp_path / "m.npz", new], capsys)
    assert code == 2 and "no column named 'c'" in err


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")  # the test's own predict
def test_predict_quotes_labels_that_hold_the_delimiter(tmp_path, capsys):
    import csv
    import io

    X, clf = _fitted_on_named_columns(["Austin, TX", "Paris, FR", 'say "hi"'])
    clf.save(tmp_path / "m.npz")
    new = tmp_path / "new.npy"
    np.save(new, X[:6])
    code, out, err = run(["predict", tmp_path / "m.npz", new, "--proba"], capsys)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["Austin, TX", "Paris, FR", 'say "hi"']
    np.testing.assert_array_equal(np.array(rows[1:], dtype=float), clf.predict_proba(X[:6]))
    code, out, err = run(["predict", tmp_path / "m.npz", new], capsys)
    assert [row[0] for row in csv.reader(io.StringIO(out))] == list(clf.predict(X[:6]))


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")  # the test's own predict
def test_predict_ignores_metadata_that_is_not_a_dict(tmp_path, capsys):
    import json

    X, clf = _fitted_on_named_columns([0, 1, 2])
    clf.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:   # edited by hand: a list
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["header"].tobytes())
    header["metadata"] = [1, 2]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "m.npz", **arrays)
    new = tmp_path / "new.npy"
    np.save(new, X[:4])
    code, out, err = run(["predict", tmp_path / "m.npz", new], capsys)
    assert code == 0, err
    assert out.split() == [str(v) for v in clf.predict(X[:4])]


def test_train_reports_the_jit_compile_apart_from_the_training_time(iris_like):
    # a new process: the kernel is compiled, or loaded from the disk cache, in the first fit
    tmp_path, X, label, csv = iris_like
    lines = {}
    for engine in ("numba", "numpy"):
        result = subprocess.run([sys.executable, "-m", "vecnet", "train", str(csv), "--target", "label",
                                 "--hidden", "3", "--epochs", "5", "--engine", engine, "-o", str(tmp_path / "m.npz")],
                                capture_output=True, text=True, cwd=ROOT, check=True)
        lines[engine] = next(line for line in result.stdout.splitlines() if " epochs in " in line)
    assert re.fullmatch(r"5 epochs in \d+\.\d\d s \(engine numba; JIT compile \d+\.\d\d s apart\); final loss .*",
                        lines["numba"]), lines["numba"]
    assert re.fullmatch(r"5 epochs in \d+\.\d\d s \(engine numpy\); final loss .*", lines["numpy"]), lines["numpy"]


def test_read_table_names_an_empty_array_and_a_binary_file(tmp_path):
    from vecnet.cli.train import read_table

    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"empty\.npy: the array has no rows \(0 x 3\)"):
        read_table(str(tmp_path / "empty.npy"))
    np.save(tmp_path / "data.npy", np.ones((4, 3)))
    (tmp_path / "data.npy").rename(tmp_path / "data")       # a .npy without its extension
    np.savez(tmp_path / "arrays.npz", a=np.ones(3))
    for name in ("data", "arrays.npz"):
        with pytest.raises(ValueError, match=rf"{re.escape(name)}: a binary file, not a CSV table"):
            read_table(str(tmp_path / name))
