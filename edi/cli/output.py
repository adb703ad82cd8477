"""Print rows and details as a table, JSON or CSV: what every analyst command shares."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

FORMATS = ("table", "json", "csv")
#: row-id columns, shown by their first 8 characters in tables (commands take prefixes)
ROW_IDS = frozenset({"id", "file_id", "claim_payment_id"})
#: widest cell of a table column
MAX_WIDTH = 40


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


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Columns padded to their widest cell (ids cut to 8 characters)."""
    if not rows:
        return "(none)"
    names = list(columns or rows[0].keys())
    cells = [
        [_short(_cell(r.get(n))[:8] if n in ROW_IDS else _cell(r.get(n)), MAX_WIDTH) for n in names]
        for r in rows
    ]
    widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
    lines = ["  ".join(n.upper().ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


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
    rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None
) -> None:
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, default=str))
    elif fmt == "csv":
        click.echo(csv_text(rows, columns))
    else:
        click.echo(table(rows, columns))


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


def emit_detail(detail: dict[str, Any], fmt: str) -> None:
    """One object: JSON as is; CSV and table as (field, value) rows."""
    if fmt == "json":
        click.echo(json.dumps(detail, indent=2, default=str))
        return
    pairs = [(k, v) for k, v in flatten(detail) if v not in (None, "", [])]
    if fmt == "csv":
        click.echo(
            csv_text([{"field": k, "value": _cell(v)} for k, v in pairs], ("field", "value"))
        )
        return
    width = max((len(k) for k, _ in pairs), default=0)
    click.echo("\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in pairs))


__all__ = [
    "FORMATS",
    "csv_text",
    "emit_detail",
    "emit_rows",
    "emit_stream",
    "flatten",
    "format_option",
    "table",
]
