"""The one place that builds the pipeline's objects from the settings.

Every entry point (``edi ingest``, ``edi pull``, ``edi files reprocess``, the Prefect
flows) asks here for its :class:`~edi.pipeline.context.Wiring` and a partner's
:class:`~edi.pipeline.context.Policy`, so they all run with the same store, key ring,
audit log, archive folder, control-number series and ingest settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edi.audit.chain import AuditLog, Operator
from edi.audit.configured import audit_log as configured_audit_log
from edi.config import Settings
from edi.errors import ConfigError
from edi.parsers.fields import FieldMapCatalog
from edi.partners import Partner, our_pgp
from edi.pipeline.context import AuditSink, Policy, Progress, Wiring
from edi.pipeline.transfer import Transfer
from edi.store.keys import KeyRing
from edi.store.sequence import StoreControlNumbers
from edi.store.session import Store


def audit_log(settings: Settings, store: Store) -> AuditLog:
    """The store's audit log, signing checkpoints as ``[audit]`` says
    (:func:`edi.audit.configured.audit_log`)."""
    return configured_audit_log(settings, store.engine, store.ring)


def wiring(
    settings: Settings,
    store: Store,
    *,
    operator: Operator | None,
    audit: AuditSink | None = None,
    archive_dir: Path | None = None,
    numbers: Callable[[], str] | None = None,
    progress: Progress | None = None,
    field_maps: FieldMapCatalog | None = None,
    workers: int | None = None,
) -> Wiring:
    """The pipeline's objects on ``store`` as the configuration says: its audit log, the
    archive folder under ``EDI_HOME``, the acknowledgments' control numbers from the
    store's series (shared by every worker; it starts after the counter file under
    ``EDI_HOME`` that stores without it used; the log signs checkpoints as ``[audit]
    checkpoint_every`` says) and the record workers (``[ingest] workers``). A dry run gives its
    own audit log, archive folder and numbers."""
    if store.ring is None:
        raise ConfigError("the pipeline needs the store's key ring")
    return Wiring(
        store.engine,
        store.ring,
        audit or audit_log(settings, store),
        archive_dir or settings.archive_dir,
        numbers
        or StoreControlNumbers(
            store.engine, legacy_file=settings.home / "ack-control-number"
        ).next_isa,
        operator=operator,
        workers=workers if workers is not None else settings.ingest.worker_count,
        field_maps=field_maps,
        progress=progress,
        work_dir=settings.home,
    )


def transfer(
    settings: Settings,
    partner: Partner,
    audit: AuditLog,
    *,
    ring: KeyRing | None,
    flow_run_id: str | None = None,
) -> Transfer:
    """The transfer steps for ``partner``: its remote (not connected yet), our OpenPGP key
    (``[pgp]``), staging under ``EDI_HOME`` (kept files sealed with ``ring``); every step
    audited in ``audit``."""
    return Transfer(
        partner,
        partner.remote(),
        audit,
        settings.staging_dir,
        ring=ring,
        our_pgp=our_pgp(settings),
        flow_run_id=flow_run_id,
    )


def policy(
    partner: Partner | None,
    *,
    name: str | None = None,
    allow_duplicate_interchange: bool = False,
) -> Policy:
    """A partner's policy (``[partners.NAME]``); without one, any set and guide is taken,
    under ``name`` when given. ``allow_duplicate_interchange`` allows them whatever the
    partner's setting (a command-line flag)."""
    if partner is None:
        return Policy(name, allow_duplicate_interchange=allow_duplicate_interchange)
    return Policy(
        partner.name,
        partner.sets,
        partner.versions,
        allow_duplicate_interchange or partner.allow_duplicate_interchange,
        partner.ack_999,
        partner.edits,
        partner.split_claims,
        partner.ack_277,
        partner.duplicates,
        partner.rules,
        partner.enrollment,
        partner.full_file_terminations,
        partner.enrollment_errors,
    )


__all__ = ["audit_log", "policy", "transfer", "wiring"]
