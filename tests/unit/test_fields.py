"""Field maps: every map loads and binds to its guides; bad maps fail naming file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edi.errors import EdiError, MapError
from edi.kinds import kind_names
from edi.parsers.fields import (
    Condition,
    FieldMap,
    FieldMapCatalog,
    ItemsSpec,
    field_maps_folder,
    load_field_map,
)
from edi.parsers.maps import default_catalog
from edi.parsers.normalize import Normalizer, Plan
from edi.parsers.reader import X12Reader
from edi.records import RECORD_TYPES, Organization, Person
from edi.records.export import to_dict
from tests.conftest import SAMPLES, corpus_manifest

FIELD_MAPS_DIR = field_maps_folder()

#: GS01 of each kind, to pick the guide map a field map binds to
FUNCTIONAL_IDS = {"820": "RA", "834": "BE", "835": "HP", "837P": "HC", "837I": "HC", "837D": "HC"}

MAPS = sorted(p for p in FIELD_MAPS_DIR.glob("*.xml") if p.name != "fieldsets.xml")


def test_there_is_a_map_for_every_kind():
    kinds = {load_field_map(p).kind for p in MAPS}
    assert kinds == set(kind_names())


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.name)
def test_every_map_binds_to_every_guide_it_names(path: Path):
    fmap = load_field_map(path)
    assert fmap.guides and fmap.record_types
    assert set(fmap.record_types) <= set(RECORD_TYPES)
    for guide in fmap.guides:
        icvn = "00501" if guide.startswith("005010") else "00401"
        choice = default_catalog().select(icvn, FUNCTIONAL_IDS[fmap.kind], guide, fmap.kind[:3])
        Plan(fmap, choice.load())  # raises MapError on a loop or segment the guide lacks


def write_map(folder: Path, body: str, *, kind: str = "837P", guides: str = "005010X222A1") -> Path:
    path = folder / "test.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<fieldmap kind="{kind}" guides="{guides}">\n{body}\n</fieldmap>\n'
    )
    return path


CLAIM = '<record name="claim" class="Claim" loop="2300">\n{}\n</record>'


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (CLAIM.format('<field name="total_charge" at="CLM2"/>'), 4, "not accepted by the pattern"),
        (CLAIM.format('<field name="total_charge" at="CLM02" type="money"/>'), 4, "money"),
        (CLAIM.format('<field name="no_such_field" at="CLM02"/>'), 4, "Claim has no field"),
        (CLAIM.format('<field name="diagnoses" at="HI01"/>'), 4, "is a list"),
        (CLAIM.format('<values name="total_charge" at="CLM02"/>'), 4, "is not a list"),
        ('<record name="claim" class="Clam" loop="2300"/>', 3, "unknown record class Clam"),
        ('<record name="p" class="Party" loop="2300"/>', 3, "Party is not a record"),
        (CLAIM.format('<field name="total_charge" at="CLM02" when="REF01=G1"/>'), 4, "not on"),
        (CLAIM.format('<field name="total_charge" offset="1"/>'), 4, "only meaningful inside"),
        (CLAIM.format('<use fieldset="nothing"/>'), 4, "no fieldset named nothing"),
        (CLAIM.format('<ref field="payer" scope="nobody"/>'), 3, "unknown scope nobody"),
        (
            '<record name="claim" class="Claim" loop="2300" hook="edi.nowhere:f"/>',
            3,
            "hook edi.nowhere:f not found",
        ),
        (
            '<record name="line" class="ServiceLine" loop="2400" emit="after-parent"/>',
            3,
            "needs an enclosing record",
        ),
        ('<record name="claim" class="Claim" loop="2300" lazy="true"/>', 3, "cannot be lazy"),
        (
            CLAIM.format(
                '<scope name="p" class="Person" loop="2010BA" attach="patient" lazy="1"/>'
            ),
            4,
            "lazy needs attach and the enclosing scope's loop",
        ),
        (
            CLAIM.format('<scope name="p" class="Person" loop="2300" lazy="true"/>'),
            4,
            "lazy needs attach",
        ),
        (
            CLAIM.format(
                '<scope name="p" class="Person" loop="2300" attach="patient" lazy="true"/>'
                '<ref field="subscriber" scope="p"/>'
            ),
            3,
            "ref to the lazy scope p",
        ),
    ],
)
def test_a_bad_map_names_file_line_and_fault(tmp_path: Path, body: str, line: int, message: str):
    path = write_map(tmp_path, body)
    with pytest.raises(MapError) as caught:
        load_field_map(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:{line}:"), text
    assert message in text


def test_binding_names_a_loop_or_segment_the_guide_lacks(tmp_path: Path):
    body = CLAIM.format(
        '<field name="total_charge" at="CLM02"/>\n<field name="onset_date" at="DTP03" loop="2399"/>'
    )
    fmap = load_field_map(write_map(tmp_path, body))
    tmap = default_catalog().select("00501", "HC", "005010X222A1", "837").load()
    with pytest.raises(MapError, match=r"test\.xml:5: loop 2399 is not in"):
        Plan(fmap, tmap)
    body = CLAIM.format('<field name="total_charge" at="SV102"/>')
    fmap = load_field_map(write_map(tmp_path, body))
    with pytest.raises(MapError, match=r"test\.xml:4: loop 2300 of .* has no SV1 segment"):
        Plan(fmap, tmap)


def test_a_scope_when_must_name_the_first_segment_of_its_loop(tmp_path: Path):
    tmap = default_catalog().select("00501", "HC", "005010X222A1", "837").load()
    good = CLAIM.format(
        '<scope name="pcp" class="Organization" loop="2310A" attach="primary_care_provider"'
        ' when="NM101=P3"/>'
    )
    fmap = load_field_map(write_map(tmp_path, good))
    assert (fmap.scopes["pcp"].opens_on, fmap.scopes["pcp"].opens_when) == (
        "NM1",
        (Condition(1, 0, frozenset({"P3"})),),
    )
    Plan(fmap, tmap)
    bad = CLAIM.format(
        '<scope name="pcp" class="Organization" loop="2310A" attach="primary_care_provider"'
        ' when="REF01=G2"/>'
    )
    fmap = load_field_map(write_map(tmp_path, bad))
    with pytest.raises(MapError, match=r"test\.xml:4: when: REF is not the first segment"):
        Plan(fmap, tmap)
    two = CLAIM.format(
        '<scope name="pcp" class="Organization" loop="2310A" attach="primary_care_provider"'
        ' when="NM101=P3 REF01=G2"/>'
    )
    with pytest.raises(MapError, match="when names more than one segment"):
        load_field_map(write_map(tmp_path, two))


def test_a_broken_map_stops_only_its_own_guides(tmp_path: Path):
    folder = tmp_path / "fields"
    folder.mkdir()
    write_map(folder, CLAIM.format('<field name="no_such_field" at="CLM02"/>'))
    catalog = FieldMapCatalog([folder, FIELD_MAPS_DIR])
    # 835 sets still parse: their map is another file
    records = list(Normalizer(field_maps=catalog).records(SAMPLES / "835-remittance.x12"))
    assert {r.TYPE for r in records} == {"payment", "claim_payment", "service_payment"}
    # the broken map is the first folder's map for 837P, and fails loudly
    with pytest.raises(MapError, match="Claim has no field no_such_field"):
        list(Normalizer(field_maps=catalog).records(SAMPLES / "837P-professional-claim.x12"))


def test_a_map_in_an_earlier_folder_wins(tmp_path: Path):
    folder = tmp_path / "fields"
    folder.mkdir()
    write_map(folder, CLAIM.format('<field name="patient_control_number" at="CLM02"/>'))
    catalog = FieldMapCatalog([folder, FIELD_MAPS_DIR])
    claims = list(Normalizer(field_maps=catalog).records(SAMPLES / "837P-professional-claim.x12"))
    # this map reads CLM02 as the control number, and makes claims only
    assert [c.TYPE for c in claims] == ["claim", "claim"]
    assert [c.patient_control_number for c in claims] == ["185", "310"]


def test_records_stream_before_the_file_ends():
    """The first claim comes out while most of the file is still unread."""
    path = SAMPLES / "837P-professional-claim.x12"
    normalizer = Normalizer()
    records = normalizer.records(path)
    first = next(records)
    reader = normalizer.reader
    assert isinstance(reader, X12Reader)
    read_so_far = reader.summary.segments
    rest = list(records)
    assert first.TYPE == "claim" and rest
    assert read_so_far < reader.summary.segments


def test_kinds_filter_and_unknown_sets_are_reported():
    normalizer = Normalizer(kinds={"835"})
    assert list(normalizer.records(SAMPLES / "837P-professional-claim.x12")) == []
    assert normalizer.summary.skipped == []  # passed over on purpose, not a failure
    normalizer = Normalizer()
    records = list(normalizer.records(SAMPLES / "multi-interchange.x12"))
    assert records and normalizer.summary.sets >= 2


# -- extending: a map from another, a fieldset with parameters -----------------------


def shape(fmap: FieldMap, *, skip: frozenset[str] = frozenset()) -> dict[str, tuple]:
    """What a map reads, scope by scope, without the lines it was written on."""

    def members(specs: list) -> list[tuple]:
        out = []
        for spec in specs:
            if spec.name in skip:
                continue
            parts = [spec.name, spec.segment, spec.loop, spec.when]
            for attribute in ("element", "component", "offset", "elements", "comps", "starts"):
                parts.append(getattr(spec, attribute, None))
            parts.append(getattr(spec, "type", None))
            if isinstance(spec, ItemsSpec):
                parts.append(members(spec.fields))
                parts.append(members(spec.values))
            out.append(tuple(parts))
        return out

    return {
        scope.name: (
            scope.cls,
            scope.loop,
            scope.record,
            scope.attach,
            scope.many,
            scope.count,
            scope.after_parent,
            scope.hook,
            scope.refs,
            (scope.opens_on, scope.opens_when),
            [c.name for c in scope.children],
            members(scope.fields),
            members(scope.values),
            members(scope.items),
        )
        for scope in fmap.walk()
    }


def test_the_4010_837p_map_is_the_5010_one_with_its_changes():
    old = shape(load_field_map(FIELD_MAPS_DIR / "837P.5010.X222A1.xml"))
    new_map = load_field_map(FIELD_MAPS_DIR / "837P.4010.X098A1.xml")
    assert (new_map.kind, new_map.guides) == ("837P", ("004010X098A1", "004010X098"))
    new = shape(new_map)
    # no pay-to plan (2010AC) in 4010: the scope, its place in the billing provider and
    # the claim's ref to it are gone
    assert old.keys() - new.keys() == {
        "pay_to_plan",
        "ambulance_pickup",
        "ambulance_dropoff",
        "line_ambulance_pickup",
        "line_ambulance_dropoff",
    }
    # the 4010 loops 5010 lacks, added where they belong: 2310C the claim's purchased
    # service provider, 2330C the other payer's patient, 2420G the line's other payer
    # authorizations
    assert new.keys() - old.keys() == {
        "purchased_service_provider",
        "other_payer_patient",
        "line_other_payer_authorization",
    }
    assert new["purchased_service_provider"][:4] == (
        Organization,
        "2310C",
        False,
        "purchased_service_provider",
    )
    assert new["other_payer_patient"][:4] == (Person, "2330C", False, "patient")
    assert new["line_other_payer_authorization"][1] == "2420G"
    assert "purchased_service_provider" in new["claim"][10]
    assert "line_other_payer_authorization" in new["service_line"][10]
    assert "other_payer_patient" in new["other_subscriber"][10]
    changed = {name for name in new if name in old and old[name] != new[name]}
    other_payer_providers = {
        "other_payer_referring": "2330D",
        "other_payer_rendering": "2330E",
        "other_payer_billing": "2330F",
        "other_payer_facility": "2330G",
        "other_payer_supervising": "2330H",
    }
    assert changed == {
        "service_facility",
        "supervising_provider",
        "other_payer",
        "other_subscriber",
        "billing_provider",
        "claim",
        "service_line",
        "line_adjudication",
        *other_payer_providers,
    }
    assert (new["service_facility"][1], new["supervising_provider"][1]) == ("2310D", "2310E")
    assert {name: new[name][1] for name in other_payer_providers} == other_payer_providers
    assert [c for c in old["billing_provider"][10] if c != "pay_to_plan"] == new[
        "billing_provider"
    ][10]
    assert [r for r in old["claim"][8] if r[1] != "pay_to_plan"] == new["claim"][8]
    assert [
        m[0]
        for m in old["line_adjudication"][11]
        if m[0] not in [n[0] for n in new["line_adjudication"][11]]
    ] == ["remaining_patient_liability"]
    assert [m[0] for m in old["service_facility"][13]] == ["references", "contacts"]
    assert [m[0] for m in new["service_facility"][13]] == ["references"]
    address = {"address_line1", "address_line2", "city", "state", "postal_code", "country"}
    old_payer = shape(
        load_field_map(FIELD_MAPS_DIR / "837P.5010.X222A1.xml"), skip=frozenset(address)
    )["other_payer"]
    # the 4010 other payer: no address, its PER contacts added
    assert new["other_payer"][:13] == old_payer[:13]
    assert [m[0] for m in new["other_payer"][13]] == [m[0] for m in old_payer[13]] + ["contacts"]
    # the 4010 other subscriber: its DMG added
    assert [m[0] for m in new["other_subscriber"][11]] == [
        m[0] for m in old["other_subscriber"][11]
    ] + [
        "birth_date",
        "gender",
    ]


def test_the_835_parties_are_the_shared_party_read_from_their_own_nm1():
    fmap = load_field_map(FIELD_MAPS_DIR / "835.5010.X221A1.xml")
    names = ["entity_code", "entity_type", "last_name", "first_name", "middle_name", "suffix"]
    names += ["id_qualifier", "id"]
    for scope, qualifier in [
        ("patient", "QC"),
        ("insured", "IL"),
        ("corrected_patient", "74"),
        ("rendering_provider", "82"),
    ]:
        fields = fmap.scopes[scope].fields
        expected = names + (["npi"] if scope == "rendering_provider" else [])
        assert [f.name for f in fields] == expected
        for spec in fields:
            assert spec.when[0] == Condition(1, 0, frozenset({qualifier}))
    (npi,) = [f for f in fmap.scopes["rendering_provider"].fields if f.name == "npi"]
    assert npi.when == (Condition(1, 0, frozenset({"82"})), Condition(8, 0, frozenset({"XX"})))
    # the use's NM101 condition is on NM1 only: the rendering provider's REF items keep theirs
    (refs,) = fmap.scopes["rendering_provider"].items
    assert [c.element for c in refs.when] == [1] and "0B" in refs.when[0].codes


def test_lazy_835_parties_give_the_records_of_parties_made_for_every_claim(tmp_path: Path):
    """The 835's claim parties are lazy (made at the NM1 of their NM101): the records are
    those of the same map with the parties made at every 2100 and the empty ones dropped
    by the hook, on every 835 of the samples and the corpus."""
    eager = tmp_path / "fields"
    eager.mkdir()
    shutil.copy(FIELD_MAPS_DIR / "fieldsets.xml", eager / "fieldsets.xml")
    text = (FIELD_MAPS_DIR / "835.5010.X221A1.xml").read_text()
    assert text.count(' lazy="true"') == 7
    (eager / "835.5010.X221A1.xml").write_text(text.replace(' lazy="true"', ""))
    files = sorted(SAMPLES.glob("835*.x12")) + [
        row.path for row in corpus_manifest() if row.transaction_set == "835"
    ]
    compared = 0
    for path in files:
        lazy = Normalizer(kinds={"835"})
        made = Normalizer(kinds={"835"}, field_maps=FieldMapCatalog([eager]))
        try:
            expected = [to_dict(r) for r in made.records(path)]
        except EdiError:
            continue
        assert [to_dict(r) for r in lazy.records(path)] == expected, path.name
        assert lazy.summary == made.summary
        compared += bool(expected)
    assert compared >= 10


def extending(folder: Path, body: str, *, base: str = "837P.5010.X222A1.xml") -> Path:
    path = folder / "extending.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<fieldmap kind="837P" guides="004010X098A1" '
        f'extends="{base}">\n{body}\n</fieldmap>\n'
    )
    return path


@pytest.mark.parametrize(
    ("body", "base", "message"),
    [
        ('<change scope="no_such_scope" loop="2310D"/>', None, "has no scope no_such_scope"),
        ('<remove scope="other_payer" use="person"/>', None, "has no such member"),
        ('<remove scope="other_payer" member="taxonomy"/>', None, "has no such member"),
        ('<change scope="claim" loop="2300"/>', "no-such-map.xml", "no such field map"),
        ('<change scope="claim" loop="2300"/>', "extending.xml", "extend each other"),
        (
            '<add scope="no_such_scope"><field name="total_charge" at="CLM02"/></add>',
            None,
            "has no scope no_such_scope",
        ),
        ('<add scope="claim">\n<field name="no_such_field" at="CLM02"/></add>', None, "no_such"),
    ],
)
def test_a_bad_extension_names_file_line_and_fault(
    tmp_path: Path, body: str, base: str | None, message: str
):
    path = extending(tmp_path, body, base=base or "837P.5010.X222A1.xml")
    with pytest.raises(MapError, match=message) as caught:
        load_field_map(path)
    assert str(caught.value).startswith(f"{path}:")


def test_an_extension_adds_its_own_scopes_and_fieldsets(tmp_path: Path):
    body = (
        '<fieldset name="charge_only"><field name="total_charge" at="CLM02" type="amount"/>'
        "</fieldset>"
        '<record name="other_claim" class="Claim" loop="2300">'
        '<use fieldset="charge_only"/></record>'
    )
    with pytest.raises(MapError, match="scope claim is declared twice"):
        load_field_map(extending(tmp_path, body.replace("other_claim", "claim")))
    fmap = load_field_map(extending(tmp_path, body))
    assert "other_claim" in fmap.scopes and fmap.scopes["other_claim"].fields[0].name == (
        "total_charge"
    )


def test_an_extension_adds_members_and_scopes_inside_a_scope_of_the_map_extended(tmp_path: Path):
    body = (
        '<add scope="other_subscriber"><field name="gender" at="DMG03"/>'
        '<scope name="added_patient" class="Person" loop="2330C" attach="patient">'
        '<field name="id" at="NM109"/></scope></add>'
        '<change scope="added_patient" loop="2330D"/>'
    )
    fmap = load_field_map(extending(tmp_path, body))
    other = fmap.scopes["other_subscriber"]
    assert other.fields[-1].name == "gender"
    assert [c.name for c in other.children][-1] == "added_patient"
    assert (fmap.scopes["added_patient"].loop, fmap.scopes["added_patient"].attach) == (
        "2330D",
        "patient",
    )


def test_a_use_without_a_member_the_fieldset_lacks_is_refused(tmp_path: Path):
    shutil.copy(FIELD_MAPS_DIR / "fieldsets.xml", tmp_path / "fieldsets.xml")
    body = CLAIM.format(
        '<scope name="p" class="Party" loop="2310B" attach="rendering_provider">'
        '<use fieldset="party" without="taxonomy"/></scope>'
    )
    with pytest.raises(MapError, match="without taxonomy: not all in party"):
        load_field_map(write_map(tmp_path, body))


def test_an_error_in_the_extended_map_names_that_map(tmp_path: Path):
    base = tmp_path / "base.xml"
    base.write_text(
        '<?xml version="1.0"?>\n<fieldmap kind="837P" guides="005010X222A1">\n'
        '<record name="claim" class="Claim" loop="2300">\n'
        '<field name="no_such_field" at="CLM02"/>\n</record>\n</fieldmap>\n'
    )
    with pytest.raises(MapError, match="Claim has no field") as caught:
        load_field_map(extending(tmp_path, '<change scope="claim" loop="2300"/>', base="base.xml"))
    assert str(caught.value).startswith(f"{base}:4:")
