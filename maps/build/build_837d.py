#!/usr/bin/env python3
"""Build the pyx12 map for the ASC X12N 837 Health Care Claim: Dental (005010X224A2).

pyx12 ships 5010 maps for the 837 Professional and 837 Institutional guides but
none for the 837 Dental guide.  This script composes one from two maps that the
installed pyx12 package does ship, used here as input data:

* ``837.5010.X222.A1.xml`` (5010 837 Professional) supplies the envelope, the
  5010 layout of every segment, and the loops the dental guide shares with the
  professional guide (1000A/B, 2000A/B/C, 2010AA/AB/AC/BA/BB/CA, most of 2300,
  the 2310/2320/2330 provider and COB loops, 2420 providers, 2430).
* ``837.4010.X097.A1.xml`` (4010 837 Dental) supplies the dental segments
  (DN1, DN2, SV3 with the oral cavity designation composite, TOO with the tooth
  surface composite) and the dental provider roles (assistant surgeon).

Everything is then upgraded to the 005010X224A2 guide: loop ids, positions,
usage, max use and qualifier code lists.  Each change is recorded and
listed in the XML comment at the top of the generated map.

Usage::

    python maps/build/build_837d.py            # writes maps/837.5010.X224.A2.xml
    python maps/build/build_837d.py -o out.xml

The result is checked against pyx12's ``map.xsd`` and loaded with
``pyx12.map_if.load_map_file`` before the script exits.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import sys
import tempfile
from copy import deepcopy
from pathlib import Path

from lxml import etree

GUIDE = "005010X224A2"
MAP_NAME = "837.5010.X224.A2.xml"
PROFESSIONAL_MAP = "837.5010.X222.A1.xml"
DENTAL_4010_MAP = "837.4010.X097.A1.xml"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / MAP_NAME

# Loop paths inside the source maps.
DETAIL = "ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL"
P_2000B = f"{DETAIL}/2000A/2000B"
P_2000C = f"{P_2000B}/2000C"
P_2300 = f"{P_2000B}/2300"
D4010_2300 = f"{DETAIL}/2000A/2000B/2300"

CHANGES: list[str] = []


def note(text: str) -> None:
    """Record a change for the header comment of the generated map."""
    CHANGES.append(text)


# --------------------------------------------------------------------------
# Reading and navigating pyx12 maps
# --------------------------------------------------------------------------


def pyx12_map_dir() -> Path:
    import pyx12

    return Path(pyx12.__file__).resolve().parent / "map"


def load_map(path: Path) -> etree._Element:
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True)
    return etree.parse(str(path), parser).getroot()


def header_notice(path: Path) -> str:
    """The copyright comment that precedes the root element of a pyx12 map."""
    comment = etree.parse(str(path)).getroot().getprevious()
    assert isinstance(comment, etree._Comment), f"no header comment in {path}"
    return comment.text.strip("\n")


def child_loop(parent: etree._Element, xid: str) -> etree._Element:
    found = [c for c in parent.findall("loop") if c.get("xid") == xid]
    assert len(found) == 1, f"expected one loop {xid} in {parent.get('xid')}, found {len(found)}"
    return found[0]


def loop_at(root: etree._Element, path: str) -> etree._Element:
    node = root
    for xid in path.split("/"):
        node = child_loop(node, xid)
    return node


def codes(elem: etree._Element) -> list[str]:
    return [c.text for c in elem.findall("valid_codes/code")]


def qualifiers(seg: etree._Element) -> list[str]:
    """Codes pyx12 uses to tell same-id segments apart (first element, or HL03)."""
    if seg.get("xid") == "HL":
        return codes(seg.find("element[@xid='HL03']"))
    for child in seg:
        if child.tag == "element":
            return codes(child)
        if child.tag == "composite":
            return codes(child.find("element"))
    return []


def segment(loop: etree._Element, seg_id: str, qual: str | None = None) -> etree._Element:
    found = [
        s
        for s in loop.findall("segment")
        if s.get("xid") == seg_id and (qual is None or qual in qualifiers(s))
    ]
    assert len(found) == 1, f"expected one {seg_id}/{qual} in loop {loop.get('xid')}, got {len(found)}"
    return found[0]


def copy_seg(loop: etree._Element, seg_id: str, qual: str | None = None) -> etree._Element:
    return deepcopy(segment(loop, seg_id, qual))


def element(seg: etree._Element, xid: str) -> etree._Element:
    found = seg.find(f".//element[@xid='{xid}']")
    assert found is not None, f"no element {xid} in {seg.get('xid')}"
    return found


# --------------------------------------------------------------------------
# Editing map nodes
# --------------------------------------------------------------------------


def set_fields(node: etree._Element, **fields: object) -> etree._Element:
    """Set child text fields such as name, usage, pos, max_use, repeat."""
    for tag, value in fields.items():
        child = node.find(tag)
        assert child is not None, f"{node.tag} {node.get('xid')} has no <{tag}>"
        child.text = str(value)
    return node


def set_codes(elem: etree._Element, new_codes: list[str]) -> None:
    valid = elem.find("valid_codes")
    if valid is None:
        valid = etree.Element("valid_codes")
        regex = elem.find("regex")
        if regex is not None:
            regex.addprevious(valid)
        else:
            elem.append(valid)
    for old in list(valid):
        valid.remove(old)
    valid.attrib.pop("external", None)
    for code in new_codes:
        etree.SubElement(valid, "code").text = code


def drop_codes(elem: etree._Element) -> None:
    valid = elem.find("valid_codes")
    if valid is not None:
        elem.remove(valid)


def new_element(
    xid: str, data_ele: str, name: str, usage: str, seq: int, valid: list[str] | None = None
) -> etree._Element:
    elem = etree.Element("element", xid=xid)
    for tag, text in (("data_ele", data_ele), ("name", name), ("usage", usage), ("seq", f"{seq:02d}")):
        etree.SubElement(elem, tag).text = text
    if valid:
        set_codes(elem, valid)
    return elem


def retag_composite(comp: etree._Element, prefix: str, seq: int) -> None:
    """Renumber a composite and its components, e.g. SV107-0n -> SV311-0n."""
    set_fields(comp, seq=f"{seq:02d}")
    for i, elem in enumerate(comp.findall("element"), start=1):
        elem.set("xid", f"{prefix}{seq:02d}-{i:02d}")


def not_used_composite(comp: etree._Element) -> None:
    """Mark a composite not used, in the style of pyx12's maps (no components)."""
    set_fields(comp, usage="N")
    for elem in comp.findall("element"):
        comp.remove(elem)


def dtp(template: etree._Element, name: str, qualifier: str, formats: list[str], **fields) -> etree._Element:
    seg = deepcopy(template)
    set_fields(seg, name=name, usage="S", max_use=1)
    set_fields(seg, **fields)
    set_codes(element(seg, "DTP01"), [qualifier])
    set_codes(element(seg, "DTP02"), formats)
    return seg


def ref(template: etree._Element, name: str, qualifiers_: list[str], **fields) -> etree._Element:
    seg = deepcopy(template)
    set_fields(seg, name=name, **fields)
    set_codes(element(seg, "REF01"), qualifiers_)
    return seg


def set_children(loop: etree._Element, children: list[etree._Element]) -> None:
    """Replace the segments and loops of ``loop`` by ``children``, in that order."""
    for old in loop.findall("segment") + loop.findall("loop"):
        loop.remove(old)
    loop.extend(children)


def renamed_loop(loop: etree._Element, xid: str, **fields) -> etree._Element:
    new = deepcopy(loop)
    new.set("xid", xid)
    set_fields(new, **fields)
    return new


def provider_role(
    template: etree._Element,
    xid: str,
    name: str,
    nm101: list[str],
    prv01: list[str] | None = None,
    prv_usage: str | None = None,
    ref_name: str | None = None,
) -> etree._Element:
    """A provider loop built on a 5010 template loop (NM1 [PRV] REF) for a new role."""
    loop = renamed_loop(template, xid, name=name)
    nm1 = segment(loop, "NM1")
    set_fields(nm1, name=name)
    set_codes(element(nm1, "NM101"), nm101)
    if prv01 is not None:
        prv = segment(loop, "PRV")
        set_fields(prv, name=name.replace(" Name", "") + " Specialty Information")
        set_codes(element(prv, "PRV01"), prv01)
        if prv_usage:
            set_fields(prv, usage=prv_usage)
    if ref_name:
        set_fields(segment(loop, "REF"), name=ref_name)
    return loop


# --------------------------------------------------------------------------
# The dental map, loop by loop
# --------------------------------------------------------------------------


def build_envelope(root: etree._Element) -> None:
    root.set("xid", "837D")
    set_fields(root, name=f"HIPAA Health Care Claim: Dental {GUIDE[6:]}-837")
    gs = segment(child_loop(child_loop(root, "ISA_LOOP"), "GS_LOOP"), "GS")
    set_codes(element(gs, "GS08"), [GUIDE])
    st = segment(loop_at(root, "ISA_LOOP/GS_LOOP/ST_LOOP"), "ST")
    set_fields(element(st, "ST03"), usage="R")
    set_codes(element(st, "ST03"), [GUIDE])
    note(f"Transaction xid 837D; GS08 and ST03 (now required) carry {GUIDE}.")


def build_subscriber_and_patient(root: etree._Element) -> None:
    l2000b = loop_at(root, P_2000B)
    l2000b.remove(segment(l2000b, "PAT"))
    note("2000B: PAT (Patient Information) removed; the dental guide has HL and SBR only.")

    l2010ba = child_loop(l2000b, "2010BA")
    l2010ba.remove(segment(l2010ba, "PER"))
    l2010ca = loop_at(root, f"{P_2000C}/2010CA")
    l2010ca.remove(segment(l2010ca, "PER"))
    note("2010BA and 2010CA: property and casualty PER contact segments removed.")

    pat = segment(loop_at(root, P_2000C), "PAT")
    for xid in ("PAT05", "PAT06", "PAT07", "PAT08", "PAT09"):
        set_fields(element(pat, xid), usage="N")
        drop_codes(element(pat, xid))
    for syntax in pat.findall("syntax"):
        pat.remove(syntax)
    note("2000C PAT: only PAT01 (relationship) is used; PAT05-PAT09 (death date, weight, pregnancy) not used.")


def build_2300_segments(p2300: etree._Element, d2300: etree._Element) -> list[etree._Element]:
    """The 2300 segments of the dental guide, in TR3 order."""
    clm = copy_seg(p2300, "CLM")
    set_fields(element(clm, "CLM10"), usage="N")
    drop_codes(element(clm, "CLM10"))
    set_codes(element(clm, "CLM12"), ["01", "02", "03", "05"])
    set_fields(element(clm, "CLM19"), usage="S")
    set_codes(element(clm, "CLM19"), ["PB"])
    note("CLM: CLM10 not used; CLM12 special program codes 01, 02, 03, 05 (01 = EPSDT);"
         " CLM19 = PB (predetermination of benefits) situational.")

    dtp_template = segment(p2300, "DTP", "439")
    dates = [
        copy_seg(p2300, "DTP", "439"),
        dtp(dtp_template, "Date - Appliance Placement", "452", ["D8"]),
        dtp(dtp_template, "Date - Service Date", "472", ["D8", "RD8"]),
        copy_seg(p2300, "DTP", "050"),
    ]
    note("2300 DTP: accident (439), appliance placement (452), service date (472, D8/RD8) and"
         " repricer received (050); the professional-only claim dates are removed.")

    # Dental segments from the 4010 dental map, at their 5010 positions.
    dn1 = set_fields(copy_seg(d2300, "DN1"), pos="1450")
    set_fields(element(dn1, "DN103"), usage="N")
    drop_codes(element(dn1, "DN103"))
    set_fields(element(dn1, "DN104"), usage="S", name="Questionnaire Response")
    dn2 = set_fields(copy_seg(d2300, "DN2"), pos="1500")
    set_codes(element(dn2, "DN202"), ["E", "M"])
    dn2.append(new_element("DN206", "1270", "Code List Qualifier Code", "R", 6, ["JP"]))
    note("2300 DN1 (pos 1450; DN101/DN102 months, DN104 orthodontic indicator, DN103 not used) and"
         " DN2 tooth status (pos 1500, max 35; DN202 E or M; DN206 = JP) from the 4010 dental map.")

    pwk = copy_seg(p2300, "PWK")
    set_codes(element(pwk, "PWK01"), codes(element(segment(d2300, "PWK"), "PWK01")))
    note("2300 PWK01: dental attachment report types (B4, DA, DG, EB, OB, OZ, P6, RB, RR)"
         " from the 4010 dental map; PWK02 transmission codes as in 5010.")

    ref_template = segment(p2300, "REF", "G1")
    refs = [
        ref(ref_template, "Predetermination Identification", ["G3"]),
        copy_seg(p2300, "REF", "4N"),
        copy_seg(p2300, "REF", "F8"),
        copy_seg(p2300, "REF", "9F"),
        copy_seg(p2300, "REF", "G1"),
        copy_seg(p2300, "REF", "9A"),
        copy_seg(p2300, "REF", "9C"),
        copy_seg(p2300, "REF", "D9"),
    ]
    note("2300 REF: predetermination identification (G3) added; professional-only REFs"
         " (F5, EW, X4, LX, EA, P4, 1J) removed.")

    nte = copy_seg(p2300, "NTE")
    set_fields(nte, max_use=5)
    set_codes(element(nte, "NTE01"), ["ADD"])
    note("2300 NTE claim note: NTE01 = ADD, max use 5.")

    hi = copy_seg(p2300, "HI", "ABK")
    set_fields(hi, usage="S")
    for comp in hi.findall("composite")[4:]:
        not_used_composite(comp)
    note("2300 HI health care diagnosis code: situational, HI01 ABK/BK and HI02-HI04 ABF/BF"
         " (up to 4 diagnoses); HI05-HI12 not used. Anesthesia and condition HI removed.")
    note("2300: CR1, CR2 and CRC (ambulance, spinal manipulation, vision, homebound, EPSDT) removed.")

    return [
        clm,
        *dates,
        dn1,
        dn2,
        pwk,
        copy_seg(p2300, "CN1"),
        copy_seg(p2300, "AMT", "F5"),
        *refs,
        copy_seg(p2300, "K3"),
        nte,
        hi,
        copy_seg(p2300, "HCP"),
    ]


def build_2310_loops(p2300: etree._Element) -> list[etree._Element]:
    p2310a, p2310b = child_loop(p2300, "2310A"), child_loop(p2300, "2310B")

    referring = deepcopy(p2310a)
    referring_prv = deepcopy(segment(p2310b, "PRV"))
    set_fields(referring_prv, name="Referring Provider Specialty Information")
    set_codes(element(referring_prv, "PRV01"), ["RF"])
    segment(referring, "NM1").addnext(referring_prv)

    rendering = deepcopy(p2310b)
    set_fields(segment(rendering, "PRV"), usage="R")

    facility = deepcopy(child_loop(p2300, "2310C"))
    facility.remove(segment(facility, "PER"))

    assistant = provider_role(
        p2310b, "2310D", "Assistant Surgeon Name", ["DD"], ["AS"], "R",
        ref_name="Assistant Surgeon Secondary Identification",
    )
    supervising = renamed_loop(child_loop(p2300, "2310D"), "2310E")
    note("2310 loops: 2310A Referring (PRV RF added), 2310B Rendering (PRV required),"
         " 2310C Service Facility Location (PER removed), 2310D Assistant Surgeon (NM1 DD, PRV AS;"
         " new, role from the 4010 dental map), 2310E Supervising (was 837P 2310D);"
         " ambulance 2310E/2310F removed.")
    return [referring, rendering, facility, assistant, supervising]


def build_2320_loop(p2320: etree._Element) -> etree._Element:
    l2320 = deepcopy(p2320)
    oi = segment(l2320, "OI")
    set_fields(element(oi, "OI04"), usage="N")
    drop_codes(element(oi, "OI04"))

    l2330b = child_loop(l2320, "2330B")
    segment(l2330b, "REF", "F8").addprevious(
        ref(segment(l2330b, "REF", "G1"), "Other Payer Predetermination Identification", ["G3"])
    )

    order = [
        ("2330A", "2330A"),
        ("2330B", "2330B"),
        ("2330C", "2330C"),
        ("2330D", "2330D"),  # rendering
        ("2330F", "2330E"),  # supervising
        ("2330G", "2330F"),  # billing
        ("2330E", "2330G"),  # service facility location
    ]
    loops = [renamed_loop(child_loop(l2320, old), new, pos="3250") for old, new in order]
    loops.append(
        provider_role(
            child_loop(l2320, "2330D"), "2330H", "Other Payer Assistant Surgeon", ["DD"],
            ref_name="Other Payer Assistant Surgeon Secondary Identification",
        )
    )
    set_fields(loops[-1], pos="3250")
    segments = [c for c in l2320 if c.tag == "segment"]
    set_children(l2320, segments + loops)
    note("2320: OI04 not used. 2330B REF G3 (other payer predetermination) added."
         " 2330 loops renamed to the dental order: 2330D Rendering, 2330E Supervising,"
         " 2330F Billing, 2330G Service Facility Location, new 2330H Assistant Surgeon (NM1 DD);"
         " all at position 3250 as in the TR3.")
    return l2320


def build_2400_loop(p2400: etree._Element, d2400: etree._Element) -> etree._Element:
    l2400 = deepcopy(p2400)
    sv1 = segment(p2400, "SV1")

    sv3 = set_fields(copy_seg(d2400, "SV3"), pos="3800")
    set_fields(element(sv3, "SV301-07"), usage="S")
    sv301_08 = deepcopy(element(sv1, "SV101-08"))
    sv301_08.set("xid", "SV301-08")
    element(sv3, "SV301-07").addnext(sv301_08)
    pointer = deepcopy(sv1.find("composite[data_ele='C004']"))
    retag_composite(pointer, "SV3", 11)
    set_fields(pointer, usage="S")
    for elem in pointer.findall("element"):
        set_codes(elem, ["1", "2", "3", "4"])
    sv3.replace(sv3.find("composite[data_ele='C004']"), pointer)
    note("2400 SV3 dental service (pos 3800) from the 4010 dental map: SV301 AD procedure code with"
         " description (SV301-07) situational, SV303 place of service, SV304 oral cavity designation,"
         " SV305 prosthesis/crown/inlay, SV306 procedure count, SV311 diagnosis code pointers 1-4 (new).")

    too = set_fields(copy_seg(d2400, "TOO"), pos="3820")
    set_fields(element(too, "TOO02"), usage="R")
    note("2400 TOO tooth information (pos 3820, max 32): TOO01 = JP, TOO02 tooth number required,"
         " TOO03 tooth surface composite (B, D, F, I, L, M, O).")

    dtp_template = segment(p2400, "DTP", "472")
    dates = [
        dtp(dtp_template, "Date - Service Date", "472", ["D8"]),
        dtp(dtp_template, "Date - Prior Placement", "441", ["D8"]),
        dtp(dtp_template, "Date - Appliance Placement", "452", ["D8"]),
        dtp(dtp_template, "Date - Replacement", "446", ["D8"]),
        dtp(dtp_template, "Date - Treatment Start", "196", ["D8"]),
        dtp(dtp_template, "Date - Treatment Completion", "198", ["D8"]),
    ]
    note("2400 DTP: service date (472, situational), prior placement (441), appliance placement (452),"
         " replacement (446), treatment start (196) and treatment completion (198).")

    g1 = segment(p2400, "REF", "G1")
    refs = [
        ref(g1, "Service Predetermination Identification", ["G3"]),
        copy_seg(p2400, "REF", "G1"),
        copy_seg(p2400, "REF", "6R"),
        copy_seg(p2400, "REF", "9B"),
        copy_seg(p2400, "REF", "9D"),
        copy_seg(p2400, "REF", "9F"),
    ]
    hcp = copy_seg(p2400, "HCP")
    set_codes(element(hcp, "HCP09"), ["AD"])
    note("2400 REF: service predetermination (G3), prior authorization (G1), line item control number"
         " (6R), repriced (9B, 9D), referral (9F). AMT sales tax (T), K3, HCP (HCP09 = AD) kept;"
         " SV1, SV5, PWK, CR1, CR3, CRC, QTY, MEA, other REF/AMT, NTE, PS1 removed.")

    p2420 = {xid: child_loop(p2400, xid) for xid in ("2420A", "2420C", "2420D")}
    rendering = deepcopy(p2420["2420A"])
    set_fields(segment(rendering, "PRV"), usage="R")
    assistant = provider_role(
        p2420["2420A"], "2420B", "Assistant Surgeon Name", ["DD"], ["AS"], "R",
        ref_name="Assistant Surgeon Secondary Identification",
    )
    supervising = renamed_loop(p2420["2420D"], "2420C")
    facility = renamed_loop(p2420["2420C"], "2420D")
    note("2420 loops: 2420A Rendering (PRV required), 2420B Assistant Surgeon (NM1 DD, PRV AS; new),"
         " 2420C Supervising (was 837P 2420D), 2420D Service Facility Location (was 837P 2420C);"
         " 2410 drug, purchased service, ordering, referring, ambulance and 2440 loops removed.")

    l2430 = deepcopy(child_loop(p2400, "2430"))
    set_codes(element(segment(l2430, "SVD"), "SVD03-01"), ["AD"])
    note("2430 line adjudication kept from 5010 837P with SVD03-01 = AD.")

    set_children(
        l2400,
        [
            copy_seg(p2400, "LX"),
            sv3,
            too,
            *dates,
            copy_seg(p2400, "CN1"),
            *refs,
            copy_seg(p2400, "AMT", "T"),
            copy_seg(p2400, "K3"),
            hcp,
            rendering,
            assistant,
            supervising,
            facility,
            l2430,
        ],
    )
    return l2400


def build_claim_loop(professional: etree._Element, dental_4010: etree._Element) -> etree._Element:
    p2300 = loop_at(professional, P_2300)
    d2300 = loop_at(dental_4010, D4010_2300)
    l2300 = deepcopy(p2300)
    l2320 = build_2320_loop(child_loop(p2300, "2320"))
    l2400 = build_2400_loop(child_loop(p2300, "2400"), child_loop(d2300, "2400"))
    set_children(l2300, build_2300_segments(p2300, d2300) + build_2310_loops(p2300) + [l2320, l2400])
    return l2300


def build() -> etree._Element:
    CHANGES.clear()
    map_dir = pyx12_map_dir()
    professional = load_map(map_dir / PROFESSIONAL_MAP)
    dental_4010 = load_map(map_dir / DENTAL_4010_MAP)

    root = deepcopy(professional)
    build_envelope(root)
    build_subscriber_and_patient(root)
    l2300 = build_claim_loop(professional, dental_4010)
    # pyx12 keeps a copy of 2300 under both the subscriber and the patient level.
    for parent_path in (P_2000B, P_2000C):
        parent = loop_at(root, parent_path)
        old = child_loop(parent, "2300")
        new = deepcopy(l2300)
        set_fields(new, usage=old.findtext("usage"))
        parent.replace(old, new)
    return root


# --------------------------------------------------------------------------
# Output and checks
# --------------------------------------------------------------------------


def header_comment(map_dir: Path) -> str:
    version = importlib.metadata.version("pyx12")
    try:
        license_text = importlib.metadata.distribution("pyx12").read_text("licenses/LICENSE.txt")
    except FileNotFoundError:
        license_text = None
    lines = [
        "",
        f"pyx12 map for the ASC X12N 837 Health Care Claim: Dental implementation guide ({GUIDE}).",
        "",
        "Generated by maps/build/build_837d.py; do not edit by hand, change the script and rerun it.",
        f"Composed from two maps distributed with pyx12 {version} (BSD licensed):",
        f"  {PROFESSIONAL_MAP}  5010 837 Professional: envelope, shared loops and segments",
        f"  {DENTAL_4010_MAP}  4010 837 Dental: DN1, DN2, SV3, TOO and dental provider roles",
        "",
        "To use it with pyx12, put it in a map directory (map_path) next to pyx12's codes.xml and",
        "dataele.xml, and register it in that directory's maps.xml under <version icvn=\"00501\">:",
        f'  <map vriic="{GUIDE}" fic="HC" abbr="837D">{MAP_NAME}</map>',
        "",
        "The pyx12 map headers carry this notice:",
        header_notice(map_dir / PROFESSIONAL_MAP),
        "",
    ]
    if license_text:
        license_lines = [line.rstrip() for line in license_text.strip().splitlines()]
        lines += ["pyx12 license (LICENSE.txt):", "", *license_lines, ""]
    lines += ["5010 dental changes applied to the 5010 837 Professional map:"]
    lines += [f"  * {change}" for change in CHANGES]
    lines.append("")
    text = "\n".join(lines)
    assert "--" not in text, "XML comments must not contain a double hyphen"
    return text


def write_map(root: etree._Element, output: Path) -> None:
    body = etree.tostring(root, pretty_print=True, encoding="unicode")
    comment = header_comment(pyx12_map_dir())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<!--{comment}-->\n{body}', encoding="utf-8")


def check_map(output: Path) -> None:
    """Validate against pyx12's map.xsd and load the map with pyx12."""
    import pyx12.map_if
    import pyx12.params

    map_dir = pyx12_map_dir()
    schema = etree.XMLSchema(etree.parse(str(map_dir / "map.xsd")))
    if not schema.validate(etree.parse(str(output))):
        raise SystemExit(f"{output} does not validate against map.xsd: {schema.error_log}")
    with tempfile.TemporaryDirectory() as tmp:
        # load_map_file reads codes.xml and dataele.xml from the same directory.
        for name in ("codes.xml", "dataele.xml"):
            shutil.copy(map_dir / name, tmp)
        shutil.copy(output, Path(tmp) / MAP_NAME)
        loaded = pyx12.map_if.load_map_file(MAP_NAME, pyx12.params.params(), map_path=tmp)
    print(f"{output}: valid against map.xsd; pyx12 loaded transaction {loaded.id!r} ({loaded.name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    write_map(build(), args.output)
    check_map(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
