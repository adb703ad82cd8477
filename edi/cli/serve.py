"""``edi serve`` and ``edi deploy``: the partners' scheduled exchanges as Prefect deployments."""

from __future__ import annotations

from typing import Any

import click

from edi.access import OPERATE
from edi.cli import require_flows, settings
from edi.cli.analyst import require


def _plan(work_pool: str | None = None, *, notes_to_stderr: bool = False) -> tuple[Any, Any]:
    from edi.flows.deploy import plan

    conf = settings(click.get_current_context())
    made = plan(conf, work_pool=work_pool)
    for name in made.unscheduled:
        click.echo(
            f"{name}: no schedule, no deployment (edi run --partner {name} runs it now)",
            err=notes_to_stderr,
        )
    if not made.deployments:
        raise click.ClickException("no partner has a schedule ([partners.NAME] schedule = cron)")
    return conf, made


def _describe(made: Any) -> None:
    for name, (cron, zone) in made.schedules.items():
        click.echo(f"exchange/{made.names[name]}: cron {cron!r} in {zone}")


@click.command("serve")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs at once.")
def serve_command(limit: int | None) -> None:
    """Serve one deployment per scheduled partner from this process, until interrupted.

    Each runs the partner's exchange on its cron, in its time zone. The schedules live on
    the Prefect API (PREFECT_API_URL, e.g. from `prefect server start`); runs start here.
    The deployments are named exchange/serve:PARTNER and are paused when this stops;
    `edi deploy`'s (exchange/PARTNER, for a work pool) are left as they are.
    """
    require_flows(click.get_current_context())
    require(click.get_current_context(), OPERATE)
    from edi.flows.deploy import api_url
    from edi.flows.exchange import environment

    conf, made = _plan()
    from edi.cli.run import check_store

    check_store(conf)
    _describe(made)
    if api_url() is None:
        click.echo(
            "PREFECT_API_URL is not set: the schedules go to a temporary local Prefect server "
            "that lives as long as this command (see docs/OPERATIONS.md)",
            err=True,
        )
    from edi.flows.deploy import serve

    database = (click.get_current_context().find_root().obj or {}).get("database")
    click.echo("serving; stop with Ctrl-C")
    with environment(EDI_DATABASE_URL=database):
        serve(made.deployments, limit=limit)


@click.command("deploy")
@click.option(
    "--work-pool",
    "work_pool",
    required=True,
    help="The Prefect work pool (type process) whose workers run the exchanges.",
)
@click.option(
    "--print-prefect-yaml",
    "print_yaml",
    is_flag=True,
    help="Print the deployments as a prefect.yaml (for `prefect deploy --all`); register nothing.",
)
def deploy_command(work_pool: str, print_yaml: bool) -> None:
    """Register one deployment per scheduled partner with a work pool of process workers.

    The pool is created (type process) when missing. Then, on each machine that runs
    exchanges: `prefect worker start --pool NAME`, with PREFECT_API_URL and edi's own
    settings (EDI_HOME, EDI_DATABASE_URL, the KEK) in its environment. With
    --print-prefect-yaml, print the same deployments as a prefect.yaml instead.
    """
    require_flows(click.get_current_context())
    require(click.get_current_context(), OPERATE)
    from edi.flows.deploy import api_url, config_parameter, deploy, ensure_work_pool, prefect_yaml

    if print_yaml:
        conf, made = _plan(work_pool, notes_to_stderr=True)
        click.echo(prefect_yaml(made, work_pool, config_parameter(conf)), nl=False)
        return
    if api_url() is None:
        raise click.ClickException(
            "PREFECT_API_URL is not set: workers need a Prefect server to take runs from "
            "(prefect server start; see docs/OPERATIONS.md)"
        )
    conf, made = _plan(work_pool)
    block = conf.flows.notify_block
    if block is not None:  # a missing block is refused before anything is deployed
        from edi.flows.automations import notify_block_id

        block_id = notify_block_id(block)
    try:
        if ensure_work_pool(work_pool):
            click.echo(f"created work pool {work_pool} (type process)")
        ids = deploy(made.deployments, work_pool)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for (name, (cron, zone)), deployment_id in zip(made.schedules.items(), ids, strict=True):
        click.echo(
            f"exchange/{name}: cron {cron!r} in {zone}; work pool {work_pool}; id {deployment_id}"
        )
    if block is None:
        click.echo(
            "no [flows] notify_block: no notification when a run fails (see docs/OPERATIONS.md)"
        )
    else:
        from edi.flows.automations import NOTIFYING_STATES, automation_name, ensure_automation

        automation_id = ensure_automation(work_pool, ids, block_id)
        click.echo(
            f"automation {automation_name(work_pool)}: runs ending "
            f"{', '.join(NOTIFYING_STATES)} notify through {block}; id {automation_id}"
        )
    click.echo(
        f"next: prefect worker start --pool {work_pool}  (on every machine that runs exchanges)"
    )
