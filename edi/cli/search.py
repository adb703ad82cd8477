"""``edi search``: records by identifier, through the blind indexes."""

from __future__ import annotations

import click

from edi.cli.analyst import Listing, listing_options

TARGETS = ("member_id", "subscriber_id", "ssn", "claim_id", "payer_claim_id")


@click.command("search")
@click.option("--member-id", help="Member id (834 REF*0F / NM109, 837 subscriber id).")
@click.option("--subscriber-id", help="Subscriber id (834 REF*0F).")
@click.option("--ssn", help="Social security number (834 NM1*34).")
@click.option("--claim-id", help="Patient control number (837 CLM01, 835 CLP01).")
@click.option("--payer-claim-id", help="Payer claim control number (REF*F8, CLP07).")
@listing_options("-received", reveal=True)
def search_command(
    listing: Listing,
    member_id: str | None,
    subscriber_id: str | None,
    ssn: str | None,
    claim_id: str | None,
    payer_claim_id: str | None,
) -> None:
    """Find members, claims and claim payments by one identifier (exactly one option).

    The value is never printed or logged; matching runs on keyed digests.
    """
    from edi.query.search import COLUMNS, search, stream_search

    given = {
        name: value
        for name, value in zip(
            TARGETS, (member_id, subscriber_id, ssn, claim_id, payer_claim_id), strict=True
        )
        if value is not None
    }
    if len(given) != 1:
        raise click.UsageError(
            "give exactly one of --" + ", --".join(t.replace("_", "-") for t in TARGETS)
        )
    if listing.sort is not None:
        raise click.UsageError("search results come newest first; --sort is not offered")
    ((target, value),) = given.items()
    reader = listing.reader
    listing.rows(
        search,
        reader.decoder,
        reader.index,
        target,
        value,
        columns=COLUMNS,
        stream=stream_search,
    )
