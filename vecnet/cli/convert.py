"""``vecnet convert``: a saved model into another format.

The source is a vecnet model file (``.npz``, from :func:`vecnet.save` or
``vecnet train``) or, only with ``--trust-pickle``, a model saved with joblib
or pickle: a scikit-learn ``MLPClassifier`` / ``MLPRegressor`` (or a vecnet
model). The destination's extension chooses the format: ``.onnx``
(:func:`vecnet.export_onnx`), ``.npz`` (:func:`vecnet.save`), or ``.pkl`` /
``.pickle`` / ``.joblib`` (a fitted scikit-learn MLP, :func:`vecnet.interop.to_sklearn`).
Every problem is a ``ValueError`` with a message, which the command line turns
into ``vecnet convert: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys

from .train import check_not_an_input

EPILOG = """\
examples:
  vecnet convert model.npz model.onnx
  vecnet convert model.npz model.onnx --dtype float32
  vecnet convert sklearn_mlp.joblib model.npz --trust-pickle
  vecnet convert model.npz sklearn_mlp.pkl

Loading a pickle (joblib files are pickles) runs code stored in the file: anyone who
wrote the file can make it do anything your account can. vecnet therefore reads one only
when you pass --trust-pickle, and you should pass it only for files you made or trust.
vecnet's own .npz files are read without pickle and never run code.
"""

PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib")


def _load_pickle(path):
    """The object in a joblib or pickle file (runs the file's code: callers ask for trust first)."""
    try:
        import joblib
    except ImportError:
        joblib = None
    try:
        if joblib is not None:
            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:   # unpickling fails in any way the file's content chooses
        raise ValueError(f"{path}: could not be read as a joblib or pickle file "
                         f"({type(exc).__name__}: {exc})") from None


def _from_sklearn(obj, warn):
    """A vecnet model from a scikit-learn MLP, replacing the settings vecnet does not have."""
    from ..interop import from_sklearn

    fixes = {}
    if obj.get_params().get("solver") not in ("sgd", "adam"):
        fixes["solver"] = "adam"
    if obj.get_params().get("learning_rate") not in ("constant", "invscaling"):
        fixes["learning_rate"] = "constant"
    for name, value in fixes.items():
        warn(f"{name}={obj.get_params()[name]!r} has no vecnet equivalent; the converted model trains "
             f"on with {name}={value!r}")
    return from_sklearn(obj, **fixes)


def read_model(path, trust_pickle, warn):
    """A vecnet model (``Network`` or fitted estimator) from a vecnet file or a trusted pickle."""
    from ..estimators import MLPClassifier, MLPRegressor
    from ..io import load
    from ..network import Network

    if _is_vecnet_file(path):
        return load(path)
    if not trust_pickle:
        raise ValueError(f"{path} is not a vecnet model (.npz); if it is a scikit-learn model saved with "
                         "joblib or pickle, pass --trust-pickle (loading a pickle runs code from the file: "
                         "only for files you trust)")
    obj = _load_pickle(path)
    if isinstance(obj, (Network, MLPClassifier, MLPRegressor)):
        return obj
    module = type(obj).__module__ or ""
    if module.startswith("sklearn.") and type(obj).__name__ in ("MLPClassifier", "MLPRegressor"):
        return _from_sklearn(obj, warn)
    raise ValueError(f"{path} holds a {module}.{type(obj).__name__}, not a scikit-learn MLPClassifier or "
                     "MLPRegressor or a vecnet model")


def _is_vecnet_file(path):
    """Whether ``path`` starts as a vecnet model file (a zip archive) does, rather than a pickle."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _metadata(path):
    """The metadata of the vecnet model file at ``path``; None for a pickle (or none stored)."""
    from ..io import read_header

    return read_header(path).get("metadata") if _is_vecnet_file(path) else None


def _network(model):
    from ..network import Network

    return model if isinstance(model, Network) else model.single_network("converting")


def write_model(model, path, dtype, metadata=None):
    """Write ``model`` to ``path`` in the format its extension names; a one-line description.

    ``metadata``: the source file's (:func:`vecnet.io.read_header`), kept in a vecnet file (``vecnet
    predict`` reads ``vecnet train``'s column names from it); the other formats have no place for it.
    """
    from ..interop import export_onnx, to_sklearn
    from ..interop._common import atomic_write
    from ..io import save

    ext = os.path.splitext(path)[1].lower()
    if dtype is not None and ext != ".onnx":
        raise ValueError("--dtype applies to .onnx output only")
    if ext == ".onnx":
        export_onnx(model, path, dtype=dtype)
        return f"ONNX, {dtype or _network(model).dtype.name}"
    if ext == ".npz":
        save(model, path, metadata=metadata if isinstance(metadata, dict) else None)
        return "vecnet model"
    if ext in PICKLE_EXTENSIONS:
        est = to_sklearn(model)
        atomic_write(path, pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))
        return f"scikit-learn {type(est).__name__}, pickled"
    raise ValueError(f"{path}: unknown output format {ext or '(no extension)'!r}; use .onnx, .npz or "
                     f"{', '.join(PICKLE_EXTENSIONS)}")


def convert(args):
    """Run ``vecnet convert``; returns the exit code."""
    def warn(message):
        print(f"vecnet convert: warning: {message}", file=sys.stderr)

    if not os.path.isfile(args.source):
        raise ValueError(f"{args.source}: no such file")
    check_not_an_input(args.destination, "destination", [("source", args.source)])
    try:
        model = read_model(args.source, args.trust_pickle, warn)
        what = write_model(model, args.destination, args.dtype, _metadata(args.source))
    except ImportError as exc:
        raise ValueError(str(exc)) from None
    sizes = list(_network(model).sizes)
    print(f"converted {args.source} ({type(model).__name__} {sizes}) to {args.destination} ({what})")
    return 0


def add_parser(sub):
    """Add ``convert`` to the ``vecnet`` subcommand parsers ``sub``."""
    p = sub.add_parser(
        "convert", help="convert a saved model: to ONNX, between vecnet and scikit-learn",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Convert a vecnet model (.npz) or, with --trust-pickle, a scikit-learn MLP saved with\n"
                    "joblib or pickle, into the format named by the destination's extension: .onnx,\n"
                    ".npz (vecnet) or .pkl/.pickle/.joblib (a fitted scikit-learn MLP).")
    p.add_argument("source", help="vecnet model (.npz), or a joblib/pickle file with --trust-pickle")
    p.add_argument("destination", help="output file: .onnx, .npz, .pkl, .pickle or .joblib")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow reading a joblib/pickle source; loading a pickle RUNS CODE from the file, "
                        "so pass this only for files you trust")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help="ONNX input, weights and outputs (default: the model's)")
    p.set_defaults(func=convert)
