"""vecnet on Dask: predict on dask arrays and train data-parallel on a ``distributed`` cluster.

Needs the ``dask`` extra (``pip install "vecnet[dask]"``: ``dask[array]`` and
``distributed``); importing this module does not import dask, calling its
functions does.

- :func:`predict`: a model's predictions on a dask array, as a dask array
  (``map_blocks``; the model is one task of the graph, sent to each worker once).
- :func:`fit`: data-parallel *local SGD*. Each round, every partition (row chunk)
  of the data trains a copy of the network from the same weights, with
  :func:`vecnet.fit`, on the worker that holds it; the client then averages the
  copies weighted by their rows, summed in partition order. The result depends
  on the chunking and the seed only, never on the number of workers or timing.
- :class:`DaskMLPClassifier`, :class:`DaskMLPRegressor`: the estimators trained
  that way; ``to_local()`` gives the plain :class:`vecnet.MLPClassifier` /
  :class:`vecnet.MLPRegressor`.

Plain :func:`vecnet.fit` (and ``Network.fit``) also take dask arrays, streamed
one chunk at a time in one process: see :mod:`vecnet.data.rows`.
"""

from ._estimators import DaskMLPClassifier, DaskMLPRegressor
from ._fit import DaskHistory, fit
from ._predict import predict

__all__ = ["DaskHistory", "DaskMLPClassifier", "DaskMLPRegressor", "fit", "predict"]
