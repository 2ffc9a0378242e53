"""Strategies by name: the entry-point registry and the config forms.

A strategy comes from plain data: a name (`"stack"`), a name with flat parameters
(`"stack:target_delay=10"`), a mapping (`{"name": "stack", "target_delay": 10}`,
nested for strategies that take strategies), a TOML table or an environment
variable holding any of these. Names are looked up in the `polling.strategies`
entry-point group, where the built-ins register exactly as a third-party package
would.
"""

from __future__ import annotations

import inspect
import json
import os
import tomllib
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import attrs

from ._errors import ConfigError
from ._strategy import PollStrategy

GROUP = "polling.strategies"
ENV_VAR = "POLLING_STRATEGY"


def available() -> dict[str, EntryPoint]:
    """Every registered strategy, by name."""
    return {point.name: point for point in entry_points(group=GROUP)}


def strategy_class(name: str) -> type[Any]:
    """The class registered under `name`.

    Raises:
        ConfigError: No strategy has that name; the message lists those that do.
    """
    points = available()
    if name not in points:
        known = ", ".join(sorted(points)) or "none (is the package installed?)"
        raise ConfigError(f"unknown strategy {name!r}; known strategies: {known}")
    loaded: type[Any] = points[name].load()
    return loaded


def strategy_from(spec: str | Mapping[str, Any] | PollStrategy) -> PollStrategy:
    """Build a strategy from any of the config forms, or pass one through.

    Raises:
        ConfigError: An unknown name or parameter, or a parameter of the wrong type
            or value; the message names it and what is allowed.
    """
    if isinstance(spec, str):
        return strategy_from(parse_spec(spec))
    if isinstance(spec, Mapping):
        return _build(spec)
    if isinstance(spec, PollStrategy):
        return spec
    raise ConfigError(
        f"a strategy is a name, a mapping or a strategy object, got {spec!r}"
    )


def strategy_from_toml(source: str | Path, table: str = "strategy") -> PollStrategy:
    """Build a strategy from a TOML document (text or a file path) and its table.

    `table` may be dotted (`"tool.polling.strategy"`); the table holds `name` and
    the parameters, or it is a plain string spec.
    """
    text = Path(source).read_text() if isinstance(source, Path) else source
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"the strategy's TOML is not valid: {error}") from error
    for part in table.split("."):
        if not isinstance(data, Mapping) or part not in data:
            raise ConfigError(f"the TOML has no [{table}] table")
        data = data[part]
    return strategy_from(data)


def strategy_from_env(var: str = ENV_VAR, default: str | None = None) -> PollStrategy:
    """Build a strategy from an environment variable: a spec string or JSON object."""
    value = os.environ.get(var, default)
    if value is None:
        raise ConfigError(f"environment variable {var} is not set")
    if value.lstrip().startswith("{"):
        try:
            return strategy_from(json.loads(value))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{var} is not valid JSON: {error}") from error
    return strategy_from(value)


def parse_spec(spec: str) -> dict[str, Any]:
    """Split `name:key=value,key=value` into a mapping; values become numbers,
    booleans or strings."""
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"a strategy spec starts with a name, got {spec!r}")
    params: dict[str, Any] = {"name": name}
    for pair in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ConfigError(
                f"strategy parameter {pair!r} in {spec!r} is not key=value"
            )
        if key.strip() in params:
            raise ConfigError(
                f"strategy parameter {key.strip()!r} given twice in {spec!r}"
            )
        params[key.strip()] = _literal(value.strip())
    return params


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _build(spec: Mapping[str, Any]) -> PollStrategy:
    params = dict(spec)
    name = params.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f"a strategy mapping needs a 'name' string, got {spec!r}")
    cls = strategy_class(name)
    allowed = _parameters(cls)
    for key in params:
        if key not in allowed:
            listed = ", ".join(allowed) or "none"
            raise ConfigError(
                f"strategy {name!r} has no parameter {key!r}; allowed: {listed}"
            )
    built = {key: _nested(value) for key, value in params.items()}
    try:
        strategy: PollStrategy = cls(**built)
    except ConfigError as error:
        raise ConfigError(f"strategy {name!r}: {error}") from error
    except (TypeError, ValueError) as error:
        raise ConfigError(f"strategy {name!r}: {error}") from error
    return strategy


def _nested(value: Any) -> Any:
    """Turn nested strategy specs (mappings with a name, lists of them) into
    strategies."""
    if isinstance(value, Mapping) and "name" in value:
        return _build(value)
    if isinstance(value, list | tuple):
        return tuple(_nested(item) for item in value)
    return value


def _parameters(cls: type[Any]) -> list[str]:
    if attrs.has(cls):
        return [field.name for field in attrs.fields(cls) if field.init]
    signature = inspect.signature(cls)
    return [name for name in signature.parameters if name != "self"]
