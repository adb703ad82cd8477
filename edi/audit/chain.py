"""The hash-chained audit log: append-only entries, Ed25519-signed checkpoints, verification.

Every entry is a row of ``audit_log`` (:mod:`edi.audit.tables`): ``seq`` (1, 2, 3...
without gaps), ``at`` (UTC, ISO 8601 text with microseconds), ``operator`` (the OS user,
then ``flow_run=``/``partner=``/``remote_user=`` when known), ``action`` (``file.stored``,
``file.rejected``, ``file.duplicate``, ``keys.rotated``, ``audit.checkpoint``...),
``object`` (JSON: file id, sha256, sizes, partner, counts; never PHI), ``outcome``,
``prev_hash`` and ``entry_hash``.

The hash rule (re-check it with any tool)
-----------------------------------------

``canonical entry``
    the JSON object with exactly the keys ``action``, ``at``, ``object``, ``operator``,
    ``outcome`` and ``seq``, keys sorted, no whitespace (separators ``,`` and ``:``),
    characters outside ASCII escaped as ``\\uXXXX``, encoded as ASCII bytes. ``object`` is
    embedded as a JSON value, not a string; the ``object`` column holds it in this same
    canonical form, so the canonical entry is also the plain concatenation
    ``{"action":A,"at":T,"object":<object column>,"operator":O,"outcome":R,"seq":N}``
    with A, T, O, R as JSON strings. Object values are strings, integers, booleans,
    null, lists and objects; floats are refused (tools print them differently).
``entry_hash``
    ``SHA-256(prev_hash bytes || canonical entry bytes)``, as 64 lowercase hex digits.
``prev_hash``
    32 zero bytes (64 ``0`` digits) for entry 1; the ``entry_hash`` of entry n-1 after.

In Python::

    canon = json.dumps({"seq": seq, "at": at, "operator": operator, "action": action,
                        "object": json.loads(obj), "outcome": outcome},
                       sort_keys=True, separators=(",", ":")).encode("ascii")
    assert hashlib.sha256(bytes.fromhex(prev_hash) + canon).hexdigest() == entry_hash

With the shell tools, for entry 7 of the embedded SQLite store::

    sqlite3 -json edi.sqlite3 'SELECT * FROM audit_log WHERE seq = 7' | jq -jcS '.[0]
      | {action, at, object: (.object | fromjson), operator, outcome, seq}' > entry.json
    { sqlite3 edi.sqlite3 'SELECT prev_hash FROM audit_log WHERE seq = 7' | xxd -r -p
      cat entry.json; } | sha256sum          # = entry_hash of entry 7

jq prints characters outside ASCII unescaped, so for an entry holding any (a file name,
say) use the Python form.

Appends are serialized across processes: each locks the one row of ``audit_head``
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the store's engines begin every
transaction with ``BEGIN IMMEDIATE``, see :mod:`edi.store.db`), takes the next ``seq``
from it and moves it on. Given ``connection=``, an append joins the caller's transaction,
so an ingest's rows and its audit entry commit or roll back together; a rolled-back
append leaves no entry and no gap. The head also records the last entry, so deleting
entries from the end is noticed too.

Checkpoints
-----------

A checkpoint first appends an ``audit.checkpoint`` entry, then signs that entry with
Ed25519; the signed message is the canonical JSON (same rules) of
``{"at", "entry_hash", "format": "edi.audit.checkpoint/1", "key_id", "seq"}``. Its row in
``audit_checkpoints`` keeps the raw public key and the signature (hex); ``export_checkpoint``
writes the latest one as a JSON file to keep off-site. To check an exported one with
OpenSSL 3 (``302a...2100`` is the DER prefix of an Ed25519 public key)::

    printf '302a300506032b6570032100%s' "$(jq -r .public_key exported.json)" | xxd -r -p \\
      | openssl pkey -pubin -inform DER -out pub.pem
    jq -j .signature exported.json | xxd -r -p > sig.bin
    jq -jcS '{at, entry_hash, format, key_id, seq}' exported.json > message.json
    openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in message.json -sigfile sig.bin

What each check catches: an edited entry fails its own hash; a deleted entry leaves a gap
in ``seq``; swapped or reordered entries fail ``prev_hash``; entries cut from the end
disagree with the head. Someone who can write the database can rebuild the whole chain
after an edit, head included: only a checkpoint signed earlier catches that, and only
when its public key is checked against trusted keys (``verify(trusted_keys=...)``, e.g. the
key ring's) or an exported checkpoint kept elsewhere (``verify(anchors=...)``), since a
forger can sign new checkpoints with a key of their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from edi.access import os_user
from edi.atomic import write_atomic
from edi.audit.selection import EntrySelection
from edi.audit.tables import AuditHead, AuditRow, CheckpointRow
from edi.errors import AuditError

#: ``prev_hash`` of entry 1: 32 zero bytes
GENESIS = "0" * 64
CHECKPOINT_FORMAT = "edi.audit.checkpoint/1"
CHECKPOINT_ACTION = "audit.checkpoint"
#: entries read per query when walking the chain
PAGE = 1000
#: the largest canonical object accepted, in bytes
MAX_OBJECT_BYTES = 64 * 1024

_LOG: Table = AuditRow.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_CHECKPOINTS: Table = CheckpointRow.__table__  # type: ignore[assignment]

# statements of the append path, built once (building them costs more than running them)
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == 1).with_for_update()
_READ_TAIL = select(_LOG.c.seq, _LOG.c.entry_hash).order_by(_LOG.c.seq.desc()).limit(1)
_INSERT_ENTRY = insert(_LOG)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)
_INSERT_CHECKPOINT = insert(_CHECKPOINTS)

_ACTION = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_PRINTABLE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_TOKEN = re.compile(r"[^\s=]+")
_HEX64 = re.compile(r"[0-9a-f]{64}")


# --- canonical forms ---------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only: the one text form hashed and signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_entry(
    seq: int, at: str, operator: str, action: str, obj: Mapping[str, Any], outcome: str
) -> bytes:
    """The bytes an entry's hash covers (see the module docstring)."""
    return _canonical_bytes(
        action=action, at=at, object=obj, operator=operator, outcome=outcome, seq=seq
    )


def entry_hash(prev_hash: str, canonical: bytes) -> str:
    """``SHA-256(prev_hash bytes || canonical entry)`` as lowercase hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()


def checkpoint_message(seq: int, entry_hash: str, at: str, key_id: str) -> bytes:
    """The bytes a checkpoint's Ed25519 signature covers."""
    return _canonical_bytes(
        at=at, entry_hash=entry_hash, format=CHECKPOINT_FORMAT, key_id=key_id, seq=seq
    )


def _canonical_bytes(**fields: Any) -> bytes:
    """The canonical JSON of ``fields`` as the bytes that are hashed or signed."""
    return canonical_json(fields).encode("ascii")


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | int):  # bool is an int
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"audit object: a key of {where} is a {type(key).__name__}; keys must be str"
                )
            _check_value(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
        return
    kind = type(value).__name__
    hint = " (floats are refused: tools print them differently)" if kind == "float" else ""
    raise TypeError(
        f"audit object: {where} is a {kind}, not JSON; use str, int, bool, None, list or dict{hint}"
    )


def object_text(obj: Mapping[str, Any]) -> str:
    """The canonical JSON of an entry's object, after checking it holds only plain JSON."""
    if not isinstance(obj, dict):
        raise TypeError(f"audit object must be a dict, not a {type(obj).__name__}")
    _check_value(obj, "object")
    text = canonical_json(obj)
    if len(text) > MAX_OBJECT_BYTES:
        raise ValueError(f"audit object is {len(text)} bytes; at most {MAX_OBJECT_BYTES}")
    return text


def _check_action(action: str) -> None:
    if not isinstance(action, str) or len(action) > 100 or not _ACTION.fullmatch(action):
        raise ValueError(
            f"audit action {action!r} must be lowercase dotted words, e.g. file.stored"
        )


def _check_outcome(outcome: str) -> None:
    if not isinstance(outcome, str) or len(outcome) > 100 or not _PRINTABLE.fullmatch(outcome):
        raise ValueError("audit outcome must be 1 to 100 printable ASCII characters")


def format_time(moment: datetime) -> str:
    """``at`` as stored: UTC, microseconds, ``+00:00`` (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# --- who did it ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operator:
    """Who an entry is attributed to: the OS user, and the flow run or partner if any."""

    os_user: str
    flow_run_id: str | None = None
    partner: str | None = None
    remote_user: str | None = None

    def __post_init__(self) -> None:
        for name in ("os_user", "flow_run_id", "partner", "remote_user"):
            value = getattr(self, name)
            if value is None and name != "os_user":
                continue
            if not isinstance(value, str) or len(value) > 200 or not _TOKEN.fullmatch(value):
                raise ValueError(f"operator {name}: 1 to 200 characters, no spaces and no '='")

    @classmethod
    def current(
        cls,
        flow_run_id: str | None = None,
        *,
        partner: str | None = None,
        remote_user: str | None = None,
    ) -> Operator:
        """This process's user, with the flow run (and partner, remote user) when given."""
        return cls(os_user(), flow_run_id, partner, remote_user)

    def __str__(self) -> str:
        parts = [self.os_user]
        for name in ("flow_run_id", "partner", "remote_user"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name.removesuffix('_id')}={value}")
        return " ".join(parts)

    @classmethod
    def parse(cls, text: str) -> Operator:
        """The operator an entry's ``operator`` text names."""
        user, *rest = text.split(" ")
        fields: dict[str, str] = {}
        for part in rest:
            name, _, value = part.partition("=")
            name = {"flow_run": "flow_run_id"}.get(name, name)
            if name not in ("flow_run_id", "partner", "remote_user"):
                raise ValueError(f"operator text: unknown field {name!r}")
            fields[name] = value
        return cls(user, **fields)


# --- what is stored ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry as stored; ``at`` is the exact text that was hashed."""

    seq: int
    at: str
    operator: str
    action: str
    object: dict[str, Any]
    outcome: str
    prev_hash: str
    entry_hash: str

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def canonical(self) -> bytes:
        return canonical_entry(
            self.seq, self.at, self.operator, self.action, self.object, self.outcome
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "operator": self.operator,
            "action": self.action,
            "object": self.object,
            "outcome": self.outcome,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signature over one entry's (seq, entry_hash, at, key id); hex for bytes."""

    seq: int
    entry_hash: str
    at: str
    key_id: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return checkpoint_message(self.seq, self.entry_hash, self.at, self.key_id)

    def verify_signature(self, public_key: Ed25519PublicKey | None = None) -> bool:
        """Whether the signature holds, under ``public_key`` or else the recorded one."""
        try:
            key = public_key or Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            key.verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "at": self.at,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, doc: Any, source: str = "checkpoint") -> Checkpoint:
        """A checkpoint from its exported form; :class:`AuditError` names what is wrong."""
        if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
            raise AuditError(f"{source}: not an edi audit checkpoint ({CHECKPOINT_FORMAT})")
        try:
            checkpoint = cls(
                seq=doc["seq"],
                entry_hash=doc["entry_hash"],
                at=doc["at"],
                key_id=doc["key_id"],
                public_key=doc["public_key"],
                signature=doc["signature"],
            )
        except KeyError as exc:
            raise AuditError(f"{source}: field {exc.args[0]} is missing") from None
        if not isinstance(checkpoint.seq, int) or isinstance(checkpoint.seq, bool):
            raise AuditError(f"{source}: seq is not an integer")
        for name in ("entry_hash", "at", "key_id", "public_key", "signature"):
            if not isinstance(getattr(checkpoint, name), str):
                raise AuditError(f"{source}: {name} is not a string")
        return checkpoint


#: the newest checkpoint, kept in EDI_HOME beside the key ring: ``edi audit verify`` checks
#: the chain against it, so a log emptied or cut short in the database is found
ANCHOR_FILE = "audit-anchor.json"


def write_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Write a checkpoint as JSON to ``path`` (replaced atomically) to keep elsewhere."""
    target = Path(path)
    try:  # readable by all (it holds no secret), writable by its owner only, whatever the umask
        write_atomic(target, json.dumps(checkpoint.to_dict(), indent=2) + "\n", mode=0o644)
    except OSError as exc:
        raise AuditError(f"cannot write checkpoint file {target} ({exc.strerror})") from None


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """An exported checkpoint (:meth:`AuditLog.export_checkpoint`) read back."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(f"checkpoint file {path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"checkpoint file {path} is unreadable ({type(exc).__name__})") from None
    return Checkpoint.from_dict(doc, f"checkpoint file {path}")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The verdict of :meth:`AuditLog.verify`: where the chain first breaks, and why."""

    ok: bool
    broken_seq: int | None
    reason: str
    entries: int
    checkpoints: int

    def line(self) -> str:
        if self.ok:
            return (
                f"intact: {self.entries} {'entry' if self.entries == 1 else 'entries'}, "
                f"{self.checkpoints} checkpoint{'' if self.checkpoints == 1 else 's'}"
            )
        if self.broken_seq is None:
            return f"broken: {self.reason}"
        return f"broken at sequence {self.broken_seq}: {self.reason}"


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _where(since: datetime | None, selection: EntrySelection | None) -> list[Any]:
    """The conditions of a read: ``since`` and the selection's own."""
    where = EntrySelection(since=since).conditions(_LOG) if since is not None else []
    return where + (selection.conditions(_LOG) if selection is not None else [])


def _entry(row: Any) -> AuditEntry:
    try:
        obj = json.loads(row.object)
    except json.JSONDecodeError:
        raise AuditError(
            f"audit entry {row.seq}: object is not valid JSON (run edi audit verify)"
        ) from None
    return AuditEntry(
        row.seq, row.at, row.operator, row.action, obj, row.outcome, row.prev_hash, row.entry_hash
    )


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row.seq, row.entry_hash, row.at, row.key_id, row.public_key, row.signature)


@dataclass(slots=True)
class _Head:
    seq: int
    entry_hash: str


# --- the log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """When and how an :class:`AuditLog` signs checkpoints on its own (:meth:`sign_every`):
    every ``every`` entries, with the key ``key()`` gives (read when needed), written to
    ``anchor`` too (EDI_HOME/audit-anchor.json) when given."""

    every: int
    key: Callable[[], Ed25519PrivateKey]
    key_id: str
    anchor: Path | None = None

    def sign(self, log: AuditLog, *, operator: Operator | str | None = None) -> Checkpoint | None:
        if self.every < 1:
            return None
        made = log.maybe_checkpoint(self.every, self.key(), self.key_id, operator=operator)
        if made is not None and self.anchor is not None:
            write_checkpoint(made, self.anchor)
        return made


class AuditLog:
    """The audit chain in one database (SQLite or PostgreSQL); see the module docstring.

    ``clock`` gives the time of new entries (default: now, UTC).
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))
        self._operator: Operator | None = None
        self._signer: Signer | None = None

    def sign_every(self, signer: Signer) -> AuditLog:
        """Sign a checkpoint after any append (of any kind) that leaves ``signer.every``
        entries or more since the last one; each is also written to ``signer.anchor``.
        Appends inside a caller's transaction are signed by that caller after its commit
        (:meth:`maybe_checkpoint`)."""
        self._signer = signer
        return self

    def sign_if_due(self, *, operator: Operator | str | None = None) -> Checkpoint | None:
        """Sign a checkpoint now if the interval of :meth:`sign_every` has passed (after a
        caller's own transaction with appends in it has committed)."""
        return self._signer.sign(self, operator=operator) if self._signer is not None else None

    # -- writing

    def append(
        self,
        action: str,
        object: Mapping[str, Any],  # noqa: A002 - the entry's field is called object
        outcome: str,
        *,
        operator: Operator | str | None = None,
        connection: Connection | None = None,
    ) -> AuditEntry:
        """Add an entry; inside ``connection``'s open transaction when given.

        ``object`` must hold only JSON values (str, int, bool, None, list, dict) and never
        PHI: ids, checksums, sizes, partner, counts.
        """
        _check_action(action)
        _check_outcome(outcome)
        text = object_text(object)
        who = self._operator_text(operator)
        with self._transaction(connection) as conn:
            head = self._lock_head(conn)
            entry = self._append_locked(conn, head, action, text, outcome, who)
        if connection is None:
            self.sign_if_due(operator=operator)
        return entry

    def checkpoint(
        self,
        signing_key: Ed25519PrivateKey,
        key_id: str,
        *,
        operator: Operator | str | None = None,
        connection: Connection | None = None,
    ) -> Checkpoint:
        """Append an ``audit.checkpoint`` entry and sign it: the new head is covered."""
        _check_key_id(key_id)
        who = self._operator_text(operator)
        with self._transaction(connection) as conn:
            head = self._lock_head(conn)
            return self._checkpoint_locked(conn, head, signing_key, key_id, who)

    def maybe_checkpoint(
        self,
        every: int,
        signing_key: Ed25519PrivateKey,
        key_id: str,
        *,
        operator: Operator | str | None = None,
        connection: Connection | None = None,
    ) -> Checkpoint | None:
        """A checkpoint when ``every`` entries or more came after the last one; else None."""
        if every < 1:
            raise ValueError("maybe_checkpoint: every must be at least 1")
        _check_key_id(key_id)
        who = self._operator_text(operator)
        with self._transaction(connection) as conn:
            head = self._lock_head(conn)
            last = conn.execute(select(func.max(_CHECKPOINTS.c.seq))).scalar() or 0
            if head.seq - last < every:
                return None
            return self._checkpoint_locked(conn, head, signing_key, key_id, who)

    def export_checkpoint(self, path: str | os.PathLike[str]) -> Checkpoint:
        """Write the latest checkpoint as JSON to ``path`` (replaced atomically)."""
        checkpoint = self.latest_checkpoint()
        if checkpoint is None:
            raise AuditError("the audit log has no checkpoint to export: make one first")
        write_checkpoint(checkpoint, path)
        return checkpoint

    # -- reading

    def entries(
        self,
        since: datetime | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        *,
        selection: EntrySelection | None = None,
    ) -> Iterator[AuditEntry]:
        """Entries in sequence order: after ``after_seq``, at or after ``since``, chosen by
        ``selection``, at most ``limit``. Read in pages, each in its own short transaction."""
        where = _where(since, selection)
        last = after_seq
        remaining = limit
        while remaining is None or remaining > 0:
            size = PAGE if remaining is None else min(PAGE, remaining)
            query = select(_LOG).where(_LOG.c.seq > last, *where).order_by(_LOG.c.seq).limit(size)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield _entry(row)
            if len(rows) < size:
                return
            last = rows[-1].seq
            if remaining is not None:
                remaining -= len(rows)

    def recent(
        self,
        limit: int,
        since: datetime | None = None,
        *,
        selection: EntrySelection | None = None,
    ) -> list[AuditEntry]:
        """The ``limit`` newest entries (at or after ``since``, chosen by ``selection``),
        oldest first."""
        if limit < 1:
            return []
        where = _where(since, selection)
        query = (
            select(_LOG.c.seq).where(*where).order_by(_LOG.c.seq.desc()).limit(1).offset(limit - 1)
        )
        with self.engine.connect() as conn:
            start = conn.execute(query).scalar()
        return list(self.entries(since, after_seq=(start or 1) - 1, selection=selection))

    def head(self) -> tuple[int, str]:
        """The last entry's (seq, entry_hash), as the chain head records it; (0, GENESIS)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_HEAD.c.seq, _HEAD.c.entry_hash)).first()
        return (row.seq, row.entry_hash) if row is not None else (0, GENESIS)

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.id)).all()
        return [_checkpoint(row) for row in rows]

    def latest_checkpoint(self) -> Checkpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.id.desc()).limit(1)
            ).first()
        return _checkpoint(row) if row is not None else None

    # -- verifying

    def verify(
        self,
        trusted_keys: Mapping[str, Ed25519PublicKey] | None = None,
        anchors: Iterable[Checkpoint] = (),
    ) -> VerifyResult:
        """Walk the chain and check every hash, the head, every checkpoint and ``anchors``.

        Checkpoint signatures are checked with ``trusted_keys`` (key id -> public key) when
        given, so a checkpoint signed by any other key fails; without them, with the public
        key recorded in the checkpoint, which proves only that the row is self-consistent.
        ``anchors`` are exported checkpoints kept elsewhere (:func:`load_checkpoint`).
        """
        anchors = list(anchors)
        with self._snapshot() as conn:  # head, checkpoints and every entry as of one moment
            head_row = conn.execute(select(_HEAD.c.seq, _HEAD.c.entry_hash)).first()
            rows = conn.execute(select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.id)).all()
            marks = [(f"checkpoint {row.id}", _checkpoint(row)) for row in rows]
            marks += [("exported checkpoint", anchor) for anchor in anchors]
            walk = _Walk({mark.seq for _, mark in marks})
            last = 0
            while walk.failure is None:  # every row, also any after the head
                query = select(_LOG).where(_LOG.c.seq > last).order_by(_LOG.c.seq).limit(PAGE)
                page = conn.execute(query).all()
                for row in page:
                    if not walk.step(row):
                        break
                if len(page) < PAGE:
                    break
                last = page[-1].seq

        failures: list[tuple[int, str]] = []
        if walk.failure is not None:
            failures.append(walk.failure)
        elif head_row is None:
            if walk.count:
                failures.append((walk.count, "the chain head (table audit_head) is missing"))
        elif walk.count > head_row.seq:
            failures.append(
                (
                    head_row.seq + 1,
                    f"entries {head_row.seq + 1} to {walk.count} are after the chain head "
                    f"(entry {head_row.seq}): added outside the log",
                )
            )
        elif walk.count < head_row.seq:
            failures.append(
                (
                    walk.count + 1,
                    f"entries {walk.count + 1} to {head_row.seq} are missing "
                    f"(the chain head records entry {head_row.seq})",
                )
            )
        elif walk.prev != head_row.entry_hash:
            failures.append((head_row.seq, "the entry's hash differs from the chain head's"))

        end = failures[0][0] if failures else None
        checked = 0
        for label, mark in sorted(marks, key=lambda item: item[1].seq):
            if end is not None and mark.seq >= end:
                continue
            problem = _check_mark(label, mark, walk, trusted_keys)
            if problem is not None:
                failures.append(problem)
                break
            checked += 1
        if not failures:
            return VerifyResult(True, None, "", walk.count, checked)
        seq, reason = min(failures, key=lambda item: item[0])
        return VerifyResult(False, seq, reason, walk.count, checked)

    # -- internals

    def _operator_text(self, operator: Operator | str | None) -> str:
        if operator is None:
            if self._operator is None:
                self._operator = Operator.current()
            operator = self._operator
        text = str(operator)
        if isinstance(operator, str):
            Operator.parse(text)  # refuses malformed text
        return text

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A connection whose reads all see one snapshot (SQLite transactions already do)."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _transaction(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is None:
            with self.engine.begin() as conn:
                yield conn
            return
        if not connection.in_transaction():
            raise ValueError("audit: connection= must be inside an open transaction")
        yield connection

    def _lock_head(self, conn: Connection) -> _Head:
        """Lock the chain head row for this transaction (creating it on first use)."""
        row = conn.execute(_READ_HEAD).first()
        if row is None:
            tail = conn.execute(_READ_TAIL).first()
            seq, digest = (tail.seq, tail.entry_hash) if tail is not None else (0, GENESIS)
            conn.execute(_insert_ignore(conn, _HEAD).values(id=1, seq=seq, entry_hash=digest))
            row = conn.execute(_READ_HEAD).one()
        return _Head(row.seq, row.entry_hash)

    def _append_locked(
        self, conn: Connection, head: _Head, action: str, text: str, outcome: str, who: str
    ) -> AuditEntry:
        seq = head.seq + 1
        at = format_time(self._clock())
        obj = json.loads(text)
        digest = entry_hash(head.entry_hash, canonical_entry(seq, at, who, action, obj, outcome))
        try:
            conn.execute(
                _INSERT_ENTRY,
                {
                    "seq": seq,
                    "at": at,
                    "operator": who,
                    "action": action,
                    "object": text,
                    "outcome": outcome,
                    "prev_hash": head.entry_hash,
                    "entry_hash": digest,
                },
            )
        except IntegrityError:
            raise AuditError(
                f"the audit log already holds an entry {seq}, after its head: entries were "
                "added outside the log (run edi audit verify)"
            ) from None
        conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
        prev = head.entry_hash
        head.seq, head.entry_hash = seq, digest
        return AuditEntry(seq, at, who, action, obj, outcome, prev, digest)

    def _checkpoint_locked(
        self,
        conn: Connection,
        head: _Head,
        signing_key: Ed25519PrivateKey,
        key_id: str,
        who: str,
    ) -> Checkpoint:
        public = _public_hex(signing_key.public_key())
        text = canonical_json({"key_id": key_id, "public_key": public})
        entry = self._append_locked(conn, head, CHECKPOINT_ACTION, text, "signed", who)
        message = checkpoint_message(entry.seq, entry.entry_hash, entry.at, key_id)
        checkpoint = Checkpoint(
            entry.seq, entry.entry_hash, entry.at, key_id, public, signing_key.sign(message).hex()
        )
        values = checkpoint.to_dict()
        del values["format"]
        conn.execute(_INSERT_CHECKPOINT, values)
        return checkpoint


def _check_key_id(key_id: str) -> None:
    if not isinstance(key_id, str) or len(key_id) > 64 or not _TOKEN.fullmatch(key_id):
        raise ValueError("checkpoint key id: 1 to 64 characters, no spaces and no '='")


def _insert_ignore(conn: Connection, table: Table) -> Insert:
    """INSERT that does nothing when the primary key is taken (a racing first append)."""
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return insert(table)


class _Walk:
    """The chain walked in order: the first break, and the hashes checkpoints refer to."""

    def __init__(self, wanted: set[int]) -> None:
        self.count = 0
        self.prev = GENESIS
        self.failure: tuple[int, str] | None = None
        self.wanted = wanted
        self.hashes: dict[int, str] = {}

    def step(self, row: Any) -> bool:
        expected = self.count + 1
        if row.seq != expected:
            self.failure = (expected, f"entry {expected} is missing (the next is {row.seq})")
            return False
        problem = self._problem(row)
        if problem is not None:
            self.failure = (row.seq, problem)
            return False
        self.count = row.seq
        self.prev = row.entry_hash
        if row.seq in self.wanted:
            self.hashes[row.seq] = row.entry_hash
        return True

    def _problem(self, row: Any) -> str | None:
        if row.prev_hash != self.prev:
            if row.seq == 1:
                return "prev_hash of the first entry is not 32 zero bytes"
            return f"prev_hash is not the hash of entry {row.seq - 1} (entries moved or removed)"
        try:
            obj = json.loads(row.object)
        except (json.JSONDecodeError, TypeError):
            return "object is not valid JSON (altered)"
        if not isinstance(obj, dict):
            return "object is not a JSON object (altered)"
        if canonical_json(obj) != row.object:
            return "object is not in canonical form (altered)"
        try:
            canonical = canonical_entry(row.seq, row.at, row.operator, row.action, obj, row.outcome)
        except (TypeError, ValueError, UnicodeEncodeError):
            return "entry cannot be put in canonical form (altered)"
        if entry_hash(row.prev_hash, canonical) != row.entry_hash:
            return "entry_hash does not match the entry's content (altered)"
        return None


def _check_mark(
    label: str,
    mark: Checkpoint,
    walk: _Walk,
    trusted_keys: Mapping[str, Ed25519PublicKey] | None,
) -> tuple[int, str] | None:
    """Why a checkpoint fails against the walked chain and the keys, or None."""
    if mark.seq > walk.count:
        return (
            walk.count + 1,
            f"{label} covers entry {mark.seq} but the chain ends at entry {walk.count} "
            "(entries removed)",
        )
    if not _HEX64.fullmatch(mark.entry_hash) or walk.hashes.get(mark.seq) != mark.entry_hash:
        return (
            mark.seq,
            f"{label} signed another hash for this entry (the chain was rewritten at or before it)",
        )
    key: Ed25519PublicKey | None = None
    if trusted_keys is not None:
        key = trusted_keys.get(mark.key_id)
        if key is None:
            return mark.seq, f"{label} is signed by key {mark.key_id}, which is not trusted"
    if not mark.verify_signature(key):
        return mark.seq, f"{label}: the signature by key {mark.key_id} does not verify"
    return None


__all__ = [
    "CHECKPOINT_ACTION",
    "CHECKPOINT_FORMAT",
    "GENESIS",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "Checkpoint",
    "Operator",
    "VerifyResult",
    "canonical_entry",
    "canonical_json",
    "checkpoint_message",
    "entry_hash",
    "format_time",
    "load_checkpoint",
    "object_text",
    "write_checkpoint",
]
