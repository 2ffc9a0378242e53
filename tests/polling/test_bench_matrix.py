"""`polling bench --matrix`, `--scale` and `--jobs`, on tiny workloads."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import polling._bench
from polling._bench import run_matrix, scaled
from polling._cli import main
from polling._registry import available
from polling.testing import APIS, RATE_LIMITS, WORKLOADS, Workload, lognormal

_PUBLISHED_ROW_KEYS = {
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
_WORKLOADS = ["seed-burst", "heavy-tail"]
_STRATEGIES = ["naive", "stack"]
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One narrowed `polling bench --matrix` at 100 jobs a workload, in a
    subprocess: two workloads, both APIs, rate limit none, two strategies."""
    out = tmp_path_factory.mktemp("matrix")
    flags = [
        *("--matrix", "--jobs", "100", "--rate-limit", "none", "--no-progress"),
        *(arg for name in _WORKLOADS for arg in ("--workload", name)),
        *(arg for spec in _STRATEGIES for arg in ("--strategy", spec)),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "polling", "bench", *flags, "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout, out


def _matrix_json(matrix_run: tuple[str, Path]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((matrix_run[1] / "matrix.json").read_text())
    return document


def test_matrix_json_holds_the_axes_and_a_published_table_per_config(
    matrix_run: tuple[str, Path],
) -> None:
    """The matrix names its axes; each table has the keys of `--json`, plus
    `jobs` for the scaled workload."""
    document = _matrix_json(matrix_run)
    assert document["workloads"] == _WORKLOADS
    assert document["apis"] == list(APIS)
    assert document["rate_limits"] == ["none"]
    assert document["strategies"] == _STRATEGIES
    assert (document["seed"], document["jobs"]) == (0, 100)
    assert type(document["real_s"]) is float
    for bench in document["benches"]:
        assert set(bench) == {"workload", "api", "rate_limit", "seed", "jobs"} | {
            "results"
        }
        assert all(set(row) == _PUBLISHED_ROW_KEYS for row in bench["results"])


def test_matrix_runs_every_strategy_on_every_narrowed_config(
    matrix_run: tuple[str, Path],
) -> None:
    """One table per workload and API, in that order, each with every strategy."""
    benches = _matrix_json(matrix_run)["benches"]
    configs = [(b["workload"], b["api"], b["rate_limit"]) for b in benches]
    assert configs == list(itertools.product(_WORKLOADS, APIS, ["none"]))
    for bench in benches:
        assert [row["strategy"] for row in bench["results"]] == _STRATEGIES


def test_matrix_collects_every_job_of_the_scaled_workload_once(
    matrix_run: tuple[str, Path],
) -> None:
    """Each run submits the 100 jobs, loses none and duplicates none."""
    for bench in _matrix_json(matrix_run)["benches"]:
        for row in bench["results"]:
            kinds = row["requests"]["by_kind"]
            assert (row["lost"], row["duplicated"]) == (0, 0)
            assert row["floor"] == (2 if bench["api"] == "full" else 200)
            if "submit" in kinds:
                assert kinds["submit"] == 100
            else:
                assert kinds["batch_submit"] == 1


def test_matrix_markdown_has_a_titled_table_per_config(
    matrix_run: tuple[str, Path],
) -> None:
    """matrix.md holds each config's title and a row per strategy under it."""
    text = (matrix_run[1] / "matrix.md").read_text()
    for workload, api in itertools.product(_WORKLOADS, APIS):
        title = f"**`{workload}` at 100 jobs, api `{api}`, rate limit `none`, seed 0**"
        assert title in text
    assert text.count("| `naive` |") == text.count("| `stack` |") == 4


def test_matrix_writes_a_png_plot(matrix_run: tuple[str, Path]) -> None:
    """matrix.png is a PNG image."""
    assert (matrix_run[1] / "matrix.png").read_bytes().startswith(_PNG_SIGNATURE)


def test_matrix_prints_every_table_and_the_run_count(
    matrix_run: tuple[str, Path],
) -> None:
    """The text tables are printed, then how many runs the matrix took."""
    stdout, out = matrix_run
    assert "workload heavy-tail at 100 jobs, api sdk-only, rate limit none" in stdout
    assert "8 runs in " in stdout
    assert str(out / "matrix.png") in stdout


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> str:
    """A 60-job workload beside the published ones (seen by forked children)."""
    monkeypatch.setitem(WORKLOADS, "tiny", Workload("tiny", 60, lognormal(1.0, 0.5)))
    return "tiny"


def test_matrix_shows_a_progress_bar_over_its_runs(
    tiny: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With progress on, a bar on stderr counts the runs to the last one."""
    run_matrix(
        workloads=[tiny],
        apis=["sdk-only"],
        rate_limits=list(RATE_LIMITS),
        strategies=["naive"],
        seed=0,
        parallel=1,
        progress=True,
    )
    assert "2/2" in capsys.readouterr().err


def test_matrix_without_matplotlib_is_refused_before_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No matplotlib: exit 2 naming the extra to install, and nothing is run."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(polling._bench, "run_matrix", _must_not_run)

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--matrix", "--out", str(tmp_path)])

    assert exit_info.value.code == 2
    assert "pip install 'pollstack[plot]'" in capsys.readouterr().err


def _must_not_run(**kwargs: Any) -> dict[str, Any]:
    raise AssertionError("the matrix ran")


def test_matrix_with_no_plot_needs_no_matplotlib(
    tiny: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`--no-plot` writes the JSON and the Markdown, and no PNG."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["bench", "--matrix", "--workload", tiny, "--strategy", "naive"]
    flags = ["--api", "full", "--rate-limit", "none", "--parallel", "1"]

    assert main([*argv, *flags, "--out", str(tmp_path), "--no-plot"]) == 0

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "matrix.json",
        "matrix.md",
    ]


def test_matrix_defaults_to_every_strategy_workload_api_and_rate_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without narrowing flags, the matrix is the whole plan of WORKLOADS.md."""
    asked: dict[str, Any] = {}

    def record(**kwargs: Any) -> dict[str, Any]:
        asked.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(polling._bench, "run_matrix", record)

    assert main(["bench", "--matrix", "--out", str(tmp_path), "--no-plot"]) == 130

    assert asked["workloads"] == list(WORKLOADS)
    assert asked["apis"] == list(APIS)
    assert asked["rate_limits"] == list(RATE_LIMITS)
    assert asked["strategies"] == sorted(available())
    assert (asked["parallel"], asked["jobs"]) == (2, None)


def test_matrix_refuses_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--matrix` writes into `--out`; a `--json` beside it is an error."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--matrix", "--json", str(tmp_path / "x.json")])

    assert exit_info.value.code == 2
    assert "--matrix writes its JSON into --out" in capsys.readouterr().err


def test_matrix_refuses_an_unwritable_out_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An `--out` that cannot be written is an error before the run."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--matrix", "--out", "/proc/nope", "--no-plot"])

    assert exit_info.value.code == 2
    assert "cannot write into --out /proc/nope" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--workload", "--api", "--rate-limit", "--jobs"])
def test_single_bench_refuses_a_flag_given_twice(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without `--matrix`, each axis takes one value, and saying two is an error."""
    values = {
        "--workload": ("trickle", "heavy-tail"),
        "--api": ("full", "sdk-only"),
        "--rate-limit": ("none", "limited"),
        "--jobs": ("10", "20"),
    }[flag]

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", flag, values[0], flag, values[1]])

    assert exit_info.value.code == 2
    assert f"{flag} is given 2 times; only --matrix takes several" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("flag", ["--out", "--no-plot"])
def test_single_bench_refuses_the_flags_of_the_modes(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out` and `--no-plot` belong to `--matrix` and `--scale`."""
    argv = ["bench", flag] + (["somewhere"] if flag == "--out" else [])

    with pytest.raises(SystemExit):
        main(argv)

    assert f"{flag} goes with --matrix or --scale" in capsys.readouterr().err


def test_scaled_million_keeps_its_queue_depth() -> None:
    """`million` at 10,000 jobs has 200 workers: 50 jobs a worker, as at full size."""
    small = scaled(WORKLOADS["million"], 10_000)
    assert (small.jobs, small.workers) == (10_000, 200)
    assert small.service is WORKLOADS["million"].service


def test_scaled_trickle_keeps_its_window_and_scales_its_rate() -> None:
    """A tenth of `trickle` arrives over the same 600 s at a tenth of the rate."""
    small = scaled(WORKLOADS["trickle"], 3_000)
    assert small.arrivals_per_second == pytest.approx(5.0)
    assert small.arrival_window == 600.0


def test_scaled_workload_without_a_queue_stays_without() -> None:
    """`heavy-tail` has no worker pool, scaled or not."""
    assert scaled(WORKLOADS["heavy-tail"], 500).workers is None


def test_bench_jobs_flag_runs_the_scaled_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--jobs 80` submits 80 jobs, and the table and the JSON say so."""
    path = tmp_path / "out.json"
    argv = ["bench", "--workload", "seed-burst", "--jobs", "80", "--strategy", "naive"]

    assert main([*argv, "--parallel", "1", "--json", str(path)]) == 0

    document = json.loads(path.read_text())
    assert document["jobs"] == 80
    assert document["results"][0]["requests"]["by_kind"]["submit"] == 80
    assert "workload seed-burst at 80 jobs, api full" in capsys.readouterr().out


def test_scale_writes_a_row_per_job_count_with_its_growth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--scale` runs each job count, writes JSON with real seconds, a
    Markdown table whose second row shows its growth, and a PNG."""
    argv = ["bench", "--scale", "--workload", "seed-burst", "--api", "full"]
    flags = ["--jobs", "50", "--jobs", "150", "--no-progress", "--out", str(tmp_path)]

    assert main([*argv, *flags]) == 0

    scale = json.loads((tmp_path / "scale.json").read_text())
    assert (scale["workload"], scale["rate_limit"]) == ("seed-burst", "none")
    assert [(run["api"], run["jobs"]) for run in scale["runs"]] == [
        ("full", 50),
        ("full", 150),
    ]
    assert all(run["strategy"] == "stack" for run in scale["runs"])
    assert all(type(run["real_s"]) is float for run in scale["runs"])
    rows = (tmp_path / "scale.md").read_text().splitlines()
    assert rows[-2].startswith("| `stack` | `full` | 50 |")
    assert rows[-2].endswith("|  |")
    assert rows[-1].startswith("| `stack` | `full` | 150 |")
    assert not rows[-1].endswith("|  |")
    assert (tmp_path / "scale.png").read_bytes().startswith(_PNG_SIGNATURE)
