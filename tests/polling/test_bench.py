"""`polling bench` and the command line, end to end and case by case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from polling._bench import BenchCase, run_case
from polling._cli import main
from polling.testing import WORKLOADS, Workload, lognormal

_STRATEGIES = ["per-job-backoff:initial=60,cap=600", "per-job-backoff:initial=120"]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """One `polling bench --json` run on the smallest workload, in a subprocess."""
    path = tmp_path_factory.mktemp("bench") / "results.json"
    flags = [arg for spec in _STRATEGIES for arg in ("--strategy", spec)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "polling",
            "bench",
            "--workload",
            "heavy-tail",
            "--api",
            "full",
            "--rate-limit",
            "none",
            "--seed",
            "3",
            "--parallel",
            "2",
            "--json",
            str(path),
            *flags,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout, json.loads(path.read_text())


def test_bench_json_has_exactly_the_published_keys(
    bench_run: tuple[str, dict[str, Any]],
) -> None:
    """The document and each result hold exactly the keys of the published shape."""
    _, document = bench_run
    assert set(document) == {"workload", "api", "rate_limit", "seed", "results"}
    for row in document["results"]:
        assert set(row) == {
            "strategy",
            "requests",
            "rejected",
            "floor",
            "delay",
            "makespan",
            "lost",
            "duplicated",
            "cpu_s",
            "peak_rss_mb",
        }
        assert set(row["requests"]) == {"total", "by_kind"}
        assert set(row["delay"]) == {"p50", "p99", "max"}


def test_bench_json_has_the_published_types(
    bench_run: tuple[str, dict[str, Any]],
) -> None:
    """Counts are ints, times and memory floats, names strings."""
    _, document = bench_run
    assert (document["workload"], document["api"]) == ("heavy-tail", "full")
    assert (document["rate_limit"], document["seed"]) == ("none", 3)
    for row in document["results"]:
        for key in ("rejected", "floor", "lost", "duplicated"):
            assert type(row[key]) is int
        for key in ("makespan", "cpu_s", "peak_rss_mb"):
            assert type(row[key]) is float
        assert all(type(value) is float for value in row["delay"].values())
        assert type(row["requests"]["total"]) is int
        assert all(type(n) is int for n in row["requests"]["by_kind"].values())


def test_bench_results_follow_the_strategies_in_order(
    bench_run: tuple[str, dict[str, Any]],
) -> None:
    """One result per `--strategy`, in the order given."""
    _, document = bench_run
    assert [row["strategy"] for row in document["results"]] == _STRATEGIES


def test_bench_loses_and_duplicates_nothing(
    bench_run: tuple[str, dict[str, Any]],
) -> None:
    """Every job of the workload is collected once: `lost` and `duplicated` are 0."""
    _, document = bench_run
    for row in document["results"]:
        assert (row["lost"], row["duplicated"]) == (0, 0)
        assert row["requests"]["by_kind"]["submit"] == 10_000
        assert sum(row["requests"]["by_kind"].values()) == row["requests"]["total"]
        assert row["floor"] == 20


def test_bench_prints_a_table_row_per_strategy(
    bench_run: tuple[str, dict[str, Any]],
) -> None:
    """The table names the case, then one row per strategy."""
    stdout, _ = bench_run
    lines = stdout.splitlines()
    assert lines[0] == "workload heavy-tail, api full, rate limit none, seed 3"
    for spec in _STRATEGIES:
        assert any(line.startswith(spec + " ") for line in lines)


def test_bench_refuses_an_unknown_strategy_with_the_known_ones() -> None:
    """An unknown strategy exits with status 2 and the registry's message."""
    done = subprocess.run(
        [sys.executable, "-m", "polling", "bench", "--strategy", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown strategy 'nope'; known strategies:" in done.stderr
    assert "naive" in done.stderr


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> str:
    """A 200-job workload beside the published ones."""
    monkeypatch.setitem(WORKLOADS, "tiny", Workload("tiny", 200, lognormal(1.0, 0.5)))
    return "tiny"


def test_run_case_counts_an_sdk_only_run(tiny: str) -> None:
    """On the SDK-only API, every job is one submit and at least one get."""
    row = run_case(BenchCase(tiny, "sdk-only", "none", "naive"))
    assert row["requests"]["by_kind"]["submit"] == 200
    assert row["requests"]["by_kind"]["get"] >= 200
    assert row["floor"] == 400
    assert (row["lost"], row["duplicated"]) == (0, 0)


def test_run_case_repeats_for_a_seed(tiny: str) -> None:
    """The same case and seed give the same requests, delays and makespan."""
    case = BenchCase(tiny, "sdk-only", "limited", "per-job-backoff", seed=5)
    first, second = run_case(case), run_case(case)
    for key in ("requests", "delay", "makespan", "rejected"):
        assert first[key] == second[key]


def test_strategies_command_lists_every_registered_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`polling strategies` prints each registered name with its parameters."""
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    assert "naive: Every pending job checked on its own" in out
    assert "    parameters: interval" in out


def test_bench_json_path_is_written_under_missing_folders(
    tiny: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json` creates the folders of its path."""
    path = tmp_path / "deep" / "er" / "out.json"
    argv = ["bench", "--workload", tiny, "--strategy", "naive", "--json", str(path)]
    assert main([*argv, "--parallel", "1"]) == 0
    assert json.loads(path.read_text())["workload"] == "tiny"


@pytest.mark.parametrize("where", ["/proc/nope/out.json", "/proc"])
def test_bench_refuses_an_unwritable_json_path_before_running(
    where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unwritable `--json` is an error at once, naming the path."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--strategy", "naive", "--json", where])

    assert exit_info.value.code == 2
    assert f"cannot write --json {where}" in capsys.readouterr().err


def test_bench_refuses_a_parallel_of_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """`--parallel 0` is an argument error naming the flag."""
    with pytest.raises(SystemExit):
        main(["bench", "--parallel", "0"])

    assert "--parallel: must be at least 1" in capsys.readouterr().err
