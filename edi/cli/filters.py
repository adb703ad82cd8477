"""The filter options the analyst listings share: partner, file, and date or time ranges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from edi.cli.analyst import parse_day, parse_time


def partner(rows: str) -> Callable[[Any], Any]:
    """``--partner``: only this partner's ``rows`` (claims, members, ...)."""
    return click.option("--partner", help=f"Only this partner's {rows}.")


def file(rows: str) -> Callable[[Any], Any]:
    """``--file``: only the ``rows`` of one stored file."""
    return click.option("--file", "file_id", help=f"Only the {rows} of this file (id or prefix).")


def days(
    what: str,
    start: tuple[str, ...] = ("--from", "date_from"),
    end: tuple[str, ...] = ("--to", "date_to"),
) -> Callable[[Any], Any]:
    """Two dates (YYYY-MM-DD) that ``what`` falls on or after, and on or before."""

    def wrap(func: Any) -> Any:
        for decls, side in ((end, "before"), (start, "after")):
            text = f"{what} on or {side} (YYYY-MM-DD)."
            func = click.option(*decls, callback=parse_day, help=text)(func)
        return func

    return wrap


def received(since: str, until: str) -> Callable[[Any], Any]:
    """``--since`` and ``--until``: ISO dates or times (UTC), with their help texts."""

    def wrap(func: Any) -> Any:
        func = click.option("--until", callback=parse_time, help=until)(func)
        return click.option("--since", callback=parse_time, help=since)(func)

    return wrap
