"""Which audit entries a reader asks for: since a time, of some actions, by one operator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, or_


@dataclass(frozen=True, slots=True)
class EntrySelection:
    """Entries at or after ``since``, whose action is one of ``actions`` (``file.*``: every
    action starting ``file.``), whose operator's OS user is ``actor``; None or empty: any."""

    since: datetime | None = None
    actions: Sequence[str] = ()
    actor: str | None = None

    def conditions(self, table: Table) -> list[ColumnElement[Any]]:
        """The WHERE conditions on the audit table (its ``at``, ``action``, ``operator``)."""
        from edi.audit.chain import format_time

        found: list[ColumnElement[Any]] = []
        if self.since is not None:
            found.append(table.c.at >= format_time(self.since))
        if self.actions:
            found.append(
                or_(
                    *(
                        table.c.action.startswith(a.removesuffix("*"), autoescape=True)
                        if a.endswith("*")
                        else table.c.action == a
                        for a in self.actions
                    )
                )
            )
        if self.actor is not None:
            # the operator text is the OS user, then " name=value" fields (Operator.__str__)
            found.append(
                or_(
                    table.c.operator == self.actor,
                    table.c.operator.startswith(self.actor + " ", autoescape=True),
                )
            )
        return found
