"""``edi payments``: 835 payments, and one payment with its claims, PLB and balance."""

from __future__ import annotations

from datetime import date

import click

from edi.cli import EdiGroup
from edi.cli.analyst import Reader, paging_options, parse_day, reveal_options
from edi.cli.output import emit_detail, emit_rows, format_option

COLUMNS = (
    "id",
    "partner",
    "received",
    "trace",
    "date",
    "amount",
    "method",
    "payer",
    "payee_npi",
    "claims",
    "balanced",
)


@click.group("payments", cls=EdiGroup)
def payments_group() -> None:
    """Payments (835): list with filters, show one with the claims it pays."""


@payments_group.command("list")
@click.option("--partner", help="Only this partner's payments.")
@click.option("--payer", help="Payer id.")
@click.option("--payee-npi", help="Payee NPI.")
@click.option("--trace", help="EFT or check trace number (TRN02).")
@click.option("--from", "date_from", callback=parse_day, help="Paid on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=parse_day, help="Paid on or before (YYYY-MM-DD).")
@click.option("--file", "file_id", help="Only the payments of this file (id or prefix).")
@paging_options("-received")
@format_option
@click.pass_context
def payments_list(
    ctx: click.Context,
    partner: str | None,
    payer: str | None,
    payee_npi: str | None,
    trace: str | None,
    date_from: date | None,
    date_to: date | None,
    file_id: str | None,
    sort: str | None,
    limit: int,
    offset: int,
    fmt: str,
) -> None:
    """List payments. Sort keys: received, date, amount, payer, trace."""
    from edi.query.base import Page
    from edi.query.payments import PaymentFilter, list_payments

    reader = Reader(ctx)
    flt = PaymentFilter(
        partner=partner,
        payer=payer,
        payee_npi=payee_npi,
        trace=trace,
        since=date_from.isoformat() if date_from else None,
        until=date_to.isoformat() if date_to else None,
        file_id=file_id,
    )
    rows = reader.run(list_payments, reader.engine, flt, sort=sort, page=Page(limit, offset))
    emit_rows(rows, fmt, COLUMNS)


@payments_group.command("show")
@click.argument("payment_id")
@reveal_options
@format_option
@click.pass_context
def payments_show(
    ctx: click.Context, payment_id: str, reveal: bool, reason: str | None, fmt: str
) -> None:
    """One payment: claims paid, PLB adjustments, and whether it balances."""
    from edi.query.payments import show_payment

    reader = Reader(ctx, reveal=reveal, reason=reason)
    detail = reader.run(show_payment, reader.engine, reader.decoder, payment_id)
    reader.audit_reveal()
    emit_detail(detail, fmt)
