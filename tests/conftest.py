import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

TESTS_FIXED_MAX_PARAMS = 9
"""Largest network whose per-sample kernel the tests build for its shape: the article's 2-2-1.

A kernel built for one shape (``KernelConfig.shape``) compiles once per shape and
configuration, several seconds each; the tests draw dozens of small shapes, so
they run the general per-sample kernel on every other shape. The kernels built
for a shape are proven bit-identical to the general one in
``test_fixed_kernels.py`` (marked ``fixed_shapes``: it keeps vecnet's own limit),
and the article's network keeps its own kernel everywhere, as users get it.
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "fixed_shapes: keep vecnet's own limit for kernels built per shape")


@pytest.fixture(autouse=True)
def _few_kernels_built_per_shape(request, monkeypatch):
    if request.node.get_closest_marker("fixed_shapes") is None:
        from vecnet.engines import _kernel_config

        monkeypatch.setattr(_kernel_config, "FIXED_MAX_PARAMS",
                            min(_kernel_config.FIXED_MAX_PARAMS, TESTS_FIXED_MAX_PARAMS))
