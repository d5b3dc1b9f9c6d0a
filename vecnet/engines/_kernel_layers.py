"""The layers of the compiled kernels: forward and backward passes (private; imports Numba).

See :mod:`vecnet.engines._kernel_pieces` for the conventions (flat workspace,
``uint64`` indices, no ``fastmath``); the activation of each layer is a
constant of the kernel, handed through to :func:`activate` and :func:`backprop`.
The layout ``lay`` (and ``offs``) is the kernel's array argument, or, in a
kernel built for one network shape, a constant tuple of the same rows (see
:mod:`vecnet.engines._stack`): ``lay[k][c]`` reads either. Such a kernel calls
:func:`forward_one` and :func:`backward_one` once per layer with constant
indices, instead of :func:`forward` and :func:`backward` (their loops over the
layers), so that every loop left has a constant trip count.
"""

from __future__ import annotations

from numba import njit

from ._kernel_pieces import HOT_OPTIONS, NARROW, U, activate, activate_rows, backprop, backprop_rows

LOOP_OPTIONS = dict(HOT_OPTIONS, inline="never")
"""The flags of :func:`_accumulate`: compiled once and called, not inlined by Numba. Its callers
reach it with a whole row block to sum (a layer's remainder row, a one-column ``dW``, a wide
one-sample layer), so the call costs nothing measurable, while each site Numba inlines re-runs
its untyped passes on a deep copy of the callee: as one of seven inlined sites it made a third
of a batch kernel's compile time (8.6 s against 6.4 s for 10-32-32-1). :func:`_accumulate2`,
the hot loop of a batch, stays inlined: called, it made a batch step 8% slower."""


@njit(**LOOP_OPTIONS)
def _accumulate(Y, yo, X, xo, xstep, C, co, cstep, count, n):
    """``Y[yo + j] += C[co + t*cstep] * X[xo + t*xstep + j]`` for ``t = 0, 1, ..., count - 1``, ``j < n``.

    Four terms per pass over ``Y``, added in the same order as one at a time, so
    each element of ``Y`` is loaded and stored once per four products.
    """
    one, four = U(1), U(4)
    t = U(0)
    while t + four <= count:
        x0 = xo + t * xstep
        x1 = x0 + xstep
        x2 = x1 + xstep
        x3 = x2 + xstep
        c = co + t * cstep
        c0, c1, c2, c3 = C[c], C[c + cstep], C[c + cstep + cstep], C[c + cstep + cstep + cstep]
        for j in range(n):
            v = Y[yo + j]
            v += c0 * X[x0 + j]
            v += c1 * X[x1 + j]
            v += c2 * X[x2 + j]
            v += c3 * X[x3 + j]
            Y[yo + j] = v
        t += four
    while t < count:
        x0 = xo + t * xstep
        c0 = C[co + t * cstep]
        for j in range(n):
            Y[yo + j] += c0 * X[x0 + j]
        t += one


@njit(**HOT_OPTIONS)
def _accumulate2(Y, yo, yo2, X, xo, xstep, C, co, co2, cstep, count, n):
    """:func:`_accumulate` for two rows of ``Y`` at once (``yo`` with coefficients from ``co``, ``yo2``
    from ``co2``), which share every load of ``X``; each sum in the same order as one row at a time."""
    one, four = U(1), U(4)
    t = U(0)
    while t + four <= count:
        x0 = xo + t * xstep
        x1 = x0 + xstep
        x2 = x1 + xstep
        x3 = x2 + xstep
        c = co + t * cstep
        c0, c1, c2, c3 = C[c], C[c + cstep], C[c + cstep + cstep], C[c + cstep + cstep + cstep]
        c = co2 + t * cstep
        d0, d1, d2, d3 = C[c], C[c + cstep], C[c + cstep + cstep], C[c + cstep + cstep + cstep]
        for j in range(n):
            a0, a1, a2, a3 = X[x0 + j], X[x1 + j], X[x2 + j], X[x3 + j]
            v = Y[yo + j]
            v += c0 * a0
            v += c1 * a1
            v += c2 * a2
            v += c3 * a3
            Y[yo + j] = v
            w = Y[yo2 + j]
            w += d0 * a0
            w += d1 * a1
            w += d2 * a2
            w += d3 * a3
            Y[yo2 + j] = w
        t += four
    while t < count:
        x0 = xo + t * xstep
        c0, d0 = C[co + t * cstep], C[co2 + t * cstep]
        for j in range(n):
            a0 = X[x0 + j]
            Y[yo + j] += c0 * a0
            Y[yo2 + j] += d0 * a0
        t += one


@njit(**HOT_OPTIONS)
def forward_one(theta, lay, offs, A, Z, hidden, output, k, last):
    """Layer ``k`` of :func:`forward` for one sample (``last``: the output layer, whose pre-activation
    goes into ``Z``); into fewer than ``NARROW`` outputs, one dot product per output."""
    n_in, n_out, wo, bo = lay[k][0], lay[k][1], lay[k][2], lay[k][3]
    x, y = offs[k], offs[k + 1]
    if n_out < NARROW:
        for j in range(n_out):
            acc = theta[bo + j]
            for i in range(n_in):
                acc += A[x + i] * theta[wo + i * n_out + j]
            A[y + j] = acc
    else:
        for j in range(n_out):
            A[y + j] = theta[bo + j]
        _accumulate(A, y, theta, wo, n_out, A, x, U(1), n_in, n_out)
    if last:
        for j in range(n_out):
            Z[j] = A[y + j]
        activate(output, A, y, n_out)
    else:
        activate(hidden, A, y, n_out)


@njit(**HOT_OPTIONS)
def forward_rows(theta, lay, offs, A, Z, m, hidden, output, k, last):
    """Layer ``k`` of :func:`forward` for a batch of ``m`` rows, two rows at a time."""
    n_in, n_out, wo, bo = lay[k][0], lay[k][1], lay[k][2], lay[k][3]
    s = U(0)
    while s + U(2) <= m:  # two rows at a time: each row of W is loaded once for both
        x, y = offs[k] + s * n_in, offs[k + 1] + s * n_out
        for j in range(n_out):
            A[y + j] = theta[bo + j]
            A[y + n_out + j] = theta[bo + j]
        _accumulate2(A, y, y + n_out, theta, wo, n_out, A, x, x + n_in, U(1), n_in, n_out)
        s += U(2)
    if s < m:
        x, y = offs[k] + s * n_in, offs[k + 1] + s * n_out
        for j in range(n_out):
            A[y + j] = theta[bo + j]
        _accumulate(A, y, theta, wo, n_out, A, x, U(1), n_in, n_out)
    y = offs[k + 1]
    if last:
        for j in range(m * n_out):
            Z[j] = A[y + j]
        activate_rows(output, A, y, m, n_out)
    else:
        activate_rows(hidden, A, y, m, n_out)


@njit(**HOT_OPTIONS)
def forward(theta, lay, offs, A, Z, m, one, hidden, output):
    """``A_{k+1}[s] = f(A_k[s] @ W_k + b_k)`` for the first ``m`` rows; the output's pre-activation into ``Z``.

    ``one`` (a constant: ``m == 1``): one sample into fewer than ``NARROW``
    outputs is one dot product per output (the same sum, in the same order), as
    a loop over so few columns only costs its vectorization checks.
    """
    if one:
        forward_sample(theta, lay, offs, A, Z, hidden, output)
    else:
        forward_batch(theta, lay, offs, A, Z, m, hidden, output)


@njit(**HOT_OPTIONS)
def forward_sample(theta, lay, offs, A, Z, hidden, output):
    """:func:`forward` for one sample (``m = 1``, ``one``); a kernel that is per sample by
    construction calls it directly, so that the batch path is never compiled into it."""
    n_layers = len(lay)
    for k in range(n_layers):
        forward_one(theta, lay, offs, A, Z, hidden, output, k, k == n_layers - 1)


@njit(**HOT_OPTIONS)
def forward_batch(theta, lay, offs, A, Z, m, hidden, output):
    """:func:`forward` for a batch of ``m`` rows."""
    n_layers = len(lay)
    for k in range(n_layers):
        forward_rows(theta, lay, offs, A, Z, m, hidden, output, k, k == n_layers - 1)


@njit(**HOT_OPTIONS)
def backward_one(theta, lay, offs, A, D, grad, hidden, use_l2, l2, lr, fused, k):
    """Layer ``k`` of :func:`backward` for one sample: each ``D_{k-1}[i]`` a dot product with row ``i``
    of ``W_k``."""
    n_in, n_out, wo, bo = lay[k][0], lay[k][1], lay[k][2], lay[k][3]
    src, dk = offs[k], offs[k + 1]
    for j in range(n_out):
        grad[bo + j] = D[dk + j]
    for i in range(n_in):
        a, row = A[src + i], wo + i * n_out
        for j in range(n_out):
            grad[row + j] = a * D[dk + j]
    if use_l2:
        for p in range(wo, bo):
            grad[p] += l2 * theta[p]
    if k > 0:
        for i in range(n_in):
            row = wo + i * n_out
            acc = 0.0
            for j in range(n_out):
                acc += D[dk + j] * theta[row + j]
            D[src + i] = acc
        backprop(hidden, A, D, src, n_in)
    if fused:
        for p in range(wo, bo + n_out):
            theta[p] -= lr * grad[p]


@njit(**HOT_OPTIONS)
def backward_rows(theta, lay, offs, A, D, WT, grad, m, hidden, use_l2, l2, lr, fused, k):
    """Layer ``k`` of :func:`backward` for a batch of ``m`` rows."""
    n_in, n_out, wo, bo = lay[k][0], lay[k][1], lay[k][2], lay[k][3]
    src, dk = offs[k], offs[k + 1]
    for p in range(wo, bo + n_out):
        grad[p] = 0.0
    for s in range(m):
        d = dk + s * n_out
        for j in range(n_out):
            grad[bo + j] += D[d + j]
    if n_out == U(1):  # dW is one column: all of it at once, the same sums (a * d = d * a)
        _accumulate(grad, wo, A, src, n_in, D, dk, U(1), m, n_in)
    else:
        i = U(0)
        while i + U(2) <= n_in:  # two rows of dW at a time, sharing the loads of D
            _accumulate2(grad, wo + i * n_out, wo + (i + U(1)) * n_out, D, dk, n_out, A, src + i,
                         src + i + U(1), n_in, m, n_out)
            i += U(2)
        if i < n_in:
            _accumulate(grad, wo + i * n_out, D, dk, n_out, A, src + i, n_in, m, n_out)
    if use_l2:
        for p in range(wo, bo):
            grad[p] += l2 * theta[p]
    if k > 0:
        for i in range(n_in):
            row = wo + i * n_out
            for j in range(n_out):
                WT[j * n_in + i] = theta[row + j]
        s = U(0)
        while s + U(2) <= m:  # two rows at a time, sharing the loads of W^T
            b, d = src + s * n_in, dk + s * n_out
            for i in range(n_in):
                D[b + i] = 0.0
                D[b + n_in + i] = 0.0
            _accumulate2(D, b, b + n_in, WT, U(0), n_in, D, d, d + n_out, U(1), n_out, n_in)
            s += U(2)
        if s < m:
            b, d = src + s * n_in, dk + s * n_out
            for i in range(n_in):
                D[b + i] = 0.0
            _accumulate(D, b, WT, U(0), n_in, D, d, U(1), n_out, n_in)
        backprop_rows(hidden, A, D, src, m, n_in)
    if fused:
        for p in range(wo, bo + n_out):
            theta[p] -= lr * grad[p]


@njit(**HOT_OPTIONS)
def backward(theta, lay, offs, A, D, WT, grad, m, one, hidden, use_l2, l2, lr, fused):
    """``dW_k = sum_s A_k[s]^T D_k[s]``, ``db_k = sum_s D_k[s]``, ``D_{k-1} = (D_k W_k^T) * f'``.

    ``D_k`` (dL/dZ of layer ``k``) sits where ``A_{k+1}`` sits in ``A``. For a
    batch, ``WT`` is scratch for ``W_k^T``, so that every inner loop runs over
    contiguous memory while each sum keeps the order of the row-by-row formula;
    for one sample (``one``: ``m == 1``, a constant) each ``D_{k-1}[i]`` is a
    dot product with row ``i`` of ``W_k``, in the same order. When ``fused``
    (plain SGD), layer ``k`` is updated, ``theta -= lr * g``, as soon as
    ``D_{k-1}`` no longer needs ``W_k``.
    """
    if one:
        backward_sample(theta, lay, offs, A, D, grad, hidden, use_l2, l2, lr, fused)
    else:
        backward_batch(theta, lay, offs, A, D, WT, grad, m, hidden, use_l2, l2, lr, fused)


@njit(**HOT_OPTIONS)
def backward_sample(theta, lay, offs, A, D, grad, hidden, use_l2, l2, lr, fused):
    """:func:`backward` for one sample (see :func:`forward_sample`)."""
    for k in range(len(lay) - 1, -1, -1):
        backward_one(theta, lay, offs, A, D, grad, hidden, use_l2, l2, lr, fused, k)


@njit(**HOT_OPTIONS)
def backward_batch(theta, lay, offs, A, D, WT, grad, m, hidden, use_l2, l2, lr, fused):
    """:func:`backward` for a batch of ``m`` rows."""
    for k in range(len(lay) - 1, -1, -1):
        backward_rows(theta, lay, offs, A, D, WT, grad, m, hidden, use_l2, l2, lr, fused, k)
