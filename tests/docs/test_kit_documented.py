"""`polling.testing` is documented for a user who reads only its docstrings."""

from __future__ import annotations

import ast
import inspect
import itertools
from pathlib import Path

import pytest

import polling.testing

ROOT = Path(__file__).parents[2]
KIT = ROOT / "polling" / "testing"
GUIDE = ROOT / "docs" / "testing.md"


def _callables() -> list[str]:
    return [
        name
        for name in polling.testing.__all__
        if inspect.isclass(getattr(polling.testing, name))
        or inspect.isfunction(getattr(polling.testing, name))
    ]


def _constants() -> list[str]:
    return [name for name in polling.testing.__all__ if name not in _callables()]


@pytest.mark.parametrize("name", _callables())
def test_every_class_and_function_says_what_each_parameter_is(name: str) -> None:
    """Its docstring is its own and names each of its parameters."""
    thing = getattr(polling.testing, name)
    doc = thing.__doc__ or ""

    assert doc.strip(), f"{name} has no docstring"
    parameters = [p for p in inspect.signature(thing).parameters if p != "self"]
    missing = [p for p in parameters if p not in doc]
    assert not missing, f"{name} does not describe {missing}"


@pytest.mark.parametrize("name", _constants())
def test_every_constant_has_a_docstring_under_it(name: str) -> None:
    """A constant's meaning is the string written under its assignment."""
    documented = set()
    for path in KIT.glob("*.py"):
        body = ast.parse(path.read_text()).body
        for statement, after in itertools.pairwise(body):
            targets = (
                [statement.target]
                if isinstance(statement, ast.AnnAssign)
                else getattr(statement, "targets", [])
            )
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                documented |= {t.id for t in targets if isinstance(t, ast.Name)}

    assert name in documented


@pytest.mark.parametrize("name", polling.testing.__all__)
def test_the_guide_mentions_every_public_name(name: str) -> None:
    """docs/testing.md says something about each name the kit exports."""
    assert f"`{name}" in GUIDE.read_text()
