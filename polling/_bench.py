"""`polling bench`: strategies side by side on a simulated workload, in virtual time.

Each strategy runs in a child process of its own, so that its CPU time and peak
memory are its own, on trio's `MockClock`: the counts are exact and repeat for a
seed, and a run of many virtual minutes takes seconds.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from ._engine import Poller
from ._registry import strategy_from
from ._types import Outcome, OutcomeKind, RequestKind
from .testing._virtual import mock_clock
from .testing._workloads import RATE_LIMITS, floor_requests, workload


@attrs.frozen
class BenchCase:
    """One strategy on one workload, API and rate limit."""

    workload: str
    api: str
    rate_limit: str
    strategy: str
    seed: int = 0


def run_case(case: BenchCase) -> dict[str, Any]:
    """Run one case in this process and return its row of the results."""
    # Fail on a bad name before any work, with the registry's message.
    strategy = strategy_from(case.strategy)
    chosen = workload(case.workload)
    population = chosen.population(case.seed)
    store = population.store(
        chosen,
        api=case.api,
        rate_limit=RATE_LIMITS[case.rate_limit],
        seed=case.seed,
    )
    poller = Poller(store, strategy, progress=False, seed=case.seed)
    cpu_start, real_start = time.process_time(), time.perf_counter()
    # The run allocates millions of short-lived objects beside tens of thousands
    # of live tasks; the cyclic collector's full passes over those tasks would
    # cost more than the run itself, and the run makes no cycles for it to free.
    gc.disable()
    try:
        outcomes = anyio.run(
            poller.collect,
            population.requests(),
            backend="trio",
            backend_options={"clock": mock_clock(case.seed)},
        )
    finally:
        gc.enable()
    cpu_s = time.process_time() - cpu_start
    real_s = time.perf_counter() - real_start
    report = poller.report
    assert report is not None
    lost, duplicated = _lost_and_duplicated(outcomes, len(population), store.created)
    return {
        "strategy": case.strategy,
        "requests": {
            "total": sum(store.requests.values()),
            "by_kind": {
                kind.value: store.requests[kind]
                for kind in RequestKind
                if store.requests[kind]
            },
        },
        "rejected": store.rejected,
        "floor": floor_requests(len(population), case.api, store.batch_limit),
        "delay": {
            "p50": round(report.delay.p50, 4),
            "p99": round(report.delay.p99, 4),
            "max": round(report.delay.max, 4),
        },
        "makespan": round(report.wall_time, 3),
        "lost": lost,
        "duplicated": duplicated,
        "cpu_s": round(cpu_s, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "real_s": round(real_s, 2),
    }


def _lost_and_duplicated(
    outcomes: Sequence[Outcome], jobs: int, created: Any
) -> tuple[int, int]:
    """Jobs without a right outcome, and jobs created or returned more than once.

    Request `i` of a workload is the integer `i`, and the simulated job echoes its
    request: a completed outcome with another job's result counts as lost.
    """
    seen = {outcome.index for outcome in outcomes}
    wrong = sum(
        1
        for outcome in outcomes
        if outcome.kind is OutcomeKind.COMPLETED and outcome.result != outcome.index
    )
    lost = jobs - len(seen & set(range(jobs))) + wrong
    returned_twice = len(outcomes) - len(seen)
    created_twice = sum(count - 1 for count in created.values() if count > 1)
    return lost, returned_twice + created_twice


def _peak_rss_mb() -> float:
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(
    *,
    workload_name: str,
    api: str,
    rate_limit: str,
    strategies: Sequence[str],
    seed: int,
    parallel: int = 2,
) -> dict[str, Any]:
    """Run every strategy on one workload and return the results document."""
    for spec in strategies:
        strategy_from(spec)
    workload(workload_name)
    cases = [
        BenchCase(workload_name, api, rate_limit, spec, seed) for spec in strategies
    ]
    rows = _run_cases(cases, parallel)
    return {
        "workload": workload_name,
        "api": api,
        "rate_limit": rate_limit,
        "seed": seed,
        "results": rows,
    }


def _run_cases(cases: Sequence[BenchCase], parallel: int) -> list[dict[str, Any]]:
    """Each case in a fresh child process, a few at a time, results in order."""
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=max(1, parallel), maxtasksperchild=1) as pool:
        return pool.map(run_case, cases, chunksize=1)


def without_extras(document: dict[str, Any]) -> dict[str, Any]:
    """The results document in exactly its published shape."""
    rows = [
        {key: value for key, value in row.items() if key != "real_s"}
        for row in document["results"]
    ]
    return {**document, "results": rows}


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write the results document in exactly its published shape."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(without_extras(document), indent=2) + "\n")


def format_table(document: dict[str, Any]) -> str:
    """The results as an aligned text table, one strategy a row."""
    header = (
        "strategy",
        "requests",
        "floor",
        "rejected",
        "p50 s",
        "p99 s",
        "max s",
        "makespan s",
        "lost",
        "dup",
        "cpu s",
        "real s",
        "rss MB",
        "by kind",
    )
    lines = [header]
    for row in document["results"]:
        kinds = " ".join(f"{k}={v}" for k, v in row["requests"]["by_kind"].items())
        lines.append(
            (
                row["strategy"],
                str(row["requests"]["total"]),
                str(row["floor"]),
                str(row["rejected"]),
                f"{row['delay']['p50']:.3f}",
                f"{row['delay']['p99']:.3f}",
                f"{row['delay']['max']:.3f}",
                f"{row['makespan']:.1f}",
                str(row["lost"]),
                str(row["duplicated"]),
                f"{row['cpu_s']:.1f}",
                f"{row.get('real_s', 0.0):.1f}",
                f"{row['peak_rss_mb']:.0f}",
                kinds,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    title = (
        f"workload {document['workload']}, api {document['api']}, "
        f"rate limit {document['rate_limit']}, seed {document['seed']}"
    )
    body = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
        + "  "
        + line[-1]
        for line in lines
    ]
    return "\n".join([title, *body])


def format_markdown(document: dict[str, Any]) -> str:
    """The results as a Markdown table, one strategy a row."""
    title = (
        f"`{document['workload']}`, api `{document['api']}`, rate limit "
        f"`{document['rate_limit']}`, seed {document['seed']}"
    )
    lines = [
        f"**{title}**",
        "",
        "| strategy | requests | x floor | rejected | p50 s | p99 s | max s "
        "| makespan s | lost | dup | cpu s | rss MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for row in document["results"]:
        total = row["requests"]["total"]
        lines.append(
            f"| `{row['strategy']}` | {total:,} | {total / row['floor']:.2f} "
            f"| {row['rejected']} | {row['delay']['p50']:.2f} "
            f"| {row['delay']['p99']:.2f} | {row['delay']['max']:.2f} "
            f"| {row['makespan']:.1f} | {row['lost']} | {row['duplicated']} "
            f"| {row['cpu_s']:.1f} | {row['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)
