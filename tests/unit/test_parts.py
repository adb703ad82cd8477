"""One file in parts on several processes: the same findings, verdicts and acknowledgments
as one reading, for every corpus file split at every set it can be split at."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.cli import main
from edi.cli.validate import render_text, result_dict
from edi.errors import EdiError
from edi.generate import generate
from edi.parsers.acks import acknowledgments
from edi.parsers.normalize import Normalizer
from edi.parsers.parts import Part, join, plan, validate_part
from edi.parsers.results import FileResult
from edi.parsers.validate import Validator
from edi.pipeline.parts import parse_file, run_parts, validate_file
from tests.conftest import SAMPLES, CorpusFile

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
VALIDATOR = Validator()


def answers(result: FileResult) -> list[str]:
    """The TA1s and 999s of a result, numbered from 1 (the same numbers for both readings)."""
    numbers = count(1)
    return [ack.text for ack in acknowledgments(result, lambda: f"{next(numbers):09d}", NOW)]


def outputs(result: FileResult) -> tuple[str, str, list[str]]:
    return json.dumps(result_dict(result)), render_text(result), answers(result)


def in_parts(path: Path) -> FileResult | None:
    """``path`` split at every SE-ST pair, each part validated on its own, joined (None: not
    split, or the joined parts refused)."""
    parts = plan(path, 1000, min_bytes=1)
    if parts is None:
        return None
    packed = [validate_part(VALIDATOR, str(path), part, str(path)) for part in parts]
    return join(str(path), parts, packed)


def test_every_corpus_file_in_parts_gives_the_answers_of_one_reading(
    corpus: list[CorpusFile],
):
    split = 0
    for row in corpus:
        if not row.path.exists():
            continue
        whole = VALIDATOR.validate(row.path)
        joined = in_parts(row.path)
        if joined is None:
            continue
        split += 1
        assert outputs(joined) == outputs(whole), row.file
    # most corpus files hold one set; those of several sets after an SE are split
    assert split >= 3


def test_corpus_files_joined_into_one_file_in_parts_give_the_answers_of_one_reading(
    corpus: list[CorpusFile], tmp_path: Path
):
    """Every corpus file whose interchange has the usual delimiters, one after another in
    one file per transaction kind (interchanges of every sender, valid and invalid), split
    at every SE-ST pair: the interchanges, groups and sets of the joined parts."""
    kinds: dict[str, list[bytes]] = {}
    for row in corpus:
        if not row.path.exists():
            continue
        data = row.path.read_bytes()
        if data[:3] == b"ISA" and data[3:4] == b"*" and data[104:106] == b":~":
            kinds.setdefault(row.transaction_set, []).append(data.rstrip() + b"\n")
    compared = 0
    for kind, files in kinds.items():
        path = tmp_path / f"{kind}.x12"
        path.write_bytes(b"".join(files))
        whole = VALIDATOR.validate(path)
        joined = in_parts(path)
        if len(files) > 1 and whole.fatal is None:
            assert joined is not None, kind
        if joined is not None:
            assert outputs(joined) == outputs(whole), kind
            compared += sum(len(g.transactions) for ic in whole.interchanges for g in ic.groups)
            assert lines(path, 2, part_bytes=1) == lines(path, 1), kind
    assert compared >= 80


def lines(path: Path, workers: int, **options: int) -> tuple[bytes, tuple[object, ...]]:
    """The JSON lines of ``path`` and the normalizer's counts, made by ``workers`` processes."""
    out = io.BytesIO()
    normalizer = Normalizer()
    try:
        parse_file(normalizer, path, workers, out, **options)
        error = ""
    except EdiError as exc:
        error = str(exc)
    s = normalizer.summary
    return out.getvalue(), (s.sets, s.records, s.skipped, s.dropped, s.unlocated, s.late, error)


def test_edi_parse_in_parts_writes_the_bytes_of_one_reading(tmp_path: Path):
    path = _mutated(multi_set(tmp_path), "ST*837*0009*", "ST*837*0001*")
    one = lines(path, 1)
    assert one[0].count(b"\n") > 40
    assert lines(path, 2, part_bytes=1) == one
    # a repeated interchange (TA1 025) makes no records, in whichever part its sets are
    twice = tmp_path / "twice.x12"
    twice.write_bytes(path.read_bytes() * 2)
    assert lines(twice, 3, part_bytes=1) == lines(twice, 1)
    assert lines(twice, 1)[1][1] == one[1][1]  # the records of the first copy alone


def multi_set(tmp_path: Path, claims: int = 40, per_set: int = 3) -> Path:
    path = tmp_path / "claims.x12"
    generate("837P", claims, path, per_set=per_set)
    return path


def test_a_generated_file_of_many_sets_in_parts_and_in_worker_processes(tmp_path: Path):
    path = multi_set(tmp_path)
    whole = VALIDATOR.validate(path)
    parts = plan(path, 5, min_bytes=1)
    assert parts is not None and len(parts) == 5
    assert [p.ordinal for p in parts][0] == 0 and all(p.ordinal > 0 for p in parts[1:])
    begun: list[Part] = []
    packed = run_parts(
        lambda _index, part: validate_part(VALIDATOR, str(path), part, str(path)),
        iter(parts),
        2,
        begun,
    )
    assert packed is not None and begun == parts
    joined = join(str(path), parts, packed)
    assert joined is not None
    assert outputs(joined) == outputs(whole)
    assert len(joined.interchanges[0].groups[0].transactions) == 14


def _mutated(path: Path, old: str, new: str, nth: int = 1) -> Path:
    """``path`` with the ``nth`` occurrence of segment text ``old`` replaced by ``new``."""
    text = path.read_text()
    at = -1
    for _ in range(nth):
        at = text.index(old, at + 1)
    out = path.with_name(f"mutated-{path.name}")
    out.write_text(text[:at] + new + text[at + len(old) :])
    return out


@pytest.mark.parametrize(
    ("old", "new", "nth", "finding"),
    [
        # a set late in the file repeats the first set's ST02/SE02: IK502 23 in its group
        ("ST*837*0009*", "ST*837*0001*", 1, ("set", "0001", "23")),
        # the group's GE01 counts one set too many: AK905 5
        ("GE*14*", "GE*15*", 1, ("group", "5")),
        # the fifth set's SE01 miscounts: IK502 4 on that set
        ("\nSE*", "\nSE*1", 5, ("set", "0005", "4")),
    ],
)
def test_envelope_findings_across_parts_are_those_of_one_reading(
    tmp_path: Path, old: str, new: str, nth: int, finding: tuple[str, ...]
):
    path = _mutated(multi_set(tmp_path), old, new, nth)
    whole = VALIDATOR.validate(path)
    joined = in_parts(path)
    assert joined is not None
    assert outputs(joined) == outputs(whole)
    group = joined.interchanges[0].groups[0]
    if finding[0] == "group":
        assert finding[1] in group.syntax_codes and group.ack_code != "A"
    else:
        rejected = [t.control for t in group.transactions if finding[2] in t.syntax_codes]
        assert rejected == [finding[1]]


def test_parts_that_end_otherwise_than_planned_are_not_used(tmp_path: Path):
    path = multi_set(tmp_path)
    parts = plan(path, 4, min_bytes=1)
    assert parts is not None
    packed = [validate_part(VALIDATOR, str(path), part, str(path)) for part in parts]
    wrong = [parts[0], dataclasses.replace(parts[1], ordinal=parts[1].ordinal + 1), *parts[2:]]
    assert join(str(path), wrong, packed) is None
    # the file is then read whole: the answers of one reading
    assert outputs(validate_file(VALIDATOR, path, 2)) == outputs(VALIDATOR.validate(path))


def test_files_that_are_not_split(tmp_path: Path):
    one_set = tmp_path / "one.x12"
    generate("837P", 30, one_set, per_set=30)
    assert plan(one_set, 4, min_bytes=1) is None  # one set: nothing to split at
    bom = tmp_path / "bom.x12"
    bom.write_bytes(b"\xef\xbb\xbf" + multi_set(tmp_path).read_bytes())
    assert plan(bom, 4, min_bytes=1) is None
    assert plan(SAMPLES / "837P-professional-claim.x12", 4) is None  # smaller than two parts


def test_edi_validate_with_workers_prints_what_one_process_prints(tmp_path: Path):
    path = _mutated(multi_set(tmp_path, claims=6000, per_set=100), "ST*837*0009*", "ST*837*0001*")
    assert path.stat().st_size > 2 << 20
    runner = CliRunner()
    one = runner.invoke(main, ["validate", "--workers", "1", str(path)])
    two = runner.invoke(main, ["validate", "--workers", "2", str(path)])
    assert one.exit_code == two.exit_code == 1
    assert two.output == one.output
    assert "IK502 23" in one.output


def test_edi_parse_reads_the_rest_itself_from_a_part_not_as_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A part that ends otherwise than the next was planned to begin: the parts before it
    are written, the rest is read by this process from its start; the spool is removed."""
    import tempfile

    import edi.pipeline.parts as pipeline_parts

    path = multi_set(tmp_path)

    def wrong_plan(*args: object, **options: object):
        parts = plan(*args, **options)  # type: ignore[arg-type]
        assert parts is not None and len(parts) > 3
        parts[3] = dataclasses.replace(parts[3], ordinal=parts[3].ordinal - 1)
        return iter(parts)

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.setattr(pipeline_parts, "plan_lazily", wrong_plan)
    assert lines(path, 2, part_bytes=1) == lines(path, 1)
    assert list(spool.iterdir()) == []


def test_a_part_that_stops_reading_makes_the_file_read_whole(tmp_path: Path):
    """Binary data in a late set: the part reading it stops (not X12), so the file is read by
    one process and its answer (a fatal reading, every set read so far rejected) is that
    reading's."""
    path = _mutated(multi_set(tmp_path), "ST*837*0011*", "ST*837*0011\x01*")
    whole = VALIDATOR.validate(path)
    assert whole.fatal is not None
    assert in_parts(path) is None
    assert outputs(validate_file(VALIDATOR, path, 2, part_bytes=1)) == outputs(whole)
    assert lines(path, 2, part_bytes=1) == lines(path, 1)


def test_a_parts_spool_holds_no_line_in_the_clear(tmp_path: Path):
    """The JSON lines a worker spools (PHI) are sealed: the file holds none of them, its
    chunks open to exactly what was written, and a chunk moved to another part or place
    does not open."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from edi.pipeline import parts

    sealer = AESGCM(AESGCM.generate_key(bit_length=256))
    lines = b"".join(b'{"last_name":"SAMPLE","n":%d}\n' % n for n in range(60_000))
    path = tmp_path / "part-3.jsonl.enc"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with parts._SealedSpool(fd, sealer, 3) as spool:
        for start in range(0, len(lines), 70_000):
            spool.write(lines[start : start + 70_000])
    stored = path.read_bytes()
    assert b"SAMPLE" not in stored and len(stored) > len(lines)
    out = io.BytesIO()
    parts._unseal_to(path, sealer, 3, out)
    assert out.getvalue() == lines
    with pytest.raises(InvalidTag):
        parts._unseal_to(path, sealer, 4, io.BytesIO())
