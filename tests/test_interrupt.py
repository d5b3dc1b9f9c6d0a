"""Interrupting training leaves the weights of the last completed epoch (issue 5, item 16)."""

from dataclasses import dataclass

import numpy as np
import pytest

import vecnet
from helpers import GENERAL_ENGINES, assert_params_close


def _data():
    return vecnet.synthetic(40, n_features=3, seed=2)


def _net():
    return vecnet.Network([3, 4, 1], activation="tanh", seed=1)


@pytest.mark.parametrize("engine", GENERAL_ENGINES)
def test_keyboard_interrupt_in_a_callback_keeps_the_completed_epochs(engine, tmp_path):
    X, y = _data()
    twin = _net()
    twin.fit(X, y, epochs=3, batch_size=4, engine=engine)

    def stop_after_third(epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    net = _net()
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=10, batch_size=4, engine=engine, callbacks=[stop_after_third])
    assert_params_close(net, twin.theta, 0.0, "interrupted after epoch 3")
    # usable and saveable: the saved model predicts what the interrupted one does
    vecnet.save(net, tmp_path / "interrupted.npz")
    loaded = vecnet.load(tmp_path / "interrupted.npz")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert np.isfinite(net.predict(X)).all()
    # and training goes on exactly as if never interrupted
    net.fit(X, y, epochs=2, batch_size=4, engine=engine)
    twin.fit(X, y, epochs=2, batch_size=4, engine=engine)
    assert_params_close(net, twin.theta, 0.0, "resumed")


_CALLS = []


@dataclass(frozen=True)
class _InterruptingSGD(vecnet.SGD):
    """Plain SGD that raises KeyboardInterrupt on its 8th update."""

    def step(self, theta, grad, state, t):
        _CALLS.append(t)
        if len(_CALLS) == 8:
            raise KeyboardInterrupt
        super().step(theta, grad, state, t)


def test_keyboard_interrupt_inside_an_epoch_rolls_back_to_its_start():
    X, y = _data()
    X, y = X[:8], y[:8]  # 2 updates per epoch with batch 4: the 8th is the second of epoch 4
    twin = _net()
    twin.fit(X, y, epochs=3, batch_size=4, engine="numpy")
    _CALLS.clear()
    net = _net()
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=10, batch_size=4, engine="numpy", optimizer=_InterruptingSGD(lr=0.1),
                callbacks=[lambda epoch, logs: None])
    assert len(_CALLS) == 8  # the 7th update, the first of epoch 4, was applied
    assert_params_close(net, twin.theta, 0.0, "rolled back to the end of epoch 3")
    assert net.optimizer_state.steps[0] == 6
