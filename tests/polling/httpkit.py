"""Helpers of the HTTP client tests: scripted servers and a real one on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from loopback import LoopbackServer

from server import Settings, capabilities

KEY = "http-test-key"

CAPABILITIES: dict[str, Any] = capabilities(Settings())
"""The reference server's capability document with its default settings."""

Handler = Callable[[httpx.Request], httpx.Response]


def answer(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, code: str, message: str) -> httpx.Response:
    """An answer in the server's error shape."""
    return answer(status, {"error": {"code": code, "message": message}})


def routes(**by_route: Handler) -> Handler:
    """A handler that answers `GET /capabilities` and sends the rest by route.

    Keys are `<method>_<path>` with slashes and dashes as underscores, e.g.
    `POST_forecast_jobs_batch_status`; a job id in the path reads as `ID`.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if len(parts) == 2 and parts[1].startswith("fj_"):
            parts[1] = "ID"
        name = request.method + "_" + "_".join(parts).replace("-", "_")
        if name in by_route:
            return by_route[name](request)
        if name == "GET_capabilities":
            return answer(200, CAPABILITIES)
        return error(404, "not_found", f"no route {name}")

    return handle


def ids_of(request: httpx.Request) -> list[str]:
    """The job ids a batch request asks about (JSON body or query)."""
    if request.method == "GET":
        return request.url.params.get_list("job_ids")
    body: dict[str, Any] = json.loads(request.content)
    return list(body["job_ids"])


def naive_request(values: list[float], horizon: int = 3) -> dict[str, Any]:
    """A small, fast forecast request."""
    return {
        "model": "Naive",
        "horizon": horizon,
        "series": [{"unique_id": "s", "values": values}],
    }


def live_server(folder: Path) -> LoopbackServer:
    """The reference server on loopback, taking `KEY`, on a database in `folder`."""
    return LoopbackServer(folder, keys=[KEY])
