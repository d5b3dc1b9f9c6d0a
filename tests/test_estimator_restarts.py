"""Estimators whose parameters change after a fit (``set_params``), continued fits, and the files they save.

A fitted estimator whose parameters no longer describe its network is refused by
``save`` before anything is written (``vecnet.load`` would refuse the file);
``warm_start`` with ``early_stopping`` switched on, or with an earlier best score
that no new epoch beats, behaves as a fresh rule over the weights it holds.
"""

import warnings

import numpy as np
import pytest

import vecnet
from vecnet import MLPClassifier, MLPRegressor


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def fitted(**kw):
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(**dict(dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0,
                                         engine="numpy"), **kw)).fit(X, y)


@pytest.mark.parametrize("change, says", [
    (dict(activation="tanh"), "activation='tanh' disagrees with the network's hidden activation 'relu'"),
    (dict(hidden_layer_sizes=(7,)), r"hidden_layer_sizes=\(7,\) disagrees with the network's layers \[3, 4, 1\]"),
    (dict(dtype="float32"), "dtype='float32' disagrees with the network's float64"),
    (dict(n_estimators=2), "n_estimators=2"),
    (dict(early_stopping=True), "validation_scores_ is invalid"),
    (dict(alpha=-1.0), r"alpha must be a finite number in \[0, inf\)"),
])
def test_save_refuses_parameters_changed_since_the_fit_and_writes_nothing(tmp_path, change, says):
    est = fitted().set_params(**change)
    path = tmp_path / "m.npz"
    with pytest.raises(ValueError, match=f"cannot save this MLPClassifier: .*{says}.*set_params"):
        est.save(path)
    assert not path.exists()
    est.set_params(**{name: fitted().get_params()[name] for name in change})   # set back: saves and loads
    est.save(path)
    assert np.array_equal(vecnet.load(path).predict_proba(data()[0]), est.predict_proba(data()[0]))


def test_hidden_layer_sizes_as_an_array_saves_as_the_sizes(tmp_path):
    est = fitted(hidden_layer_sizes=np.array([4, 3]))
    est.save(tmp_path / "m.npz")
    back = vecnet.load(tmp_path / "m.npz")
    assert back.hidden_layer_sizes == (4, 3)
    assert np.array_equal(back.predict_proba(data()[0]), est.predict_proba(data()[0]))


def test_early_stopping_switched_on_for_a_warm_start_validates_from_then_on(tmp_path):
    X, y = data()
    est = fitted()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(early_stopping=True, warm_start=True).fit(X, y)
    assert est.n_iter_ == len(est.loss_curve_) > 5
    assert len(est.validation_scores_) == est.n_iter_ - 5   # the epochs that validated
    assert est.best_validation_score_ == max(est.validation_scores_)
    est.save(tmp_path / "m.npz")
    assert vecnet.load(tmp_path / "m.npz").validation_scores_ == est.validation_scores_


def test_a_warm_start_in_which_no_epoch_beats_the_earlier_best_keeps_the_weights_it_started_from():
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((8,), random_state=0, engine="numpy", early_stopping=True, max_iter=200,
                            learning_rate_init=0.05).fit(X, y)
        best, start = est.best_validation_score_, est.net_.theta.copy()
        assert best == 1.0
        # a huge L2 penalty: every epoch of the continued fit scores worse than the first fit's best
        est.set_params(warm_start=True, solver="sgd", alpha=1000.0, momentum=0.0, max_iter=15).fit(X, y)
    assert max(est.validation_scores_[-15:]) <= best < 1.0 + 1e-12
    assert est.best_validation_score_ == best
    assert np.array_equal(est.net_.theta, start)


def test_a_warm_start_keeps_a_new_best_epoch_over_the_start():
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPRegressor((8,), random_state=0, engine="numpy", early_stopping=True, max_iter=2,
                           learning_rate_init=0.01).fit(X, X[:, 0])
        start_best = est.best_validation_score_
        est.set_params(warm_start=True, max_iter=30).fit(X, X[:, 0])
    assert est.best_validation_score_ > start_best
    assert est.best_validation_score_ == max(est.validation_scores_)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_warnings_of_fit_and_partial_fit_point_at_the_callers_line(cls):
    X, y = data(30)
    est = cls((4,), max_iter=1, batch_size=50, engine="numpy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y.reshape(-1, 1) if cls is MLPClassifier else y)
        est.partial_fit(X, y)
    kinds = {type(w.message).__name__ for w in caught}
    assert {"UserWarning", "ConvergenceWarning"} <= kinds
    assert cls is MLPRegressor or "DataConversionWarning" in kinds
    assert all(w.filename == __file__ for w in caught), [(w.filename, str(w.message)) for w in caught]
    # scikit-learn's words, so that filters written for it match
    assert any(str(w.message).startswith("Stochastic Optimizer: Maximum iterations (1) reached and the "
                                         "optimization hasn't converged yet.") for w in caught)


def test_scikit_learns_names_for_the_network_read_net_():
    X, y = data()
    est = MLPClassifier((4, 5), max_iter=5, random_state=0, engine="numpy")
    assert not hasattr(est, "coefs_") and not hasattr(est, "loss_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    params = est.net_.params
    assert [W.shape for W in est.coefs_] == [(3, 4), (4, 5), (5, 1)]
    assert all(np.shares_memory(a, W) and np.array_equal(a, W) for a, (W, _) in zip(est.coefs_, params))
    assert all(np.array_equal(a, b) for a, (_, b) in zip(est.intercepts_, params))
    assert (est.n_layers_, est.out_activation_, est.loss_) == (4, "logistic", est.loss_curve_[-1])
    est.coefs_[0][0, 0] += 1.0   # a view: as in scikit-learn, writing into it changes the network
    assert est.net_.params[0][0][0, 0] == params[0][0][0, 0]
    three = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert MLPClassifier((4,), max_iter=2, engine="numpy").fit(X, three).out_activation_ == "softmax"
        assert MLPRegressor((4,), max_iter=2, engine="numpy").fit(X, X[:, :2]).out_activation_ == "identity"
        ensemble = MLPClassifier((4,), max_iter=2, n_estimators=2, engine="numpy").fit(X, y)
    assert ensemble.loss_ == ensemble.loss_curve_[-1]
    with pytest.raises(AttributeError, match=r"an ensemble \(n_estimators=2\) has one per member"):
        _ = ensemble.coefs_


def test_the_engine_a_fit_chose_survives_save_and_load(tmp_path):
    est = fitted()
    est.save(tmp_path / "m.npz")
    assert vecnet.load(tmp_path / "m.npz").engine_ == est.engine_ == "numpy"
    del est.engine_   # as in a file written before engine_ was saved: loads without it
    est.save(tmp_path / "old.npz")
    assert not hasattr(vecnet.load(tmp_path / "old.npz"), "engine_")


@pytest.mark.parametrize("early_stopping", [True, False])
def test_each_member_of_a_warm_started_ensemble_starts_its_rule_from_its_own_best(monkeypatch, early_stopping):
    from vecnet.estimators import _mlp

    histories, starts = [], []
    train_many = _mlp.train_many

    def recording_train_many(*args, **kwargs):
        out = train_many(*args, **kwargs)
        histories.append(out)
        return out

    class RecordingStopping(_mlp.ScikitLearnStopping):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            starts.append(self.start)

    monkeypatch.setattr(_mlp, "train_many", recording_train_many)
    monkeypatch.setattr(_mlp, "ScikitLearnStopping", RecordingStopping)
    X, y = data(80)
    est = MLPClassifier((3,), n_estimators=3, max_iter=4, random_state=0, engine="numpy",
                        early_stopping=early_stopping, learning_rate_init=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        del starts[:]
        est.set_params(warm_start=True).fit(X, y)
    first = histories[0]
    if early_stopping:
        own = [max(h.val_metric) for h in first]
    else:
        own = [min(float(v) for v in h.loss) for h in first]
    assert starts == own   # not the ensemble's mean best, each its own (as a member trained alone)
    assert len(set(own)) > 1   # the members differ: the check above means something
