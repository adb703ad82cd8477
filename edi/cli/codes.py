"""``edi codes``: the code lists found (``list``) and a newer maintainer release taken
into the user's maps folder (``update``)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from edi.cli import EdiGroup
from edi.cli.output import emit_rows, format_option


def _iso(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}" if date else ""


@click.group("codes", cls=EdiGroup)
def codes_group() -> None:
    """Code lists (maps/codes and $EDI_MAPS/codes): what is loaded, and updates."""


@codes_group.command("list")
@format_option
def list_command(fmt: str) -> None:
    """One row per list file: name, source and release, effective dates, number of
    codes, complete or subset, and the maps folder it came from (the most specific first)."""
    from edi import codes

    rows = [
        {
            "list": info.name,
            "codes": info.count,
            "coverage": "complete" if info.complete else "subset",
            "effective": (
                f"{_iso(info.start)} to {_iso(info.stop)}" if info.start or info.stop else ""
            ),
            "release": info.release,
            "source": info.source,
            "folder": str(info.folder),
        }
        for info in codes.lists()
    ]
    emit_rows(rows, fmt)


def user_codes_folder() -> Path:
    """``$EDI_MAPS/codes``: the maps folder edi searches first (edi.parsers.maps.map_dirs)."""
    from edi.codes import CODES_FOLDER

    extra = os.environ.get("EDI_MAPS")
    if not extra:
        raise click.ClickException(
            "EDI_MAPS is not set: set it to the folder of your own maps (searched before the "
            "shipped ones); the list goes to $EDI_MAPS/codes"
        )
    return Path(extra) / CODES_FOLDER


@codes_group.command("update")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The maintainer's release file: a CMS ICD-10 order, codes or tabular XML file, "
    "the CMS HCPCS record layout, or edi's list format.",
)
@click.option("--list", "name", required=True, help="The list it updates (icd10cm, hcpcs ...).")
@click.option(
    "--effective",
    default="",
    help="The period the release is in effect, CCYY-MM-DD:CCYY-MM-DD (either end may be "
    "empty); dates outside it are judged by the lists of other folders.",
)
@click.option("--release", "release", default="", help="The release's name, for the header.")
def update_command(source: Path, name: str, effective: str, release: str) -> None:
    """Load a newer release of a code list into $EDI_MAPS/codes, atomically; a malformed
    file is refused with its file and line."""
    from edi import code_releases, codes
    from edi.errors import MapError

    if name not in codes.SETS and name not in codes.FILES:
        known = ", ".join([*codes.SETS, *codes.FILES])
        raise click.ClickException(f"unknown list {name!r}; expected one of {known}")
    start, _, stop = effective.partition(":")
    target = user_codes_folder() / codes.file_name(name)
    try:
        fmt, entries = code_releases.read_release(source)
        if fmt == "tsv":
            head = codes.header(source)
            complete = codes.is_complete(source)
            start = start or _iso(codes.effective(source)[0])
            stop = stop or _iso(codes.effective(source)[1])
            release = release or head.get("release", "")
        else:
            complete = True
        lines = [
            f"{name}: taken by edi codes update from {source.name}",
            f"Source: {source.name} ({fmt}, sha256 {code_releases.sha256(source)})",
        ]
        if release:
            lines.append(f"Release: {release}")
        if start or stop:
            lines.append(f"Effective: {start} to {stop}")
        code_releases.write_list(target, code_releases.render(entries, lines, complete=complete))
    except MapError as exc:
        raise click.ClickException(str(exc)) from None
    codes.clear()
    click.echo(f"{target}: {len(entries)} codes of {name} ({fmt})")
