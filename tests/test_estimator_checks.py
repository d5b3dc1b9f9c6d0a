"""scikit-learn's estimator checks on MLPClassifier and MLPRegressor.

Skipped where scikit-learn is missing (``pip install "vecnet[test]"`` installs it).
vecnet never imports scikit-learn itself; only these checks do.
"""

import pickle
import warnings

import pytest

pytest.importorskip("sklearn", minversion="1.6",
                    reason="the estimator checks need scikit-learn >= 1.6: pip install scikit-learn")

from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.utils.estimator_checks import check_supervised_y_2d, parametrize_with_checks

import vecnet
from vecnet import MLPClassifier, MLPRegressor

# scikit-learn's class: vecnet's estimators warn with it too while scikit-learn is loaded.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


with warnings.catch_warnings():
    # By design the estimators do not inherit from sklearn.base.BaseEstimator (vecnet does
    # not import scikit-learn); scikit-learn warns about that, and the checks below are what
    # show that nothing is lost.
    warnings.filterwarnings("ignore", message="Estimator .* does not inherit from", category=UserWarning)
    checks = parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0),
                                      MLPClassifier(random_state=0, n_estimators=3),
                                      MLPRegressor(random_state=0, n_estimators=3)])


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


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_scikit_learns_warning_filter_silences_vecnet_in_check_supervised_y_2d(cls):
    """The check fits with a 1-D y, then a 2-D y: the first fit's ConvergenceWarning is silenced
    by a filter on scikit-learn's class (the check itself asserts the classifier's
    DataConversionWarning about the 2-D y)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_supervised_y_2d(cls.__name__, cls(random_state=0))
    assert [str(w.message) for w in caught] == []


def test_vecnets_twins_of_scikit_learns_classes_pickle():
    """Raised or warned in a joblib or dask worker, they travel back pickled: still both classes."""
    X = [[0.0], [1.0], [2.0], [3.0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(max_iter=2, random_state=0).fit(X, [[0], [1], [1], [0]])
    with pytest.raises(vecnet.NotFittedError) as info:
        MLPRegressor().predict(X)
    sent = [w.message for w in caught] + [info.value]
    assert [type(s).__name__ for s in sent] == ["DataConversionWarning", "ConvergenceWarning",
                                                "NotFittedError"]
    for obj, sklearn_class in zip(sent, [DataConversionWarning, ConvergenceWarning, NotFittedError]):
        back = pickle.loads(pickle.dumps(obj))
        assert type(back) is type(obj) and back.args == obj.args
        assert isinstance(back, sklearn_class) and isinstance(back, getattr(vecnet, sklearn_class.__name__))


def test_a_pickled_twin_is_vecnets_own_class_where_scikit_learn_is_not_loaded():
    import subprocess
    import sys

    with pytest.raises(vecnet.NotFittedError) as info:
        MLPRegressor().predict([[0.0]])
    code = ("import pickle, sys, vecnet\n"
            "err = pickle.loads(sys.stdin.buffer.read())\n"
            "assert type(err) is vecnet.NotFittedError and err.args, (type(err), err.args)\n"
            "assert 'sklearn' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(info.value), capture_output=True,
                            check=False)
    assert result.returncode == 0, result.stderr.decode()
