"""Data-parallel local SGD on a ``distributed`` cluster, every partition trained by :func:`vecnet.fit`.

One *round*: every partition (row chunk) of ``X`` trains a copy of the network,
from the same weights and optimizer state, for ``local_epochs`` epochs, in one
task on the worker holding that partition; the client then sets

    theta = sum over partitions p, in partition order, of (n_p / n) * theta_p

and the same for the optimizer's memory (momentum, Adam's moments); its update
count becomes the largest of the partitions'. With ``sync_every=k`` the
partitions are averaged every ``k`` batches instead of once a round (more
tasks, each shorter; local SGD then converges about like one process).

Determinism: each task depends only on the weights it is sent, its partition
and ``np.random.SeedSequence([seed, round, partition])``, and the sum runs in
partition order on the client, so the result depends on the chunking and the
seed, never on the number of workers, where a task ran or when it finished. A
task lost with its worker is recomputed by ``distributed`` (the same result);
a round whose tasks fail for good is run again up to ``retries`` times.
Nothing is averaged before every task of the round has returned.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._compat import (
    DEFAULT_CHUNK_BYTES,
    DivergenceWarning,
    History,
    as_dask,
    as_rows,
    attach_histories,
    check_features,
    check_positive_int,
    check_writable,
    choose_engine,
    engine_names,
    evaluate,
    get_client,
    local_fit,
    make_optimizer,
    metric_name,
    starting_state,
    stops,
    target_loss,
    warn_too_large,
)


@dataclass
class DaskHistory(History):
    """What :func:`fit` did, round by round: a :class:`vecnet.History` whose entries are rounds.

    ``loss`` is the row-weighted mean of the partitions' training losses,
    ``epoch_time`` the seconds of each round (tasks, transfers and averaging),
    ``compile_time`` the seconds spent warming the kernels on the workers.

    Attributes
    ----------
    partition_rows : list of int
        Rows of each partition, in order.
    syncs : int
        Averages taken (``rounds`` without ``sync_every``).
    retried : int
        Rounds run again after their tasks failed.
    """

    partition_rows: list = field(default_factory=list)
    syncs: int = 0
    retried: int = 0

    @property
    def rounds(self):
        """Number of rounds completed."""
        return len(self.loss)


def _seeded_order(n, seed, rnd, part, epoch, shuffle):
    """The visiting order of epoch ``epoch`` of a round, as :func:`vecnet.fit` draws it from the seed."""
    if not shuffle:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([seed, rnd, part]))
    for _ in range(epoch):
        rng.permutation(n)
    return rng.permutation(n)


def _train_partition(payload, Xp, yp, part, rnd, segment):
    """One task: train a copy of the payload's network on one partition; returns its new state.

    ``segment`` is ``None`` (``local_epochs`` whole epochs) or ``(epoch, lo, hi)``:
    rows ``lo:hi`` of that epoch's visiting order, for ``sync_every``.
    """
    net, options, encode, seed, starts = payload
    net = net.copy()   # the payload is shared by the tasks of a worker
    X = np.ascontiguousarray(Xp, dtype=net.dtype)
    Y = np.asarray(yp if encode is None else encode(yp))
    Y = np.ascontiguousarray(Y.reshape(len(Y), -1), dtype=net.dtype)
    whole = X, Y
    if options["engine"] == "numba":   # the kernel compiled in the warm-up takes writeable arrays
        X, Y = np.require(X, requirements="W"), np.require(Y, requirements="W")
    kwargs = dict(options)
    shuffle = kwargs.pop("shuffle")
    epochs = kwargs.pop("local_epochs")
    if segment is None:
        seed_seq = np.random.SeedSequence([seed, rnd, part])
        kwargs.update(epochs=epochs, shuffle=shuffle, seed=np.random.default_rng(seed_seq))
    else:
        epoch, lo, hi = segment
        order = _seeded_order(len(X), seed, rnd, part, epoch, shuffle)
        rows = slice(lo, hi) if order is None else order[lo:hi]
        X, Y = X[rows], Y[rows]
        kwargs.update(epochs=1, shuffle=False)
    kwargs["batch_size"] = min(kwargs["batch_size"] or len(X), len(X))
    try:
        history = local_fit(net, X, Y, **kwargs)
    except ValueError as exc:
        start = starts[part]
        raise ValueError(f"partition {part} (rows {start}-{start + len(whole[0]) - 1}): "
                         f"{_located(exc, net, *whole, start)}") from None
    state = net.optimizer_state
    return {"theta": net.theta, "memory": state.memory, "steps": int(state.steps[0]),
            "loss": float(np.mean(history.loss)), "rows": len(X),
            "diverged": history.stopped == "diverged"}


def _located(exc, net, X, Y, start):
    """The message of ``exc``; if the partition's data is at fault, the check's with rows of the whole array.

    ``exc`` comes from training on a segment of ``X`` and ``Y`` (the partition, rows
    ``start:`` of the whole array), possibly shuffled, so any row it names is relative
    to that segment: the partition is checked again in its own order to name the row.
    """
    try:
        as_rows(X, Y, net.sizes[0], net.sizes[-1], net.dtype, target_loss=target_loss(net), row_offset=start)
    except ValueError as located:
        return str(located)
    return str(exc)


def _warm(net, options):
    """Compile (or load) the Numba kernel in this worker's process; runs through ``client.run``.

    The kernel of the training's kind: per sample for ``batch_size=1``, else the batch kernel
    (one kernel serves every batch size above 1).
    """
    X = np.zeros((2, net.sizes[0]), dtype=net.dtype)
    Y = np.zeros((2, net.sizes[-1]), dtype=net.dtype)
    kwargs = {k: v for k, v in options.items() if k not in ("shuffle", "local_epochs")}
    local_fit(net.copy(), X, Y, **{**kwargs, "epochs": 1, "batch_size": 1 if options["batch_size"] == 1 else 2})
    return True


def _average(results):
    """Row-weighted averages of the partitions' weights and optimizer memory, summed in partition order."""
    total = sum(r["rows"] for r in results)
    theta = np.zeros_like(results[0]["theta"])
    memory = np.zeros_like(results[0]["memory"])
    for r in results:
        w = r["rows"] / total
        theta += w * r["theta"]
        memory += w * r["memory"]
    return theta, memory, max(r["steps"] for r in results)


def _run_sync(client, scatter, tasks, rnd, retries, history, placement):
    """Submit one task per ``(partition, X part, y part, segment)``, gather all; retry the lot on failure.

    ``scatter()`` puts the round's payload (the network and settings) on the workers, once per
    attempt: a lost worker may have held its only copy, which no retry could then recover.
    """
    from concurrent.futures import CancelledError

    from distributed import KilledWorker

    for attempt in range(retries + 1):
        payload = scatter()
        futures = [client.submit(_train_partition, payload, xp, yp, p, rnd, seg, pure=False,
                                 workers=placement.get(p), allow_other_workers=True)
                   for p, xp, yp, seg in tasks]
        try:
            return client.gather(futures)
        except (KilledWorker, CancelledError, OSError) as exc:   # lost workers: run the round again
            if attempt == retries:
                raise
            history.retried += 1
            warnings.warn(f"round {rnd}: {type(exc).__name__} ({exc}); running it again",
                          UserWarning, stacklevel=4)
        except BaseException:   # Ctrl-C, a task's error: the others' results would go unread
            with contextlib.suppress(Exception):
                client.cancel(futures)
            raise


def _row_keys(a):
    """The keys of ``a``'s chunks in row order (one column chunk)."""
    return [k[0] if isinstance(k, list) else k for k in a.__dask_keys__()]


def _partitions(client, X, Y):
    """Persist ``X`` and ``Y`` on the workers; ``[(X future, Y future)]`` in partition order."""
    from distributed import futures_of

    X, Y = client.persist([X, Y])
    keyed = {f.key: f for f in futures_of(X) + futures_of(Y)}
    parts = [(keyed[kx], keyed[ky]) for kx, ky in zip(_row_keys(X), _row_keys(Y))]
    try:   # distributed.wait would ask for the default client, which ``client`` need not be
        from distributed.client import _wait

        client.sync(_wait, [f for pair in parts for f in pair])
    except ImportError:   # then the placement knows no holders and only balances the rows
        pass
    return parts


def _placement(client, parts, sizes):
    """Partition -> ``[worker]``: on a worker holding it while that worker stays within its share
    of the rows, else on the worker with the fewest rows (moved there once, then kept).

    Only where the tasks run depends on it, never what they compute.
    """
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        return {}
    holders = client.who_has([xp for xp, _ in parts])
    share = sum(sizes) / len(workers)
    load = dict.fromkeys(workers, 0)
    placement = {}
    for p, ((xp, _), rows) in enumerate(zip(parts, sizes)):
        held = [w for w in holders.get(xp.key, ()) if w in load and (load[w] == 0 or load[w] + rows <= share * 1.01)]
        w = min(held or workers, key=lambda w: (load[w], w))
        load[w] += rows
        placement[p] = [w]
    return placement


def fit(net, X, y, *, rounds=10, local_epochs=1, sync_every=None, batch_size=1, lr=None,
        optimizer="sgd", engine="auto", shuffle=False, seed=0, validation_data=None, callbacks=(),
        client=None, retries=2, _encode=None):
    """Train ``net`` in place by local SGD on the partitions of dask arrays ``X`` and ``y``.

    Parameters
    ----------
    net : vecnet.Network
    X : dask.array.Array, shape (n_samples, n_features)
        Its row chunks are the partitions; column chunks are joined. A numpy
        array is one partition.
    y : dask.array.Array or array-like, shape (n_samples,) or (n_samples, n_outputs)
        Rechunked to the row chunks of ``X``.
    rounds : int, default 10
    local_epochs : int, default 1
        Epochs each partition trains between two averages (without ``sync_every``).
    sync_every : int, optional
        Average every ``sync_every`` batches of each partition instead (each round
        is then ``local_epochs`` epochs cut into segments of that many batches).
    batch_size : int or None, default 1
        As :func:`vecnet.fit`'s (``None``: a whole partition).
    lr, optimizer : as :func:`vecnet.fit`'s
    engine : {"auto", "numpy", "numba"}, default "auto"
        ``"auto"`` is decided once, on the client, for the whole fit.
    shuffle : bool, default False
        Shuffle each partition's rows every epoch, drawn from
        ``SeedSequence([seed, round, partition])``.
    seed : int >= 0 or None, default 0
        None draws fresh entropy (a fit that cannot be repeated).
    validation_data : (X_val, y_val), optional
        Evaluated on the client after every round (dask arrays are streamed).
    callbacks : sequence of callables, optional
        ``callback(round, logs)`` after every round; one returning True stops (any
        other return value is ignored, as in :func:`vecnet.fit`).
    client : distributed.Client, optional
        Defaults to the current client.
    retries : int, default 2
        Times a round whose tasks failed for good is run again.

    Returns
    -------
    DaskHistory

    Notes
    -----
    A round that raises (Ctrl-C, a task's error) puts ``net`` back as the last
    completed round left it, cancels the round's tasks, and records the
    completed rounds on the exception as ``exc.vecnet_histories``, as
    :func:`vecnet.fit` does for epochs.
    """
    check_writable(net.theta)
    client = get_client(client)
    rounds, local_epochs = check_positive_int(rounds, "rounds"), check_positive_int(local_epochs, "local_epochs")
    retries = check_positive_int(retries, "retries", minimum=0)
    if sync_every is not None:
        sync_every = check_positive_int(sync_every, "sync_every")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(engine, str) or engine not in engine_names(general=True):
        raise ValueError(f"engine must be one of {', '.join(map(repr, engine_names(general=True)))}, "
                         f"got {engine!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 (or None), got {seed!r}")
    X = check_features(as_dask(X, "X"))
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ValueError(f"X must have shape (n_samples, {net.sizes[0]}), got {X.shape}")
    Y = as_dask(y, "y", row_chunks=X.chunks[0])   # as many rows as X, or ValueError
    sizes = [int(c) for c in X.chunks[0] if c]
    if not sizes:
        raise ValueError(f"X has 0 samples (shape {X.shape}); at least 1 is needed")
    starts = tuple(int(s) for s in np.cumsum([0, *sizes[:-1]]))   # each partition's first row
    if len(sizes) < len(X.chunks[0]):   # no task for an empty chunk
        X, Y = X.rechunk({0: tuple(sizes)}), Y.rechunk({0: tuple(sizes)})
    opt = make_optimizer(optimizer, lr)
    if engine == "auto":
        engine = choose_engine(net, max(sizes), batch_size or max(sizes))
    options = {"engine": engine, "optimizer": opt, "batch_size": batch_size, "shuffle": bool(shuffle),
               "local_epochs": int(local_epochs)}
    val = None
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        val = as_rows(*validation_data, net.sizes[0], net.sizes[-1], net.dtype,
                      names=("validation X", "validation y"), target_loss=target_loss(net),
                      magnitude=False)   # evaluated only, as predict's input: not trained on
    state = net.optimizer_state = starting_state(net.optimizer_state, opt, net.n_params, net.dtype)
    history = DaskHistory(engine=engine, metric=metric_name(net.loss), streamed=True,
                          partition_rows=sizes)
    parts = _partitions(client, X, Y)
    placement = _placement(client, parts, sizes)
    if engine == "numba":
        t0 = time.perf_counter()
        client.run(_warm, net, options)
        history.compile_time = time.perf_counter() - t0
    if sync_every is None:
        plan = [[(p, None) for p in range(len(sizes))]]
    else:
        step = sync_every * (batch_size or max(sizes))
        plan = [[(p, (e, lo, min(lo + step, n))) for p, n in enumerate(sizes) if lo < n]
                for e in range(local_epochs) for lo in range(0, max(sizes), step)]
    for rnd in range(rounds):
        t0 = time.perf_counter()
        losses, saved = [], (net.theta.copy(), state.memory.copy(), state.steps.copy())
        syncs = history.syncs
        try:
            for sync in plan:
                tasks = [(p, *parts[p], seg) for p, seg in sync]
                results = _run_sync(client, lambda: client.scatter((net, options, _encode, seed, starts),
                                                                   broadcast=True, hash=False),
                                    tasks, rnd, retries, history, placement)
                if any(r["diverged"] for r in results):
                    net.theta[...], state.memory[...], state.steps[...] = saved
                    history.stopped = "diverged"
                    warnings.warn(f"training diverged in round {rnd + 1}: the loss or a weight stopped being "
                                  f"finite; the weights are those after round {rnd}. Try a smaller "
                                  f"learning rate.", DivergenceWarning, stacklevel=2)
                    return history
                net.theta[...], state.memory[...], state.steps[0] = _average(results)
                losses.extend((r["rows"], r["loss"]) for r in results)
                history.syncs += 1
        except BaseException as exc:   # Ctrl-C, an error: back to the end of the last completed round
            net.theta[...], state.memory[...], state.steps[...] = saved
            history.syncs = syncs
            attach_histories(exc, [history])
            raise
        total = sum(rows for rows, _ in losses)
        history.loss.append(sum(rows / total * loss for rows, loss in losses))   # 1.0 * loss: exact
        history.epoch_time.append(time.perf_counter() - t0)
        logs = {"loss": history.loss[-1], "time": history.epoch_time[-1]}
        if val is not None:
            val_loss, val_metric = evaluate(net, val, val.block_rows(DEFAULT_CHUNK_BYTES))
            history.val_loss.append(val_loss)
            history.val_metric.append(val_metric)
            logs.update({"val_loss": val_loss, f"val_{history.metric}": val_metric})
        if any([stops(cb(rnd, dict(logs))) for cb in callbacks]):   # True only, as in vecnet.fit
            history.stopped = "callback"
            break
    warn_too_large([net.theta], (), stacklevel=2)   # the last round's updates, after its loss was taken
    return history
