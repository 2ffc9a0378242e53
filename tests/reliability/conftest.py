"""Fixtures of the reliability suite: one reference server on loopback for all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faultkit import reference_server
from loopback import LoopbackServer


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    """The reference server in a subprocess, shared by the tests that only read
    and submit: starting one takes seconds (statsforecast is imported)."""
    server = reference_server(tmp_path_factory.mktemp("reliability-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
