"""The command line of the server, shared by `polling serve` and `python -m server`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._settings import ExecutorKind, Settings, hash_api_key

KEYS_ENV = "POLLING_API_KEYS"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {value}")
    return value


def _api_key(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an API key cannot be empty")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server's flags to a parser."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=8000, help="port to bind (default 8000)"
    )
    parser.add_argument(
        "--db",
        default="pollstack-server.db",
        metavar="PATH",
        help="SQLite job store, created if missing (default pollstack-server.db)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        type=_api_key,
        default=[],
        metavar="KEY",
        help=f"an accepted API key (repeatable; also ${KEYS_ENV}, comma-separated)",
    )
    parser.add_argument(
        "--executor",
        choices=[kind.value for kind in ExecutorKind],
        default=ExecutorKind.LOCAL.value,
        help="where jobs run (default local)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="processes of the local executor (default: the CPU count)",
    )
    parser.add_argument(
        "--log-level", default="info", help="uvicorn's log level (default info)"
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings the parsed flags and the environment describe."""
    keys = list(args.api_key)
    keys += [k.strip() for k in os.environ.get(KEYS_ENV, "").split(",") if k.strip()]
    extra: dict[str, object] = {}
    if args.workers is not None:
        extra["workers"] = args.workers
    return Settings(
        db_path=args.db,
        api_key_hashes=frozenset(hash_api_key(k) for k in keys),
        executor=ExecutorKind(args.executor),
        **extra,  # type: ignore[arg-type]  # only `workers`, an int
    )


def run(args: argparse.Namespace) -> int:
    """Serve the app with uvicorn until interrupted.

    Returns:
        The exit status: 0, or 2 when no API key was given.
    """
    import uvicorn

    from ._app import create_app

    settings = settings_from_args(args)
    if not settings.api_key_hashes:
        sys.stderr.write(f"no API key: give --api-key KEY or set {KEYS_ENV}\n")
        return 2
    problem = _unwritable(args.db)
    if problem:
        sys.stderr.write(f"cannot use --db {args.db}: {problem}\n")
        return 2

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
    )
    return 0


def _unwritable(db_path: str) -> str | None:
    """Why the job store's file cannot be opened for writing, or None."""
    path = Path(db_path)
    if path.is_dir():
        return "it is a folder"
    folder = path.parent
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (
        path.exists() and not os.access(path, os.W_OK)
    ):
        return "permission denied"
    if path.is_file() and path.stat().st_size and not _is_sqlite(path):
        return "it is not an SQLite database"
    return None


def _is_sqlite(path: Path) -> bool:
    """Whether a file starts as every SQLite 3 database does."""
    with path.open("rb") as file:
        return file.read(16) == b"SQLite format 3\x00"


def main(argv: list[str] | None = None) -> int:
    """`python -m server`."""
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
