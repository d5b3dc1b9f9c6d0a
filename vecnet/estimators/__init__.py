"""scikit-learn style estimators on top of :func:`vecnet.fit`.

- :mod:`vecnet.estimators._base`: what a scikit-learn style estimator needs, without scikit-learn.
- :mod:`vecnet.estimators._mlp`: the training shared by the two estimators.
- :mod:`vecnet.estimators.mlp`: :class:`MLPClassifier` and :class:`MLPRegressor`.
"""

from ._base import ConvergenceWarning, DataConversionWarning, NotFittedError
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["ConvergenceWarning", "DataConversionWarning", "MLPClassifier", "MLPRegressor", "NotFittedError"]
