"""``vecnet bench``: the engines side by side on a small matrix of workloads.

The jobs (:class:`Workload`, :data:`WORKLOADS`, :data:`QUICK`) live in
:mod:`vecnet.bench.workloads`. Each
engine trains the same network from the same initial weights on the same data;
the time reported is the best of a few rounds taken in turn across the engines
(:func:`time_runs`), after a warm-up run on a slice of the data, so the Numba
JIT compile (or cache load) is never in it; it is reported apart
(:func:`compile_time`).

The pytest-benchmark suites in ``benchmarks/`` use the same workloads and
runners, so the two never disagree about what is measured.

Besides the engines, three kinds of runner:

- ``"numpy-hand"``: :func:`handwritten_numpy`, a plain NumPy loop with the
  engine's arithmetic (ReLU hidden layers, softmax and cross-entropy), the
  ceiling for the ``"numpy"`` engine on wide networks;
- ``"blas-floor"``: :func:`blas_floor`, the matrix products of those steps
  alone (it trains nothing): the floor under any NumPy engine;
- peers (``--peers``): PyTorch on the CPU and scikit-learn's MLP, on the same
  layer sizes, batches and epochs (see :mod:`vecnet.bench.peers`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict

import numpy as np

from ..data.options import check_figure_path, check_output_path
from ..engines import ENGINES
from .workloads import (  # noqa: F401  (re-exported: the benchmarks use bench.SMALL etc.)
    ARTICLE,
    FULL,
    QUICK,
    SGD_10K,
    SGD_100K,
    SMALL,
    SMALL_TANH,
    WIDE,
    WORKLOADS,
    Workload,
    blas_floor,
    handwritten_numpy,
)

ENGINE_ORDER = ("reference", "numpy", "numba", "numpy-hand", "torch", "sklearn")
"""Order of the runners in the plot; any other registered engine follows."""


def _engine_runner(engine):
    def run(w, net, X, Y, epochs=None, n=None):
        n = X.shape[0] if n is None else n
        batch = w.batch_size if w.batch_size is None else min(w.batch_size, n)
        net.fit(X[:n], Y[:n], epochs=w.epochs if epochs is None else epochs, lr=w.lr,
                batch_size=batch, engine=engine)
    return run


def _floor_runner(w, net, X, Y, epochs=None, n=None):
    n = X.shape[0] if n is None else n
    blas_floor(net, X[:n], n if w.batch_size is None else w.batch_size, w.epochs if epochs is None else epochs)


def _hand_runner(w, net, X, Y, epochs=None, n=None):
    n = X.shape[0] if n is None else n
    handwritten_numpy(net, X[:n], Y[:n], w.batch_size, w.epochs if epochs is None else epochs, w.lr)


def runner(engine):
    """``run(workload, net, X, Y, epochs=None, n=None)`` training ``net`` in place with ``engine``."""
    if engine in ENGINES:
        return _engine_runner(engine)
    if engine == "numpy-hand":
        return _hand_runner
    if engine == "blas-floor":
        return _floor_runner
    if engine in ("torch", "sklearn"):
        from . import peers as _peers

        return _peers.runner(engine)
    raise ValueError(f"unknown runner {engine!r}")


def time_runs(w, engines, repeat=5, budget=1.0, data=None, progress=None):
    """Best seconds of up to ``repeat`` runs of ``w`` with each of ``engines``: ``{engine: seconds}``.

    Each engine first runs once on the first 64 samples for one epoch (the JIT
    compile or cache load is not timed); then the timed runs go round the
    engines in turn, so that a machine whose load changes slows them alike. An
    engine stops being repeated once its runs have taken ``budget`` seconds.
    ``data`` is ``(X, Y)`` to reuse; ``progress(engine)`` is called before each run.
    """
    X, Y = w.data() if data is None else data
    start_net = w.network()
    runs = {e: runner(e) for e in engines}
    for run in runs.values():
        run(w, start_net.copy(), X, Y, epochs=1, n=min(len(X), 64))
    best = {e: float("inf") for e in engines}
    spent = {e: 0.0 for e in engines}
    for _ in range(repeat):
        for engine, run in runs.items():
            if spent[engine] >= budget:
                continue
            if progress:
                progress(engine)
            net = start_net.copy()
            t0 = time.perf_counter()
            run(w, net, X, Y)
            elapsed = time.perf_counter() - t0
            best[engine] = min(best[engine], elapsed)
            spent[engine] += elapsed
    return best


_COMPILE_SCRIPT = """
import numpy as np
from vecnet.bench import workloads
w = workloads.{name}
X, Y = w.data()
net = w.network()
batch = w.batch_size if w.batch_size in (None, 1) else min(w.batch_size, 2)
h = net.fit(X[:2], Y[:2], epochs=1, batch_size=batch, lr=w.lr, engine="numba")
print(h.compile_time)
"""


def compile_time(workload="ARTICLE", disable_jit=False):
    """Seconds to compile one configuration's Numba kernel from nothing: a fresh process, an empty cache.

    Runs a fit of the workload's network (``workload`` names one in
    :mod:`vecnet.bench.workloads`, e.g. ``"ARTICLE"``, ``"SMALL"``, ``"WIDE"``) on
    two samples in a subprocess whose ``NUMBA_CACHE_DIR`` is a new temporary
    directory, and returns the compile time that fit records (the time until
    its kernel is ready). With ``disable_jit`` the subprocess runs with
    ``NUMBA_DISABLE_JIT=1`` (a quick check that the measurement itself works).
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory(prefix="vecnet-jit-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                   PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
        if disable_jit:
            env["NUMBA_DISABLE_JIT"] = "1"
        out = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT.format(name=workload)], env=env,
                             capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def machine():
    """CPU model, core count, Python, NumPy and Numba versions."""
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__}


def run_matrix(workloads, peers=False, progress=None):
    """Time every engine of every workload; return a list of row dicts.

    Each row: ``workload``, ``label``, ``engine``, ``seconds``, ``unit``
    (``"update"`` or ``"epoch"``), ``per_unit`` (seconds per unit),
    ``vs_loop`` and ``vs_numpy`` (speed-ups, or None), and ``note``.
    """
    from . import peers as _peers

    rows = []
    total = sum(len(w.engines) + (len(_peers.PEERS) if peers else 0) for w in workloads)
    for w in workloads:
        engines = w.engines + (_peers.PEERS if peers else ())
        notes = {e: _peers.missing(e) for e in engines}
        present = [e for e in engines if not notes[e]]
        done = len(rows)
        times = time_runs(w, present, progress=progress and (
            lambda e, done=done, present=present, w=w:
                progress(f"[{done + present.index(e) + 1}/{total}] {w.name}: {e}")))
        for engine in engines:
            seconds = times.get(engine)
            rows.append({"workload": w.name, "label": w.label(), "engine": engine,
                         "seconds": seconds, "unit": "update" if w.per_update else "epoch",
                         "per_unit": seconds and seconds / (w.updates if w.per_update else w.epochs),
                         "vs_loop": None, "vs_numpy": None,
                         "note": notes[engine] or _peers.NOTES.get(engine, "")})
    for row in rows:
        same = {r["engine"]: r["seconds"] for r in rows if r["label"] == row["label"]}
        if row["seconds"]:
            for key, base in (("vs_loop", "reference"), ("vs_numpy", "numpy")):
                if same.get(base):
                    row[key] = same[base] / row["seconds"]
    return rows


def _fmt_time(seconds):
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def format_table(rows):
    """The rows as a plain-text table."""
    head = ("workload", "engine", "time", "x loop", "x numpy")
    lines = []
    for r in rows:
        t = f"{_fmt_time(r['per_unit'])}/{r['unit']}" if r["per_unit"] else r["note"]
        lines.append((r["label"], r["engine"], t,
                      f"{r['vs_loop']:.1f}" if r["vs_loop"] else "",
                      f"{r['vs_numpy']:.2f}" if r["vs_numpy"] else ""))
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(len(head))]
    out = ["  ".join(h.ljust(wd) if i < 3 else h.rjust(wd) for i, (h, wd) in enumerate(zip(head, widths)))]
    out.append("  ".join("-" * wd for wd in widths))
    last = None
    for line in lines:
        label = "" if line[0] == last else line[0]
        last = line[0]
        cells = (label,) + line[1:]
        out.append("  ".join(c.ljust(wd) if i < 3 else c.rjust(wd)
                             for i, (c, wd) in enumerate(zip(cells, widths))).rstrip())
    return "\n".join(out)


def plot(rows, path):
    """A bar chart of every engine's speed-up against NumPy, one group per workload, saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["label"] for r in rows))
    order = (*ENGINE_ORDER, *(e for e in ENGINES if e not in ENGINE_ORDER))
    engines = [e for e in order if any(r["engine"] == e and r["vs_numpy"] for r in rows)]
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.5 * len(names) * max(len(engines), 1) ** 0.5))
    height = 0.8 / max(len(engines), 1)
    for j, engine in enumerate(engines):
        values = [next((r["vs_numpy"] or 0 for r in rows if r["label"] == n and r["engine"] == engine), 0)
                  for n in names]
        ax.barh([i + j * height for i in range(len(names))], values, height, label=engine)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(names))], names, fontsize=8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up against the numpy engine (log scale; higher is faster)")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _progress_printer(stream):
    tty = stream.isatty()

    def show(message):
        if tty:
            stream.write("\r\033[K" + message)
        else:
            stream.write(message + "\n")
        stream.flush()
    return show


def main(args, out=print):
    """``vecnet bench``: run the matrix, print the table, save JSON and a plot if asked."""
    if args.plot:   # before the runs: matplotlib installed, a folder to write in, a file type it writes
        check_figure_path(args.plot)
    if args.json:
        check_output_path(args.json, "--json", "JSON file", "bench.json")
    workloads = QUICK if args.quick else WORKLOADS
    progress = _progress_printer(sys.stderr)
    progress("compiling (or loading) the numba kernels ...")
    jit, kernels = _warm_numba(workloads)
    rows = run_matrix(workloads, peers=args.peers, progress=progress)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    info = machine()
    out(f"vecnet bench on {info['cpu']} ({info['cores']} cores), numpy {info['numpy']}, "
        f"numba {info['numba']}")
    out(f"numba kernels ready in {jit:.2f} s ({kernels} configurations compiled or loaded from "
        f"the cache; not in the times below)")
    out("")
    out(format_table(rows))
    out("")
    out("x loop: speed-up against the per-scalar reference; x numpy: against the numpy engine. "
        "Best of up to 5 rounds taken in turn (1 s per engine at most) after a warm-up.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "jit_seconds": jit, "rows": rows,
                       "workloads": [asdict(w) for w in workloads]}, f, indent=2)
        out(f"saved {args.json}")
    if args.plot:
        plot(rows, args.plot)
        out(f"saved {args.plot}")
    return 0


def _warm_numba(workloads):
    """Compile or load the kernel of every numba workload; ``(seconds, configurations)``."""
    t0 = time.perf_counter()
    count = 0
    for w in workloads:
        if "numba" not in w.engines:
            continue
        X, Y = w.data()
        batch = w.batch_size if w.batch_size in (None, 1) else min(w.batch_size, 2)
        h = w.network().fit(X[:2], Y[:2], epochs=1, batch_size=batch, lr=w.lr, engine="numba")
        count += h.compile_time > 0
    return time.perf_counter() - t0, count
