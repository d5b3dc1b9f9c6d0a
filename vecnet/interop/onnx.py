"""ONNX export: a vecnet model as an ONNX graph of ``MatMul``, ``Add`` and activations.

The graph has one input ``X`` of shape ``(batch, n_features)``, ``batch`` a
symbolic dimension (any number of rows), in float32 or float64. Each layer is
``MatMul(A, W) -> Add(b) -> activation`` (``Sigmoid``, ``Tanh``, ``Relu``,
``Softmax(axis=1)``; nothing for identity), the weights stored as initializers.
Outputs:

- :class:`~vecnet.Network`: ``Y`` ``(batch, n_outputs)``, what ``predict`` gives;
- :class:`~vecnet.MLPRegressor`: ``predictions``, ``(batch,)`` for one output,
  else ``(batch, n_outputs)``, what ``predict`` gives;
- :class:`~vecnet.MLPClassifier`: ``label`` ``(batch,)`` holding values of
  ``classes_`` (int64, uint64 for labels past int64's range, float64, bool or
  string), what ``predict`` gives, and
  ``probabilities`` ``(batch, n_classes)``, what ``predict_proba`` gives. Two
  classes: ``probabilities = [1 - p, p]`` and ``label = classes_[p > 0.5]``;
  more: ``label = classes_[argmax]`` (the first maximum on ties, as numpy).

The graph does not check its input: NaN or inf rows give NaN or arbitrary
outputs (and a label), where ``predict`` refuses them.

Opset 17 (ONNX IR version 8), so onnxruntime 1.13 and later run it.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from vecnet.data.options import check_float_dtype
from vecnet.estimators import MLPClassifier, MLPRegressor

from ._common import atomic_write, network_of, require

OPSET = 17
"""The ONNX operator set the graphs use."""

ONNX_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax"}
"""vecnet activation -> ONNX operator (identity has none)."""


def _check_dtype(dtype, default):
    """``numpy.float32`` or ``numpy.float64`` from ``dtype`` (``None``: ``default``)."""
    if dtype is None:
        return np.dtype(default)
    return check_float_dtype(dtype, note=" (or None for the model's)")


def _classes_array(classes):
    """``classes_`` as an array ONNX can hold: int64 (uint64 past int64's range), float64, bool or str."""
    classes = np.asarray(classes)
    if classes.dtype.kind == "u" and classes.size and int(classes.max()) > np.iinfo(np.int64).max:
        return classes.astype(np.uint64)   # int64 would wrap them round to negative labels
    if classes.dtype.kind in "iu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        return classes.astype(np.float64)
    if classes.dtype.kind == "b":
        return classes
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes.tolist()):
        return np.array(classes.tolist(), dtype=object)
    raise ValueError(f"classes_ of dtype {classes.dtype} cannot be stored in ONNX; use numbers or strings")


class _Graph:
    """Nodes and initializers being collected, with fresh names."""

    def __init__(self, onnx):
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.nodes, self.inits = [], []

    def const(self, name, array):
        self.inits.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def _layers(g, net, dtype):
    """Add the layers; return the name of the output layer's activations."""
    x = "X"
    for k, ((W, b), name) in enumerate(zip(net.params, net.layer_activations())):
        z = g.node("MatMul", [x, g.const(f"W{k}", W.astype(dtype))], f"matmul{k}")
        x = g.node("Add", [z, g.const(f"b{k}", b.astype(dtype))], f"z{k}")
        if name != "identity":
            attrs = {"axis": 1} if name == "softmax" else {}
            x = g.node(ONNX_OPS[name], [x], f"a{k}", **attrs)
    return x


def _classifier_outputs(g, out, classes, dtype, binary):
    """``label`` and ``probabilities`` from the output layer ``out`` (``binary``: one sigmoid unit)."""
    classes = g.const("classes", classes)
    if binary:
        g.node("Concat", [g.node("Sub", [g.const("one", np.ones(1, dtype)), out], "complement"), out],
               "probabilities", axis=1)
        positive = g.node("Greater", [out, g.const("half", np.full(1, 0.5, dtype))], "positive")
        index = g.node("Cast", [positive], "index2d", to=g.helper.np_dtype_to_tensor_dtype(np.dtype(np.int64)))
        index = g.node("Reshape", [index, g.const("flat", np.array([-1], np.int64))], "index")
    else:
        g.node("Identity", [out], "probabilities")
        index = g.node("ArgMax", [out], "index", axis=1, keepdims=0)
    g.node("Gather", [classes, index], "label", axis=0)


def export_onnx(model, path=None, dtype=None):
    """The ONNX graph of a vecnet model, checked, and optionally written to a file.

    Parameters
    ----------
    model : Network, vecnet.MLPClassifier or vecnet.MLPRegressor
        A network or a fitted estimator.
    path : str or os.PathLike, optional
        Write the model there (atomically: a temporary file renamed over it).
    dtype : {None, "float32", "float64"}, optional
        Type of the input, weights and outputs; defaults to the model's.

    Returns
    -------
    onnx.ModelProto
        Passed by ``onnx.checker.check_model(full_check=True)``. Input ``X``
        ``(batch, n_features)``; outputs as in the module docstring. In
        onnxruntime a float64 graph gives ``predict`` / ``predict_proba`` to
        within 1e-12, a float32 one within about 1e-6 (relative).

    Raises
    ------
    ValueError
        Bad ``dtype``; labels ONNX cannot hold; an ensemble (``n_estimators > 1``).
    TypeError
        ``model`` is not a vecnet model.
    vecnet.NotFittedError
        ``model`` is an estimator that was never fitted.
    ImportError
        onnx is not installed (``pip install "vecnet[onnx]"``).
    """
    onnx = require("onnx", "onnx", "export_onnx")
    helper = onnx.helper
    net = network_of(model, "export_onnx")
    dtype = _check_dtype(dtype, net.dtype)
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    g = _Graph(onnx)
    out = _layers(g, net, dtype)
    n_out = net.sizes[-1]
    if isinstance(model, MLPClassifier):
        classes = _classes_array(model.classes_)
        _classifier_outputs(g, out, classes, dtype, binary=n_out == 1)
        label_type = (onnx.TensorProto.STRING if classes.dtype == object
                      else helper.np_dtype_to_tensor_dtype(classes.dtype))
        outputs = [helper.make_tensor_value_info("label", label_type, ["batch"]),
                   helper.make_tensor_value_info("probabilities", elem, ["batch", classes.size])]
    elif isinstance(model, MLPRegressor):
        if n_out == 1:
            g.node("Reshape", [out, g.const("flat", np.array([-1], np.int64))], "predictions")
        else:
            g.node("Identity", [out], "predictions")
        outputs = [helper.make_tensor_value_info("predictions", elem, ["batch"] + ([n_out] if n_out > 1 else []))]
    else:
        g.node("Identity", [out], "Y")
        outputs = [helper.make_tensor_value_info("Y", elem, ["batch", n_out])]
    inputs = [helper.make_tensor_value_info("X", elem, ["batch", net.sizes[0]])]
    graph = helper.make_graph(g.nodes, "vecnet", inputs, outputs, initializer=g.inits,
                              doc_string=f"vecnet {type(model).__name__} {list(net.sizes)}")
    opsets = [helper.make_opsetid("", OPSET)]
    proto = helper.make_model(graph, opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets),
                              producer_name="vecnet",
                              producer_version=str(getattr(sys.modules.get("vecnet"), "__version__", "")))
    helper.set_model_props(proto, {"kind": type(model).__name__, "network": json.dumps(
        {"sizes": list(net.sizes), "activation": net.activation, "output_activation": net.output_activation,
         "loss": net.loss})})
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        atomic_write(path, proto.SerializeToString())
    return proto
