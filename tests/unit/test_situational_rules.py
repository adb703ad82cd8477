"""The guides' situational rules (maps/rules/*.xml) proved by a mutation corpus: each case
one change to a real file (the shared corpus, by path, or samples/) and the exact finding
it makes (rule id, 999 code, segment position in the set, segment, loop, element); the
valid corpus files of the five kinds free of rule findings but for the known violations
listed with their reason; the rule language's cross-loop references, any-of groups,
header scope and loop presence, and what a claim's finding does to that claim alone."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from edi.errors import RuleFileError
from edi.parsers.claim_verdicts import claim_findings, rejected, split_by_claim
from edi.parsers.results import TransactionResult
from edi.parsers.rules.files import RuleCatalog, default_rules, load_rule_file, rules_folder
from edi.parsers.validate import Validator
from tests.conftest import CORPUS, corpus_path
from tests.mutations import mutate

Change = Callable[[list[str]], list[str]]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
S837P = "837P-professional-claim.x12"  # two claims: the subscriber's own, a dependent's
S837I = "837I-institutional-claim.x12"  # an inpatient final claim (CLM05 11:A:1)
S837D = "837D-dental-claim.x12"  # one claim, rendering dentist, two lines with TOO
S835 = "835-remittance.x12"  # three claims, ACH, a PLB WO adjustment
S834 = "834-enrollment.x12"  # subscriber, spouse and child added (021)
TWO_837I = "lfh/two-claims-single-provider.837i"  # two subscribers, one claim each
PPO_837I = "lfh/ppo-repriced-claim.837i"  # a patient below the subscriber, a 2320
AUTO_ACCIDENT = "lfh/demo.autoaccident.837"  # CLM11 AA:::CA and DTP*439
TERM_834 = "pyx12/834_deident_term.txt"  # two members terminated (024, 357, 349)
FAMILY_834 = "pyx12/834_deident_family.txt"  # a subscriber and two dependents added


def source(name: str) -> Path:
    return SAMPLES / name if (SAMPLES / name).exists() else corpus_path(name)


# -- changes: one segment found by its text (its nth occurrence), never by a line --------


def _index(segments: list[str], start: str, nth: int) -> int:
    found = [i for i, s in enumerate(segments) if s.startswith(start)]
    assert len(found) > nth, (start, nth, len(found))
    return found[nth]


def swap(start: str, new: str, nth: int = 0) -> Change:
    """The ``nth`` segment beginning with ``start`` replaced: ``start`` becomes ``new``."""

    def change(segments: list[str]) -> list[str]:
        i = _index(segments, start, nth)
        segments[i] = new + segments[i][len(start) :]
        return segments

    return change


def after(start: str, *new: str, nth: int = 0) -> Change:
    """Segments ``new`` inserted after the ``nth`` segment beginning with ``start``."""

    def change(segments: list[str]) -> list[str]:
        i = _index(segments, start, nth)
        segments[i + 1 : i + 1] = list(new)
        return segments

    return change


def cut(start: str, nth: int = 0) -> Change:
    """The ``nth`` segment beginning with ``start`` removed."""

    def change(segments: list[str]) -> list[str]:
        del segments[_index(segments, start, nth)]
        return segments

    return change


def both(*changes: Change) -> Change:
    """Several edits of one mutation, in order (one change to the file's meaning)."""

    def change(segments: list[str]) -> list[str]:
        for one in changes:
            segments = one(segments)
        return segments

    return change


def validated(path: Path, **kwargs) -> TransactionResult:
    result = Validator(**kwargs).validate(path)
    (ts,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    return ts


def rule_findings(ts: TransactionResult) -> list[tuple]:
    """(rule, code, position in the set, segment, loop, element, component) of each
    finding of a rule file."""
    return [
        (
            e.rule,
            e.code,
            e.location.segment_position,
            e.location.segment,
            e.location.loop,
            getattr(e, "element", 0),
            getattr(e, "component", 0),
        )
        for e in ts.errors
        if e.rule
    ]


# -- the mutation corpus ------------------------------------------------------------------

P_PAYTO_SAME = ("NM1*87*2", "N3*123 EXAMPLE ST", "N4*ANYTOWN*PA*190001234")
P_FACILITY_SAME = (
    "NM1*77*2*SAMPLE MEDICAL GROUP*****XX*1234567893",
    "N3*123 EXAMPLE ST",
    "N4*ANYTOWN*PA*190001234",
)
D_FACILITY_SAME = (
    "NM1*77*2*EXAMPLE FAMILY DENTISTRY*****XX*1234567893",
    "N3*100 EXAMPLE STREET",
    "N4*ANYTOWN*PA*170001234",
)
D_PREDETERMINATION = "CLM*DCLM0001*300***11:B:1*Y*A*Y*Y**********PB"

MUTATIONS: list[tuple[str, str, Change, tuple | None]] = [
    # -- 837P ------------------------------------------------------------------------
    ("p-ref-f8-replacement", S837P, swap("CLM*SAMPLECLM101*185***11:B:1", "CLM*SAMPLECLM101*185***11:B:7"),
     ("837P-2300-CLM05-3-REF-F8", "I6", 19, "REF", "2300", 0, 0)),
    ("p-ref-f8-void-dependent", S837P, swap("CLM*SAMPLECLM102*310***11:B:1", "CLM*SAMPLECLM102*310***11:B:8"),
     ("837P-2300-CLM05-3-REF-F8", "I6", 37, "REF", "2300", 0, 0)),
    ("p-sbr02-subscriber", S837P, swap("SBR*P*18*SAMPLEGRP01", "SBR*P**SAMPLEGRP01"),
     ("837P-2000B-SBR02-SUBSCRIBER-PATIENT", "I9", 13, "SBR", "2000B", 2, 0)),
    ("p-sbr02-dependent", S837P, swap("SBR*P**SAMPLEGRP02", "SBR*P*18*SAMPLEGRP02"),
     ("837P-2000B-SBR02-DEPENDENT", "I13", 28, "SBR", "2000B", 2, 0)),
    ("p-pat-dependent", S837P, after("SBR*P**SAMPLEGRP02", "PAT*********Y"),
     ("837P-2000B-PAT-SUBSCRIBER", "I9", 29, "PAT", "2000B", 0, 0)),
    ("p-dtp439-other-accident", S837P, swap("CLM*SAMPLECLM101*185***11:B:1*Y*A*Y*Y", "CLM*SAMPLECLM101*185***11:B:1*Y*A*Y*Y*P*OA"),
     ("837P-2300-DTP439-ACCIDENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("p-dtp439-second-cause", S837P, swap("CLM*SAMPLECLM101*185***11:B:1*Y*A*Y*Y", "CLM*SAMPLECLM101*185***11:B:1*Y*A*Y*Y*P*EM:OA"),
     ("837P-2300-DTP439-ACCIDENT-2", "I6", 19, "DTP", "2300", 0, 0)),
    ("p-dtp439-second-cause-corpus", AUTO_ACCIDENT, both(lambda s: [x.replace("AA:::CA", "EM:OA:::CA") for x in s], cut("DTP*439")),
     ("837P-2300-DTP439-ACCIDENT-2", "I6", 23, "DTP", "2300", 0, 0)),
    ("p-clm11-4-auto", S837P, both(swap("CLM*SAMPLECLM101*185***11:B:1*Y*A*Y*Y", "CLM*SAMPLECLM101*185***11:B:1*Y*A*Y*Y*P*AA"), after("CLM*SAMPLECLM101", "DTP*439*D8*20250101")),
     ("837P-2300-CLM11-4-AA", "I9", 19, "CLM", "2300", 11, 4)),
    ("p-payto-same", S837P, after("REF*EI*999000003", *P_PAYTO_SAME),
     ("837P-2010AB-SAME-AS-2010AA", "I9", 12, "NM1", "2010AB", 0, 0)),
    ("p-n3-subscriber", S837P, cut("N3*123 EXAMPLE ST", nth=1),
     ("837P-2010BA-N3-SUBSCRIBER-PATIENT", "I6", 14, "N3", "2010BA", 0, 0)),
    ("p-dmg-subscriber", S837P, cut("DMG*D8*19800101"),
     ("837P-2010BA-DMG-SUBSCRIBER-PATIENT", "I6", 14, "DMG", "2010BA", 0, 0)),
    ("p-2320-secondary", S837P, swap("SBR*P*18*SAMPLEGRP01", "SBR*S*18*SAMPLEGRP01"),
     ("837P-2300-2320-SECONDARY", "I6", 19, "SBR", "2320", 0, 0)),
    ("p-2320-tertiary-under-2000c", S837P, swap("SBR*P**SAMPLEGRP02", "SBR*T**SAMPLEGRP02"),
     ("837P-2300-2320-SECONDARY", "I6", 37, "SBR", "2320", 0, 0)),
    ("p-rendering-same", S837P, after("HI*ABK:J029", "NM1*82*1*SAMPLE*DOC****XX*1234567893", "PRV*PE*PXC*207Q00000X"),
     ("837P-2310B-SAME-AS-2010AA", "I9", 21, "NM1", "2310B", 9, 0)),
    ("p-rendering-dependent-same", S837P, after("HI*ABK:S93401A", "NM1*82*1*SAMPLE*DOC****XX*1234567893", "PRV*PE*PXC*207Q00000X"),
     ("837P-2310B-SAME-AS-2010AA", "I9", 39, "NM1", "2310B", 9, 0)),
    ("p-facility-same", S837P, after("HI*ABK:J029", *P_FACILITY_SAME),
     ("837P-2310C-SAME-AS-2010AA", "I9", 21, "NM1", "2310C", 0, 0)),
    ("p-ok-payto-elsewhere", S837P, after("REF*EI*999000003", "NM1*87*2", "N3*PO BOX 9", "N4*ANYTOWN*PA*190001234"), None),
    ("p-ok-rendering-other", S837P, after("HI*ABK:J029", "NM1*82*1*SAMPLE*DOC****XX*1497758544", "PRV*PE*PXC*207Q00000X"), None),
    # -- 837I ------------------------------------------------------------------------
    ("i-admission-date", S837I, cut("DTP*435"),
     ("837I-2300-DTP435-INPATIENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("i-admission-date-swing-bed", S837I, both(swap("CLM*SAMPLEINP001*3570***11:", "CLM*SAMPLEINP001*3570***18:"), cut("DTP*435")),
     ("837I-2300-DTP435-INPATIENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("i-admission-type", S837I, swap("CL1*1*7", "CL1**7"),
     ("837I-2300-CL101-INPATIENT", "I9", 23, "CL1", "2300", 1, 0)),
    ("i-admission-source", S837I, swap("CL1*1*7", "CL1*1*"),
     ("837I-2300-CL102-INPATIENT", "I9", 23, "CL1", "2300", 2, 0)),
    ("i-discharge-hour", S837I, cut("DTP*096"),
     ("837I-2300-DTP096-FINAL-INPATIENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("i-discharge-hour-last-interim", S837I, both(swap("CLM*SAMPLEINP001*3570***11:A:1", "CLM*SAMPLEINP001*3570***21:A:4"), cut("DTP*096")),
     ("837I-2300-DTP096-FINAL-INPATIENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("i-ok-interim-without-discharge", S837I, both(swap("CLM*SAMPLEINP001*3570***11:A:1", "CLM*SAMPLEINP001*3570***11:A:2"), cut("DTP*096")), None),
    ("i-ok-outpatient-without-admission", S837I, both(swap("CLM*SAMPLEINP001*3570***11:", "CLM*SAMPLEINP001*3570***13:"), cut("DTP*435"), cut("DTP*096")), None),
    ("i-ref-f8", S837I, swap("CLM*SAMPLEINP001*3570***11:A:1", "CLM*SAMPLEINP001*3570***11:A:7"),
     ("837I-2300-CLM05-3-REF-F8", "I6", 19, "REF", "2300", 0, 0)),
    ("i-ref-f8-corpus-second-claim", TWO_837I, swap("CLM*756049Q*50.00***13:A:1", "CLM*756049Q*50.00***13:A:8"),
     ("837I-2300-CLM05-3-REF-F8", "I6", 39, "REF", "2300", 0, 0)),
    ("i-sbr02-subscriber", S837I, swap("SBR*P*18", "SBR*P*"),
     ("837I-2000B-SBR02-SUBSCRIBER-PATIENT", "I9", 13, "SBR", "2000B", 2, 0)),
    ("i-sbr02-dependent", PPO_837I, swap("SBR*P**46522567AW", "SBR*P*18*46522567AW"),
     ("837I-2000B-SBR02-DEPENDENT", "I13", 12, "SBR", "2000B", 2, 0)),
    ("i-n3-subscriber", S837I, cut("N3*123 EXAMPLE ST", nth=1),
     ("837I-2010BA-N3-SUBSCRIBER-PATIENT", "I6", 14, "N3", "2010BA", 0, 0)),
    ("i-dmg-subscriber", S837I, cut("DMG*"),
     ("837I-2010BA-DMG-SUBSCRIBER-PATIENT", "I6", 14, "DMG", "2010BA", 0, 0)),
    ("i-2320-secondary", S837I, swap("SBR*P*18", "SBR*S*18"),
     ("837I-2300-2320-SECONDARY", "I6", 19, "SBR", "2320", 0, 0)),
    ("i-2320-corpus-first-subscriber", TWO_837I, swap("SBR*P*18", "SBR*T*18"),
     ("837I-2300-2320-SECONDARY", "I6", 19, "SBR", "2320", 0, 0)),
    ("i-ok-2320-under-2000c", PPO_837I, swap("SBR*P**46522567AW", "SBR*S**46522567AW"), None),
    ("i-payto-same", S837I, after("REF*EI*999000004", "NM1*87*2", "N3*123 EXAMPLE ST", "N4*ANYTOWN*PA*190001234"),
     ("837I-2010AB-SAME-AS-2010AA", "I9", 12, "NM1", "2010AB", 0, 0)),
    # -- 837D ------------------------------------------------------------------------
    ("d-ref-f8", S837D, swap("CLM*DCLM0001*300***11:B:1", "CLM*DCLM0001*300***11:B:8"),
     ("837D-2300-CLM05-3-REF-F8", "I6", 19, "REF", "2300", 0, 0)),
    ("d-dtp439-first-cause", S837D, swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", "CLM*DCLM0001*300***11:B:1*Y*A*Y*Y**OA"),
     ("837D-2300-DTP439-ACCIDENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("d-dtp439-second-cause", S837D, swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", "CLM*DCLM0001*300***11:B:1*Y*A*Y*Y**EM:OA"),
     ("837D-2300-DTP439-ACCIDENT", "I6", 19, "DTP", "2300", 0, 0)),
    ("d-clm11-4-first-cause", S837D, both(swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", "CLM*DCLM0001*300***11:B:1*Y*A*Y*Y**AA"), after("CLM*DCLM0001", "DTP*439*D8*20240101")),
     ("837D-2300-CLM11-4-AA", "I9", 19, "CLM", "2300", 11, 4)),
    ("d-clm11-4-second-cause", S837D, both(swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", "CLM*DCLM0001*300***11:B:1*Y*A*Y*Y**EM:AA"), after("CLM*DCLM0001", "DTP*439*D8*20240101")),
     ("837D-2300-CLM11-4-AA", "I9", 19, "CLM", "2300", 11, 4)),
    ("d-ok-accident-complete", S837D, both(swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", "CLM*DCLM0001*300***11:B:1*Y*A*Y*Y**EM:AA::PA"), after("CLM*DCLM0001", "DTP*439*D8*20240101")), None),
    ("d-predetermination-line-date", S837D, both(swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", D_PREDETERMINATION), cut("DTP*472", nth=1)),
     ("837D-2400-DTP472-PREDETERMINATION", "I9", 28, "DTP", "2400", 0, 0)),
    ("d-predetermination-claim-date", S837D, both(swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", D_PREDETERMINATION), after("CLM*DCLM0001", "DTP*472*D8*20240110"), cut("DTP*472", nth=2), cut("DTP*472", nth=1)),
     ("837D-2300-DTP472-PREDETERMINATION", "I9", 20, "DTP", "2300", 0, 0)),
    ("d-ok-predetermination-without-dates", S837D, both(swap("CLM*DCLM0001*300***11:B:1*Y*A*Y*Y", D_PREDETERMINATION), cut("DTP*472", nth=1), cut("DTP*472")), None),
    ("d-sbr02-subscriber", S837D, swap("SBR*P*18", "SBR*P*"),
     ("837D-2000B-SBR02-SUBSCRIBER-PATIENT", "I9", 13, "SBR", "2000B", 2, 0)),
    ("d-sbr02-dependent", S837D, swap("HL*2*1*22*0", "HL*2*1*22*1"),
     ("837D-2000B-SBR02-DEPENDENT", "I13", 13, "SBR", "2000B", 2, 0)),
    ("d-n3-subscriber", S837D, cut("N3*200 SAMPLE AVENUE"),
     ("837D-2010BA-N3-SUBSCRIBER-PATIENT", "I6", 14, "N3", "2010BA", 0, 0)),
    ("d-dmg-subscriber", S837D, cut("DMG*"),
     ("837D-2010BA-DMG-SUBSCRIBER-PATIENT", "I6", 14, "DMG", "2010BA", 0, 0)),
    ("d-2320-secondary", S837D, swap("SBR*P*18", "SBR*S*18"),
     ("837D-2300-2320-SECONDARY", "I6", 19, "SBR", "2320", 0, 0)),
    ("d-rendering-same", S837D, swap("NM1*82*1*SAMPLEDENTIST*ALEX****XX*1987654328", "NM1*82*1*SAMPLEDENTIST*ALEX****XX*1234567893"),
     ("837D-2310B-SAME-AS-2010AA", "I9", 23, "NM1", "2310B", 9, 0)),
    ("d-payto-same", S837D, after("REF*EI*990000001", "NM1*87*2", "N3*100 EXAMPLE STREET", "N4*ANYTOWN*PA*170001234"),
     ("837D-2010AB-SAME-AS-2010AA", "I9", 12, "NM1", "2010AB", 0, 0)),
    ("d-facility-same", S837D, after("PRV*PE*PXC*1223G0001X", *D_FACILITY_SAME),
     ("837D-2310C-SAME-AS-2010AA", "I9", 25, "NM1", "2310C", 0, 0)),
    # -- 835 -------------------------------------------------------------------------
    ("r-notification-paid", S835, swap("BPR*I*294", "BPR*H*294"),
     ("835-BPR02-NOTIFICATION-ZERO", "I12", 2, "BPR", "", 2, 0)),
    ("r-non-payment-paid", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210", "BPR*I*294*C*NON************"),
     ("835-BPR02-NON-PAYMENT-ZERO", "I12", 2, "BPR", "", 2, 0)),
    ("r-eft-payer-id", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002", "BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*"),
     ("835-BPR10-EFT", "I9", 2, "BPR", "", 10, 0)),
    ("r-eft-bank-fwt", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002", "BPR*I*294*C*FWT**01*999999992*DA*1234567890*"),
     ("835-BPR10-EFT", "I9", 2, "BPR", "", 10, 0)),
    ("r-eft-bpr06", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120", "BPR*I*294*C*ACH*CCP**999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120"),
     ("835-BPR06-EFT", "I9", 2, "BPR", "", 6, 0)),
    ("r-eft-bpr07", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120", "BPR*I*294*C*ACH*CCP*01**DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120"),
     ("835-BPR07-EFT", "I9", 2, "BPR", "", 7, 0)),
    ("r-eft-bpr09", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120", "BPR*I*294*C*ACH*CCP*01*999999992*DA**1999000002**01*999999991*DA*9876543210*20250120"),
     ("835-BPR09-EFT", "I9", 2, "BPR", "", 9, 0)),
    ("r-eft-bpr12", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120", "BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002***999999991*DA*9876543210*20250120"),
     ("835-BPR12-EFT", "I9", 2, "BPR", "", 12, 0)),
    ("r-eft-bpr13", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120", "BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01**DA*9876543210*20250120"),
     ("835-BPR13-EFT", "I9", 2, "BPR", "", 13, 0)),
    ("r-eft-bpr15", S835, swap("BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA*9876543210*20250120", "BPR*I*294*C*ACH*CCP*01*999999992*DA*1234567890*1999000002**01*999999991*DA**20250120"),
     ("835-BPR15-EFT", "I9", 2, "BPR", "", 15, 0)),
    ("r-plb-fb-09", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25", "PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25*CS:ADJ00*0*CS:ADJ01*0*FB*0"),
     ("835-PLB09-2-IDENTIFIER", "I9", 50, "PLB", "", 9, 2)),
    ("r-plb-fb-11", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25", "PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25*CS:ADJ00*0*CS:ADJ01*0*CS:ADJ02*0*FB*0"),
     ("835-PLB11-2-IDENTIFIER", "I9", 50, "PLB", "", 11, 2)),
    ("r-plb-fb-13", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25", "PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25*CS:ADJ00*0*CS:ADJ01*0*CS:ADJ02*0*CS:ADJ03*0*FB*0"),
     ("835-PLB13-2-IDENTIFIER", "I9", 50, "PLB", "", 13, 2)),
    ("r-cas-group-repeated-line", S835, swap("CAS*PR*2*24", "CAS*CO*2*24"),
     ("835-2110-CAS01-REPEATED", "I12", 21, "CAS", "2110", 1, 0)),
    ("r-cas-group-repeated-line-3", S835, swap("CAS*PR*1*20", "CAS*CO*1*20"),
     ("835-2110-CAS01-REPEATED", "I12", 48, "CAS", "2110", 1, 0)),
    ("r-cas-group-repeated-claim", S835, both(swap("CAS*CO*B4*10", "CAS*CO*B4*5"), after("CAS*CO*B4*5", "CAS*CO*B5*5")),
     ("835-2100-CAS01-REPEATED", "I12", 38, "CAS", "2100", 1, 0)),
    ("r-ok-cas-groups-differ", S835, both(swap("CAS*CO*B4*10", "CAS*CO*B4*5"), after("CAS*CO*B4*5", "CAS*OA*B5*5")), None),
    ("r-denied-paid", S835, swap("CLP*SAMPLECLM001*1*200*124", "CLP*SAMPLECLM001*4*200*124"),
     ("835-2100-CLP04-DENIED", "I12", 15, "CLP", "2100", 4, 0)),
    ("r-reversal-charge", S835, swap("CLP*SAMPLECLM002*1*120*50", "CLP*SAMPLECLM002*22*120*-50"),
     ("835-2100-CLP03-REVERSAL", "I12", 28, "CLP", "2100", 3, 0)),
    ("r-reversal-payment", S835, swap("CLP*SAMPLECLM002*1*120*50", "CLP*SAMPLECLM002*22*-120*50"),
     ("835-2100-CLP04-REVERSAL", "I12", 28, "CLP", "2100", 4, 0)),
    ("r-ok-reversal-negated", S835, swap("CLP*SAMPLECLM002*1*120*50", "CLP*SAMPLECLM002*22*-120*-50"), None),
    ("r-plb-wo-identifier", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01", "PLB*1234567893*20251231*WO"),
     ("835-PLB03-2-IDENTIFIER", "I9", 50, "PLB", "", 3, 2)),
    ("r-plb-fb-second", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25", "PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25*FB*-5"),
     ("835-PLB05-2-IDENTIFIER", "I9", 50, "PLB", "", 5, 2)),
    ("r-plb-l6-third", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25", "PLB*1234567893*20251231*WO:SAMPLEOVPMT01*25*CS:ADJ01*5*L6*-5"),
     ("835-PLB07-2-IDENTIFIER", "I9", 50, "PLB", "", 7, 2)),
    ("r-ok-plb-other-reason", S835, swap("PLB*1234567893*20251231*WO:SAMPLEOVPMT01", "PLB*1234567893*20251231*CS"), None),
    # -- 834 -------------------------------------------------------------------------
    ("e-subscriber-not-self", S834, swap("INS*Y*18", "INS*Y*01"),
     ("834-2000-INS02-SUBSCRIBER-SELF", "I12", 10, "INS", "2000", 2, 0)),
    ("e-dependent-self", S834, swap("INS*N*01", "INS*N*18"),
     ("834-2000-INS02-DEPENDENT", "I12", 23, "INS", "2000", 2, 0)),
    ("e-dependent-self-corpus", FAMILY_834, swap("INS*N*19", "INS*N*18"),
     ("834-2000-INS02-DEPENDENT", "I12", 20, "INS", "2000", 2, 0)),
    ("e-subscriber-not-self-corpus", FAMILY_834, swap("INS*Y*18", "INS*Y*19"),
     ("834-2000-INS02-SUBSCRIBER-SELF", "I12", 5, "INS", "2000", 2, 0)),
    ("e-termination-no-end", S834, swap("INS*N*19*021", "INS*N*19*024"),
     ("834-2000-DTP357-TERMINATION", "I6", 31, "DTP", "2000", 0, 0)),
    ("e-termination-no-end-corpus", TERM_834, cut("DTP*357", nth=1),
     ("834-2000-DTP357-TERMINATION", "I6", 16, "DTP", "2000", 0, 0)),
    ("e-addition-no-begin", S834, cut("DTP*348", nth=1),
     ("834-2300-DTP348-ADDITION", "I6", 21, "DTP", "2300", 0, 0)),
    ("e-addition-no-begin-corpus", FAMILY_834, cut("DTP*348"),
     ("834-2300-DTP348-ADDITION", "I6", 13, "DTP", "2300", 0, 0)),
    ("e-coverage-ended-no-end", S834, swap("HD*021**DEN", "HD*024**DEN"),
     ("834-2300-DTP349-TERMINATION", "I6", 21, "DTP", "2300", 0, 0)),
    ("e-coverage-ended-no-end-corpus", TERM_834, cut("DTP*349"),
     ("834-2300-DTP349-TERMINATION", "I6", 14, "DTP", "2300", 0, 0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "file", "change", "expected"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_each_mutation_makes_its_one_finding(tmp_path, name, file, change, expected):
    path = source(file)
    before = rule_findings(validated(path))
    ts = validated(mutate(tmp_path, path, change))
    added = [f for f in rule_findings(ts) if f not in before]
    assert added == ([expected] if expected else [])
    # the sentence is the rule's: codes and positions, no value of the file
    for error in ts.errors:
        if error.rule:
            assert error.message and getattr(error, "value", None) is None


def test_the_mutation_corpus_covers_every_kind_and_rule():
    cases = [m for m in MUTATIONS if m[3] is not None]
    assert len(cases) >= 60
    kinds = {m[3][0].split("-")[0] for m in cases}
    assert kinds == {"837P", "837I", "837D", "835", "834"}
    tested = {m[3][0] for m in cases}
    catalog = RuleCatalog([rules_folder()])
    shipped = {
        rule.id
        for file in catalog.files()
        if not file.name.endswith(".codes.xml")
        for rule in catalog.load(file)
    }
    # every shipped rule has a mutation here (the ZIP code rules: in test_rule_files.py;
    # the code set rules of the *.codes.xml files: in test_code_sets.py)
    assert {r for r in shipped - tested if not r.endswith("ZIP9")} == set()


# -- false positives: the valid corpus ------------------------------------------------

#: corpus files that break a rule as the guide's note reads, and why
KNOWN_VIOLATIONS = {
    # the X222 guide's coordination of benefits examples send the billing provider again
    # as the rendering provider (same NPI, a payer id of its own in REF*G2), which the
    # 2310B note says is not sent
    **{
        f: {"837P-2310B-SAME-AS-2010AA"}
        for f in (
            "lfh/demo.cob.example3.A.837",
            "lfh/demo.cob.example3.B.837",
            "lfh/demo.cob.example3.C.837",
            "badx12/X222-COB-claim-from-billing-provider-to-payer-a.edi",
            "badx12/X222-COB-claim-from-billing-provider-to-payer-b.edi",
            "badx12/X222-COB-claim-from-payer-a-to-payer-b-in-payer-to-payer.edi",
        )
    },
    # an example of the X221 guide's era: a service line's two OA adjustments in two CAS
    "badx12/X221-secondary-payment-with-higher-fee-schedule.edi": {"835-2110-CAS01-REPEATED"},
    # a subscriber (INS01 Y) whose relationship is child (INS02 19)
    "lfh/terminate-subscriber-eligibility.834": {"834-2000-INS02-SUBSCRIBER-SELF"},
}
KINDS = ("837P", "837I", "837D", "835", "834")


def valid_files() -> list[str]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        r["file"]
        for r in rows
        if r["transaction_set"] in KINDS
        and r["intended"] == "valid"
        and r["version"].startswith("005010")
    ]


def test_no_valid_file_breaks_a_rule_but_the_known_violations():
    files = valid_files()
    assert len(files) >= 60
    found: dict[str, set[str]] = {}
    validator = Validator()
    paths = [(f, corpus_path(f)) for f in files] + [
        (p.name, p) for p in sorted(SAMPLES.glob("*.x12"))
    ]
    for name, path in paths:
        result = validator.validate(path)
        rules = {
            e.rule
            for ic in result.interchanges
            for g in ic.groups
            for t in g.transactions
            for e in t.errors
            if e.rule and not e.rule.endswith("ZIP9")
        }
        if rules:
            found[name] = rules
    assert found == KNOWN_VIOLATIONS


# -- the language: cross-loop references, any-of, header scope ------------------------


def write_rules(folder: Path, body: str, guides: str = "005010X222A1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test.xml"
    path.write_text(f'<?xml version="1.0"?>\n<rules guides="{guides}">\n{body}\n</rules>\n')
    return path


@pytest.fixture
def own_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def use(body: str, guides: str = "005010X222A1") -> None:
        write_rules(tmp_path / "maps" / "rules", body, guides)
        monkeypatch.setenv("EDI_MAPS", str(tmp_path / "maps"))
        default_rules.cache_clear()

    yield use
    monkeypatch.delenv("EDI_MAPS", raising=False)
    default_rules.cache_clear()


def test_a_detail_rule_reads_the_header(tmp_path, own_rules):
    """``HEADER/BHT06``: the header's closed instance, read from a claim."""
    own_rules(
        '<rule id="TEST-2300-ENCOUNTER" loop="2300" message="CLM05-3 of an encounter must be 1">'
        '<when at="HEADER/BHT06" in="RP"/><must at="CLM05-3" in="1"/></rule>'
    )
    sample = SAMPLES / S837P
    changed = mutate(
        tmp_path, sample, swap("CLM*SAMPLECLM102*310***11:B:1", "CLM*SAMPLECLM102*310***11:B:7")
    )
    assert "TEST-2300-ENCOUNTER" not in {f[0] for f in rule_findings(validated(changed))}
    encounter = mutate(
        tmp_path,
        changed,
        swap(
            "BHT*0019*00*SAMPLEBATCH0101*20250115*1200*CH",
            "BHT*0019*00*SAMPLEBATCH0101*20250115*1200*RP",
        ),
    )
    found = [f for f in rule_findings(validated(encounter)) if f[0] == "TEST-2300-ENCOUNTER"]
    assert found == [("TEST-2300-ENCOUNTER", "I12", 37, "CLM", "2300", 5, 3)]


def second_billing_provider(segments: list[str]) -> list[str]:
    """The 837P sample's billing provider level sent again (HL 5 to 8) as another billing
    provider (its own NPI), each of its two claims with the first provider's NPI as
    rendering provider."""
    start = _index(segments, "HL*1**20", 0)
    end = _index(segments, "SE*", 0)
    ids = {"HL*1**": "HL*5**", "HL*2*1*": "HL*6*5*", "HL*3*1*": "HL*7*5*", "HL*4*3*": "HL*8*7*"}
    copy = []
    for seg in segments[start:end]:
        for old, new in ids.items():
            if seg.startswith(old):
                seg = new + seg[len(old) :]
        seg = seg.replace("XX*1234567893", "XX*1497758544").replace("SAMPLECLM1", "SAMPLECLM2")
        copy.append(seg)
        if seg.startswith("HI*"):
            copy += ["NM1*82*1*SAMPLE*DOC****XX*1234567893", "PRV*PE*PXC*207Q00000X"]
    segments[end:end] = copy
    return segments


def test_a_closed_loop_is_read_within_its_own_enclosing_instance(tmp_path):
    """A 2310B is compared with the 2010AA of its own billing provider level (2000A),
    never with an earlier one's: the second provider's claims name the first provider as
    rendering provider, which differs from their own billing provider."""
    path = mutate(tmp_path, SAMPLES / S837P, second_billing_provider)
    assert [f for f in rule_findings(validated(path)) if not f[0].endswith("ZIP9")] == []
    # the same rendering provider under the first billing provider is its own NPI
    first = both(
        second_billing_provider,
        after("HI*ABK:J029", "NM1*82*1*SAMPLE*DOC****XX*1234567893", "PRV*PE*PXC*207Q00000X"),
    )
    ts = validated(mutate(tmp_path, SAMPLES / S837P, first))
    assert rule_findings(ts) == [("837P-2310B-SAME-AS-2010AA", "I9", 21, "NM1", "2310B", 9, 0)]


def test_a_claim_reads_its_own_other_payer_never_an_earlier_claims(tmp_path, own_rules):
    """``2320/SBR01`` from a 2300 rule: the 2320 closed inside this claim; the next claim
    (under a patient level, another 2300 of the map) has none of its own."""
    own_rules(
        '<rule id="TEST-2300-OTHER-PRIMARY" loop="2300" message="CLM05-3 must be 9 here">'
        '<when at="2320/SBR01" in="P"/><must at="CLM05-3" in="9"/></rule>'
    )
    other_payer = (
        "SBR*P*01*******CI",
        "OI***Y*P**Y",
        "NM1*IL*1*OTHER*PAT****MI*OTHER01",
        "NM1*PR*2*OTHER PLAN*****PI*OTHERPAYER1",
    )
    ts = validated(mutate(tmp_path, SAMPLES / S837P, after("HI*ABK:J029", *other_payer)))
    assert [f for f in rule_findings(ts) if f[0].startswith("TEST")] == [
        ("TEST-2300-OTHER-PRIMARY", "I12", 19, "CLM", "2300", 5, 3)
    ]


def test_any_of_holds_when_one_when_does(tmp_path, own_rules):
    own_rules(
        '<rule id="TEST-2300-ANY" loop="2300" message="HI needs a second code for these">'
        '<any><when at="CLM05-1" in="21"/><when at="CLM05-3" in="7"/></any>'
        '<must at="REF[F8]" is="absent"/></rule>'
    )
    for clm, expected in (("11:B:1", []), ("21:B:1", [20]), ("11:B:7", [20])):
        change = both(
            swap("CLM*SAMPLECLM101*185***11:B:1", f"CLM*SAMPLECLM101*185***{clm}"),
            after("CLM*SAMPLECLM101", "REF*F8*PAYERCLM1"),
        )
        ts = validated(mutate(tmp_path, SAMPLES / S837P, change))
        assert [f[2] for f in rule_findings(ts) if f[0] == "TEST-2300-ANY"] == expected, clm


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('<rule id="T-1" loop="2300" message="a must reading another loop">'
         '<must at="2000B/SBR01" is="present"/></rule>', "a must reads the rule's own loop"),
        ('<rule id="T-1" loop="2300" message="unique as a condition">'
         '<when at="CLM01" is="unique"/><must at="CLM02" is="present"/></rule>', "is=unique is a must"),
        ('<rule id="T-1" loop="2300" message="a loop with a value test">'
         '<when at="2320" in="S"/><must at="CLM02" is="present"/></rule>', "2320 is a loop"),
        ('<rule id="T-1" loop="2300" message="differs with a segment">'
         '<must at="CLM01" differs="2010AA/NM1"/></rule>', "differs names an element"),
        ('<rule id="T-1" loop="2300" message="any with one when">'
         '<any><when at="CLM01" is="present"/></any><must at="CLM02" is="present"/></rule>', "any"),
    ],
    ids=["foreign-must", "unique-when", "loop-value", "differs-segment", "any-of-one"],
)  # fmt: skip
def test_the_new_language_errors_name_file_and_line(tmp_path, body, words):
    path = write_rules(tmp_path, body)
    with pytest.raises(RuleFileError) as caught:
        load_rule_file(path)
    assert str(caught.value).startswith(f"{path}:3: ") and words in str(caught.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('<rule id="T-1" loop="2300" message="a loop not inside">'
         '<must at="2010AA" is="present"/></rule>', "loop 2010AA is not inside loop 2300"),
        ('<rule id="T-1" loop="2300" message="a segment not of the loop">'
         '<when at="2000B/CLM01" is="present"/><must at="CLM02" is="present"/></rule>',
         "segment CLM is not in loop 2000B"),
        ('<rule id="T-1" loop="2300" message="a loop not in the guide">'
         '<when at="2999Z/NM101" is="present"/><must at="CLM02" is="present"/></rule>',
         "loop 2999Z is not in"),
    ],
    ids=["child-not-inside", "segment-elsewhere", "unknown-loop"],
)  # fmt: skip
def test_a_reference_the_guide_lacks_is_refused(tmp_path, own_rules, body, words):
    own_rules(body)
    with pytest.raises(RuleFileError) as caught:
        Validator().validate(SAMPLES / S837P)
    assert "test.xml:3: rule T-1: " in str(caught.value) and words in str(caught.value)


# -- a claim's finding rejects that claim only ----------------------------------------


def second_claim(segments: list[str]) -> list[str]:
    """The 837I sample's subscriber level and claim sent twice (HL 3, CLM01 ...002)."""
    start = _index(segments, "HL*2*1*22", 0)
    end = _index(segments, "SE*", 0)
    copy = [
        s.replace("HL*2*1*22", "HL*3*1*22").replace("SAMPLEINP001", "SAMPLEINP002")
        for s in segments[start:end]
    ]
    segments[end:end] = copy
    return segments


@pytest.mark.parametrize(
    ("file", "change", "rule", "claim"),
    [
        (S837P, swap("SBR*P**SAMPLEGRP02", "SBR*T**SAMPLEGRP02"), "837P-2300-2320-SECONDARY", 1),
        (S837I, both(second_claim, swap("CLM*SAMPLEINP002*3570***11:A:1", "CLM*SAMPLEINP002*3570***11:A:8")), "837I-2300-CLM05-3-REF-F8", 1),
        (S837D, swap("NM1*82*1*SAMPLEDENTIST*ALEX****XX*1987654328", "NM1*82*1*SAMPLEDENTIST*ALEX****XX*1234567893"), "837D-2310B-SAME-AS-2010AA", 0),
        (S837P, cut("DMG*D8*19800101"), "837P-2010BA-DMG-SUBSCRIBER-PATIENT", 0),
    ],
    ids=["837p-2320-dependent", "837i-void-second", "837d-rendering", "837p-subscriber-dmg"],
)  # fmt: skip
def test_only_the_claim_of_the_finding_is_rejected(tmp_path, file, change, rule, claim):
    result = Validator().validate(mutate(tmp_path, source(file), change))
    (group,) = [g for ic in result.interchanges for g in ic.groups]
    (ts,) = group.transactions
    assert ts.ack_code == "E"  # SNIP 4: noted in the 999, the set accepted
    split_by_claim(group)
    found = claim_findings(ts, ts.claims, {})
    assert list(found) == [ts.claims[claim]]
    (finding,) = found[ts.claims[claim]]
    # an "only when it differs" rule is a warning of its own (severity="warn"): the claim
    # loses nothing; the partner may make it reject by the rule's id, and the others warn
    own = "warn" if "SAME-AS" in rule else "reject"
    assert (finding.edit, rejected([finding])) == (rule, own == "reject")
    assert len(ts.claims) == (1 if file == S837D else 2)
    other = claim_findings(ts, ts.claims, {rule: "reject" if own == "warn" else "warn"})
    assert rejected(other[ts.claims[claim]]) == (own == "warn")
    if own == "warn":  # the partner's SNIP type key is above the rule's own severity
        assert rejected(claim_findings(ts, ts.claims, {"snip4": "reject"})[ts.claims[claim]])
