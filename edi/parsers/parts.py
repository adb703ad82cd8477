"""One file in parts: split points at transaction sets, each part read on its own.

A file's transaction sets are independent for validation and parsing; what ties them is
the envelope (counts, control numbers, the interchange and group a set is in) and the
positions (segment ordinal, line). :func:`plan` finds split points with a fast scan of
the bytes (``bytes.find`` and ``count``, no segment made): each is the ST of a set whose
previous segment is an SE, and is told with everything a reading of the whole file knows
there (ST after an SE or a GS: no set open): its byte offset, segment ordinal and line,
the ISA and GS it is in, the envelope
counters and the control numbers read before it in its interchange and group.
:func:`read_start` turns that into the :class:`~edi.parsers.reader.ReadStart` of a
reader of the part, whose :class:`~edi.parsers.envelope.EnvelopeTracker` is in the same
state as the whole file's would be; a part's reading reports the state it ended in
(:func:`end_state`), which must equal the state planned for the next part, or the parts
are not used (the caller reads the file whole again). So a plan that is wrong (a file
the scan reads otherwise than the reader) costs time, never a different answer.

:func:`validate_part` judges the sets of a part, packed as builtins (tuples, lists,
strings: what ``marshal`` carries between processes); :func:`join` puts the parts back
in file order and judges the envelopes once (:func:`~edi.parsers.validate.fold_envelopes`),
so the :class:`~edi.parsers.results.FileResult` equals that of one reading.

Files not split (:func:`plan` returns None): a byte-order mark, leading whitespace, a
wrapped file, a terminator that is whitespace or padded with it, interchanges with another
terminator or element separator than the first's, no ST after an SE or a GS to split at. Inside one set nothing
is split.
"""

from __future__ import annotations

import mmap
import os
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from edi.errors import X12SyntaxError
from edi.parsers.envelope import DUPLICATE_INTERCHANGE, EnvelopeTracker
from edi.parsers.reader import ISA_SEARCH, WHITESPACE_B, ReadStart, X12Reader, _wrapped_width
from edi.parsers.results import (
    ElementError,
    FileResult,
    GroupResult,
    InterchangeResult,
    LevelTable,
    Location,
    SegmentError,
    TransactionResult,
)
from edi.parsers.segments import INTERCHANGE, Delimiters, Position, Problem, Segment
from edi.parsers.validate import Validator, fold_envelopes

#: bytes read at a time when counting terminators and line breaks
SCAN_BLOCK = 1 << 22
_WS = frozenset(WHITESPACE_B)


@dataclass(frozen=True)
class Envelope:
    """An envelope header (ISA or GS) as the scan found it: where, and its text."""

    offset: int
    ordinal: int
    line: int
    text: str


@dataclass(frozen=True)
class Part:
    """A byte range of a file, ``offset`` to ``end``, beginning at an ST (or the file's
    start), with what a reading of the whole file knows at its first byte."""

    offset: int
    end: int
    ordinal: int = 0
    line: int = 1
    isa: Envelope | None = None
    gs: Envelope | None = None
    #: interchanges, groups and sets read before the part (the tracker's counters)
    interchanges: int = 0
    groups: int = 0
    transactions: int = 0
    #: groups of its interchange and sets of its group read before it
    group_count: int = 0
    transaction_count: int = 0
    #: (ISA05, ISA06, ISA13) of every interchange read before it, GS06 of its
    #: interchange's groups, ST02 of its group's sets
    seen: frozenset[tuple[str, str, str]] = frozenset()
    group_controls: frozenset[str] = frozenset()
    set_controls: frozenset[str] = frozenset()
    last: bool = False
    #: its interchange repeats an earlier one's (ISA05, ISA06, ISA13): TA1 025
    repeats: bool = False
    #: the delimiters of the interchange it begins in
    delimiters: Delimiters | None = None


class _Limited:
    """A binary stream of a file's bytes from ``start`` to ``end``."""

    def __init__(self, stream: BinaryIO, start: int, end: int) -> None:
        stream.seek(start)
        self.stream = stream
        self.left = end - start

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        if size < 0 or size > self.left:
            size = self.left
        data = self.stream.read(size)
        self.left -= len(data)
        return data


def _segment_start(data: mmap.mmap, pos: int, term: int) -> bool:
    """Whether ``pos`` begins a segment: the file's start, or a terminator before it
    (whitespace between)."""
    i = pos - 1
    while i >= 0 and data[i] in _WS:
        i -= 1
    return i < 0 or data[i] == term


def _text_at(data: mmap.mmap, pos: int, term: bytes) -> str:
    """The segment text starting at ``pos`` (up to its terminator), as the reader decodes it."""
    end = data.find(term, pos)
    raw = data[pos : end if end >= 0 else len(data)]
    text = raw.lstrip(WHITESPACE_B)
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def _after_set(data: mmap.mmap, pos: int, term: bytes, sep: bytes) -> bool:
    """Whether the segment before the one at ``pos`` ends a set (SE) or begins a group
    (GS): no set is open there."""
    i = pos - 1
    while i >= 0 and data[i] in _WS:
        i -= 1
    if i < 0:
        return False
    j = data.rfind(term, 0, i)
    before = bytes(data[j + 1 : i]).lstrip(WHITESPACE_B)
    return before.startswith(b"SE" + sep) or before.startswith(b"GS" + sep)


def plan(path: str | os.PathLike[str], count: int, min_bytes: int = 1 << 20) -> list[Part] | None:
    """Up to ``count`` parts of the file at ``path``, each ``min_bytes`` or more, split at
    sets of about equal size; None when the file is not split (see the module docstring)."""
    parts = plan_lazily(path, count, min_bytes)
    return None if parts is None else list(parts)


def plan_lazily(
    path: str | os.PathLike[str], count: int, min_bytes: int = 1 << 20
) -> Iterator[Part] | None:
    """:func:`plan`, the split points found at once and each part counted as it is asked
    for, so a worker can begin the first part while the next ones are counted."""
    if count < 2 or os.path.getsize(path) < 2 * min_bytes:
        return None
    handle = open(path, "rb")  # noqa: SIM115 - closed when the parts are counted
    data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    found = _plan(data, handle, str(path), os.fstat(handle.fileno()).st_size, count, min_bytes)
    if found is None:
        data.close()
        handle.close()
        return None
    return _closing(found, data, handle)


def _closing(parts: Iterator[Part], data: mmap.mmap, handle: BinaryIO) -> Iterator[Part]:
    try:
        yield from parts
    finally:
        data.close()
        handle.close()


def _plan(
    data: mmap.mmap, handle: BinaryIO, name: str, size: int, count: int, min_bytes: int
) -> Iterator[Part] | None:
    head = bytes(data[:ISA_SEARCH])
    if not head.startswith(b"ISA") or _wrapped_width(head):
        return None
    reader = X12Reader(handle, name)
    try:
        delims, padded = reader._delimiters(head, 0, 0)
    except X12SyntaxError:
        return None
    if padded or delims.segment.encode("latin-1") in WHITESPACE_B:
        return None
    term = delims.segment.encode("latin-1")
    sep = delims.element.encode("latin-1")
    term_byte = term[0]
    starts: list[tuple[int, bytes]] = []
    for kind in (b"ISA", b"GS", b"ST"):
        needle = kind + sep
        pos = data.find(needle)
        while pos >= 0:
            if _segment_start(data, pos, term_byte):
                starts.append((pos, kind))
            pos = data.find(needle, pos + 1)
    starts.sort()
    # each interchange's delimiters; the scan finds segments by the first's terminator and
    # element separator, so the others must have the same
    isa_delims: dict[int, Delimiters] = {}
    for pos, kind in starts:
        if kind == b"ISA":
            try:
                found, padded = reader._delimiters(bytes(data[pos : pos + ISA_SEARCH]), pos, 0)
            except X12SyntaxError:
                return None
            if padded or (found.element, found.segment) != (delims.element, delims.segment):
                return None
            isa_delims[pos] = found
    # split points: the first ST after each 1/count of the file that follows an SE or a GS
    splits: list[int] = []
    sts = [pos for pos, kind in starts if kind == b"ST"]
    index = 0
    for k in range(1, count):
        target = max(size * k // count, (splits[-1] if splits else 0) + min_bytes)
        while index < len(sts) and sts[index] < target:
            index += 1
        while index < len(sts) and not _after_set(data, sts[index], term, sep):
            index += 1
        if index >= len(sts) or size - sts[index] < min_bytes:
            break
        splits.append(sts[index])
        index += 1
    if not splits:
        return None
    return _parts(data, handle, starts, splits, size, delims, isa_delims)


def _parts(
    data: mmap.mmap,
    handle: BinaryIO,
    starts: list[tuple[int, bytes]],
    splits: list[int],
    size: int,
    delims: Delimiters,
    isa_delims: dict[int, Delimiters],
) -> Iterator[Part]:
    """The parts at ``splits``, with the ordinals, lines and envelope state the scan counts."""
    term = delims.segment.encode("latin-1")
    empty = re.compile(re.escape(term) + rb"[ \t\r\n\x0b\x0c]*(?=" + re.escape(term) + b")")
    wanted = sorted({pos for pos, kind in starts if kind != b"ST"} | set(splits))
    ordinals: dict[int, tuple[int, int]] = {}
    counted = {"done": 0, "terms": 0, "lines": 0, "empties": 0, "next": 0}
    handle.seek(0)

    def count_to(limit: int) -> None:
        """The ordinal and line of every wanted offset up to ``limit``."""
        while counted["next"] < len(wanted) and wanted[counted["next"]] <= limit:
            pos = wanted[counted["next"]]
            counted["next"] += 1
            while counted["done"] < pos:
                block = handle.read(min(SCAN_BLOCK, pos - counted["done"]))
                counted["terms"] += block.count(term)
                counted["lines"] += block.count(b"\n")
                counted["done"] += len(block)
            # a segment start: the pieces before it, less those only whitespace
            start = ordinals_end(ordinals)
            counted["empties"] += len(empty.findall(cast(bytes, data), start, pos))
            ordinals[pos] = (counted["terms"] - counted["empties"], 1 + counted["lines"])

    bounds = [0, *splits, size]
    isa: Envelope | None = None
    gs: Envelope | None = None
    interchanges = groups = transactions = group_count = transaction_count = 0
    repeats = False
    seen: set[tuple[str, str, str]] = set()
    group_controls: set[str] = set()
    set_controls: set[str] = set()
    position = 0
    sep_text = delims.element
    for number, (begin, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        count_to(begin)
        while position < len(starts) and starts[position][0] < begin:
            pos, kind = starts[position]
            position += 1
            text = _text_at(data, pos, term)
            elements = text.split(sep_text)
            if kind == b"ISA":
                ordinal, line = ordinals[pos]
                isa = Envelope(pos, ordinal + 1, line, text)
                gs = None
                interchanges += 1
                group_count = transaction_count = 0
                key = (
                    (elements[5].strip(), elements[6].strip(), elements[13])
                    if len(elements) > 13
                    else ("", "", "")
                )
                repeats = key in seen
                seen.add(key)
                group_controls = set()
                set_controls = set()
            elif kind == b"GS":
                ordinal, line = ordinals[pos]
                gs = Envelope(pos, ordinal + 1, line, text)
                groups += 1
                group_count += 1
                transaction_count = 0
                group_controls.add(elements[6] if len(elements) > 6 else "")
                set_controls = set()
            else:
                transactions += 1
                transaction_count += 1
                set_controls.add(elements[2] if len(elements) > 2 else "")
        ordinal, line = ordinals.get(begin, (0, 1))
        yield (
            Part(
                begin,
                end,
                ordinal,
                line,
                isa if number else None,
                gs if number else None,
                interchanges,
                groups,
                transactions,
                group_count,
                transaction_count,
                frozenset(seen),
                frozenset(group_controls),
                frozenset(set_controls),
                number == len(bounds) - 2,
                repeats,
                isa_delims[isa.offset] if isa is not None else delims,
            )
        )


def ordinals_end(ordinals: dict[int, tuple[int, int]]) -> int:
    """The last offset counted so far (0 at first)."""
    return next(reversed(ordinals)) if ordinals else 0


def _header(envelope: Envelope, delims: Delimiters) -> Segment:
    elements = envelope.text.split(delims.element)
    return Segment(
        elements[0],
        elements,
        envelope.ordinal,
        0,
        envelope.offset,
        envelope.line,
        None,
        None,
        None,
        envelope.text,
    )


def read_start(part: Part, name: str, *, records: bool = False) -> ReadStart | None:
    """The reader's start of ``part``: its envelopes open in a tracker in the state a
    reading of the whole file has there (None for the file's first part). ``records``: for
    the normalizer, which makes no records of an interchange that repeats an earlier one
    (its TA1 025 is kept on the interchange; validation has it from the part that read
    the ISA)."""
    if part.isa is None or part.gs is None or part.delimiters is None:
        return None
    delims = part.delimiters
    tracker = EnvelopeTracker(name, [])
    isa = _header(part.isa, delims)
    ic = tracker.isa(isa, delims, len(part.isa.text))
    gs = _header(part.gs, delims)
    group = tracker.gs(gs)
    assert group is not None
    # what the whole reading had found by then; the problems of these headers are
    # that reading's, told by the part that read them
    tracker.problems.clear()
    ic.problems.clear()
    group.problems.clear()
    if records and part.repeats:
        ic.problems.append(
            Problem(
                INTERCHANGE, DUPLICATE_INTERCHANGE, "repeats an earlier interchange", isa.position()
            )
        )
    tracker.interchanges, tracker.groups = part.interchanges, part.groups
    tracker.transactions = part.transactions
    tracker.seen = set(part.seen)
    ic.index = part.interchanges
    ic.group_count = part.group_count
    ic.controls = set(part.group_controls)
    group.index = part.group_count
    group.transaction_count = part.transaction_count
    group.controls = set(part.set_controls)
    return ReadStart(part.offset, part.ordinal, part.line, tracker, delims, False)


State = tuple[object, ...]


def planned_state(part: Part) -> State:
    """The envelope state the part begins in, to compare with :func:`end_state`."""
    return (
        part.ordinal,
        part.isa.offset if part.isa else -1,
        part.gs.offset if part.gs else -1,
        part.interchanges,
        part.groups,
        part.transactions,
        part.group_count,
        part.transaction_count,
        part.seen,
        part.group_controls,
        part.set_controls,
    )


def end_state(reader: X12Reader) -> State:
    """The envelope state a part's reading ended in (a set still open: no state)."""
    tracker = reader.tracker
    if tracker is None or tracker.transaction is not None:
        return ()
    ic, group = tracker.interchange, tracker.group
    return (
        reader.summary.segments,
        ic.header.offset if ic is not None else -1,
        group.header.offset if group is not None else -1,
        tracker.interchanges,
        tracker.groups,
        tracker.transactions,
        ic.group_count if ic is not None else 0,
        group.transaction_count if group is not None else 0,
        frozenset(tracker.seen),
        frozenset(ic.controls) if ic is not None else frozenset(),
        frozenset(group.controls) if group is not None else frozenset(),
    )


def part_reader(
    stream: BinaryIO, part: Part, name: str, *, records: bool = False, to_end: bool = False
) -> X12Reader:
    """A reader of ``part`` of the file open as ``stream`` (``to_end``: and of the rest
    of the file after it); ``records``: see :func:`read_start`."""
    end = os.fstat(stream.fileno()).st_size if to_end else part.end
    return X12Reader(
        _Limited(stream, part.offset, end),  # type: ignore[arg-type]
        name,
        start=read_start(part, name, records=records),
        finish=part.last or to_end,
    )


# -- validation of a part, as builtins ----------------------------------------------------

Packed = tuple[object, ...]


def validate_part(validator: Validator, path: str, part: Part, name: str) -> Packed:
    """The sets of ``part`` judged, and its envelopes as read (not judged), packed; a
    reading that stops (not X12) packs its reason, the caller reads the file whole."""
    with open(path, "rb") as stream:
        reader = part_reader(stream, part, name)
        try:
            _result, ics, groups = validator.validate_part(reader)
        except X12SyntaxError as exc:
            return ("fatal", str(exc))
        state = end_state(reader) if not part.last else ()
    packed_ics = []
    group_of = {id(gr): (grp, gr) for grp, gr in groups}
    for ic, ir in ics:
        packed_groups = []
        for gr in ir.groups:
            grp, _ = group_of[id(gr)]
            packed_groups.append(
                (
                    gr.functional_id,
                    gr.control,
                    gr.version,
                    gr.sender,
                    gr.receiver,
                    gr.declared_count,
                    [_pack_problem(p) for p in grp.problems],
                    [_pack_set(tr) for tr in gr.transactions],
                )
            )
        packed_ics.append(
            (
                ir.control,
                ir.sender_qualifier,
                ir.sender_id,
                ir.receiver_qualifier,
                ir.receiver_id,
                ir.date,
                ir.time,
                ir.version,
                ir.usage,
                ir.ack_requested,
                [_pack_problem(p) for p in ic.problems],
                list(ic.answers),
                packed_groups,
            )
        )
    return ("ok", state, packed_ics)


def _pack_problem(problem: Problem) -> tuple[object, ...]:
    p = problem.position
    return (
        problem.level,
        problem.code,
        problem.message,
        (p.file, p.ordinal, p.set_ordinal, p.offset, p.line, p.segment_id)
        + (p.element, p.component, p.repeat),
    )


def _unpack_problem(packed: tuple[object, ...]) -> Problem:
    level, code, message, where = packed
    return Problem(
        cast(str, level),
        cast(str, code),
        cast(str, message),
        Position(*cast("tuple[Any, ...]", where)),
    )


def _pack_location(loc: Location) -> tuple[object, ...]:
    return (
        loc.file,
        loc.interchange,
        loc.group,
        loc.transaction,
        loc.segment_position,
        loc.segment,
        loc.loop,
        loc.ordinal,
        loc.line,
        loc.offset,
    )


def _pack_error(error: SegmentError | ElementError) -> tuple[object, ...]:
    if isinstance(error, ElementError):
        return (
            "E",
            _pack_location(error.location),
            error.element,
            error.code,
            error.message,
            error.component,
            error.repeat,
            error.data_element,
            error.value,
            error.snip,
            error.rule,
            error.category,
            error.status,
            error.severity,
        )
    return (
        "S",
        _pack_location(error.location),
        error.code,
        error.message,
        error.snip,
        error.rule,
        error.category,
        error.status,
        error.severity,
    )


def _unpack_error(packed: tuple[object, ...]) -> SegmentError | ElementError:
    kind, where, *rest = packed
    location = Location(*cast("tuple[Any, ...]", where))
    if kind == "E":
        return ElementError(location, *rest)  # type: ignore[arg-type]
    return SegmentError(location, *rest)  # type: ignore[arg-type]


def _pack_set(tr: TransactionResult) -> tuple[object, ...]:
    levels = tr.levels
    packed_levels: tuple[str, list[tuple[int, int, str]]] = (
        "table" if isinstance(levels, LevelTable) else "list",
        [tuple(row) for row in levels],  # type: ignore[misc]
    )
    claims = tr.claims
    packed_claims = ("array", list(claims)) if isinstance(claims, array) else ("list", list(claims))
    return (
        tr.set_id,
        tr.control,
        tr.version,
        tr.reference,
        tr.ack_code,
        list(tr.syntax_codes),
        [_pack_error(e) for e in tr.errors],
        tr.segment_count,
        tr.map_file,
        list(tr.warnings),
        packed_levels,
        packed_claims,
    )


def _unpack_set(packed: tuple[object, ...]) -> TransactionResult:
    (set_id, control, version, reference, ack, syntax, errors, count, map_file, warnings) = packed[
        :10
    ]
    levels_kind, rows = cast("tuple[Any, ...]", packed[10])
    claims_kind, claim_rows = cast("tuple[Any, ...]", packed[11])
    tr = TransactionResult(
        cast(str, set_id), cast(str, control), cast(str, version), cast(str, reference)
    )
    tr.ack_code = cast(str, ack)
    tr.syntax_codes = list(cast("list[Any]", syntax))
    tr.errors = [_unpack_error(e) for e in cast("list[Any]", errors)]
    tr.segment_count = cast(int, count)
    tr.map_file = cast(str, map_file)
    tr.warnings = list(cast("list[Any]", warnings))
    if levels_kind == "table":
        table = LevelTable()
        for ordinal, parent, loop in rows:
            table.append(ordinal, parent, loop)
        tr.levels = table
    else:
        tr.levels = [tuple(row) for row in rows]
    tr.claims = array("q", claim_rows) if claims_kind == "array" else list(claim_rows)
    return tr


def join(name: str, parts: list[Part], packed: list[Packed]) -> FileResult | None:
    """The file's result from its parts' (in file order), its envelopes judged; None when a
    part stopped reading or did not end in the state the next one was planned to begin in
    (the caller then reads the file whole)."""
    result = FileResult(name)
    ic_problems: list[list[Problem]] = []
    ic_answers: list[list[tuple[str, ...]]] = []
    group_problems: list[list[Problem]] = []
    for number, (part, item) in enumerate(zip(parts, packed, strict=True)):
        if item[0] != "ok":
            return None
        _, state, ics = item
        if not part.last and state != planned_state(parts[number + 1]):
            return None
        for index, packed_ic in enumerate(cast("list[Any]", ics)):
            (*fields, problems, answers, groups) = packed_ic
            continued = number > 0 and index == 0
            if continued:
                ir = result.interchanges[-1]
            else:
                ir = InterchangeResult(*fields)
                result.interchanges.append(ir)
                ic_problems.append([])
                ic_answers.append([])
            ic_problems[-1].extend(_unpack_problem(p) for p in problems)
            ic_answers[-1].extend(tuple(a) for a in answers)
            for group_index, packed_group in enumerate(groups):
                (*group_fields, declared, problems, sets) = packed_group
                if continued and group_index == 0:
                    gr = ir.groups[-1]
                    if declared:
                        gr.declared_count = declared
                else:
                    gr = GroupResult(*group_fields)
                    gr.declared_count = declared
                    ir.groups.append(gr)
                    group_problems.append([])
                group_problems[-1].extend(_unpack_problem(p) for p in problems)
                gr.transactions.extend(_unpack_set(s) for s in sets)
    groups = [g for ic in result.interchanges for g in ic.groups]
    fold_envelopes(
        list(zip(groups, group_problems, strict=True)),
        list(zip(result.interchanges, ic_problems, ic_answers, strict=True)),
    )
    return result


def sets_of(result: FileResult) -> Iterator[TransactionResult]:
    """Every set of a result, in file order."""
    for ic in result.interchanges:
        for group in ic.groups:
            yield from group.transactions


__all__ = [
    "Part",
    "join",
    "part_reader",
    "plan",
    "read_start",
    "validate_part",
]
