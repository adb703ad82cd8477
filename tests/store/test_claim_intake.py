"""Claim by claim: a bad claim among thousands is rejected alone, the others stored as
accepted; what the 999 says of the set; severities per partner. Made from a corpus 837P
whose one claim is repeated (tests/claim_sets.py), one change to a few copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi.parsers.validate import Validator
from edi.pipeline.context import Policy
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.write import stored_acknowledgments
from tests.claim_sets import many_claims, set_element
from tests.pyx12_oracle import pyx12_accepts
from tests.store_support import (
    StoreKit,
    cli_env,  # noqa: F401 (the fixture env)
    cli_ok,
    run_cli,
)

#: the copies changed, and how: the claim total (SNIP 3, CLM02, at the CLM), a line's
#: date (an element error, D8 20060231: SNIP 1, in loop 2400) and a line's charge (which
#: makes the claim total wrong: CLM02 again)
BAD = {
    1: set_element("CLM", 2, "101.00"),
    2000: set_element("DTP", 3, "20060231", nth=2),
    4998: set_element("SV1", 2, "41.00"),
}


def bad_claims(index: int, segments: list[str]) -> list[str]:
    change = BAD.get(index)
    return segments if change is None else change(segments)


def ingest(kit: StoreKit, path: Path, **policy: object):
    ingestor = kit.ingestor(partner="acme")
    ingestor.policy = Policy("acme", **policy)  # type: ignore[arg-type]
    return ingestor.ingest(path)


def intakes(kit: StoreKit) -> dict[str, list[tuple[int, list[dict]]]]:
    """intake -> (CLM01 copy index, edits) of each claim, ordered by ordinal."""
    out: dict[str, list[tuple[int, list[dict]]]] = {}
    with kit.engine.connect() as conn:
        rows = conn.execute(
            select(m.ClaimRow.ordinal, m.ClaimRow.intake, m.ClaimRow.edits).order_by(
                m.ClaimRow.ordinal
            )
        ).all()
    for index, (_ordinal, intake, edits) in enumerate(rows):
        out.setdefault(intake, []).append((index, json.loads(edits) if edits else []))
    return out


def test_three_bad_claims_of_5000_are_rejected_alone(kit: StoreKit, tmp_path: Path):
    path = many_claims(tmp_path, 5000, bad_claims)
    # the validator alone rejects the set (a date in a claim is an X12 syntax error)
    (tx,) = [
        t
        for ic in Validator().validate(path).interchanges
        for g in ic.groups
        for t in g.transactions
    ]
    assert tx.ack_code == "R"

    done = ingest(kit, path)
    assert done.status == m.STORED and done.sets_accepted == 1 and done.sets_rejected == 0
    assert done.records["claim"] == 5000 and done.claims_rejected == 3
    assert "claims rejected 3" in done.line()
    found = intakes(kit)
    assert len(found["accepted"]) == 4997 and all(not e for _, e in found["accepted"])
    rejected = {index: edits for index, edits in found["rejected"]}
    assert sorted(rejected) == [1, 2000, 4998]
    assert [(e["edit"], e["code"], e["snip"], e["loop"], e["severity"]) for e in rejected[1]] == [
        ("CLM02", "I12", 3, "2300", "reject")
    ]
    assert [(e["edit"], e["code"], e["snip"], e["loop"]) for e in rejected[2000]] == [
        ("DTP03", "8", 1, "2400")
    ]
    assert rejected[4998][0]["edit"] == "CLM02"
    # the 999 accepts the set with the errors noted (IK5 E), its group too (AK9 E)
    (ack,) = [a for a in done.ack_texts if a.kind == "999"]
    segments = [s.strip() for s in ack.text.split("~")]
    assert any(s.startswith("IK5*E") for s in segments), ack.text
    assert any(s.startswith("AK9*E*1*1*1") for s in segments), ack.text
    assert sum(s.startswith("IK3*") for s in segments) == 3
    # one 277CA: 4,997 claims accepted, 3 rejected, valid by pyx12's X214 map and ours
    (ca,) = [a for a in done.ack_texts if a.kind == "277"]
    check_277ca(tmp_path, ca.text, accepted=4997, rejected=3)
    with kit.engine.connect() as conn:
        kinds = conn.execute(select(m.Acknowledgment.kind)).scalars().all()
    assert sorted(kinds) == ["277", "999", "TA1"]  # ISA14 1 asks for a TA1
    # the 277CA is stored compressed under its encryption, and read back as it was sent
    _status, stored = stored_acknowledgments(kit.engine, FieldCipher(kit.ring), done.file_id)
    assert [a.text for a in stored if a.kind == "277"] == [ca.text]
    with kit.engine.connect() as conn:
        row = conn.execute(select(m.Acknowledgment).where(m.Acknowledgment.kind == "277")).one()
    sealed = FieldCipher(kit.ring).decrypt(
        row.content, table="acknowledgments", column="content", row_id=row.id
    )
    assert sealed[:1] == b"\x78" and len(sealed) * 3 < len(ca.text)


def check_277ca(tmp_path: Path, text: str, *, accepted: int, rejected: int) -> list[str]:
    """The 277CA's segments, once our validator and pyx12 accept it and its receiver level
    counts ``accepted`` and ``rejected`` claims."""
    path = tmp_path / "answer.277"
    path.write_text(text)
    (tx,) = [
        t
        for ic in Validator().validate(path).interchanges
        for g in ic.groups
        for t in g.transactions
    ]
    assert (tx.set_id, tx.version, tx.ack_code, tx.errors) == ("277", "005010X214", "A", [])
    ok, errors = pyx12_accepts(path)
    assert ok and not errors, errors
    segments = [s.strip() for s in text.split("~") if s.strip()]
    quantities = [s for s in segments if s.startswith("QTY*")]
    assert f"QTY*90*{accepted}" in quantities[0:2] if accepted else True
    assert f"QTY*AA*{rejected}" in quantities[0:2] if rejected else True
    claims = [s for s in segments if s.startswith("TRN*2*")][1:]  # the first is the batch's
    assert len(claims) == accepted + rejected
    return segments


def test_a_claim_error_that_breaks_the_reading_rejects_the_set(kit: StoreKit, tmp_path: Path):
    def unexpected(index: int, segments: list[str]) -> list[str]:
        if index == 3:  # a segment the claim's loops do not have (IK304 2)
            clm = next(i for i, s in enumerate(segments) if s.startswith("CLM*"))
            segments.insert(clm + 1, "BPR*I*100*C*CHK")
        return segments

    done = ingest(kit, many_claims(tmp_path, 10, unexpected))
    assert done.status == m.REJECTED and done.sets_rejected == 1
    with kit.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.ClaimRow)).scalar() == 0


def test_without_split_claims_one_bad_claim_rejects_the_set(kit: StoreKit, tmp_path: Path):
    path = many_claims(tmp_path, 20, lambda i, s: BAD[2000](s) if i == 7 else s)
    done = ingest(kit, path, split_claims=False)
    assert done.status == m.REJECTED and done.sets_rejected == 1


def test_severities_per_partner(kit: StoreKit, tmp_path: Path):
    path = many_claims(tmp_path, 6, lambda i, s: BAD[1](s) if i in (2, 4) else s)
    done = ingest(kit, path, edits={"CLM02": "warn"})
    assert done.claims_rejected == 0
    found = intakes(kit)
    assert len(found["accepted"]) == 6
    warned = [index for index, edits in found["accepted"] if edits]
    assert warned == [2, 4]
    assert found["accepted"][2][1][0]["severity"] == "warn"


def test_an_edit_turned_off_is_gone_from_the_999_too(kit: StoreKit, tmp_path: Path):
    path = many_claims(tmp_path, 4, lambda i, s: BAD[1](s) if i == 0 else s)
    done = ingest(kit, path, edits={"snip3": "off"})
    assert done.claims_rejected == 0
    (ack,) = [a for a in done.ack_texts if a.kind == "999"]
    assert "IK3*" not in ack.text and "IK5*A" in ack.text
    assert set(intakes(kit)) == {"accepted"}


@pytest.mark.parametrize("edits", [{"CLM2": "reject"}, {"CLM02": "maybe"}, {"snip9": "off"}])
def test_a_bad_edits_table_is_refused_at_load(tmp_path: Path, edits: dict[str, str]):
    from edi.config import load_settings
    from edi.errors import ConfigError

    lines = "\n".join(f'{k} = "{v}"' for k, v in edits.items())
    conf = tmp_path / "edi.toml"
    conf.write_text(
        f'[partners.acme]\ntransport = "local"\npath = "."\n\n[partners.acme.edits]\n{lines}\n'
    )
    with pytest.raises(ConfigError, match="edit"):
        load_settings(conf, env={"EDI_HOME": str(tmp_path)}).partners  # noqa: B018


def test_migration_0010_adds_the_intake_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect

    from edi.store.db import make_engine
    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(store_url)
    upgrade(engine, "0009")
    upgrade(engine, "0010")
    assert current_revision(engine) == "0010"
    columns = {c["name"]: c for c in inspect(engine).get_columns("claims")}
    assert {"intake", "edits"} <= set(columns)
    # claims stored before were accepted with their set: the default says so
    assert "accepted" in str(columns["intake"]["default"]) and not columns["intake"]["nullable"]
    assert any(i["column_names"] == ["intake"] for i in inspect(engine).get_indexes("claims"))
    command.downgrade(alembic_config(engine), "0009")
    assert not {"intake", "edits"} & {c["name"] for c in inspect(engine).get_columns("claims")}
    engine.dispose()


def test_the_commands_list_and_show_each_claims_intake(env: dict[str, str], tmp_path: Path):
    path = many_claims(tmp_path, 20, bad_claims_of(3, 11))
    acks = tmp_path / "acks"
    done = run_cli(env, "ingest", "--partner", "acme", "--ack-dir", str(acks), str(path))
    assert done.exit_code == 0 and "claims rejected 2" in done.output, done.output
    # the data directory's owner may reveal PHI: the 277CA is written beside the 999
    assert sorted(p.suffix for p in acks.iterdir()) == [".277", ".999", ".ta1"]
    listed = json.loads(cli_ok(env, "claims", "list", "--intake", "rejected", "--format", "json"))
    assert len(listed) == 2 and {c["intake"] for c in listed} == {"rejected"}
    accepted = json.loads(cli_ok(env, "claims", "list", "--intake", "accepted", "--format", "json"))
    assert len(accepted) == 18
    shown = json.loads(cli_ok(env, "claims", "show", listed[0]["id"], "--format", "json"))
    assert shown["intake"] == "rejected"
    (answer,) = shown["answered_by"]
    assert answer["kind"] == "277CA" and answer["control"].isdigit() and answer["sent"] == ""
    (edit,) = shown["edits"]
    assert edit["edit"] in ("CLM02", "DTP03") and edit["meaning"]
    assert (edit["code"], edit["meaning"]) in {
        ("I12", "implementation pattern match failure"),
        ("8", "invalid date"),
    }


def bad_claims_of(*indexes: int):
    """Copies ``indexes`` changed as BAD's first two changes, in turn."""
    changes = [BAD[1], BAD[2000]]

    def change(index: int, segments: list[str]) -> list[str]:
        if index in indexes:
            return changes[indexes.index(index) % 2](segments)
        return segments

    return change


def test_an_operator_who_may_not_reveal_phi_gets_no_277ca_file(env: dict[str, str], tmp_path: Path):
    from edi.access import os_user

    home = Path(env["EDI_HOME"])
    (home / "edi.toml").write_text(f'[roles]\noperator = ["{os_user()}"]\n')
    (home / "edi.toml").chmod(0o600)
    acks = tmp_path / "acks"
    path = many_claims(tmp_path, 3)
    done = run_cli(env, "ingest", "--partner", "acme", "--ack-dir", str(acks), str(path))
    assert done.exit_code == 0, done.output
    assert sorted(p.suffix for p in acks.iterdir()) == [".999", ".ta1"]
    assert "277CA" in done.stderr and "may not reveal it" in done.stderr
    assert "SMITH" not in done.output  # the patient of the corpus claim


def test_a_partner_without_277cas_gets_the_999_alone(kit: StoreKit, tmp_path: Path):
    done = ingest(kit, many_claims(tmp_path, 3, bad_claims), ack_277=False)
    assert [a.kind for a in done.ack_texts] == ["TA1", "999"] and done.claims_rejected == 1


# -- duplicates, replacements and voids ------------------------------------------------------


def resent(path: Path, isa13: str, name: str) -> Path:
    """The same claims in a new interchange (another ISA13, so not a repeated interchange)."""
    text = path.read_text().replace("*000000907*", f"*{isa13}*")
    out = path.with_name(name)
    out.write_text(text.replace("IEA*1*000000907", f"IEA*1*{isa13}"))
    return out


def claim_rows(kit: StoreKit, file_id: str) -> list:
    with kit.engine.connect() as conn:
        return (
            conn.execute(
                select(m.ClaimRow).where(m.ClaimRow.file_id == file_id).order_by(m.ClaimRow.ordinal)
            )
            .mappings()
            .all()
        )


def test_the_same_claims_sent_again_are_exact_duplicates(kit: StoreKit, tmp_path: Path):
    first = ingest(kit, many_claims(tmp_path, 20))
    again = ingest(kit, resent(tmp_path / "claims.837", "000000908", "again.837"))
    assert again.status == m.STORED and again.claims_duplicate == 20
    assert again.claims_rejected == 20 and "duplicates 20" in again.line()
    originals = {r["ordinal"]: r["id"] for r in claim_rows(kit, first.file_id)}
    for row in claim_rows(kit, again.file_id):
        assert row["intake"] == "rejected" and row["duplicate_of"] == originals[row["ordinal"]]
        (edit,) = json.loads(row["edits"])
        assert edit["edit"] == "DUPLICATE" and edit["duplicate_of"] == row["duplicate_of"]
    (ca,) = [a for a in again.ack_texts if a.kind == "277"]
    segments = check_277ca(tmp_path, ca.text, accepted=0, rejected=20)
    assert sum(s.startswith("STC*A8:78*") for s in segments) == 20
    # the first file's claims stay accepted; a warn policy keeps a third copy accepted
    assert {r["intake"] for r in claim_rows(kit, first.file_id)} == {"accepted"}
    warned = ingest(
        kit, resent(tmp_path / "claims.837", "000000909", "third.837"), duplicates="warn"
    )
    assert warned.claims_duplicate == 20 and warned.claims_rejected == 0
    assert {r["intake"] for r in claim_rows(kit, warned.file_id)} == {"accepted"}


def frequency(code: str, reference: str | None):
    """A copy made a replacement (7) or void (8) naming ``reference`` in REF*F8."""

    def change(index: int, segments: list[str]) -> list[str]:
        segments = set_element("CLM", 5, f"11:B:{code}")(segments)
        if reference is not None:
            at = next(i for i, s in enumerate(segments) if s.startswith("REF*D9*"))
            segments.insert(at, f"REF*F8*{reference}")
        return segments

    return change


def folder(tmp_path: Path, name: str) -> Path:
    made = tmp_path / name
    made.mkdir()
    return made


def test_a_replacement_and_a_void_change_the_claims_they_name(kit: StoreKit, tmp_path: Path):
    first = ingest(kit, many_claims(folder(tmp_path, "a"), 2))
    one, two = (r["id"] for r in claim_rows(kit, first.file_id))
    replacing = many_claims(folder(tmp_path, "b"), 1, frequency("7", one))
    done = ingest(kit, resent(replacing, "000000910", "replacing.837"))
    assert done.status == m.STORED and done.claims_duplicate == 0 and done.claims_replaced == 1
    (new,) = claim_rows(kit, done.file_id)
    assert new["intake"] == "accepted" and new["frequency_code"] == "7"
    rows = {r["id"]: r for r in claim_rows(kit, first.file_id)}
    assert (rows[one]["intake"], rows[one]["replaced_by"]) == ("replaced", new["id"])
    assert rows[two]["intake"] == "accepted"
    # a void without REF*F8 names the claim by its billing provider, CLM01 and payer: the
    # first file's second claim (copy 1 of the CLM01s); the guide requires REF*F8 there
    # (rule 837P-2300-CLM05-3-REF-F8, maps/rules/), which this partner only warns of
    voiding = many_claims(
        folder(tmp_path, "c"), 2, lambda i, s: frequency("8", None)(i, s) if i == 1 else s
    )
    warn = {"837P-2300-CLM05-3-REF-F8": "warn"}
    voided = ingest(kit, resent(voiding, "000000911", "voiding.837"), edits=warn)
    assert voided.claims_replaced == 1
    rows = {r["id"]: r for r in claim_rows(kit, first.file_id)}
    assert (rows[two]["intake"], rows[two]["replaced_by"]) != ("accepted", None)
    assert rows[two]["intake"] == "voided"
    # its first copy (frequency 1) repeats the claim as replaced: a duplicate of the
    # replacement, the claim in force, not of the claim it replaced
    first_copy, void = claim_rows(kit, voided.file_id)
    assert voided.claims_duplicate == 1 and first_copy["duplicate_of"] == new["id"]
    assert void["intake"] == "accepted" and void["duplicate_of"] is None


def test_claims_list_duplicates(env: dict[str, str], tmp_path: Path):
    path = many_claims(tmp_path, 3)
    assert run_cli(env, "ingest", "--partner", "acme", str(path)).exit_code == 0
    again = run_cli(env, "ingest", "--partner", "acme", str(resent(path, "000000912", "b.837")))
    assert again.exit_code == 0 and "duplicates 3" in again.output, again.output
    listed = json.loads(cli_ok(env, "claims", "list", "--duplicates", "--format", "json"))
    assert len(listed) == 3 and {c["intake"] for c in listed} == {"rejected"}
    shown = json.loads(cli_ok(env, "claims", "show", listed[0]["id"], "--format", "json"))
    assert shown["duplicate_of"] and shown["edits"][0]["edit"] == "DUPLICATE"
