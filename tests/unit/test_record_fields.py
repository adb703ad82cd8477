"""Every record field is declared once, and what is derived from the declarations holds:
PHI sets, the store's plain columns and blind indexes, masking, and parties by role
(a person's names and ids masked, an organization's in the clear)."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest

from edi.masking import mask_phi, part_class
from edi.parsers.fields import field_maps_folder, load_field_map
from edi.parsers.normalize import Normalizer
from edi.records import CLASSES, RECORD_TYPES, Organization, Person, Record
from edi.records.base import KEPT, KINDS, PERSON, SPEC, FieldSpec, specs
from edi.records.phi import merge, record_dict, split
from edi.store import models as m
from edi.store.rows import BLIND_INDEXES, PARENTS, PLAIN_COLUMNS
from tests.conftest import SAMPLES, CorpusFile

MAPS = sorted(field_maps_folder().glob("*.*.xml"))
assert len(MAPS) >= 7, "the project's field maps"
#: the columns every record table has, and the claim's kind (its set's, not a field's)
BASE_COLUMNS = {"id", "file_id", "set_row_id", "ordinal", "parent_ordinal", "data", "phi"}


def reachable() -> list[type]:
    """Every class a record reaches through its fields, records and parts, recursively."""
    seen: dict[type, None] = {}
    stack: list[type] = list(CLASSES.values())
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen[cls] = None
        for f in dataclasses.fields(cls):
            part = part_class(cls, f.name)
            if part is not None:
                stack.append(part)
    return list(seen)


def test_every_field_of_every_class_has_exactly_one_declaration():
    classes = reachable()
    assert Person in classes and Organization in classes and len(classes) >= 20
    for cls in classes:
        assert "FIELDS" in cls.__dict__, f"{cls.__name__} is not @declared"
        own = specs(cls)
        for f in dataclasses.fields(cls):
            spec = f.metadata.get(SPEC)
            assert isinstance(spec, FieldSpec), f"{cls.__name__}.{f.name} has no declaration"
            assert [k for k in f.metadata if k == SPEC] == [SPEC]
            assert own[f.name].kind == spec.kind in KINDS, (cls.__name__, f.name)
            resolved = own[f.name].phi
            assert resolved in (True, False), (cls.__name__, f.name)
            if resolved:  # a PHI value is never shown as it is
                assert spec.kind not in KEPT, (cls.__name__, f.name)
        assert set(own) == {f.name for f in dataclasses.fields(cls)}
        phi: frozenset[str] = cls.PHI  # type: ignore[attr-defined]
        assert phi == {name for name, spec in own.items() if spec.phi}, cls.__name__


def test_a_field_without_a_declaration_is_refused_when_its_class_is_made():
    from edi.records.base import declared, plain

    with pytest.raises(TypeError, match="Broken.extra has no declaration"):

        @declared
        @dataclasses.dataclass(slots=True, kw_only=True)
        class Broken:
            fine: str | None = plain()
            extra: str | None = None


def test_a_partys_fields_are_phi_by_its_role():
    personal = {f.name for f in dataclasses.fields(Organization) if _raw(f).phi == PERSON}
    assert {"last_name", "first_name", "id", "birth_date", "address_line1"} <= personal
    assert personal <= Person.PHI
    assert not Organization.PHI
    assert {"npi", "entity_type", "state", "gender"}.isdisjoint(Person.PHI)


def _raw(f: dataclasses.Field[Any]) -> FieldSpec:
    spec = f.metadata[SPEC]
    assert isinstance(spec, FieldSpec)
    return spec


def test_plain_columns_blind_indexes_and_parents_are_the_tables_columns():
    for kind, table in m.RECORD_TABLES.items():
        columns = set(table.__table__.columns.keys())  # type: ignore[attr-defined]
        plain = set(PLAIN_COLUMNS.get(kind, {}))
        blind = set(BLIND_INDEXES.get(kind, {}))
        parent = {PARENTS[kind][0]} if kind in PARENTS else set()
        # set by the pipeline, not from a record field: the kind and the intake
        claim_extra = {"kind", "intake", "edits", "duplicate_of", "replaced_by", "suspect_of"}
        extra = claim_extra if kind == "claim" else set()
        assert columns == BASE_COLUMNS | plain | blind | parent | extra, kind
        assert all(c.endswith("_bidx") for c in blind) and not any("_bidx" in c for c in plain)
        for path in [*PLAIN_COLUMNS.get(kind, {}).values()]:
            _resolves(RECORD_TYPES[kind], path)


def _resolves(cls: type, path: str) -> None:
    """A dotted path names fields (or a property) of the classes on its way."""
    for step in path.split("."):
        assert step in specs(cls) or isinstance(getattr(cls, step, None), property), (cls, path)
        part = part_class(cls, step) if step in specs(cls) else None
        cls = part if part is not None else cls


def test_an_organizations_plain_column_is_not_phi_and_a_blind_index_hides_only_phi():
    for kind, cls in RECORD_TYPES.items():
        for name, spec in specs(cls).items():
            if spec.column is not None:
                assert not spec.phi, (kind, name)
            if spec.indexes and spec.path is None:
                assert spec.phi, (kind, name)


@pytest.mark.parametrize("file", MAPS, ids=lambda p: p.name)
def test_maps_put_a_party_of_the_declared_role_in_each_field(file: Path):
    """A map cannot make an organization of a person: the class it names for a field is
    the one the record declares (or a subclass of it)."""
    fmap = load_field_map(file)
    checked = 0
    for scope in fmap.walk():
        if scope.attach is not None and scope.parent is not None:
            assert issubclass(scope.cls, _declared_type(scope.parent.cls, scope.attach)), scope.name
            checked += 1
        for field_name, target in scope.refs:
            wanted = _declared_type(scope.cls, field_name)
            assert issubclass(fmap.scopes[target].cls, wanted), (scope.name, field_name)
            checked += 1
    assert checked >= 3


def _declared_type(cls: type, name: str) -> type:
    part = part_class(cls, name)
    assert part is not None, (cls.__name__, name)
    hints = typing.get_type_hints(cls)
    assert name in hints
    return part


# -- parties by role in the masked output ----------------------------------------------


def _walk_parties(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        items = value if isinstance(value, list) else [value]
        for n, item in enumerate(items):
            if dataclasses.is_dataclass(item) and not isinstance(item, type):
                where = f"{path}{f.name}" + (f"[{n}]" if isinstance(value, list) else "")
                if isinstance(item, Organization | Person):
                    found.append((where, item))
                found.extend(_walk_parties(item, where + "."))
    return found


def _at(data: dict[str, Any], where: str) -> Any:
    value: Any = data
    for step in where.split("."):
        name, _, index = step.partition("[")
        value = value.get(name) if isinstance(value, dict) else None
        if index and isinstance(value, list):
            value = value[int(index[:-1])]
    return value


def check_roles(record: Record) -> tuple[int, int]:
    """A record's masked data: every organization value as sent, every person's name and
    id masked. Returns (organization values, person values) checked."""
    cls = type(record)
    plain, phi = split(record)
    masked = merge(plain, mask_phi(phi, cls))
    assert merge(plain, phi) == record_dict(record)
    orgs = people = 0
    for where, party in _walk_parties(record):
        shown = _at(masked, where)
        for name in ("last_name", "first_name", "id", "npi", "address_line1", "city"):
            value = getattr(party, name)
            if not value:
                continue
            if isinstance(party, Organization):
                assert shown[name] == value, (cls.__name__, where, name)
                orgs += 1
            elif name != "npi":
                assert shown[name] != value or len(value.strip()) <= 1, (where, name)
                people += 1
    return orgs, people


def test_organizations_in_the_clear_and_people_masked_in_the_samples():
    orgs = people = 0
    for path in sorted(SAMPLES.glob("*.x12")):
        for record in Normalizer().records(path):
            o, p = check_roles(record)
            orgs, people = orgs + o, people + p
    assert orgs >= 20 and people >= 10


def test_organizations_in_the_clear_and_people_masked_in_the_corpus(corpus: list[CorpusFile]):
    files = [
        c.path
        for c in corpus
        if c.intended == "valid" and c.transaction_set in ("834", "835", "837P", "837I", "837D")
    ]
    assert files
    orgs = people = 0
    for path in files:
        try:
            records = list(Normalizer().records(path))
        except Exception:  # noqa: BLE001 - a file the parser refuses has no records to check
            continue
        for record in records:
            o, p = check_roles(record)
            orgs, people = orgs + o, people + p
    assert orgs >= 100 and people >= 50


def test_a_row_stored_before_the_split_shows_its_organizations_in_the_clear():
    """Rows written when every party's names and ids were PHI keep them in their PHI half;
    masking goes by the declarations, so they read as new rows do, with no migration."""
    from edi.records import Claim

    old_half = {
        "payer": {"last_name": "SAMPLE HEALTH PLAN", "id": "SAMPLEPAYER01"},
        "subscriber": {"last_name": "SAMPLE", "id": "SAMPLEMBR001"},
        "patient_control_number": "SAMPLECLM101",
        "unknown_field": "ANYTHING",
    }
    assert mask_phi(old_half, Claim) == {
        "payer": {"last_name": "SAMPLE HEALTH PLAN", "id": "SAMPLEPAYER01"},
        "subscriber": {"last_name": "S.", "id": "****R001"},
        "patient_control_number": "****M101",
        "unknown_field": "***",
    }


def _masked(record: Record) -> dict[str, Any]:
    plain, phi = split(record)
    return merge(plain, mask_phi(phi, type(record)))


def test_the_detail_records_keep_is_masked_by_its_declarations():
    """Bank accounts, a prior payer's adjudication date and claim control number, a
    reporting category's value: masked; the payer ids, amounts and qualifiers: shown."""
    from decimal import Decimal

    from edi.records import (
        Claim,
        LineAdjudication,
        Member,
        OtherSubscriber,
        Payment,
        Reference,
        ReportingCategory,
        ServiceLine,
    )

    payment = _masked(
        Payment(
            sender_dfi_id="999999992",
            sender_account_number="123456",
            receiver_account_number="98765",
        )
    )
    assert (payment["sender_dfi_id"], payment["sender_account_number"]) == (
        "999999992",
        "****3456",
    )
    assert payment["receiver_account_number"] == "****8765"
    line = _masked(
        ServiceLine(
            adjudications=[
                LineAdjudication(
                    payer_id="59999", paid=Decimal("80"), adjudication_date="2005-01-28"
                )
            ]
        )
    )
    (adjudication,) = line["adjudications"]
    assert (adjudication["payer_id"], adjudication["paid"]) == ("59999", "80")
    assert adjudication["adjudication_date"] == "2005"
    claim = _masked(
        Claim(
            other_subscribers=[
                OtherSubscriber(payer_references=[Reference(qualifier="F8", value="1229630212")])
            ]
        )
    )
    (other,) = claim["other_subscribers"]
    assert other["payer_references"] == [{"qualifier": "F8", "value": "****0212"}]
    member = _masked(
        Member(
            reporting_categories=[
                ReportingCategory(
                    name="BRANCH - WORKER", reference_qualifier="3L", reference="1234567"
                ),
                ReportingCategory(name="DUE DATE", date_qualifier="007", date="2013-06-20"),
            ],
            county_code="033",
        )
    )
    assert member["county_code"] == "***"
    assert member["reporting_categories"] == [
        {"name": "BRANCH - WORKER", "reference_qualifier": "3L", "reference": "****4567"},
        {"name": "DUE DATE", "date_qualifier": "007", "date": "2013"},
    ]


def test_a_lines_form_answers_are_masked_and_its_form_shown():
    """Loop 2440: the form's code list and id and each question's number shown; the
    answers (yes or no, text, date, percent) masked."""
    from decimal import Decimal

    from edi.records import Form, FormAnswer, ServiceLine

    line = _masked(
        ServiceLine(
            forms=[
                Form(
                    qualifier="UT",
                    form_id="04.03",
                    answers=[
                        FormAnswer(question="4", yes_no="Y"),
                        FormAnswer(question="1A", text="056"),
                        FormAnswer(question="1C", date="2005-02-28"),
                        FormAnswer(question="5", percent=Decimal("87.5")),
                    ],
                )
            ]
        )
    )
    assert line["forms"] == [
        {
            "qualifier": "UT",
            "form_id": "04.03",
            "answers": [
                {"question": "4", "yes_no": "***"},
                {"question": "1A", "text": "***"},
                {"question": "1C", "date": "2005"},
                {"question": "5", "percent": "***"},
            ],
        }
    ]
