"""Date ranges over PHI dates, through blind indexes by day and by month.

Service and coverage dates are PHI, so they are stored encrypted and indexed twice:
``<name>_date`` (the day) and ``<name>_month`` (year and month) blind indexes. A range
becomes the digests of the whole months it covers plus those of the days of the
partial months at its ends, matched with ``IN``: at most 62 day digests and one digest
per month, whatever the range, each an index lookup.

The price, as for every blind index: rows with equal dates have equal digests, so
someone who reads the database sees which rows share a date (never which date, without
the index key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, or_

#: the dates a range can reach: an open end stops here, a range beyond is cut to them
EARLIEST, LATEST = date(1900, 1, 1), date(2099, 12, 31)
#: the most month digests of a range (EARLIEST to LATEST)
MAX_MONTHS = (LATEST.year - EARLIEST.year + 1) * 12


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"date range ends ({self.end}) before it starts ({self.start})")


def span(start: date | None, end: date | None) -> DateRange | None:
    """The range from ``start`` to ``end``, ``None`` when neither is given. An open end
    reaches :data:`EARLIEST` or :data:`LATEST` (whole months there: one digest a month)."""
    if start is None and end is None:
        return None
    if start is None:
        return DateRange(min(EARLIEST, end or EARLIEST), end or LATEST)
    return DateRange(start, end if end is not None else max(LATEST, start))


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def split_range(span: DateRange) -> tuple[list[date], list[date]]:
    """(days, months): the days of partial months and the first days of whole months."""
    days: list[date] = []
    months: list[date] = []
    cursor = span.start
    while cursor <= span.end:
        end = _month_end(cursor)
        if cursor.day == 1 and end <= span.end:
            months.append(cursor)
        else:
            last = min(end, span.end)
            days.extend(cursor + timedelta(days=n) for n in range((last - cursor).days + 1))
        cursor = end + timedelta(days=1)
        if len(months) > MAX_MONTHS:
            raise ValueError(f"date range longer than {MAX_MONTHS} months")
    return days, months


def range_condition(
    index: Any, prefix: str, day_column: Any, month_column: Any, span: DateRange
) -> ColumnElement[bool]:
    """``day_column``/``month_column`` match a date in ``span`` (index ``<prefix>_date`` and
    ``<prefix>_month`` of :class:`edi.store.crypto.BlindIndex` ``index``)."""
    days, months = split_range(span)
    parts: list[ColumnElement[bool]] = []
    if days:
        parts.append(day_column.in_([index.digest(f"{prefix}_date", d.isoformat()) for d in days]))
    if months:
        parts.append(
            month_column.in_([index.digest(f"{prefix}_month", m.isoformat()) for m in months])
        )
    return or_(*parts) if parts else false()


__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_MONTHS",
    "DateRange",
    "range_condition",
    "span",
    "split_range",
]
