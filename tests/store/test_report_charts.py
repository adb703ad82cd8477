"""``edi report partners`` and the reports' charts, on a store holding a corpus 837P
accepted, the same file with one code changed (rejected), and a sample 835 of another
partner: exact counts, the rejection reason in words, the acknowledgment turnaround, the
chart on a terminal (not piped), and ``--plot`` as PNG and SVG."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from edi.store import models as m
from edi.store.db import make_engine
from edi.store.ledger import mark_sent
from tests.conftest import SAMPLES, corpus_path
from tests.mutations import P837, mutate, replace
from tests.store_support import (
    cli_env,  # noqa: F401 (the fixture env)
    run_cli,
)
from tests.store_support import cli_ok as ok
from tests.terminal import installed_edi, on_terminal

#: a terminal's escape sequences (colours, styles)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SINCE = ("--since", "2000-01-01")


@pytest.fixture
def store(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """acme: a corpus 837P (accepted) and the same with NM102 (entity type) 9, not a code
    (rejected: IK403 7); beta: a sample 835. Each file's acknowledgments sent 2, 4 and 1
    hours after its receipt."""
    good = corpus_path(P837)
    changed = tmp_path / "changed"
    changed.mkdir()
    bad = mutate(changed, good, replace(5, "NM1*41*2*", "NM1*41*9*"))
    for partner, path in (("acme", good), ("acme", bad), ("beta", SAMPLES / "835-remittance.x12")):
        result = run_cli(
            env, "ingest", "--partner", partner, "--allow-duplicate-interchange", str(path)
        )
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
    engine = make_engine(f"sqlite:///{env['EDI_HOME']}/edi.sqlite3")
    with engine.connect() as conn:
        files = conn.execute(
            select(m.File.id, m.File.received_at, m.File.status).order_by(m.File.received_at)
        ).all()
        acks = conn.execute(
            select(m.Acknowledgment.file_id, m.Acknowledgment.kind, m.Acknowledgment.control)
        ).all()
    assert [f.status for f in files] == [m.STORED, m.REJECTED, m.STORED]
    for (file_id, received, _), hours in zip(files, (2, 4, 1), strict=True):
        sent = received.replace(tzinfo=UTC) + timedelta(hours=hours)
        for _, kind, control in [a for a in acks if a.file_id == file_id]:
            assert mark_sent(engine, file_id, kind, control, "outbound/", when=sent)
    engine.dispose()
    return env


def test_partners_counts_accepted_and_rejected_sets_with_the_reason_in_words(
    store: dict[str, str],
):
    rows = json.loads(ok(store, "report", "partners", *SINCE, "--format", "json"))
    assert rows == [
        {
            "partner": "acme",
            "files": 2,
            "sets": 2,
            "accepted": 1,
            "rejected": 1,
            "accepted_pct": 50.0,
            "top_reasons": "IK403 7: invalid code value (1)",
            "answered": 2,
            "ack_median_h": 3.0,
            "ack_p95_h": 4.0,
        },
        {
            "partner": "beta",
            "files": 1,
            "sets": 1,
            "accepted": 1,
            "rejected": 0,
            "accepted_pct": 100.0,
            "top_reasons": "",
            "answered": 1,
            "ack_median_h": 1.0,
            "ack_p95_h": 1.0,
        },
    ]
    only = json.loads(
        ok(store, "report", "partners", *SINCE, "--partner", "beta", "--format", "json")
    )
    assert only == rows[1:]
    table = list(
        csv.DictReader(io.StringIO(ok(store, "report", "partners", *SINCE, "--format", "csv")))
    )
    assert [(r["partner"], r["accepted_pct"], r["top_reasons"]) for r in table] == [
        ("acme", "50.0", "IK403 7: invalid code value (1)"),
        ("beta", "100.0", ""),
    ]
    # the default window (30 days back) holds files received now; a later one holds none
    assert len(json.loads(ok(store, "report", "partners", "--format", "json"))) == 2
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert ok(store, "report", "partners", "--since", later) == "(none)\n"


def test_report_daily_partner_filter(store: dict[str, str]):
    rows = json.loads(ok(store, "report", "daily", *SINCE, "--partner", "beta", "--format", "json"))
    assert [(r["partner"], r["kind"], r["sets_accepted"]) for r in rows] == [("beta", "835", 1)]
    unknown = run_cli(store, "report", "daily", "--partner", "gamma")
    assert unknown.exit_code == 1 and "no partner 'gamma'" in unknown.output


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_writes_a_png_of_the_daily_chart(store: dict[str, str], tmp_path: Path):
    out = tmp_path / "out.png"
    result = run_cli(store, "report", "daily", *SINCE, "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert f"chart written to {out}" in result.output
    width, height = _png_size(out)
    assert width >= 800 and height >= 150
    from matplotlib.image import imread

    pixels = imread(out)
    assert pixels.shape[:2] == (height, width)
    assert (out.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob(".*.part"))


def test_plot_writes_an_svg_of_the_partner_chart(store: dict[str, str], tmp_path: Path):
    out = tmp_path / "partners.SVG"
    ok(store, "report", "partners", *SINCE, "--format", "json", "--plot", str(out))
    text = out.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    assert "acme" in text and "beta" in text  # partner names are drawn as text


def test_plot_refuses_another_suffix_and_an_existing_file(store: dict[str, str], tmp_path: Path):
    gif = tmp_path / "out.gif"
    refused = run_cli(store, "report", "daily", "--plot", str(gif))
    assert refused.exit_code == 1
    assert refused.output == f"Error: --plot: {gif} must end in .png or .svg\n"
    assert not gif.exists()
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"mine")
    again = run_cli(store, "report", "partners", "--plot", str(kept))
    assert again.exit_code == 1
    assert again.output == f"Error: --plot: {kept} exists; a plot never replaces a file\n"
    assert kept.read_bytes() == b"mine"


def test_plot_without_matplotlib_says_how_to_install_it(
    store: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib: ImportError
    out = tmp_path / "out.png"
    result = run_cli(store, "report", "daily", "--plot", str(out))
    assert result.exit_code == 1
    assert result.output == "Error: `--plot` needs matplotlib: pip install 'edi[charts]'\n"
    assert not out.exists()
    # without --plot the report does not need it
    assert run_cli(store, "report", "daily", *SINCE).exit_code == 0


def _on_terminal(env: dict[str, str], columns: int, *args: str) -> str:
    """What the executable writes to a pseudo-terminal ``columns`` wide."""
    return on_terminal(env, columns, *args)


@pytest.mark.parametrize("columns", [80, 160])
def test_a_terminal_shows_the_chart_under_the_table_and_a_pipe_does_not(
    store: dict[str, str], columns: int
):
    shown = _on_terminal(store, columns, "report", "daily", *SINCE)
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= columns
    at = lines.index("Transaction sets per day")
    assert lines[at + 1].split() == ["\u2588", "accepted", "\u2592", "rejected"]
    (bar,) = [line for line in lines[at + 2 :] if line.strip()]
    day, drawn, note = re.fullmatch(r"(\S+)  ([\u2588\u2592]+) *  (.+)", bar).groups()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)
    assert note == "2 accepted, 1 rejected"
    # two parts accepted, one rejected: the bar's blocks in that proportion
    assert abs(drawn.count("\u2588") - 2 * drawn.count("\u2592")) <= 1
    partners = _on_terminal(store, columns, "report", "partners", *SINCE)
    assert "Transaction sets accepted per partner" in partners
    rates = [line for line in partners.splitlines() if line.endswith(" sets")]
    assert [line.split()[0] for line in rates] == ["acme", "beta"]
    assert rates[0].endswith("50.0% of 2 sets") and rates[1].endswith("100.0% of 1 sets")
    assert abs(rates[1].count("\u2588") - 2 * rates[0].count("\u2588")) <= 1
    for args in (("daily",), ("partners",)):
        piped = subprocess.run(
            [installed_edi(), "report", *args, *SINCE],
            env={**os.environ, **store, "COLUMNS": "80", "TERM": "xterm"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert piped == ok(store, "report", *args, *SINCE)
        assert "\u2588" not in piped and "Transaction sets" not in piped
