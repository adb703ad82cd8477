"""``edi validate``: SNIP 1-3 (and part of 5) validation with TA1/999 acknowledgments."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from edi.cli import settings
from edi.cli.progress import FileProgress
from edi.codes import describe_ack
from edi.progress import VALIDATE


def ack_dir_option(text: str) -> Callable[[Any], Any]:
    """``--ack-dir``: a folder to write the TA1/999 acknowledgments into; ``text`` is its help."""
    return click.option("--ack-dir", type=click.Path(file_okay=False, path_type=Path), help=text)


def write_acks_out(conf: Any, ack_dir: Path, stem: str, acks: Any) -> list[tuple[Any, Path]]:
    """Write ``acks`` into the operator's ``ack_dir`` (``STEM.ISA13.CONTROL.KIND``); a 277CA
    names patients, so it is written only for a user whose role may reveal PHI, and said
    on stderr otherwise (it stays in the store, encrypted). The acks written, with paths."""
    from edi.access import REVEAL, access_for
    from edi.pipeline.ack_files import write_ack as write_file

    ack_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    reveal: bool | None = None
    written = []
    for ack in acks:
        if ack.kind == "277":
            if reveal is None:
                reveal = access_for(conf).allows(REVEAL)
            if not reveal:
                click.echo(
                    f"277CA {ack.control} not written to {ack_dir}: it holds PHI and your role "
                    "may not reveal it (it is kept in the store, encrypted)",
                    err=True,
                )
                continue
        written.append((ack, write_file(ack_dir, stem, ack).path))
    return written


def workers_option() -> Callable[[Any], Any]:
    """``--workers N``: processes that read one large file, split at its transaction sets."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Processes that read one file, each a part of its transaction sets (default: "
        "the usable cores for a file of 16 MB or more; [ingest] workers = 1 in the "
        "configuration keeps one).",
    )


def file_workers(ctx: click.Context, workers: int | None, path: str) -> int:
    """The processes that read ``path``: ``--workers``, else one for a small file, else the
    configuration's ``[ingest] workers`` when it names a number, else the usable cores."""
    from edi.pipeline.parts import SPLIT_MIN_BYTES, worker_count

    if workers is not None:
        return workers
    size = Path(path).stat().st_size
    if size < SPLIT_MIN_BYTES:
        return 1
    return worker_count(settings(ctx).ingest.worker_count, size)


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@ack_dir_option("Write a 999 per functional group (and a TA1 when asked for) into this folder.")
@click.option(
    "--strict",
    is_flag=True,
    help="Reject sets for SNIP 3 and 5 findings too (default: noted, IK5 E).",
)
@click.option(
    "--show-values",
    is_flag=True,
    help="Include the offending values in errors. They may be PHI: use only on test data or with permission.",
)
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A rule file (docs/RULES.md) layered after the project's, as a partner's companion "
    "guide is; repeatable.",
)
@click.option(
    "--partner",
    help="Validate as this configured partner's files are: its companion guide's rule files "
    "([partners.NAME] rules) are layered after the project's.",
)
@workers_option()
@click.pass_context
def validate_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    ack_dir: Path | None,
    strict: bool,
    show_values: bool,
    rule_files: tuple[Path, ...],
    partner: str | None,
    workers: int | None,
) -> None:
    """Validate X12 files against the 5010 implementation guides.

    Exits 0 when every transaction set is accepted (A or E), 1 when any is rejected or a
    file cannot be read as X12, 2 on usage errors. Messages carry codes and positions,
    never data values unless --show-values is given. A file of 5 MB or more read by one
    process gets a progress bar on stderr (bytes, rate, time left) when stderr is a
    terminal. A file of 16 MB or more is read by as many processes as there are usable
    cores, split at its transaction sets (--workers, or [ingest] workers = 1 in the
    configuration, says otherwise); the output is the same.
    """
    from edi.parsers.rules.files import RuleCatalog
    from edi.parsers.validate import Validator

    extra = list(rule_files)
    if partner is not None:
        from edi.partners import load_partners

        found = load_partners(settings(ctx)).get(partner)
        if found is None:
            raise click.UsageError(f"no partner {partner!r} in the configuration")
        extra = [*found.rules, *extra]
    validator = Validator(
        show_values=show_values,
        strict=strict,
        rule_files=RuleCatalog(extra=extra) if extra else None,
    )
    bar = FileProgress()
    results = []
    for path in paths:
        count = file_workers(ctx, workers, path)
        if count > 1:
            from edi.pipeline.parts import validate_file

            results.append(validate_file(validator, path, count))
            continue
        with bar.reading(path, VALIDATE) as source:
            results.append(validator.validate(source, path))
    written: list[str] = []
    if ack_dir is not None:
        written = _write_acks(ctx, results, ack_dir)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"files": [result_dict(r) for r in results], "acknowledgments": written}, indent=2
            )
        )
    else:
        for result in results:
            click.echo(render_text(result))
        for path in written:
            click.echo(f"wrote {path}", err=True)
    if not all(r.accepted for r in results):
        raise SystemExit(1)


def _write_acks(ctx: click.Context, results: list[Any], ack_dir: Path) -> list[str]:
    from edi.control_numbers import ControlNumbers
    from edi.parsers.acks import acknowledgments

    conf = settings(ctx)
    conf.ensure_home()
    numbers = ControlNumbers(conf.home / "ack-control-number")
    ack_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[str] = []
    now = datetime.now(UTC)
    for result in results:
        stem = Path(result.path).name
        unanswered: list[str] = []
        for ack in acknowledgments(result, numbers.next_isa, now, unanswered=unanswered):
            written.append(str(write_ack(ack_dir, stem, ack)))
        for reason in unanswered:
            click.echo(f"{result.path}: {reason}", err=True)
    return written


def write_ack(ack_dir: Path, stem: str, ack: Any) -> Path:
    """Write one acknowledgment as ``STEM.ISA13.CONTROL.KIND`` (owner-only, whole or not
    at all: :func:`edi.pipeline.ack_files.write_ack`)."""
    from edi.pipeline.ack_files import write_ack as write

    return write(ack_dir, stem, ack).path


def error_dict(error: Any) -> dict[str, Any]:
    loc = error.location
    out: dict[str, Any] = {
        "segment_position": loc.segment_position,
        "segment": loc.segment,
        "loop": loc.loop,
        "element": error.element,
        "component": getattr(error, "component", 0),
        "repeat": getattr(error, "repeat", 0),
        "code": error.code,
        "level": "element" if error.element else "segment",
        "snip": error.snip,
        "message": error.message,
        "line": loc.line,
        "file_segment": loc.ordinal,
    }
    if error.rule:  # a rule of the rule files (maps/rules/): its id, the partner's edit key
        out["rule"] = error.rule
    value = getattr(error, "value", None)
    if value is not None:
        out["value"] = value
    return out


def result_dict(result: Any) -> dict[str, Any]:
    return {
        "path": result.path,
        "accepted": result.accepted,
        "error": result.fatal,
        "interchanges": [
            {
                "control": ic.control,
                "sender": f"{ic.sender_qualifier}:{ic.sender_id}",
                "receiver": f"{ic.receiver_qualifier}:{ic.receiver_id}",
                "ta1": {
                    "code": ic.ta1_code,
                    "note": ic.ta1_note,
                    "notes": ic.notes,
                    "messages": ic.messages,
                },
                "groups": [
                    {
                        "functional_id": grp.functional_id,
                        "control": grp.control,
                        "version": grp.version,
                        "ack_code": grp.ack_code,
                        "syntax_codes": grp.syntax_codes,
                        "transactions": [
                            {
                                "set": tx.set_id,
                                "control": tx.control,
                                "version": tx.version,
                                "accepted": tx.accepted,
                                "ack_code": tx.ack_code,
                                "syntax_codes": tx.syntax_codes,
                                "map": tx.map_file,
                                "warnings": tx.warnings,
                                "errors": [error_dict(e) for e in tx.errors],
                            }
                            for tx in grp.transactions
                        ],
                    }
                    for grp in ic.groups
                ],
            }
            for ic in result.interchanges
        ],
    }


def render_text(result: Any) -> str:
    verdict = "ACCEPTED" if result.accepted else "REJECTED"
    lines = [f"{result.path}: {verdict}"]
    if result.fatal:
        lines.append(f"  cannot read: {result.fatal}")
    for ic in result.interchanges:
        if ic.ta1_note != "000":
            for note, message in zip(ic.notes, ic.messages, strict=False):
                lines.append(
                    f"  interchange {ic.control}: TA1 {ic.ta1_code}; "
                    f"{describe_ack('TA1', note)} ({message})"
                )
        for grp in ic.groups:
            if grp.syntax_codes:
                lines.append(
                    f"  group {grp.control}: AK9 {grp.ack_code}; "
                    + "; ".join(describe_ack("AK905", code) for code in grp.syntax_codes)
                )
            for tx in grp.transactions:
                count = len(tx.errors)
                codes = "".join(f"; {describe_ack('IK502', code)}" for code in tx.syntax_codes)
                lines.append(
                    f"  {tx.set_id} {tx.control} {tx.version}: {tx.ack_code}{codes}"
                    + (f" ({count} error{'s' if count != 1 else ''})" if count else "")
                )
                for warning in tx.warnings:
                    lines.append(f"    warning: {warning}")
                for error in tx.errors:
                    lines.append("    " + _error_line(error))
    return "\n".join(lines)


def _error_line(error: Any) -> str:
    loc = error.location
    where = f"segment {loc.segment_position} {loc.segment}"
    if loc.loop:
        where += f" in {loc.loop}"
    if error.element:
        where += f", element {loc.segment}{error.element:02d}"
        if getattr(error, "component", 0):
            where += f"-{error.component}"
    element = "IK403" if error.element else "IK304"
    text = f"{where} (line {loc.line}): {describe_ack(element, error.code)}; {error.message}"
    if error.rule:
        text += f" (rule {error.rule})"
    value = getattr(error, "value", None)
    if value is not None:
        text += f" [value: {value}]"
    return text
