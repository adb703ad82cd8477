"""The peers benchmark's report: ratios, the rows of a peer that cannot install or crashes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def peers() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import peers as module  # bench/peers.py (it imports bench/run.py as `run`)
    finally:
        sys.path.remove(str(BENCH))
    return module


def _spec(peers: Any, set_name: str = "835") -> Any:
    return peers.bench.BenchFile(set_name, 5, "peers")


def _measured(peers: Any, peer: str, task: str, cpu: float, **extra: Any) -> dict[str, Any]:
    result = {"seconds": cpu * 1.1, "cpu_seconds": cpu, "peak_rss_mb": 40.0, **extra}
    return peers.row(peer, "1.0", task, "what it does", _spec(peers), 5_000_000, "ok", result)


def test_ratio_is_edi_mb_per_s_over_the_peers_on_cpu_seconds(peers: Any) -> None:
    rows = [
        _measured(peers, peers.EDI, peers.RECORDS, 2.0, items=10),
        _measured(peers, "slow", peers.RECORDS, 8.0, items=4),
        _measured(peers, "fast", peers.RECORDS, 0.5, items=4),
        _measured(peers, "other task", peers.VALIDATE, 1.0, valid=True),
    ]
    peers.add_ratios(rows)
    assert rows[0]["mb_per_s_cpu"] == pytest.approx(2.5)
    assert rows[1]["edi_ratio"] == pytest.approx(4.0)
    assert rows[2]["edi_ratio"] == pytest.approx(0.25)
    assert "edi_ratio" not in rows[0]
    assert "edi_ratio" not in rows[3]  # no edi validate on that file in this run
    text = peers.markdown(_report(rows))
    assert "| records | 835-5MB.x12 | slow | 8.80 | 8.00 | 0.62 | 40 | 4 | 4.00x |" in text


def test_a_peer_that_cannot_install_is_a_row_per_task_with_its_reason(peers: Any) -> None:
    peer = next(p for p in peers.PEERS if p.name == "x12-edi-tools")
    rows = peers.unavailable(peer, "install failed: No matching distribution found")
    assert [r["task"] for r in rows] == [peers.VALIDATE, peers.RECORDS]
    assert all(r["status"] == "install failed: No matching distribution found" for r in rows)
    text = peers.markdown(_report(rows))
    assert (
        "| validate | all | x12-edi-tools | install failed: No matching distribution found ||||||"
        in text
    )
    assert "| x12-edi-tools | x12-edi-tools==0.1.2 | records | X12Parser.parse()" in text


def test_a_crashing_driver_gives_its_last_line_not_a_traceback(peers: Any, tmp_path: Path) -> None:
    code = "\ndef run(path):\n    raise ValueError('no ISA at byte 0 of ' + sys.argv[2])\n"
    with pytest.raises(RuntimeError) as caught:
        peers.run_driver(Path(sys.executable), code, tmp_path / "x.x12", "835")
    assert str(caught.value) == "exit 1: ValueError: no ISA at byte 0 of 835"


def test_a_driver_reports_wall_cpu_and_peak_rss(peers: Any) -> None:
    sample = BENCH.parent / "samples" / "835-remittance.x12"
    result = peers.run_driver(Path(sys.executable), peers.SPLIT_SEGMENTS, sample, "835")
    text = sample.read_bytes()
    assert result["items"] == text.count(b"~")
    assert result["cpu_seconds"] >= 0 and result["seconds"] >= 0
    assert result["peak_rss_mb"] > 1


def test_a_validation_outcome_names_its_first_finding(peers: Any) -> None:
    r = _measured(
        peers, "x12-edi-tools", peers.VALIDATE, 1.0, valid=False, findings=2, first_finding="a|b"
    )
    assert peers.outcome(r) == "NOT valid (2 findings, first: a/b)"


def _report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    machine = {"cpu": "test", "cores": 2, "implementation": "CPython", "python": "3.11"}
    return {"date": "today", "argv": [], "machine": machine, "rows": rows}
