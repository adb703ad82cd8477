"""Control numbers from the store: one series per name, shared by every worker.

Each :meth:`StoreControlNumbers.next` is one short transaction: an ``UPDATE ...
RETURNING`` of the series' row, which PostgreSQL serializes by the row lock and SQLite by
``BEGIN IMMEDIATE``; so no two workers, on one machine or many, get the same number, and a
number handed out is never handed out again (until the series wraps from 999999999 to 1).
A number whose file then fails is skipped, not reused: control numbers need to be unique,
not gapless.

The first number of a new series follows the highest already used: the stored
acknowledgments' control numbers, and the counter file a store without this table used
(:mod:`edi.control_numbers`), so numbers already sent to partners are never sent again.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from edi.control_numbers import FIRST, LAST
from edi.store import models as m

ACK = "ack"


class StoreControlNumbers:
    """Numbers of series ``name`` in ``engine``'s store; ``legacy_file`` is the counter
    file whose last number a new series starts after."""

    def __init__(
        self, engine: Engine, name: str = ACK, *, legacy_file: str | os.PathLike[str] | None = None
    ) -> None:
        self.engine = engine
        self.name = name
        self.legacy_file = Path(legacy_file) if legacy_file is not None else None

    def next(self) -> int:
        table = m.ControlNumber
        bump = (
            update(table)
            .where(table.name == self.name)
            .values(last=case((table.last >= LAST, FIRST), else_=table.last + 1))
            .returning(table.last)
        )
        while True:
            with self.engine.begin() as conn:
                number = conn.execute(bump).scalar()
                if number is not None:
                    return int(number)
                start = self._highest_used(conn) + 1
                start = FIRST if start > LAST else start
                try:
                    with conn.begin_nested():
                        conn.execute(insert(table).values(name=self.name, last=start))
                except IntegrityError:
                    continue  # another worker started the series: take the next of it
                return start

    def next_isa(self) -> str:
        """The next number as ISA13 writes it: 9 digits, zero-padded."""
        return f"{self.next():09d}"

    def __call__(self) -> str:
        return self.next_isa()

    def _highest_used(self, conn: Connection) -> int:
        highest = 0
        controls = select(m.Acknowledgment.control).distinct()
        for control in conn.execute(controls).scalars():
            if control and control.isdigit():
                highest = max(highest, int(control))
        if self.legacy_file is not None:
            try:
                text = self.legacy_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text.isdigit():
                highest = max(highest, int(text))
        return highest


__all__ = ["ACK", "StoreControlNumbers"]
