"""Deployments of the exchange flow: one per partner that has a ``schedule``.

Each deployment is named after its partner, runs
``exchange(partner, config)`` on the partner's cron in the partner's IANA time zone
(Prefect reads a cron in UTC unless told otherwise), and points at the flow by module
path (``edi.flows.exchange.exchange``), so any machine with edi installed runs it: no
code storage, no image. ``serve`` runs them in this process (``edi serve``, deployments
``exchange/serve:<partner>``); ``deploy`` registers them with a work pool for process
workers (``edi deploy --work-pool``, deployments ``exchange/<partner>``); ``prefect_yaml``
writes the same deployments as a ``prefect.yaml`` for ``prefect deploy --all`` (``edi
deploy --work-pool NAME --print-prefect-yaml``). The names differ because Prefect pauses
a served deployment when ``serve`` stops: under one name, stopping ``edi serve`` would
pause the work pool's deployment too. (``:`` is in no partner's name.)
A partner without a schedule gets no deployment (``edi run --partner`` runs it).

The flow run reads everything else from its own environment (``EDI_HOME``,
``EDI_DATABASE_URL``, the KEK): deployment parameters are stored in the Prefect API in
clear, so only the partner's name and the configuration's path go there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

# Prefect's temporary server (no PREFECT_API_URL) migrates a new SQLite database on its
# first start in a PREFECT_HOME: about 20 s on a small machine, Prefect's default limit.
# Prefect reads its settings once, on import, so this comes first.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect.client.schemas.schedules import CronSchedule
from prefect.types.entrypoint import EntrypointType

from edi.config import Settings
from edi.errors import ConfigError

#: deployment tags (and one ``partner:<name>`` each)
TAGS = ("edi", "exchange")
#: the prefix of the deployments ``edi serve`` serves (paused when it stops)
SERVED = "serve:"


def deployment_name(partner: str, *, work_pool: str | None) -> str:
    """``<partner>`` for a work pool's deployment, ``serve:<partner>`` for ``edi serve``'s."""
    return partner if work_pool is not None else SERVED + partner


@dataclass
class Deployments:
    """The deployments to register, and the partners left out (no schedule)."""

    deployments: list[Any] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)
    #: partner name -> (cron, time zone), in deployment order
    schedules: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: partner name -> its deployment's name (without the flow's ``exchange/``)
    names: dict[str, str] = field(default_factory=dict)


def config_parameter(settings: Settings) -> str | None:
    """The configuration path a deployment passes to its runs (absolute), if any."""
    return str(settings.config_path.resolve()) if settings.config_path is not None else None


def plan(settings: Settings, *, work_pool: str | None = None) -> Deployments:
    """One deployment of ``exchange`` per scheduled partner (see the module docstring)."""
    from edi.flows.exchange import exchange
    from edi.partners import load_partners

    settings.table("flows")  # a bad [flows] table is refused before anything is deployed
    config = config_parameter(settings)
    out = Deployments()
    for name, p in load_partners(settings).items():
        if p.schedule is None:
            out.unscheduled.append(name)
            continue
        out.schedules[name] = (p.schedule, p.timezone)
        out.names[name] = deployment_name(name, work_pool=work_pool)
        out.deployments.append(
            exchange.to_deployment(
                name=out.names[name],
                schedules=[CronSchedule(cron=p.schedule, timezone=p.timezone)],
                parameters={"partner": name, "config": config},
                description=f"Exchange with partner {name}: cron {p.schedule!r} in {p.timezone}.",
                tags=[*TAGS, f"partner:{name}"],
                work_pool_name=work_pool,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return out


def prefect_yaml(made: Deployments, work_pool: str, source: str | None) -> str:
    """The deployments of ``made`` as a ``prefect.yaml`` for ``prefect deploy --all``.

    Each entry is read from the deployment object ``edi deploy`` registers, so both give
    the same deployments; there is no build, push or pull step (the flow is imported by
    module path from the installed edi)."""
    import yaml
    from prefect import __version__ as prefect_version

    entries: list[dict[str, Any]] = []
    for deployment in made.deployments:
        entries.append(
            {
                "name": deployment.name,
                "entrypoint": deployment.entrypoint,
                "description": deployment.description,
                "tags": list(deployment.tags),
                "parameters": dict(deployment.parameters),
                "schedules": [
                    {"cron": s.schedule.cron, "timezone": s.schedule.timezone, "active": True}
                    for s in deployment.schedules
                ],
                "work_pool": {"name": work_pool},
            }
        )
    document = {
        "name": "edi",
        "prefect-version": prefect_version,
        "build": None,
        "push": None,
        # empty, not absent: no pull step (Prefect would add one that changes into the
        # folder `prefect deploy` ran in, a folder the workers' machines need not have)
        "pull": [],
        "deployments": entries,
    }
    made_from = f" from {source}" if source else ""
    head = (
        f"# The partners' scheduled exchanges{made_from}, made by "
        f"`edi deploy --work-pool {work_pool} --print-prefect-yaml`:\n"
        f"# make it again after a change of schedule; register with `prefect deploy --all`\n"
        f"# (the work pool must exist: prefect work-pool create {work_pool} --type process).\n"
    )
    return head + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def api_url() -> str | None:
    """The Prefect API this process talks to (environment or Prefect profile), if any."""
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


def serve(deployments: list[Any], *, limit: int | None = None) -> None:
    """Serve the deployments from this process until interrupted (``prefect.serve``)."""
    import prefect

    prefect.serve(*deployments, limit=limit, print_starting_message=False)


def ensure_work_pool(name: str) -> bool:
    """Create the work pool (type ``process``) when it does not exist; True when created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
            return True
    if pool.type != "process":
        raise ConfigError(
            f"work pool {name!r} is of type {pool.type!r}: edi's deployments need a process pool"
        )
    return False


def deploy(deployments: list[Any], work_pool: str) -> list[str]:
    """Register the deployments with ``work_pool``; their ids."""
    import prefect

    ids: Any = prefect.deploy(
        *deployments,
        work_pool_name=work_pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    return [str(i) for i in ids]


__all__ = [
    "Deployments",
    "api_url",
    "config_parameter",
    "deploy",
    "deployment_name",
    "ensure_work_pool",
    "plan",
    "prefect_yaml",
    "serve",
]
