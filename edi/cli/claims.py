"""``edi claims``: claims with masked PHI, and one claim with its 835 payment status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import click

from edi.cli import EdiGroup
from edi.cli.analyst import Reader, paging_options, parse_amount, parse_day, reveal_options
from edi.cli.output import emit_detail, emit_rows, format_option
from edi.kinds import kinds_of_set

COLUMNS = (
    "id",
    "partner",
    "received",
    "kind",
    "patient",
    "claim_id",
    "service_date",
    "payer",
    "billing_npi",
    "charge",
    "lines",
    "remittance",
)


@click.group("claims", cls=EdiGroup)
def claims_group() -> None:
    """Claims (837P/I/D): list with filters, show one with its lines and remittance."""


@claims_group.command("list")
@click.option("--partner", help="Only this partner's claims.")
@click.option("--kind", type=click.Choice(kinds_of_set("837"), case_sensitive=False))
@click.option(
    "--from", "date_from", callback=parse_day, help="Service date on or after (YYYY-MM-DD)."
)
@click.option("--to", "date_to", callback=parse_day, help="Service date on or before (YYYY-MM-DD).")
@click.option("--payer", help="Payer id (2010BB NM109).")
@click.option("--billing-npi", help="Billing provider NPI.")
@click.option(
    "--status",
    type=click.Choice(["remitted", "unremitted", "paid", "denied", "reversed"]),
    help="Remittance status from matching 835s.",
)
@click.option("--min-charge", callback=parse_amount, help="Total charge at least.")
@click.option("--max-charge", callback=parse_amount, help="Total charge at most.")
@click.option("--file", "file_id", help="Only the claims of this file (id or prefix).")
@paging_options("-received")
@reveal_options
@format_option
@click.pass_context
def claims_list(
    ctx: click.Context,
    partner: str | None,
    kind: str | None,
    date_from: date | None,
    date_to: date | None,
    payer: str | None,
    billing_npi: str | None,
    status: str | None,
    min_charge: Decimal | None,
    max_charge: Decimal | None,
    file_id: str | None,
    sort: str | None,
    limit: int,
    offset: int,
    reveal: bool,
    reason: str | None,
    fmt: str,
) -> None:
    """List claims, PHI masked. Sort keys: received, charge, payer, npi, kind, lines, partner.

    A service date range matches the claim's own date or any of its lines' dates.
    """
    from edi.query.base import Page
    from edi.query.claims import ClaimFilter, list_claims
    from edi.query.dates import span

    reader = Reader(ctx, reveal=reveal, reason=reason)
    service = reader.run(span, date_from, date_to)
    flt = ClaimFilter(
        partner=partner,
        kind=kind,
        service=service,
        payer=payer,
        billing_npi=billing_npi,
        status=status,
        min_charge=min_charge,
        max_charge=max_charge,
        file_id=file_id,
    )
    rows = reader.run(
        list_claims,
        reader.engine,
        reader.decoder,
        reader.index,
        flt,
        sort=sort,
        page=Page(limit, offset),
    )
    reader.audit_reveal()
    emit_rows(rows, fmt, COLUMNS)


@claims_group.command("show")
@click.argument("claim_id")
@reveal_options
@format_option
@click.pass_context
def claims_show(
    ctx: click.Context, claim_id: str, reveal: bool, reason: str | None, fmt: str
) -> None:
    """One claim: header, parties, diagnoses, lines; and when an 835 pays it, the status
    of the claim and each line, adjustments (CARC/RARC) and patient responsibility."""
    from edi.query.claims import show_claim

    reader = Reader(ctx, reveal=reveal, reason=reason)
    detail = reader.run(show_claim, reader.engine, reader.decoder, claim_id)
    reader.audit_reveal()
    emit_detail(detail, fmt)
