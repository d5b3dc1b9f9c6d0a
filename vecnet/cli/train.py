"""``vecnet train`` and ``vecnet predict``: estimators on CSV and ``.npy`` files.

``train`` reads a table, takes one column as the target, fits an
:class:`~vecnet.MLPClassifier` or :class:`~vecnet.MLPRegressor` and saves it
with :func:`vecnet.save`, recording the feature and target column names in the
model's metadata. ``predict`` loads such a model, picks the same feature columns
from a table (by name when the file has a header) and writes one prediction per
row. Every problem with the input is a ``ValueError`` with a message; the
command line turns it into ``vecnet COMMAND: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
import warnings

import numpy as np

from ..data.options import check_output_path
from ..engines import engine_names
from .table import column_index, read_table

TRAIN_EPILOG = """\
examples:
  vecnet train iris.csv --target species_code -o iris.npz
  vecnet train houses.csv --task regression --hidden 64,32 --epochs 500 -o houses.npz
  vecnet train data.npy --target 0 --optimizer sgd --lr 0.01 --early-stopping -o model.npz

Every cell must be a number (class labels too: 0, 1, 2, ...). The target is the last
column unless --target names another (by header name, or by 0-based index; negative
indexes count from the end). With --task auto, a target of at
most 20 distinct integer values is a classification, anything else a regression.
Training stops at --epochs, or earlier once the loss has not improved by 1e-4 for 10
epochs (with --early-stopping: the accuracy or R^2 on the held-out part).
"""

PREDICT_EPILOG = """\
examples:
  vecnet predict iris.npz new_flowers.csv
  vecnet predict iris.npz new_flowers.csv --proba --out probabilities.csv

When the file has a header, the model's feature columns are taken by name (the target
column, if present, is ignored; so is the column --target names); a header without one
of them is an error. Without a header, the file must have exactly the model's features,
or one more column in the target's place at training, which is dropped.
"""

MAX_AUTO_CLASSES = 20


def choose_task(y):
    """``"classification"`` for at most 20 distinct integer values, else ``"regression"``."""
    values = np.unique(y)
    if np.all(values == np.round(values)) and values.size <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def _hidden(text):
    try:
        sizes = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,32, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


def _batch(text):
    if text == "auto":
        return "auto"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer >= 1, got {text!r}") from None


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _delimiter(text):
    if len(text) != 1 or text in "\r\n\"'":
        raise argparse.ArgumentTypeError(f"expected one character such as ',' ';' or a tab, got {text!r}")
    return text


def _report_warnings(command, caught):
    for w in caught:
        print(f"vecnet {command}: warning: {w.message}", file=sys.stderr)


MAX_EXACT_LABEL = 2**53
"""Largest class label magnitude: integers beyond it are not exact in float64, the table's type."""


def check_output(path):
    """``ValueError`` unless a model can be saved at ``path``: checked before training starts."""
    check_output_path(path, "-o", "model file", "model.npz")


def _same_file(a, b):
    """True when the paths ``a`` and ``b`` name one file (links and other spellings included)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_not_an_input(path, option, inputs):
    """``ValueError`` when ``path`` (given as ``option``) is one of ``inputs``, ``(what, path)`` pairs.

    Writing there would overwrite that input; checked before anything is read.
    """
    for what, other in inputs:
        if _same_file(path, other):
            raise ValueError(f"{option} {path}: is the {what} file {other}; writing there would overwrite "
                             f"it: name another file")


def train(args):
    """Run ``vecnet train``; returns the exit code."""
    from ..estimators import MLPClassifier, MLPRegressor
    from ..io import save
    from ..training import DivergenceWarning

    check_output(args.out)
    check_not_an_input(args.out, "-o", [("training data", args.data)])
    data, names = read_table(args.data, args.delimiter, args.header)
    if data.shape[1] < 2:
        raise ValueError(f"{args.data}: need at least two columns (features and a target), "
                         f"got {data.shape[1]}")
    t = column_index(args.target, names, data.shape[1], args.data)
    y = data[:, t]
    X = np.delete(data, t, axis=1)
    task = choose_task(y) if args.task == "auto" else args.task
    if task == "classification":
        if np.any(y != np.round(y)):
            raise ValueError(f"{args.data}: --task classification needs integer class labels in the "
                             "target column; use --task regression for continuous values")
        big = float(np.abs(y).max())
        if big > MAX_EXACT_LABEL:
            raise ValueError(f"{args.data}: class label {big:.17g} is too large: integer labels must "
                             f"be at most 2**53 = {MAX_EXACT_LABEL} in magnitude (exact in float64)")
        y = y.astype(np.int64)
        cls = MLPClassifier
    else:
        cls = MLPRegressor
    est = cls(hidden_layer_sizes=args.hidden, activation=args.activation, solver=args.optimizer,
              alpha=args.alpha, batch_size=args.batch_size, learning_rate_init=args.lr,
              max_iter=args.epochs, random_state=args.seed, early_stopping=args.early_stopping,
              validation_fraction=args.validation_fraction, engine=args.engine, verbose=args.verbose)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - t0
    _report_warnings("train", caught)
    if any(issubclass(w.category, DivergenceWarning) for w in caught):
        raise ValueError(f"training diverged with --lr {args.lr:g}: lower --lr (or scale the data); "
                         f"nothing was saved")
    try:   # before saving: a model whose outputs overflow on its own training data is not saved
        training_score = est.score(X, y)
    except ValueError as exc:
        raise ValueError(f"the trained model cannot predict its own training data with --lr {args.lr:g} "
                         f"({exc}); lower --lr; nothing was saved") from None
    feature_names = None if names is None else [n for i, n in enumerate(names) if i != t]
    metadata = {"task": task, "target": names[t] if names else t, "target_index": t,
                "features": feature_names, "n_columns": data.shape[1],
                "source": os.path.basename(args.data)}
    save(est, args.out, metadata=metadata)
    what = (f"{est.classes_.size} classes" if task == "classification" else
            f"{est.n_outputs_} output")
    metric = "accuracy" if task == "classification" else "R^2"
    print(f"{cls.__name__} {list(est.net_.sizes)} on {X.shape[0]} samples x {X.shape[1]} features "
          f"({what}; target column {metadata['target']!r})")
    compiling = getattr(est, "_compile_time", 0.0)   # the JIT compile (or cache load), reported apart
    apart = f"; JIT compile {compiling:.2f} s apart" if compiling > 0 else ""
    print(f"{est.n_iter_} epochs in {elapsed - compiling:.2f} s (engine {est.engine_}{apart}); final loss "
          f"{est.loss_curve_[-1]:.6g}; training {metric} {training_score:.4f}")
    if args.early_stopping:
        print(f"best validation {metric} {est.best_validation_score_:.4f} (weights of that epoch kept)")
    print(f"saved to {args.out}")
    return 0


def _feature_columns(args, data, names, n_features, metadata, features):
    """The columns of ``data`` the model was trained on, in training order: by name when both have names.

    ``features``: the model's feature names (``vecnet train``'s metadata, else the
    estimator's ``feature_names_in_``), or None. ``--target`` drops its column (and
    its name) first. A header that lacks one of the model's feature names is refused
    rather than read by position.
    """
    dropped = ""
    if args.target is not None:
        t = column_index(args.target, names, data.shape[1], args.data)
        data = np.delete(data, t, axis=1)
        if names is not None:
            dropped = f" (after --target dropped {names[t]!r})"
            names = names[:t] + names[t + 1:]
    if names is not None and features:
        missing = [f for f in features if f not in names]
        if missing:
            raise ValueError(f"{args.data}: the header has no column named {missing[0]!r}, one of the model's "
                             f"features {features}; the file's columns are {names}{dropped}")
        return data[:, [names.index(f) for f in features]]
    if data.shape[1] == n_features:
        return data
    t = metadata.get("target_index")
    if data.shape[1] == n_features + 1 and isinstance(t, int) and 0 <= t < data.shape[1]:
        return np.delete(data, t, axis=1)
    hint = f" named {features}" if features else ""
    raise ValueError(f"{args.data} has {data.shape[1]} columns, but the model expects {n_features} "
                     f"features{hint}; drop the extra columns or name the target with --target")


def _format(value):
    return str(value.item() if hasattr(value, "item") else value)


def predict(args):
    """Run ``vecnet predict``; returns the exit code."""
    from ..io import load, read_header
    from ..network import Network

    if args.out is not None:
        check_not_an_input(args.out, "--out", [("model", args.model), ("data", args.data)])
    model = load(args.model)
    metadata = read_header(args.model).get("metadata")
    if not isinstance(metadata, dict):   # none, or not vecnet train's (a dict): no column names from it
        metadata = {}
    data, names = read_table(args.data, args.delimiter, args.header)
    n_features = model.sizes[0] if isinstance(model, Network) else model.n_features_in_
    features = metadata.get("features")
    if not features and getattr(model, "feature_names_in_", None) is not None:
        features = [str(f) for f in model.feature_names_in_]   # fitted on named columns (a DataFrame)
    X = _feature_columns(args, data, names, n_features, metadata, features)
    with warnings.catch_warnings():   # the columns are matched by name above, or by position by design
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        rows, header = _predictions(args, model, X)
    rows = np.asarray(rows)
    rows = rows.reshape(rows.shape[0], -1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")   # quotes a label holding the delimiter
    if header:
        writer.writerow(header)
    writer.writerows([_format(v) for v in row] for row in rows)
    text = out.getvalue()
    if args.out is None:
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {rows.shape[0]} predictions to {args.out}", file=sys.stderr)
    return 0


def _predictions(args, model, X):
    """``(rows, header)``: the model's predictions for ``X`` (probabilities with ``--proba``, with
    the classes as header)."""
    from ..network import Network

    if isinstance(model, Network):
        if args.proba:
            raise ValueError("--proba needs a saved classifier; this model is a plain Network")
        rows, header = model.predict(X), None
    elif args.proba:
        if not hasattr(model, "predict_proba"):
            raise ValueError("--proba needs a classifier; this model is a regressor")
        rows, header = model.predict_proba(X), [_format(c) for c in model.classes_]
    else:
        rows, header = model.predict(X), None
    return rows, header


def add_parsers(sub):
    """Add ``train`` and ``predict`` to the ``vecnet`` subcommand parsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "train", help="train a classifier or regressor on a CSV or .npy file and save it",
        formatter_class=fmt, epilog=TRAIN_EPILOG,
        description="Train a vecnet MLPClassifier or MLPRegressor (scikit-learn's settings and\n"
                    "defaults) on a table of numbers and save the model for `vecnet predict`.")
    p.add_argument("data", help="CSV file (numbers, header line optional) or .npy file (2-D array)")
    p.add_argument("-o", "--out", required=True, metavar="MODEL", help="file to save the model to (.npz)")
    p.add_argument("--target", default="-1", metavar="NAME_OR_INDEX",
                   help="target column: header name or 0-based index (default: the last column)")
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="what to learn (default auto: see below)")
    p.add_argument("--hidden", type=_hidden, default=(100,), metavar="SIZES",
                   help="hidden layer sizes, comma-separated (default 100)")
    p.add_argument("--activation", choices=["relu", "tanh", "logistic", "identity"], default="relu",
                   help="hidden activation (default relu)")
    p.add_argument("--epochs", type=_positive_int, default=200, help="maximum epochs (default 200)")
    p.add_argument("--batch-size", type=_batch, default="auto", metavar="N",
                   help="samples per update, or auto = min(200, n_samples) (default auto)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 0.001)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                   help="adam, or sgd with Nesterov momentum 0.9 (default adam)")
    p.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty (default 0.0001)")
    p.add_argument("--early-stopping", action="store_true",
                   help="hold out part of the data and stop when its score stops improving")
    p.add_argument("--validation-fraction", type=float, default=0.1, metavar="F",
                   help="share held out by --early-stopping (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffling and split (default 0)")
    p.add_argument("--engine", choices=engine_names(general=True), default="auto",
                   help="training engine (default auto)")
    p.add_argument("--delimiter", type=_delimiter, default=",", help="CSV field separator (default ',')")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="a CSV file's first line names the columns (--header) or is data (--no-header); "
                        "default: names when none of them is a number")
    p.add_argument("-v", "--verbose", action="store_true", help="print the loss of every epoch")
    p.set_defaults(func=train)

    q = sub.add_parser(
        "predict", help="predict with a saved model on a CSV or .npy file",
        formatter_class=fmt, epilog=PREDICT_EPILOG,
        description="Load a model saved by `vecnet train` (or vecnet.save) and write one prediction\n"
                    "per row of the data, as CSV: class labels, class probabilities or numbers.")
    q.add_argument("model", help="model file written by `vecnet train` or vecnet.save")
    q.add_argument("data", help="CSV file (numbers, header line optional) or .npy file (2-D array)")
    q.add_argument("--out", metavar="FILE", help="write the predictions to FILE (default: standard output)")
    q.add_argument("--proba", action="store_true",
                   help="write class probabilities, one column per class, with a header of class labels")
    q.add_argument("--target", metavar="NAME_OR_INDEX", default=None,
                   help="a column to drop before predicting (e.g. the target, if present)")
    q.add_argument("--delimiter", type=_delimiter, default=",", help="CSV field separator (default ',')")
    q.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="a CSV file's first line names the columns (--header) or is data (--no-header); "
                        "default: names when none of them is a number")
    q.set_defaults(func=predict)
