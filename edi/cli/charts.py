"""What the report charts show, drawn on a terminal (:func:`edi.cli.terminal.print_chart`) or
into a PNG or SVG file (:mod:`edi.cli.plot`): bars built from a report's rows.

Counts, rates and partner names only: a report's rows hold no PHI, nor does a chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Series:
    """One kind of bar (stacked on the others of its chart), its value per label."""

    name: str
    values: tuple[float, ...]
    #: a colour rich and matplotlib both know by this name
    color: str
    #: the character its part of a bar is drawn with on a terminal (told apart without colour)
    mark: str = "\u2588"


@dataclass(frozen=True, slots=True)
class Chart:
    """Horizontal bars, one per label, each the series stacked; ``notes`` beside them."""

    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    notes: tuple[str, ...]
    #: what the bars measure (the value axis of a plot)
    unit: str
    #: the value a full bar stands for (None: the longest bar's)
    full: float | None = None

    def longest(self) -> float:
        """The value of a full-length bar."""
        if self.full is not None:
            return self.full
        totals = [sum(s.values[i] for s in self.series) for i in range(len(self.labels))]
        return max(totals, default=0.0) or 1.0


def daily_chart(rows: Sequence[dict[str, Any]]) -> Chart:
    """Per day (every partner and kind together): sets accepted and rejected."""
    days: dict[str, list[int]] = {}
    for row in rows:
        counts = days.setdefault(str(row["day"]), [0, 0])
        counts[0] += int(row["sets_accepted"])
        counts[1] += int(row["sets_rejected"])
    labels = tuple(sorted(days))
    accepted = tuple(float(days[d][0]) for d in labels)
    rejected = tuple(float(days[d][1]) for d in labels)
    return Chart(
        title="Transaction sets per day",
        labels=labels,
        series=(
            Series("accepted", accepted, "green"),
            Series("rejected", rejected, "red", "\u2592"),
        ),
        notes=tuple(f"{days[d][0]} accepted, {days[d][1]} rejected" for d in labels),
        unit="transaction sets",
    )


def partners_chart(rows: Sequence[dict[str, Any]]) -> Chart:
    """Per partner: the share of its sets accepted (IK5 A or E), in percent."""
    labels = tuple(str(r["partner"]) or "(none)" for r in rows)
    rates = tuple(float(r["accepted_pct"] or 0) for r in rows)
    notes = tuple(
        f"{r['accepted_pct']}% of {r['sets']} sets" if r["sets"] else "no sets" for r in rows
    )
    return Chart(
        title="Transaction sets accepted per partner",
        labels=labels,
        series=(Series("accepted", rates, "green"),),
        notes=notes,
        unit="% of sets accepted",
        full=100.0,
    )


__all__ = ["Chart", "Series", "daily_chart", "partners_chart"]
