"""The `polling` command: benchmarks, the reference server, and collecting jobs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import AuthError, ConfigError, TransientError

_DESCRIPTION = """\
Collect the results of many asynchronous jobs with as few requests as the job API
allows. Strategies are chosen by name, with parameters as name:key=value,key=value
(for example stack:target_delay=10).
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    A reader that closes stdout early (`polling strategies | head -1`) ends the
    command quietly with status 1, as Python's documentation on SIGPIPE advises.
    """
    try:
        status = _main(argv)
        # Flushed here so that a closed pipe is met inside the handler, not at
        # interpreter exit where it would print a traceback.
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        return 1
    return status


def _stdout_to_devnull() -> None:
    """Point stdout at devnull, so that the exit's own flush of it cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.run(args)
    except ConfigError as error:
        parser.exit(2, f"polling: error: {error}\n")
    except KeyboardInterrupt:
        if getattr(args, "journal", None) is not None:
            sys.stderr.write(
                f"interrupted: run the same command again to resume from "
                f"{args.journal}\n"
            )
        return 130
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polling", description=_DESCRIPTION)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every request (DEBUG)"
    )
    commands = parser.add_subparsers(title="commands", required=True)
    _add_bench(commands)
    _add_strategies(commands)
    _add_serve(commands)
    _add_demo(commands)
    _add_run(commands)
    return parser


_BENCH_DESCRIPTION = """\
Run strategies side by side on one simulated workload (see docs/strategies.md),
in virtual time: exact request counts, detection delays and makespans that repeat
for a seed, plus each run's real CPU time and peak memory.

--matrix runs every registered strategy on every workload, API and rate limit in
one run (--workload, --api, --rate-limit and --strategy, each repeatable, narrow
it) and writes matrix.json, matrix.md and matrix.png into --out.

--scale runs a workload (default million) at several job counts (--jobs,
repeatable; default 10,000, 100,000 and 1,000,000) with a strategy (default
stack) on each API, rate limit none, and writes scale.json, scale.md and
scale.png into --out: real seconds, client CPU and peak memory per job count.
"""


def _add_bench(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .testing._workloads import APIS, RATE_LIMITS, WORKLOADS

    bench = commands.add_parser(
        "bench",
        help="compare strategies on a simulated workload, in virtual time",
        description=_BENCH_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--workload",
        action="append",
        choices=sorted(WORKLOADS),
        help="the job population (default: seed-burst; repeatable with --matrix)",
    )
    bench.add_argument(
        "--api",
        action="append",
        choices=APIS,
        help="full: every batch route; sdk-only: submit and get only "
        "(default: full; repeatable with --matrix and --scale)",
    )
    bench.add_argument(
        "--rate-limit",
        action="append",
        choices=sorted(RATE_LIMITS),
        help="limited: 10,000 requests a minute, burst 500 (default: none; "
        "repeatable with --matrix)",
    )
    bench.add_argument(
        "--strategy",
        action="append",
        metavar="NAME",
        help="a strategy spec, repeatable (default: naive and per-job-backoff; "
        "with --matrix every registered strategy; with --scale stack)",
    )
    bench.add_argument(
        "--seed", type=int, default=0, help="the workload's seed (default 0)"
    )
    bench.add_argument(
        "--jobs",
        action="append",
        type=_positive_int,
        metavar="N",
        help="run the workload with N jobs instead of its own count; its worker "
        "pool and arrival rate scale alike, so the queue's depth and the makespan "
        "stay about the same (repeatable with --scale)",
    )
    bench.add_argument(
        "--json", type=Path, metavar="PATH", help="also write the results as JSON"
    )
    bench.add_argument(
        "--parallel",
        type=_positive_int,
        metavar="N",
        help="runs at once, each in its own process (default: 2; with --scale 1, "
        "so that runs do not share the CPUs whose real seconds they measure)",
    )
    modes = bench.add_mutually_exclusive_group()
    modes.add_argument(
        "--matrix",
        action="store_true",
        help="every strategy on every workload, API and rate limit (see above)",
    )
    modes.add_argument(
        "--scale",
        action="store_true",
        help="one workload at several job counts: real s, CPU, memory (see above)",
    )
    bench.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where --matrix and --scale write (default: bench-matrix, bench-scale)",
    )
    bench.add_argument(
        "--no-plot",
        action="store_true",
        help="with --matrix or --scale, write no PNG (no matplotlib needed)",
    )
    bench.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar over the runs of --matrix and --scale",
    )
    bench.set_defaults(run=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    if args.matrix:
        return _run_matrix(args)
    if args.scale:
        return _run_scale(args)
    return _run_single_bench(args)


def _run_single_bench(args: argparse.Namespace) -> int:
    from ._bench import format_table, run_bench, write_json

    # --no-progress is let through: a single bench draws no bar, and scripts
    # pass the flag to every command alike.
    for flag in ("out", "no_plot"):
        _refuse_outside_modes(args, flag)
    jobs = _at_most_one(args, "jobs", None)
    if args.json is not None:
        _check_writable(args.json)
    document = run_bench(
        workload_name=_at_most_one(args, "workload", "seed-burst"),
        api=_at_most_one(args, "api", "full"),
        rate_limit=_at_most_one(args, "rate_limit", "none"),
        strategies=args.strategy or ["naive", "per-job-backoff"],
        seed=args.seed,
        parallel=args.parallel or 2,
        jobs=jobs,
    )
    print(format_table(document))
    if args.json is not None:
        write_json(document, args.json)
        print(f"results written to {args.json}")
    return 0


def _run_matrix(args: argparse.Namespace) -> int:
    from ._bench import format_matrix_table, run_matrix, write_matrix
    from ._registry import available
    from .testing._workloads import APIS, RATE_LIMITS, WORKLOADS

    _refuse_json(args, "--matrix")
    out = _output_folder(args, "bench-matrix")
    matrix = run_matrix(
        workloads=args.workload or list(WORKLOADS),
        apis=args.api or list(APIS),
        rate_limits=args.rate_limit or list(RATE_LIMITS),
        strategies=args.strategy or sorted(available()),
        seed=args.seed,
        parallel=args.parallel or 2,
        jobs=_at_most_one(args, "jobs", None),
        progress=False if args.no_progress else None,
    )
    print(format_matrix_table(matrix))
    paths = write_matrix(matrix, out)
    if not args.no_plot:
        from ._benchplot import plot_matrix

        paths["plot"] = out / "matrix.png"
        plot_matrix(matrix, paths["plot"])
    print("written: " + ", ".join(str(path) for path in paths.values()))
    return 0


def _run_scale(args: argparse.Namespace) -> int:
    from ._bench import format_scale_markdown, run_scale, write_scale
    from .testing._workloads import APIS

    _refuse_json(args, "--scale")
    out = _output_folder(args, "bench-scale")
    scale = run_scale(
        workload_name=_at_most_one(args, "workload", "million"),
        apis=args.api or list(APIS),
        job_counts=args.jobs or [10_000, 100_000, 1_000_000],
        strategies=args.strategy or ["stack"],
        rate_limit=_at_most_one(args, "rate_limit", "none"),
        seed=args.seed,
        parallel=args.parallel or 1,
        progress=False if args.no_progress else None,
    )
    print(format_scale_markdown(scale))
    paths = write_scale(scale, out)
    if not args.no_plot:
        from ._benchplot import plot_scale

        paths["plot"] = out / "scale.png"
        plot_scale(scale, paths["plot"])
    print("written: " + ", ".join(str(path) for path in paths.values()))
    return 0


def _output_folder(args: argparse.Namespace, default: str) -> Path:
    """The folder of --out, made and checked before the run, not after it.

    Also checks, when there is to be a plot, that matplotlib is installed.
    """
    out: Path = args.out or Path(default)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".polling-bench-probe"
        probe.touch()
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot write into --out {out}: {reason}") from error
    if not args.no_plot:
        from ._benchplot import require_matplotlib

        require_matplotlib()
    return out


def _at_most_one(args: argparse.Namespace, dest: str, default: Any) -> Any:
    """The one value of a flag that repeats only in --matrix (or --scale)."""
    values = getattr(args, dest)
    if not values:
        return default
    if len(values) > 1:
        flag = "--" + dest.replace("_", "-")
        raise ConfigError(
            f"{flag} is given {len(values)} times; only --matrix takes several "
            "(and --scale several --api and --jobs)"
        )
    return values[0]


def _refuse_outside_modes(args: argparse.Namespace, dest: str) -> None:
    if getattr(args, dest):
        flag = "--" + dest.replace("_", "-")
        raise ConfigError(f"{flag} goes with --matrix or --scale")


def _refuse_json(args: argparse.Namespace, mode: str) -> None:
    if args.json is not None:
        raise ConfigError(f"{mode} writes its JSON into --out DIR; --json is not used")


def _check_writable(path: Path, flag: str = "--json") -> None:
    """Refuse an output path before a long run, not after it.

    Its folders are made, as the write would make them.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"cannot write {flag} {path}: {reason}") from error


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_strategies(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    listing = commands.add_parser(
        "strategies", help="list the registered strategies and their parameters"
    )
    listing.set_defaults(run=_run_strategies)


def _run_strategies(args: argparse.Namespace) -> int:
    from ._registry import _parameters as parameters
    from ._registry import available, strategy_class

    for name in sorted(available()):
        cls = strategy_class(name)
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        params = ", ".join(parameters(cls)) or "no parameters"
        print(f"{name}: {summary}\n    parameters: {params}")
    return 0


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the reference forecast-jobs server (needs the server extra)",
        description="Run the reference forecast-jobs server with uvicorn.",
    )
    try:
        from server.cli import add_arguments
    except ImportError:
        serve.set_defaults(run=_server_missing)
        return
    add_arguments(serve)
    serve.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from server.cli import run

    return run(args)


def _server_missing(args: argparse.Namespace) -> int:
    print(
        "polling serve needs the server extra: pip install 'pollstack[server]'",
        file=sys.stderr,
    )
    return 2


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="collect real forecasts from the reference server on loopback",
        description=(
            "Start the reference server on loopback (a SQLite file in a temporary "
            "folder, the local executor), submit forecast jobs on the series that "
            "ship with statsmodels, collect them with a strategy under progress "
            "bars, write the results as JSON lines and print what it cost, beside "
            "about what the naive loop (one submit per job, then a get of every "
            "pending job every 2 s) would have needed for the same jobs. Needs the "
            "server extra and statsmodels."
        ),
    )
    demo.add_argument(
        "--jobs",
        type=int,
        default=5000,
        metavar="N",
        help="forecast jobs to run (default: 5000, under a minute on two cores)",
    )
    demo.add_argument(
        "--strategy",
        default="stack",
        metavar="NAME",
        help="a strategy spec, see `polling strategies` (default: stack)",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-results.jsonl"),
        metavar="PATH",
        help="where the results go, one JSON line per job (default: "
        "demo-results.jsonl)",
    )
    demo.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="forecast processes of the server (default: one per CPU)",
    )
    demo.add_argument(
        "--compare",
        action="append",
        metavar="NAME",
        help="also run this strategy on the same requests (as new jobs) and print "
        "its report, e.g. --compare naive to measure the naive loop; repeatable",
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    _check_writable(args.out, "--out")
    runs = run_demo(
        jobs=args.jobs,
        strategy=args.strategy,
        out=args.out,
        progress=False if args.no_progress else None,
        workers=args.workers,
        compare=args.compare or (),
    )
    for run in runs:
        print(f"\n{run.summary()}")
    print(f"\nresults of {args.strategy} written to {args.out}")
    return 0 if all(o.ok for run in runs for o in run.outcomes) else 1


_RUN_DESCRIPTION = """\
Submit the forecast requests of a JSON-lines file to a forecast-jobs server,
collect every result with a strategy and write them, in input order, as JSON
lines. With --journal, a run that is killed can be started again with the same
arguments: it polls the jobs it already made and creates none twice.
"""

_RUN_EPILOG = """\
input: one forecast request per line, as POST /forecast-jobs takes it, e.g.
  {"model": "Naive", "horizon": 3, "series": [{"unique_id": "a", "values": [1, 2]}]}
output: one line per request, in input order:
  {"index": 0, "job_id": "fj_...", "outcome": "completed", "result": {...},
   "error": null}
Exit status: 0 when every job completed, 1 when some did not, 2 for a usage error.
"""


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="submit forecast requests from a file to a server and collect them",
        description=_RUN_DESCRIPTION,
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--url", required=True, help="the server, e.g. http://127.0.0.1:8000"
    )
    run.add_argument(
        "--api-key",
        default=os.environ.get("POLLING_API_KEY"),
        metavar="KEY",
        help="the API key (default: $POLLING_API_KEY)",
    )
    run.add_argument(
        "--input", type=Path, required=True, metavar="FILE", help="the requests"
    )
    run.add_argument(
        "--output", type=Path, required=True, metavar="FILE", help="the results"
    )
    run.add_argument(
        "--strategy",
        default="stack",
        metavar="NAME",
        help="a strategy spec, see `polling strategies` (default: stack)",
    )
    run.add_argument(
        "--journal",
        type=Path,
        metavar="FILE",
        help="record submits here, so that a killed run can resume; use the same "
        "file and input to resume, a new file for a new run",
    )
    run.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="most requests per submit (default: the server's batch limit)",
    )
    run.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="stop polling after this long; unfinished jobs end timed_out",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.set_defaults(run=_run_run)


def read_requests(path: Path) -> list[dict[str, Any]]:
    """The forecast requests of a JSON-lines file; blank lines are skipped.

    Raises:
        ConfigError: The file is missing, or a line is not a JSON object (the
            message names the line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"input file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read input file {path}: {error}") from error
    requests = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as error:
            raise ConfigError(
                f"{path} line {number}: not valid JSON: {error}"
            ) from None
        if not isinstance(request, dict):
            raise ConfigError(
                f"{path} line {number}: expected a JSON object (a forecast request)"
            )
        requests.append(request)
    if not requests:
        raise ConfigError(f"input file {path} has no requests")
    return requests


def _run_run(args: argparse.Namespace) -> int:
    from ._client import ForecastClient

    if args.api_key is None:
        raise ConfigError("give the API key with --api-key or $POLLING_API_KEY")
    if args.batch_size is not None and args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    requests = read_requests(args.input)
    _check_writable(args.output, "--output")
    if args.journal is not None:
        _check_writable(args.journal, "--journal")
    client = ForecastClient(
        args.url,
        api_key=args.api_key,
        strategy=args.strategy,
        journal=args.journal,
        batch_size=args.batch_size,
        deadline=args.deadline,
        progress=False if args.no_progress else None,
    )
    try:
        outcomes = client.collect_sync(requests)
    except AuthError as error:
        raise ConfigError(f"the server refused the API key: {error}") from error
    except TransientError as error:
        raise ConfigError(f"cannot reach {args.url}: {error}") from error
    with args.output.open("w", encoding="utf-8") as file:
        for outcome in outcomes:
            line = {
                "index": outcome.index,
                "job_id": outcome.job_id,
                "outcome": outcome.kind.value,
                "result": outcome.result,
                "error": outcome.error,
            }
            file.write(json.dumps(line) + "\n")
    if client.report is not None:
        print(client.report.summary())
    print(f"{len(outcomes)} results written to {args.output}")
    return 0 if all(outcome.ok for outcome in outcomes) else 1
