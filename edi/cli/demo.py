"""``edi demo``: the main job on embedded defaults, over the bundled synthetic samples.

Today it validates every bundled sample (envelopes, loops, SNIP 1-3 and part of 5),
shows a verdict per file with the acknowledgment codes, and counts the normalized
records of each accepted file; later stages (SFTP pull, decryption, storage) join it as
they are built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@click.command("demo")
@click.option(
    "--samples",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SAMPLES,
    show_default=True,
    help="Folder of X12 files (searched recursively).",
)
def demo_command(folder: Path) -> None:
    """Validate every bundled sample, show what the 999/TA1 would say, count its records."""
    from edi.cli.validate import render_text
    from edi.parsers.normalize import Normalizer
    from edi.parsers.validate import Validator

    files = sorted(p for p in folder.rglob("*.x12") if p.is_file())
    if not files:
        raise click.ClickException(f"{folder}: no *.x12 files")
    validator = Validator()
    accepted = rejected = 0
    for path in files:
        name = str(path.relative_to(folder))
        result = validator.validate(path)
        if result.accepted:
            accepted += 1
        else:
            rejected += 1
        sets = [f"{tx.set_id}/{tx.version} {tx.ack_code}" for tx in _sets(result)]
        verdict = "OK" if result.accepted else "REJECTED"
        click.echo(f"{verdict:9} {name}: " + (", ".join(sets) if sets else str(result.fatal)))
        if not result.accepted or any(tx.errors for tx in _sets(result)):
            # the same lines `edi validate` prints, under the verdict
            for line in render_text(result).splitlines()[1:]:
                click.echo(f"        {line}")
        if result.accepted:
            normalizer = Normalizer()
            for _record in normalizer.records(path):
                pass
            counts = normalizer.summary.records
            click.echo(
                "          records: " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
            )
    click.echo(f"{len(files)} files: {accepted} accepted, {rejected} rejected")
    click.echo(
        "next: .venv/bin/edi parse samples/837P-professional-claim.x12 --format json   "
        "(records hold PHI: synthetic here)"
    )


def _sets(result: Any) -> list[Any]:
    return [tx for ic in result.interchanges for grp in ic.groups for tx in grp.transactions]
