"""Server figures: batch status of 1,000 ids, and single-job GET throughput.

Run from the project root:

    .venv/bin/python tests/bench/bench_server.py

It starts the reference server (rate limits raised out of the way) and a bare
FastAPI app, each with uvicorn on loopback in its own process, and prints:

- the median server-side time of `POST /forecast-jobs/batch-status` with 1,000 ids,
  read from the `Server-Timing` header (target: 5 ms or less), and the median
  round trip seen by the client;
- single-job `GET /forecast-jobs/{id}` requests per second, beside the same number
  of `GET`s of a bare FastAPI endpoint in the same run.

Client, servers and whatever else runs share the machine's CPUs: the load average
printed at the end says how much else did.

The figures are also written to `bench-results/bench_server.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _serve_app(port: int, db: str) -> None:
    import uvicorn

    from server import Settings, create_app

    settings = Settings.with_api_keys(
        [KEY],
        db_path=db,
        rate_limit_per_minute=10**9,
        rate_limit_burst=10**9,
        workers=1,
    )
    uvicorn.run(create_app(settings), port=port, log_level="warning", access_log=False)


def _serve_bare(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/forecast-jobs/{job_id}")
    async def get_job(job_id: str) -> dict[str, Any]:
        return {"job_id": job_id, "status": "completed"}

    uvicorn.run(bare, port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, *args, str(port)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/forecast-jobs/x", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{args[0]} did not start")


def _completed_ids(http: httpx.Client, count: int) -> list[str]:
    request = {
        "model": "Naive",
        "horizon": 1,
        "series": [{"unique_id": "s", "values": [1]}],
    }
    ids: list[str] = []
    while len(ids) < count:
        answer = http.post("/forecast-jobs/batch", json={"requests": [request] * 1000})
        ids += answer.json()["job_ids"]
    ids = ids[:count]
    pending = list(ids)
    while pending:
        jobs = http.post(
            "/forecast-jobs/batch-status", json={"job_ids": pending, "wait": 10}
        ).json()["jobs"]
        pending = [i for i in pending if jobs[i]["status"] in ("queued", "in_progress")]
    return ids


def bench_batch_status(url: str, rounds: int) -> dict[str, float]:
    """Median server-side and round-trip time of a batch status of 1,000 ids."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
        ids = _completed_ids(http, 1000)
        server_ms: list[float] = []
        client_ms: list[float] = []
        for _ in range(rounds):
            start = time.perf_counter()
            answer = http.post("/forecast-jobs/batch-status", json={"job_ids": ids})
            client_ms.append((time.perf_counter() - start) * 1000)
            assert len(answer.json()["jobs"]) == 1000
            timing = answer.headers["server-timing"]
            server_ms.append(float(timing.split("dur=")[1]))
    return {
        "batch_status_1000_server_ms_median": statistics.median(server_ms),
        "batch_status_1000_server_ms_p90": statistics.quantiles(server_ms, n=10)[-1],
        "batch_status_1000_server_ms_min": min(server_ms),
        "batch_status_1000_round_trip_ms_median": statistics.median(client_ms),
    }


async def bench_in_process(rounds: int) -> dict[str, float]:
    """The same batch status, the app driven in process: no uvicorn, no sockets."""
    from server import Settings, create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.with_api_keys(
            [KEY],
            db_path=Path(tmp) / "bench.sqlite",
            rate_limit_per_minute=10**9,
            rate_limit_burst=10**9,
            workers=1,
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=AUTH
            ) as http,
        ):
            request = {"model": "Naive", "horizon": 1,
                       "series": [{"unique_id": "s", "values": [1]}]}  # fmt: skip
            answer = await http.post(
                "/forecast-jobs/batch", json={"requests": [request] * 1000}
            )
            ids = answer.json()["job_ids"]
            pending = list(ids)
            while pending:
                jobs = (
                    await http.post(
                        "/forecast-jobs/batch-status",
                        json={"job_ids": pending, "wait": 10},
                    )
                ).json()["jobs"]
                pending = [i for i in pending if jobs[i]["status"] != "completed"]
            server_ms: list[float] = []
            for _ in range(rounds):
                answer = await http.post(
                    "/forecast-jobs/batch-status", json={"job_ids": ids}
                )
                server_ms.append(float(answer.headers["server-timing"].split("=")[1]))
    return {"batch_status_1000_in_process_ms_median": statistics.median(server_ms)}


async def _throughput(url: str, path: str, total: int, concurrency: int) -> float:
    """Requests per second of keep-alive GETs over `concurrency` connections.

    The client speaks plain HTTP/1.1 on anyio sockets rather than through httpx:
    on a small machine httpx's own cost per request would be the figure measured.
    """
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {AUTH['Authorization']}\r\n\r\n"
    ).encode()
    left = total

    async def connection() -> None:
        nonlocal left
        async with await anyio.connect_tcp(host, int(port)) as stream:
            buffer = b""
            while left > 0:
                left -= 1
                await stream.send(request)
                while b"\r\n\r\n" not in buffer:
                    buffer += await stream.receive()
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200"), head
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r")[0])
                while len(buffer) < length:
                    buffer += await stream.receive()
                buffer = buffer[length:]

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(connection)
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--gets", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app, app_url = _start("--serve-app", str(Path(tmp) / "bench.sqlite"))
        bare, bare_url = _start("--serve-bare")
        try:
            figures = bench_batch_status(app_url, args.rounds)
            figures |= anyio.run(bench_in_process, args.rounds)
            with httpx.Client(base_url=app_url, headers=AUTH) as http:
                job_id = _completed_ids(http, 1)[0]
            path = f"/forecast-jobs/{job_id}"
            anyio.run(_throughput, bare_url, path, 1000, args.concurrency)
            anyio.run(_throughput, app_url, path, 1000, args.concurrency)
            figures["get_per_second_server"] = anyio.run(
                _throughput, app_url, path, args.gets, args.concurrency
            )
            figures["get_per_second_bare_fastapi"] = anyio.run(
                _throughput, bare_url, path, args.gets, args.concurrency
            )
        finally:
            app.terminate()
            bare.terminate()
            app.wait(10)
            bare.wait(10)

    figures |= {
        "rounds": args.rounds,
        "gets": args.gets,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count() or 0,
        "load_average_1min": os.getloadavg()[0],
    }
    out = ROOT / "bench-results" / "bench_server.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        sys.stdout.write(f"{name:42} {value:10.2f}\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-app":
        _serve_app(int(sys.argv[3]), sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--serve-bare":
        _serve_bare(int(sys.argv[2]))
    else:
        main()
