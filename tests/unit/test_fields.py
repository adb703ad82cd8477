"""Field maps: every map loads and binds to its guides; bad maps fail naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.errors import MapError
from edi.parsers.fields import FieldMapCatalog, field_maps_folder, load_field_map
from edi.parsers.maps import default_catalog
from edi.parsers.normalize import Normalizer, Plan
from edi.parsers.reader import X12Reader
from edi.records import RECORD_TYPES
from tests.conftest import SAMPLES

FIELD_MAPS_DIR = field_maps_folder()

#: GS01 of each kind, to pick the guide map a field map binds to
FUNCTIONAL_IDS = {"834": "BE", "835": "HP", "837P": "HC", "837I": "HC", "837D": "HC"}

MAPS = sorted(p for p in FIELD_MAPS_DIR.glob("*.xml") if p.name != "fieldsets.xml")


def test_there_is_a_map_for_every_kind():
    kinds = {load_field_map(p).kind for p in MAPS}
    assert kinds == {"834", "835", "837P", "837I", "837D"}


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
