"""`edi parse`: every format parses back, filters hold, errors name the file, no values on stderr."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
from pathlib import Path

from click.testing import CliRunner, Result
from lxml import etree

from edi.cli import main
from edi.parsers.fields import field_maps_folder
from edi.records import RECORD_TYPES
from edi.records.export import columns
from tests.conftest import SAMPLES, corpus_path
from tests.field_maps import BrokenMaps

CLAIMS = str(SAMPLES / "837P-professional-claim.x12")
REMIT = str(SAMPLES / "835-remittance.x12")
ENROLL = str(SAMPLES / "834-enrollment.x12")
#: values of the samples that must never reach stderr
SAMPLE_VALUES = ("SAMPLECLM101", "TESTPERSON", "SAMPLE", "J029", "1234567893")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["parse", *args])


def test_jsonl_is_one_typed_record_per_line():
    result = run(CLAIMS, REMIT, ENROLL)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    types = [r["type"] for r in records]
    assert types.count("claim") == 2 and types.count("service_line") == 5
    assert types.count("claim_payment") == 3 and types.count("payment") == 1
    assert types.count("member") == 3 and types.count("enrollment") == 1
    claim = records[0]
    assert claim["patient_control_number"] == "SAMPLECLM101"
    assert claim["total_charge"] == "185"  # amounts are exact decimal text
    assert claim["source"]["kind"] == "837P" and len(claim["source"]["sha256"]) == 64
    assert records[1]["parent_ordinal"] == claim["ordinal"]
    # stderr: one count line per file, no values
    assert "2 claim, 5 service_line from 1 transaction set(s)" in result.stderr
    for value in SAMPLE_VALUES:
        assert value not in result.stderr


def test_json_is_one_array_across_files():
    result = run("--format", "json", CLAIMS, REMIT)
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert len(records) == 7 + 9
    assert {r["type"] for r in records} >= {"claim", "service_line", "payment"}


def test_json_of_nothing_is_an_empty_array():
    result = run("--format", "json", "--set", "834", CLAIMS)
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_xml_parses_back_with_lxml():
    result = run("--format", "xml", "--type", "claim", CLAIMS)
    assert result.exit_code == 0
    root = etree.fromstring(result.stdout.encode())
    assert root.tag == "records"
    claims = root.findall("claim")
    assert [c.findtext("patient_control_number") for c in claims] == [
        "SAMPLECLM101",
        "SAMPLECLM102",
    ]
    assert claims[0].find("source").get("kind") == "837P"
    codes = [d.findtext("code") for d in claims[0].find("diagnoses").findall("item")]
    assert codes == ["J029", "R509"]


def test_csv_needs_one_type_and_parses_back():
    refused = run("--format", "csv", CLAIMS)
    assert refused.exit_code == 2 and "exactly one --type" in refused.output
    result = run("--format", "csv", "--type", "service_line", CLAIMS)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 5
    assert list(rows[0]) == list(columns(RECORD_TYPES["service_line"]))
    assert [r["procedure_code"] for r in rows] == ["99213", "87880", "99203", "73610", "29540"]
    assert json.loads(rows[0]["diagnosis_pointers"]) == [1, 2]
    claims = list(
        csv.DictReader(io.StringIO(run("--format", "csv", "--type", "claim", CLAIMS).stdout))
    )
    assert claims[0]["billing_provider.npi"] == "1234567893"
    assert claims[0]["subscriber.last_name"]


def test_set_and_type_filters():
    result = run("--set", "835", "--type", "payment", CLAIMS, REMIT)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["type"] for r in records] == ["payment"]
    assert records[0]["claim_count"] == 3


def test_output_file_is_private(tmp_path: Path):
    out = tmp_path / "records.jsonl"
    result = run("--output", str(out), CLAIMS)
    assert result.exit_code == 0 and result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(out.read_text().splitlines()) == 7


def test_output_through_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path: Path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("kept\n")
    target.chmod(0o644)
    link = tmp_path / "records.jsonl"
    link.symlink_to(target)
    result = run("--output", str(link), CLAIMS)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {link}: a symbolic link, not followed: name the file itself"
    )
    assert target.read_text() == "kept\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_output_to_a_pipe_is_written_and_its_mode_left_alone(tmp_path: Path):
    # as /dev/null or a FIFO another program reads: made private, it would lock others out
    fifo = tmp_path / "records.fifo"
    os.mkfifo(fifo, 0o644)
    fifo.chmod(0o644)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run("--output", str(fifo), CLAIMS)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert len(got[0].splitlines()) == 7
    assert stat.S_IMODE(fifo.stat().st_mode) == 0o644


def test_an_output_that_cannot_be_written_is_a_verdict(tmp_path: Path):
    result = run("--output", str(tmp_path / "missing" / "records.jsonl"), CLAIMS)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'missing' / 'records.jsonl'}: cannot be written: "
        "No such file or directory"
    )


def test_not_x12_exits_1_naming_the_file(tmp_path: Path):
    junk = tmp_path / "junk.x12"
    junk.write_text("hello, not an interchange\n")
    result = run(str(junk), CLAIMS)
    assert result.exit_code == 1
    assert f"{junk}: cannot parse:" in result.stderr and "ISA" in result.stderr
    assert len(result.stdout.splitlines()) == 7  # the good file still parsed


def test_sets_without_a_field_map_are_named_and_fail():
    result = run(str(corpus_path("lfh/demo.270")))
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "set 270 (005010X279A1) at segment 3 not read: no field map for 005010X279A1 in " in line
    assert str(field_maps_folder()) in line
    assert "Traceback" not in result.output


def test_an_unreadable_field_map_fails_in_one_line(broken_837p_maps: BrokenMaps):
    result = run(CLAIMS, REMIT)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(
        f"{CLAIMS}: cannot parse: field map {broken_837p_maps.file} cannot be read: line 8: "
    )
    assert "no-such-element" in lines[0]
    assert lines[1].startswith(f"{REMIT}: 3 claim_payment, 1 payment")  # the 835 still read
    assert {json.loads(r)["type"] for r in result.stdout.splitlines()} >= {"payment"}
    for value in SAMPLE_VALUES:
        assert value not in result.stderr
    broken_837p_maps.restore()
    again = run(CLAIMS)
    assert again.exit_code == 0 and len(again.stdout.splitlines()) == 7


def test_xml_holds_any_record_value(tmp_path: Path):
    """lxml refuses the characters XML 1.0 cannot hold (a form feed, a vertical tab, NUL):
    a record value with one (validation rejects such a set; ``edi parse`` does not
    validate) is written with U+FFFD in its place."""
    text = Path(REMIT).read_text().replace("N3*123 EXAMPLE ST~", "N3*123 EXAMPLE\x0cS\x0bT~")
    path = tmp_path / "835-control.x12"
    path.write_text(text)
    result = run("--format", "xml", "--type", "payment", str(path))
    assert result.exit_code == 0, result.output
    root = etree.fromstring(result.stdout.encode())
    streets = [n.text for n in root.iter("address_line1")]
    assert "123 EXAMPLE\ufffdS\ufffdT" in streets
