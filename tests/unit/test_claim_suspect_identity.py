"""A claim's suspect identity (``Claim.suspect_identity``: patient, billing provider,
service dates, line procedure codes; no CLM01, no charge), read from corpus 837s and one
change made to them (tests/mutations.py)."""

from __future__ import annotations

from pathlib import Path

from edi.parsers.x837 import claims
from edi.records import Claim, ServiceLine
from tests.claim_sets import set_element
from tests.conftest import corpus_path
from tests.mutations import P837, mutate


def read(path: Path) -> tuple[Claim, list[ServiceLine]]:
    records = list(claims(path))
    (claim,) = [r for r in records if isinstance(r, Claim)]
    return claim, [r for r in records if isinstance(r, ServiceLine)]


def test_the_837p_identity_takes_its_lines_procedures_and_dates():
    claim, lines = read(corpus_path(P837))
    assert claim.service_date_from is None  # dated by its lines only
    assert claim.line_procedures == [line.procedure_code for line in lines]
    assert claim.lines_date_from == lines[0].service_date_from == "2006-10-03"
    assert claim.lines_date_to == (lines[-1].service_date_to or lines[-1].service_date_from)
    parts = (claim.suspect_identity or "").split("\x1f")
    # a dependent (2000C): the subscriber's member id, the patient's name and birth date
    subscriber, patient, provider = claim.subscriber, claim.patient, claim.billing_provider
    assert subscriber is not None and patient is not None and provider is not None
    assert patient.id is None and patient.first_name != subscriber.first_name
    assert parts == [
        subscriber.id,
        (patient.last_name or "").upper(),
        (patient.first_name or "").upper(),
        patient.birth_date,
        provider.npi,
        "2006-10-03",
        "2006-10-10",
        ",".join(sorted(line.procedure_code or "" for line in lines)),
    ]
    assert claim.patient_control_number not in parts and "100" not in parts


def test_the_837i_identity_takes_its_statement_dates():
    claim, lines = read(corpus_path("lfh/demo.837i"))
    parts = (claim.suspect_identity or "").split("\x1f")
    assert parts[5:7] == [claim.statement_date_from, claim.statement_date_to]
    assert parts[7] == ",".join(sorted(line.procedure_code or "" for line in lines))


def clm(position: int, value: str):
    return lambda segments: set_element("CLM", position, value)(segments)


def test_another_clm01_or_charge_keeps_it_another_procedure_changes_it(tmp_path: Path):
    source = corpus_path(P837)
    original, _ = read(source)
    for n, change in enumerate((clm(1, "OTHER01"), clm(2, "120"))):
        folder = tmp_path / str(n)
        folder.mkdir()
        changed, _ = read(mutate(folder, source, change))
        assert changed.suspect_identity == original.suspect_identity
        assert changed.duplicate_key != original.duplicate_key
    folder = tmp_path / "code"
    folder.mkdir()
    changed, _ = read(mutate(folder, source, set_element("SV1", 1, "HC:99215", nth=1)))
    assert changed.suspect_identity != original.suspect_identity
    assert "99215" in changed.line_procedures and "87070" not in changed.line_procedures
