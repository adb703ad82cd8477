"""Ingest into SQLite and PostgreSQL: all or nothing, idempotent, PHI only encrypted."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi.errors import DecryptError, MissingFieldMap
from edi.parsers.fields import FieldMapCatalog, field_maps_folder
from edi.parsers.normalize import Normalizer
from edi.pipeline import store as pipeline_store
from edi.records.phi import record_dict
from edi.store import models as m
from edi.store.crypto import decrypt_file
from edi.store.read import records
from tests.conftest import SAMPLES, corpus_path
from tests.store_support import StoreKit

GOOD = [
    "834-enrollment.x12",
    "835-remittance.x12",
    "837P-professional-claim.x12",
    "837I-institutional-claim.x12",
    "837D-dental-claim.x12",
    "multi-interchange.x12",
]


def count(kit: StoreKit, table: type) -> int:
    with kit.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_samples_are_stored_and_read_back_exactly(kit: StoreKit):
    ingestor = kit.ingestor()
    for name in GOOD:
        result = ingestor.ingest(SAMPLES / name)
        assert result.status == "stored", result.line()
        assert result.sets_rejected == 0
    assert count(kit, m.File) == len(GOOD)
    for name in GOOD:
        parsed = list(Normalizer().records(SAMPLES / name))
        with kit.engine.connect() as conn:
            file_id = conn.execute(
                select(m.File.id).where(m.File.original_name == name)
            ).scalar_one()
        for kind in {r.TYPE for r in parsed}:
            stored = list(records(kit.engine, kit.ring, kind, file_id=file_id))
            expected = [r for r in parsed if kind == r.TYPE]
            assert [s.ordinal for s in stored] == [r.ordinal for r in expected]
            for got, want in zip(stored, expected, strict=True):
                assert got.parent_ordinal == want.parent_ordinal
                assert got.data == json.loads(json.dumps(record_dict(want)))
    # service lines point at their claims, claim payments at their payment
    with kit.engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).where(m.ServiceLineRow.claim_id.is_(None))).scalar()
            == 0
        )
        assert (
            conn.execute(
                select(func.count()).where(m.ClaimPaymentRow.payment_id.is_(None))
            ).scalar()
            == 0
        )
        assert (
            conn.execute(select(func.count()).where(m.CoverageRow.member_row_id.is_(None))).scalar()
            == 0
        )
    log = list(kit.audit.entries())
    assert [e.action for e in log] == ["file.stored"] * len(GOOD)
    assert kit.audit.verify().ok


def test_same_bytes_are_a_duplicate(kit: StoreKit):
    ingestor = kit.ingestor()
    first = ingestor.ingest(SAMPLES / "835-remittance.x12")
    again = ingestor.ingest(SAMPLES / "835-remittance.x12")
    assert (first.status, again.status) == ("stored", "duplicate")
    assert again.file_id == first.file_id
    assert count(kit, m.File) == 1 and count(kit, m.ClaimPaymentRow) == 3
    assert [e.action for e in kit.audit.entries()] == ["file.stored", "file.duplicate"]


def test_a_repeated_interchange_is_rejected_with_ta1_025(kit: StoreKit, tmp_path: Path):
    ingestor = kit.ingestor()
    assert kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12").status == "stored"
    copy = tmp_path / "resent.x12"
    copy.write_bytes((SAMPLES / "837P-professional-claim.x12").read_bytes() + b"\n")
    result = ingestor.ingest(copy)
    assert (
        result.status == "rejected"
        and "TA1 025: duplicate interchange control number" in result.note
    )
    assert [a.split(":")[0] for a in result.acks] == ["TA1"]
    assert "TA1*000000301*" in result.ack_texts[0].text and "*R*025" in result.ack_texts[0].text
    assert count(kit, m.ClaimRow) == 2  # the first copy's claims only
    allowed = kit.ingestor(allow_duplicate_interchange=True)
    copy.write_bytes(copy.read_bytes() + b"\n")
    assert allowed.ingest(copy).status == "stored"
    assert count(kit, m.ClaimRow) == 4


def test_a_rejected_file_is_kept_encrypted_with_its_acks(kit: StoreKit, tmp_path: Path):
    bad = SAMPLES / "bad" / "834-broken-envelope.x12"
    result = kit.ingestor().ingest(bad)
    assert result.status == "rejected" and result.records == {}
    assert sorted(a.split(":")[0] for a in result.acks) == ["TA1"]
    with kit.engine.connect() as conn:
        row = conn.execute(select(m.File.__table__)).one()
        acks = conn.execute(select(m.Acknowledgment.__table__)).all()
    assert (
        row.status == "rejected"
        and "TA1 R; TA1 001: the interchange control number in the header and trailer"
        in (row.error_summary or "")
    )
    assert len(acks) == 1 and b"TA1" not in acks[0].content  # stored encrypted
    archive = kit.home / "archive" / (row.archive_name or "")
    assert bad.read_bytes() not in archive.read_bytes()
    out = tmp_path / "restored.x12"
    with out.open("wb") as handle:
        decrypt_file(archive, handle, ring=kit.ring, file_id=row.id)
    assert out.read_bytes() == bad.read_bytes()
    assert count(kit, m.MemberRow) == 0


def test_not_x12_is_rejected_and_kept(kit: StoreKit, tmp_path: Path):
    junk = tmp_path / "junk.x12"
    junk.write_text("no interchange here\n")
    result = kit.ingestor().ingest(junk)
    assert result.status == "rejected" and result.note.startswith("not X12")
    assert result.acks == []
    assert count(kit, m.File) == 1


def test_a_ciphertext_moved_to_another_row_fails(kit: StoreKit):
    kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    with kit.engine.begin() as conn:
        ids = conn.execute(select(m.ClaimRow.id).order_by(m.ClaimRow.ordinal)).scalars().all()
        phi = conn.execute(select(m.ClaimRow.phi).where(m.ClaimRow.id == ids[0])).scalar_one()
        conn.execute(m.ClaimRow.__table__.update().where(m.ClaimRow.id == ids[1]).values(phi=phi))
    with pytest.raises(DecryptError):
        list(records(kit.engine, kit.ring, "claim"))


def test_rolled_back_ingest_leaves_nothing(kit: StoreKit, monkeypatch: pytest.MonkeyPatch):
    ingestor = kit.ingestor()

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline_store, "insert_acknowledgments", explode)
    with pytest.raises(RuntimeError):
        ingestor.ingest(SAMPLES / "837P-professional-claim.x12")
    for table in (m.File, m.InterchangeRow, m.ClaimRow, m.ServiceLineRow):
        assert count(kit, table) == 0
    assert list((kit.home / "archive").glob("*")) == []
    assert list(kit.audit.entries()) == []
    monkeypatch.undo()
    assert kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12").status == "stored"


def test_sets_the_partner_does_not_send_are_rejected_as_not_supported(kit: StoreKit):
    from edi.kinds import transaction_kind

    assert transaction_kind("837", "005010X223A2") == "837I"
    assert transaction_kind("837", "004010X098A1") == "837P"
    assert transaction_kind("835", "005010X221A1") == "835"
    ingestor = kit.ingestor(expected_sets=("835", "837I"))
    claim = ingestor.ingest(SAMPLES / "837P-professional-claim.x12")
    assert claim.status == "rejected" and claim.sets_accepted == 0 and claim.records == {}
    (ack,) = [a for a in claim.ack_texts if a.kind == "999"]
    assert "IK5*R*1~" in ack.text and "AK9*R*" in ack.text
    assert count(kit, m.ClaimRow) == 0
    remit = ingestor.ingest(SAMPLES / "835-remittance.x12")
    assert remit.status == "stored" and remit.sets_rejected == 0


def test_groups_of_a_guide_the_partner_does_not_send_are_rejected(kit: StoreKit):
    ingestor = kit.ingestor(expected_versions=("005010X221A1", "005010X223A2"))
    claim = ingestor.ingest(SAMPLES / "837P-professional-claim.x12")  # 005010X222A1
    assert claim.status == "rejected" and claim.sets_accepted == 0 and claim.records == {}
    (ack,) = [a for a in claim.ack_texts if a.kind == "999"]
    ak9 = [seg.strip() for seg in ack.text.split("~") if seg.strip().startswith("AK9*")]
    assert len(ak9) == 1 and ak9[0].startswith("AK9*R*") and ak9[0].endswith("*2"), ak9
    assert count(kit, m.ClaimRow) == 0
    with kit.engine.connect() as conn:
        summary = conn.execute(
            select(m.File.error_summary).where(m.File.id == claim.file_id)
        ).scalar_one()
    assert "AK9 R; AK905 2: functional group version not supported" in summary
    for name in ("835-remittance.x12", "837I-institutional-claim.x12"):
        assert ingestor.ingest(SAMPLES / name).status == "stored", name


# -- a set validation accepts but no field map serves: refused whole ----------------------

CLAIMS = SAMPLES / "837P-professional-claim.x12"


def nothing_stored(kit: StoreKit) -> None:
    for table in (m.File, m.InterchangeRow, m.TransactionSetRow, m.Acknowledgment, m.ClaimRow):
        assert count(kit, table) == 0, table
    archive = kit.home / "archive"
    assert not archive.exists() or list(archive.iterdir()) == []
    # no acknowledgment was made: no control number was drawn
    assert not (kit.home / "ack-control-number").exists()


@contextmanager
def another_thread(running: bool) -> Iterator[None]:
    """A second thread while inside (a record worker is then spawned, not forked)."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    if running:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if running:
            thread.join()


@pytest.mark.parametrize(
    ("workers", "how"),
    [(1, ""), (2, "forked"), (2, "spawned")],
    ids=["in-process", "forked-worker", "spawned-worker"],
)
def test_a_set_without_a_field_map_is_refused_whole_then_stored_once_it_is_back(
    kit: StoreKit, tmp_path: Path, workers: int, how: str
):
    empty = tmp_path / "no-field-maps"
    empty.mkdir()
    refusing = kit.ingestor(field_maps=FieldMapCatalog([empty]), workers=workers)
    with another_thread(how == "spawned"), pytest.raises(MissingFieldMap) as caught:
        refusing.ingest(CLAIMS, original_name="claims.x12")
    exc = caught.value
    assert (exc.set_id, exc.control, exc.kind, exc.guide) == ("837", "0001", "837P", "005010X222A1")
    assert str(exc) == (
        f"{CLAIMS}: refused, nothing stored or acknowledged (an operator error): set 837 0001 "
        "(837P, guide 005010X222A1, group 301, interchange 000000301): "
        f"no field map for 005010X222A1 in {empty}"
    )
    assert exc.reason == str(exc).removeprefix(f"{CLAIMS}: ")
    nothing_stored(kit)
    (entry,) = kit.audit.entries()
    assert (entry.action, entry.outcome) == ("file.refused", "refused")
    assert entry.object["name"] == "claims.x12" and entry.object["reason"] == exc.reason
    # the maps back: the same bytes are new, and stored with their records
    with another_thread(how == "spawned"):
        stored = kit.ingestor(
            field_maps=FieldMapCatalog([field_maps_folder()]), workers=workers
        ).ingest(CLAIMS)
    assert stored.status == "stored", stored.line()
    # forked when this process runs one thread, else spawned (earlier tests may leave one)
    assert stored.record_worker == how or (how == "forked" and stored.record_worker == "spawned")
    assert stored.records == {"claim": 2, "service_line": 5}
    assert [a.kind for a in stored.ack_texts] == ["999", "277"]
    assert count(kit, m.File) == 1 and count(kit, m.ClaimRow) == 2
    assert [e.action for e in kit.audit.entries()] == ["file.refused", "file.stored"]
    assert kit.audit.verify().ok


def test_an_unreadable_field_map_refuses_the_file_naming_the_map(kit: StoreKit, tmp_path: Path):
    folder = tmp_path / "fields"
    shutil.copytree(field_maps_folder(), folder)
    broken = folder / "837P.5010.X222A1.xml"
    broken.write_text(broken.read_text().replace("</fieldmap>", ""))  # not well-formed
    with pytest.raises(MissingFieldMap) as caught:
        kit.ingestor(field_maps=FieldMapCatalog([folder])).ingest(CLAIMS)
    problem = caught.value.problem
    assert problem.startswith(f"field map {broken} cannot be read: ")
    assert "\n" not in str(caught.value)
    nothing_stored(kit)


def test_only_accepted_sets_need_a_field_map(kit: StoreKit, tmp_path: Path):
    """A set validation rejects is stored as rejected, field map or not; acknowledgments
    received (999) carry no records and need none."""
    empty = tmp_path / "no-field-maps"
    empty.mkdir()
    ingestor = kit.ingestor(field_maps=FieldMapCatalog([empty]))
    rejected = ingestor.ingest(SAMPLES / "bad" / "834-broken-envelope.x12")
    assert rejected.status == "rejected"
    ack = corpus_path("pyx12/834_lui_id_5010.999.txt")
    received = ingestor.ingest(ack)
    assert received.status == "stored" and received.records == {}


def test_a_group_the_999_cannot_echo_is_answered_by_the_ta1_and_not_stored(
    kit: StoreKit, tmp_path: Path
):
    """GS06 of 30 digits cannot be echoed in AK102: no 999 for the group, the TA1 says E 024,
    and the group's records are not stored (nothing acknowledges them to the sender)."""
    text = (SAMPLES / "837P-professional-claim.x12").read_text()
    gs = next(s for s in text.split("~") if s.strip().startswith("GS*"))
    ge = next(s for s in text.split("~") if s.strip().startswith("GE*"))
    control = gs.split("*")[6]
    damaged = tmp_path / "gs06.x12"
    damaged.write_text(
        text.replace(gs, gs.replace(f"*{control}*", "*" + "9" * 30 + "*"), 1).replace(
            ge, ge.rsplit("*", 1)[0] + "*" + "9" * 30, 1
        )
    )
    result = kit.ingestor().ingest(damaged)
    assert result.status == "rejected" and result.records == {}
    assert [a.kind for a in result.ack_texts] == ["TA1"]
    assert "*E*024~" in result.ack_texts[0].text
    assert "answered by the TA1" in result.note
    assert count(kit, m.ClaimRow) == 0
