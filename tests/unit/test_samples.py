"""Our synthetic samples: pyx12 accepts the good ones; the 837D map places dental segments."""

from __future__ import annotations

import pytest

from edi.generate import generate
from edi.parsers.maps import MapCatalog, load_map, project_maps
from edi.parsers.reader import X12Reader
from edi.parsers.structure import StructureWalker
from tests.conftest import SAMPLES
from tests.pyx12_oracle import oracle_map_dir, pyx12_accepts, pyx12_paths

GOOD = [
    "820-premium-individual.x12",
    "820-premium-organization.x12",
    "834-enrollment.x12",
    "834-premium-members.x12",
    "835-remittance.x12",
    "837P-professional-claim.x12",
    "837I-institutional-claim.x12",
    "837D-dental-claim.x12",
]


@pytest.fixture(scope="module")
def maps_with_837d(tmp_path_factory):
    return oracle_map_dir(tmp_path_factory.mktemp("maps") / "map")


@pytest.mark.parametrize("name", GOOD)
def test_pyx12_accepts_the_good_samples(name, maps_with_837d):
    ok, errors = pyx12_accepts(SAMPLES / name, maps_with_837d)
    assert ok and errors == []


def test_pyx12_rejects_the_bad_sample(maps_with_837d):
    ok, errors = pyx12_accepts(SAMPLES / "bad" / "834-broken-envelope.x12", maps_with_837d)
    assert not ok and len(errors) >= 3


def test_837d_map_is_chosen_by_gs08_and_places_dental_segments():
    choice = MapCatalog().select("00501", "HC", "005010X224A2")
    assert choice.warning is None and choice.entry.file == project_maps() / "837.5010.X224.A2.xml"
    assert load_map(choice.entry.file).xid == "837D"
    located = list(StructureWalker().walk(X12Reader(SAMPLES / "837D-dental-claim.x12")))
    where = {(loc.segment.id, loc.path) for loc in located}
    assert ("DN2", "2000A/2000B/2300") in where
    assert ("SV3", "2000A/2000B/2300/2400") in where
    assert ("TOO", "2000A/2000B/2300/2400") in where
    assert all(loc.node is not None for loc in located if loc.segment.transaction)


def test_837d_paths_agree_with_pyx12_reading_our_map(maps_with_837d):
    path = SAMPLES / "837D-dental-claim.x12"
    ours = [(loc.segment.id, loc.path) for loc in StructureWalker().walk(X12Reader(path))]
    assert ours == pyx12_paths(path, maps_with_837d)


def test_generated_837d(tmp_path, maps_with_837d):
    out = tmp_path / "837D.x12"
    generate("837D", 17, out)
    reader = X12Reader(out)
    located = list(StructureWalker().walk(reader))
    assert reader.summary.problems == []
    assert sum(1 for loc in located if loc.segment.id == "CLM") == 17
    ok, errors = pyx12_accepts(out, maps_with_837d)
    assert ok and errors == []


def test_samples_hold_only_synthetic_people():
    for path in SAMPLES.rglob("*.x12"):
        names = [s for s in X12Reader(path) if s.id == "NM1" and s[2] == "1"]
        for seg in names:
            assert seg[3] in {"SAMPLE", "TESTPERSON"} or seg[3].startswith("SAMPLE"), (
                path,
                seg.ordinal,
            )
