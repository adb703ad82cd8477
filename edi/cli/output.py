"""Print rows and details as a table, JSON or CSV: what every analyst command shares.

A table goes to a terminal through rich (:mod:`edi.cli.terminal`: fitted to its width,
amounts right-aligned, a detail as grouped panels); piped, it is plain text, one line per
row, columns padded to their widest cell, amounts and counts right-aligned.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

FORMATS = ("table", "json", "csv")
#: row-id columns, shown by their first 8 characters in tables (commands take prefixes)
ROW_IDS = frozenset({"id", "file_id", "claim_payment_id"})
#: a cell of text that reads as an amount (``120.00``, ``-5.5``): right-aligned like numbers
AMOUNT = re.compile(r"-?\d+\.\d+")


def format_option(func: Any) -> Any:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


#: ``-o/--output FILE`` of the commands that write decrypted bytes: a new file only
new_file_option = click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="The new file to write (mode 0600; an existing file is never replaced).",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    return isinstance(value, str) and AMOUNT.fullmatch(value) is not None


def _numeric(rows: Sequence[dict[str, Any]], name: str) -> bool:
    """Whether a column holds numbers (counts, amounts) only, and at least one."""
    values = [r.get(name) for r in rows if r.get(name) not in (None, "")]
    return bool(values) and all(_is_number(v) for v in values)


def _cells(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> list[list[str]]:
    """Each row's cells as text, row ids by their first 8 characters (commands take
    prefixes); nothing else is cut."""
    return [[_cell(r.get(n))[:8] if n in ROW_IDS else _cell(r.get(n)) for n in names] for r in rows]


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Plain text: columns padded to their widest cell, numeric columns right-aligned."""
    if not rows:
        return "(none)"
    names = list(columns or rows[0].keys())
    cells = _cells(rows, names)
    numeric = [_numeric(rows, n) for n in names]
    widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if right else c.ljust(w)
            for c, w, right in zip(row, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line([n.upper() for n in names]), *(line(row) for row in cells)])


def is_terminal() -> bool:
    """Whether stdout is a terminal (a person reading), not a pipe, file or test runner."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def page_footer(shown: int, offset: int, more: bool | None) -> str | None:
    """What a page of a listing leaves out, and how to see the rest (``more``: whether rows
    follow, None when unknown); None when it shows every row."""
    if more is False and offset == 0:
        return None
    if shown == 0:
        return f"no rows after the first {offset} (earlier rows: --offset 0)"
    first, last = offset + 1, offset + shown
    if more is None:
        return f"showing {first}-{last}; more may follow (next page: --offset {last})"
    if more:
        return (
            f"showing {first}-{last} of more than {last} "
            f"(next page: --offset {last}; longer pages: --limit)"
        )
    return f"showing {first}-{last} of {last} (earlier rows: --offset 0)"


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    names = list(columns or (rows[0].keys() if rows else []))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row.get(n)) for n in names])
    return buffer.getvalue().rstrip("\n")


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted path, leaf) pairs: ``lines.0.charge``."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out.extend(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        out = []
        for index, item in enumerate(value):
            out.extend(flatten(item, f"{prefix}.{index}"))
        return out
    return [(prefix, value)]


def emit_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
    footer: str | None = None,
) -> None:
    """Rows as JSON, CSV or a table; ``footer`` (what the page leaves out) under a table."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, default=str))
    elif fmt == "csv":
        click.echo(csv_text(rows, columns))
    elif rows and is_terminal():
        from edi.cli.terminal import print_rows

        names = list(columns or rows[0].keys())
        numeric = [_numeric(rows, n) for n in names]
        print_rows(names, _cells(rows, names), numeric, [n in ROW_IDS for n in names], footer)
    else:
        click.echo(table(rows, columns))
        if footer:
            click.echo(footer)


def emit_stream(
    batches: Iterable[Sequence[dict[str, Any]]], fmt: str, columns: Sequence[str]
) -> None:
    """Write every row of ``batches`` as JSON (the same text as :func:`emit_rows`) or CSV,
    a batch at a time, so that memory does not grow with the number of rows."""
    if fmt == "csv":
        click.echo(csv_text([], columns))
        for batch in batches:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerows([_cell(row.get(n)) for n in columns] for row in batch)
            click.echo(buffer.getvalue(), nl=False)
        return
    first = True
    for batch in batches:
        parts = []
        for row in batch:
            text = json.dumps(row, indent=2, default=str).replace("\n", "\n  ")
            parts.append(("[\n  " if first else ",\n  ") + text)
            first = False
        click.echo("".join(parts), nl=False)
    click.echo("[]" if first else "\n]")


def emit_detail(detail: dict[str, Any], fmt: str, title: str = "details") -> None:
    """One object: JSON as is; CSV and piped table as (field, value) rows; on a terminal,
    grouped panels (``title`` for its own fields, one per nested object or list)."""
    if fmt == "json":
        click.echo(json.dumps(detail, indent=2, default=str))
        return
    if fmt == "table" and is_terminal():
        _print_panels(detail, title)
        return
    pairs = [(k, v) for k, v in flatten(detail) if v not in (None, "", [])]
    if fmt == "csv":
        click.echo(
            csv_text([{"field": k, "value": _cell(v)} for k, v in pairs], ("field", "value"))
        )
        return
    width = max((len(k) for k, _ in pairs), default=0)
    click.echo("\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in pairs))


def _shown(pairs: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(k, _cell(v)) for k, v in pairs if v not in (None, "", [])]


def _print_panels(detail: dict[str, Any], title: str) -> None:
    from edi.cli.terminal import print_panels

    print_panels(_panels(detail, title))


#: a list of objects with more columns than this is shown one panel per object
TABLE_COLUMNS = 8


def _panels(detail: dict[str, Any], title: str, top: bool = True) -> list[Any]:
    """A detail's plain fields in one panel titled ``title``; each nested object in its own
    panel (at the top, one holding objects of its own, such as a claim with its parties,
    opens into one panel each); each list of objects (lines, adjudications,
    acknowledgments) a panel holding a table, or one panel per object when too wide."""
    from edi.cli.terminal import pairs_panel, table_panel

    scalars: list[tuple[str, Any]] = []
    after: list[Any] = []
    for key, value in detail.items():
        if top and isinstance(value, dict) and any(_is_group(v) for v in value.values()):
            after.extend(_panels(value, key, top=False))
        elif isinstance(value, dict):
            pairs = _shown(flatten(value))
            if pairs:
                after.append(pairs_panel(key, pairs))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = [dict(flatten(v)) for v in value]
            names = list(dict.fromkeys(n for r in rows for n in r))
            names = [n for n in names if any(r.get(n) not in (None, "", []) for r in rows)]
            if len(names) > TABLE_COLUMNS:
                after += [
                    pairs_panel(f"{key} {n}", _shown(list(r.items())))
                    for n, r in enumerate(rows, 1)
                ]
                continue
            numeric = [_numeric(rows, n) for n in names]
            after.append(table_panel(key, names, _cells(rows, names), numeric))
        else:
            scalars.extend(flatten(value, key))
    shown = _shown(scalars)
    return [pairs_panel(title, shown), *after] if shown else after


def _is_group(value: Any) -> bool:
    """A nested object, or a list of them: shown as a panel of its own."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


__all__ = [
    "FORMATS",
    "csv_text",
    "emit_detail",
    "emit_rows",
    "emit_stream",
    "flatten",
    "format_option",
    "is_terminal",
    "page_footer",
    "table",
]
