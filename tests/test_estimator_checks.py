"""scikit-learn's estimator checks on MLPClassifier and MLPRegressor.

Skipped where scikit-learn is missing (``pip install "vecnet[test]"`` installs it).
vecnet never imports scikit-learn itself; only these checks do.
"""

import warnings

import pytest

pytest.importorskip("sklearn", minversion="1.6",
                    reason="the estimator checks need scikit-learn >= 1.6: pip install scikit-learn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from vecnet import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::vecnet.ConvergenceWarning")


with warnings.catch_warnings():
    # By design the estimators do not inherit from sklearn.base.BaseEstimator (vecnet does
    # not import scikit-learn); scikit-learn warns about that, and the checks below are what
    # show that nothing is lost.
    warnings.filterwarnings("ignore", message="Estimator .* does not inherit from", category=UserWarning)
    checks = parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])


@checks
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
