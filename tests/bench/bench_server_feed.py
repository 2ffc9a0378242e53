"""Collecting many results from the feed, in virtual time: requests and delays.

Run from the project root:

    .venv/bin/python tests/bench/bench_server_feed.py --jobs 50000 --spread 600

It runs the app in process (through `httpx.ASGITransport`) on trio's `MockClock`,
with jobs that finish at seeded random times spread evenly over `--spread` virtual
seconds. It submits them in batches of 1,000, then loops on the completion feed with
`wait=30` and the given `--linger`, and prints the requests made by kind and the
delay from each job's completion to its arrival at the client. Job times, and so the
counts, are exact for a given seed; the wall time is this machine's.

The figures are also written to `bench-results/bench_server_feed.json`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
import trio.testing

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from serverkit import (  # noqa: E402  # the test helpers live beside the tests
    AUTH,
    KEY,
    ControlledExecutor,
    serve,
    virtual_clock,
)

from server import Settings, create_app  # noqa: E402  # after the path is set


async def run(jobs: int, spread: float, linger: float, seed: int) -> dict[str, Any]:
    """Submit `jobs`, collect them all from the feed, count requests and delays."""
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(jobs)]
    durations = {name: rng.uniform(0, spread) for name in names}
    counts = {"batch_submit": 0, "feed": 0}
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.with_api_keys(
            [KEY],
            db_path=Path(tmp) / "jobs.sqlite",
            clock=virtual_clock,
            offload_db=False,
            rate_limit_per_minute=10**9,
            rate_limit_burst=10**9,
        )
        executor = ControlledExecutor(durations=durations, capacity=jobs)
        async with serve(create_app(settings, executor=executor)) as client:
            for start in range(0, jobs, 1000):
                requests = [
                    {"model": "Naive", "horizon": 1,
                     "series": [{"unique_id": name, "values": [1]}]}
                    for name in names[start : start + 1000]
                ]  # fmt: skip
                await client.post(
                    "/forecast-jobs/batch", json={"requests": requests}, headers=AUTH
                )
                counts["batch_submit"] += 1

            params: dict[str, Any] = {"wait": 30, "linger": linger}
            while len(delays) < jobs:
                page = (
                    await client.get("/forecast-jobs/feed", params=params, headers=AUTH)
                ).json()
                counts["feed"] += 1
                now = virtual_clock()
                delays += [now - job["completed_at"] for job in page["jobs"]]
                params["after"] = page["cursor"]

    return {
        "jobs": jobs,
        "spread_seconds": spread,
        "linger_seconds": linger,
        "seed": seed,
        "requests": counts,
        "delay_mean_seconds": statistics.fmean(delays),
        "delay_max_seconds": max(delays),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=600.0)
    parser.add_argument("--linger", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    figures = trio.run(
        run,
        args.jobs,
        args.spread,
        args.linger,
        args.seed,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    figures["wall_seconds"] = time.perf_counter() - started
    out = ROOT / "bench-results" / "bench_server_feed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
