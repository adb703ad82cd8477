"""A stored claim's history (its file, intake and 277CA, and ``claim_events``): received,
accepted or rejected with its edits, duplicate, answered by a 277CA and sent, replaced or voided, remitted by an 835;
and suspected duplicates (the same service under another CLM01), flagged and listed.

Made from a corpus 837P whose one claim is repeated (tests/claim_sets.py), the sample
837P and its 835 for remittance."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from edi.store import models as m
from edi.store.claim_events import history
from edi.store.ledger import mark_sent
from tests.claim_sets import many_claims, set_element
from tests.conftest import SAMPLES
from tests.store.test_claim_intake import (
    BAD,
    check_277ca,
    claim_rows,
    folder,
    frequency,
    ingest,
    resent,
)
from tests.store_support import (
    StoreKit,
    cli_env,  # noqa: F401 (the fixture env)
    cli_ok,
    run_cli,
)


def events(kit: StoreKit, claim_id: str) -> list[tuple[str, dict]]:
    with kit.engine.connect() as conn:
        return [(e["event"], e["detail"]) for e in history(conn, claim_id)]


def answer_control(done) -> str:
    (ca,) = [a for a in done.ack_texts if a.kind == "277"]
    return ca.control


def test_accepted_and_rejected_claims_are_answered(kit: StoreKit, tmp_path: Path):
    done = ingest(kit, many_claims(tmp_path, 3, lambda i, s: BAD[1](s) if i == 1 else s))
    control = answer_control(done)
    good, bad, _ = claim_rows(kit, done.file_id)
    assert events(kit, good["id"]) == [
        ("received", {}),
        ("accepted", {}),
        ("answered", {"ack": control}),
    ]
    assert events(kit, bad["id"]) == [
        ("received", {}),
        ("rejected", {"edits": ["CLM02:I12"]}),
        ("answered", {"ack": control}),
    ]
    # an accepted claim's history is read from its file, its intake and its 277CA: no
    # row is written for it; the rejected one's rejection is a row (its edits' codes)
    with kit.engine.connect() as conn:
        stored = conn.execute(
            select(m.ClaimEvent.claim_id, m.ClaimEvent.event, m.ClaimEvent.file_id)
        )
        rows = stored.all()
    assert rows == [(bad["id"], "rejected", done.file_id)]
    # the exchange records the 277CA sent: its claims say so; a 999 sent adds nothing
    (ack999,) = [a for a in done.ack_texts if a.kind == "999"]
    assert mark_sent(kit.engine, done.file_id, "999", ack999.control, "outbound/a.999")
    assert mark_sent(kit.engine, done.file_id, "277", control, "outbound/a.277")
    assert not mark_sent(kit.engine, done.file_id, "277", control, "outbound/a.277")
    for row in (good, bad):
        assert events(kit, row["id"])[-1] == ("sent", {"ack": control})
        assert [e for e, _ in events(kit, row["id"])].count("sent") == 1


def two_sets(path: Path) -> Path:
    """The file's one 837 set followed by a copy of it (ST02 0022, new CLM01s) in the same
    functional group: two 277CAs with the same ISA13 and GS06 answered."""
    text = path.read_text()
    start, end = text.index("ST*837*"), text.index("GE*1*")
    copy = text[start:end].replace("*0021*", "*0022*").replace("SE*65*0021", "SE*65*0022")
    copy = copy.replace("CLM*", "CLM*B")
    out = path.with_name("two-sets.837")
    out.write_text(text[:end] + copy + text[end:].replace("GE*1*", "GE*2*"))
    return out


def test_each_claim_is_answered_by_its_own_sets_277ca(kit: StoreKit, tmp_path: Path):
    done = ingest(kit, two_sets(many_claims(tmp_path, 2)))
    assert done.sets_accepted == 2
    first, second = [a.control for a in done.ack_texts if a.kind == "277"]
    assert first != second
    with kit.engine.connect() as conn:
        sets = dict(
            conn.execute(
                select(m.TransactionSetRow.id, m.TransactionSetRow.control).where(
                    m.TransactionSetRow.file_id == done.file_id
                )
            ).all()
        )
    rows = claim_rows(kit, done.file_id)
    assert len(rows) == 4
    for row in rows:
        control = first if sets[row["set_row_id"]] == "0021" else second
        assert [(e, d) for e, d in events(kit, row["id"]) if e == "answered"] == [
            ("answered", {"ack": control})
        ]
    assert mark_sent(kit.engine, done.file_id, "277", second, "outbound/b.277")
    sent = {r["id"] for r in rows if events(kit, r["id"])[-1][0] == "sent"}
    assert sent == {r["id"] for r in rows if sets[r["set_row_id"]] == "0022"}


def test_claims_show_names_the_277ca_of_the_claims_own_set(env: dict[str, str], tmp_path: Path):
    path = two_sets(many_claims(tmp_path, 2))
    assert run_cli(env, "ingest", "--partner", "acme", str(path)).exit_code == 0
    listed = json.loads(cli_ok(env, "claims", "list", "--format", "json"))
    controls = set()
    for claim in listed:
        shown = json.loads(cli_ok(env, "claims", "show", claim["id"], "--format", "json"))
        (answer,) = shown["answered_by"]
        (event,) = [h for h in shown["history"] if h["event"] == "answered"]
        assert answer["control"] == event["detail"]["ack"]
        controls.add(answer["control"])
    assert len(listed) == 4 and len(controls) == 2


def test_a_duplicate_is_received_rejected_and_names_the_original(kit: StoreKit, tmp_path: Path):
    first = ingest(kit, many_claims(tmp_path, 2))
    again = ingest(kit, resent(tmp_path / "claims.837", "000000908", "again.837"))
    originals = claim_rows(kit, first.file_id)
    for original, row in zip(originals, claim_rows(kit, again.file_id), strict=True):
        assert events(kit, row["id"]) == [
            ("received", {}),
            ("rejected", {"edits": ["DUPLICATE"]}),
            ("duplicate", {"duplicate_of": original["id"]}),
            ("answered", {"ack": answer_control(again)}),
        ]
        assert [e for e, _ in events(kit, original["id"])] == ["received", "accepted", "answered"]


def test_a_replacement_and_a_void(kit: StoreKit, tmp_path: Path):
    first = ingest(kit, many_claims(folder(tmp_path, "a"), 2))
    one, two = (r["id"] for r in claim_rows(kit, first.file_id))
    replacing = many_claims(folder(tmp_path, "b"), 1, frequency("7", one))
    done = ingest(kit, resent(replacing, "000000910", "replacing.837"))
    (new,) = claim_rows(kit, done.file_id)
    assert [e for e, _ in events(kit, new["id"])] == ["received", "accepted", "answered"]
    assert events(kit, one)[-1] == ("replaced", {"by": new["id"]})
    voiding = many_claims(folder(tmp_path, "c"), 2, lambda i, s: frequency("8", None)(i, s))
    # a void without REF*F8 (found by its CLM01) breaks a rule this partner only warns of
    warn = {"837P-2300-CLM05-3-REF-F8": "warn"}
    voided = ingest(kit, resent(voiding, "000000911", "voiding.837"), edits=warn)
    void = claim_rows(kit, voided.file_id)[1]
    assert events(kit, two)[-1] == ("voided", {"by": void["id"]})
    with kit.engine.connect() as conn:
        caused = conn.execute(
            select(m.ClaimEvent.file_id).where(
                m.ClaimEvent.claim_id == two, m.ClaimEvent.event == "voided"
            )
        ).scalar()
    assert caused == voided.file_id
    # the first file's claims: received, accepted, answered, then replaced or voided
    assert [e for e, _ in events(kit, one)] == ["received", "accepted", "answered", "replaced"]


def test_an_835_adds_remitted_to_the_claims_it_answers(kit: StoreKit):
    claims = kit.ingestor(partner="acme").ingest(SAMPLES / "837P-professional-claim.x12")
    remit = kit.ingestor(partner="acme").ingest(SAMPLES / "835-remittance-837P.x12")
    assert remit.status == m.STORED and remit.records.get("claim_payment") == 2
    first, second = claim_rows(kit, claims.file_id)
    with kit.engine.connect() as conn:
        payments = dict(
            conn.execute(
                select(m.ClaimPaymentRow.status, m.ClaimPaymentRow.id).where(
                    m.ClaimPaymentRow.file_id == remit.file_id
                )
            ).all()
        )
        by_file = conn.execute(
            select(func.count())
            .select_from(m.ClaimEvent)
            .where(m.ClaimEvent.file_id == remit.file_id, m.ClaimEvent.event == "remitted")
        ).scalar()
    # CLP02 1 (paid) answers the first claim, 4 (denied) the second
    assert events(kit, first["id"])[-1] == (
        "remitted",
        {"status": "1", "claim_payment": payments["1"]},
    )
    assert events(kit, second["id"])[-1] == (
        "remitted",
        {"status": "4", "claim_payment": payments["4"]},
    )
    assert by_file == 2


def test_claims_show_prints_the_history(env: dict[str, str], tmp_path: Path):
    path = many_claims(tmp_path, 2, lambda i, s: BAD[1](s) if i == 0 else s)
    assert run_cli(env, "ingest", "--partner", "acme", str(path)).exit_code == 0
    listed = json.loads(cli_ok(env, "claims", "list", "--intake", "rejected", "--format", "json"))
    shown = json.loads(cli_ok(env, "claims", "show", listed[0]["id"], "--format", "json"))
    assert [h["event"] for h in shown["history"]] == ["received", "rejected", "answered"]
    assert shown["history"][1]["detail"] == {"edits": ["CLM02:I12"]}
    assert shown["history"][1]["text"].startswith("rejected: CLM02 I12")
    text = cli_ok(env, "claims", "show", listed[0]["id"])
    assert "received" in text and "rejected: CLM02 I12" in text and "answered by 277CA" in text
    assert "SMITH" not in text  # the corpus claim's patient, masked


# -- suspected duplicates ----------------------------------------------------------------


def new_clm01(prefix: str):
    """Each copy's CLM01 made another one (a new patient control number)."""

    def change(index: int, segments: list[str]) -> list[str]:
        return set_element("CLM", 1, f"{prefix}{index:04d}")(segments)

    return change


def test_the_same_claim_under_another_clm01_is_a_suspect(kit: StoreKit, tmp_path: Path):
    first = ingest(kit, many_claims(folder(tmp_path, "a"), 3))
    originals = {r["id"] for r in claim_rows(kit, first.file_id)}
    # claims of one file are never compared with each other (the copies share a patient)
    assert first.claims_suspect == 0
    assert {r["suspect_of"] for r in claim_rows(kit, first.file_id)} == {None}
    again = ingest(
        kit,
        resent(many_claims(folder(tmp_path, "b"), 3, new_clm01("NEW")), "000000920", "again.837"),
    )
    assert again.claims_suspect == 3 and again.claims_duplicate == 0
    assert again.claims_rejected == 0 and "suspected duplicates 3" in again.line()
    for row in claim_rows(kit, again.file_id):
        assert row["intake"] == "accepted" and row["duplicate_of"] is None
        assert row["suspect_of"] in originals
        (edit,) = json.loads(row["edits"])
        assert (edit["edit"], edit["severity"], edit["suspect_of"]) == (
            "SUSPECT_DUPLICATE",
            "warn",
            row["suspect_of"],
        )
        assert events(kit, row["id"])[2] == ("suspected", {"suspect_of": row["suspect_of"]})
    # the 277CA accepts them as it would any claim: one STC each, A2:20
    (ca,) = [a for a in again.ack_texts if a.kind == "277"]
    segments = check_277ca(tmp_path, ca.text, accepted=3, rejected=0)
    claim_stcs = [s for s in segments if s.startswith("STC*A2:20*")]
    assert len(claim_stcs) == 3 and not any("SUSPECT" in s for s in segments)


def test_another_procedure_or_the_same_clm01_is_no_suspect(kit: StoreKit, tmp_path: Path):
    ingest(kit, many_claims(folder(tmp_path, "a"), 2))

    def other_code(index: int, segments: list[str]) -> list[str]:
        segments = new_clm01("OTH")(index, segments)
        return set_element("SV1", 1, "HC:99215", nth=1)(segments)

    changed = ingest(
        kit, resent(many_claims(folder(tmp_path, "b"), 2, other_code), "000000921", "b.837")
    )
    assert changed.claims_suspect == 0
    assert {r["suspect_of"] for r in claim_rows(kit, changed.file_id)} == {None}
    # the same CLM01s: exact duplicates, never suspects as well
    exact = ingest(kit, resent(many_claims(folder(tmp_path, "c"), 2), "000000922", "c.837"))
    assert exact.claims_duplicate == 2 and exact.claims_suspect == 0
    assert {r["suspect_of"] for r in claim_rows(kit, exact.file_id)} == {None}


def test_claims_list_duplicates_exact_and_suspect(env: dict[str, str], tmp_path: Path):
    path = many_claims(folder(tmp_path, "a"), 2)
    assert run_cli(env, "ingest", "--partner", "acme", str(path)).exit_code == 0
    exact = resent(path, "000000930", "exact.837")
    assert run_cli(env, "ingest", "--partner", "acme", str(exact)).exit_code == 0
    suspect = resent(many_claims(folder(tmp_path, "b"), 2, new_clm01("SUS")), "000000931", "s.837")
    done = run_cli(env, "ingest", "--partner", "acme", str(suspect))
    assert done.exit_code == 0 and "suspected duplicates 2" in done.output, done.output

    def listed(*args: str) -> list[dict]:
        return json.loads(cli_ok(env, "claims", "list", *args, "--format", "json"))

    both = listed("--duplicates")
    assert sorted(c["duplicate"] for c in both) == ["exact", "exact", "suspect", "suspect"]
    assert listed("--duplicates", "all") == both
    assert {c["duplicate"] for c in listed("--duplicates", "exact")} == {"exact"}
    suspects = listed("--duplicates", "suspect")
    assert len(suspects) == 2 and {c["intake"] for c in suspects} == {"accepted"}
    assert len(listed()) == 6 and {c["duplicate"] for c in listed()} == {"", "exact", "suspect"}
    table = cli_ok(env, "claims", "list", "--duplicates", "suspect")
    assert "suspect" in table and "DUPLICATE" in table.splitlines()[0]


def test_migration_0011_adds_the_history_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect

    from edi.store.db import make_engine
    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(store_url)
    upgrade(engine, "0010")
    upgrade(engine, "0011")
    assert current_revision(engine) == "0011"
    assert "claim_events" in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("claim_events")}
    assert columns == {"id", "claim_id", "file_id", "at", "event", "detail"}
    assert {"suspect_key_bidx", "suspect_of"} <= {
        c["name"] for c in inspect(engine).get_columns("claims")
    }
    command.downgrade(alembic_config(engine), "0010")
    assert "claim_events" not in inspect(engine).get_table_names()
    assert not {"suspect_key_bidx", "suspect_of"} & {
        c["name"] for c in inspect(engine).get_columns("claims")
    }
    engine.dispose()


def test_a_reprocessed_file_writes_its_claims_history_again(kit: StoreKit):
    from tests.store.test_reprocess import run_again

    first = kit.ingestor(partner="acme").ingest(SAMPLES / "837P-professional-claim.x12")
    old_ids = [r["id"] for r in claim_rows(kit, first.file_id)]
    done = run_again(kit, (first.file_id or "")[:8])
    with kit.engine.connect() as conn:
        left = conn.execute(
            select(func.count())
            .select_from(m.ClaimEvent)
            .where(m.ClaimEvent.claim_id.in_(old_ids) | (m.ClaimEvent.file_id == first.file_id))
        ).scalar()
    assert left == 0
    new = claim_rows(kit, done.result.file_id)
    assert len(new) == 2
    for row in new:
        assert [e for e, _ in events(kit, row["id"])] == ["received", "accepted", "answered"]
