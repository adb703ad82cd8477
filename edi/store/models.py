"""The store's tables: files and their envelopes, acknowledgments, and normalized records.

Every row id is a UUID made before insert (field encryption binds it). Record tables
keep the fields analysts filter and sum on as plain columns (codes, amounts, NPIs,
counts), the rest of the non-PHI fields in ``data`` (JSON), and every PHI field in
``phi``: one AES-256-GCM value per row (:mod:`edi.store.crypto`) bound to the table,
the column and the row id. Lookups by identifier go through the ``*_bidx`` blind-index
columns (HMAC-SHA256 of the normalized value with a key per index); dates of a person
(service, coverage) are PHI too, so a date range is looked up through a blind index by
day and one by month (:mod:`edi.query.dates`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from edi.store.base import Base

#: amounts: X12 R elements are at most 18 digits; cents kept exactly
AMOUNT = Numeric(20, 4)

#: file statuses
RECEIVED, STORED, REJECTED, DUPLICATE = "received", "stored", "rejected", "duplicate"
#: a file run again (``edi files reprocess``): its row and envelopes stay as history, its
#: records were replaced by those of the file row named in ``superseded_by``
SUPERSEDED = "superseded"
#: a claim's intake (``claims.intake``): accepted or rejected by its set's claim-level edits
CLAIM_ACCEPTED, CLAIM_REJECTED = "accepted", "rejected"
#: a claim a later one replaced (CLM05-3 7) or voided (8)
CLAIM_REPLACED, CLAIM_VOIDED = "replaced", "voided"
#: the statuses a file can be reprocessed (superseded) from
REPROCESSABLE = (STORED, REJECTED)


#: the rows the sha256 uniqueness covers (a partial unique index, on SQLite and PostgreSQL)
CURRENT = "status <> 'superseded'"


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def _id() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


def _bidx() -> Mapped[str | None]:
    """A blind-index column: the hex HMAC-SHA256 of a PHI value, indexed for lookups."""
    return mapped_column(String(64), index=True)


class File(Base):
    """One file as received: checksums, sizes, status, the encrypted original's place."""

    __tablename__ = "files"

    id: Mapped[str] = _id()
    partner: Mapped[str | None] = mapped_column(String(100), index=True)
    original_name: Mapped[str] = mapped_column(String(500))
    #: sha256 of the bytes as received (before decryption, when the file was encrypted)
    received_sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: sha256 of the X12 plaintext: a second copy of the same bytes is a duplicate (unique
    #: among the rows not superseded: a reprocessed file's new row has its sha256 too)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: codes and positions of what was wrong, never a value
    error_summary: Mapped[str | None] = mapped_column(Text)
    sets_accepted: Mapped[int] = mapped_column(Integer, default=0)
    sets_rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: the encrypted original (edi.store.crypto.encrypt_file), relative to the archive dir
    archive_name: Mapped[str | None] = mapped_column(String(200))
    archive_key_id: Mapped[str | None] = mapped_column(String(64))
    #: the earlier row of the same file this one replaced (``edi files reprocess``)
    supersedes: Mapped[str | None] = mapped_column(ForeignKey("files.id"), index=True)
    #: the newer row that replaced this one (status ``superseded``)
    superseded_by: Mapped[str | None] = mapped_column(ForeignKey("files.id"), index=True)

    __table_args__ = (
        Index(
            "uq_files_sha256_current",
            "sha256",
            unique=True,
            sqlite_where=text(CURRENT),
            postgresql_where=text(CURRENT),
        ),
    )


class InterchangeRow(Base):
    __tablename__ = "interchanges"

    id: Mapped[str] = _id()
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    sender_qualifier: Mapped[str] = mapped_column(String(2))
    sender_id: Mapped[str] = mapped_column(String(15))
    receiver_qualifier: Mapped[str] = mapped_column(String(2))
    receiver_id: Mapped[str] = mapped_column(String(15))
    control: Mapped[str] = mapped_column(String(9))
    date: Mapped[str] = mapped_column(String(6))
    time: Mapped[str] = mapped_column(String(4))
    version: Mapped[str] = mapped_column(String(5))
    usage: Mapped[str] = mapped_column(String(1))
    ta1_code: Mapped[str] = mapped_column(String(1))
    ta1_note: Mapped[str] = mapped_column(String(3))

    __table_args__ = (Index("ix_interchanges_sender_control", "sender_id", "control"),)


class GroupRow(Base):
    __tablename__ = "groups"

    id: Mapped[str] = _id()
    interchange_id: Mapped[str] = mapped_column(ForeignKey("interchanges.id"), index=True)
    functional_id: Mapped[str] = mapped_column(String(2))
    control: Mapped[str] = mapped_column(String(9))
    version: Mapped[str] = mapped_column(String(12))
    ack_code: Mapped[str] = mapped_column(String(1))
    set_count: Mapped[int] = mapped_column(Integer)


class TransactionSetRow(Base):
    __tablename__ = "transaction_sets"

    id: Mapped[str] = _id()
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id"), index=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    set_id: Mapped[str] = mapped_column(String(3))
    control: Mapped[str] = mapped_column(String(9))
    version: Mapped[str] = mapped_column(String(35))
    kind: Mapped[str | None] = mapped_column(String(4), index=True)
    ack_code: Mapped[str] = mapped_column(String(1))
    error_count: Mapped[int] = mapped_column(Integer)
    #: JSON list of {code, segment, position, element, loop}: positions and codes only
    errors: Mapped[str | None] = mapped_column(Text)


class Acknowledgment(Base):
    """A TA1, 999 or 997 we wrote; its text (which echoes partner ids) is kept encrypted."""

    __tablename__ = "acknowledgments"

    id: Mapped[str] = _id()
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    answers_interchange: Mapped[str] = mapped_column(String(9))
    answers_group: Mapped[str | None] = mapped_column(String(9))
    #: our ISA13, and our GS06 (a 999 or 997): what the partner's answer to it names
    control: Mapped[str] = mapped_column(String(9), index=True)
    group_control: Mapped[str | None] = mapped_column(String(9), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: when and where the exchange put it in the partner's outbound folder (None: not sent)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_to: Mapped[str | None] = mapped_column(String(500))
    #: kept back by the partner's ``ack_999 = "errors"`` (an accepting 999): not missing
    withheld: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: a 277CA: the 837 transaction set it answers (several sets of a group share the
    #: control numbers above)
    set_row_id: Mapped[str | None] = mapped_column(String(36), index=True)


class ReceivedAcknowledgment(Base):
    """A TA1, 999 or 997 a partner sent, as validated: what it answers (TA101, or AK102)
    with its codes, and the acknowledgment of ours it answers when it is one."""

    __tablename__ = "received_acknowledgments"

    id: Mapped[str] = _id()
    #: the file that carried it, and the ISA13 of its interchange there
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    interchange: Mapped[str] = mapped_column(String(9))
    kind: Mapped[str] = mapped_column(String(3))
    #: TA101 of a TA1; AK102 (and ST02) of a 999 or 997
    answers_interchange: Mapped[str | None] = mapped_column(String(9))
    answers_group: Mapped[str | None] = mapped_column(String(9))
    set_control: Mapped[str | None] = mapped_column(String(9))
    #: TA104 or AK901, and TA105 or AK905-AK909 (space-separated)
    code: Mapped[str] = mapped_column(String(1))
    notes: Mapped[str] = mapped_column(String(40))
    acknowledgment_id: Mapped[str | None] = mapped_column(
        ForeignKey("acknowledgments.id"), index=True
    )


# -- normalized records ---------------------------------------------------------------------


class _Record:
    """Columns every record table has."""

    id: Mapped[str] = _id()
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    set_row_id: Mapped[str] = mapped_column(ForeignKey("transaction_sets.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    parent_ordinal: Mapped[int | None] = mapped_column(Integer)
    #: non-PHI fields not in a column of their own (JSON)
    data: Mapped[str] = mapped_column(Text)
    #: every PHI field, AES-256-GCM (edi.store.crypto.FieldCipher, column "phi")
    phi: Mapped[bytes | None] = mapped_column(LargeBinary)


class ClaimRow(_Record, Base):
    __tablename__ = "claims"

    kind: Mapped[str] = mapped_column(String(4), index=True)
    payer_id: Mapped[str | None] = mapped_column(String(80), index=True)
    billing_npi: Mapped[str | None] = mapped_column(String(80), index=True)
    total_charge: Mapped[Decimal | None] = mapped_column(AMOUNT, index=True)
    facility_code: Mapped[str | None] = mapped_column(String(2))
    frequency_code: Mapped[str | None] = mapped_column(String(1))
    line_count: Mapped[int] = mapped_column(Integer, index=True)
    patient_control_number_bidx: Mapped[str | None] = _bidx()
    member_id_bidx: Mapped[str | None] = _bidx()
    payer_claim_control_number_bidx: Mapped[str | None] = _bidx()
    #: the claim's first date of service (or statement date), by day and by month
    service_date_bidx: Mapped[str | None] = _bidx()
    service_month_bidx: Mapped[str | None] = _bidx()
    #: ``accepted`` or ``rejected`` by its set's claim-level edits (the 277CA's verdict)
    intake: Mapped[str] = mapped_column(
        String(10), index=True, default=CLAIM_ACCEPTED, server_default=CLAIM_ACCEPTED
    )
    #: JSON list of the claim's findings (edit, code, SNIP type, severity, segment, loop,
    #: message): codes and positions only, never a value
    edits: Mapped[str | None] = mapped_column(Text)
    #: the blind index of the claim's identity (``Claim.duplicate_key``): exact duplicates
    claim_key_bidx: Mapped[str | None] = _bidx()
    #: the stored claim this one repeats (rejected or flagged as its exact duplicate)
    duplicate_of: Mapped[str | None] = mapped_column(String(36), index=True)
    #: the later claim (frequency 7 or 8) that replaced or voided this one
    replaced_by: Mapped[str | None] = mapped_column(String(36))
    #: the blind index of what the claim is about (``Claim.suspect_identity``: patient,
    #: billing provider, dates, procedures; no CLM01, no charge): suspected duplicates
    suspect_key_bidx: Mapped[str | None] = _bidx()
    #: the stored claim of another file this one may repeat under another CLM01 (flagged)
    suspect_of: Mapped[str | None] = mapped_column(String(36), index=True)


#: the events of a claim's history (``claim_events.event``), in the order they can come
CLAIM_EVENTS = (
    "received",
    "accepted",
    "rejected",
    "duplicate",
    "suspected",
    "answered",
    "sent",
    "remitted",
    "replaced",
    "voided",
)


class ClaimEvent(Base):
    """One event of a stored claim's history that no other row records, written in the
    transaction that made it so (:mod:`edi.store.claim_events`).

    ``file_id`` is the file that caused it (the 837 received, the 835 that remitted it, the
    837 whose claim replaced it); ``detail`` is JSON of codes and ids, never a value."""

    __tablename__ = "claim_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str | None] = mapped_column(Text)


class ServiceLineRow(_Record, Base):
    __tablename__ = "service_lines"

    claim_id: Mapped[str | None] = mapped_column(ForeignKey("claims.id"), index=True)
    line_number: Mapped[int | None] = mapped_column(Integer)
    procedure_code: Mapped[str | None] = mapped_column(String(48))
    revenue_code: Mapped[str | None] = mapped_column(String(48))
    charge: Mapped[Decimal | None] = mapped_column(AMOUNT)
    units: Mapped[Decimal | None] = mapped_column(AMOUNT)
    place_of_service: Mapped[str | None] = mapped_column(String(2))
    service_date_bidx: Mapped[str | None] = _bidx()
    service_month_bidx: Mapped[str | None] = _bidx()


class _BankPayment:
    """The columns of a payment's BPR and TRN, an 835's (:class:`PaymentRow`) or an
    820's (:class:`PremiumPaymentRow`), and its payer."""

    amount: Mapped[Decimal | None] = mapped_column(AMOUNT, index=True)
    credit_debit: Mapped[str | None] = mapped_column(String(1))
    method: Mapped[str | None] = mapped_column(String(3))
    trace_number: Mapped[str | None] = mapped_column(String(50), index=True)
    payment_date: Mapped[str | None] = mapped_column(String(10), index=True)
    payer_id: Mapped[str | None] = mapped_column(String(80), index=True)


class PaymentRow(_BankPayment, _Record, Base):
    __tablename__ = "payments"

    payee_npi: Mapped[str | None] = mapped_column(String(80), index=True)
    claim_count: Mapped[int] = mapped_column(Integer)
    balanced: Mapped[bool | None] = mapped_column(Boolean)


class ClaimPaymentRow(_Record, Base):
    __tablename__ = "claim_payments"

    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(2), index=True)
    charge: Mapped[Decimal | None] = mapped_column(AMOUNT)
    paid: Mapped[Decimal | None] = mapped_column(AMOUNT)
    patient_responsibility: Mapped[Decimal | None] = mapped_column(AMOUNT)
    filing_indicator: Mapped[str | None] = mapped_column(String(2))
    patient_control_number_bidx: Mapped[str | None] = _bidx()
    payer_claim_control_number_bidx: Mapped[str | None] = _bidx()


class ServicePaymentRow(_Record, Base):
    __tablename__ = "service_payments"

    claim_payment_id: Mapped[str | None] = mapped_column(
        ForeignKey("claim_payments.id"), index=True
    )
    procedure_code: Mapped[str | None] = mapped_column(String(48))
    charge: Mapped[Decimal | None] = mapped_column(AMOUNT)
    paid: Mapped[Decimal | None] = mapped_column(AMOUNT)
    units: Mapped[Decimal | None] = mapped_column(AMOUNT)


class EnrollmentRow(_Record, Base):
    __tablename__ = "enrollments"

    action: Mapped[str | None] = mapped_column(String(2))
    purpose: Mapped[str | None] = mapped_column(String(2))
    sponsor_id: Mapped[str | None] = mapped_column(String(80), index=True)
    payer_id: Mapped[str | None] = mapped_column(String(80), index=True)
    member_count: Mapped[int] = mapped_column(Integer)


class MemberRow(_Record, Base):
    __tablename__ = "members"

    subscriber_ordinal: Mapped[int | None] = mapped_column(Integer)
    is_subscriber: Mapped[bool | None] = mapped_column(Boolean)
    relationship: Mapped[str | None] = mapped_column(String(2), index=True)
    maintenance_type: Mapped[str | None] = mapped_column(String(3), index=True)
    maintenance_reason: Mapped[str | None] = mapped_column(String(3))
    benefit_status: Mapped[str | None] = mapped_column(String(1))
    member_id_bidx: Mapped[str | None] = _bidx()
    subscriber_id_bidx: Mapped[str | None] = _bidx()
    ssn_bidx: Mapped[str | None] = _bidx()


class CoverageRow(_Record, Base):
    __tablename__ = "coverages"

    member_row_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"), index=True)
    maintenance_type: Mapped[str | None] = mapped_column(String(3))
    insurance_line: Mapped[str | None] = mapped_column(String(3), index=True)
    coverage_level: Mapped[str | None] = mapped_column(String(3))
    #: the coverage's effective (begin) date, by day and by month
    begin_date_bidx: Mapped[str | None] = _bidx()
    begin_month_bidx: Mapped[str | None] = _bidx()


class PremiumPaymentRow(_BankPayment, _Record, Base):
    """An 820 premium payment; its details share its ``set_row_id``."""

    __tablename__ = "premium_payments"

    receiver_id: Mapped[str | None] = mapped_column(String(80), index=True)
    #: the group's coverage period of the header (DTM*582), not a person's
    coverage_begin: Mapped[str | None] = mapped_column(String(10))
    coverage_end: Mapped[str | None] = mapped_column(String(10))
    detail_count: Mapped[int] = mapped_column(Integer)
    balanced: Mapped[bool | None] = mapped_column(Boolean)


class PremiumDetailRow(_Record, Base):
    """One 820 ENT loop: an organization summary or an individual's remittance."""

    __tablename__ = "premium_details"

    entity_code: Mapped[str | None] = mapped_column(String(3), index=True)
    amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    member_id_bidx: Mapped[str | None] = _bidx()


# -- enrollment as state (edi.store.member_state) -------------------------------------------

#: a member's or coverage's state
ACTIVE_STATE, TERMINATED_STATE = "active", "terminated"


class MemberState(Base):
    """The current state of one enrolled member of a sponsor, built by applying 834s in
    file order (:mod:`edi.pipeline.member_state`).

    Keyed by the sponsor (1000A N104, not PHI) and the member's blind index
    (``member_key``: the subscriber id REF*0F, INS02 and the member's own id); ``phi``
    holds the member's current demographics and eligibility dates, encrypted.
    ``fingerprint`` is the keyed digest of the 834 member (unit) last applied to it
    without findings (:mod:`edi.pipeline.enrollment_units`): sent again alike, it changes
    nothing."""

    __tablename__ = "member_states"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "member_key_bidx", name="uq_member_states_key"),
    )

    id: Mapped[str] = _id()
    sponsor_id: Mapped[str] = mapped_column(String(80), index=True)
    subscriber_key_bidx: Mapped[str] = mapped_column(String(64), index=True)
    member_key_bidx: Mapped[str] = mapped_column(String(64))
    relationship: Mapped[str | None] = mapped_column(String(2))
    is_subscriber: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(12), index=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    phi: Mapped[bytes] = mapped_column(LargeBinary)


class CoverageState(Base):
    """The current state of one coverage (HD) of a member: its insurance line (HD03),
    level and plan in the clear, its begin and end dates (DTP*348/349) in ``phi``."""

    __tablename__ = "coverage_states"

    id: Mapped[str] = _id()
    member_state_id: Mapped[str] = mapped_column(ForeignKey("member_states.id"), index=True)
    insurance_line: Mapped[str | None] = mapped_column(String(3))
    coverage_level: Mapped[str | None] = mapped_column(String(3))
    plan: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12))
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    phi: Mapped[bytes] = mapped_column(LargeBinary)


class MemberChange(Base):
    """One change applied to (or refused for) a member or one of its coverages: the
    maintenance type (INS03 or HD01) and reason, where it came from (file, segment
    ordinal, received time), what it found (``findings``: codes, JSON), the names of the
    fields it changed (JSON) and, in ``phi``, the effective dates sent (DTP*303, 356,
    357, 348, 349) and the state after it: the state as of any effective date and any
    received time is read from these rows."""

    __tablename__ = "member_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    #: the member's state (none for a refused change of a member not on file: the
    #: sponsor and member key say whose it was)
    member_state_id: Mapped[str | None] = mapped_column(ForeignKey("member_states.id"), index=True)
    sponsor_id: Mapped[str] = mapped_column(String(80))
    member_key_bidx: Mapped[str] = mapped_column(String(64), index=True)
    coverage_state_id: Mapped[str | None] = mapped_column(String(36))
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: "member" or "coverage"
    level: Mapped[str] = mapped_column(String(8))
    maintenance_type: Mapped[str | None] = mapped_column(String(3))
    maintenance_reason: Mapped[str | None] = mapped_column(String(3))
    insurance_line: Mapped[str | None] = mapped_column(String(3))
    #: "added", "changed", "terminated", "reinstated", "rejected"
    outcome: Mapped[str] = mapped_column(String(12))
    findings: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str | None] = mapped_column(Text)
    phi: Mapped[bytes] = mapped_column(LargeBinary)


class AbsentMember(Base):
    """A member of the current state a full file did not name: a termination candidate,
    ``terminated`` when the partner's policy says so (``full_file_terminations``)."""

    __tablename__ = "absent_members"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    member_state_id: Mapped[str] = mapped_column(ForeignKey("member_states.id"))
    terminated: Mapped[bool] = mapped_column(Boolean)


# -- leases on remote files (edi.store.leases) -----------------------------------------------

#: lease states
LEASED, DONE, FAILED = "leased", "done", "failed"


class FileLease(Base):
    """A worker's lease on one remote file, taken before the file is pulled.

    The remote file is known by its listing (partner, name, size, mtime): the same name
    with another size or mtime is another file. A lease is ``leased`` until
    ``expires_at`` (a dead worker's lease can then be taken over), ``done`` once the file
    is stored and archived (never leased again), or ``failed`` (tried again on the next
    run). ``note`` holds codes and messages, never a value from a file.
    """

    __tablename__ = "file_leases"

    id: Mapped[str] = _id()
    partner: Mapped[str] = mapped_column(String(100))
    remote_name: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    #: the listing's mtime, in whole seconds
    mtime: Mapped[int] = mapped_column(BigInteger)
    #: who holds it: ``host:pid``, then ``/`` and the flow run id when a flow runs
    worker: Mapped[str] = mapped_column(String(300))
    leased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10), index=True)
    #: how many times the file was leased (1 for the first worker)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    #: the last step done under a lease (pulled, stored, acknowledged, archived), kept
    #: across a take-over so that the next worker finishes what the last one began
    step: Mapped[str | None] = mapped_column(String(20))
    #: the stored file, once ingested (or the stored file it duplicates)
    file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint(
            "partner", "remote_name", "size", "mtime", name="uq_file_leases_remote_file"
        ),
    )


class ControlNumber(Base):
    """The last control number handed out in one series (``ack``: the ISA13 and GS06 of
    the acknowledgments we send), shared by every worker of the store."""

    __tablename__ = "control_numbers"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)


#: record type -> its table class
RECORD_TABLES: dict[str, type[Base]] = {
    "claim": ClaimRow,
    "service_line": ServiceLineRow,
    "payment": PaymentRow,
    "claim_payment": ClaimPaymentRow,
    "service_payment": ServicePaymentRow,
    "enrollment": EnrollmentRow,
    "member": MemberRow,
    "coverage": CoverageRow,
    "premium_payment": PremiumPaymentRow,
    "premium_detail": PremiumDetailRow,
}

__all__ = [
    "DONE",
    "DUPLICATE",
    "FAILED",
    "LEASED",
    "RECEIVED",
    "RECORD_TABLES",
    "REJECTED",
    "REPROCESSABLE",
    "STORED",
    "SUPERSEDED",
    "Acknowledgment",
    "CLAIM_EVENTS",
    "ClaimEvent",
    "ClaimPaymentRow",
    "ClaimRow",
    "ControlNumber",
    "CoverageRow",
    "EnrollmentRow",
    "File",
    "FileLease",
    "GroupRow",
    "InterchangeRow",
    "MemberRow",
    "PaymentRow",
    "PremiumDetailRow",
    "PremiumPaymentRow",
    "ServiceLineRow",
    "ServicePaymentRow",
    "TransactionSetRow",
    "new_id",
]
