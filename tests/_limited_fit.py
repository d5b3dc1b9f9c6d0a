"""Run in a subprocess by test_data_in.py: fit on a file bigger than a resource limit allows.

Usage: python _limited_fit.py {as,data} X.npy y.npy HEADROOM_BYTES

Loads the kernels first, then sets RLIMIT_AS ("as": the whole address space,
mappings included; the data is read with vecnet.open_npy) or RLIMIT_DATA
("data": heap and private mappings; the data is a read-only float32
numpy.memmap, a shared mapping that is not counted, trained in float64) to the current use plus
HEADROOM_BYTES, shows that the file cannot be held whole under that limit,
then trains one epoch on it and prints a JSON summary.
"""

import json
import resource
import sys

import numpy as np

import vecnet


def status(key):
    """A /proc/self/status entry in bytes."""
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def main(mode, x_path, y_path, headroom):
    dtype = np.float32 if mode == "as" else np.float64     # "data": a float32 file streamed into float64
    net = vecnet.Network([10, 4, 1], activation="tanh", output_activation="sigmoid", loss="bce",
                         init="glorot", seed=0, dtype=dtype)
    small = np.zeros((4, 10), dtype), np.zeros(4, dtype)
    # load the kernel the fit below runs first (the same optimizer: a compile under the limit
    # would use the headroom the test gives the data)
    net.copy().fit(*small, epochs=1, batch_size=32, engine="numba", optimizer="adam")
    limit_kind, used = ((resource.RLIMIT_AS, status("VmSize")) if mode == "as"
                        else (resource.RLIMIT_DATA, status("VmData")))
    limit = used + headroom
    resource.setrlimit(limit_kind, (limit, limit))
    out = {"limit_headroom": headroom}
    try:
        np.load(x_path)
        out["whole_load"] = "ok"
    except MemoryError:
        out["whole_load"] = "MemoryError"
    if mode == "as":
        X, y = vecnet.open_npy(x_path), vecnet.open_npy(y_path)
        try:
            np.load(x_path, mmap_mode="r")
            out["memmap"] = "ok"
        except (OSError, MemoryError, ValueError):
            out["memmap"] = "failed"
    else:
        X, y = np.load(x_path, mmap_mode="r"), np.load(y_path, mmap_mode="r")
        out["memmap"] = "ok"
        try:
            np.array(X)
            out["whole_copy"] = "ok"
        except MemoryError:
            out["whole_copy"] = "MemoryError"
    theta0 = net.theta.copy()
    history = net.fit(X, y, epochs=1, batch_size=32, engine="numba", optimizer="adam",
                      chunk_bytes=16 * 2**20)
    out.update(loss=history.loss, streamed=history.streamed, dtype=str(net.theta.dtype),
               changed=bool((net.theta != theta0).any()), finite=bool(np.isfinite(net.theta).all()),
               n_rows=len(X), file_bytes=int(np.prod(X.shape)) * X.dtype.itemsize)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
