"""The plots of `polling bench --matrix` and `--scale`, drawn with matplotlib.

matplotlib is the `plot` extra: this module imports it only when it draws, and
`require_matplotlib` says at once, before a long run, that it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from ._errors import ConfigError

# One marker per API and rate limit, so that a strategy's four points (one
# colour) are told apart in a panel.
CONFIG_MARKERS: Final[dict[tuple[str, str], str]] = {
    ("full", "none"): "o",
    ("full", "limited"): "s",
    ("sdk-only", "none"): "^",
    ("sdk-only", "limited"): "v",
}

# A log axis cannot show 0: a p99 delay below this is drawn at it.
_LEAST_DELAY: Final = 0.01

# The targets of the million on the full API, drawn on the scale plot.
_TARGET_REAL_S: Final = 120.0
_TARGET_RSS_MB: Final = 1536.0


def require_matplotlib() -> None:
    """Raise a `ConfigError` saying how to install matplotlib, if it is missing."""
    try:
        import matplotlib  # noqa: F401 (imported only to see that it is there)
    except ImportError:
        raise ConfigError(
            "the plot needs matplotlib, which is not installed: "
            "pip install 'pollstack[plot]' (or pass --no-plot)"
        ) from None


def plot_matrix(matrix: dict[str, Any], path: Path) -> None:
    """Requests against p99 detection delay, both on log scales, a panel per
    workload: a colour per strategy, a marker per API and rate limit."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    workloads = matrix["workloads"]
    columns = min(2, len(workloads))
    rows = math.ceil(len(workloads) / columns)
    figure = Figure(figsize=(6.5 * columns, 4.8 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    colours = _colours(matrix["strategies"])
    for panel, name in zip(axes, workloads, strict=False):
        _matrix_panel(panel, matrix, name, colours)

    for spare in axes[len(workloads) :]:
        spare.set_visible(False)

    strategy_handles = [
        Line2D(
            [], [], color=colour, marker="o", fillstyle="none", linestyle="", label=spec
        )
        for spec, colour in colours.items()
    ]
    config_handles = [
        Line2D(
            [],
            [],
            color="grey",
            marker=marker,
            fillstyle="none",
            linestyle="",
            label=f"{a}, {r}",
        )
        for (a, r), marker in CONFIG_MARKERS.items()
        if a in matrix["apis"] and r in matrix["rate_limits"]
    ]
    figure.legend(handles=strategy_handles, title="strategy", loc="outside right upper")
    figure.legend(
        handles=config_handles, title="api, rate limit", loc="outside right lower"
    )
    figure.savefig(path, dpi=110)


def _matrix_panel(
    panel: Any, matrix: dict[str, Any], name: str, colours: dict[str, Any]
) -> None:
    for bench in matrix["benches"]:
        if bench["workload"] != name:
            continue
        marker = CONFIG_MARKERS.get((bench["api"], bench["rate_limit"]), "x")
        for row in bench["results"]:
            # Hollow markers, so that points of one strategy that coincide on
            # two APIs or rate limits both show.
            panel.scatter(
                row["requests"]["total"],
                max(row["delay"]["p99"], _LEAST_DELAY),
                facecolors="none",
                edgecolors=[colours[row["strategy"]]],
                marker=marker,
                s=48,
                linewidths=1.4,
            )

    jobs = matrix.get("jobs")
    panel.set_title(name if jobs is None else f"{name} at {jobs:,} jobs")
    panel.set_xscale("log")
    panel.set_yscale("log")
    _plain_ticks(panel.yaxis)
    panel.set_xlabel("requests")
    panel.set_ylabel("p99 detection delay, s")
    panel.grid(True, which="major", alpha=0.3)


def _colours(strategies: list[str]) -> dict[str, Any]:
    """A distinct colour per strategy: the ten strong colours of `tab20` first,
    then their light twins (which sit beside them in the map), then round again."""
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return {spec: palette(order[index % 20]) for index, spec in enumerate(strategies)}


def _plain_ticks(axis: Any) -> None:
    """A log axis labelled 0.1, 1, 10 at its decades, rather than in powers of ten."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def plot_scale(scale: dict[str, Any], path: Path) -> None:
    """Real seconds, client CPU and peak memory against jobs, on log scales, a
    line per strategy and API, with a dotted line of linear growth from the
    smallest run and the targets of the million on the full API."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.6), layout="constrained")
    panels = figure.subplots(1, 3)
    figures = (
        ("real_s", "real s", _TARGET_REAL_S),
        ("cpu_s", "client cpu s", None),
        ("peak_rss_mb", "peak rss MB", _TARGET_RSS_MB),
    )
    for panel, (key, label, target) in zip(panels, figures, strict=True):
        for line_label, runs in _scale_lines(scale):
            jobs = [run["jobs"] for run in runs]
            values = [run[key] for run in runs]
            drawn = panel.plot(jobs, values, marker="o", label=line_label)
            linear = [values[0] * count / jobs[0] for count in jobs]
            panel.plot(jobs, linear, linestyle=":", color=drawn[0].get_color())

        if target is not None:
            panel.axhline(target, color="red", linewidth=0.8, linestyle="--")
        panel.set_xscale("log")
        panel.set_yscale("log")
        _plain_ticks(panel.yaxis)
        panel.set_xlabel("jobs")
        panel.set_ylabel(label)
        panel.grid(True, which="major", alpha=0.3)

    panels[0].legend(title="dotted: linear; red: target")
    figure.suptitle(f"{scale['workload']} scaled, rate limit {scale['rate_limit']}")
    figure.savefig(path, dpi=110)


def _scale_lines(scale: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """The runs of each strategy and API, by job count."""
    lines: dict[str, list[Any]] = {}
    for run in scale["runs"]:
        lines.setdefault(f"{run['strategy']}, {run['api']}", []).append(run)
    for label, runs in lines.items():
        yield label, sorted(runs, key=lambda run: run["jobs"])
