"""Tables and grouped panels for a terminal (rich): amounts and counts right-aligned,
columns folded to the terminal's width, never cut. Imported only when stdout is a tty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from edi.cli.charts import Chart

#: the narrowest bar drawn
MIN_BAR = 10


def console() -> Console:
    """stdout as rich sees it (its width from the terminal, or ``COLUMNS`` when set)."""
    return Console(highlight=False, emoji=False, markup=False)


def rows_table(
    names: Sequence[str],
    cells: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    whole: Sequence[bool] | None = None,
) -> Table:
    """One column per name; a numeric column right-aligned and kept on one line, like a
    ``whole`` one (row ids), the others folded to fit the terminal (never cut)."""
    grid = Table(
        box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False
    )
    for index, (name, right) in enumerate(zip(names, numeric, strict=True)):
        keep = right or (whole is not None and whole[index])
        grid.add_column(
            name.upper().replace("_", " "),
            justify="right" if right else "left",
            overflow="fold",
            no_wrap=keep,
        )
    for row in cells:
        grid.add_row(*(Text(c) for c in row))
    return grid


def print_rows(
    names: Sequence[str],
    cells: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    whole: Sequence[bool],
    footer: str | None,
) -> None:
    out = console()
    out.print(rows_table(names, cells, numeric, whole))
    if footer:
        out.print(Text(footer, style="dim"))


def pairs_panel(title: str, pairs: Sequence[tuple[str, str]]) -> Panel:
    """A panel of (field, value) lines, the values folded to fit."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in pairs:
        grid.add_row(Text(key), Text(value))
    return Panel(grid, title=title, title_align="left", box=box.ROUNDED)


def table_panel(
    title: str, names: Sequence[str], cells: Sequence[Sequence[str]], numeric: Sequence[bool]
) -> Panel:
    """A panel holding a table: one row per object of a list (lines, adjudications...)."""
    return Panel(
        rows_table(names, cells, numeric), title=title, title_align="left", box=box.ROUNDED
    )


def print_panels(panels: Sequence[Panel]) -> None:
    console().print(Group(*panels))


def chart_lines(chart: Chart, width: int) -> list[Text]:
    """``chart`` as lines of text at most ``width`` wide: its title, a legend when it stacks
    series, then per label the label, its bar (each series in its colour) and its note."""
    label_width = max((len(label) for label in chart.labels), default=0)
    note_width = max((len(note) for note in chart.notes), default=0)
    bar_width = max(MIN_BAR, width - label_width - note_width - 4)
    longest = chart.longest()
    lines = [Text(chart.title, style="bold")]
    if len(chart.series) > 1:
        legend = Text()
        for series in chart.series:
            legend.append(series.mark, style=series.color).append(f" {series.name}  ")
        lines.append(legend)
    for index, label in enumerate(chart.labels):
        line = Text(label.ljust(label_width) + "  ")
        drawn = 0
        for series in chart.series:
            cells = round(series.values[index] / longest * bar_width)
            cells = min(cells, bar_width - drawn)
            line.append(series.mark * cells, style=series.color)
            drawn += cells
        line.append(" " * (bar_width - drawn) + "  " + chart.notes[index])
        line.rstrip()
        lines.append(line)
    return lines


def print_chart(chart: Chart) -> None:
    """``chart`` under what was printed, fitted to the terminal's width."""
    out = console()
    out.print()
    for line in chart_lines(chart, out.width):
        out.print(line, overflow="fold")
