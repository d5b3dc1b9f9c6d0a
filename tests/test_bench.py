"""``vecnet bench``, ``engine="auto"`` and the kernel's speed-minded arithmetic."""

import json
import math
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import vecnet
from vecnet import bench
from vecnet.cli import main
from vecnet.codes import TANH
from vecnet.engines import _kernel_pieces, choose_engine

TINY = (replace(bench.ARTICLE, epochs=3),
        replace(bench.SMALL, n_samples=64, sizes=(4, 8, 1)),
        replace(bench.WIDE, n_samples=40, sizes=(12, 8, 6, 3), batch_size=16,
                engines=("numpy", "numpy-hand", "numba")))


@pytest.fixture
def tiny_matrix(monkeypatch):
    monkeypatch.setattr(bench, "QUICK", TINY)
    monkeypatch.setattr(bench, "WORKLOADS", TINY)


def test_bench_prints_a_table_with_speedups_and_saves_json(tiny_matrix, tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "x loop" in out and "x numpy" in out and "[1/" in err
    saved = json.loads(path.read_text())
    rows = saved["rows"]
    assert {(r["workload"], r["engine"]) for r in rows} == {
        (w.name, e) for w in TINY for e in w.engines}
    for r in rows:
        assert r["seconds"] > 0
        assert r["unit"] == ("update" if r["workload"] == "article" else "epoch")
        same = {x["engine"]: x["seconds"] for x in rows if x["label"] == r["label"]}
        if "numpy" in same:
            assert r["vs_numpy"] == pytest.approx(same["numpy"] / r["seconds"])
        if "reference" in same:
            assert r["vs_loop"] == pytest.approx(same["reference"] / r["seconds"])
        else:
            assert r["vs_loop"] is None
    assert saved["machine"]["cores"] == os.cpu_count()


def test_peers_say_not_installed_when_missing(tiny_matrix, monkeypatch, capsys):
    from vecnet.bench import peers as _peers

    monkeypatch.setattr(_peers, "MODULES", {"torch": "no_such_module_x", "sklearn": "no_such_module_y"})
    assert main(["bench", "--quick", "--peers"]) == 0
    out = capsys.readouterr().out
    assert out.count("not installed (pip install torch)") == len(TINY)
    assert out.count('not installed (pip install "vecnet[peers]")') == len(TINY)


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["bench", "--quick", "--plot", str(tmp_path / "b.png")]) == 2
    assert 'pip install "vecnet[plot]"' in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


@pytest.mark.parametrize("option", ["--plot", "--json"])
def test_an_output_path_that_cannot_be_written_is_refused_before_the_runs(option, tmp_path, capsys,
                                                                          monkeypatch):
    if option == "--plot":
        pytest.importorskip("matplotlib")
    monkeypatch.setattr(bench, "run_matrix", lambda *a, **k: pytest.fail("the runs started"))
    path = tmp_path / "missing" / "b.png"
    assert main(["bench", "--quick", option, str(path)]) == 2
    assert f"{option} {path}: the folder {tmp_path / 'missing'} does not exist" in capsys.readouterr().err


def test_plot_is_written_when_matplotlib_is_there(tiny_matrix, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "b.png"
    assert main(["bench", "--quick", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Winners measured one epoch each (numpy against numba) on [w, w, w, 1] networks;
# see benchmarks/test_bench_crossover.py and the comment above choose_engine.
MEASURED = [((4, 4, 4, 1), 256, "numba"), ((16, 16, 16, 1), 64, "numba"),
            ((64, 64, 64, 1), 16, "numba"), ((256, 256, 256, 1), 1, "numba"),
            ((16, 16, 16, 1), 1024, "numpy"), ((64, 64, 64, 1), 64, "numpy"),
            ((256, 256, 256, 1), 16, "numpy"), ((10, 32, 32, 1), 32, "numba"),
            ((784, 256, 128, 10), 128, "numpy")]


@pytest.mark.parametrize("sizes, batch, winner", MEASURED)
def test_auto_picks_the_measured_winner(sizes, batch, winner):
    net = vecnet.Network(sizes, seed=0)
    assert choose_engine(net, 10_000, batch) == winner


def test_auto_choice_is_reported_in_the_history():
    X, y = vecnet.synthetic(64, n_features=4, seed=0)
    small = vecnet.Network([4, 4, 1], seed=0).fit(X, y, epochs=1, batch_size=8)
    wide = vecnet.Network([4, 300, 1], seed=0).fit(X, y, epochs=1, batch_size=64)
    assert (small.engine, wide.engine) == ("numba", "numpy")


@pytest.mark.parametrize("scale", [1e-300, 1e-12, 1e-6, 0.009, 0.011, 0.5, 3.0, 20.0, 400.0])
def test_kernel_tanh_is_within_3e_15_of_math_tanh(scale):
    x = np.random.default_rng(0).uniform(-1, 1, 2000) * scale
    got = x.copy()
    _kernel_pieces._tanh_layer(TANH, got, 0, len(got))   # the kernels' tanh, in place
    want = np.array([math.tanh(v) for v in x])
    assert np.all(np.abs(got - want) <= 3e-15 * np.abs(want))
    assert np.all(np.sign(got) == np.sign(want))


_TWIN = """
import numpy as np, vecnet
out = []
for act, loss, out_act in [("tanh", "mse", "sigmoid"), ("tanh", "cce", "softmax"), ("relu", "bce", "sigmoid")]:
    for opt in (vecnet.SGD(lr=0.02, momentum=0.5, nesterov=True), vecnet.Adam(lr=0.01)):
        for batch in (1, 7):
            X, y = vecnet.synthetic(40, n_features=3, n_outputs=2, seed=3)
            if loss == "cce":
                y = np.eye(2)[(y[:, 0] > y[:, 1]).astype(int)]
            net = vecnet.Network([3, 5, 4, 2], activation=act, output_activation=out_act, loss=loss, seed=5)
            net.fit(X / 10, y, epochs=4, batch_size=batch, optimizer=opt, engine="numba")
            out.append(net.theta.tobytes().hex())
print(" ".join(out))
"""


def test_kernel_is_bit_identical_without_jit():
    """Compiled and interpreted (NUMBA_DISABLE_JIT=1) kernels give the same bits, tanh included."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = []
    for disable in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=disable,
                   PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
        runs.append(subprocess.run([sys.executable, "-c", _TWIN], env=env, capture_output=True,
                                   text=True, check=True).stdout.split())
    assert len(runs[0]) == 12 and runs[0] == runs[1]
