"""Atomic file writes: a temporary file beside the target, flushed, locked while written, renamed over it.

A failure at any point removes the temporary file and leaves any previous file
untouched. A write killed outright (SIGKILL, power loss) cannot clean up: its
temporary ``.{name}.XXXXXXXX.tmp`` stays until the next write to the same
target removes it (see :func:`remove_stale_temporaries`). :func:`vecnet.save`
and the interop exporters write through :func:`atomic_write`.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time

try:
    import fcntl
except ImportError:   # Windows: staleness by age alone
    fcntl = None


STALE_AFTER = 60.0
"""Seconds after which an unlocked temporary of a save is stale (its writer died)."""


def _temporary_pattern(path):
    """The names :func:`tempfile.mkstemp` gives the temporaries of saves to ``path``."""
    return re.compile(re.escape(f".{os.path.basename(path)}.") + r"[a-z0-9_]{8}" + re.escape(".tmp"))


def remove_stale_temporaries(path, now=None):
    """Remove temporaries that saves to ``path`` left when killed (SIGKILL, power loss).

    Only files named as :func:`atomic_write` names them for this target
    (``.{name}.XXXXXXXX.tmp``), in the target's folder, regular files owned by
    this user, older than :data:`STALE_AFTER` seconds and not locked by a
    writer (every save holds a lock on its temporary while it writes; the
    system releases it when the writer dies). Returns the paths removed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    pattern = _temporary_pattern(path)
    now = time.time() if now is None else now
    removed = []
    try:
        names = [n for n in os.listdir(folder) if pattern.fullmatch(n)]
    except OSError:
        return removed
    for name in names:
        candidate = os.path.join(folder, name)
        try:
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if (not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_AFTER
                    or hasattr(os, "getuid") and st.st_uid != os.getuid()):
                continue
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:   # a live save is writing it
                    continue
            os.unlink(candidate)
            removed.append(candidate)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary file in ``path``'s folder, then rename it to ``path``.

    The temporary file is flushed to disk and locked while written (stale ones
    of earlier, killed writes to ``path`` are removed first); a failure leaves
    any previous file at ``path`` untouched and removes the temporary file. A symbolic link
    at ``path`` stays: the file it points to is the one replaced.
    """
    path = os.fspath(path)
    if os.path.islink(path):   # the rename would replace the link itself with a file
        path = os.path.realpath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the directory {folder} does not exist")
    if os.path.isdir(path):   # else the rename fails naming the temporary file
        raise IsADirectoryError(f"cannot save to {path}: it is a directory; name a file in it")
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        if fcntl is not None:   # held until the file is closed: marks it as in use
            fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable where the platform allows it
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
