"""Local SGD on a LocalCluster against one process: throughput and test accuracy.

    PYTHONPATH=$PWD python benchmarks/dask_local_sgd.py [--rows 1000000] [--epochs 3]

Data: ``rows`` x 64 standard-normal features, 10 classes (the argmax of a fixed
random linear map of the features), generated
chunk by chunk from a seed, on the workers and identically in this process;
100,000 test rows from another seed. Network 64-128-64-10, relu/softmax, SGD
(lr 0.05, momentum 0.9) in batches of 64, the NumPy engine everywhere.

Reports (i) seconds per round (one epoch of every partition) on 1 and 2 worker
processes (1 thread each) and their ratio, against one epoch of ``vecnet.fit``
in this process (one BLAS thread everywhere); (ii) test accuracy of the one-process fit after ``epochs``
epochs and of local SGD after up to ``2 * epochs`` rounds, averaging once a
round and every ``sync_every`` batches. Goals (issue 12): ratio >= 1.6 on an
idle 2-core machine; accuracy within 1 point of one process.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")   # one BLAS thread, as distributed gives each worker

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_IN, N_OUT, CHUNK = 64, 10, 125_000
KW = dict(batch_size=64, optimizer="sgd", engine="numpy")


def make_block(seed, index, rows):
    """Rows of chunk ``index``: features and integer labels (the same wherever it runs)."""
    teacher = np.random.default_rng(12)   # one labelling rule for every seed
    B = teacher.standard_normal((N_IN, N_OUT))
    rng = np.random.default_rng([seed, index])
    X = rng.standard_normal((rows, N_IN))
    y = np.argmax(X @ B, axis=1)
    return X, y


def in_memory(seed, rows):
    parts = [make_block(seed, i, min(CHUNK, rows - lo)) for i, lo in enumerate(range(0, rows, CHUNK))]
    return np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def on_workers(seed, rows):
    import dask
    import dask.array as da

    sizes = [min(CHUNK, rows - lo) for lo in range(0, rows, CHUNK)]
    blocks = [dask.delayed(make_block, nout=2)(seed, i, n) for i, n in enumerate(sizes)]
    X = da.concatenate([da.from_delayed(b[0], (n, N_IN), np.float64) for b, n in zip(blocks, sizes)])
    y = da.concatenate([da.from_delayed(b[1], (n,), np.int64) for b, n in zip(blocks, sizes)])
    return X, y


def network():
    import vecnet

    return vecnet.Network([N_IN, 128, 64, N_OUT], activation="relu", output_activation="softmax",
                          loss="cce", init="he", seed=0)


def one_hot(y):
    return np.eye(N_OUT)[y]


def accuracy(net, X, y):
    return float(np.mean(net.predict(X).argmax(axis=1) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sync-every", type=int, default=250)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args(argv)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    sys.path.insert(0, str(ROOT))
    import distributed

    import vecnet
    import vecnet.dask as vd
    from vecnet.optimizers import SGD

    opt = dict(KW, optimizer=SGD(lr=args.lr, momentum=0.9))
    print(f"load before: {os.getloadavg()}")
    Xt, yt = make_block(1, 0, 100_000)
    X, y = in_memory(0, args.rows)
    Y = one_hot(y)
    net = network()
    times, accs = [], []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        vecnet.fit(net, X, Y, epochs=1, shuffle=True, seed=len(times), **opt)
        times.append(time.perf_counter() - t0)
        accs.append(accuracy(net, Xt, yt))
    print(f"one process: {np.median(times):.2f} s/epoch, test accuracy by epoch {accs}")
    del X, Y

    # Both clusters stay up and their rounds alternate, so that both see the same load.
    clusters, data = {}, {}
    for workers in (1, 2):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
        dX, dy = on_workers(0, args.rows)
        dY = dy.map_blocks(one_hot, new_axis=1, chunks=(dy.chunks[0], (N_OUT,)), dtype=np.float64)
        dX, dY = client.persist([dX, dY])
        client.compute([dX.sum(), dY.sum()], sync=True)   # generated before any timing
        clusters[workers], data[workers] = (cluster, client), (dX, dY)
    configs = [(1, None), (2, None), (2, args.sync_every)]
    nets = {c: network() for c in configs}
    results = {c: ([], []) for c in configs}
    for r in range(2 * args.epochs):
        for workers, sync in configs:
            if workers == 1 and r >= 2:
                continue   # the same bits as 2 workers: only its time is of interest
            h = vd.fit(nets[workers, sync], *data[workers], rounds=1, sync_every=sync, shuffle=True, seed=r,
                       client=clusters[workers][1], **opt)
            results[workers, sync][0].append(round(h.epoch_time[-1], 2))
            results[workers, sync][1].append(accuracy(nets[workers, sync], Xt, yt))
    for (workers, sync), (round_times, accs) in results.items():
        print(f"{workers} worker(s), sync_every={sync}: {np.median(round_times):.2f} s/round "
              f"(rounds {round_times}), test accuracy by round {accs}")
    for cluster, client in clusters.values():
        client.close()
        cluster.close()
    results = {c: (np.median(t[:2]), a) for c, (t, a) in results.items()}
    ratio = results[1, None][0] / results[2, None][0]
    print(f"throughput 2 workers / 1 worker: {ratio:.2f} (goal >= 1.6 idle)")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
