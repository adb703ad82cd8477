"""Loop recognition against the guides: hand-checked files, map choice, problems."""

from __future__ import annotations

import pytest

from edi.errors import MapError
from edi.parsers.maps import MapCatalog, load_map, pyx12_maps
from edi.parsers.reader import X12Reader, read_segments
from edi.parsers.structure import WARNING, StructureWalker
from tests.conftest import SAMPLES, corpus_path
from tests.x12text import MEMBER, interchange


def walk(path):
    return [
        (loc.segment.id, loc.path, ",".join(loc.started))
        for loc in StructureWalker().walk(X12Reader(path))
    ]


def expected(text: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in text.strip().splitlines():
        parts = line.split()
        rows.append((parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return rows


# Checked by hand against the 005010X222A1 TR3: NM1*85 billing provider (2010AA),
# NM1*IL subscriber (2010BA), NM1*PR payer (2010BB), CR1/CRC ambulance data in the claim
# (2300), NM1*PW pick-up (2310E) and NM1*45 drop-off (2310F) locations, four service
# lines (2400) each begun by LX.
AMBULANCE_837P = """
ISA ISA_LOOP
GS GS_LOOP
ST ST_LOOP
BHT HEADER
NM1 1000A 1000A
PER 1000A
NM1 1000B 1000B
HL 2000A 2000A
PRV 2000A
NM1 2000A/2010AA 2010AA
N3 2000A/2010AA
N4 2000A/2010AA
REF 2000A/2010AA
HL 2000A/2000B 2000B
SBR 2000A/2000B
NM1 2000A/2000B/2010BA 2010BA
N3 2000A/2000B/2010BA
N4 2000A/2000B/2010BA
DMG 2000A/2000B/2010BA
NM1 2000A/2000B/2010BB 2010BB
N3 2000A/2000B/2010BB
N4 2000A/2000B/2010BB
CLM 2000A/2000B/2300 2300
DTP 2000A/2000B/2300
CR1 2000A/2000B/2300
CRC 2000A/2000B/2300
CRC 2000A/2000B/2300
HI 2000A/2000B/2300
NM1 2000A/2000B/2300/2310E 2310E
N3 2000A/2000B/2300/2310E
N4 2000A/2000B/2300/2310E
NM1 2000A/2000B/2300/2310F 2310F
N3 2000A/2000B/2300/2310F
N4 2000A/2000B/2300/2310F
LX 2000A/2000B/2300/2400 2400
SV1 2000A/2000B/2300/2400
DTP 2000A/2000B/2300/2400
QTY 2000A/2000B/2300/2400
REF 2000A/2000B/2300/2400
NTE 2000A/2000B/2300/2400
LX 2000A/2000B/2300/2400 2400
SV1 2000A/2000B/2300/2400
DTP 2000A/2000B/2300/2400
QTY 2000A/2000B/2300/2400
REF 2000A/2000B/2300/2400
LX 2000A/2000B/2300/2400 2400
SV1 2000A/2000B/2300/2400
DTP 2000A/2000B/2300/2400
REF 2000A/2000B/2300/2400
LX 2000A/2000B/2300/2400 2400
SV1 2000A/2000B/2300/2400
DTP 2000A/2000B/2300/2400
REF 2000A/2000B/2300/2400
SE ST_LOOP
GE GS_LOOP
IEA ISA_LOOP
"""

# 005010X221A1: BPR/TRN/REF/DTM in the header, payer N1*PR (1000A) with N3/N4/PER, payee
# N1*PE (1000B), LX header number (2000) with TS3, one claim (2100: CLP and two NM1), and
# three service lines (2110: SVC with DTM, CAS, LQ).
MULT_LOOPS_835 = """
ISA ISA_LOOP
GS GS_LOOP
ST ST_LOOP
BPR HEADER
TRN HEADER
REF HEADER
DTM HEADER
N1 1000A 1000A
N3 1000A
N4 1000A
PER 1000A
N1 1000B 1000B
LX 2000 2000
TS3 2000
CLP 2000/2100 2100
NM1 2000/2100
NM1 2000/2100
SVC 2000/2100/2110 2110
DTM 2000/2100/2110
DTM 2000/2100/2110
CAS 2000/2100/2110
LQ 2000/2100/2110
SVC 2000/2100/2110 2110
DTM 2000/2100/2110
DTM 2000/2100/2110
CAS 2000/2100/2110
LQ 2000/2100/2110
SVC 2000/2100/2110 2110
DTM 2000/2100/2110
DTM 2000/2100/2110
CAS 2000/2100/2110
LQ 2000/2100/2110
SE ST_LOOP
GE GS_LOOP
IEA ISA_LOOP
"""

# 005010X220A1: BGN header, sponsor N1*P5 (1000A) and payer N1*IN (1000B); three members
# (2000, INS) with REF*0F/1L and DTP*356 at member level, names NM1*IL (2100A) and, for
# the subscriber, N3/N4/DMG, and one health coverage HD with DTP*348 (2300).
FAMILY_834 = """
ISA ISA_LOOP
GS GS_LOOP
ST ST_LOOP
BGN HEADER
N1 1000A 1000A
N1 1000B 1000B
INS 2000 2000
REF 2000
REF 2000
DTP 2000
NM1 2000/2100A 2100A
N3 2000/2100A
N4 2000/2100A
DMG 2000/2100A
HD 2000/2300 2300
DTP 2000/2300
INS 2000 2000
REF 2000
DTP 2000
NM1 2000/2100A 2100A
DMG 2000/2100A
INS 2000 2000
REF 2000
DTP 2000
NM1 2000/2100A 2100A
DMG 2000/2100A
SE ST_LOOP
GE GS_LOOP
IEA ISA_LOOP
"""


@pytest.mark.parametrize(
    ("name", "paths"),
    [
        ("badx12/X222-ambulance.edi", AMBULANCE_837P),
        ("pyx12/835_mult_loops.txt", MULT_LOOPS_835),
        ("pyx12/834_deident_family.txt", FAMILY_834),
    ],
)
def test_hand_checked_loop_paths(name, paths):
    assert walk(corpus_path(name)) == expected(paths)


def test_hand_checked_834_qualifiers_are_the_ones_in_the_file():
    segs = [s for s in read_segments(corpus_path("pyx12/834_deident_family.txt"))]
    assert [s[1] for s in segs if s.id == "INS"] == ["Y", "N", "N"]
    assert [s[1] for s in segs if s.id == "DTP"] == ["356", "348", "356", "356"]


def test_nearest_version_map_with_a_warning():
    walker = StructureWalker()
    located = list(walker.walk(X12Reader(corpus_path("lfh/demo.837"))))
    assert all(loc.node is not None for loc in located if loc.segment.transaction)
    assert [(w.level, w.message) for w in walker.warnings] == [
        (WARNING, "no map for 005010X222A2; using the 005010X222A1 map of the same guide")
    ]


def test_837i_x223a3_uses_the_x223a2_map():
    walker = StructureWalker()
    located = list(walker.walk(X12Reader(corpus_path("lfh/two-claims-single-provider.837i"))))
    claims = [loc for loc in located if "2300" in loc.started]
    assert len(claims) == 2
    assert "X223A2" in walker.warnings[0].message


def test_unknown_guide_is_a_transaction_problem():
    text = interchange(MEMBER, version="005010X999A1")
    reader = X12Reader(__import__("io").BytesIO(text.encode()), "odd.x12")
    located = list(StructureWalker().walk(reader))
    st = next(loc for loc in located if loc.segment.id == "ST")
    problems = st.segment.transaction.problems
    assert [(p.level, p.code) for p in problems] == [("transaction", "1")]
    assert "no implementation-guide map for GS08 005010X999A1" in problems[0].message
    assert all(loc.node is None for loc in located)


def test_segment_out_of_place_is_reported_with_position():
    body = [*MEMBER[:4], "ZZZ*1", *MEMBER[4:], "BGN*00*REF02*20250101*1200****2"]
    reader = X12Reader(__import__("io").BytesIO(interchange(body).encode()), "odd.x12")
    located = list(StructureWalker().walk(reader))
    unplaced = [loc for loc in located if loc.node is None and loc.segment.transaction]
    assert [(loc.segment.id, loc.path) for loc in unplaced] == [
        ("ZZZ", "2000"),
        ("BGN", "2000/2300"),
    ]
    problems = unplaced[0].segment.transaction.problems
    assert [(p.code, p.position.segment_id, p.position.set_ordinal) for p in problems] == [
        ("1", "ZZZ", 6),  # not in the guide at all
        ("2", "BGN", 11),  # in this guide, not expected here
    ]


def test_a_new_instance_of_the_same_loop_is_marked():
    located = list(StructureWalker().walk(X12Reader(SAMPLES / "835-remittance.x12")))
    starts = [loc.segment.id for loc in located if "2100" in loc.started]
    assert starts == ["CLP", "CLP", "CLP"]


def test_transitions_are_computed_once():
    walker = StructureWalker()
    list(walker.walk(X12Reader(SAMPLES / "837P-professional-claim.x12")))
    compiled = next(iter(walker._compiled.values()))
    size = len(compiled.table)
    list(walker.walk(X12Reader(SAMPLES / "837P-professional-claim.x12")))
    assert len(compiled.table) == size > 10


def test_map_catalog_reads_pyx12_and_project_maps():
    catalog = MapCatalog()
    choice = catalog.select("00501", "HP", "005010X221A1")
    assert choice.warning is None and choice.entry.file.parent == pyx12_maps()
    with pytest.raises(MapError, match="GS08 005010X279A1"):
        catalog.select("00501", "HS", "005010X279A1", "270")


def test_map_is_loaded_once_and_names_its_lines(tmp_path):
    catalog = MapCatalog()
    path = catalog.select("00501", "BE", "005010X220A1").entry.file
    assert load_map(path) is load_map(path)
    broken = tmp_path / "broken.xml"
    broken.write_text(
        "<transaction xid='x'>\n<loop xid='L'><name>no pos</name></loop></transaction>"
    )
    with pytest.raises(MapError, match=r"broken.xml:2: loop 'L' has no pos"):
        load_map(broken)
