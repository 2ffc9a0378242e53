"""Fixtures of the server tests: the backends, an app factory, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from serverkit import (
    KEY,
    OTHER_KEY,
    AppFactory,
    ControlledExecutor,
    serve,
    virtual_clock,
)

from server import Settings, create_app


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async server test runs on asyncio and on trio."""
    return str(request.param)


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build apps on a test database with a controlled executor and virtual clock."""

    def build(executor: Any = None, **overrides: Any) -> FastAPI:
        fields: dict[str, Any] = {
            "db_path": tmp_path / "jobs.sqlite",
            "clock": virtual_clock,
            "offload_db": False,
        }
        fields.update(overrides)
        settings = Settings.with_api_keys([KEY, OTHER_KEY], **fields)
        return create_app(settings, executor=executor or ControlledExecutor())

    return build


@pytest.fixture
async def client(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a running app (lifespan entered) with a fast controlled executor."""
    app = make_app()
    async with serve(app) as http:
        yield http
