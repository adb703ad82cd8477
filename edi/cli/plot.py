"""``--plot FILE``: a report's chart as a PNG or SVG file, for people who look rather than
read (a report to management).

Drawn by matplotlib (the optional ``charts`` extra), imported only when a plot is asked
for: the command line starts without it. The figure is drawn on matplotlib's Agg canvas
directly (no display, no pyplot state) and written as a new file through a temporary name
(:func:`edi.atomic.atomic_file`): an existing file is never replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edi.cli.charts import Chart

#: file suffixes and the format matplotlib writes for each
FORMATS = {".png": "png", ".svg": "svg"}
MISSING = "`--plot` needs matplotlib: pip install 'edi[charts]'"
#: the figure's width, and height per bar, in inches; its resolution (PNG)
WIDTH = 9.0
BAR_HEIGHT = 0.4
DPI = 100


def _check(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """A plot's file: a new one, named .png or .svg, and matplotlib at hand."""
    if value is None:
        return None
    if value.suffix.lower() not in FORMATS:
        raise click.ClickException(f"--plot: {value} must end in .png or .svg")
    if value.exists() or value.is_symlink():
        raise click.ClickException(f"--plot: {value} exists; a plot never replaces a file")
    figure_class()
    return value


def plot_option(func: Any) -> Any:
    """``--plot FILE``: also draw the report's chart into a new PNG or SVG file."""
    return click.option(
        "--plot",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_check,
        help="Also draw the chart into this new file, PNG or SVG by its suffix (needs the "
        "'charts' extra: matplotlib; an existing file is never replaced).",
    )(func)


def figure_class() -> Any:
    """matplotlib's ``Figure``; a one-line error when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise click.ClickException(MISSING) from None
    return Figure


def write_plot(chart: Chart, target: Path) -> Path:
    """Draw ``chart`` as horizontal bars into the new file ``target`` (PNG or SVG)."""
    from edi.atomic import atomic_file

    figure = figure_class()(figsize=(WIDTH, 1.6 + BAR_HEIGHT * max(len(chart.labels), 1)), dpi=DPI)
    axes = figure.add_subplot()
    positions = list(range(len(chart.labels)))
    left = [0.0] * len(chart.labels)
    for series in chart.series:
        axes.barh(positions, series.values, left=left, color=series.color, label=series.name)
        left = [a + b for a, b in zip(left, series.values, strict=True)]
    axes.set_yticks(positions, labels=list(chart.labels))
    axes.invert_yaxis()  # the first label on top, as on a terminal
    axes.set_xlabel(chart.unit)
    if chart.full is not None:
        axes.set_xlim(0, chart.full)
    axes.set_title(chart.title)
    if len(chart.series) > 1:
        axes.legend(loc="lower right")
    if not chart.labels:
        axes.text(0.5, 0.5, "no rows", ha="center", va="center", transform=axes.transAxes)
    figure.tight_layout()
    try:
        with atomic_file(target, exclusive=True) as handle:
            figure.savefig(handle, format=FORMATS[target.suffix.lower()])
    except FileExistsError:
        raise click.ClickException(
            f"--plot: {target} exists; a plot never replaces a file"
        ) from None
    return target


__all__ = ["FORMATS", "MISSING", "figure_class", "plot_option", "write_plot"]
