"""What a 277CA needs of an 837's claims, taken while their rows are made: each claim's
verdict-free parts as text (:func:`edi.parsers.claim_acks.claim_facts`), sealed per set.

The claims and lines pass here in file order as the row maker makes their rows (in the
record worker for a large file, in the ingest process otherwise): a claim's lines follow
it. Each set's facts are one JSON document encrypted with the key ring (bound to
``acknowledgments``/``facts`` and the set's row id), so a worker hands nothing but
ciphertext to the ingest process, which assembles the 277CA from them and the claims'
verdicts without reading the claims back (:mod:`.claim_answers`).
"""

from __future__ import annotations

from typing import Any

from edi.parsers.claim_acks import ClaimFacts, claim_facts, set_facts
from edi.records import Record
from edi.records.claims import Claim, ClaimHeader, ServiceLine

#: what the facts are bound to when sealed
TABLE, COLUMN = "acknowledgments", "facts"


class FactsCollector:
    """Takes claims and lines with their set's row id and the claim's row id; ``sealed``
    gives each set's facts encrypted (none for a set a required value of which cannot be
    written: its 277CA cannot be)."""

    def __init__(self, cipher: Any) -> None:
        self.cipher = cipher
        self.claims: dict[str, list[ClaimFacts]] = {}
        self.headers: dict[str, tuple[ClaimHeader | None, str]] = {}
        self.unwritable: set[str] = set()
        self.current: tuple[Claim, list[ServiceLine], str, str] | None = None
        #: the 2100C segments made, by what they are made of
        self.providers: dict[tuple[str | None, ...], str] = {}

    def take(self, record: Record, set_row: str, row_id: str) -> None:
        if isinstance(record, Claim):
            self._finish()
            self.current = (record, [], row_id, set_row)
            if set_row not in self.headers:
                source = record.source
                self.headers[set_row] = (record.header, source.set_control if source else "")
        elif isinstance(record, ServiceLine):
            current = self.current
            if current is not None and record.parent_ordinal == current[0].ordinal:
                current[1].append(record)

    def _finish(self) -> None:
        current, self.current = self.current, None
        if current is None:
            return
        claim, lines, row_id, set_row = current
        if set_row in self.unwritable:
            return
        try:
            facts = claim_facts(claim, lines, row_id, self.providers)
        except ValueError:
            self.unwritable.add(set_row)
            return
        self.claims.setdefault(set_row, []).append(facts)

    def sealed(self) -> dict[str, bytes]:
        """Set row id -> its facts, encrypted."""
        self._finish()
        out: dict[str, bytes] = {}
        for set_row, claims in self.claims.items():
            if set_row in self.unwritable:
                continue
            header, control = self.headers[set_row]
            try:
                data = set_facts(header, claims, control).dumps()
            except ValueError:
                continue
            out[set_row] = self.cipher.encrypt(data, table=TABLE, column=COLUMN, row_id=set_row)
        return out


__all__ = ["COLUMN", "TABLE", "FactsCollector"]
