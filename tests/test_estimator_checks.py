"""scikit-learn's estimator checks on MLPClassifier and MLPRegressor.

Skipped where scikit-learn is missing (``pip install "vecnet[test]"`` installs it).
vecnet never imports scikit-learn itself; only these checks do.
"""

import pytest

pytest.importorskip("sklearn", minversion="1.6",
                    reason="the estimator checks need scikit-learn >= 1.6: pip install scikit-learn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from vecnet import MLPClassifier, MLPRegressor  # noqa: E402


pytestmark = pytest.mark.filterwarnings("ignore::vecnet.ConvergenceWarning")


@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
