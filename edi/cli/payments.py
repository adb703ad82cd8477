"""``edi payments``: 835 payments, and one payment with its claims, PLB and balance; 820
premium payments reconciled with enrollment."""

from __future__ import annotations

from datetime import date

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options


@click.group("payments", cls=EdiGroup)
def payments_group() -> None:
    """Payments (835): list with filters, show one with the claims it pays; premium
    payments (820) reconciled with the enrolled members."""


@payments_group.command("list")
@filters.partner("payments")
@click.option("--payer", help="Payer id.")
@click.option("--payee-npi", help="Payee NPI.")
@click.option("--trace", help="EFT or check trace number (TRN02).")
@filters.days("Paid")
@filters.file("payments")
@listing_options("-received")
def payments_list(
    listing: Listing,
    partner: str | None,
    payer: str | None,
    payee_npi: str | None,
    trace: str | None,
    date_from: date | None,
    date_to: date | None,
    file_id: str | None,
) -> None:
    """List payments. Sort keys: received, date, amount, payer, trace."""
    from edi.query.payments import COLUMNS, PaymentFilter, list_payments, stream_payments

    flt = PaymentFilter(
        partner=partner,
        payer=payer,
        payee_npi=payee_npi,
        trace=trace,
        since=date_from.isoformat() if date_from else None,
        until=date_to.isoformat() if date_to else None,
        file_id=file_id,
    )
    listing.rows(list_payments, flt, columns=COLUMNS, stream=stream_payments)


@payments_group.command("show")
@click.argument("payment_id")
@listing_options(reveal=True)
def payments_show(listing: Listing, payment_id: str) -> None:
    """One payment: claims paid, PLB adjustments, and whether it balances."""
    from edi.query.payments import show_payment

    listing.detail(show_payment, listing.reader.decoder, payment_id)


@payments_group.command("reconcile-premiums")
@click.option("--file", "file_id", required=True, help="Stored 820 file id (or a unique prefix).")
@listing_options(reveal=True)
def payments_reconcile_premiums(listing: Listing, file_id: str) -> None:
    """An 820's premium payments against the enrolled members of its coverage period:
    members paid for but not enrolled, enrolled but not paid for, amounts that differ
    from the coverages' premiums (AMT*P3)."""
    from edi.query.premiums import reconcile_premiums

    listing.detail(reconcile_premiums, listing.reader.decoder, file_id)
