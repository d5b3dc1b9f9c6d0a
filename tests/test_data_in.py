"""Data in: array-likes, memmaps and lazy files, streaming in row blocks, float32 end to end."""

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

import vecnet
from helpers import GENERAL_ENGINES, spy_engine
from vecnet.engines import _kernels

ROOT = Path(__file__).resolve().parents[1]
needs_jit = pytest.mark.skipif(numba.config.DISABLE_JIT,
                               reason="reads compiled code / trains 5e6 samples (JIT disabled)")


def _data(n=40, seed=3):
    """Integer-valued features (exact in every dtype) and 0/1 targets."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-20, 21, size=(n, 3))
    y = (X @ np.array([1, -2, 1]) > 0).astype(np.int64)
    return X, y


def _net(dtype=np.float64):
    return vecnet.Network([3, 4, 1], activation="tanh", output_activation="sigmoid", seed=7,
                          dtype=dtype)


def _trained(X, y, dtype=np.float64, **kw):
    net = _net(dtype)
    history = net.fit(X, y, **{"epochs": 3, "engine": "numpy", **kw})
    return net, history


@pytest.fixture
def saved(tmp_path):
    """The data saved as float64 .npy files; returns their paths."""
    X, y = _data()
    paths = tmp_path / "X.npy", tmp_path / "y.npy"
    np.save(paths[0], X.astype(np.float64))
    np.save(paths[1], y.astype(np.float64))
    return paths


VARIANTS = {
    "list": lambda X, y, p: (X.tolist(), y.tolist()),
    "int64": lambda X, y, p: (X, y),
    "int32": lambda X, y, p: (X.astype(np.int32), y.astype(np.int8)),
    "float32": lambda X, y, p: (X.astype(np.float32), y.astype(np.float32)),
    "fortran": lambda X, y, p: (np.asfortranarray(X.astype(np.float64)), y.astype(np.float64)),
    "read_only": lambda X, y, p: (_read_only(X.astype(np.float64)), _read_only(y.astype(float))),
    "y_2d": lambda X, y, p: (X, y.reshape(-1, 1)),
    "memmap": lambda X, y, p: (np.load(p[0], mmap_mode="r"), np.load(p[1], mmap_mode="r")),
    "open_npy": lambda X, y, p: (vecnet.open_npy(p[0]), vecnet.open_npy(p[1])),
    "strided": lambda X, y, p: (np.repeat(X.astype(np.float64), 2, axis=0)[::2], y),
}


def _read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_array_like_trains_like_a_float64_array(variant, engine, saved):
    X, y = _data()
    expected, _ = _trained(X.astype(np.float64), y.astype(np.float64), engine=engine)
    got, history = _trained(*VARIANTS[variant](X, y, saved), engine=engine)
    assert np.array_equal(got.theta, expected.theta)
    assert history.streamed == (variant == "open_npy")


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
@pytest.mark.parametrize("batch_size", [1, 8, None])
def test_streamed_training_equals_in_memory_training(engine, batch_size):
    # Blocks are a multiple of batch_size, so the batches are the same ones.
    X, y = _data(n=50)
    expected, h1 = _trained(X.astype(np.float64), y, engine=engine, batch_size=batch_size)
    # a block holds whole batches: 8 rows of 4 float64 (256 bytes) and all 50 rows exceed 200
    big = contextlib.nullcontext() if batch_size == 1 else pytest.warns(UserWarning, match=(
        r"a batch of \d+ rows takes .* MB, more than chunk_bytes \(0.0002 MB\): each block streamed holds "
        r"one whole batch"))
    with big:
        got, h2 = _trained(X, y, engine=engine, batch_size=batch_size, chunk_bytes=200)
    assert h2.streamed and not h1.streamed
    assert np.array_equal(got.theta, expected.theta)
    np.testing.assert_allclose(h2.loss, h1.loss, rtol=1e-13)


def _spy(monkeypatch, engine):
    """Record every (X, Y) the training loop hands to ``engine``."""
    seen = []
    spy_engine(monkeypatch, engine, lambda args: seen.append(args[1:3]))
    return seen


def test_data_of_the_network_dtype_is_used_in_place(monkeypatch, saved):
    seen = _spy(monkeypatch, "numpy")
    X = np.load(saved[0], mmap_mode="r")
    y = np.load(saved[1], mmap_mode="r")
    _net().fit(X, y, epochs=2, engine="numpy", chunk_bytes=64)
    assert len(seen) == 2   # one call per epoch (the numpy engine's), not one per row block
    assert all(np.shares_memory(Xs, X) and np.shares_memory(Ys, y) for Xs, Ys in seen)


def test_a_conversion_larger_than_chunk_bytes_is_streamed(monkeypatch, tmp_path):
    # a float32 memmap trained in float64: never converted whole
    X, y = _data(n=1000)
    np.save(tmp_path / "X32.npy", X.astype(np.float32))
    seen = _spy(monkeypatch, "numpy")
    Xm = np.load(tmp_path / "X32.npy", mmap_mode="r")
    history = _net().fit(Xm, y, epochs=2, engine="numpy", batch_size=10, chunk_bytes=3200)
    block = 3200 // (4 * 8) // 10 * 10       # rows of 3 features + 1 target in float64
    assert history.streamed
    assert len(seen) == 2 * 1000 // block
    assert all(len(Xb) == block and Xb.dtype == np.float64 for Xb, _ in seen)


def test_bad_values_are_found_in_any_block(tmp_path):
    X, y = _data(n=500)
    X = X.astype(np.float64)
    X[-1, 2] = np.nan
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match=r"X contains 1 NaN value \(the first at \[499, 2\]\)"):
        _net().fit(vecnet.open_npy(tmp_path / "X.npy"), y, epochs=1, chunk_bytes=256)
    X[-1, 2] = 1e300
    with pytest.raises(ValueError, match="beyond the range of float32"):
        _net(np.float32).fit(X, y, epochs=1, chunk_bytes=256)


def test_shape_errors_are_clear():
    X, y = _data()
    with pytest.raises(ValueError, match="X has 2 features, but the network expects 3"):
        _net().fit(X[:, :2], y)
    with pytest.raises(ValueError, match="different numbers of samples"):
        _net().fit(X, y[:-1])
    with pytest.raises(ValueError, match="network has 1 outputs"):
        _net().fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="must be 2-D"):
        _net().fit(X[:, 0], y)


def test_open_npy_reads_rows_and_refuses_what_it_cannot(tmp_path):
    A = np.arange(60.0).reshape(20, 3)
    np.save(tmp_path / "a.npy", A)
    rows = vecnet.open_npy(tmp_path / "a.npy")
    assert rows.shape == (20, 3) and rows.dtype == np.float64 and len(rows) == 20
    assert np.array_equal(rows[5:9], A[5:9]) and np.array_equal(rows[18:40], A[18:])
    with pytest.raises(TypeError, match="step 1"):
        rows[::2]
    np.save(tmp_path / "f.npy", np.asfortranarray(A))
    with pytest.raises(ValueError, match="Fortran order"):
        vecnet.open_npy(tmp_path / "f.npy")


# -- float32 end to end -----------------------------------------------------------


def _float_array_types(annotation):
    """``{variable: float type}`` of every array variable in a numba type annotation."""
    pattern = re.compile(r"#\s+([\w.$]+) = .*array\((float\d+), \d+d, \w+\)\s*$")
    return {m.group(1): m.group(2) for m in map(pattern.search, annotation.splitlines()) if m}


@needs_jit
def test_the_numba_kernel_runs_in_float32(monkeypatch):
    calls, kernels = [], []
    real_build = _kernels.build_kernel

    def build(config):
        kernel = real_build(config)
        kernels.append(kernel)

        def spy(theta, lay, offs, hyper, X, Y, *rest):
            calls.append((theta, X, Y, rest[6]))     # rest[6]: the optimizer state
            return kernel(theta, lay, offs, hyper, X, Y, *rest)
        return spy

    monkeypatch.setattr(_kernels, "build_kernel", build)
    X, y = _data()
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    net = _net(np.float32)
    net.fit(X32, y32, epochs=2, engine="numba", optimizer="adam")
    assert net.theta.dtype == np.float32
    theta, Xk, Yk, state = calls[-1]
    # the kernel updates a 64-byte aligned working copy of the weights, written back at its end
    assert theta is not net.theta and theta.ctypes.data % 64 == 0
    np.testing.assert_array_equal(theta, net.theta)
    assert np.shares_memory(Xk, X32) and np.shares_memory(Yk, y32)    # no copy of the data
    assert {a.dtype for a in (theta, Xk, Yk, state)} == {np.dtype(np.float32)}
    # every float array inside the compiled kernel (workspace included) is float32,
    # except the per-epoch losses it reports and the running loss sum of an epoch
    real = kernels[-1]
    overload = next(res for sig, res in real.overloads.items() if str(sig[0].dtype) == "float32")
    types = _float_array_types(str(overload.type_annotation))
    assert {"A", "D", "Z", "grad", "saved"} <= set(types)
    assert {name for name, t in types.items() if t != "float32"} == {"losses", "running"}


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
def test_float32_training_stays_close_to_float64(engine):
    # Each of the 200 per-sample updates of theta (|theta| < 4) adds a few float32
    # roundings of at most 2**-24 * 4 = 2.4e-7 each; the tanh/sigmoid net is
    # contractive at this learning rate, so the difference stays well below the
    # linear worst case 200 * 5 * 2.4e-7 = 2.4e-4 that is the bound used here.
    X, y = vecnet.synthetic(200, n_features=3, seed=2)
    X = X / 10
    net32 = _net(np.float32)
    net64 = _net(np.float64)
    net64.theta[...] = net32.theta                       # the same float32-exact start
    h32 = net32.fit(X.astype(np.float32), y.astype(np.float32), epochs=1, engine=engine)
    h64 = net64.fit(X, y, epochs=1, engine=engine)
    assert net32.theta.dtype == np.float32
    assert 0 < np.abs(net32.theta - net64.theta).max() < 2.4e-4
    assert abs(h32.loss[0] - h64.loss[0]) < 2.4e-4


# -- larger than the process may hold ------------------------------------------------


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """200 MB of float32 features (5e6 x 10) and targets, written in blocks."""
    d = tmp_path_factory.mktemp("big")
    n, rng = 5_000_000, np.random.default_rng(0)
    X = np.lib.format.open_memmap(d / "X.npy", mode="w+", dtype=np.float32, shape=(n, 10))
    y = np.lib.format.open_memmap(d / "y.npy", mode="w+", dtype=np.float32, shape=(n,))
    w = rng.normal(size=10)
    for lo in range(0, n, 500_000):
        block = rng.normal(size=(500_000, 10)).astype(np.float32)
        X[lo:lo + 500_000] = block
        y[lo:lo + 500_000] = block @ w > 0
    X.flush()
    y.flush()
    del X, y
    return d / "X.npy", d / "y.npy"


@needs_jit
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux resource limits")
@pytest.mark.parametrize("mode", ["as", "data"])
def test_training_on_a_file_larger_than_the_memory_limit(mode, big_file):
    headroom = 64 * 2**20            # the process may grow by 64 MB; the file has 200 MB
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "_limited_fit.py"), mode,
                          *map(str, big_file), str(headroom)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["file_bytes"] > 2.5 * headroom
    assert result["whole_load"] == "MemoryError"           # the limit really constrains
    if mode == "as":
        assert result["memmap"] == "failed"                 # RLIMIT_AS counts mappings
        assert result["dtype"] == "float32"
    else:
        assert result["whole_copy"] == "MemoryError"
        assert result["dtype"] == "float64"
    assert result["streamed"] and result["changed"] and result["finite"]
    # one epoch of Adam on a linearly separable set: well below log(2) = 0.69
    assert result["loss"][0] < 0.1


class _ArrayLike:
    """Like a pandas Series or an h5py dataset: shape, dtype, slicing and ``__array__``."""

    def __init__(self, a):
        self.a, self.shape, self.dtype = a, a.shape, a.dtype

    def __getitem__(self, key):
        return self.a[key]

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


def test_array_likes_are_read_whole_when_small_and_streamed_when_large():
    X, y = _data(n=100)
    expected, _ = _trained(X.astype(np.float64), y)
    small, h_small = _trained(_ArrayLike(X), _ArrayLike(y))
    large, h_large = _trained(_ArrayLike(X), _ArrayLike(y), chunk_bytes=256)
    assert not h_small.streamed and h_large.streamed
    assert np.array_equal(small.theta, expected.theta)
    assert np.array_equal(large.theta, expected.theta)


def test_validation_split_of_streamed_data_equals_in_memory(tmp_path):
    X, y = _data(n=100)
    np.save(tmp_path / "X32.npy", X.astype(np.float32))
    Xm = np.load(tmp_path / "X32.npy", mmap_mode="r")
    a, ha = _trained(X.astype(np.float64), y, validation_fraction=0.3, batch_size=5)
    b, hb = _trained(Xm, y, validation_fraction=0.3, batch_size=5, chunk_bytes=400)
    assert hb.streamed and not ha.streamed
    assert np.array_equal(a.theta, b.theta)
    np.testing.assert_allclose(hb.val_loss, ha.val_loss, rtol=1e-13)
    np.testing.assert_allclose(hb.val_metric, ha.val_metric, rtol=1e-13)   # r2 merged by blocks


@pytest.mark.parametrize("sizes, n", [([3, 1], 50), ([40, 1], 3000), ([40, 8, 3], 3000)])
@pytest.mark.parametrize("layout", ["fortran", "reversed rows", "strided"])
def test_predict_on_any_layout_equals_predict_on_a_c_ordered_copy_bit_for_bit(sizes, n, layout):
    """BLAS sums a matrix-vector product of a Fortran-ordered (or strided) X in another order: predict
    differed from the C-ordered copy's by up to 7e-15. Every row block now goes C-ordered."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2 * n, sizes[0]))
    given = {"fortran": lambda: np.asfortranarray(X[:n]), "reversed rows": lambda: X[:n][::-1],
             "strided": lambda: X[::2]}[layout]()
    net = vecnet.Network(sizes, seed=0)
    expected = net.predict(np.ascontiguousarray(given))
    np.testing.assert_array_equal(net.predict(given), expected)
    np.testing.assert_array_equal(net.forward(given, keep=True)[0][-1], expected)
