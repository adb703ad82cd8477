"""``edi claims``: claims with masked PHI, and one claim with its 835 payment status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options, parse_amount
from edi.kinds import kinds_of_set


@click.group("claims", cls=EdiGroup)
def claims_group() -> None:
    """Claims (837P/I/D): list with filters, show one with its lines and remittance."""


@claims_group.command("list")
@filters.partner("claims")
@click.option("--kind", type=click.Choice(kinds_of_set("837"), case_sensitive=False))
@filters.days("Service date")
@click.option("--payer", help="Payer id (2010BB NM109).")
@click.option("--billing-npi", help="Billing provider NPI.")
@click.option(
    "--status",
    type=click.Choice(["remitted", "unremitted", "paid", "denied", "reversed"]),
    help="Remittance from matching 835s: any, none, or the latest adjudication's status.",
)
@click.option(
    "--intake",
    type=click.Choice(["accepted", "rejected", "replaced", "voided"]),
    help="Accepted or rejected on intake (the 277CA's verdict), or replaced or voided by a "
    "later claim of frequency 7 or 8.",
)
@click.option(
    "--duplicates",
    type=click.Choice(["exact", "suspect", "all"]),
    is_flag=False,
    flag_value="all",
    default=None,
    help="Only claims that repeat a stored claim of another file: exact duplicates, "
    "suspected ones (the same patient, provider, dates and procedures under another "
    "patient control number) or both (the default when given alone).",
)
@click.option("--min-charge", callback=parse_amount, help="Total charge at least.")
@click.option("--max-charge", callback=parse_amount, help="Total charge at most.")
@filters.file("claims")
@listing_options("-received", reveal=True)
def claims_list(
    listing: Listing,
    partner: str | None,
    kind: str | None,
    date_from: date | None,
    date_to: date | None,
    payer: str | None,
    billing_npi: str | None,
    status: str | None,
    intake: str | None,
    duplicates: str | None,
    min_charge: Decimal | None,
    max_charge: Decimal | None,
    file_id: str | None,
) -> None:
    """List claims, PHI masked. Sort keys: received, charge, payer, npi, kind, lines, partner.

    A service date range matches the claim's own date or any of its lines' dates.
    """
    from edi.query.claims import COLUMNS, ClaimFilter, list_claims, stream_claims
    from edi.query.dates import span

    reader = listing.reader
    service = reader.run(span, date_from, date_to)
    flt = ClaimFilter(
        partner=partner,
        kind=kind,
        service=service,
        payer=payer,
        billing_npi=billing_npi,
        status=status,
        intake=intake,
        duplicates=duplicates,
        min_charge=min_charge,
        max_charge=max_charge,
        file_id=file_id,
    )
    listing.rows(
        list_claims,
        reader.decoder,
        reader.index,
        flt,
        _matching(reader),
        columns=COLUMNS,
        stream=stream_claims,
    )


@claims_group.command("show")
@click.argument("claim_id")
@listing_options(reveal=True)
def claims_show(listing: Listing, claim_id: str) -> None:
    """One claim: header, parties, diagnoses, lines, its history (received, accepted or
    rejected, duplicate or suspected, answered and sent, remitted, replaced or voided);
    and each 835 adjudication of it in order (a payment, its reversal, the correction), the latest giving the claim's
    status, with adjustments (CARC), remarks (RARC, line LQ too), what each line was paid
    after them all and its patient responsibility."""
    from edi.query.claims import show_claim

    reader = listing.reader
    listing.detail(show_claim, reader.decoder, claim_id, _matching(reader))


def _matching(reader: Any) -> Any:
    """How claims meet their 835s: the configured partners' payer id aliases."""
    from edi.partners import payer_aliases
    from edi.query.claims import Matching

    return Matching(payer_aliases(reader.settings))
