"""820 premium payments stored and reconciled, on SQLite and PostgreSQL: the records read
back exactly, their PHI only encrypted; an 820 reconciled with the 834 of its members gives
exactly the differences planted in it, with no PHI in what the command prints."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from edi.parsers.normalize import Normalizer
from edi.query.base import Decoder
from edi.query.premiums import reconcile_premiums
from edi.records.phi import record_dict
from edi.store import models as m
from edi.store.read import records
from tests.conftest import SAMPLES
from tests.mutations import mutate
from tests.store_support import (
    StoreKit,
    cli_env,  # noqa: F401 (the fixture env)
    cli_ok,
    run_cli,
)

INDIVIDUAL = SAMPLES / "820-premium-individual.x12"
ORGANIZATION = SAMPLES / "820-premium-organization.x12"
ENROLLMENT = SAMPLES / "834-premium-members.x12"
#: PHI of the individual sample: member ids, names, policy references
PHI = ("999001111", "999004444", "ALEX", "FINLEY", "SAMPLEPOL0001", "SAMPLE0003", "1234567")


def stored(kit: StoreKit, path: Path) -> str:
    result = kit.ingestor().ingest(path)
    assert result.status == "stored" and result.sets_rejected == 0, result.line()
    assert result.file_id is not None
    return result.file_id


def text_cells(kit: StoreKit, table: type) -> list[str]:
    """Every value of ``table`` as text, ciphertexts included (as bytes decoded loosely)."""
    out = []
    with kit.engine.connect() as conn:
        for row in conn.execute(select(table)).mappings():
            for value in row.values():
                if isinstance(value, bytes | bytearray | memoryview):
                    out.append(bytes(value).decode("latin-1"))
                elif value is not None:
                    out.append(str(value))
    return out


def test_820_records_are_stored_encrypted_and_read_back_exactly(kit: StoreKit):
    for path in (INDIVIDUAL, ORGANIZATION):
        file_id = stored(kit, path)
        parsed = list(Normalizer().records(path))
        for kind in ("premium_detail", "premium_payment"):
            got = list(records(kit.engine, kit.ring, kind, file_id=file_id))
            want = [r for r in parsed if kind == r.TYPE]
            assert [g.ordinal for g in got] == [w.ordinal for w in want]
            for g, w in zip(got, want, strict=True):
                assert g.data == json.loads(json.dumps(record_dict(w)))
    cells = text_cells(kit, m.PremiumDetailRow) + text_cells(kit, m.PremiumPaymentRow)
    assert [value for value in PHI if any(value in cell for cell in cells)] == []
    with kit.engine.connect() as conn:
        details = conn.execute(
            select(m.PremiumDetailRow.entity_code, m.PremiumDetailRow.amount)
            .join(m.File, m.File.id == m.PremiumDetailRow.file_id)
            .order_by(m.File.received_at, m.PremiumDetailRow.ordinal)
        ).all()
        payments = conn.execute(
            select(m.PremiumPaymentRow.amount, m.PremiumPaymentRow.balanced).order_by(
                m.PremiumPaymentRow.amount
            )
        ).all()
    assert [(code, Decimal(str(value))) for code, value in details] == [
        ("2J", Decimal("450")),
        ("2J", Decimal("300")),
        ("2J", Decimal("250")),
        ("2J", Decimal("110")),
        ("2L", Decimal("2300")),
    ]
    assert [(Decimal(str(a)), b) for a, b in payments] == [
        (Decimal("1110"), True),
        (Decimal("2300"), True),
    ]


def planted(tmp_path: Path) -> Path:
    """The individual 820 with three differences from the 834: ALEX's id changed (paid
    for an id not enrolled, and ALEX enrolled but not paid for) and BLAKE paid 320.00
    instead of the 300.00 enrolled (BPR02 raised to keep the payment balanced)."""

    def change(segments: list[str]) -> list[str]:
        swaps = {
            "BPR*C*1110*": "BPR*C*1130*",
            "ENT*1*2J*34*999001111": "ENT*1*2J*34*999009999",
            "NM1*IL*1*SAMPLE*ALEX****34*999001111": "NM1*IL*1*SAMPLE*ALEX****34*999009999",
            "RMR*AZ*SAMPLEPOL0002**300": "RMR*AZ*SAMPLEPOL0002**320",
        }
        out = []
        for segment in segments:
            for old, new in swaps.items():
                if segment.startswith(old):
                    segment = segment.replace(old, new, 1)
            out.append(segment)
        assert sum(a != b for a, b in zip(out, segments, strict=True)) == 4
        return out

    return mutate(tmp_path, INDIVIDUAL, change)


def test_the_sample_820_reconciles_with_its_834_without_differences(kit: StoreKit):
    stored(kit, ENROLLMENT)
    file_id = stored(kit, INDIVIDUAL)
    report = reconcile_premiums(kit.engine, Decoder(kit.ring), file_id[:8])
    (payment,) = report["payments"]
    assert {k: payment[k] for k in ("period", "members_paid", "members_enrolled", "matched")} == {
        "period": "2025-02-01..2025-02-28",
        "members_paid": 4,
        "members_enrolled": 4,
        "matched": 4,
    }
    assert payment["paid_not_enrolled"] == payment["enrolled_not_paid"] == []
    assert payment["amount_differences"] == [] and payment["not_compared"] == 0
    assert (payment["earlier_adjustments"], payment["earlier_adjustments_total"]) == (1, "-40.00")


def test_three_planted_differences_are_exactly_those_found(kit: StoreKit, tmp_path: Path):
    enrollment = stored(kit, ENROLLMENT)
    file_id = stored(kit, planted(tmp_path))
    report = reconcile_premiums(kit.engine, Decoder(kit.ring), file_id)
    (payment,) = report["payments"]
    with kit.engine.connect() as conn:
        detail_of = dict(
            conn.execute(
                select(m.PremiumDetailRow.ordinal, m.PremiumDetailRow.id).where(
                    m.PremiumDetailRow.file_id == file_id
                )
            ).all()
        )
        member_of = dict(
            conn.execute(
                select(m.MemberRow.ordinal, m.MemberRow.id).where(m.MemberRow.file_id == enrollment)
            ).all()
        )
    # ENT*1 is the set's 11th segment of the file (ordinal 11), ENT*2 the 16th; ALEX's INS
    # is the 834's 12th segment
    assert payment["paid_not_enrolled"] == [
        {"detail_id": detail_of[11], "segment": 11, "member": "****9999", "paid": "450.00"}
    ]
    assert payment["enrolled_not_paid"] == [
        {
            "member_row_id": member_of[12],
            "file_id": enrollment,
            "segment": 12,
            "member": "****1111",
            "coverages": 1,
            "premium": "450.00",
        }
    ]
    assert payment["amount_differences"] == [
        {
            "detail_id": detail_of[16],
            "segment": 16,
            "member_row_id": member_of[22],
            "member": "****2222",
            "paid": "320.00",
            "premium": "300.00",
            "difference": "20.00",
        }
    ]
    assert (payment["members_paid"], payment["members_enrolled"], payment["matched"]) == (4, 4, 3)


def test_the_command_prints_the_differences_without_phi(env: dict[str, str], tmp_path: Path):
    cli_ok(env, "ingest", str(ENROLLMENT))
    cli_ok(env, "ingest", str(planted(tmp_path)))
    listed = json.loads(cli_ok(env, "files", "list", "--format", "json"))
    (file_id,) = [f["id"] for f in listed if f["name"].startswith("820")]
    text = cli_ok(env, "payments", "reconcile-premiums", "--file", file_id[:8])
    assert re.search(r"^payments\.0\.amount_differences\.0\.difference +20\.00$", text, re.M)
    assert re.search(r"^payments\.0\.paid_not_enrolled\.0\.member +\*{4}9999$", text, re.M)
    for value in ("999009999", "999001111", "999002222", "ALEX", "BLAKE", "SAMPLEPOL"):
        assert value not in text
    data = json.loads(
        cli_ok(env, "payments", "reconcile-premiums", "--file", file_id, "--format", "json")
    )
    (payment,) = data["payments"]
    counts = [len(payment[k]) for k in ("paid_not_enrolled", "enrolled_not_paid")]
    assert counts + [len(payment["amount_differences"])] == [1, 1, 1]


def test_a_file_without_premiums_is_one_clear_line(env: dict[str, str]):
    cli_ok(env, "ingest", str(ENROLLMENT))
    (listed,) = json.loads(cli_ok(env, "files", "list", "--format", "json"))
    result = run_cli(env, "payments", "reconcile-premiums", "--file", listed["id"])
    assert result.exit_code == 1
    assert result.output.strip().endswith(f"file {listed['id']} holds no 820 premium payment")


def test_migration_0013_adds_the_premium_tables_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect

    from edi.store.db import make_engine
    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(store_url)
    upgrade(engine, "0012")
    assert not {"premium_payments", "premium_details"} & set(inspect(engine).get_table_names())
    upgrade(engine, "0013")
    assert current_revision(engine) == "0013"
    assert {"premium_payments", "premium_details"} <= set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(engine), "0012")
    assert not {"premium_payments", "premium_details"} & set(inspect(engine).get_table_names())
    engine.dispose()


def test_enrollment_is_read_from_the_member_state(kit: StoreKit, tmp_path: Path):
    """An address change sent without its HD loops leaves ALEX enrolled (as received, its
    last record has no coverage); BLAKE's termination at the end of January leaves BLAKE
    paid for but not enrolled in February."""
    from tests.store import test_member_state as sequences
    from tests.store.test_member_state import file834

    # the made files' interchange numbers past the sample's (ISA13 201): not duplicates
    while next(sequences._numbers) < 201:
        pass
    stored(kit, ENROLLMENT)
    alex = [
        "INS*Y*18*001*XN*A***FT",
        "REF*0F*SAMPLE0001",
        "NM1*IL*1*SAMPLE*ALEX****34*999001111",
        "N3*456 OTHER ST",
        "N4*ANYTOWN*PA*19000",
    ]
    moved = kit.ingestor().ingest(file834(tmp_path, [alex]))
    assert moved.status == "stored", moved.line()
    assert moved.enrollment == {"changed": 1}
    file_id = stored(kit, INDIVIDUAL)
    (payment,) = reconcile_premiums(kit.engine, Decoder(kit.ring), file_id)["payments"]
    assert (payment["members_enrolled"], payment["matched"]) == (4, 4)
    assert payment["paid_not_enrolled"] == payment["enrolled_not_paid"] == []
    assert payment["amount_differences"] == [] and payment["not_compared"] == 0
    blake = [
        "INS*Y*18*024*XN*A***FT",
        "REF*0F*SAMPLE0002",
        "DTP*357*D8*20250131",
        "NM1*IL*1*SAMPLE*BLAKE****34*999002222",
        "HD*024**HLT*SAMPLE PPO PLAN*EMP",
        "DTP*348*D8*20250101",
        "DTP*349*D8*20250131",
    ]
    ended = kit.ingestor().ingest(file834(tmp_path, [blake]))
    assert ended.enrollment == {"terminated": 1}, ended.line()
    (payment,) = reconcile_premiums(kit.engine, Decoder(kit.ring), file_id)["payments"]
    assert (payment["members_enrolled"], payment["matched"]) == (3, 3)
    assert [p["member"] for p in payment["paid_not_enrolled"]] == ["****2222"]
