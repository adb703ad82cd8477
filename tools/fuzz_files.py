"""Hostile files through validation, the normalizer, the exports and the acknowledgments.

Takes the X12 files of the shared corpus (its MANIFEST.tsv) and edi's samples and damages
each input once or a few times: element values replaced by control bytes, non-ASCII
characters, superscript digits, huge exponents, ``Infinity``/``NaN``, 5,000 digits or
delimiters; numbers turned into what X12 does not allow; byte ranges cut or inserted;
the ISA left whole. Each input is validated (which must never raise), its records made
and exported as JSON and XML (only an :class:`edi.errors.EdiError` may come out) and its
TA1/999 built (which must never raise, and must be ASCII).

    PYTHONPATH=. python tools/fuzz_files.py [--inputs 20000] [--seed 1]

Prints the counts; exits 1 when anything other than an EdiError was raised. The same
kinds of damage drive the property test ``tests/unit/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import sys
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from edi.errors import EdiError
from edi.parsers.acks import acknowledgments
from edi.parsers.normalize import Normalizer
from edi.parsers.validate import Validator
from edi.records.export import to_dict, to_element

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("EDI_CORPUS", ROOT.parent / "shared" / "corpus"))
ISA_BYTES = 106
PAYLOADS = [b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x1f", b"\x7f", b"\t", "\u00b2".encode(),
            b"\xb2", "\u00c9".encode(), b"\xc9", b"\xed\xa0\x80", b"1E999999", b"Infinity",
            b"NaN", b"-1E-999999", b"9" * 5000, b"*", b"~", b":", b"^", b""]  # fmt: skip
NUMBERS = [b"1E999999", b"Infinity", b"-Infinity", b"NaN", b"sNaN", b"-1E-999999", b"1e2"]
_NUMBER = re.compile(rb"(?<=[*~\n])-?[0-9]+(?:\.[0-9]+)?(?=[*~\n:^])")


def inputs() -> list[Path]:
    """The corpus files its manifest lists, and the samples (bad ones included)."""
    files: list[Path] = []
    manifest = CORPUS / "MANIFEST.tsv"
    if manifest.exists():
        with manifest.open(newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        files += [CORPUS / r["file"] for r in rows if (CORPUS / r["file"]).is_file()]
    files += sorted((ROOT / "samples").rglob("*.x12"))
    return [f for f in files if f.read_bytes()[:3] == b"ISA" and len(f.read_bytes()) > ISA_BYTES]


def damaged(original: bytes, rng: random.Random) -> bytes:
    """``original`` with a few values replaced, numbers spoiled, bytes cut or inserted."""
    sep, term = original[3:4], original[ISA_BYTES - 1 : ISA_BYTES]
    head, body = original[:ISA_BYTES], original[ISA_BYTES:]
    segments = body.split(term)
    for _ in range(rng.randint(0, 4)):
        at = rng.randrange(len(segments))
        parts = segments[at].split(sep)
        if len(parts) > 1:
            parts[rng.randrange(1, len(parts))] = rng.choice(PAYLOADS)
            segments[at] = sep.join(parts)
    body = term.join(segments)
    for _ in range(rng.randint(0, 3)):
        spans = [m.span() for m in _NUMBER.finditer(body)]
        if spans:
            start, end = rng.choice(spans)
            into = rng.choice([*NUMBERS, None])
            new = body[start : end - 1] + "\u00b2".encode() if into is None else into
            body = body[:start] + new + body[end:]
    data = bytearray(head + body)
    for _ in range(rng.randint(0, 3)):
        at = ISA_BYTES + rng.randrange(max(1, len(data) - ISA_BYTES))
        payload = rng.choice(PAYLOADS) if rng.random() < 0.7 else rng.randbytes(rng.randint(0, 6))
        data[at : at + rng.randint(0, 12)] = payload
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    files = inputs()
    if not files:
        print(f"no input files (corpus at {CORPUS})", file=sys.stderr)
        return 1
    originals = [f.read_bytes() for f in files]
    validator, normalizer = Validator(), Normalizer()
    counts: Counter[str] = Counter()
    failures: list[str] = []
    numbers = iter(range(1, 10**9))
    started = time.process_time()
    for n in range(args.inputs):
        data = damaged(rng.choice(originals), rng)
        stage = "validate"
        try:
            result = validator.validate(io.BytesIO(data), "fuzz.x12")
            counts["files with a set accepted" if result.accepted else "files rejected whole"] += 1
            stage = "acknowledge"
            for ack in acknowledgments(result, lambda: f"{next(numbers):09d}", datetime.now(UTC)):
                counts[f"{ack.kind} written"] += 1
                if not ack.text.isascii():
                    failures.append(f"input {n}: {ack.kind} not ASCII")
            stage = "normalize"
            try:
                for record in normalizer.records(io.BytesIO(data), "fuzz.x12", sha256="0" * 64):
                    to_dict(record)
                    to_element(record)
                    counts["records"] += 1
            except EdiError:
                counts["normalizer verdicts (EdiError)"] += 1
        except Exception as exc:  # noqa: BLE001 - what the run is looking for
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failures.append(
                f"input {n} ({stage}): {type(exc).__name__} at "
                f"{Path(where.filename).name}:{where.lineno}"
            )
    seconds = time.process_time() - started
    print(f"inputs: {args.inputs} (seed {args.seed}, {len(files)} source files)")
    for key in sorted(counts):
        print(f"{key}: {counts[key]}")
    print(f"exceptions that are not an EdiError: {len(failures)}")
    for line in failures[:20]:
        print(f"  {line}")
    print(f"CPU seconds: {seconds:.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
