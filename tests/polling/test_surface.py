"""The public surface: each package's `__all__` is sorted and complete."""

from __future__ import annotations

import importlib
import importlib.resources
from types import ModuleType

import pytest


def _isort_order(name: str) -> tuple[int, str]:
    """Constants first, then classes, then functions, as ruff's RUF022 sorts."""
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def _public_names(module: ModuleType) -> set[str]:
    return {
        name
        for name in dir(module)
        if not name.startswith("_")
        and not isinstance(getattr(module, name), ModuleType)
    }


@pytest.mark.parametrize("name", ["polling", "polling.testing"])
def test_all_is_sorted(name: str) -> None:
    """`__all__` lists its names in sorted order, each once."""
    exported = importlib.import_module(name).__all__
    assert exported == sorted(set(exported), key=_isort_order)


@pytest.mark.parametrize("name", ["polling", "polling.testing"])
def test_all_names_exactly_the_public_names(name: str) -> None:
    """Every public name is in `__all__`, and every name there exists."""
    module = importlib.import_module(name)
    assert set(module.__all__) == _public_names(module)


def test_testing_kit_resolves_its_hypothesis_strategies() -> None:
    """The lazily imported Hypothesis names resolve to callables."""
    import polling.testing

    assert callable(polling.testing.stores)
    assert callable(polling.testing.workloads)


def test_testing_kit_refuses_unknown_names() -> None:
    """An unknown name in `polling.testing` is an AttributeError naming it."""
    import polling.testing

    with pytest.raises(AttributeError, match="no_such_thing"):
        polling.testing.no_such_thing  # noqa: B018 (the lookup is the test)


def test_package_ships_type_information() -> None:
    """`py.typed` is shipped, so users' type checkers read the annotations."""
    import polling

    assert polling.__file__ is not None
    assert (importlib.resources.files("polling") / "py.typed").is_file()
