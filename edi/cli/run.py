"""``edi run``: run the exchange flow now, for one partner or every partner."""

from __future__ import annotations

from typing import Any

import click

from edi.access import OPERATE
from edi.cli import require_flows, settings
from edi.cli.analyst import require


@click.command("run")
@click.option(
    "--partner",
    "name",
    help="The partner, as named in [partners.NAME] (default: every partner, one after another).",
)
def run_command(name: str | None) -> None:
    """Run the exchange flow here and now (Prefect; no schedule, no worker needed).

    Every ready file of the partner is leased in the store, pulled, decrypted, validated,
    acknowledged, stored and archived. One line per file: remote name, verdict, sha256,
    bytes, sets accepted and rejected, claims, members and payments stored, acks sent;
    never a value. Exits 1 when a file is rejected, refused or fails, or a run fails.

    Without PREFECT_API_URL, Prefect starts a temporary local server for the run (a few
    seconds); with it, the run is recorded on that server.
    """
    require_flows(click.get_current_context())
    require(click.get_current_context(), OPERATE)
    from edi.partners import load_partners, partner

    ctx = click.get_current_context()
    conf = settings(ctx)
    # configuration errors before Prefect starts
    if name is not None:
        partner(conf, name)
    elif not load_partners(conf):
        raise click.ClickException("no partners in the configuration ([partners.NAME])")

    conf.table("flows")  # a bad [flows] table is refused before the run starts
    check_store(conf)

    from edi.flows.deploy import config_parameter
    from edi.flows.exchange import NOT_OK, environment, run_now, summary_line

    database = (ctx.find_root().obj or {}).get("database")
    with environment(EDI_DATABASE_URL=database):
        summaries, completed = run_now(name, config_parameter(conf))
    failed = not completed
    for summary in summaries:
        who = summary.get("partner", name or "?")
        for row in summary.get("files", []):
            failed = failed or row["status"] in NOT_OK
            click.echo(f"{who}: {summary_line(row)}")
        if summary.get("error"):
            failed = True
            click.echo(f"{who}: exchange failed: {summary['error']}", err=True)
            continue
        totals = ", ".join(f"{n} {s}" for s, n in sorted(summary.get("totals", {}).items()))
        extra = [
            f"{summary.get(key, 0)} {what}"
            for key, what in (
                ("skipped", "leased by another worker"),
                ("waiting", "still changing"),
                ("refused_in_listing", "refused in the listing"),
            )
            if summary.get(key)
        ]
        if summary.get("unacknowledged"):
            extra.append(
                f"{len(summary['unacknowledged'])} acknowledgment(s) of ours missing "
                "(edi files list --unacknowledged)"
            )
        click.echo(
            f"{who}: {len(summary.get('files', []))} file(s)"
            + (f": {totals}" if totals else "")
            + ("; " + "; ".join(extra) if extra else "")
            + f"; flow run {summary.get('flow_run_id')}"
        )
    if failed:
        raise SystemExit(1)


def check_store(conf: Any) -> None:
    """Open the store (and its key ring) once before Prefect starts, so that a database
    that does not answer or a bad EDI_HOME is one line, not a failed flow's traceback."""
    from edi.store.session import open_store

    open_store(conf).engine.dispose()
