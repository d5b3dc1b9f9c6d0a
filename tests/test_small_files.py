"""Issue 10, class 3: small files stay small.

Every size a model file or a ``.npy`` file declares is checked against the
file's real size and against the header's own consistency before anything is
allocated, decompressed or built; damaged bytes end in ``ModelFormatError`` (or
a ``ValueError`` naming the data file), never another exception. Memory is
measured with tracemalloc (numpy reports its buffers to it); no timings.
"""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecnet
from vecnet.io import FORMAT_VERSION, MAGIC, ModelFormatError, read_header

pytestmark = pytest.mark.filterwarnings("ignore::vecnet.ConvergenceWarning")


def _npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _zip(path, members, compress=zipfile.ZIP_STORED):
    """An .npz of ``members`` (name -> bytes of an .npy), written member by member."""
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)


def _header(sizes, dtype="float64"):
    h = {"magic": MAGIC, "format_version": FORMAT_VERSION, "kind": "Network",
         "network": {"sizes": sizes, "activation": "sigmoid", "output_activation": "sigmoid",
                     "loss": "mse", "dtype": dtype}}
    return _npy(np.frombuffer(json.dumps(h).encode(), dtype=np.uint8))


def _peak(fn):
    """Peak bytes traced while ``fn()`` runs (it must raise ModelFormatError)."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


def test_a_tiny_file_declaring_a_huge_network_is_refused_before_building_it(tmp_path):
    path = tmp_path / "big.npz"
    _zip(path, {"header": _header([2, 8000, 8000]), "theta": _npy(np.zeros(13))})
    assert path.stat().st_size < 1000
    peak, exc = _peak(lambda: vecnet.load(path))
    assert "do not match the architecture [2, 8000, 8000]" in str(exc)
    assert peak < 1 << 20     # the network (64 million parameters, 512 MB) was never built


def test_a_compressed_member_is_refused_unread(tmp_path):
    """A 50 MB member of zeros deflated to ~50 kB: refused from the zip directory, never inflated."""
    good = vecnet.Network([2, 3, 1], seed=0)
    for name in ("zeros", "classes", "theta"):
        members = {"header": _header([2, 3, 1]), "theta": _npy(good.theta)}
        members[name] = _npy(np.zeros(50 * 2**20 // 8))
        path = tmp_path / f"{name}.npz"
        _zip(path, members, compress=zipfile.ZIP_DEFLATED)
        assert path.stat().st_size < 1 << 20
        peak, exc = _peak(lambda p=path: vecnet.load(p))
        assert peak < 4 << 20, (name, peak)
        assert "unexpected member" in str(exc) or "compressed" in str(exc)


def test_member_sizes_larger_than_the_file_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    vecnet.Network([2, 3, 1], seed=0).save(path)
    data = bytearray(path.read_bytes())
    # The central directory's uncompressed and compressed sizes of the first member: claim 2 GB.
    first = data.find(b"PK\x01\x02")
    for at in (first + 20, first + 24):
        data[at:at + 4] = (2**31).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    peak, exc = _peak(lambda: vecnet.load(path))
    assert "more than the file's" in str(exc)
    assert peak < 1 << 20


def test_theta_declaring_more_than_its_member_holds_is_refused(tmp_path):
    theta = vecnet.Network([2, 3, 1], seed=0).theta
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10**13,)})
    path = tmp_path / "t.npz"
    _zip(path, {"header": _header([2, 3, 1]), "theta": buf.getvalue() + theta.tobytes()})
    peak, exc = _peak(lambda: vecnet.load(path))
    assert "truncated or damaged" in str(exc)
    assert peak < 1 << 20


def test_a_huge_json_header_is_refused_unread(tmp_path):
    path = tmp_path / "h.npz"
    _zip(path, {"header": _npy(np.zeros(2 * 2**20, dtype=np.uint8)),
                "theta": _npy(vecnet.Network([2, 3, 1], seed=0).theta)})
    _, exc = _peak(lambda: vecnet.load(path))
    assert "more than the" in str(exc)


@pytest.mark.parametrize("text", [b"[" * 100_000, b'{"a":' * 100_000])
def test_a_deeply_nested_header_is_a_model_format_error(tmp_path, text):
    path = tmp_path / "n.npz"
    _zip(path, {"header": _npy(np.frombuffer(text, dtype=np.uint8)),
                "theta": _npy(vecnet.Network([2, 3, 1], seed=0).theta)})
    with pytest.raises(ModelFormatError):
        vecnet.load(path)


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    """A small saved classifier (three classes, optimizer state): the file fuzzed below."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1)]
    clf = vecnet.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0, engine="numpy")
    clf.fit(X, y)
    path = tmp_path_factory.mktemp("m") / "m.npz"
    clf.save(path)
    return path.read_bytes()


def _load_or_refuse(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(data))
    for fn in (vecnet.load, read_header):
        try:
            fn(path)
        except ModelFormatError:
            pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4))
def test_byte_flips_end_in_model_format_error(tmp_path, model_bytes, flips):
    data = bytearray(model_bytes)
    for at, value in flips:
        data[at % len(data)] = value
    _load_or_refuse(tmp_path, data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(0, 10**6), value=st.integers(0, 255))
def test_flips_in_the_zip_structures_end_in_model_format_error(tmp_path, model_bytes, at, value):
    """Flips aimed at the zip headers: compression method, flags, sizes, name lengths, offsets."""
    data = bytearray(model_bytes)
    spots = []
    for sig in (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"):
        i = data.find(sig)
        while i >= 0:
            spots.extend(range(i + 4, min(i + 46, len(data))))
            i = data.find(sig, i + 1)
    data[spots[at % len(spots)]] = value
    _load_or_refuse(tmp_path, data)


def test_unknown_compression_methods_and_encryption_flags_are_model_format_errors(tmp_path, model_bytes):
    for offset, value in ((8, 99), (6, 1)):   # local header: method 99; general flag: encrypted
        data = bytearray(model_bytes)
        i = data.find(b"PK\x01\x02")
        while i >= 0:
            data[i + 2 + offset] = value      # the central directory's copy of the same field
            i = data.find(b"PK\x01\x02", i + 1)
        (tmp_path / "c.npz").write_bytes(bytes(data))
        with pytest.raises(ModelFormatError):
            vecnet.load(tmp_path / "c.npz")


# -- .npy files opened for streaming ------------------------------------------------------------
def _raw_npy(path, header, data=b""):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    path.write_bytes(buf.getvalue() + data)


def test_an_npy_header_claiming_1e15_rows_is_refused_at_open(tmp_path):
    path = tmp_path / "x.npy"
    _raw_npy(path, {"descr": "<f8", "fortran_order": False, "shape": (10**15, 3)}, b"\0" * 240)
    with pytest.raises(ValueError, match="the file has only"):
        vecnet.open_npy(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(0, 10**16), min_size=0, max_size=3),
       descr=st.sampled_from(["<f8", "<f4", ">f8", "<i8", "|u1", "|b1", "<c16", "|O", "<U3", "|V8"]),
       fortran=st.booleans(), rows=st.integers(0, 50))
def test_random_npy_header_fields_open_or_are_refused_clearly(tmp_path, shape, descr, fortran, rows):
    path = tmp_path / "r.npy"
    dtype = np.dtype(descr)
    width = 3
    _raw_npy(path, {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)},
             b"\0" * (rows * width * dtype.itemsize))
    try:
        X = vecnet.open_npy(path)
    except (ValueError, TypeError) as exc:
        assert str(path) in str(exc)
        return
    # Opened: what it claims fits in the file, and every row reads back.
    n_bytes = int(np.prod(X.shape, dtype=object)) * X.dtype.itemsize
    assert n_bytes <= path.stat().st_size
    if X.shape[0]:
        assert X[X.shape[0] - 1:].shape == (1, *X.shape[1:])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(min_size=0, max_size=200))
def test_a_damaged_npy_header_is_a_value_error(tmp_path, garbage):
    path = tmp_path / "g.npy"
    path.write_bytes(np.lib.format.magic(1, 0) + len(garbage).to_bytes(2, "little") + garbage)
    try:
        vecnet.open_npy(path)
    except (ValueError, TypeError) as exc:
        assert str(path) in str(exc)


def test_streaming_a_big_npy_lists_no_blocks(tmp_path):
    """Training over an honest file streams block by block with lazily computed bounds."""
    X = np.random.default_rng(0).normal(size=(64, 3))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", (X[:, 0] > 0).astype(np.float64))
    net = vecnet.Network([3, 2, 1], seed=0)
    h = net.fit(vecnet.open_npy(tmp_path / "X.npy"), vecnet.open_npy(tmp_path / "y.npy"),
                epochs=2, engine="numpy", shuffle=True, seed=0, chunk_bytes=64)
    assert h.streamed and len(h.loss) == 2


def test_a_duplicate_member_is_refused(tmp_path):
    theta = _npy(vecnet.Network([2, 3, 1], seed=0).theta)
    path = tmp_path / "d.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("header.npy", _header([2, 3, 1]))
            zf.writestr("theta.npy", theta)
            zf.writestr("theta.npy", theta)
    with pytest.raises(ModelFormatError, match="once each"):
        vecnet.load(path)
