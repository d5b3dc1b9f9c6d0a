import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

TESTS_FIXED_SHAPES = {(2, 2, 1)}
"""The only network shape whose per-sample kernel the tests build for that shape: the article's.

A kernel built for one shape (``KernelConfig.shape``) compiles once per shape and
configuration, several seconds each; the tests draw dozens of small shapes, so
they run the general per-sample kernel on every other shape. The kernels built
for a shape are proven bit-identical to the general one in
``test_fixed_kernels.py`` (marked ``fixed_shapes``: it keeps vecnet's own rule),
and the article's network keeps its own kernel everywhere, as users get it.
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "fixed_shapes: keep vecnet's own rule for kernels built per shape")


@pytest.fixture(autouse=True)
def _few_kernels_built_per_shape(request, monkeypatch):
    if request.node.get_closest_marker("fixed_shapes") is None:
        from vecnet.engines import _kernel_config

        vecnets_rule = _kernel_config.fixed_shape

        def tests_rule(sizes, per_sample):
            shape = vecnets_rule(sizes, per_sample)
            return shape if shape in TESTS_FIXED_SHAPES else ()

        monkeypatch.setattr(_kernel_config, "fixed_shape", tests_rule)
