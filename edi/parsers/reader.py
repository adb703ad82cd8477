"""Streaming X12 reader: delimiters from each ISA, segments with positions, envelope checks.

Reads a byte stream in chunks, so memory stays bounded whatever the file size:
each chunk is split on the segment terminator of the current interchange, and the
unfinished tail is carried into the next chunk. After an IEA the delimiters are
read again from the next ISA, so interchanges with different separators can follow
one another in one file. A chunk is split once however many interchanges it holds:
the next interchange goes on with the same split when its terminator is the same,
and a new terminator re-splits a window that grows as it is used, so the work stays
proportional to the file size.

Encoding: ASCII, UTF-8 with or without a byte-order mark, and latin-1 bytes (a
segment that is not valid UTF-8 is decoded as latin-1). UTF-16 and UTF-32 are
refused with a clear error. Byte offsets are offsets in the file as stored.

Wrapped files: a file cut into fixed 80-byte lines (the mainframe record length many
Medicare contractors and clearinghouses still send 835s and 999s in, breaking segments
anywhere, the ISA itself at byte 80) is recognised by its ISA, whose 106 bytes never hold
a line break otherwise, and read unwrapped: the line break after every 80 bytes is
dropped, any other CR or LF stays data (an invalid character, IK403 6, inside a segment).
:attr:`ReadSummary.wrapped` says so; offsets and lines are then those of the unwrapped
text. CR/LF after a segment terminator (``~\r\n``) is whitespace between segments, as
always.

Fatal conditions (no ISA, a truncated ISA, binary data, a segment with no
terminator within ``max_segment`` bytes) raise :class:`X12SyntaxError` naming the
file and byte offset; everything else is a :class:`Problem` on the envelope it
belongs to, collected in :attr:`X12Reader.summary`.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from edi.errors import X12SyntaxError
from edi.parsers.envelope import EnvelopeTracker
from edi.parsers.segments import (
    SEGMENT,
    Delimiters,
    Group,
    Interchange,
    ReadSummary,
    Segment,
    TransactionSet,
)

CHUNK_SIZE = 1 << 20
MAX_SEGMENT = 1 << 20
#: How far into a chunk the 16 ISA element separators may be looked for.
ISA_SEARCH = 512
#: the line width of wrapped files (fixed 80-byte records): a line break at this offset
#: of the ISA (106 bytes) means the file is wrapped
WRAP_WIDTH = 80
WHITESPACE = " \t\r\n\x0b\x0c"
WHITESPACE_B = WHITESPACE.encode()
#: the first byte that is not whitespace (found without copying the rest of the buffer)
_NOT_WHITESPACE_B = re.compile(rb"[^ \t\r\n\x0b\x0c]")
#: after a change of terminator, the next split covers this many bytes, doubled each time
#: it is used up: a file whose interchanges alternate terminators is split once, not once
#: per interchange
RESPLIT_WINDOW = 512
ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def _control_bytes(allowed: str) -> re.Pattern[bytes]:
    """Bytes that mark binary data: C0 controls and DEL, except whitespace and delimiters."""
    banned = [b for b in [*range(0x20), 0x7F] if chr(b) not in WHITESPACE and chr(b) not in allowed]
    return re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in banned) + b"]")


class ReadStart:
    """Where a reading of part of a file begins (:mod:`edi.parsers.parts`): the stream
    given holds the file's bytes from ``offset`` on, at a segment that is the
    ``ordinal + 1``-th of the file on line ``line``, inside the interchange (read with
    ``delimiters``) and group that ``tracker`` holds open, as a reading of the whole file
    would hold them at that point."""

    def __init__(
        self,
        offset: int,
        ordinal: int,
        line: int,
        tracker: EnvelopeTracker,
        delimiters: Delimiters,
        padded: bool,
    ) -> None:
        self.offset = offset
        self.ordinal = ordinal
        self.line = line
        self.tracker = tracker
        self.delimiters = delimiters
        self.padded = padded


class X12Reader:
    """Iterate the segments of one X12 file or stream.

    >>> reader = X12Reader("claims.x12")            # doctest: +SKIP
    >>> for segment in reader: ...                  # doctest: +SKIP
    >>> reader.summary.problems                     # doctest: +SKIP
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        name: str | None = None,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_segment: int = MAX_SEGMENT,
        start: ReadStart | None = None,
        finish: bool = True,
    ) -> None:
        """``start``: the stream holds a part of a file, read from that point (the
        envelopes it is in already open); else a whole file. ``finish``: the stream ends
        the file (envelopes still open at its end lack their trailers)."""
        if isinstance(source, (str, os.PathLike)):
            self._path: Path | None = Path(source)
            self._stream: BinaryIO | None = None
            self.name = name or str(source)
        else:
            self._path = None
            self._stream = source
            self.name = name or str(getattr(source, "name", "<stream>"))
        self.chunk_size = chunk_size
        self.max_segment = max_segment
        self.summary = ReadSummary(self.name)
        #: bytes cut into segments so far: the reader's work, the file size (plus at most
        #: a window per change of terminator), never a multiple of it
        self.split_bytes = 0
        self.start = start
        self.finish = finish
        #: the envelope tracker of the reading (its state where the reading stopped)
        self.tracker: EnvelopeTracker | None = None

    def __iter__(self) -> Iterator[Segment]:
        if self._path is not None:
            with self._path.open("rb") as stream:
                yield from self._segments(stream)
        else:
            assert self._stream is not None
            yield from self._segments(self._stream)

    # -- errors ------------------------------------------------------------------
    def _fail(self, message: str, offset: int, ordinal: int, code: str) -> X12SyntaxError:
        return X12SyntaxError(message, file=self.name, offset=offset, ordinal=ordinal, code=code)

    # -- the reading loop --------------------------------------------------------
    def _segments(self, stream: BinaryIO) -> Iterator[Segment]:
        summary = self.summary
        begin = self.start
        if begin is None:
            tracker = EnvelopeTracker(self.name, summary.problems)
        else:
            tracker = begin.tracker
            tracker.problems = summary.problems
        self.tracker = tracker
        read: Callable[[int], bytes] = stream.read
        chunk_size = self.chunk_size
        max_segment = self.max_segment
        known_ids: set[str] = set()
        #: the binary-data pattern of each set of delimiters met (one per file, as a rule)
        binaries: dict[str, re.Pattern[bytes]] = {}

        first = read(chunk_size)
        if begin is None:
            buf, base = self._check_encoding(first, 0)
            width = _wrapped_width(buf)
        else:  # a part: its bytes as they are, from a segment of the file
            buf, base, width = first, begin.offset, 0
        if width:
            summary.wrapped = width
            unwrap = _Unwrap(width, read)
            read = unwrap.read
            buf, base = unwrap.first(buf), 0
        eof = not first
        start = 0  # index in buf of the first byte not yet consumed
        line = 1 if begin is None else begin.line
        ordinal = 0 if begin is None else begin.ordinal
        last: Segment | None = None
        # The split of the buffer in progress, kept across an IEA: the next interchange
        # goes on from piece ``resume`` when its terminator is the same (and the buffer
        # was not refilled), so the rest of the chunk is split once, not once per
        # interchange.
        pieces: list[str] = []
        sizes: list[int] | None = None
        cut = 0
        has_binary = False
        resume = -1  # index of the next piece to read in ``pieces``, -1: split anew
        resume_offset = resume_line = 0
        split_term = ""
        split_binary = b""
        window = 0  # bytes to split at most, 0: up to the last terminator in the buffer

        while True:
            if begin is not None:  # a part: inside the interchange its start names
                delims, padded = begin.delimiters, begin.padded
            else:
                # ---- the next ISA: skip whitespace, make sure the whole ISA is buffered
                while True:
                    found = _NOT_WHITESPACE_B.search(buf, start)
                    skipped = (len(buf) if found is None else found.start()) - start
                    line += buf.count(b"\n", start, start + skipped)
                    start += skipped
                    if start < len(buf) and (len(buf) - start >= ISA_SEARCH or eof):
                        break
                    if eof:
                        break
                    more = read(chunk_size)
                    eof = not more
                    if more:  # else the buffer and the split in progress stay as they are
                        buf = buf[start:] + more
                        base += start
                        start = 0
                        resume = -1
                if start >= len(buf):
                    if ordinal == 0:
                        raise self._fail("empty file: no ISA segment", base + start, 0, "empty")
                    break
                if buf[start : start + 3] != b"ISA":
                    where = (
                        "the file does not start with" if ordinal == 0 else "data after IEA is not"
                    )
                    raise self._fail(f"{where} an ISA segment", base + start, ordinal, "no_isa")
                delims, padded = self._delimiters(
                    buf[start : start + ISA_SEARCH], base + start, ordinal
                )
            term = delims.segment
            term_b = term.encode("latin-1")
            sep = delims.element
            allowed = sep + delims.component + (delims.repetition or "") + term
            found_binary = binaries.get(allowed)
            if found_binary is None:
                found_binary = binaries[allowed] = _control_bytes(allowed)
            binary = found_binary
            newline_terminated = term == "\n"
            if term != split_term:
                resume = -1
                if split_term:
                    window = RESPLIT_WINDOW
            elif resume >= 0:
                # the same terminator: go on with the split already made; binary bytes
                # are looked for segment by segment when the delimiters differ
                offset = resume_offset
                line = resume_line
                if binary.pattern != split_binary:
                    has_binary = True
            ic: Interchange | None = None
            grp: Group | None = None
            if begin is not None:
                ic, grp = tracker.interchange, tracker.group
                begin = None  # a later interchange begins at its ISA
            ts: TransactionSet | None = None
            set_ordinal = 0
            next_interchange = False

            # ---- split segments until IEA (or the next ISA) -----------------------
            while not next_interchange:
                if resume >= 0:
                    from_piece = resume
                    resume = -1
                else:
                    limit = len(buf)
                    if window and start + window < limit:
                        limit = start + window
                    cut = buf.rfind(term_b, start, limit)
                    if cut < 0 and limit < len(buf):
                        window *= 2
                        continue
                    if cut < 0:
                        if not eof:
                            if len(buf) - start > max_segment:
                                head = buf[start : start + 256]
                                raise self._fail(
                                    f"no segment terminator {term!r} within {max_segment} bytes",
                                    base + start + len(head) - len(head.lstrip(WHITESPACE_B)),
                                    ordinal,
                                    "no_terminator",
                                )
                            more = read(chunk_size)
                            eof = not more
                            buf = buf[start:] + more
                            base += start
                            start = 0
                            continue
                        if not buf[start:].strip(WHITESPACE_B):
                            start = len(buf)
                            break
                        cut = len(buf)  # the last segment has no terminator
                    region = buf[start:cut]
                    self.split_bytes += len(region)
                    has_binary = binary.search(region) is not None
                    if region.isascii():
                        pieces = region.decode("latin-1").split(term)
                        sizes = None
                    else:
                        raw_pieces = region.split(term_b)
                        pieces = [self._decode(p) for p in raw_pieces]
                        sizes = [len(p) for p in raw_pieces]
                    offset = base + start
                    from_piece = 0
                    split_term = term
                    split_binary = binary.pattern
                for index in range(from_piece, len(pieces)):
                    piece = pieces[index]
                    size = len(piece) if sizes is None else sizes[index]
                    text = piece.lstrip(WHITESPACE)
                    lead = len(piece) - len(text)
                    seg_offset = offset + lead
                    if lead == 1 and piece[0] == "\n":  # the usual line break between segments
                        seg_line = line + 1
                    elif lead:
                        seg_line = line + piece.count("\n", 0, lead)
                    else:
                        seg_line = line
                    if not text:
                        offset += size + 1
                        line += piece.count("\n") + newline_terminated
                        continue
                    if padded:
                        text = text.rstrip(WHITESPACE)
                    elements = text.split(sep)
                    seg_id = elements[0]
                    if seg_id == "ISA" and ic is not None:
                        # an ISA before this interchange's IEA: read its delimiters anew
                        resume, resume_offset, resume_line = index, offset, line
                        start = offset - base + lead
                        line = seg_line
                        next_interchange = True
                        break
                    offset += size + 1
                    line += piece.count("\n") + newline_terminated
                    ordinal += 1
                    if has_binary:
                        hit = binary.search(text.encode("latin-1", "replace"))
                        if hit is not None:
                            raise self._fail(
                                f"binary data (byte 0x{hit.group()[0]:02x}) in a segment",
                                seg_offset,
                                ordinal,
                                "binary",
                            )
                    if ts is not None and seg_id not in ENVELOPE_IDS:
                        set_ordinal += 1
                        seg = Segment(
                            seg_id,
                            elements,
                            ordinal,
                            set_ordinal,
                            seg_offset,
                            seg_line,
                            ic,
                            grp,
                            ts,
                            text,
                        )
                    elif seg_id not in ENVELOPE_IDS:
                        seg = Segment(
                            seg_id, elements, ordinal, 0, seg_offset, seg_line, ic, grp, None, text
                        )
                        if _SEGMENT_ID.match(seg_id) is not None:  # else reported below
                            tracker.stray(seg)
                    else:
                        seg = Segment(
                            seg_id, elements, ordinal, 0, seg_offset, seg_line, ic, grp, None, text
                        )
                        if seg_id == "ST":
                            ts = tracker.st(seg)
                            set_ordinal = 1 if ts is not None else 0
                            seg.set_ordinal = set_ordinal
                        elif seg_id == "SE":
                            if ts is not None:
                                set_ordinal += 1
                                seg.set_ordinal = set_ordinal
                                seg.transaction = ts
                            tracker.se(seg, set_ordinal)
                            ts = None
                            set_ordinal = 0
                        elif seg_id == "GS":
                            grp = tracker.gs(seg)
                            ts = None
                            set_ordinal = 0
                        elif seg_id == "GE":
                            tracker.ge(seg)
                            grp = ts = None
                            set_ordinal = 0
                        elif seg_id == "ISA":
                            ic = tracker.isa(seg, delims, len(text))
                            grp = ts = None
                            set_ordinal = 0
                        else:  # IEA
                            tracker.iea(seg)
                            ic = grp = ts = None
                            set_ordinal = 0
                            start = offset - base
                            resume, resume_offset, resume_line = index + 1, offset, line
                            next_interchange = True
                            last = seg
                            yield seg
                            break
                    if seg_id not in known_ids:  # the first of its id, or no segment id
                        if _SEGMENT_ID.match(seg_id) is None:
                            tracker.add(
                                ts or grp or ic,
                                SEGMENT,
                                "1",
                                "segment identifier is not 2-3 upper-case letters or digits",
                                seg.position(),
                            )
                        else:
                            known_ids.add(seg_id)
                    last = seg
                    yield seg
                else:
                    start = cut + len(term_b)
                    if window:  # grow the window; once it covers the buffer, drop it
                        window = 0 if 2 * window >= len(buf) else 2 * window
            if start >= len(buf) and eof:
                break

        summary.segments = ordinal
        if self.finish:
            tracker.finish(last)
        summary.size = base + len(buf)
        summary.interchanges = tracker.interchanges
        summary.groups = tracker.groups
        summary.transactions = tracker.transactions

    def _decode(self, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.summary.encoding = "latin-1"
            return raw.decode("latin-1")
        if self.summary.encoding == "ascii":
            self.summary.encoding = "utf-8"
        return text

    def _check_encoding(self, buf: bytes, base: int) -> tuple[bytes, int]:
        for bom, name in _WIDE_BOMS:
            if buf.startswith(bom):
                raise self._fail(
                    f"{name} text is not supported: convert the file to UTF-8 or ASCII",
                    0,
                    0,
                    "encoding",
                )
        head = buf[:64]
        if b"\x00" in head[:8] and any(
            half.lstrip(WHITESPACE_B).startswith(b"ISA") for half in (head[::2], head[1::2])
        ):
            raise self._fail(
                "UTF-16 text (no byte-order mark) is not supported: convert the file to UTF-8",
                0,
                0,
                "encoding",
            )
        if buf.startswith(_UTF8_BOM):
            self.summary.bom = True
            self.summary.encoding = "utf-8"
            return buf[3:], base + 3
        return buf, base

    def _delimiters(self, isa: bytes, offset: int, ordinal: int) -> tuple[Delimiters, bool]:
        """Separators from the ISA at the start of ``isa`` (found at byte ``offset``).

        The second value is true when whitespace precedes each terminator and must be
        stripped from segment ends too.
        """
        sep = isa[3:4]
        if not sep:
            raise self._fail(
                f"truncated ISA: {len(isa)} bytes, an ISA has 106", offset, ordinal, "truncated_isa"
            )
        if sep.isalnum() or sep in WHITESPACE_B:
            raise self._fail(
                "ISA element separator is a letter, digit or space",
                offset + 3,
                ordinal,
                "separator",
            )
        # the 16th separator ends ISA15; one split finds it (the 1st is at byte 3)
        parts = isa.split(sep, 16)
        position = len(isa) - len(parts[16]) - 1 if len(parts) == 17 else -1
        if position < 0 or position + 2 >= len(isa):
            if len(isa) >= ISA_SEARCH:
                raise self._fail("ISA does not have 16 elements", offset, ordinal, "truncated_isa")
            raise self._fail(
                f"truncated ISA: {len(isa)} bytes, an ISA has 106", offset, ordinal, "truncated_isa"
            )
        element = sep.decode("latin-1")
        component = isa[position + 1 : position + 2].decode("latin-1")
        terminator = isa[position + 2 : position + 3].decode("latin-1")
        padded = False
        if terminator in "\r\n":
            # "ISA...:\n~GS...": a line break written before the real terminator
            following = isa[position + 2 :].lstrip(WHITESPACE_B)[:1].decode("latin-1")
            if following and not following.isalnum() and following not in (element, component):
                terminator = following
                padded = True
        if component.isalnum() or component in (element, " "):
            raise self._fail(
                "ISA16 component separator is not a delimiter",
                offset + position + 1,
                ordinal,
                "separator",
            )
        if terminator.isalnum() or terminator in (element, component, " "):
            raise self._fail(
                "the byte after ISA16 (the segment terminator) is not a delimiter",
                offset + position + 2,
                ordinal,
                "terminator",
            )
        fields = isa[:position].decode("latin-1").split(element)
        repetition: str | None = None
        if len(fields) == 16 and fields[12] >= "00402":
            candidate = fields[11]
            if (
                len(candidate) == 1
                and not candidate.isalnum()
                and candidate not in (element, component, terminator, " ")
            ):
                repetition = candidate
        return Delimiters(element, component, terminator, repetition), padded


def _wrapped_width(buf: bytes) -> int:
    """``WRAP_WIDTH`` when the file's ISA (after leading whitespace) is cut by a line break
    at byte ``WRAP_WIDTH``, as in a file wrapped into fixed lines; else 0."""
    found = _NOT_WHITESPACE_B.search(buf)
    if found is None or found.start() != 0 or not buf.startswith(b"ISA"):
        return 0
    head = buf[: WRAP_WIDTH + 2]
    if b"\n" in head[:WRAP_WIDTH] or b"\r" in head[:WRAP_WIDTH]:
        return 0
    return WRAP_WIDTH if head[WRAP_WIDTH : WRAP_WIDTH + 1] in (b"\r", b"\n") else 0


class _Unwrap:
    """A wrapped file's bytes with the line break after every ``width`` bytes dropped."""

    def __init__(self, width: int, read: Callable[[int], bytes]) -> None:
        self.width = width
        self.source = read
        self.column = 0  # bytes of the current line taken so far
        self.pending_lf = False  # a CR ended a line: an LF right after it belongs to it

    def first(self, buf: bytes) -> bytes:
        return self.unwrap(buf)

    def read(self, size: int) -> bytes:
        return self.unwrap(self.source(size))

    def unwrap(self, data: bytes) -> bytes:
        out = bytearray()
        i, n, width = 0, len(data), self.width
        while i < n:
            if self.pending_lf:
                self.pending_lf = False
                if data[i] == 0x0A:
                    i += 1
                    continue
            if self.column == width:
                byte = data[i]
                if byte == 0x0D or byte == 0x0A:
                    self.column = 0
                    self.pending_lf = byte == 0x0D
                    i += 1
                    continue
                self.column = 0  # not a line break: a longer line; keep counting
            take = min(width - self.column, n - i)
            out += data[i : i + take]
            self.column += take
            i += take
        return bytes(out)


def read_segments(
    source: str | os.PathLike[str] | BinaryIO | bytes, name: str | None = None
) -> Iterator[Segment]:
    """Segments of an X12 file, path, stream or bytes."""
    if isinstance(source, bytes):
        return iter(X12Reader(io.BytesIO(source), name or "<bytes>"))
    return iter(X12Reader(source, name))


__all__ = ["ReadStart", "X12Reader", "read_segments"]
