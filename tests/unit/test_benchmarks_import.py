"""Every benchmark module imports: `make bench` is not part of CI, and a renamed function
once left `ml_benchmark` broken for months (it imported FEATURES_QUERY from the wrong module)."""

import importlib
import pkgutil

import pytest

import tests.benchmarks

MODULES = sorted(module.name for module in pkgutil.iter_modules(tests.benchmarks.__path__))


def test_there_are_benchmarks():
    assert "ml_benchmark" in MODULES and len(MODULES) > 5


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_imports(name):
    module = importlib.import_module(f"tests.benchmarks.{name}")
    if name.endswith("_benchmark"):  # the others are their shared helpers
        assert callable(getattr(module, "main", None)), f"{name} has no main()"
