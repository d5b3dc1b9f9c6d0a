"""The integer codes that name activations, losses, optimizers and schedules.

One table, shared by the Python registries (:mod:`vecnet.activations`,
:mod:`vecnet.losses`, :mod:`vecnet.optimizers`) and the compiled kernels in
:mod:`vecnet.engines._kernels`, which dispatch on these numbers.
"""

IDENTITY, SIGMOID, TANH, RELU, SOFTMAX = 0, 1, 2, 3, 4
"""Activations."""
MSE, BCE, CCE = 0, 1, 2
"""Losses."""
SGD, ADAM = 0, 1
"""Optimizer families."""
CONSTANT, INVSCALING = 0, 1
"""Learning-rate schedules."""
