"""The transaction kinds come from the maps: each has a field map, a sample and its guides."""

from __future__ import annotations

import pytest

from edi import kinds
from edi.parsers.fields import FieldMapCatalog, default_field_maps
from edi.parsers.normalize import Normalizer

KIND_NAMES = kinds.kind_names()


def test_the_kinds_are_those_the_field_maps_declare():
    declared = {fmap.kind for fmap in FieldMapCatalog().maps()}
    assert set(KIND_NAMES) == declared
    assert {k.set_id for k in kinds.kinds()} == {name[:3] for name in declared}


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_has_a_field_map_for_each_of_its_guides(name: str):
    kind = kinds.kind(name)
    assert kind.guides
    for guide in kind.guides:
        fmap = default_field_maps().find(guide)
        assert fmap is not None and fmap.kind == name, guide


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_has_a_sample_that_reads_as_that_kind(name: str):
    sample = kinds.sample(name)
    assert sample is not None, name
    normalizer = Normalizer()
    records = list(normalizer.records(sample))
    assert records and {r.source.kind for r in records} == {name}
    assert kinds.transaction_kind(name[:3], records[0].source.guide) == name


@pytest.mark.parametrize(
    ("set_id", "version", "expected"),
    [
        ("837", "005010X222A1", "837P"),
        ("837", "005010X222A2", "837P"),
        ("837", "004010X098A1", "837P"),
        ("837", "005010X223A2", "837I"),
        ("837", "005010X223A3", "837I"),
        ("837", "004010X096A1", "837I"),
        ("837", "005010X224A2", "837D"),
        # no field map reads 4010 dental; pyx12's maps.xml files X097 under 837D
        ("837", "004010X097A1", "837D"),
        ("837", "005010", "837"),
        ("835", "005010X221A1", "835"),
        ("834", "005010X220A1", "834"),
        ("270", "005010X279A1", "270"),
    ],
)
def test_transaction_kind_by_set_id_and_guide_stem(set_id: str, version: str, expected: str):
    assert kinds.transaction_kind(set_id, version) == expected


def test_kinds_of_a_set():
    assert kinds.kinds_of_set("837") == ("837D", "837I", "837P")
    assert kinds.kinds_of_set("835") == ("835",)
    assert kinds.kinds_of_set("270") == ()
    with pytest.raises(KeyError):
        kinds.kind("270")


def test_an_unreadable_field_map_keeps_its_kind_and_the_guides_still_name_kinds(monkeypatch):
    """A broken 837P field map is refused where it is used (the ingest names it); it does not
    take 837P out of the kinds, nor make every other file's kind unknown."""
    from edi.errors import MapError

    real = kinds._root_attributes

    def broken(file):
        if file.name.startswith("837P."):
            raise MapError(f"field map {file} cannot be read: not XML")
        return real(file)

    monkeypatch.setattr(kinds, "_root_attributes", broken)
    for cached in (kinds.kinds, kinds.transaction_kind):
        cached.cache_clear()
    try:
        assert "837P" in kinds.kind_names()
        assert kinds.transaction_kind("837", "005010X222A1") == "837P"
        assert kinds.transaction_kind("837", "005010X223A2") == "837I"
    finally:
        monkeypatch.undo()
        for cached in (kinds.kinds, kinds.transaction_kind):
            cached.cache_clear()
