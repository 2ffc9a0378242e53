"""Validators for strategy parameters: attrs validators with errors that name them.

Strategies built into the project use these, and so can a user's own.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._errors import ConfigError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a number greater than zero."""
    if not _is_number(value):
        raise ConfigError(
            f"{attribute.name} must be a number, got {type(value).__name__} {value!r}"
        )
    if not value > 0:
        raise ConfigError(f"{attribute.name} must be positive, got {value!r}")


def non_negative(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a number of zero or more."""
    if not _is_number(value):
        raise ConfigError(
            f"{attribute.name} must be a number, got {type(value).__name__} {value!r}"
        )
    if not value >= 0:
        raise ConfigError(f"{attribute.name} must be zero or more, got {value!r}")


def positive_int(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a whole number greater than zero."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(
            f"{attribute.name} must be a whole number, got {type(value).__name__} "
            f"{value!r}"
        )
    if value < 1:
        raise ConfigError(f"{attribute.name} must be at least 1, got {value!r}")


def fraction(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a number in (0, 1]."""
    if not _is_number(value) or not 0 < value <= 1:
        raise ConfigError(f"{attribute.name} must be a number in (0, 1], got {value!r}")
