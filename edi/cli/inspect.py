"""``edi inspect``: envelope summary and loop tree of X12 files."""

from __future__ import annotations

import json
from typing import Any

import click

from edi.errors import EdiError


@click.command("inspect")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--max-loops", default=200, show_default=True, help="Loop instances shown per transaction set."
)
def inspect_command(paths: tuple[str, ...], fmt: str, max_loops: int) -> None:
    """Show the envelopes and loop tree of X12 files (no data values are printed).

    Exits 1 when a file cannot be read as X12 at all.
    """
    from edi.parsers.outline import outline

    results: list[dict[str, Any]] = []
    failed = False
    for path in paths:
        try:
            results.append(outline(path, max_loops=max_loops))
        except EdiError as exc:
            failed = True
            results.append({"file": path, "error": str(exc)})
    if fmt == "json":
        click.echo(json.dumps(results if len(results) > 1 else results[0], indent=2))
    else:
        for result in results:
            click.echo(render_text(result))
    if failed:
        raise SystemExit(1)


def render_text(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{result['file']}: cannot read: {result['error']}"
    lines = [
        f"{result['file']}: {result['size']} bytes, {result['segments']} segments, "
        f"{result['encoding']}{' with BOM' if result['bom'] else ''}"
    ]
    for problem in result["problems"]:
        lines.append(f"  ! {_problem(problem)}")
    for warning in result["warnings"]:
        lines.append(f"  warning: {warning['message']} (line {warning['line']})")
    for ic in result["interchanges"]:
        d = ic["delimiters"]
        lines.append(
            f"  ISA {ic['control']} {ic['version']} {ic['usage']} "
            f"from {ic['sender']['qualifier']}:{ic['sender']['id']} to "
            f"{ic['receiver']['qualifier']}:{ic['receiver']['id']} on {ic['date']} {ic['time']}  "
            f"delimiters {d['element']} {d['component']} {d['repetition'] or '-'} {d['segment']!r}"
        )
        lines.extend(f"    ! {_problem(p)}" for p in ic["problems"])
        for grp in ic["groups"]:
            lines.append(f"    GS {grp['functional_id']} {grp['control']} {grp['version']}")
            lines.extend(f"      ! {_problem(p)}" for p in grp["problems"])
            for tx in grp["transactions"]:
                map_name = tx.get("map") or "no map"
                lines.append(
                    f"      ST {tx['set']} {tx['control']}: {tx['segments']} segments, map {map_name}"
                )
                lines.extend(f"        ! {_problem(p)}" for p in tx["problems"])
                _render_loops(tx["loops"], lines, "        ")
                if tx["loops_omitted"]:
                    lines.append(f"        ... {tx['loops_omitted']} more loop instances")
    return "\n".join(lines)


def _render_loops(loops: list[dict[str, Any]], lines: list[str], indent: str) -> None:
    for loop in loops:
        lines.append(f"{indent}{loop['loop']}: {' '.join(loop['segments'])}")
        _render_loops(loop["loops"], lines, indent + "  ")


def _problem(problem: dict[str, Any]) -> str:
    where = f"line {problem['line']}, segment {problem['segment']}"
    if problem["segment_id"]:
        where += f" {problem['segment_id']}"
        if problem["element"]:
            where += f"{problem['element']:02d}"
    return f"{where}: {problem['message']} ({problem['level']} {problem['code']})"
