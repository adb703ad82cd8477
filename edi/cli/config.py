"""``edi config check``: load and validate the whole configuration, say what it resolves to.

One line per table checked (names only, never a value that could be a secret), the data
directory, the database URL with its password masked and the partners; then every
problem, one line each naming the file, the table and the key, on stderr. Exit 0 when the
configuration is valid, 1 otherwise. ``edi partners validate`` runs the same check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edi.cli import EdiGroup


@click.group("config", cls=EdiGroup)
def config_group() -> None:
    """Check the configuration (EDI_CONFIG, --config, or EDI_HOME/edi.toml)."""


@config_group.command("check")
@click.option(
    "--config",
    "path",
    type=click.Path(dir_okay=True, path_type=str),
    help="The TOML file or folder to check [default: edi's --config, EDI_CONFIG, "
    "EDI_HOME/edi.toml].",
)
@click.pass_context
def check_command(ctx: click.Context, path: str | None) -> None:
    """Validate every table and key of the configuration; exit 1 listing the problems.

    Also checks what the partners' tables point at: key files, folders, pinned host
    keys, our OpenPGP key. Creates nothing.
    """
    raise SystemExit(run_check(ctx, path))


def run_check(ctx: click.Context, path: str | None = None) -> int:
    """Check the configuration (``path``, else the invocation's) and print the report;
    the exit status (0 valid, 1 not)."""
    from edi.config import load_settings
    from edi.errors import ConfigError
    from edi.store.session import masked_url

    root = ctx.find_root().obj or {}
    try:
        conf = load_settings(
            path if path is not None else root.get("config"),
            root.get("database"),
            refuse_unknown=False,
        )
    except ConfigError as exc:  # unreadable TOML, a key set twice
        for line in str(exc).splitlines():
            click.echo(line, err=True)
        return 1
    click.echo(f"configuration: {_files(conf)}")
    click.echo(f"home: {conf.home}" + ("" if conf.home.exists() else " (does not exist yet)"))
    click.echo(f"database: {masked_url(conf.database_url)}")
    for line in _tables(conf):
        click.echo(line)
    problems = conf.checked.all_problems() + _roles_problems(conf)
    for note in _deprecated(conf):
        click.echo(f"note: {note}", err=True)
    if not problems:
        problems = _references(conf)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        return 1
    partners = conf.partners
    click.echo(
        f"{len(partners)} partner(s) configured: {', '.join(partners) or 'none'}; no problems found"
    )
    return 0


def _roles_problems(conf: Any) -> list[str]:
    """A [roles] table where roles are not read from (a chosen configuration): a problem."""
    from edi.access import refuse_chosen_roles
    from edi.errors import ConfigError

    try:
        refuse_chosen_roles(conf)
    except ConfigError as exc:
        return [str(exc)]
    return []


def _files(conf: Any) -> str:
    path: Path | None = conf.config_path
    if path is None:
        return "none (defaults)"
    if path.is_dir():
        names = sorted(p.name for p in path.glob("*.toml"))
        return f"{path} ({', '.join(names) or 'no *.toml files'})"
    return str(path)


def _tables(conf: Any) -> list[str]:
    """One line per table: checked, problems, or defaults (names only)."""
    from edi.settings import Config

    checked = conf.checked
    lines = []
    for name in Config.model_fields:
        if name == "partners":
            for partner in sorted(conf.options.get("partners") or {}):
                labels = (f"[partners.{partner}]", f"[partners.{partner}.pgp]")
                bad = [p for p in checked.all_problems() if any(t in p for t in labels)]
                lines.append(f"[partners.{partner}] " + _state(bad))
            continue
        if name not in conf.options:
            lines.append(f"[{name}] not set: defaults")
            continue
        bad = [p for p in checked.all_problems() if f"[{name}]" in p]
        lines.append(f"[{name}] " + _state(bad))
    lines += [f"[{name}] unknown table" for name in conf.options if name not in Config.model_fields]
    return lines


def _state(problems: list[str]) -> str:
    return f"{len(problems)} problem(s)" if problems else "ok"


def _deprecated(conf: Any) -> list[str]:
    if "flows" not in conf.options or conf.checked.problems.get("flows"):
        return []
    return [
        f"{conf.origin('flows', old)}: [flows] {old} is deprecated: rename it {new}"
        for old, new in conf.flows.deprecated_keys
    ]


def _references(conf: Any) -> list[str]:
    """What valid tables point at: files and folders that must exist, pinned host keys."""
    from edi.partners import load_partners, our_pgp

    ours = our_pgp(conf)
    problems = []
    for p in load_partners(conf).values():
        for label, path in (
            ("key_file", p.key_file),
            ("pgp.public_key_file", p.pgp.public_key_file if p.pgp else None),
        ):
            if path is not None and not path.exists():
                problems.append(f"{p.source}: [partners.{p.name}] {label}: {path} does not exist")
        if p.transport == "local" and p.path is not None and not p.path.is_dir():
            problems.append(f"{p.source}: [partners.{p.name}] path: {p.path} is not a folder")
        if p.pgp is not None and p.pgp.encrypted != "never" and ours is None:
            problems.append(
                f"{p.source}: [partners.{p.name}.pgp] needs our key: [pgp] secret_key_file"
            )
        if (
            p.transport == "sftp"
            and not p.host_fingerprints
            and not (p.known_hosts and p.known_hosts.exists())
        ):
            problems.append(
                f"{p.source}: [partners.{p.name}] no host key pinned (host_fingerprints, or "
                f"known_hosts {p.known_hosts}): run edi partners trust {p.name}"
            )
    if ours is not None and not ours.secret_key_file.exists():
        problems.append(
            f"{conf.origin('pgp', 'secret_key_file')}: [pgp] secret_key_file: "
            f"{ours.secret_key_file} does not exist"
        )
    return problems


__all__ = ["config_group", "run_check"]
