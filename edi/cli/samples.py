"""``edi samples``: synthetic X12 files."""

from __future__ import annotations

from pathlib import Path

import click

from edi.cli import EdiGroup
from edi.kinds import kind_names


@click.group("samples", cls=EdiGroup)
def samples_group() -> None:
    """Make synthetic X12 files (synthetic people only)."""


@samples_group.command("generate")
@click.option("--set", "set_name", type=click.Choice(kind_names()), required=True)
@click.option(
    "--count", type=click.IntRange(min=1), help="Claims (837, 835) or subscriber families (834)."
)
@click.option(
    "--size",
    "size_mb",
    type=click.FloatRange(min=0.001),
    help="Approximate size in MB instead of --count.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Sample to scale.",
)
@click.option(
    "--per-set",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Units per transaction set (a large number makes one set of them all).",
)
@click.option("--full", is_flag=True, help="834: a full file (BGN08 4, INS03 and HD01 030 audit).")
@click.option(
    "--next-month",
    is_flag=True,
    help="834: the full file of the next month (same families, some omitted or changed).",
)
def generate_command(
    set_name: str,
    count: int | None,
    size_mb: float | None,
    out: Path,
    template: Path | None,
    per_set: int,
    full: bool,
    next_month: bool,
) -> None:
    """Scale a valid sample to COUNT units with consistent envelopes, HL numbers and totals."""
    from edi.generate import Enrollment, estimate_count, generate

    if (count is None) == (size_mb is None):
        raise click.UsageError("give exactly one of --count and --size")
    if (full or next_month) and set_name != "834":
        raise click.UsageError("--full and --next-month make 834 files")
    if count is None:
        assert size_mb is not None
        count = estimate_count(set_name, int(size_mb * 1_000_000), template=template)
    enrollment = Enrollment(full=full, next_month=next_month)
    written = generate(
        set_name, count, out, template=template, per_set=per_set, enrollment=enrollment
    )
    click.echo(f"{out}: {set_name}, {count} units, {written} bytes", err=True)
