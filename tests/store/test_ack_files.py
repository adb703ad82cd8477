"""Acknowledgments as files: written whole and in ASCII whatever the envelope held."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.cli import main
from tests.conftest import SAMPLES
from tests.store_support import KEK_B64


@pytest.mark.parametrize(
    ("old", "new", "kinds"),
    [
        # the partner cannot be addressed (ISA06) or is not us (ISA08): nothing is sent
        ("*ZZ*SAMPLEPAYER    *", "*ZZ*SAMPLEPAY\u00c9R    *", []),
        ("*ZZ*SAMPLEPROVIDER *", "*ZZ*SAMPLEPROVID\u00c9R *", []),
        # a group the 999 cannot echo (GS02, GS03) is answered by the TA1 (E, 024)
        ("GS*HP*SAMPLEPAYER*", "GS*HP*SAMPLEPAY\u00c9R*", [".ta1"]),
        ("*SAMPLEPROVIDER*20250120", "*SAMPLEPROVID\u00c9R*20250120", [".ta1"]),
    ],
)
def test_an_envelope_id_that_is_not_ascii_gets_a_verdict_and_only_ascii_acknowledgments(
    tmp_path: Path, old: str, new: str, kinds: list[str]
) -> None:
    """The ingest ends with a verdict, never a traceback, and what it writes is ASCII with
    a 106-byte ISA: the acknowledgments the rules allow (edi.parsers.acks: an id that does
    not fit the ISA is never echoed, a group the 999 cannot echo is answered by the TA1)."""
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_KEK": KEK_B64, "EDI_CONFIG": ""}
    assert CliRunner().invoke(main, ["keys", "init"], env=env).exit_code == 0
    text = (SAMPLES / "835-remittance.x12").read_text()
    assert old in text
    text = text.replace(old, new, 1).replace("*000000201*0*T*", "*000000201*1*T*", 1)
    path = tmp_path / "835-envelope-not-ascii.x12"
    path.write_bytes(text.encode("latin-1"))
    acks = tmp_path / "acks"
    result = CliRunner().invoke(main, ["ingest", "--ack-dir", str(acks), str(path)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    written = sorted(acks.iterdir()) if acks.exists() else []
    assert sorted(p.suffix for p in written) == kinds, result.output
    for ack in written:
        data = ack.read_bytes()
        assert data.isascii() and data.startswith(b"ISA*") and data[105:106] == b"~"
