"""``edi validate``: exit codes, JSON shape, text lines, acknowledgments written."""

from __future__ import annotations

import json

from click.testing import CliRunner

from edi.cli import main
from tests.conftest import SAMPLES, corpus_path


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_valid_files_exit_0_and_print_a_line_per_set():
    result = invoke(
        "validate", str(SAMPLES / "835-remittance.x12"), str(SAMPLES / "multi-interchange.x12")
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("835-remittance.x12: ACCEPTED")
    assert "  835 0001 005010X221A1: A" in lines
    assert sum(1 for line in lines if line.startswith("  8")) == 4


def test_rejected_file_exits_1_with_error_lines():
    result = invoke("validate", str(SAMPLES / "bad" / "834-broken-envelope.x12"))
    assert result.exit_code == 1
    assert (
        "TA1 R; TA1 001: the interchange control number in the header and trailer do not match"
        in result.output
    )
    assert (
        "834 0001 005010X220A1: R; IK502 4: number of included segments does not match actual count"
        in result.output
    )


def test_usage_errors_exit_2():
    assert invoke("validate").exit_code == 2
    assert invoke("validate", "--format", "xml", str(SAMPLES / "835-remittance.x12")).exit_code == 2


def test_json_shape(tmp_path):
    bad = tmp_path / "bad.837"
    text = corpus_path("lfh/demo.example1.837").read_text().replace("20061003", "20060231", 1)
    bad.write_text(text)
    result = invoke("validate", "--format", "json", str(bad), str(SAMPLES / "834-enrollment.x12"))
    assert result.exit_code == 1
    data = json.loads(result.output)
    first, second = data["files"]
    assert (first["path"], first["accepted"], second["accepted"]) == (str(bad), False, True)
    tx = first["interchanges"][0]["groups"][0]["transactions"][0]
    assert {k: tx[k] for k in ("set", "control", "version", "accepted", "ack_code")} == {
        "set": "837",
        "control": "0021",
        "version": "005010X222A2",
        "accepted": False,
        "ack_code": "R",
    }
    (error,) = tx["errors"]
    assert {k: error[k] for k in ("segment_position", "segment", "loop", "element", "code")} == {
        "segment_position": 30,
        "segment": "DTP",
        "loop": "2400",
        "element": 3,
        "code": "8",
    }
    assert "value" not in error and "20060231" not in result.output


def test_show_values_reveals_the_value(tmp_path):
    bad = tmp_path / "bad.837"
    bad.write_text(
        corpus_path("lfh/demo.example1.837").read_text().replace("20061003", "20060231", 1)
    )
    result = invoke("validate", "--show-values", str(bad))
    assert "[value: D8]" not in result.output and "20060231" in result.output


def test_acks_are_written_with_fresh_control_numbers(tmp_path):
    env = {"EDI_HOME": str(tmp_path / "home")}
    out = tmp_path / "acks"
    bad = str(SAMPLES / "bad" / "834-broken-envelope.x12")
    good = str(SAMPLES / "837P-professional-claim.x12")
    for _ in range(2):
        assert invoke("validate", "--ack-dir", str(out), bad, good, env=env).exit_code == 1
    names = sorted(p.name for p in out.iterdir())
    # the rejected interchange gets a TA1 (no 999 under a TA1 R), the good one a 999
    assert sorted(name.rsplit(".", 1)[-1] for name in names) == ["999", "999", "ta1", "ta1"]
    controls = {name.split(".")[-2] for name in names}
    assert len(controls) == 4  # never the same ISA13 twice
    ta1 = next(p for p in out.iterdir() if p.suffix == ".ta1").read_text()
    assert "TA1*000000101*" in ta1 and "*R*001~" in ta1
    ack = next(p for p in out.iterdir() if p.suffix == ".999").read_text()
    assert "AK1*HC*301*005010X222A1~" in ack and "IK5*A~" in ack and "AK9*A*1*1*1~" in ack
