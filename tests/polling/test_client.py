"""The forecast client and `polling run`: input order, the journal, a killed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpkit import KEY, live_server
from loopback import ROOT, LoopbackServer

from polling import ConfigError, ForecastClient, HttpJobAPI, JobId, OutcomeKind
from polling._cli import main
from polling._client import _digest
from polling._journal import Journal, Submission


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    """One reference server on loopback for the module's tests."""
    running = live_server(tmp_path_factory.mktemp("client-server"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _requests(count: int, tag: str) -> list[dict[str, Any]]:
    """Distinct small Naive requests; request `i` forecasts its last value, `i`."""
    return [
        {
            "model": "Naive",
            "horizon": 1 + i % 4,
            "series": [{"unique_id": f"{tag}-{i}", "values": [1.0, 2.0, float(i)]}],
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("batch_size", [None, 1])
def test_results_come_in_input_order(
    server: LoopbackServer, batch_size: int | None
) -> None:
    """Each outcome sits at its request's position and carries its forecast."""
    requests = _requests(12, f"order-{batch_size}")
    client = ForecastClient(server.url, api_key=KEY, batch_size=batch_size)
    outcomes = client.collect_sync(requests)

    assert [outcome.index for outcome in outcomes] == list(range(12))
    for i, outcome in enumerate(outcomes):
        assert outcome.kind is OutcomeKind.COMPLETED, outcome
        forecasts = outcome.result["forecasts"]
        assert forecasts == {f"order-{batch_size}-{i}": [float(i)] * (1 + i % 4)}
    assert client.report is not None
    assert sum(client.report.outcomes.values()) == 12


def test_one_refused_request_fails_alone(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """A batch the server refuses for one bad request is sent again in halves:
    the other requests complete, and a second run on the journal sends nothing."""
    requests = _requests(7, "refused")
    requests[4] = {**requests[4], "horizon": 0}
    journal = tmp_path / "run.journal"
    before = server.jobs()

    outcomes = ForecastClient(server.url, api_key=KEY, journal=journal).collect_sync(
        requests
    )

    kinds = [outcome.kind for outcome in outcomes]
    assert (
        kinds
        == [OutcomeKind.COMPLETED] * 4
        + [OutcomeKind.FAILED]
        + [OutcomeKind.COMPLETED] * 2
    )
    assert "horizon" in (outcomes[4].error or "")
    assert server.jobs() == before + 6
    again = ForecastClient(server.url, api_key=KEY, journal=journal).collect_sync(
        requests
    )
    assert [outcome.kind for outcome in again][:4] == [OutcomeKind.COMPLETED] * 4
    assert server.jobs() == before + 6


@pytest.mark.anyio
async def test_collect_runs_in_an_event_loop(server: LoopbackServer) -> None:
    """`collect` awaits the same outcomes on either async backend."""
    client = ForecastClient(server.url, api_key=KEY, strategy="batch")
    outcomes = await client.collect(_requests(3, "async"))
    assert [outcome.ok for outcome in outcomes] == [True, True, True]


def test_a_journal_resubmits_an_unanswered_submit_with_its_key(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """A submit journaled without its id is sent again and gets the same job."""
    requests = _requests(2, "unanswered")
    key = "unanswered-submit-key"

    async def submit_first() -> JobId:
        async with HttpJobAPI(server.url, api_key=KEY) as api:
            return await api.submit(requests[0], idempotency_key=key)

    made = anyio.run(submit_first)
    path = tmp_path / "journal.jsonl"
    journal = Journal.open(path, count=2, digest=_digest(requests))
    journal.submitting(Submission(key, (0,), batch=False))
    journal.close()
    before = server.jobs()

    outcomes = ForecastClient(server.url, api_key=KEY, journal=path).collect_sync(
        requests
    )

    assert outcomes[0].job_id == made
    assert all(outcome.ok for outcome in outcomes)
    assert server.jobs() == before + 1


def test_a_journal_of_other_requests_is_refused(tmp_path: Path) -> None:
    """A journal written for other requests is a ConfigError, before any request."""
    path = tmp_path / "journal.jsonl"
    Journal.open(path, count=1, digest="another input").close()
    client = ForecastClient("http://127.0.0.1:9", api_key=KEY, journal=path)
    with pytest.raises(ConfigError, match="another input"):
        client.collect_sync(_requests(1, "other"))


def test_a_torn_last_journal_line_is_dropped(tmp_path: Path) -> None:
    """A line cut short by a kill is dropped, and the next entry starts afresh."""
    path = tmp_path / "journal.jsonl"
    journal = Journal.open(path, count=3, digest="d")
    journal.submitting(Submission("k1", (0, 1), batch=True))
    journal.submitted("k1", [JobId("fj_a"), JobId("fj_b")])
    journal.close()
    with path.open("a") as file:
        file.write('{"submit":"k2","indi')

    journal = Journal.open(path, count=3, digest="d")
    assert journal.created == {"k1": ("fj_a", "fj_b")}
    assert list(journal.submissions) == ["k1"]
    journal.submitting(Submission("k3", (2,), batch=False))
    journal.close()
    journal = Journal.open(path, count=3, digest="d")
    journal.close()
    assert list(journal.submissions) == ["k1", "k3"]


def test_a_bad_journal_line_before_the_last_is_refused(tmp_path: Path) -> None:
    """Only the last line may be torn: garbage earlier is a ConfigError."""
    path = tmp_path / "journal.jsonl"
    Journal.open(path, count=1, digest="d").close()
    with path.open("a") as file:
        file.write('not json\n{"created":"k","job_ids":[]}\n')
    with pytest.raises(ConfigError, match="line 2"):
        Journal.open(path, count=1, digest="d")


def _run_command(server: LoopbackServer, folder: Path) -> list[str]:
    return [
        sys.executable, "-m", "polling", "run", "--url", server.url,
        "--api-key", KEY, "--input", str(folder / "in.jsonl"),
        "--output", str(folder / "out.jsonl"), "--journal", str(folder / "j.jsonl"),
        "--batch-size", "1", "--no-progress",
    ]  # fmt: skip


def _created_lines(journal: Path) -> int:
    if not journal.exists():
        return 0
    return journal.read_text().count('"created"')


def test_a_run_killed_mid_way_resumes_without_a_second_job(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """SIGKILL mid-run, then the same command: 40 jobs, each made and collected once."""
    requests = _requests(40, "killed")
    (tmp_path / "in.jsonl").write_text(
        "".join(json.dumps(request) + "\n" for request in requests)
    )
    journal = tmp_path / "j.jsonl"
    before = server.jobs()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(_run_command(server, tmp_path), env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while _created_lines(journal) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    assert first.returncode == -signal.SIGKILL  # killed, not finished
    made_before_kill = _created_lines(journal)
    assert 5 <= made_before_kill < 40
    # A kill can also land inside a write: the next run drops such a line.
    with journal.open("a") as file:
        file.write('{"submit":"torn-by-the-ki')

    second = subprocess.run(
        _run_command(server, tmp_path), env=env, cwd=ROOT, capture_output=True
    )

    assert second.returncode == 0, second.stderr.decode()
    lines = [
        json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()
    ]
    assert [line["index"] for line in lines] == list(range(40))
    assert all(line["outcome"] == "completed" for line in lines)
    assert len({line["job_id"] for line in lines}) == 40
    assert server.jobs() == before + 40


def test_run_writes_results_as_json_lines(
    server: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`polling run` in process: one line per request with its outcome."""
    (tmp_path / "in.jsonl").write_text(
        "\n".join(json.dumps(r) for r in _requests(3, "cli")) + "\n\n"
    )
    out = tmp_path / "out.jsonl"
    argv = ["run", "--url", server.url, "--api-key", KEY, "--no-progress"]
    assert (
        main([*argv, "--input", str(tmp_path / "in.jsonl"), "--output", str(out)]) == 0
    )

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["index"], line["outcome"]) for line in lines] == [
        (0, "completed"),
        (1, "completed"),
        (2, "completed"),
    ]
    assert lines[2]["result"]["forecasts"] == {"cli-2": [2.0, 2.0, 2.0]}
    assert "3 results written" in capsys.readouterr().out


def test_run_names_a_missing_input_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing input file is a usage error that names it."""
    missing = tmp_path / "nowhere.jsonl"
    argv = ["run", "--url", "http://127.0.0.1:9", "--api-key", "k"]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--input", str(missing), "--output", str(tmp_path / "o")])
    assert exit_.value.code == 2
    assert f"input file {missing} does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--output", "--journal"])
def test_run_refuses_a_path_it_cannot_write_before_submitting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    """A folder given as the output (or the journal) is refused before anything
    is sent: the server here does not even exist."""
    requests = tmp_path / "in.jsonl"
    requests.write_text('{"model": "Naive", "horizon": 1, "series": []}\n')
    paths = {"--output": str(tmp_path / "out.jsonl"), "--journal": None}
    paths[flag] = str(tmp_path)
    argv = ["run", "--url", "http://127.0.0.1:9", "--api-key", "k"]
    argv += ["--input", str(requests), "--output", str(paths["--output"])]
    if paths["--journal"] is not None:
        argv += ["--journal", paths["--journal"]]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert f"cannot write {flag} {tmp_path}" in capsys.readouterr().err


def test_run_names_the_line_of_bad_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad JSON in the input is a usage error naming its line number."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"model": "Naive"}\n\n{"model": \n')
    argv = ["run", "--url", "http://127.0.0.1:9", "--api-key", "k"]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--input", str(source), "--output", str(tmp_path / "o")])
    assert exit_.value.code == 2
    assert "line 3: not valid JSON" in capsys.readouterr().err


def test_run_help_shows_the_input_format_and_the_journal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`polling run --help` says what a line of input is and what --journal does."""
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert '"model": "Naive"' in text
    assert "--journal FILE" in text
    assert "POLLING_API_KEY" in text


def test_an_interrupted_run_says_how_to_resume(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C during a journaled run exits 130 and names the journal to resume."""

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ForecastClient, "collect_sync", interrupted)
    requests = tmp_path / "in.jsonl"
    requests.write_text('{"model": "Naive", "horizon": 1, "series": []}\n')
    journal = tmp_path / "run.journal"
    argv = ["run", "--url", "http://127.0.0.1:9", "--api-key", "k"]
    argv += ["--input", str(requests), "--output", str(tmp_path / "out.jsonl")]

    assert main([*argv, "--journal", str(journal)]) == 130
    assert f"run the same command again to resume from {journal}" in (
        capsys.readouterr().err
    )
