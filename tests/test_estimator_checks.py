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


def test_works_inside_scikit_learn_pipelines_and_searches():
    from sklearn.base import is_classifier, is_regressor
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    assert is_classifier(MLPClassifier()) and is_regressor(MLPRegressor())
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["mlpclassifier__hidden_layer_sizes"] in [(4,), (16,)]
    assert search.best_score_ > 0.85
    assert search.score(X, y) > 0.9
