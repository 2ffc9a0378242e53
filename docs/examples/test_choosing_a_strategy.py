"""Every config form the registry reads, each building the strategy it names."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import polling
import strategies
from polling import ConfigError, Poller
from polling.testing import SimulatedJobStore

HERE = Path(__file__).parent


def test_a_name_or_a_spec() -> None:
    """A name, or a name with flat parameters: numbers, booleans and strings."""
    assert polling.strategy_from("stack") == strategies.Stack()

    strategy = polling.strategy_from("stack:target_delay=10,max_staleness=30")

    assert strategy == strategies.Stack(target_delay=10.0, max_staleness=30.0)
    assert polling.parse_spec("batch:use_feed=false,interval=0.5") == {
        "name": "batch",
        "use_feed": False,
        "interval": 0.5,
    }


def test_a_mapping_with_nested_layers() -> None:
    """Layers are names or mappings of their own, to any depth."""
    strategy = polling.strategy_from(
        {"name": "stack", "layers": ["batch", {"name": "semaphore", "concurrency": 20}]}
    )

    layers = (strategies.Batch(), strategies.Semaphore(concurrency=20))
    assert strategy == strategies.Stack(layers=layers)


def test_a_toml_file() -> None:
    """A `[strategy]` table, its layers as an array of tables."""
    strategy = polling.strategy_from_toml(HERE / "polling.toml")

    layers = (strategies.Batch(interval=0.5), strategies.Predictive(target_delay=5))
    assert strategy == strategies.Stack(layers=layers)


def test_a_table_of_pyproject() -> None:
    """A dotted table name reaches into a bigger document."""
    path = HERE / "pyproject-fragment.toml"

    strategy = polling.strategy_from_toml(path, table="tool.polling.strategy")

    assert strategy == strategies.Stack(target_delay=10)
    entry_points = tomllib.loads(path.read_text())["project"]["entry-points"]
    assert list(entry_points) == ["polling.strategies"]
    assert set(polling.available()) >= {"stack", "batch", "predictive"}


def test_a_string_is_toml_text_not_a_path() -> None:
    """TOML text can be given directly; a table may hold a spec string."""
    strategy = polling.strategy_from_toml('strategy = "stack:target_delay=10"')

    assert strategy == strategies.Stack(target_delay=10)


def test_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`POLLING_STRATEGY` holds a spec, or a JSON object when it starts with `{`."""
    monkeypatch.setenv("POLLING_STRATEGY", "stack:target_delay=10")
    assert polling.strategy_from_env() == strategies.Stack(target_delay=10)

    monkeypatch.setenv("POLLING_STRATEGY", '{"name": "semaphore", "concurrency": 20}')
    assert polling.strategy_from_env() == strategies.Semaphore(concurrency=20)

    monkeypatch.delenv("POLLING_STRATEGY")
    assert polling.strategy_from_env(default="batch") == strategies.Batch()
    with pytest.raises(ConfigError, match="POLLING_STRATEGY is not set"):
        polling.strategy_from_env()


def test_the_poller_takes_any_form() -> None:
    """`Poller` builds its strategy from a name, a spec or a mapping."""
    api = SimulatedJobStore()

    poller = Poller(api, "stack:target_delay=10")

    assert poller.strategy == strategies.Stack(target_delay=10)


def test_objects_compose_with_the_pipe() -> None:
    """`a | b | c` is one flat stack of the three."""
    from strategies import Batch, Predictive, Semaphore

    strategy = Batch(use_feed=False) | Semaphore(concurrency=20) | Predictive()

    layers = (Batch(use_feed=False), Semaphore(concurrency=20), Predictive())
    assert strategy == strategies.Stack(layers=layers)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("stak", "unknown strategy 'stak'; known strategies: adaptive, batch"),
        (
            "stack:target_dealy=10",
            "strategy 'stack' has no parameter 'target_dealy'; allowed: layers, "
            "target_delay, max_staleness",
        ),
        ("stack:target_delay=-1", "strategy 'stack': target_delay must be positive"),
        ("semaphore:concurrency=2.5", "concurrency must be a whole number"),
        ("stack:target_delay", "'target_delay' in 'stack:target_delay' is not key="),
    ],
)
def test_a_mistake_is_named(spec: str, message: str) -> None:
    """Each mistake is a `ConfigError` naming the key and what is allowed."""
    with pytest.raises(ConfigError) as caught:
        polling.strategy_from(spec)

    assert message in str(caught.value)
