"""What the pipeline's stages share and pass: the wiring, the partner's policy, one
incoming file, and what became of it. Typed: no stage takes or returns ``Any``.

:mod:`edi.pipeline.bootstrap` builds :class:`Wiring` from the settings; tests may build
one by hand (see :class:`edi.pipeline.ingest.Ingestor`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

from sqlalchemy import Engine

from edi.audit.chain import Operator
from edi.parsers.acks import Ack
from edi.parsers.fields import FieldMapCatalog
from edi.parsers.normalize import FieldMapFinder
from edi.parsers.validate import Validator
from edi.progress import Progress
from edi.store.auditing import AuditSink
from edi.store.keys import KeyRing
from edi.store.rows import RowMaker


@dataclass(frozen=True)
class Policy:
    """What the agreement with the sender says about its files (``[partners.NAME]``)."""

    partner: str | None = None
    #: the transaction kinds it sends (837P, 835, ...); others are rejected (IK502 1).
    #: Empty: any.
    expected_sets: tuple[str, ...] = ()
    #: the guides (GS08) it sends; a group of another is rejected (AK9 R, AK905 2).
    #: Empty: any.
    expected_versions: tuple[str, ...] = ()
    #: store an interchange whose (sender, ISA13) is stored already (else TA1 R 025)
    allow_duplicate_interchange: bool = False
    #: "always": every 999 is sent; "errors": only those of a group with a set not accepted
    ack_999: str = "always"
    #: severity of each claim-level edit (:mod:`edi.parsers.claim_verdicts`); empty: every
    #: finding in a claim rejects the claim
    edits: Mapping[str, str] = field(default_factory=dict)
    #: an 837 set rejected only for errors inside claims is accepted, those claims rejected
    split_claims: bool = True
    #: a 277CA for each accepted 5010 837 set
    ack_277: bool = True
    #: exact duplicate claims: "reject", "warn" or "off" (:mod:`.duplicates`)
    duplicates: str = "reject"
    #: its companion guide's rule files, layered after the project's (``[partners.NAME]
    #: rules``)
    rules: tuple[Path, ...] = ()
    #: 834s: "changes" or "full" (:mod:`.member_state`)
    enrollment: str = "changes"
    #: members a full file omits: "report" or "terminate"
    full_file_terminations: str = "report"
    #: an enrollment error: "reject" the member's change or "flag" it
    enrollment_errors: str = "reject"


@dataclass
class Wiring:
    """The objects one process's pipeline runs with, built once (:mod:`.bootstrap`)."""

    engine: Engine
    ring: KeyRing
    audit: AuditSink
    #: where originals are kept, encrypted (``<file id>.x12.enc``)
    archive_dir: Path
    #: hands out the acknowledgments' ISA13 control numbers
    numbers: Callable[[], str]
    operator: Operator | None = None
    #: processes making a file's rows: 2 a record worker for each file (forked when this
    #: process runs one thread, else spawned), 1 never; None: decided by the file's size
    workers: int | None = None
    #: the field maps records are made with (None: the default catalog)
    field_maps: FieldMapCatalog | None = None
    #: called as progress(stage, bytes read, file size) while a file is validated
    #: (``validate``) and while its records are stored (``store``)
    progress: Progress | None = None
    #: where a file's ingest keeps what waits for later, encrypted, in a private folder of
    #: its own (:mod:`edi.store.spill`); None: the archive folder's parent (``EDI_HOME``)
    work_dir: Path | None = None
    #: made on first use and reused for every file (:mod:`.validate`, :mod:`.parse`)
    validator: Validator | None = field(default=None, repr=False)
    #: a validator for each partner's companion guide (its rule files), made on first use
    partner_validators: dict[tuple[Path, ...], Validator] = field(default_factory=dict, repr=False)
    finder: FieldMapFinder | None = field(default=None, repr=False)
    rows: RowMaker | None = field(default=None, repr=False)


def work_dir(wiring: Wiring) -> Path:
    """The folder an ingest's spill files go under (see :attr:`Wiring.work_dir`)."""
    return wiring.work_dir if wiring.work_dir is not None else wiring.archive_dir.parent


@dataclass(frozen=True)
class Incoming:
    """One local file to take through the pipeline."""

    path: Path
    #: the name it was received under (default: the file's own name)
    original_name: str | None = None
    #: sha256 of the bytes as received, before decryption (default: the file's)
    received_sha256: str | None = None
    #: the id of an earlier row of these same bytes this run replaces (reprocessing)
    supersedes: str | None = None

    @property
    def name(self) -> str:
        return self.original_name or self.path.name


def enrollment_counts(counts: dict[str, object]) -> str:
    """The member state's counts of a file, as the summary line gives them."""
    parts = [f"{k} {v}" for k, v in counts.items() if isinstance(v, int) and k != "full"]
    return ("full file: " if counts.get("full") else "members: ") + ", ".join(parts or ["none"])


class AckTexts(Sequence[Ack]):
    """The acknowledgments an ingest made, in the order made, for the caller to write or
    send: the TA1s and 999s held, each 277CA read back from the store (decrypted) when it
    is asked for. A file of many or large 837 sets would otherwise hold the text of every
    277CA it answered until the caller is done with them: a 277CA is about 180 bytes a
    claim. Read after the ingest's transaction is committed (as an ingest returns)."""

    def __init__(self, held: Iterable[Ack] = ()) -> None:
        self._items: list[Ack | tuple[Ack, Callable[[], str]]] = list(held)

    def add_stored(self, stub: Ack, text: Callable[[], str]) -> None:
        """An acknowledgment already stored: ``stub`` without its text, ``text`` reads it."""
        self._items.append((stub, text))

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Ack: ...
    @overload
    def __getitem__(self, index: slice) -> list[Ack]: ...
    def __getitem__(self, index: int | slice) -> Ack | list[Ack]:
        if isinstance(index, slice):
            return [self._made(item) for item in self._items[index]]
        return self._made(self._items[index])

    @staticmethod
    def _made(item: Ack | tuple[Ack, Callable[[], str]]) -> Ack:
        if isinstance(item, Ack):
            return item
        stub, text = item
        return Ack(
            stub.kind, stub.interchange, stub.group, text(), stub.control, stub.group_control
        )

    def __repr__(self) -> str:
        return f"AckTexts({len(self)} acknowledgments)"


@dataclass
class IngestResult:
    """What became of one file (no values: counts, codes, checksums)."""

    path: str
    status: str
    sha256: str
    size: int
    file_id: str | None = None
    sets_accepted: int = 0
    sets_rejected: int = 0
    records: dict[str, int] = field(default_factory=dict)
    #: claims of accepted sets rejected on their own by claim-level edits
    claims_rejected: int = 0
    #: claims repeating an accepted claim of another file, and earlier claims replaced or
    #: voided by claims of frequency 7 or 8
    claims_duplicate: int = 0
    claims_replaced: int = 0
    #: accepted claims flagged as suspected duplicates (:func:`.duplicates.find_suspects`)
    claims_suspect: int = 0
    #: what its 834s did to the member state (:class:`.member_state.StateCounts`)
    enrollment: dict[str, object] = field(default_factory=dict)
    acks: list[str] = field(default_factory=list)
    note: str = ""
    #: the acknowledgments made, for the caller to write or send
    ack_texts: Sequence[Ack] = field(default_factory=list, repr=False)
    #: who made the rows: "" this process, "forked" or "spawned" a record worker
    record_worker: str = ""
    #: the earlier row of the same file this run replaces, and how many of its record
    #: rows were deleted, per table
    supersedes: str | None = None
    replaced: dict[str, int] = field(default_factory=dict)

    def facts(self) -> list[str]:
        """Checksum, size and sets, as the summary lines give them."""
        return [
            f"sha256 {self.sha256[:16]}",
            f"{self.size} bytes",
            f"sets {self.sets_accepted} accepted, {self.sets_rejected} rejected",
            *([f"claims rejected {self.claims_rejected}"] if self.claims_rejected else []),
            *([f"duplicates {self.claims_duplicate}"] if self.claims_duplicate else []),
            *([f"claims replaced {self.claims_replaced}"] if self.claims_replaced else []),
            *([f"suspected duplicates {self.claims_suspect}"] if self.claims_suspect else []),
            *([enrollment_counts(self.enrollment)] if self.enrollment else []),
        ]

    def line(self) -> str:
        """The one summary line `edi ingest` prints."""
        parts = [f"{self.path}: {self.status}", *self.facts()]
        if self.records:
            parts.append(record_counts(self.records))
        if self.acks:
            parts.append("acks " + " ".join(self.acks))
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def record_counts(counts: Mapping[str, int]) -> str:
    """``2 claim, 5 service_line``: a count per record type, by type ("" for none)."""
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))


__all__ = [
    "AckTexts",
    "AuditSink",
    "Incoming",
    "IngestResult",
    "Policy",
    "Progress",
    "Wiring",
    "record_counts",
    "work_dir",
]
