"""The benchmarks' charts, drawn by matplotlib from their JSON records: a program of its own for the system's Python.

    /usr/bin/python3 benchmarks/charts.py benchmarks/latency.json [...]    writes benchmarks/latency.png

`./run_tests.sh --benchmark` runs it after writing its record (benchmarks/record.py). It runs under
/usr/bin/python3 with Debian's python3-matplotlib (scripts/install-system-deps.sh), never in the suite's venv:
matplotlib and numpy would add tens of MB per platform to vendor_wheels/, for pictures the env_test image never
draws. So this file imports nothing of the project, and the Agg backend draws without a display.

A record's "benchmark" says which chart: "scale" (results.json) and "latency" (latency.json), runs against scale;
"hostile" (hostile.json), each hostile input at half and full size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

try:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator, ScalarFormatter
except ImportError:  # the benchmark has written its tables: say how to get the charts, without a traceback
    print(
        f"charts.py: {sys.executable} has no matplotlib: install Debian's python3-matplotlib "
        "(scripts/install-system-deps.sh, or apt-get install python3-matplotlib), then run "
        f"/usr/bin/python3 benchmarks/charts.py {' '.join(sys.argv[1:]) or 'benchmarks/<name>.json'}",
        file=sys.stderr,
    )
    sys.exit(3)

# One colour per run everywhere (tab10's first four); the critical path is a dashed line, a floor, not a run.
STYLE = {
    # serial over n2, and n2's square larger: where both make the same calls, both stay visible.
    "serial": {"color": "tab:blue", "marker": "o", "zorder": 4, "label": "serial (as shipped)"},
    "n2": {"color": "tab:orange", "marker": "s", "markersize": 9, "zorder": 3, "label": "-n 2 (two workers)"},
    "naive": {"color": "tab:green", "marker": "^", "label": "naive baseline (no shared cache)"},
    "critical path": {"color": "tab:red", "linestyle": "--", "linewidth": 2, "label": "critical path (the floor)"},
}
DPI = 110


def _scale_axis(axes: Axes, scales: list[int]) -> None:
    """Scales 1, 10, 100 are decades: a log axis, ticked at the scales measured and labelled in plain numbers."""
    axes.set_xscale("log")
    axes.xaxis.set_major_locator(FixedLocator(scales))
    axes.xaxis.set_major_formatter(ScalarFormatter())
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("scale (the env's size, x1 to x100; log)")
    axes.grid(True, which="both", alpha=0.3)


def _plain_log_y(axes: Axes) -> None:
    """A log y axis ticked at 1, 2, 3, 5, 10, 20... and labelled in plain numbers rather than 10^0."""
    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def scale_chart(record: dict[str, Any]) -> Figure:
    points = record["scales"]
    scales = [p["scale"] for p in points]
    modes = [m for m in STYLE if all(m in p["runs"] for p in points)]
    floors = [p.get("critical_path") for p in points]
    has_floor = all(floors)
    figure = Figure(figsize=(13, 4.8) if has_floor else (10, 4.8), dpi=DPI, layout="constrained")
    panels, legend = _panels(figure, 3 if has_floor else 2)
    wall, calls = panels[0], panels[-1]
    # The naive baseline is ten to fifty times the suite: on a linear axis the suite would be a flat line at 0.
    for mode in modes:
        wall.plot(scales, [p["runs"][mode]["wall"] for p in points], **STYLE[mode])
        calls.plot(scales, [p["runs"][mode]["calls"] for p in points], **STYLE[mode])
    if has_floor:
        wall.plot(scales, [f["seconds"] for f in floors], **STYLE["critical path"])
    _plain_log_y(wall)
    wall.set_title("Wall time of a run")
    wall.set_ylabel("seconds (log)")
    calls.set_title("AWS calls per run")
    calls.set_ylabel("calls")
    calls.set_ylim(bottom=0)
    if has_floor:
        # The suite's own measure of success: how close it comes to the floor no suite can beat.
        ratio = panels[1]
        ratio.axhline(1.0, **STYLE["critical path"])
        for mode in (m for m in modes if m != "naive"):
            ratio.plot(
                scales,
                [p["runs"][mode]["wall"] / f["seconds"] for p, f in zip(points, floors, strict=True)],
                **STYLE[mode],
            )
        serial_session = [p["runs"]["serial"].get("session") for p in points]
        if "serial" in modes and all(serial_session):
            ratio.plot(
                scales,
                [s / f["seconds"] for s, f in zip(serial_session, floors, strict=True)],
                color="tab:blue",
                linestyle=":",
                marker="o",
                label="serial, pytest's session alone",
            )
        ratio.set_title(f"Against the critical path ({floors[0]['chain']})")
        ratio.set_ylabel("wall / critical path (x)")
        ratio.set_ylim(bottom=0)
    for axes in panels:
        _scale_axis(axes, scales)
    _legend(legend, panels)
    what = "under AWS's latency (a model)" if has_floor else "against the sandbox (moto's own speed)"
    figure.suptitle(f"Cost and scale {what}: {record['made']}, {record['cores']} cores")
    return figure


def hostile_chart(record: dict[str, Any]) -> Figure:
    rows = record["rows"]
    figure = Figure(figsize=(13, 5.4), dpi=DPI, layout="constrained")
    (seconds, growth, memory), legend = _panels(figure, 3)
    where = list(range(len(rows)))
    names = [f"{r['name']}\n{r['n'] // 2:,} / {r['n']:,}" for r in rows]
    width = 0.38
    for offset, size, color in ((-width / 2, "half", "tab:cyan"), (width / 2, "full", "tab:blue")):
        label = "half size" if size == "half" else "full size"
        xs = [x + offset for x in where]
        seconds.bar(xs, [r[size]["seconds"] for r in rows], width, color=color, label=label)
        memory.bar(xs, [r[size]["peak_mb"] for r in rows], width, color=color, label=label)
    # Parse times run from hundredths of a second to seconds: decades, so a log axis.
    _plain_log_y(seconds)
    seconds.set_title("Parse time")
    seconds.set_ylabel("seconds (log)")
    ratios = [r["full"]["seconds"] / r["half"]["seconds"] if r["half"]["seconds"] > 0 else 0 for r in rows]
    growth.bar(where, ratios, 0.6, color="tab:purple", label="parse time, full / half")
    growth.axhline(2.0, color="tab:red", linestyle="--", linewidth=2, label="linear growth (2x)")
    growth.set_title("Growth from half to full size")
    growth.set_ylabel("full / half (x)")
    growth.set_ylim(0, max(3.0, *ratios) * 1.1)
    memory.set_title("Peak memory of the process")
    memory.set_ylabel("MB")
    for axes in (seconds, growth, memory):
        axes.set_xticks(where, names, rotation=35, ha="right", fontsize=8)
        axes.grid(True, axis="y", which="both", alpha=0.3)
        axes.set_xlabel("input, size at half / full (hostile.md: units)")
    _legend(legend, [seconds, growth])
    figure.suptitle(f"Hostile inputs: each parser at half and full size ({record['made']}, Python {record['python']})")
    return figure


def _panels(figure: Figure, count: int) -> tuple[list[Axes], Axes]:
    """`count` panels side by side, and a strip below them for the figure's one legend (a figure legend placed
    "outside" needs matplotlib 3.7; Debian 12 has 3.6, whose constrained layout does lay out an axes' legend)."""
    grid = figure.add_gridspec(2, count, height_ratios=[1, 0.1])
    strip = figure.add_subplot(grid[1, :])
    strip.axis("off")
    return [figure.add_subplot(grid[0, i]) for i in range(count)], strip


def _legend(strip: Axes, panels: list[Axes]) -> None:
    """One legend for the figure, each series once, in the strip below the panels."""
    seen: dict[str, Any] = {}
    for axes in panels:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    strip.legend(list(seen.values()), list(seen), loc="center", ncols=min(len(seen), 5), frameon=False)


def draw(path: Path) -> Path:
    record = json.loads(path.read_text())
    figure = hostile_chart(record) if record["benchmark"] == "hostile" else scale_chart(record)
    target = path.with_suffix(".png")
    FigureCanvasAgg(figure)
    # No software version in the file: the same record draws the same bytes with the same matplotlib.
    figure.savefig(target, metadata={"Software": None})
    return target


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name in argv:
        print(f"charts.py: wrote {draw(Path(name))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
