"""Strategies by name: the entry-point registry and every config form."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from polling import (
    Board,
    ConfigError,
    Decision,
    Observation,
    Poll,
    available,
    parse_spec,
    strategy_from,
    strategy_from_env,
    strategy_from_toml,
)
from strategies import Naive, PerJobBackoff


class _Mine:
    """A user's own strategy, registered nowhere."""

    def start(self, board: Board) -> Poll:
        return self

    def decide(self, board: Board) -> Decision:
        return Decision(wake_at=board.now + 1.0)

    def observe(self, event: Observation, board: Board) -> None:
        pass


_PLUGIN = '''
import attrs


class Wrapper:
    """A third-party strategy that takes another strategy."""

    def __init__(self, inner, label="plain"):
        self.inner = inner
        self.label = label

    def start(self, board):
        return self.inner.start(board)
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a third-party package that registers `wrapper` by entry point."""
    (tmp_path / "demo_plugin.py").write_text(_PLUGIN)
    info = tmp_path / "demo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugin\n")
    (info / "entry_points.txt").write_text(
        "[polling.strategies]\nwrapper = demo_plugin:Wrapper\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "demo_plugin", raising=False)


def test_builtins_register_through_the_entry_point_group() -> None:
    """The baselines are found by name in `polling.strategies`, as plug-ins are."""
    points = available()
    assert points["naive"].group == "polling.strategies"
    assert points["naive"].load() is Naive
    assert points["per-job-backoff"].load() is PerJobBackoff


def test_third_party_strategy_is_found_by_its_entry_point(plugin: None) -> None:
    """A package that declares an entry point is found by name, like a built-in."""
    assert "wrapper" in available()
    built = strategy_from({"name": "wrapper", "inner": "naive"})
    assert type(built).__name__ == "Wrapper"


def test_nested_spec_builds_the_inner_strategy(plugin: None) -> None:
    """A mapping with a name inside a mapping becomes a strategy itself."""
    built = strategy_from(
        {"name": "wrapper", "inner": {"name": "naive", "interval": 3}}
    )
    assert built.inner == Naive(interval=3)  # type: ignore[attr-defined]


def test_plain_class_parameters_come_from_its_signature(plugin: None) -> None:
    """An unknown key for a class without attrs lists its signature's names."""
    with pytest.raises(ConfigError, match="allowed: inner, label"):
        strategy_from({"name": "wrapper", "inner": {"name": "naive"}, "x": 1})


def test_unknown_strategy_name_lists_the_known_ones() -> None:
    """An unknown name is refused with every registered name in the message."""
    with pytest.raises(ConfigError, match="unknown strategy 'nope'") as error:
        strategy_from("nope")
    for name in available():
        assert name in str(error.value)


def test_name_alone_builds_the_strategy_with_its_defaults() -> None:
    """A bare name gives the strategy with every default."""
    assert strategy_from("naive") == Naive()


def test_spec_string_sets_parameters() -> None:
    """`name:key=value,key=value` sets those parameters."""
    built = strategy_from("per-job-backoff:initial=2,cap=8.5")
    assert built == PerJobBackoff(initial=2, cap=8.5)


def test_parse_spec_reads_numbers_booleans_and_strings() -> None:
    """Values become ints, floats, booleans or strings, in that order of trying."""
    assert parse_spec("x:a=1,b=2.5,c=true,d=False,e=text") == {
        "name": "x",
        "a": 1,
        "b": 2.5,
        "c": True,
        "d": False,
        "e": "text",
    }


def test_parse_spec_ignores_spaces_around_names_and_values() -> None:
    """Spaces around the name, keys and values are not part of them."""
    assert parse_spec(" naive : interval = 3 ") == {"name": "naive", "interval": 3}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "starts with a name"),
        (":interval=3", "starts with a name"),
        ("naive:interval", "'interval' in 'naive:interval' is not key=value"),
        ("naive:=3", "is not key=value"),
    ],
)
def test_malformed_spec_is_refused_naming_the_bad_part(spec: str, message: str) -> None:
    """A spec without a name, or with a pair that is not key=value, is refused."""
    with pytest.raises(ConfigError, match=message):
        parse_spec(spec)


def test_mapping_builds_the_named_strategy() -> None:
    """A mapping with `name` and parameters builds that strategy."""
    built = strategy_from({"name": "per-job-backoff", "initial": 2, "cap": 8})
    assert built == PerJobBackoff(initial=2, cap=8)


def test_mapping_without_a_name_is_refused() -> None:
    """A mapping needs a `name` string."""
    with pytest.raises(ConfigError, match="needs a 'name' string"):
        strategy_from({"interval": 2})


def test_unknown_parameter_is_refused_listing_the_allowed_ones() -> None:
    """A key the strategy does not take is named, with the keys it does take."""
    with pytest.raises(
        ConfigError, match="'naive' has no parameter 'speed'; allowed: interval"
    ):
        strategy_from("naive:speed=3")


def test_parameter_of_the_wrong_type_is_refused_naming_it() -> None:
    """A string where a number belongs is refused, naming parameter and value."""
    with pytest.raises(
        ConfigError, match="strategy 'naive': interval must be a number, got str"
    ):
        strategy_from({"name": "naive", "interval": "fast"})


def test_boolean_is_not_taken_for_a_number() -> None:
    """`true` is refused where a number belongs, though bool subclasses int."""
    with pytest.raises(ConfigError, match="interval must be a number, got bool"):
        strategy_from("naive:interval=true")


@pytest.mark.parametrize("value", ["0", "-2"])
def test_zero_or_negative_interval_is_refused(value: str) -> None:
    """An interval must be positive; the message names it and the value."""
    with pytest.raises(ConfigError, match=f"interval must be positive, got {value}"):
        strategy_from(f"naive:interval={value}")


def test_toml_table_builds_the_strategy() -> None:
    """A `[strategy]` table with a name and parameters builds it."""
    text = '[strategy]\nname = "per-job-backoff"\ninitial = 2.0\n'
    assert strategy_from_toml(text) == PerJobBackoff(initial=2.0)


def test_toml_dotted_table_is_followed() -> None:
    """A dotted table path finds a table nested in others."""
    text = '[tool.polling.strategy]\nname = "naive"\ninterval = 4\n'
    assert strategy_from_toml(text, "tool.polling.strategy") == Naive(interval=4)


def test_toml_value_may_be_a_spec_string() -> None:
    """A TOML key holding a spec string is read as one."""
    assert strategy_from_toml('strategy = "naive:interval=6"') == Naive(interval=6)


def test_toml_is_read_from_a_file_path(tmp_path: Path) -> None:
    """A `Path` is read as a TOML file."""
    path = tmp_path / "polling.toml"
    path.write_text('[strategy]\nname = "naive"\n')
    assert strategy_from_toml(path) == Naive()


def test_toml_without_the_table_is_refused_naming_it() -> None:
    """A document without the table says which table it lacks."""
    with pytest.raises(ConfigError, match=r"no \[tool.polling\] table"):
        strategy_from_toml('[strategy]\nname = "naive"\n', "tool.polling")


def test_invalid_toml_is_a_config_error() -> None:
    """A document that is not TOML is refused as such."""
    with pytest.raises(ConfigError, match="TOML is not valid"):
        strategy_from_toml("[strategy\nname = ")


def test_environment_variable_holds_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """`POLLING_STRATEGY` may hold a spec string."""
    monkeypatch.setenv("POLLING_STRATEGY", "naive:interval=7")
    assert strategy_from_env() == Naive(interval=7)


def test_environment_variable_holds_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """`POLLING_STRATEGY` may hold a JSON object."""
    monkeypatch.setenv("POLLING_STRATEGY", '{"name": "per-job-backoff", "cap": 9}')
    assert strategy_from_env() == PerJobBackoff(cap=9)


def test_unset_environment_variable_uses_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unset variable falls back to the default given."""
    monkeypatch.delenv("POLLING_STRATEGY", raising=False)
    assert strategy_from_env(default="naive") == Naive()


def test_unset_environment_variable_without_default_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unset variable with no default names the variable."""
    monkeypatch.delenv("MY_STRATEGY", raising=False)
    with pytest.raises(ConfigError, match="MY_STRATEGY is not set"):
        strategy_from_env("MY_STRATEGY")


def test_environment_variable_with_bad_json_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value that starts like JSON but is not names the variable."""
    monkeypatch.setenv("POLLING_STRATEGY", "{name: naive}")
    with pytest.raises(ConfigError, match="POLLING_STRATEGY is not valid JSON"):
        strategy_from_env()


def test_users_own_strategy_object_passes_through() -> None:
    """A strategy object, registered or not, is used as it is."""
    mine = _Mine()
    assert strategy_from(mine) is mine


def test_something_that_is_no_strategy_is_refused() -> None:
    """A value that is neither name, mapping nor strategy is refused."""
    with pytest.raises(ConfigError, match="got 42"):
        strategy_from(42)  # type: ignore[arg-type]


def test_spec_with_a_trailing_comma_parses() -> None:
    """An empty pair after a trailing comma is ignored."""
    assert parse_spec("naive:interval=2,") == {"name": "naive", "interval": 2}


def test_missing_required_parameter_is_a_config_error(plugin: None) -> None:
    """A strategy built without a parameter it needs names the strategy."""
    with pytest.raises(ConfigError, match=r"strategy 'wrapper': .*'inner'"):
        strategy_from("wrapper")
