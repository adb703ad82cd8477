"""The filter options the analyst listings share: partner, file, and date or time ranges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from edi.cli.analyst import parse_day, parse_time


def partner(rows: str) -> Callable[[Any], Any]:
    """``--partner``: only this partner's ``rows`` (claims, members, ...); a partner neither
    configured nor named on a stored file is an error, not an empty listing."""
    return click.option("--partner", callback=_known_partner, help=f"Only this partner's {rows}.")


def _known_partner(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from edi.cli import settings

    if value is None:
        return None
    conf = settings(ctx)
    configured = list(conf.partners)
    if value in configured:
        return value
    from edi.access import READ
    from edi.cli.analyst import require
    from edi.query.files import stored_partners
    from edi.store.session import open_store

    require(ctx, READ)  # the store's partners are for its readers
    store = open_store(conf, keys=False, create=False)
    try:
        stored = stored_partners(store.engine)
    finally:
        store.engine.dispose()
    if value in stored:
        return value
    known = ", ".join(sorted({*configured, *stored})) or "none"
    raise click.ClickException(
        f"no partner {value!r} in the configuration or the store (known: {known})"
    )


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
