"""The Prefect automation that tells operators when a scheduled exchange needs them.

``edi deploy`` makes (or updates) one automation per work pool, ``edi-exchange-<pool>``:
it fires when a run of one of that pool's exchange deployments ends ``Failed``,
``Crashed`` or ``Completed with rejections``, and sends a notification through the block
named by ``[flows] notify_block`` (``<block type slug>/<block name>``, a block made in the
UI or with ``prefect block create``: Slack, a custom webhook, PagerDuty, email...).

The notification names the run (partner, date, counts: ``acme 2026-12-05 02:00 UTC: 1
refused, 7 stored``), its state and the state's message (the partner and the counts, or
an error naming files and codes): never a value from a file. Unlike the ``[flows]
on_failure`` hook, it is run by the Prefect server, so it also reports a run whose
process was killed (Crashed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from edi.errors import ConfigError
from edi.flows.exchange import WITH_REJECTIONS

#: the final states of a run that notify
NOTIFYING_STATES = ("Failed", "Crashed", WITH_REJECTIONS)

SUBJECT = "edi: {{ flow_run.name }} ended {{ flow_run.state.name }}"
BODY = (
    "Exchange run {{ flow_run.name }} ({{ flow_run.id }}) of deployment "
    "{{ deployment.name }} ended {{ flow_run.state.name }}: {{ flow_run.state.message }}"
)


def automation_name(work_pool: str) -> str:
    """``edi-exchange-<pool>``: the automation of one work pool's deployments."""
    return f"edi-exchange-{work_pool}"


def notify_block_id(block: str) -> UUID:
    """The id of the notification block ``<type slug>/<name>``; ConfigError when missing."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    slug, _, name = block.partition("/")
    try:
        with get_client(sync_client=True) as client:
            return UUID(str(client.read_block_document_by_name(name, slug).id))
    except ObjectNotFound:
        raise ConfigError(
            f"[flows] notify_block: no Prefect block {block!r} (make it in the UI or with "
            "prefect block create)"
        ) from None


def automation(work_pool: str, deployment_ids: list[str], block_id: UUID) -> Any:
    """The automation (not yet saved) for these deployments, sending through the block."""
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=automation_name(work_pool),
        description=(
            f"An edi exchange of work pool {work_pool} ended "
            + ", ".join(NOTIFYING_STATES)
            + ". Made by edi deploy; edited there, not in the UI."
        ),
        trigger=EventTrigger(
            expect={f"prefect.flow-run.{state}" for state in NOTIFYING_STATES},
            match_related={
                "prefect.resource.role": "deployment",
                "prefect.resource.id": [f"prefect.deployment.{i}" for i in deployment_ids],
            },
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
    )


def ensure_automation(work_pool: str, deployment_ids: list[str], block_id: UUID) -> str:
    """Create the pool's automation, or update it in place; its id."""
    from prefect.client.orchestration import get_client

    wanted = automation(work_pool, deployment_ids, block_id)
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(wanted.name)
        if existing:
            client.update_automation(existing[0].id, wanted)
            return str(existing[0].id)
        return str(client.create_automation(wanted))


__all__ = [
    "BODY",
    "NOTIFYING_STATES",
    "SUBJECT",
    "automation",
    "automation_name",
    "ensure_automation",
    "notify_block_id",
]
