"""``edi staging``: the files kept in staging (refused, or pulled only), sealed at rest."""

from __future__ import annotations

from pathlib import Path

import click

from edi.cli import EdiGroup
from edi.cli.output import emit_rows, format_option, new_file_option


@click.group("staging", cls=EdiGroup)
def staging_group() -> None:
    """Files kept in staging beyond a run, sealed with the key ring: refused on the way
    (refused/) or pulled without --ingest (pulled/). Role operator."""


@staging_group.command("list")
@click.option("--partner", help="Only this partner's files.")
@format_option
@click.pass_context
def staging_list(ctx: click.Context, partner: str | None, fmt: str) -> None:
    """One row per kept file: its reference (PARTNER/FOLDER/NAME), size sealed, time kept."""
    from edi.access import OPERATE
    from edi.cli import settings
    from edi.cli.analyst import require
    from edi.pipeline.kept import kept_files

    require(ctx, OPERATE)
    conf = settings(ctx)
    unknown = partner is not None and partner not in conf.partners
    if unknown and not (conf.staging_dir / str(partner)).is_dir():
        known = ", ".join(sorted(conf.partners)) or "none"
        raise click.ClickException(
            f"no partner {partner!r} in the configuration or in staging (known: {known})"
        )
    rows = [
        {"kept": k.ref, "sealed_bytes": k.size, "kept_at": k.modified.isoformat(timespec="seconds")}
        for k in kept_files(conf.staging_dir, partner)
    ]
    if not rows and fmt == "table":
        click.echo("(none)")
        return
    emit_rows(rows, fmt, ["kept", "sealed_bytes", "kept_at"])


@staging_group.command("export")
@click.argument("kept")
@new_file_option
@click.pass_context
def staging_export(ctx: click.Context, kept: str, output: Path) -> None:
    """Write a kept file, as it was received, to a new file (role operator; audited).

    KEPT is PARTNER/FOLDER/NAME as edi staging list prints it. What was received may be
    plain X12 and hold PHI: it is never written to standard output (-o - is refused).
    """
    from edi.access import OPERATE
    from edi.audit.chain import AuditLog, Operator
    from edi.cli import settings
    from edi.cli.analyst import require
    from edi.pipeline.kept import export_kept
    from edi.store.session import open_store

    if str(output) == "-":
        raise click.UsageError(
            "-o -: a kept file may hold PHI and is not written to standard output; name a file"
        )
    require(ctx, OPERATE)
    conf = settings(ctx)
    store = open_store(conf, create=False)
    done, size, sha256 = export_kept(
        conf.staging_dir,
        kept,
        output,
        ring=store.ring,
        audit=AuditLog(store.engine),
        operator=Operator.current(),
    )
    click.echo(
        f"{done.ref}: {size} bytes, sha256 {sha256[:16]}, written to {Path(output).absolute()}"
    )
