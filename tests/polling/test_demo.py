"""`polling demo`: real forecasts over real HTTP, equal to statsforecast's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from polling import JobId, Outcome, OutcomeKind
from polling._cli import main
from polling._demo import NAIVE_INTERVAL, demo_requests, naive_loop_requests


def _statsforecast(request: dict[str, Any]) -> list[float]:
    """The point forecast statsforecast itself gives for a request's one series."""
    import pandas as pd
    from statsforecast import StatsForecast, models

    [series] = request["series"]
    model_class = getattr(models, request["model"])
    if request["model"] in ("Naive", "HistoricAverage", "RandomWalkWithDrift"):
        model = model_class()
    else:
        model = model_class(season_length=request["season_length"])
    frame = pd.DataFrame(
        {
            "unique_id": series["unique_id"],
            "ds": range(len(series["values"])),
            "y": series["values"],
        }
    )
    forecast = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(
        df=frame, h=request["horizon"]
    )
    return [float(value) for value in forecast[str(model)]]


def test_demo_results_equal_statsforecast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every job of a small demo completes with statsforecast's forecast."""
    out = tmp_path / "results.jsonl"
    argv = ["demo", "--jobs", "15", "--out", str(out), "--no-progress"]
    assert main([*argv, "--workers", "2"]) == 0

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    requests = demo_requests(15)
    assert [line["index"] for line in lines] == list(range(15))
    for line, request in zip(lines, requests, strict=True):
        assert line["outcome"] == "completed", line
        [series] = request["series"]
        assert line["series"] == series["unique_id"]
        forecast = line["result"]["forecasts"][series["unique_id"]]
        assert forecast == pytest.approx(_statsforecast(request), rel=1e-9)
    printed = capsys.readouterr().out
    assert "outcomes: completed=15" in printed
    assert "the naive loop: about" in printed


def test_demo_compares_with_the_naive_loop_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--compare naive` runs the naive loop on the same server and reports it."""
    out = tmp_path / "results.jsonl"
    argv = ["demo", "--jobs", "6", "--out", str(out), "--no-progress"]
    assert main([*argv, "--workers", "1", "--compare", "naive"]) == 0

    printed = capsys.readouterr().out
    assert "6 forecasts, strategy stack:" in printed
    assert "6 forecasts, strategy naive:" in printed
    assert "submit=6" in printed
    # Both runs read the CPU of this process and of the server's web process.
    assert printed.count("ms per job") == 2
    assert printed.count("server CPU (web process):") == 2
    assert len(out.read_text().splitlines()) == 6


def test_demo_refuses_no_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    """`--jobs 0` is a usage error, before any server starts."""
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--jobs", "0"])
    assert exit_.value.code == 2
    assert "--jobs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--out", "."], "cannot write --out ."),
    ],
)
def test_demo_refuses_bad_options_before_starting_the_server(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Checked up front: a bad folder for the results would otherwise be found
    only after every forecast ran."""
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--jobs", "2", "--no-progress", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_demo_refuses_an_unknown_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    """A strategy name that does not exist is a usage error naming it."""
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--jobs", "1", "--strategy", "no-such-strategy"])
    assert exit_.value.code == 2
    assert "no-such-strategy" in capsys.readouterr().err


def test_demo_requests_are_distinct_real_series() -> None:
    """No two requests are the same, and every model and series is used."""
    requests = demo_requests(200)
    texts = {json.dumps(r["series"][0]["values"]) + r["model"] for r in requests}
    assert len(texts) == 200
    assert {r["model"] for r in requests} >= {"Naive", "AutoTheta"}
    names = {r["series"][0]["unique_id"].rsplit("-", 1)[0] for r in requests}
    assert {"co2", "sunspots", "elnino", "nile", "macro-realgdp"} <= names


def test_naive_loop_counts_a_submit_and_a_get_per_interval() -> None:
    """A job done at once costs two requests; each interval it waits costs one."""
    outcomes = [
        Outcome(0, JobId("a"), OutcomeKind.COMPLETED, completed_at=100.0),
        Outcome(1, JobId("b"), OutcomeKind.COMPLETED, completed_at=105.0),
        Outcome(2, None, OutcomeKind.FAILED),
    ]
    submitted_at = {JobId("a"): 100.0, JobId("b"): 100.0}
    expected = 3 + 1 + (5 // NAIVE_INTERVAL + 1) + 1
    assert naive_loop_requests(outcomes, submitted_at) == expected


def test_naive_loop_counts_from_each_jobs_own_submit() -> None:
    """A job submitted late is not counted as pending before its submit."""
    outcomes = [Outcome(0, JobId("a"), OutcomeKind.COMPLETED, completed_at=130.0)]
    assert naive_loop_requests(outcomes, {JobId("a"): 129.0}) == 2
