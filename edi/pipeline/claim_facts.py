"""What a 277CA needs of an 837's claims, taken while their rows are made.

Two halves, so that the record worker (:mod:`.record_worker`), the busier of the two
processes of a large file's ingest, does the cheap one:

* :class:`FactsCollector` takes the claims in file order as the row maker makes their
  rows and keeps of each claim only its values
  (:func:`edi.parsers.claim_acks.claim_values`: plain strings and numbers), handed on in
  batches;
* :class:`FactsBuilder` makes each claim's verdict-free 277CA text from its values
  (:func:`edi.parsers.claim_acks.claim_facts_of`) and keeps it per set, for
  :mod:`.claim_answers` to assemble with the claims' verdicts without reading the claims
  back: in a spill file (:class:`edi.store.spill.Spill`, encrypted on disk) a batch at a
  time when given one, so the ingest process does not grow with the claims of the file.

In one process the collector hands its batches to the builder directly. Across the two
processes of a large file's ingest a batch travels as bytes (:func:`seal_batch`: marshal,
then encrypted with the key ring, bound to ``acknowledgments``/``facts`` and the file and
batch number), so the worker still sends nothing but ciphertext, and the ingest process
makes the text while it waits for the worker's next rows.
"""

from __future__ import annotations

import gc
import marshal
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from edi.parsers.claim_acks import (
    ClaimValues,
    HeaderValues,
    PartyValues,
    SetFacts,
    claim_facts_of,
    claim_values,
    header_values,
    pack,
    set_facts,
)
from edi.records import Record
from edi.records.claims import Claim
from edi.store.spill import Spill

#: what the facts are bound to when sealed
TABLE, COLUMN = "acknowledgments", "facts"
#: claims a batch of values holds
BATCH = 2000
#: between the packed claims of a chunk of a spill (no packed claim holds a control
#: character but claim_acks' own two)
_CLAIM = "\x1e"

#: a batch: the headers of the sets it begins (set row id, values), then its claims
#: (set row id, values)
Batch = tuple[list[tuple[str, HeaderValues]], list[tuple[str, ClaimValues]]]


class FactsCollector:
    """Takes claims with their set's row id and the claim's row id, and hands ``emit``
    their values a batch at a time; :meth:`finish` hands on the last."""

    def __init__(self, emit: Callable[[Batch], None], batch: int = BATCH) -> None:
        self.emit = emit
        self.batch = batch
        self.headers: list[tuple[str, HeaderValues]] = []
        self.claims: list[tuple[str, ClaimValues]] = []
        self.seen: set[str] = set()

    def take(self, record: Record, set_row: str, row_id: str) -> None:
        if not isinstance(record, Claim):
            return
        if set_row not in self.seen:
            self.seen.add(set_row)
            source = record.source
            control = source.set_control if source is not None else ""
            self.headers.append((set_row, header_values(record.header, control)))
        # the claim has closed: what it needs of its lines it took as they closed
        self.claims.append((set_row, claim_values(record, None, row_id)))
        if len(self.claims) >= self.batch:
            self._emit()

    def finish(self) -> None:
        self._emit()

    def _emit(self) -> None:
        if self.claims or self.headers:
            batch: Batch = (self.headers, self.claims)
            self.headers, self.claims = [], []
            self.emit(batch)


class SpilledClaims:
    """A set's packed claims kept in a spill, a chunk a batch: read back in order each time
    they are iterated (:func:`edi.parsers.claim_acks.assemble` reads them twice)."""

    def __init__(self, spill: Spill, chunks: list[int], count: int) -> None:
        self.spill = spill
        self.chunks = chunks
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        for number in self.chunks:
            yield from self.spill.read(number).decode().split(_CLAIM)

    def __contains__(self, item: object) -> bool:
        return any(item == packed for packed in self)


class FactsBuilder:
    """Makes the facts of the claims of batches (:meth:`add`); :meth:`sets` gives each
    set's, but none for a set a required value of which cannot be written (its 277CA
    cannot be). With a ``spill``, each batch's facts are kept there, a chunk a set, and
    only the chunks' numbers in memory."""

    def __init__(
        self, wanted: set[str] | None = None, date: str = "", spill: Spill | None = None
    ) -> None:
        #: the set row ids whose facts are made (None: every set's)
        self.wanted = wanted
        #: the CCYYMMDD the 277CAs will be dated (and the 837 received): each claim's
        #: answer when accepted without edits is made with its facts ("": not made)
        self.date = date
        self.spill = spill
        self.headers: dict[str, HeaderValues] = {}
        #: set row id -> its claims' facts, packed (claim_acks.pack), without a spill
        self.claims: dict[str, list[str]] = {}
        #: set row id -> the spill's chunks of its claims' facts, and their count
        self.chunks: dict[str, list[int]] = {}
        self.counts: dict[str, int] = {}
        self.unwritable: set[str] = set()
        #: the 2100C segments made, by the provider's values
        self.providers: dict[PartyValues | None, str] = {}

    def add(self, batch: Batch) -> None:
        headers, claims = batch
        spill = self.spill
        with collector_paused():
            for set_row, header in headers:
                self.headers.setdefault(set_row, header)
            wanted = self.wanted
            made: dict[str, list[str]] = {} if spill is not None else self.claims
            for set_row, values in claims:
                if set_row in self.unwritable or (wanted is not None and set_row not in wanted):
                    continue
                try:
                    facts = claim_facts_of(values, self.providers)
                except ValueError:
                    self.unwritable.add(set_row)
                    continue
                made.setdefault(set_row, []).append(pack(facts, self.date, self.date))
            if spill is not None:
                for set_row, packed in made.items():
                    if set_row in self.unwritable:
                        continue
                    number = spill.put(_CLAIM.join(packed).encode())
                    self.chunks.setdefault(set_row, []).append(number)
                    self.counts[set_row] = self.counts.get(set_row, 0) + len(packed)

    def sets(self) -> dict[str, SetFacts]:
        """Set row id -> its facts."""
        out: dict[str, SetFacts] = {}
        kept: dict[str, Collection[str]] = dict(self.claims)
        if self.spill is not None:
            for set_row, chunks in self.chunks.items():
                kept[set_row] = SpilledClaims(self.spill, chunks, self.counts[set_row])
        for set_row, claims in kept.items():
            header = self.headers.get(set_row)
            if set_row in self.unwritable or header is None:
                continue
            try:
                out[set_row] = set_facts(header, claims)
            except ValueError:
                continue
        return out


def seal_batch(cipher: Any, batch: Any, file_id: str, number: int, column: str = COLUMN) -> bytes:
    """A batch (of facts, or of ``column``'s values: plain values only) as bytes for
    :func:`open_batch` in the other process of this ingest (marshal: values only, it never
    calls code; several times faster than JSON both ways), encrypted. Never stored."""
    return bytes(
        cipher.encrypt(
            marshal.dumps(batch), table=TABLE, column=column, row_id=f"{file_id}:{number}"
        )
    )


def open_batch(cipher: Any, sealed: bytes, file_id: str, number: int, column: str = COLUMN) -> Any:
    data = cipher.decrypt(sealed, table=TABLE, column=column, row_id=f"{file_id}:{number}")
    return marshal.loads(data)  # noqa: S302 - authenticated, see seal_batch


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while claims' facts (many small objects, no cycle
    among them) are made or assembled: its passes, triggered by the count of objects made,
    took about half that time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = [
    "BATCH",
    "COLUMN",
    "TABLE",
    "Batch",
    "FactsBuilder",
    "FactsCollector",
    "SpilledClaims",
    "collector_paused",
    "open_batch",
    "seal_batch",
]
