"""Acknowledgments for damaged envelopes: every TA1 and 999 we write must be valid X12.

Takes the files of the shared corpus, replaces envelope values (ISA ids and qualifiers,
ISA09/ISA10/ISA13, GS01/GS02/GS03/GS06/GS08, ST02/ST03, and the trailers' echoes) with
random text (empty, long digit strings, ``NaN``, non-ASCII, spaces, the delimiters of
another file), validates the result, builds its acknowledgments and checks each one: it
is ASCII, edi's reader finds no problem in it, and edi's validator accepts it (a 999 set
with IK5 A against 005010X231A1, a TA1 interchange without a note).

    PYTHONPATH=. python tools/fuzz_acks.py [--inputs 20000] [--seed 1] [--pyx12-every N]

``--pyx12-every N`` also hands every Nth acknowledgment to pyx12 (slow: a process-wide
parse of its maps per file), which must accept it with no error.

Prints the counts; exits 1 when an acknowledgment is invalid or anything raised. The
same mutations drive the property test ``tests/unit/test_acks_fuzz.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from edi.parsers.acks import Ack, acknowledgments
from edi.parsers.reader import X12Reader
from edi.parsers.validate import Validator

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("EDI_CORPUS", ROOT.parent / "shared" / "corpus"))
NOW = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)

#: (segment id, element position) of the values mutated
FIELDS: tuple[tuple[str, int], ...] = (
    ("ISA", 5),
    ("ISA", 6),
    ("ISA", 7),
    ("ISA", 8),
    ("ISA", 9),
    ("ISA", 10),
    ("ISA", 13),
    ("ISA", 14),
    ("GS", 1),
    ("GS", 2),
    ("GS", 3),
    ("GS", 6),
    ("GS", 8),
    ("ST", 2),
    ("ST", 3),
    ("SE", 2),
    ("GE", 2),
    ("IEA", 2),
)
#: values worth trying anywhere
SPECIAL = (
    "",
    "NaN",
    "0",
    "000000000",
    "123456789012345678901234567890",
    "é",
    "CAFÉ",
    "ÀÉÎÕÜ",
    "中文",
    "²³",
    "٣٤٥",
    " ",
    "  12",
    "12  ",
    "ZZ",
    "01",
    "XX",
    "HC",
    "PO",
    "FA",
    "999",
    "ABC",
    "005010X222A1",
    "005010X231A1",
    "A" * 40,
    "\t",
    "-1",
    "1.5",
    "991332",
    "2599",
)
TA1 = re.compile(
    r"TA1\*\d{9}\*\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\*([01]\d|2[0-3])[0-5]\d\*[AER]\*0[0-3]\d"
)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ abc-.,!@#$%&()_=+?/\\\"'éü中ßÆ\u00a0²"


@dataclass
class Counts:
    """What a run found."""

    inputs: int = 0
    not_x12: int = 0
    acks: int = 0
    ta1: int = 0
    ack999: int = 0
    invalid: int = 0
    exceptions: int = 0
    unanswered: int = 0
    pyx12_checked: int = 0
    pyx12_refused: int = 0
    failures: list[str] = field(default_factory=list)


def corpus_files() -> list[Path]:
    """The X12 files of the shared corpus (as listed in its manifest)."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CORPUS / r["file"] for r in rows if (CORPUS / r["file"]).exists()]


def random_value(rng: random.Random) -> str:
    """One replacement value: a special one, digits, or random text."""
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(SPECIAL)
    if pick < 0.6:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 20)))


def mutate(data: bytes, changes: list[tuple[int, int, str, bool]]) -> bytes:
    """``data`` with envelope values replaced.

    Each change is (index into :data:`FIELDS`, which occurrence of that segment, value,
    pad): ``pad`` keeps an ISA value at its fixed width (padded with spaces or cut), so that
    the ISA stays 106 characters and the reader can still find the delimiters.
    """
    text = data.decode("utf-8", "surrogateescape")
    start = text.find("ISA")
    if start < 0 or len(text) < start + 106:
        return data
    element, terminator = text[start + 3], text[start + 105]
    pieces = text.split(terminator)
    for field_index, occurrence, value, pad in changes:
        seg_id, position = FIELDS[field_index % len(FIELDS)]
        found = [i for i, p in enumerate(pieces) if p.lstrip().split(element, 1)[0] == seg_id]
        if not found:
            continue
        i = found[occurrence % len(found)]
        lead = pieces[i][: len(pieces[i]) - len(pieces[i].lstrip())]
        parts = pieces[i].lstrip().split(element)
        if position >= len(parts):
            continue
        if seg_id == "ISA" and pad:
            width = len(parts[position])
            value = value[:width].ljust(width)
        parts[position] = value
        pieces[i] = lead + element.join(parts)
    return terminator.join(pieces).encode("utf-8", "surrogateescape")


def ack_problem(validator: Validator, ack: Ack) -> str | None:
    """Why ``ack`` is not valid X12 by edi's own reader and validator, or None."""
    try:
        raw = ack.text.encode("ascii")
    except UnicodeEncodeError:
        return f"{ack.kind} is not ASCII"
    reader = X12Reader(io.BytesIO(raw), "ack")
    for _ in reader:
        pass
    if reader.summary.problems:
        return f"{ack.kind}: reader problems {[p.code for p in reader.summary.problems]}"
    result = validator.validate(io.BytesIO(raw), "ack")
    if result.fatal is not None:
        return f"{ack.kind}: not X12"
    (ic,) = result.interchanges
    if ic.ta1_code != "A" or ic.notes:
        return f"{ack.kind}: interchange notes {ic.notes}"
    sets = [t for g in ic.groups for t in g.transactions]
    if ack.kind in ("999", "997"):
        if len(sets) != 1 or sets[0].ack_code != "A":
            found = [(e.location.segment, e.element, e.code) for t in sets for e in t.errors]
            codes = [t.syntax_codes for t in sets]
            return f"{ack.kind} rejected by its guide: {codes} {found[:5]}"
    elif sets:
        return "TA1 with sets"
    else:
        # the validator reads TA1 as envelope: check its elements here (I12, I08, I09, I17, I18)
        ta1 = raw.decode().split("~\n")[1]
        if not TA1.fullmatch(ta1):
            return "TA1 elements do not fit their types"
    return None


def pyx12_problem(ack: Ack, folder: Path) -> str | None:
    """Why pyx12 refuses ``ack``, or None."""
    from tests.pyx12_oracle import pyx12_accepts

    path = folder / f"ack.{ack.kind.lower()}"
    path.write_text(ack.text)
    ok, errors = pyx12_accepts(path)
    if ok and not errors:
        return None
    return f"{ack.kind} refused by pyx12: {[e.get('code') for e in errors][:5]}"


def check(
    validator: Validator,
    data: bytes,
    counts: Counts,
    label: str,
    pyx12_every: int = 0,
    folder: Path | None = None,
) -> None:
    """Validate one input, build its acknowledgments and check each one."""
    counts.inputs += 1
    result = validator.validate(io.BytesIO(data), label)
    if result.fatal is not None:
        counts.not_x12 += 1
    unanswered: list[str] = []
    numbers = iter(range(1, 10**6))
    acks = acknowledgments(result, lambda: f"{next(numbers):09d}", NOW, unanswered=unanswered)
    counts.unanswered += len(unanswered)
    for ack in acks:
        counts.acks += 1
        if ack.kind == "TA1":
            counts.ta1 += 1
        else:
            counts.ack999 += 1
        problem = ack_problem(validator, ack)
        if problem is None and pyx12_every and folder and counts.acks % pyx12_every == 0:
            counts.pyx12_checked += 1
            problem = pyx12_problem(ack, folder)
            if problem is not None:
                counts.pyx12_refused += 1
        if problem is not None:
            counts.invalid += 1
            counts.failures.append(f"{label}: {problem}")


def run(inputs: int, seed: int, keep: Path | None, pyx12_every: int = 0) -> Counts:
    rng = random.Random(seed)
    files = [(p, p.read_bytes()) for p in corpus_files()]
    validator = Validator()
    counts = Counts()
    folder = Path(tempfile.mkdtemp(prefix="fuzz-acks-"))
    for n in range(inputs):
        path, original = rng.choice(files)
        changes = [
            (rng.randrange(len(FIELDS)), rng.randrange(4), random_value(rng), rng.random() < 0.7)
            for _ in range(rng.randint(1, 3))
        ]
        data = mutate(original, changes)
        label = f"{path.name}#{n}"
        try:
            check(validator, data, counts, label, pyx12_every, folder)
        except Exception:  # a crash is a finding: count it, keep the input, go on
            counts.exceptions += 1
            counts.failures.append(f"{label}: {traceback.format_exc(limit=3)}")
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                (keep / f"{n}.x12").write_bytes(data)
    shutil.rmtree(folder, ignore_errors=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--inputs", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder for the inputs that raised")
    parser.add_argument("--pyx12-every", type=int, default=0, help="check every Nth ack with pyx12")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = run(args.inputs, args.seed, args.keep, args.pyx12_every)
    elapsed = time.perf_counter() - started
    print(f"inputs            {counts.inputs}")
    print(f"not X12 (fatal)   {counts.not_x12}")
    print(f"acks written      {counts.acks} (TA1 {counts.ta1}, 999/997 {counts.ack999})")
    print(f"unanswered        {counts.unanswered}")
    print(f"acks invalid      {counts.invalid} (of them refused by pyx12: {counts.pyx12_refused})")
    print(f"checked by pyx12  {counts.pyx12_checked}")
    print(f"exceptions        {counts.exceptions}")
    print(f"seconds           {elapsed:.0f}")
    for failure in counts.failures[:20]:
        print(failure, file=sys.stderr)
    return 1 if counts.invalid or counts.exceptions else 0


if __name__ == "__main__":
    sys.exit(main())
