"""The ``edi`` command line: a thin layer of click commands over the library.

Subcommands are imported only when run, so ``edi --help`` stays fast and commands that
run no flow never import Prefect. Prefect is the ``flows`` extra (``pip install
'edi[flows]'``): the commands that run flows (:data:`FLOW_COMMANDS`) say so in one line
when it is not installed, and every other command works without it.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from edi import __version__

#: command name -> "module:attribute", imported on first use
COMMANDS = {
    "inspect": "edi.cli.inspect:inspect_command",
    "samples": "edi.cli.samples:samples_group",
    "demo": "edi.cli.demo:demo_command",
    "validate": "edi.cli.validate:validate_command",
    "parse": "edi.cli.parse:parse_command",
    "ingest": "edi.cli.ingest:ingest_command",
    "db": "edi.cli.db:db_group",
    "keys": "edi.cli.keys:keys_group",
    "audit": "edi.cli.audit:audit_group",
    "partners": "edi.cli.partners:partners_group",
    "pull": "edi.cli.pull:pull_command",
    "run": "edi.cli.run:run_command",
    "serve": "edi.cli.serve:serve_command",
    "deploy": "edi.cli.serve:deploy_command",
    "files": "edi.cli.files:files_group",
    "transactions": "edi.cli.files:transactions_group",
    "claims": "edi.cli.claims:claims_group",
    "members": "edi.cli.members:members_group",
    "payments": "edi.cli.payments:payments_group",
    "search": "edi.cli.search:search_command",
    "report": "edi.cli.report:report_group",
    "whoami": "edi.cli.whoami:whoami_command",
    "staging": "edi.cli.staging:staging_group",
    "config": "edi.cli.config:config_group",
    "codes": "edi.cli.codes:codes_group",
}
SHORT_HELP = {
    "inspect": "Show the envelopes and loop tree of X12 files.",
    "samples": "Make synthetic X12 files (large ones for benchmarks).",
    "demo": "Run the main job on the bundled samples.",
    "validate": "Validate X12 files (SNIP 1-3, some 5) and write TA1/999 acknowledgments.",
    "parse": "Parse X12 files into claims, payments and members (JSON, XML, CSV).",
    "ingest": "Validate, acknowledge, parse and store X12 files (encrypted at rest).",
    "db": "Create or migrate the store's schema.",
    "keys": "Manage the key ring: init, rotate, list, re-encrypt.",
    "audit": "Read, verify and checkpoint the audit chain.",
    "partners": "List trading partners; check and trust their SFTP servers.",
    "pull": "Take a partner's files over SFTP (or a folder), decrypted and verified.",
    "run": "Run the exchange flow now (Prefect), for one partner or all.",
    "serve": "Serve the partners' scheduled exchanges (Prefect deployments).",
    "deploy": "Register the partners' scheduled exchanges with a Prefect work pool.",
    "files": "List, show, reprocess and export stored files (checksums, status, acks).",
    "transactions": "List and show transaction sets, with a rejected set's errors.",
    "claims": "List and show claims (PHI masked), with their 835 payment status.",
    "members": "List and show enrolled members (PHI masked) and their coverage.",
    "payments": "List and show 835 payments: claims paid, PLB, balance.",
    "search": "Find records by member id, SSN, claim id ... (blind indexes).",
    "report": "Operations reports: daily counts and amounts, partners' acceptance and turnaround; charts.",
    "whoami": "Show this OS user's roles and what they allow.",
    "staging": "List and export the files kept in staging (sealed at rest).",
    "config": "Check the configuration: every table and key, and what it resolves to.",
    "codes": "List the code lists loaded; load a newer maintainer release.",
}


#: the commands that run Prefect flows: they need the ``flows`` extra
FLOW_COMMANDS = frozenset({"run", "serve", "deploy", "demo"})
#: how to install what they need
FLOWS_EXTRA = "pip install 'edi[flows]'"


def _needs_prefect(command_path: str) -> click.ClickException:
    """The one-line error of a command that runs flows where Prefect is not installed."""
    words = command_path.split()[1:]  # the program's own name may differ (tests, -m)
    return click.ClickException(f"`{' '.join(['edi', *words])}` needs Prefect: {FLOWS_EXTRA}")


def require_flows(ctx: click.Context) -> None:
    """Refuse a command that runs flows, before it reads anything, when Prefect is not
    installed (one line, exit 1)."""
    from importlib.util import find_spec

    try:
        found = find_spec("prefect") is not None
    except ImportError:  # an import hook that refuses it
        found = False
    if not found:
        raise _needs_prefect(ctx.command_path)


def _prefect_missing(exc: ImportError) -> bool:
    return (exc.name or "").partition(".")[0] == "prefect"


class EdiGroup(click.Group):
    """A click group that turns every :class:`~edi.errors.EdiError` its commands raise into
    a one-line error and exit 1 (the messages name files, positions and codes, never a
    value): the one place the command line does it. Every ``edi`` group uses it. An import
    of Prefect that fails (the ``flows`` extra not installed) is one line too."""

    def invoke(self, ctx: click.Context) -> Any:
        from edi.errors import EdiError

        try:
            return super().invoke(ctx)
        except EdiError as exc:
            raise click.ClickException(str(exc)) from None
        except ImportError as exc:
            if not _prefect_missing(exc):
                raise
            raise _needs_prefect(f"{ctx.command_path} {ctx.invoked_subcommand or ''}") from None


class LazyGroup(EdiGroup):
    """A click group whose subcommands are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _version(ctx) if value else None,
    help="Show the version, whether the parsers are compiled, and where the maps come from.",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=True, path_type=str),
    envvar="EDI_CONFIG",
    help="TOML configuration file or folder [env: EDI_CONFIG].",
)
@click.option(
    "--database",
    envvar="EDI_DATABASE_URL",
    help="SQLAlchemy URL of the store [env: EDI_DATABASE_URL; default: SQLite under EDI_HOME].",
)
@click.pass_context
def main(ctx: click.Context, config: str | None, database: str | None) -> None:
    """HIPAA X12 EDI processor: 834 enrollment, 835 remittance, 837P/I/D claims.

    Data lives under EDI_HOME (default: the per-user data directory).
    """
    ctx.obj = {"config": config, "database": database}


def _version(ctx: click.Context) -> None:
    """``edi --version``: the version, the build that runs, and the data it reads."""
    import edi
    from edi import resources

    build = (
        "parsers compiled (mypyc)"
        if edi.compiled()
        else "parsers pure Python (2-3x slower than compiled)"
    )
    click.echo(f"edi {__version__}, {build}, maps and samples from the {resources.source()}")
    ctx.exit()


def settings(ctx: click.Context) -> Any:
    """The resolved :class:`edi.config.Settings` for this invocation."""
    from edi.config import load_settings

    root = ctx.find_root()
    obj = root.obj if root.obj is not None else {}
    if "settings" not in obj:  # read once per invocation (role checks read it first)
        obj["settings"] = load_settings(obj.get("config"), obj.get("database"))
        root.obj = obj
    return obj["settings"]
