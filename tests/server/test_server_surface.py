"""The public surface of the `server` package and its command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import server
from server import ExecutorKind, Settings, hash_api_key
from server.cli import KEYS_ENV, add_arguments, main, run, settings_from_args


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_all_is_sorted_and_complete() -> None:
    """`__all__` is sorted and every name in it exists."""
    assert server.__all__ == sorted(server.__all__)
    for name in server.__all__:
        assert hasattr(server, name)


def test_the_flags_have_their_defaults() -> None:
    """Without flags: loopback, the local executor, no keys."""
    args = _parse()

    assert (args.host, args.port, args.executor, args.api_key) == (
        "127.0.0.1",
        8000,
        "local",
        [],
    )


def test_keys_come_from_flags_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--api-key` repeats, and POLLING_API_KEYS adds comma-separated keys."""
    monkeypatch.setenv(KEYS_ENV, "env-one, env-two,")
    args = _parse("--api-key", "a", "--api-key", "b", "--db", "x.db", "--workers", "3")

    settings = settings_from_args(args)

    assert settings.api_key_hashes == {
        hash_api_key(k) for k in ("a", "b", "env-one", "env-two")
    }
    assert str(settings.db_path) == "x.db"
    assert settings.workers == 3
    assert settings.executor is ExecutorKind.LOCAL


def test_run_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no key anywhere, `run` says so and returns 2."""
    monkeypatch.delenv(KEYS_ENV, raising=False)

    assert run(_parse()) == 2
    assert "no API key" in capsys.readouterr().err


def test_settings_keep_only_hashes_of_keys() -> None:
    """The plain key is nowhere in the settings."""
    settings = Settings.with_api_keys(["secret-key"])

    assert "secret-key" not in repr(settings)
    assert settings.api_key_hashes == {hash_api_key("secret-key")}


@pytest.mark.parametrize(
    ("field", "value"), [("batch_limit", 0), ("max_wait", -1.0), ("retention", 0)]
)
def test_settings_refuse_bad_limits(field: str, value: float) -> None:
    """A limit out of range is refused with its name."""
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})  # type: ignore[arg-type]  # one field at a time


def test_serve_refuses_a_job_store_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--db` in a missing folder exits 2 with a message, not a traceback."""
    status = main(["--api-key", "k", "--db", str(tmp_path / "nope" / "jobs.db")])

    assert status == 2
    assert "does not exist" in capsys.readouterr().err


def test_serve_refuses_zero_workers(capsys: pytest.CaptureFixture[str]) -> None:
    """`--workers 0` is an argument error naming the flag."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--api-key", "k", "--workers", "0"])

    assert exit_info.value.code == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err


def test_serve_refuses_a_file_that_is_not_a_job_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `--db` that holds something else is refused, and left as it was."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")

    status = main(["--api-key", "k", "--db", str(notes)])

    assert status == 2
    assert "it is not an SQLite database" in capsys.readouterr().err
    assert notes.read_text() == "not a database\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--api-key", "k", "--port", "99999"], "--port: must be from 0 to 65535"),
        (["--api-key", ""], "--api-key: an API key cannot be empty"),
    ],
)
def test_serve_refuses_a_bad_port_or_an_empty_key(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
