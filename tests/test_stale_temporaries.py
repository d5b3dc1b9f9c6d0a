"""Issue 10, class 8: a save killed with SIGKILL leaves a temporary that the next save removes.

A real subprocess is killed in the middle of writing its temporary; the next
save to the same target removes it, while a temporary a live save is still
writing, a fresh one, and files of other names are left alone.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import vecnet
from vecnet.io import STALE_AFTER, remove_stale_temporaries

ROOT = Path(__file__).resolve().parents[1]
posix = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    import vecnet

    def stuck(f, **arrays):          # write a little, then hang as a long save would
        f.write(b"PK partial")
        f.flush()
        print("writing", flush=True)
        time.sleep(600)

    np.savez = stuck
    vecnet.Network([2, 3, 1], seed=0).save(sys.argv[1])
""")


def _start_writer(target):
    """A subprocess stuck in the middle of saving to ``target``, once it has said so."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temporaries(folder, name):
    return sorted(p for p in folder.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".tmp"))


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


@posix
def test_a_temporary_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "m.npz"
    proc = _start_writer(target)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (left,) = _temporaries(tmp_path, "m.npz")          # SIGKILL leaves it: nothing can run
    _age(left, STALE_AFTER + 5)
    vecnet.Network([2, 3, 1], seed=1).save(target)
    assert _temporaries(tmp_path, "m.npz") == []
    assert vecnet.load(target).sizes == [2, 3, 1]


@posix
def test_a_temporary_a_live_save_is_writing_is_kept(tmp_path):
    target = tmp_path / "m.npz"
    proc = _start_writer(target)
    try:
        (live,) = _temporaries(tmp_path, "m.npz")
        _age(live, STALE_AFTER + 5)                      # old, but locked by its writer
        vecnet.Network([2, 3, 1], seed=1).save(target)
        assert _temporaries(tmp_path, "m.npz") == [live]
    finally:
        proc.kill()
        proc.wait()
    assert remove_stale_temporaries(target) == [str(live)]   # its writer is gone now


def test_fresh_temporaries_and_other_files_are_left_alone(tmp_path):
    target = tmp_path / "m.npz"
    keep = {
        ".m.npz.abcd1234.tmp": 0,              # a fresh one: its save may have just begun
        ".m.npz.abcd123.tmp": 1000,            # not mkstemp's 8 characters
        ".m.npz.ABCD1234.tmp": 1000,           # not mkstemp's alphabet
        ".other.npz.abcd1234.tmp": 1000,       # another target's
        "m.npz.abcd1234.tmp": 1000,            # not hidden
        ".m.npz.abcd1234.tmp.bak": 1000,
        "notes.txt": 1000,
    }
    for name, age in keep.items():
        (tmp_path / name).write_bytes(b"x")
        _age(tmp_path / name, age)
    stale = tmp_path / ".m.npz.zz_99xyz.tmp"
    stale.write_bytes(b"x")
    _age(stale, STALE_AFTER + 1)
    vecnet.Network([2, 3, 1], seed=0).save(target)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "m.npz"])


@posix
def test_a_symlink_named_like_a_temporary_is_not_followed(tmp_path):
    outside = tmp_path / "precious"
    outside.write_bytes(b"keep me")
    _age(outside, 1000)
    link = tmp_path / ".m.npz.abcdefgh.tmp"
    link.symlink_to(outside)
    vecnet.Network([2, 3, 1], seed=0).save(tmp_path / "m.npz")
    assert outside.read_bytes() == b"keep me" and link.is_symlink()
