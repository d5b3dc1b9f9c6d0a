"""Where Numba can write no cache at all (a read-only install, HOME and NUMBA_CACHE_DIR read-only, as in
a container or a serverless function), the compiled engine still trains: it compiles in every process
and says how to keep its kernels. Numba refuses outright to compile a function declared ``cache=True``
that it cannot cache; every fit on the compiled engine, the default one for small networks, failed
with "RuntimeError: cannot cache function '_pow2': no locator available".

The test makes such a machine in a private mount namespace (``unshare -m``: root only)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import vecnet

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import warnings
import vecnet
X, y = vecnet.article_data()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    net, auto = vecnet.Network([2, 2, 1], seed=0), vecnet.Network([2, 2, 1], seed=0)
    h = net.fit(X, y, epochs=20, lr=0.1, engine="numba")
    h_auto = auto.fit(X, y, epochs=20, lr=0.1)
print(sum("Set NUMBA_CACHE_DIR to a writable folder" in str(w.message) for w in caught))
print(h.engine, h_auto.engine, net.theta.tobytes().hex(), auto.theta.tobytes().hex())
"""


def _private_mounts():
    """True when this process may make a private mount namespace (root, and ``unshare`` works)."""
    if shutil.which("unshare") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _private_mounts(), reason="needs root and unshare -m (a private mount namespace)")
def test_the_compiled_engine_trains_where_numba_can_write_no_cache(tmp_path):
    package, read_only = tmp_path / "package", tmp_path / "read-only"
    shutil.copytree(ROOT / "vecnet", package / "vecnet", ignore=shutil.ignore_patterns("__pycache__"))
    read_only.mkdir()
    (tmp_path / "run.py").write_text(SCRIPT)
    mounts = " && ".join(f"mount --bind {d} {d} && mount -o remount,bind,ro {d} {d}" for d in (package, read_only))
    env = dict(os.environ, HOME=str(read_only), XDG_CACHE_HOME=str(read_only),
               NUMBA_CACHE_DIR=str(read_only / "numba"), PYTHONPATH=str(package))
    out = subprocess.run(["unshare", "-m", "sh", "-c", f"{mounts} && exec {sys.executable} {tmp_path / 'run.py'}"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    warned, line = out.stdout.split("\n", 1)
    assert warned == "1"   # once, at the first compile, however many fits
    engine, auto_engine, theta, auto_theta = line.split()
    X, y = vecnet.article_data()
    expected = vecnet.Network([2, 2, 1], seed=0)
    expected.fit(X, y, epochs=20, lr=0.1, engine="numba")
    assert (engine, auto_engine) == ("numba", "numba")
    assert theta == auto_theta == expected.theta.tobytes().hex()   # the same kernel, compiled there
    assert not any(read_only.iterdir()) and not list(package.rglob("*.nbi"))   # nothing written
