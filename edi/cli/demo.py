"""``edi demo``: the main job on embedded defaults, over the bundled synthetic samples.

Today it reads, envelope-checks and structures every bundled sample and shows a verdict
per file; later stages (SFTP pull, decryption, validation, acknowledgments, storage)
join it as they are built.
"""

from __future__ import annotations

from pathlib import Path

import click

from edi.errors import EdiError

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
    """Inspect and check every bundled sample: envelopes, maps and loop structure."""
    from edi.parsers.outline import outline

    files = sorted(p for p in folder.rglob("*.x12") if p.is_file())
    if not files:
        raise click.ClickException(f"{folder}: no *.x12 files")
    accepted = rejected = 0
    for path in files:
        name = str(path.relative_to(folder))
        try:
            result = outline(path, max_loops=0)
        except EdiError as exc:
            rejected += 1
            click.echo(f"REJECTED  {name}: {exc}")
            continue
        problems = list(result["problems"])
        sets = []
        for ic in result["interchanges"]:
            problems += ic["problems"]
            for grp in ic["groups"]:
                problems += grp["problems"]
                for tx in grp["transactions"]:
                    problems += tx["problems"]
                    sets.append(
                        f"{tx['set']}/{tx.get('map_version') or '?'} ({tx['loop_instances']} loops)"
                    )
        verdict = "OK" if not problems else "REJECTED"
        accepted += not problems
        rejected += bool(problems)
        click.echo(f"{verdict:9} {name}: {result['segments']} segments; " + ", ".join(sets))
        for problem in problems:
            click.echo(
                f"          line {problem['line']} {problem['segment_id']}: {problem['message']}"
            )
        for warning in result["warnings"]:
            click.echo(f"          note: {warning['message']}")
    click.echo(f"{len(files)} files: {accepted} accepted, {rejected} rejected")
