"""``edi ingest``: validate, acknowledge, parse and store local X12 files."""

from __future__ import annotations

from pathlib import Path

import click

from edi.access import OPERATE
from edi.cli import settings
from edi.cli.analyst import require
from edi.cli.progress import FileProgress
from edi.cli.validate import ack_dir_option, write_acks_out


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--partner", help="Trading partner the files came from (recorded with each file).")
@click.option(
    "--allow-duplicate-interchange",
    is_flag=True,
    help="Store an interchange whose sender and ISA13 are already stored (else TA1 R 025).",
)
@ack_dir_option(
    "Also write the acknowledgments here: TA1, 999 and, for a user who may reveal PHI, the "
    "277CA (all are kept in the store)."
)
@click.pass_context
def ingest_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    partner: str | None,
    allow_duplicate_interchange: bool,
    ack_dir: Path | None,
) -> None:
    """Store X12 files: one database transaction per file, all its rows or none.

    Prints one line per file (verdict, checksum, counts; never a value). The same bytes
    again are reported as a duplicate and not stored twice. A file with a transaction set
    that validation accepts but no field map can make records of (none for its guide, or
    one that cannot be read: an operator's error) is refused whole: nothing stored, no
    acknowledgment written, one line on stderr naming the file, the set, its guide and
    the map missing; the other files go on, and the same file is stored once the maps
    are back. Exits 1 when a file is rejected, refused or not ingested, 0 when every file
    is stored or a duplicate.

    A file of 5 MB or more gets two progress bars on stderr when stderr is a terminal:
    validate, then store, each by bytes read with its rate and the time left.
    """
    require(ctx, OPERATE)
    from edi.audit.chain import Operator
    from edi.errors import EdiError, MissingFieldMap
    from edi.partners import load_partners
    from edi.pipeline import bootstrap
    from edi.pipeline.context import Incoming
    from edi.pipeline.ingest import ingest_file
    from edi.store.session import open_store

    conf = settings(ctx)
    store = open_store(conf)
    bar = FileProgress()
    wiring = bootstrap.wiring(conf, store, operator=Operator.current(), progress=bar.update)
    # a configured partner's agreement applies (expected sets, edits, split_claims)
    found = load_partners(conf).get(partner) if partner is not None else None
    policy = bootstrap.policy(
        found, name=partner, allow_duplicate_interchange=allow_duplicate_interchange
    )

    rejected = False
    for path in paths:
        bar.start(path)
        try:
            result = ingest_file(wiring, policy, Incoming(Path(path)))
            result.path = path
        except MissingFieldMap as exc:
            rejected = True
            click.echo(str(exc), err=True)  # one line, naming the file
            continue
        except EdiError as exc:
            rejected = True
            click.echo(f"{path}: not ingested: {exc}", err=True)
            continue
        finally:
            bar.stop()
        click.echo(result.line())
        rejected = rejected or result.status == "rejected"
        if ack_dir is not None:
            write_acks_out(conf, ack_dir, Path(path).name, result.ack_texts)
    if rejected:
        raise SystemExit(1)
