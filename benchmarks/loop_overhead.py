"""Loop overhead, run by hand: one compiled call vs per-epoch calls; streamed vs in-place data.

Usage: NUMBA_CACHE_DIR=... python benchmarks/loop_overhead.py (from the repository root).
Compile time is kept out of the timed rounds (a warm-up call first); best of 3 (2) rounds.
"""
import sys, time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import vecnet  # noqa: E402

def best(f, r=3):
    ts = []
    for _ in range(r):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

X, y = vecnet.synthetic(2000, n_features=10, seed=1)
X = X / 10
base = vecnet.Network([10, 16, 1], activation="tanh", output_activation="sigmoid", seed=0)
base.copy().fit(X, y, epochs=1, engine="numba")                   # compile outside the timing
one = best(lambda: base.copy().fit(X, y, epochs=500, engine="numba"))
per = best(lambda: base.copy().fit(X, y, epochs=500, engine="numba", callbacks=[lambda e, l: None]))
print(f"2000x10, [10,16,1], batch 1, 500 epochs numba: one call {one:.3f}s, per-epoch calls {per:.3f}s, ratio {per/one:.3f}")

n = 2_000_000
rng = np.random.default_rng(0)
X32 = rng.normal(size=(n, 10)).astype(np.float32)
y32 = (X32 @ rng.normal(size=10) > 0).astype(np.float32)
X64, y64 = X32.astype(np.float64), y32.astype(np.float64)
net = vecnet.Network([10, 16, 1], activation="tanh", output_activation="sigmoid", loss="bce", init="glorot", seed=0)
net.copy().fit(X64[:64], y64[:64], epochs=1, engine="numba", batch_size=32)
mem = best(lambda: net.copy().fit(X64, y64, epochs=1, engine="numba", batch_size=32), 2)
stream = best(lambda: net.copy().fit(X32, y32, epochs=1, engine="numba", batch_size=32), 2)
print(f"2e6x10 float32 data -> float64 net, batch 32, 1 epoch numba: in place (pre-converted) {mem:.3f}s, streamed 64 MB blocks {stream:.3f}s, ratio {stream/mem:.3f}")
