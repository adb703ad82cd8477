"""``edi parse``: normalized records of local X12 files, as JSON lines, JSON, XML or CSV.

The records go to stdout or to ``--output`` (created readable by its owner only: the
records hold PHI). What goes to stderr is counts per file and the reasons a set was not
read, never a data value.
"""

from __future__ import annotations

import codecs
import csv
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from edi.cli.validate import file_workers, workers_option
from edi.errors import EdiError
from edi.kinds import kind_names

FORMATS = ("jsonl", "json", "xml", "csv")
TYPES = (
    "claim",
    "service_line",
    "payment",
    "claim_payment",
    "service_payment",
    "enrollment",
    "member",
    "coverage",
    "premium_payment",
    "premium_detail",
)


def _repeatable(option: str, dest: str, values: tuple[str, ...], text: str) -> Callable[[Any], Any]:
    """An option given any number of times, each time one of ``values``."""
    return click.option(option, dest, multiple=True, type=click.Choice(values), help=text)


@click.command("parse")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@_repeatable(
    "--set", "kinds", kind_names(), "Read only these transaction kinds (repeatable; default: all)."
)
@_repeatable(
    "--type", "types", TYPES, "Write only these record types (repeatable; csv takes exactly one)."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (created with mode 0600) instead of stdout.",
)
@workers_option()
@click.pass_context
def parse_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    kinds: tuple[str, ...],
    types: tuple[str, ...],
    output: str | None,
    workers: int | None,
) -> None:
    """Parse X12 files into normalized records: claims, payments, members.

    Each record names its type (claim, service_line, payment, claim_payment,
    service_payment, enrollment, member, coverage), its source (file sha256, ISA13,
    GS06, ST02) and the ordinal of its first segment. Records hold PHI: write them
    only where PHI may be kept. Exits 1 when a file is not X12 at all, or when a
    transaction set in it was not read because no field map (or implementation-guide
    map) serves its guide or its field map cannot be read: stderr says which, in one line.
    A file of 5 MB or more read by one process gets a progress bar on stderr when stderr
    is a terminal. JSON lines of a file of 16 MB or more are made by as many processes as
    there are usable cores, each a part of its transaction sets, and written in file
    order (--workers, or [ingest] workers = 1, says otherwise): the same bytes. The
    parts wait in owner-only files of the temporary folder (TMPDIR), removed at once.
    """
    if fmt == "csv" and len(types) != 1:
        raise click.UsageError(
            "csv holds one record type: give exactly one --type (" + ", ".join(TYPES) + ")"
        )
    from edi.cli.progress import FileProgress
    from edi.parsers.normalize import Normalizer, file_sha256
    from edi.progress import PARSE
    from edi.records import export

    bar = FileProgress()
    failed = False
    with _opened(output) as out:
        writer = _Writer(fmt, out, types[0] if fmt == "csv" else None)
        for path in paths:
            normalizer = Normalizer(kinds=kinds or None)
            count = file_workers(ctx, workers, path) if fmt == "jsonl" else 1
            binary = _utf8_buffer(out) if count > 1 else None
            try:
                if binary is not None:
                    from edi.pipeline.parts import parse_file

                    parse_file(normalizer, path, count, binary, types)
                    binary.flush()
                    click.echo(_summary_line(path, normalizer), err=True)
                    failed = failed or bool(normalizer.summary.skipped)
                    continue
                with bar.reading(path, PARSE) as source:
                    sha256 = None if source is path else file_sha256(path)
                    records = normalizer.records(source, path, sha256=sha256)
                    if types:
                        records = (r for r in records if r.TYPE in types)
                    writer.write(records, export)
            except EdiError as exc:
                failed = True
                click.echo(f"{path}: cannot parse: {exc}", err=True)
                continue
            click.echo(_summary_line(path, normalizer), err=True)
            failed = failed or bool(normalizer.summary.skipped)
        writer.close()
    if failed:
        raise SystemExit(1)


def _summary_line(path: str, normalizer: Any) -> str:
    summary = normalizer.summary
    counts = ", ".join(f"{n} {t}" for t, n in sorted(summary.records.items())) or "no records"
    line = f"{path}: {counts} from {summary.sets} transaction set(s)"
    for skipped in summary.skipped:
        line += (
            f"; set {skipped.set_id} ({skipped.guide or 'no version'}) at segment "
            f"{skipped.ordinal} not read: {skipped.detail or skipped.reason}"
        )
    if summary.unlocated:
        line += f"; {summary.unlocated} segment(s) fit nowhere in the guide (see edi validate)"
    if summary.dropped:
        line += f"; {summary.dropped} value(s) left empty: not of their type"
    if summary.late:
        line += f"; {summary.late} value(s) after their party was taken by a record, not written"
    return line


@contextmanager
def _opened(output: str | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        return
    # the last name is never a symbolic link followed (one left in a shared folder would
    # have the records overwrite the file it points to); a device or a pipe (/dev/null, a
    # FIFO read by another program) is written as it is, its mode untouched
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(output, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise click.ClickException(
                f"{output}: a symbolic link, not followed: name the file itself"
            ) from None
        raise click.ClickException(f"{output}: cannot be written: {exc.strerror}") from None
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through os.open
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        yield handle


class _Writer:
    """Streams records in one format to one text stream, across several input files."""

    def __init__(self, fmt: str, out: IO[str], csv_type: str | None) -> None:
        self.fmt = fmt
        self.out = out
        self.started = False
        self.csv: Any = None
        self.csv_type = csv_type
        self.xml: Any = None

    def write(self, records: Any, export: Any) -> None:
        out = self.out
        if self.fmt == "jsonl":
            binary = _utf8_buffer(out)
            if binary is not None:
                # orjson's UTF-8 bytes as they are, not decoded and encoded again
                lines = export.JsonLines()
                for record in records:
                    binary.write(lines.encode(record))
            else:
                for text in export.jsonl(records):
                    out.write(text)
        elif self.fmt == "json":
            for record in records:
                out.write(("[\n" if not self.started else ",\n") + _json(export.to_dict(record)))
                self.started = True
        elif self.fmt == "csv":
            from edi.records import RECORD_TYPES

            if self.csv is None:
                cls = RECORD_TYPES[self.csv_type or ""]
                self.csv = csv.DictWriter(out, fieldnames=export.columns(cls), lineterminator="\n")
                self.csv.writeheader()
            for record in records:
                self.csv.writerow(export.csv_row(record))
        else:
            from lxml import etree

            if not self.started:
                out.write('<?xml version="1.0" encoding="UTF-8"?>\n<records>\n')
                self.started = True
            for record in records:
                out.write(etree.tostring(export.to_element(record), encoding="unicode"))
                out.write("\n")

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("[]\n" if not self.started else "\n]\n")
        elif self.fmt == "xml":
            if not self.started:
                self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n<records>\n')
            self.out.write("</records>\n")
        self.out.flush()


def _utf8_buffer(out: IO[str]) -> IO[bytes] | None:
    """The byte stream under ``out`` (flushed), when ``out`` writes UTF-8 and no newline
    translation can happen; else None (the text is written through ``out``)."""
    binary = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if binary is None or not encoding or os.linesep != "\n":
        return None
    try:
        if codecs.lookup(encoding).name != "utf-8":
            return None
    except LookupError:
        return None
    out.flush()
    return binary


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
