"""Issue 10, class 1: every block handed to an engine has the shape, dtype and order it claims.

A lazy array is anything with ``shape``, ``dtype`` and row slicing; one whose
slices return other rows than its shape promises must be refused with a
``ValueError`` before an engine (the compiled kernel reads as many rows as the
arrays have, without bounds checks) sees the block. And the kernel's own entry
checks every size it indexes with, from the arrays themselves.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecnet
from vecnet.data.rows import as_rows
from vecnet.engines.numba_engine import check_kernel_inputs, run_numba
from vecnet.optimizers import SGD, OptimizerState


class Lying:
    """A lazy array over ``a`` whose slices misbehave from read number ``after`` on."""

    def __init__(self, a, how, after=0, k=1):
        self.a, self.how, self.after, self.k, self.reads = a, how, after, k, 0
        self.shape, self.dtype = a.shape, a.dtype

    def __getitem__(self, key):
        self.reads += 1
        block = self.a[key]
        if self.reads <= self.after:
            return block
        if self.how == "short":
            return block[:max(0, len(block) - self.k)]
        if self.how == "long":
            return np.concatenate([block] + [block[:1]] * self.k)
        if self.how == "wide":
            return np.concatenate([block, block[:, :1]], axis=1) if block.ndim == 2 else block[:, None]
        if self.how == "narrow":
            return block[:, :-1] if block.ndim == 2 else block[:, None][:, :0]
        if self.how == "3d":
            return block[..., None]
        if self.how == "scalar":
            return block.ravel()[0]
        raise AssertionError(self.how)


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X.sum(axis=1) > 0).astype(np.float64)
    return X, y


def _net():
    return vecnet.Network([3, 4, 1], activation="tanh", output_activation="sigmoid", seed=1)


@pytest.mark.parametrize("how", ["short", "long", "wide", "narrow", "3d", "scalar"])
@pytest.mark.parametrize("which", ["X", "y"])
@pytest.mark.parametrize("after", [0, 2, 7])   # 0: at the checks in as_rows; later: at take
def test_a_lazy_array_whose_slices_lie_is_refused(how, which, after):
    X, y = _data()
    if which == "X":
        X = Lying(X, how, after)
    else:
        y = Lying(y, how, after)
    net = _net()
    before = net.theta.copy()
    with pytest.raises(ValueError, match=r"rows asked for|expected a block of shape|returned rows of shape"):
        net.fit(X, y, epochs=3, batch_size=4, engine="numpy", chunk_bytes=8 * 4 * 10)
    # Refused before the first block of an epoch trained: no update at all when
    # it lies from the start.
    if after == 0:
        np.testing.assert_array_equal(net.theta, before)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 40), how=st.sampled_from(["short", "long", "wide", "narrow"]),
       k=st.integers(1, 5), after=st.integers(0, 12), which=st.sampled_from(["X", "y"]),
       block=st.integers(1, 9), shuffle=st.booleans())
def test_no_misbehaving_lazy_array_reaches_an_engine(n, how, k, after, which, block, shuffle):
    X, y = _data(n)
    if which == "X":
        X = Lying(X, how, after, k)
    else:
        y = Lying(y, how, after, k)
    net = _net()
    try:
        net.fit(X, y, epochs=2, batch_size=1, engine="numpy", shuffle=shuffle, seed=0,
                chunk_bytes=8 * 4 * block)
    except ValueError as exc:
        assert "rows" in str(exc) and ("asked for" in str(exc) or "shape" in str(exc)), exc
    else:   # only possible if the lie was never read (the fit read fewer slices than ``after``)
        lying = X if which == "X" else y
        assert lying.reads <= after


def test_rows_take_and_whole_check_every_block():
    X, y = _data(10)
    rows = as_rows(X, y, 3, 1, np.float64)
    bx, by = rows.take(2, 5)
    assert bx.shape == (3, 3) and by.shape == (3, 1)
    assert bx.flags.c_contiguous and bx.dtype == np.float64
    # The arrays swapped under the view (as a lazy array may do) are refused at the next take.
    rows.X = X[:, :2]
    with pytest.raises(ValueError, match="expected a block of shape"):
        rows.take(0, 4)
    with pytest.raises(ValueError, match="expected a block of shape"):
        rows.whole(1 << 20)


def test_the_blocks_of_a_huge_view_are_never_listed():
    X, y = _data(10)
    rows = as_rows(X, y, 3, 1, np.float64)
    rows.stop = 10**15   # as if the data had 1e15 rows
    blocks = rows.blocks(2)
    assert len(blocks) == 5 * 10**14
    assert blocks[0] == (0, 2) and blocks[-1] == (10**15 - 2, 10**15)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 300), size=st.integers(1, 50))
def test_lazy_blocks_are_the_consecutive_bounds(n, size):
    X, y = _data(n)
    blocks = as_rows(X, y, 3, 1, np.float64).blocks(size)
    expected = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
    assert list(blocks) == expected
    assert [blocks[i] for i in range(len(blocks))] == expected


# -- the compiled kernel's entry: no numba compile needed, the checks come first --------------
def _kernel_args(n=6):
    net = _net()
    X, y = _data(n)
    state = OptimizerState.zeros(net.n_params, net.dtype)
    return net, X, y.reshape(-1, 1), np.arange(n, dtype=np.int64)[None, :], state


@pytest.mark.parametrize("breakage, match", [
    (lambda a: a.update(Y=a["Y"][:-1]), "Y must be"),
    (lambda a: a.update(X=a["X"][:-1]), "Y must be|orders must be"),
    (lambda a: a.update(X=np.asfortranarray(a["X"])), "X must be a C-contiguous"),
    (lambda a: a.update(X=a["X"].astype(np.float32)), "X must be a C-contiguous float64"),
    (lambda a: a.update(X=a["X"][:, :2].copy()), "X must be"),
    (lambda a: a.update(orders=a["orders"] + 1), r"orders holds indexes outside \[0, 6\)"),
    (lambda a: a.update(orders=a["orders"] - 1), "orders holds indexes outside"),
    (lambda a: a["orders"].__setitem__((0, 2), np.iinfo(np.int64).min), "orders holds indexes outside"),
    (lambda a: a.update(orders=a["orders"][:, :-1].copy()), "orders must be"),
    (lambda a: a.update(orders=a["orders"].astype(np.int32)), "orders must be"),
    (lambda a: a.update(orders=np.zeros((0, 6), dtype=np.int64)), "orders must be"),
    (lambda a: a.update(epochs=-1), "epochs must be"),
    (lambda a: a.update(batch_size=0), "batch_size must be"),
    (lambda a: a.update(batch_size=2.0), "batch_size must be"),
    (lambda a: setattr(a["state"], "memory", a["state"].memory[:, :-1]), "optimizer memory"),
    (lambda a: setattr(a["state"], "steps", np.zeros(2, dtype=np.int64)), "optimizer steps"),
])
def test_the_kernel_entry_checks_every_size_it_indexes_with(breakage, match):
    net, X, Y, orders, state = _kernel_args()
    args = dict(X=X, Y=Y, orders=orders, epochs=2, batch_size=2, state=state)
    breakage(args)
    with pytest.raises(ValueError, match=match):
        check_kernel_inputs(net, **args)
    before = net.theta.copy()
    with pytest.raises(ValueError, match=match):   # run_numba checks before compiling or calling
        run_numba(net, args["X"], args["Y"], args["orders"], args["epochs"], args["batch_size"],
                  SGD(), args["state"])
    np.testing.assert_array_equal(net.theta, before)


def test_the_kernel_entry_accepts_what_the_training_loop_passes():
    net, X, Y, orders, state = _kernel_args()
    check_kernel_inputs(net, X, Y, orders, 3, 4, state)
    X.flags.writeable = False   # read-only data is fine: the kernel never writes it
    check_kernel_inputs(net, X, Y, np.stack([orders[0], orders[0][::-1]]), 0, 1, state)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("how", ["short", "long"])
def test_short_blocks_never_reach_the_compiled_kernel(engine, how):
    """The case of the issue: slices shorter than asked, found after the checks of the data.

    On the numba engine this read past ``X`` (a segfault with 3M rows); now the
    block is refused before the kernel (and before any compile) sees it.
    """
    X, y = _data(200)
    X, y = Lying(X, how, after=2, k=3), Lying(y, how, after=2, k=3)   # both: shapes agree
    net = _net()
    before = net.theta.copy()
    with pytest.raises(ValueError, match="rows asked for"):
        net.fit(X, y, epochs=2, batch_size=2, engine=engine, chunk_bytes=8 * 4 * 16)
    np.testing.assert_array_equal(net.theta, before)
