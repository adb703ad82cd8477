"""What the analyst commands share: paging and output options, role checks, reveals.

Every command reads through a :class:`Reader`: it checks the OS user's role
(:mod:`edi.access`), opens the store, and decodes rows masked, or whole when
``--reveal --reason`` is given by a user whose role allows it. A reveal is written to the
audit chain (who, which rows, why) before anything is printed; if that entry cannot be
written nothing is shown. A command declared with :func:`listing_options` gets its
paging, reveal and format options as one :class:`Listing`, which prints what it reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from click.core import ParameterSource

from edi.cli import settings
from edi.cli.output import emit_detail, emit_rows, emit_stream, format_option, page_footer

#: shortest reason accepted for a reveal
MIN_REASON = 8
#: most row ids one phi.reveal entry names (an export's batch may need several entries)
REVEAL_ENTRY_IDS = 1_000


def paging_options(default_sort: str) -> Callable[[Any], Any]:
    def wrap(func: Any) -> Any:
        func = click.option(
            "--limit",
            type=click.IntRange(1, 10_000),
            default=50,
            show_default=True,
            help="Rows per page.",
        )(func)
        func = click.option(
            "--offset", type=click.IntRange(0), default=0, show_default=True, help="Rows to skip."
        )(func)
        return click.option(
            "--sort",
            default=None,
            help=f"Sort keys, comma-separated; '-key' descending [default: {default_sort}].",
        )(func)

    return wrap


def reveal_options(func: Any) -> Any:
    func = click.option(
        "--reason",
        default=None,
        help="Why PHI is revealed (recorded in the audit log; name a ticket, never PHI).",
    )(func)
    return click.option(
        "--reveal",
        is_flag=True,
        help="Show PHI unmasked (role phi-reader; needs --reason; audited).",
    )(func)


def parse_day(_ctx: Any, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date like 2025-01-31, not {value!r}") from None


def parse_time(_ctx: Any, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date or time, not {value!r}") from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_amount(_ctx: Any, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"expected an amount like 120.00, not {value!r}") from None


def _parts(rows: dict[str, list[str]], most: int) -> list[dict[str, list[str]]]:
    """``rows`` (table -> row ids) cut into parts of at most ``most`` ids (one at least)."""
    parts: list[dict[str, list[str]]] = [{}]
    size = 0
    for table, ids in rows.items():
        for row_id in ids:
            if size == most:
                parts.append({})
                size = 0
            parts[-1].setdefault(table, []).append(row_id)
            size += 1
    return parts


class Reader:
    """The store, the key ring and a decoder for one command, after the role checks."""

    def __init__(
        self, ctx: click.Context, *, reveal: bool = False, reason: str | None = None
    ) -> None:
        from edi.access import READ, REVEAL, access_for
        from edi.query.base import Decoder
        from edi.store.crypto import BlindIndex
        from edi.store.session import open_store

        self.settings = settings(ctx)
        self.command = ctx.command_path.removeprefix(ctx.find_root().info_name or "edi").strip()
        self.access = access_for(self.settings)
        self.access.require(READ)
        if reveal:
            self.access.require(REVEAL)
        if reveal:
            text = (reason or "").strip()
            if len(text) < MIN_REASON:
                raise click.UsageError(
                    f"--reveal needs --reason: why (at least {MIN_REASON} characters, e.g. a ticket)"
                )
            if len(text) > 200 or not text.isprintable():
                raise click.UsageError("--reason: at most 200 printable characters")
            self.reason = text
        elif reason is not None:
            raise click.UsageError("--reason goes with --reveal")
        store = open_store(self.settings, create=False)
        self.engine = store.engine
        self.ring = store.ring
        self.index = BlindIndex(store.ring)
        self.decoder = Decoder(store.ring, reveal=reveal)

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` with query errors as clean command errors."""
        try:
            return func(*args, **kwargs)
        except ValueError as exc:  # a bad value given on the command line
            raise click.ClickException(str(exc)) from None

    def audit_reveal(self) -> None:
        """Record who saw which rows' PHI and why, before it is printed."""
        if not self.decoder.reveal:
            return
        from edi.audit.chain import Operator
        from edi.audit.configured import audit_log

        rows = self.decoder.revealed_ids()
        try:
            log = audit_log(self.settings, self.engine, self.ring)
            for part in _parts(rows, REVEAL_ENTRY_IDS):
                self._append_reveal(log, Operator.current(), part)
            self.decoder.revealed.clear()  # on record: the next entry names the next rows
        except Exception as exc:  # nothing is shown that is not on record
            raise click.ClickException(
                f"the reveal could not be written to the audit log ({type(exc).__name__}); "
                "nothing is shown"
            ) from None

    def _append_reveal(self, log: Any, operator: Any, rows: dict[str, list[str]]) -> None:
        log.append(
            "phi.reveal",
            {
                "command": self.command,
                "reason": self.reason,
                "records": rows,
                "count": sum(len(ids) for ids in rows.values()),
                "roles": sorted(self.access.roles),
            },
            "shown",
            operator=operator,
        )


class Listing:
    """A listing or show command's paging, reveal and output format, and its reader (opened
    when first used, so that a command's own usage errors come before the role checks)."""

    def __init__(self, ctx: click.Context, options: dict[str, Any]) -> None:
        """Take the shared options out of ``options``: what is left are the command's own."""
        self.ctx = ctx
        self.fmt: str = options.pop("fmt")
        self.sort: str | None = options.pop("sort", None)
        self.paging = (options.pop("limit", None), options.pop("offset", None))
        #: an export (JSON or CSV) with no --limit or --offset given streams every row
        self.export_all = self.fmt != "table" and not any(
            ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
            for name in ("limit", "offset")
        )
        self.reveal: bool = options.pop("reveal", False)
        self.reason: str | None = options.pop("reason", None)

    @functools.cached_property
    def reader(self) -> Reader:
        return Reader(self.ctx, reveal=self.reveal, reason=self.reason)

    def rows(
        self,
        query: Callable[..., Any],
        *args: Any,
        columns: tuple[str, ...],
        stream: Callable[..., Any] | None = None,
    ) -> list[dict[str, Any]] | None:
        """Print the rows ``query(engine, *args)`` returns, once a reveal of them is on
        record, and return them (None for a streamed export); a paging command's query also gets ``page`` and (when given) ``sort``. A
        table's page is asked one row longer, to say in its footer whether more follow.

        An export (``--format json|csv`` without ``--limit``/``--offset``) of a command
        with a ``stream`` (same arguments, no ``page``, yielding batches of rows) writes
        every matching row as it is read, each batch's reveal on record before it is
        written. A paging command without a ``stream`` refuses such an export (it would
        write one page and look complete)."""
        from edi.query.base import MAX_LIMIT, Page

        if self.export_all and stream is not None:
            self._stream(stream, args, columns)
            return None
        if self.export_all and self.paging[0] is not None:  # a paging command lacks a stream
            raise click.ClickException("this listing cannot export every row; give --limit")
        kwargs: dict[str, Any] = {}
        limit, offset = self.paging
        peek = limit is not None and offset is not None and self.fmt == "table"
        if limit is not None:
            kwargs["page"] = Page(min(limit + 1, MAX_LIMIT) if peek else limit, offset or 0)
        if self.sort is not None:
            kwargs["sort"] = self.sort
        reader = self.reader
        found = reader.run(query, reader.engine, *args, **kwargs)
        footer = None
        if peek and limit is not None and offset is not None:
            more: bool | None = len(found) > limit
            if limit == MAX_LIMIT and len(found) == limit:
                more = None  # a page of the most rows asked: one more cannot be asked
            found = found[:limit]
            footer = page_footer(len(found), offset, more)
        reader.audit_reveal()
        emit_rows(found, self.fmt, columns, footer)
        return list(found)

    def _stream(self, stream: Callable[..., Any], args: tuple[Any, ...], columns: Any) -> None:
        reader = self.reader
        kwargs: dict[str, Any] = {} if self.sort is None else {"sort": self.sort}
        batches = iter(reader.run(stream, reader.engine, *args, **kwargs))
        # the first batch before anything is written: a bad filter or sort is one clean error
        first = reader.run(next, batches, None)

        def audited() -> Any:
            batch = first
            while batch is not None:
                reader.audit_reveal()
                yield batch
                batch = reader.run(next, batches, None)

        emit_stream(audited(), self.fmt, columns)

    def detail(self, query: Callable[..., Any], *args: Any) -> None:
        """Print the one object ``query(engine, *args)`` returns, once a reveal of it is on
        record."""
        reader = self.reader
        found = reader.run(query, reader.engine, *args)
        reader.audit_reveal()
        emit_detail(found, self.fmt, self.title)

    @property
    def title(self) -> str:
        """What one row of this command's group is: ``claim`` for ``edi claims show``."""
        group = self.ctx.parent.info_name if self.ctx.parent is not None else None
        return (group or "details").removesuffix("s")


def listing_options(
    default_sort: str | None = None, *, reveal: bool = False
) -> Callable[[Callable[..., Any]], Any]:
    """The options every listing or show command shares, handed to it as its first
    argument, a :class:`Listing`: ``--sort``, ``--offset`` and ``--limit`` when it pages
    (``default_sort`` named in the help), ``--reveal`` and ``--reason`` when it can show
    PHI, and ``--format``."""

    def wrap(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def command(ctx: click.Context, /, **params: Any) -> Any:
            listing = Listing(ctx, params)
            return func(listing, **params)

        decorated: Any = format_option(command)
        if reveal:
            decorated = reveal_options(decorated)
        if default_sort is not None:
            decorated = paging_options(default_sort)(decorated)
        return click.pass_context(decorated)

    return wrap


def require(ctx: click.Context, permission: str) -> None:
    """Refuse the command unless the OS user's role allows ``permission``."""
    from edi.access import access_for

    access_for(settings(ctx)).require(permission)


__all__ = [
    "Listing",
    "Reader",
    "listing_options",
    "paging_options",
    "parse_amount",
    "parse_day",
    "parse_time",
    "require",
    "reveal_options",
]
