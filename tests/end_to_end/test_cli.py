"""The click commands, through CliRunner and once through the installed executable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.cli import main
from tests.conftest import ROOT, SAMPLES, corpus_path, require

EDI = Path(sys.executable).parent / "edi"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_inspect_text_shows_envelopes_and_loops_without_values():
    result = run("inspect", str(SAMPLES / "837P-professional-claim.x12"))
    assert result.exit_code == 0
    out = result.output
    assert "ISA 000000301 00501 T from ZZ:SAMPLEPROVIDER to ZZ:SAMPLEPAYER" in out
    assert "ST 837 0001: 48 segments, map 837.5010.X222.A1.xml" in out
    assert "      2000B: HL SBR" in out and "2400: LX SV1 DTP" in out
    # no element values from inside the transaction set (names, ids, diagnoses)
    for value in ("ALEX", "SAMPLEMBR001", "J029", "19800101", "EXAMPLE ST"):
        assert value not in out


def test_inspect_json_parses_back_with_the_tree():
    result = run("inspect", "--format", "json", str(SAMPLES / "835-remittance.x12"))
    data = json.loads(result.output)
    tx = data["interchanges"][0]["groups"][0]["transactions"][0]
    assert (tx["set"], tx["control"], tx["map_version"]) == ("835", "0001", "005010X221A1")
    top = [loop["loop"] for loop in tx["loops"]]
    assert top[:4] == ["ST_LOOP", "HEADER", "1000A", "1000B"]
    assert tx["problems"] == [] and data["problems"] == []


def test_inspect_reports_envelope_problems():
    result = run("inspect", "--format", "json", str(SAMPLES / "bad" / "834-broken-envelope.x12"))
    data = json.loads(result.output)
    ic = data["interchanges"][0]
    codes = {p["code"] for p in ic["problems"]}
    codes |= {p["code"] for g in ic["groups"] for p in g["problems"]}
    codes |= {p["code"] for g in ic["groups"] for t in g["transactions"] for p in t["problems"]}
    assert codes == {"001", "5", "4"}


def test_inspect_a_file_without_isa_exits_1_with_a_clear_line():
    path = corpus_path("badx12/bad_file.edi")
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}: cannot read: {path}: byte 0: the file does not start with an ISA segment"
        in result.output
    )


def test_inspect_usage_errors_exit_2():
    assert CliRunner().invoke(main, ["inspect"]).exit_code == 2
    assert CliRunner().invoke(main, ["inspect", "/nonexistent/file.x12"]).exit_code == 2


def test_samples_generate(tmp_path):
    out = tmp_path / "big.x12"
    result = CliRunner().invoke(
        main, ["samples", "generate", "--set", "835", "--count", "40", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sum(1 for line in out.read_text().splitlines() if line.startswith("CLP*")) == 40
    result = CliRunner().invoke(main, ["samples", "generate", "--set", "835", "--out", str(out)])
    assert result.exit_code == 2 and "exactly one of --count and --size" in result.output


@pytest.mark.slow
def test_demo_runs_the_exchange_end_to_end(tmp_path):
    """`edi demo` as a newcomer runs it: SFTP, OpenPGP, the flow, the store, the audit."""
    require(shutil.which("gpg") is not None, "gpg")
    home = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDI_", "PREFECT_"))}
    env["EDI_HOME"] = str(tmp_path / "edi-home")
    out = subprocess.run(
        [str(EDI), "demo", "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert any(
        line.startswith("  837P-professional-claim.x12.pgp: stored; ")
        and "2 claim, 5 service_line" in line
        for line in lines
    )
    assert any(
        line.startswith("  bad-834-broken-envelope.x12.pgp: rejected; ") and ".ta1.pgp" in line
        for line in lines
    )
    assert (
        "11 files pulled: 1 rejected, 10 stored; stored 5 claims, 8 members, 4 payments "
        "(7 claim payments), 2 premium payments" in out.stdout
    )
    assert "audit chain: intact: " in out.stdout
    assert f"EDI_HOME={home} .venv/bin/edi audit log" in out.stdout
    # run from the checkout: the bad sample by its path there, not inside the package
    assert ".venv/bin/edi validate samples/bad/834-broken-envelope.x12 " in out.stdout
    assert sorted(os.listdir(home / "partner-sftp" / "inbound")) == []
    assert len(os.listdir(home / "partner-sftp" / "archive")) == 11
    outbound = os.listdir(home / "partner-sftp" / "outbound")
    assert all(name.endswith(".pgp") for name in outbound)
    # 12 TA1/999s, and a 277CA for each of the 4 files with an accepted 5010 837 set
    kinds = sorted(name.split(".")[-2] for name in outbound)
    assert len(kinds) == 16 and kinds.count("277") == 4, kinds
    for value in ("SAMPLECLM101", "TESTPERSON", "1234567893"):  # synthetic values of the samples
        assert value not in out.stdout and value not in out.stderr
    # the demo's store answers the next commands it suggests
    verify = subprocess.run(
        [str(EDI), "audit", "verify"],
        capture_output=True,
        text=True,
        env={**env, "EDI_HOME": str(home)},
    )
    assert verify.returncode == 0 and verify.stdout.startswith("intact: ")
    claims = subprocess.run(
        [str(EDI), "claims", "list", "--status", "remitted", "--format", "json"],
        capture_output=True,
        text=True,
        env={**env, "EDI_HOME": str(home)},
    )
    assert claims.returncode == 0, claims.stderr
    remitted = json.loads(claims.stdout)
    assert sorted(c["claim_id"] for c in remitted) == ["****M101", "****M102"]
    assert "SAMPLECLM101" not in claims.stdout


def test_help_runs_without_importing_prefect():
    code = "import sys; from edi.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\nprint('prefect' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().endswith("False")


def test_installed_executable(tmp_path):
    env = {**os.environ, "EDI_HOME": str(tmp_path)}
    out = subprocess.run(
        [str(EDI), "inspect", str(SAMPLES / "834-enrollment.x12")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "ST 834" in out.stdout


def test_installed_executable_parses_a_claim_file():
    exe = shutil.which("edi", path=os.path.dirname(sys.executable)) or shutil.which("edi")
    assert exe, "the edi console script is installed with the package"
    done = subprocess.run(
        [exe, "parse", "--type", "claim", SAMPLES / "837P-professional-claim.x12"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["patient_control_number"] for line in done.stdout.splitlines()] == [
        "SAMPLECLM101",
        "SAMPLECLM102",
    ]
