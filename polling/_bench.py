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
from tqdm import tqdm

from ._engine import Poller
from ._registry import strategy_from
from ._types import Outcome, OutcomeKind, RequestKind
from .testing._virtual import mock_clock
from .testing._workloads import RATE_LIMITS, Workload, floor_requests, workload


@attrs.frozen
class BenchCase:
    """One strategy on one workload, API and rate limit."""

    workload: str
    api: str
    rate_limit: str
    strategy: str
    seed: int = 0
    jobs: int | None = None


def scaled(chosen: Workload, jobs: int) -> Workload:
    """The workload with `jobs` jobs, its shape kept.

    The worker pool and the arrival rate scale by the same factor as the job
    count, so that the queue's length per worker, and with it the makespan and
    the delays, stay about the same: `million` at 10,000 jobs is a queue of 200
    workers, 50 jobs deep, as the million is of 20,000.
    """
    factor = jobs / chosen.jobs
    workers = chosen.workers
    if workers is not None:
        workers = max(1, round(workers * factor))
    rate = chosen.arrivals_per_second
    if rate is not None:
        rate *= factor
    return attrs.evolve(chosen, jobs=jobs, workers=workers, arrivals_per_second=rate)


def case_workload(case: BenchCase) -> Workload:
    """The workload a case runs: the named one, scaled to `case.jobs` if given."""
    chosen = workload(case.workload)
    return chosen if case.jobs is None else scaled(chosen, case.jobs)


def run_case(case: BenchCase) -> dict[str, Any]:
    """Run one case in this process and return its row of the results."""
    # Fail on a bad name before any work, with the registry's message.
    strategy = strategy_from(case.strategy)
    chosen = case_workload(case)
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
    jobs: int | None = None,
) -> dict[str, Any]:
    """Run every strategy on one workload and return the results document.

    `jobs` scales the workload (see `scaled`); the document then says so under
    `"jobs"`, a key it has only then.
    """
    _validate(strategies, [workload_name])
    cases = [
        BenchCase(workload_name, api, rate_limit, spec, seed, jobs)
        for spec in strategies
    ]
    return _document(cases, _run_cases(cases, parallel))


def _validate(strategies: Sequence[str], workloads: Sequence[str]) -> None:
    """Refuse a bad strategy or workload name before any run starts."""
    for spec in strategies:
        strategy_from(spec)
    for name in workloads:
        workload(name)


def _document(cases: Sequence[BenchCase], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The results document of cases that share a workload, API and rate limit."""
    first = cases[0]
    document: dict[str, Any] = {
        "workload": first.workload,
        "api": first.api,
        "rate_limit": first.rate_limit,
        "seed": first.seed,
    }
    if first.jobs is not None:
        document["jobs"] = first.jobs
    document["results"] = rows
    return document


def run_matrix(
    *,
    workloads: Sequence[str],
    apis: Sequence[str],
    rate_limits: Sequence[str],
    strategies: Sequence[str],
    seed: int,
    parallel: int = 2,
    jobs: int | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run every strategy on every workload, API and rate limit, in one run.

    Returns:
        The matrix document: the axes, the real seconds the whole matrix took
        (`real_s`), and under `"benches"` one results document per workload, API
        and rate limit, each as `run_bench` returns it.
    """
    _validate(strategies, workloads)
    groups = [
        [BenchCase(name, api, limit, spec, seed, jobs) for spec in strategies]
        for name in workloads
        for api in apis
        for limit in rate_limits
    ]
    cases = [case for group in groups for case in group]
    start = time.perf_counter()
    rows = iter(_run_cases(cases, parallel, progress=progress))
    real_s = time.perf_counter() - start
    benches = [_document(group, [next(rows) for _ in group]) for group in groups]
    return {
        "workloads": list(workloads),
        "apis": list(apis),
        "rate_limits": list(rate_limits),
        "strategies": list(strategies),
        "seed": seed,
        "jobs": jobs,
        "real_s": round(real_s, 1),
        "benches": benches,
    }


def run_scale(
    *,
    workload_name: str,
    apis: Sequence[str],
    job_counts: Sequence[int],
    strategies: Sequence[str],
    rate_limit: str = "none",
    seed: int = 0,
    parallel: int = 1,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run a workload at several job counts and return what each run cost.

    Returns:
        The scale document: the workload, rate limit and seed, and under
        `"runs"` one row per strategy, API and job count: the results row of
        `run_case` (real seconds included) with its `api` and `jobs`.
    """
    _validate(strategies, [workload_name])
    cases = [
        BenchCase(workload_name, api, rate_limit, spec, seed, jobs)
        for spec in strategies
        for api in apis
        for jobs in job_counts
    ]
    rows = _run_cases(cases, parallel, progress=progress)
    return {
        "workload": workload_name,
        "rate_limit": rate_limit,
        "seed": seed,
        "runs": [
            {"api": case.api, "jobs": case.jobs, **row}
            for case, row in zip(cases, rows, strict=True)
        ],
    }


def _run_cases(
    cases: Sequence[BenchCase], parallel: int, *, progress: bool | None = False
) -> list[dict[str, Any]]:
    """Each case in a fresh child process, a few at a time, results in order.

    `progress` shows a bar over the cases: True always, None on a terminal only.
    """
    context = multiprocessing.get_context("fork")
    rows: list[dict[str, Any]] = [{} for _ in cases]
    bar = tqdm(total=len(cases), desc="bench", unit="run", disable=_bar_off(progress))
    with bar, context.Pool(processes=max(1, parallel), maxtasksperchild=1) as pool:
        for index, row in pool.imap_unordered(_run_numbered, enumerate(cases)):
            rows[index] = row
            bar.set_postfix_str(_case_label(cases[index]), refresh=False)
            bar.update()
    return rows


def _bar_off(progress: bool | None) -> bool | None:
    # tqdm reads disable=None as "off unless stderr is a terminal".
    return None if progress is None else not progress


def _run_numbered(numbered: tuple[int, BenchCase]) -> tuple[int, dict[str, Any]]:
    """`run_case` for a pool that returns rows as they finish, not in order."""
    index, case = numbered
    return index, run_case(case)


def _case_label(case: BenchCase) -> str:
    return f"{case.workload} {case.api} {case.rate_limit} {case.strategy}"


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
        f"workload {document['workload']}{_jobs_note(document)}, api "
        f"{document['api']}, rate limit {document['rate_limit']}, seed "
        f"{document['seed']}"
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
        f"`{document['workload']}`{_jobs_note(document)}, api `{document['api']}`, "
        f"rate limit `{document['rate_limit']}`, seed {document['seed']}"
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


def _jobs_note(document: dict[str, Any]) -> str:
    """How a scaled workload is named in a title; nothing for a published one."""
    jobs = document.get("jobs")
    return "" if jobs is None else f" at {jobs:,} jobs"


def format_matrix_markdown(matrix: dict[str, Any]) -> str:
    """Every table of a matrix in Markdown, in the order they ran."""
    return "\n\n".join(format_markdown(bench) for bench in matrix["benches"])


def format_matrix_table(matrix: dict[str, Any]) -> str:
    """Every table of a matrix as aligned text, then what the matrix took."""
    tables = [format_table(bench) for bench in matrix["benches"]]
    runs = sum(len(bench["results"]) for bench in matrix["benches"])
    footer = f"{runs} runs in {matrix['real_s']:.0f} s real"
    return "\n\n".join([*tables, footer])


def write_matrix(matrix: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write `matrix.json` (each table in its published shape) and `matrix.md`."""
    out.mkdir(parents=True, exist_ok=True)
    published = {
        **matrix,
        "benches": [without_extras(bench) for bench in matrix["benches"]],
    }
    paths = {"json": out / "matrix.json", "markdown": out / "matrix.md"}
    paths["json"].write_text(json.dumps(published, indent=2) + "\n")
    paths["markdown"].write_text(format_matrix_markdown(matrix) + "\n")
    return paths


def format_scale_markdown(scale: dict[str, Any]) -> str:
    """The scale runs as a Markdown table, with each figure's growth.

    A growth column is the figure divided by the same figure at the previous
    job count of the same strategy and API: for ten times the jobs, 10 is
    linear and less is better than linear.
    """
    lines = [
        f"**`{scale['workload']}` scaled, rate limit `{scale['rate_limit']}`, "
        f"seed {scale['seed']}**",
        "",
        "| strategy | api | jobs | requests | p99 s | lost | dup | real s | x "
        "| cpu s | x | peak rss MB | x |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    previous: dict[tuple[str, str], dict[str, Any]] = {}
    for run in scale["runs"]:
        key = (run["strategy"], run["api"])
        before = previous.get(key)
        previous[key] = run
        lines.append(
            f"| `{run['strategy']}` | `{run['api']}` | {run['jobs']:,} "
            f"| {run['requests']['total']:,} | {run['delay']['p99']:.2f} "
            f"| {run['lost']} | {run['duplicated']} "
            f"| {run['real_s']:.1f} | {_growth(run, before, 'real_s')} "
            f"| {run['cpu_s']:.1f} | {_growth(run, before, 'cpu_s')} "
            f"| {run['peak_rss_mb']:.0f} | {_growth(run, before, 'peak_rss_mb')} |"
        )
    return "\n".join(lines)


def _growth(run: dict[str, Any], before: dict[str, Any] | None, key: str) -> str:
    if before is None or not before[key]:
        return ""
    return f"{run[key] / before[key]:.1f}"


def write_scale(scale: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write `scale.json` (real seconds included) and `scale.md`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "scale.json", "markdown": out / "scale.md"}
    paths["json"].write_text(json.dumps(scale, indent=2) + "\n")
    paths["markdown"].write_text(format_scale_markdown(scale) + "\n")
    return paths
