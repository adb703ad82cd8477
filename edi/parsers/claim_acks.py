"""277CA claim acknowledgments (005010X214) made from per-claim answers, as X12 text.

A pure text builder beside :mod:`edi.parsers.acks` (TA1, 999), sharing its envelope, its
delimiters and its discipline: nothing is copied from the 837 that does not fit the 277
element it goes to. :func:`ack277` answers one 837 transaction set with one interchange
(ISA, GS ``HN``, one ST 277 ``005010X214``, GE, IEA), laid out as pyx12's X214 map states:

* 2000A information source (HL 20): NM1*PR, name and id of the 837's receiver (1000B);
  TRN*1 our reference (the BHT03 of the 277, our ISA13); DTP*050 the date the 837 was
  received, DTP*009 the date it was processed;
* 2000B information receiver (HL 21): NM1*41, the 837's submitter (1000A); TRN*2 the 837's
  BHT03 (else its ST02); STC*A1:19:PR (the payer acknowledges receipt) with STC03 ``WQ``
  when some claim is accepted, ``U`` when none is, and STC04 the total charge of the set;
  QTY*90/AMT*YU (accepted) and QTY*AA/AMT*YY (rejected), each written only when non-zero;
* 2000C billing provider (HL 19), one for each run of consecutive claims of one provider:
  NM1*85 with its NPI (XX), else its tax id (FI); TRN*1 the 837's BHT03 again (X12 RFI 960
  advises the request's reference at this level too); STC*A1:19:PR (STC02 not used) and
  QTY*QA/QC, AMT*YU/YY over its claims;
* 2000D patient (HL PT), one per claim: NM1*QC with the patient's name, else the
  subscriber's, and the patient's id, else the subscriber's member id (a 5010 837 has no
  patient id: a dependent is known by the subscriber's); then 2200D:
  TRN*2 the patient control number (CLM01); STC; REF*1K the payer claim control number we
  give an accepted claim; REF*D9 the clearinghouse trace; REF*BLT (837I) facility code and
  frequency; DTP*472 the claim's service dates, else its statement dates, else its lines'
  first and last; a claim with none at all (only a rejected claim can lack them) carries
  the date the 837 was received, the segment being required;
* 2220D service line, only for a rejected claim's edit that names a line (LX01): SVC with
  the line's procedure (or NU and its revenue code), charge, revenue code and units; STC
  (one a loop: up to three edits in STC01, STC10, STC11, a new loop for more), REF*FJ its
  line item control number and DTP*472 its dates.

Status codes (STC01, external code lists 507 and 508, ``maps/codes/claim-status*.tsv``):

* an accepted claim: ``A2:20`` (accepted into the adjudication system; accepted for
  processing) with action ``WQ``. ``A1:19:PR`` (received by the payer) is what the receiver
  and provider levels say; at the claim level pyx12's map does not allow entity ``PR``
  (STC01-3), so the claim says what became of it instead. A warning on an accepted claim
  follows as another claim STC (``WQ``), a line's too: a line STC's action can only be
  ``U``;
* a rejected claim: one STC per claim edit, its category, status and entity
  (:class:`ClaimEdit`) with action ``U`` and STC04 the claim's total charge (STC05, the
  payment, is not used in a 277CA), STC12 the edit's message; a claim rejected for line
  edits only says ``A3:21`` (returned as unprocessable; missing or invalid information) and
  the lines say what.

An entity code the level does not allow (STC01-3) is left out rather than written. Amounts
are written as X12 R: ``100``, ``89.95``, ``13.5``.

Echoed values (names, ids, references) are folded to ASCII, and any character that is not
printable or is one of our delimiters (``*``, ``:``, ``^``, ``~``: the 837 may have used
others) becomes a space; spaces are collapsed and the value is cut to its element's
length. A situational value that is then empty is left out; a required one raises
``ValueError`` naming the element, never the value, which is PHI.
"""

from __future__ import annotations

import calendar
import functools
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from edi.parsers.acks import (
    COMPONENT,
    DELIMITERS,
    TERMINATOR,
    _an,
    _date_time,
    _digits,
    _group_control,
    _isa,
    _segment,
)
from edi.parsers.results import GroupResult, InterchangeResult, TransactionResult
from edi.records.base import Organization, Party
from edi.records.claims import Claim, ClaimHeader, ServiceLine

VERSION_277CA = "005010X214"
CLAIM_GROUP = "HN"  # GS01 of a 277
SET_CONTROL = "0001"
#: STC03: the claim (or unit of work) is accepted, or rejected
ACCEPT, REJECT = "WQ", "U"
#: STC01 of the receiver and provider levels: acknowledgment of receipt, by the payer
RECEIVED = ("A1", "19", "PR")
#: STC01 of an accepted claim: accepted into the adjudication system, for processing
ACCEPTED = ("A2", "20", "")
#: STC01 of a claim rejected for its lines' edits only
RETURNED = ("A3", "21", "")
#: STC01-3 codes pyx12's X214 map allows, by level (2200B, 2200C, 2200D and 2220D)
RECEIVER_ENTITIES = frozenset({"36", "40", "41", "AY", "PR"})
PROVIDER_ENTITIES = frozenset({"36", "40", "41", "77", "82", "85", "87", "AY", "PR"})
CLAIM_ENTITIES = frozenset(
    [
        "03",
        "1P",
        "1Z",
        "40",
        "41",
        "71",
        "72",
        "73",
        "77",
        "82",
        "85",
        "87",
        "DK",
        "DN",
        "DQ",
        "FA",
        "GB",
        "HK",
        "IL",
        "LI",
        "MSC",
        "PR",
        "PRP",
        "QB",
        "QC",
        "QD",
        "SEP",
        "TL",
        "TTP",
        "TU",
    ]
)
#: NM108 codes allowed: information source (2100A), patient (2100D), billing provider (2100C)
SOURCE_ID_QUALIFIERS = frozenset({"46", "FI", "PI", "XV"})
PATIENT_ID_QUALIFIERS = frozenset({"II", "MI"})
PROVIDER_ID_QUALIFIERS = frozenset({"FI", "SV", "XX"})
#: SVC01-1 codes allowed (2220D)
SERVICE_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "NU", "WK"})
REVENUE_QUALIFIER = "NU"
#: statuses in one line STC: STC01, STC10 and STC11
STATUSES_PER_LINE_STC = 3
#: STC10 is the tenth element: STC05-STC09 stay empty before it (not used in a 277CA)
_UNUSED_STC05_TO_STC09 = ("",) * 5
MAX_R_DIGITS = {"STC04": 18, "AMT02": 18, "SVC02": 18, "QTY02": 15, "SVC07": 15}


@dataclass(frozen=True, slots=True)
class ClaimEdit:
    """One finding about a claim (or one of its lines), as the 277CA reports it."""

    category: str  # STC01-1, claim status category code (A3, A6, A7, A8 ...)
    status: str  # STC01-2, claim status code
    entity: str = ""  # STC01-3, entity identifier code ("" when none)
    message: str = ""  # what the edit found: codes and positions only, never PHI
    line: int | None = None  # the service line (LX01) when the edit is at a line


@dataclass(frozen=True, slots=True)
class ClaimAnswer:
    """One claim of an 837 set with its verdict: what its 2200D loop says."""

    claim: Claim
    lines: tuple[ServiceLine, ...]
    edits: tuple[ClaimEdit, ...] = ()
    rejected: bool = False
    payer_claim_control: str = ""  # REF*1K for an accepted claim; "" none


def _plain(value: str) -> bool:
    """Whether a non-empty ``value`` fits as it is: printable ASCII, none of our
    delimiters, no space at either end nor two together (string methods: a regular
    expression over the same took most of the time of making a claim's facts)."""
    if not (value.isascii() and value.isprintable()):
        return False
    for delimiter in DELIMITERS:
        if delimiter in value:
            return False
    return value[0] != " " and value[-1] != " " and "  " not in value


# -- values ---------------------------------------------------------------------------------
def _fit(value: str | None, high: int) -> str:
    """``value`` made fit for an AN element of up to ``high`` characters ("" when nothing is
    left): ASCII, printable, none of our delimiters, single spaces, cut to ``high``."""
    if not value:
        return ""
    if len(value) <= high and _plain(value):
        return value  # the usual value: nothing to change
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    text = "".join(ch if ch.isprintable() and ch not in DELIMITERS else " " for ch in text)
    return " ".join(text.split())[:high].rstrip()


def _required(value: str | None, low: int, high: int, element: str) -> str:
    """A required echoed value made to fit; ``ValueError`` naming ``element`` otherwise."""
    fitted = _fit(value, high)
    if len(fitted) < low:
        raise ValueError(f"{element} cannot be written: the 837 gives no value that fits")
    return fitted


def _code(value: str, low: int, high: int, element: str) -> str:
    """A code of ours (not echoed): written as given, or ``ValueError`` naming it."""
    if _an(value, low, high) is None:
        raise ValueError(f"{element} is not a code of {low}-{high} printable characters")
    return value


def amount(value: Decimal, element: str = "AMT02") -> str:
    """``value`` as an X12 R element: no exponent, no trailing zeros (``100``, ``89.95``)."""
    if not value.is_finite():
        raise ValueError(f"{element} is not a finite amount")
    text = f"{value.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    digits = len(text) - text.count(".") - text.count("-")  # the rest are digits
    if digits > MAX_R_DIGITS.get(element, 18):
        raise ValueError(f"{element} has more digits than the element holds")
    return text


#: record date -> CCYYMMDD ("" not a date), up to _DATES_KEPT of them
_DATES: dict[str, str] = {}
_DATES_KEPT = 4096
#: the most days of each month (February's 29th is checked against the year)
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _date(value: str | None) -> str:
    """A record date (CCYY-MM-DD or CCYYMMDD) as CCYYMMDD, "" when it is not a date (the
    few dates of a file again and again: remembered)."""
    if not value:
        return ""
    known = _DATES.get(value)
    if known is not None:
        return known
    if len(_DATES) >= _DATES_KEPT:
        _DATES.clear()
    known = _DATES[value] = _checked_date(value)
    return known


def _checked_date(value: str) -> str:
    text = value.replace("-", "")
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        return ""
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    if not (1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month]):
        return ""
    if month == 2 and day == 29 and not calendar.isleap(year or 1):
        return ""
    return text


def _period(start: str | None, end: str | None) -> tuple[str, str] | None:
    """(DTP02, DTP03) for a date or a span, None when ``start`` is no date."""
    first, last = _date(start), _date(end)
    if not first:
        return None
    if not last or last == first:
        return "D8", first
    return "RD8", f"{first}-{last}" if first <= last else f"{last}-{first}"


def _claim_period(values: ClaimValues) -> tuple[str, str] | None:
    """DTP*472: the claim's service dates, else its statement dates, else the first and
    last of its lines' dates; None when it has none."""
    for start, end in ((values[9], values[10]), (values[11], values[12])):
        if start:
            found = _period(start, end)
            if found is not None:
                return found
    return _period(values[13], values[14])


def _charge(claim: Claim, lines: Sequence[ServiceLine]) -> Decimal:
    """The claim's total charge (CLM02), else the sum of its lines' charges."""
    if claim.total_charge is not None:
        return claim.total_charge
    return sum((line.charge or Decimal(0) for line in lines), Decimal(0))


@functools.lru_cache(maxsize=1024)
def _status(category: str, status: str, entity: str, allowed: frozenset[str]) -> str:
    """An STC01 (STC10, STC11) composite; an entity the level does not allow is left out
    (the same few composites again and again: remembered)."""
    parts = [_code(category, 1, 30, "STC01-1"), _code(status, 1, 30, "STC01-2")]
    if entity in allowed:
        parts.append(entity)
    return COMPONENT.join(parts)


# -- parties --------------------------------------------------------------------------------
#: a party as the 277CA needs it, plain values only (see :func:`party_values`)
PartyValues = tuple[
    str | None,  # entity type (NM102): "1" a person
    str | None,  # last or organization name
    str | None,  # first name
    str | None,  # middle name
    str | None,  # suffix
    str | None,  # id qualifier (NM108)
    str | None,  # id (NM109)
    str | None,  # NPI
    str | None,  # tax id
]


def party_values(party: Party | None) -> PartyValues | None:
    """What of ``party`` a 277CA may name, as plain values."""
    if party is None:
        return None
    npi = party.npi if isinstance(party, Organization) else None
    tax_id = party.tax_id if isinstance(party, Organization) else None
    return (
        party.entity_type,
        party.last_name,
        party.first_name,
        party.middle_name,
        party.suffix,
        party.id_qualifier,
        party.id,
        npi,
        tax_id,
    )


def _name(party: PartyValues, element: str, person: bool) -> list[str]:
    """NM103-NM107: the last (or organization) name, and a person's other names."""
    last = _required(party[1], 1, 60, element)
    if not person:
        return [last, "", "", "", ""]
    return [last, _fit(party[2], 35), _fit(party[3], 25), "", _fit(party[4], 10)]


def _source(receiver: PartyValues | None) -> str:
    """2100A: the payer, as the 837 named its receiver (1000B)."""
    if receiver is None:
        raise ValueError("2100A NM1 cannot be written: the 837 names no receiver")
    qualifier = receiver[5] if receiver[5] in SOURCE_ID_QUALIFIERS else "46"
    ident = _required(receiver[6], 2, 80, "2100A NM109")
    name = _required(receiver[1], 1, 60, "2100A NM103")
    return _segment("NM1", "PR", "2", name, "", "", "", "", qualifier or "46", ident)


def _receiver(submitter: PartyValues | None) -> str:
    """2100B: the information receiver, the 837's submitter (1000A)."""
    if submitter is None:
        raise ValueError("2100B NM1 cannot be written: the 837 names no submitter")
    person = submitter[0] == "1"
    names = _name(submitter, "2100B NM103", person)
    names[3] = names[4] = ""  # NM106, NM107 not used
    ident = _required(submitter[6], 2, 80, "2100B NM109")
    return _segment("NM1", "41", "1" if person else "2", *names, "46", ident)


def _provider(provider: PartyValues | None) -> str:
    """2100C: the billing provider, by NPI (XX), else tax id (FI), else its own id."""
    if provider is None:
        raise ValueError("2100C NM1 cannot be written: the claim names no billing provider")
    person = provider[0] == "1"
    names = _name(provider, "2100C NM103", person)
    qualifier, ident = "", ""
    for candidate, value in (
        ("XX", provider[7]),
        ("FI", provider[8]),
        (provider[5] or "", provider[6]),
    ):
        ident = _fit(value, 80)
        if candidate in PROVIDER_ID_QUALIFIERS and len(ident) >= 2:
            qualifier = candidate
            break
    if not qualifier:
        raise ValueError("2100C NM109 cannot be written: the claim gives no provider id that fits")
    return _segment("NM1", "85", "1" if person else "2", *names, qualifier, ident)


def _patient(person: PartyValues | None, subscriber: PartyValues | None) -> str:
    """2100D: the patient's name, and the patient's id else the subscriber's member id."""
    if person is None:
        person = subscriber
    if person is None:
        raise ValueError("2100D NM1 cannot be written: the claim names no patient")
    names = _name(person, "2100D NM103", True)
    holder = person if _fit(person[6], 80) else subscriber
    if holder is None:
        raise ValueError("2100D NM109 cannot be written: the claim gives no member id")
    ident = _required(holder[6], 2, 80, "2100D NM109")
    qualifier = holder[5] if holder[5] in PATIENT_ID_QUALIFIERS else "MI"
    return _segment("NM1", "QC", "1", *names, qualifier or "MI", ident)


# -- claims ---------------------------------------------------------------------------------
def _claim_stc(status: str, date: str, action: str, charge: str, message: str = "") -> str:
    # STC05-STC11 empty before the message (STC12)
    tail = (*_UNUSED_STC05_TO_STC09, "", "", message) if message else ()
    return _segment("STC", status, date, action, charge, *tail)


def _service(line: LineFacts) -> str | None:
    """SVC01-SVC07 of a line (837P/I/D), or None when it names no procedure or revenue."""
    code = _fit(line.code, 48)
    qualifier = line.qualifier
    revenue = _fit(line.revenue, 48)
    if code and qualifier in SERVICE_QUALIFIERS:
        modifiers = [m for m in (_fit(m, 2) for m in line.modifiers) if len(m) == 2][:4]
        procedure = COMPONENT.join([qualifier, code, *modifiers])
    elif revenue:
        procedure = COMPONENT.join([REVENUE_QUALIFIER, revenue])
        revenue = ""
    else:
        return None
    charge = amount(Decimal(line.charge or "0"), "SVC02")
    units = amount(Decimal(line.units), "SVC07") if line.units else ""
    return _segment("SVC", procedure, charge, "", revenue, "", "", units)


def _line_loops(line: LineFacts, edits: Sequence[ClaimEdit], date: str) -> list[str] | None:
    """2220D loops for the edits of one line (three statuses a loop), None if no SVC fits."""
    svc = _service(line)
    if svc is None:
        return None
    out: list[str] = []
    control = _fit(line.control, 50)
    period = _period(line.start, line.end)
    for at in range(0, len(edits), STATUSES_PER_LINE_STC):
        chunk = [
            _status(e.category, e.status, e.entity, CLAIM_ENTITIES)
            for e in edits[at : at + STATUSES_PER_LINE_STC]
        ]
        extra = (*_UNUSED_STC05_TO_STC09, *chunk[1:]) if len(chunk) > 1 else ()
        out.append(svc)
        out.append(_segment("STC", chunk[0], date, REJECT, "", *extra))
        if control:
            out.append(_segment("REF", "FJ", control))
        if period is not None:
            out.append(_segment("DTP", "472", *period))
    return out


def _claim(
    facts: ClaimFacts,
    rejected: bool,
    edits: Sequence[ClaimEdit],
    by_number: Mapping[int, LineFacts],
    date: str,
    received: str,
) -> list[str]:
    """Loop 2200D (and its 2220D loops, of the lines in ``by_number``) for one claim."""
    charge = facts.charge
    out = [facts.trn]
    claim_edits: list[ClaimEdit] = []
    line_edits: dict[int, list[ClaimEdit]] = {}
    for edit in edits:
        if rejected and edit.line is not None and edit.line in by_number:
            line_edits.setdefault(edit.line, []).append(edit)
        else:
            claim_edits.append(edit)
    lines: list[str] = []
    for number, found in line_edits.items():
        loops = _line_loops(by_number[number], found, date)
        if loops is None:
            claim_edits.extend(found)  # no SVC can name the line: said at the claim
        else:
            lines.extend(loops)
    if rejected:
        if not claim_edits:
            out.append(_claim_stc(_status(*RETURNED, CLAIM_ENTITIES), date, REJECT, charge))
        for edit in claim_edits:
            status = _status(edit.category, edit.status, edit.entity, CLAIM_ENTITIES)
            out.append(_claim_stc(status, date, REJECT, charge, _fit(edit.message, 264)))
    else:
        out.append(_claim_stc(_status(*ACCEPTED, CLAIM_ENTITIES), date, ACCEPT, charge))
        for edit in claim_edits:
            status = _status(edit.category, edit.status, edit.entity, CLAIM_ENTITIES)
            out.append(_claim_stc(status, date, ACCEPT, charge, _fit(edit.message, 264)))
        control = _fit(facts.claim_id, 50)
        if control:
            out.append(_segment("REF", "1K", control))
    out.append(facts.refs)
    out.append(_segment("DTP", "472", *(facts.dates or ("D8", received))))
    out.extend(lines)
    return out


# -- what a claim's answer says whatever its verdict ---------------------------------------
@dataclass(frozen=True, slots=True)
class LineFacts:
    """A service line as a 2220D may name it: its values as text."""

    ordinal: int
    number: int | None
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    revenue: str
    charge: str
    units: str
    control: str
    start: str
    end: str


class ClaimFacts(NamedTuple):
    """One claim's 2000C/2000D/2200D parts that do not depend on its verdict, as text.

    Made from the claim's values (:func:`claim_values`, taken where its record is: in a
    record worker too) by :func:`claim_facts_of`, so the answer is assembled later from
    text and verdicts alone (:func:`assemble`)."""

    ordinal: int
    claim_id: str  # REF*1K of the claim when accepted ("" none)
    provider: str  # the 2100C NM1 segment
    patient: str  # the 2100D NM1 segment
    trn: str  # the 2200D TRN segment
    charge: str  # STC04 (the claim's total charge, else its lines')
    refs: str  # REF*D9 and REF*BLT segments
    dates: tuple[str, str] | None  # DTP*472 (D8 or RD8, value); None: the received date


#: claims whose loops :func:`assemble` joins into one string at a time
CHUNK_CLAIMS = 1000
#: between the parts of a packed claim's facts (no text of a 277CA holds a control character)
_PART = "\x1d"
_VALUE = "\x1f"


def pack(facts: ClaimFacts, date: str = "", received: str = "") -> str:
    """A claim's facts as one string (:func:`unpack`): a file's claims wait for their
    verdicts as strings, which take a third of the memory of the tuples and lists and are
    nothing the cyclic garbage collector walks. With the answer's ``date`` and ``received``
    (CCYYMMDD), also the claim's answer when it is accepted without edits, made now: the
    most claims' answer, which :func:`assemble` then only copies."""
    dates = facts.dates
    parts = [
        str(facts.ordinal),
        facts.claim_id,
        facts.provider,
        facts.patient,
        facts.trn,
        facts.charge,
        facts.refs,
        "" if dates is None else dates[0] + _VALUE + dates[1],
    ]
    if date:
        tail = "".join((facts.patient, *_claim(facts, False, (), {}, date, received)))
        parts.append(date + _VALUE + received + _VALUE + tail)
    return _PART.join(parts)


def unpack(packed: str) -> ClaimFacts:
    """The facts :func:`pack` made one string."""
    return _facts(packed.split(_PART))


def _facts(parts: list[str]) -> ClaimFacts:
    """The facts of a packed claim split in its parts (a ready answer, 9th, left out)."""
    ordinal, claim_id, provider, patient, trn, charge, refs, dates = parts[:8]
    period: tuple[str, str] | None = None
    if dates:
        kind, value = dates.split(_VALUE)
        period = (kind, value)
    return ClaimFacts(int(ordinal), claim_id, provider, patient, trn, charge, refs, period)


@dataclass(frozen=True, slots=True)
class SetFacts:
    """An 837 set's claims as facts (each :func:`pack`-ed), with the 2100A/2100B parts
    and the batch (BHT03)."""

    source: str  # the 2100A NM1 segment
    receiver: str  # the 2100B NM1 segment
    batch: str  # the 837's BHT03 (2200B TRN02), "" when it has none that fits
    #: in file order; read twice by :func:`assemble` (a tuple, or claims kept on disk)
    claims: Collection[str]


def line_facts(line: ServiceLine) -> LineFacts:
    """A service line's facts (its values as they are: fitted when a 2220D is written)."""
    return LineFacts(
        line.ordinal,
        line.line_number,
        line.procedure_qualifier or "",
        line.procedure_code or "",
        tuple(line.modifiers),
        line.revenue_code or "",
        "" if line.charge is None else str(line.charge),
        "" if line.units is None else str(line.units),
        line.line_control_number or "",
        line.service_date_from or "",
        line.service_date_to or "",
    )


#: a claim as its facts need it, plain values only (marshal carries them between
#: processes): see :func:`claim_values`
ClaimValues = tuple[
    int,  # 0 the CLM's ordinal
    str,  # 1 REF*1K: the claim's id
    str | None,  # 2 clearinghouse trace (REF*D9)
    str | None,  # 3 institutional bill type (REF*BLT), None for a professional or dental claim
    PartyValues | None,  # 4 billing provider
    PartyValues | None,  # 5 patient
    PartyValues | None,  # 6 subscriber
    str | None,  # 7 patient control number (CLM01)
    str,  # 8 total charge (CLM02, else the sum of the lines')
    str | None,  # 9-10 service dates
    str | None,
    str | None,  # 11-12 statement dates
    str | None,
    str | None,  # 13-14 the first and the last of its lines' dates
    str | None,
]
#: an 837 set's header as its facts need it: receiver (1000B), submitter (1000A), BHT03, ST02
HeaderValues = tuple[PartyValues | None, PartyValues | None, str | None, str]


def claim_values(
    claim: Claim, lines: Sequence[ServiceLine] | None = None, claim_id: str = ""
) -> ClaimValues:
    """What of ``claim`` its 277CA facts are made of (cheap: the making,
    :func:`claim_facts_of`, may happen in another process). Its lines' first and last
    dates, and its charge when it has no total, come from ``lines`` when given, else from
    what the claim took of its lines as they closed (``Claim.lines_date_from``/``_to``)."""
    first, last = claim.lines_date_from, claim.lines_date_to
    if lines is not None:
        dates = [d for line in lines for d in (line.service_date_from, line.service_date_to) if d]
        first, last = (min(dates), max(dates)) if dates else (None, None)
    institutional = claim.facility_code_qualifier == "A" or (
        claim.source is not None and claim.source.kind == "837I"
    )
    return (
        claim.ordinal,
        claim_id,
        claim.clearinghouse_trace,
        (claim.facility_code or "") + (claim.frequency_code or "") if institutional else None,
        party_values(claim.billing_provider),
        party_values(claim.patient),
        party_values(claim.subscriber),
        claim.patient_control_number,
        str(_charge(claim, lines or ())),
        claim.service_date_from,
        claim.service_date_to,
        claim.statement_date_from,
        claim.statement_date_to,
        first,
        last,
    )


def header_values(header: ClaimHeader | None, control: str) -> HeaderValues:
    """What of an 837 set's header (``control``: its ST02) its 277CA facts are made of."""
    if header is None:
        return (None, None, None, control)
    return (
        party_values(header.receiver),
        party_values(header.submitter),
        header.reference,
        control,
    )


def claim_facts_of(
    values: ClaimValues, providers: dict[PartyValues | None, str] | None = None
) -> ClaimFacts:
    """One claim's facts (see :class:`ClaimFacts`) from its values; ``ValueError`` naming
    the element when a required value cannot be written. ``providers`` remembers the
    2100C segments made (the claims of a file share a few billing providers)."""
    refs = []
    trace = _fit(values[2], 50)
    if trace:
        refs.append(_segment("REF", "D9", trace))
    bill_type = _fit(values[3], 50)
    if bill_type:
        refs.append(_segment("REF", "BLT", bill_type))
    provider = values[4]
    segment = None if providers is None else providers.get(provider)
    if segment is None:
        segment = _provider(provider)
        if providers is not None:
            providers[provider] = segment
    return ClaimFacts(
        values[0],
        values[1],
        segment,
        _patient(values[5], values[6]),
        _segment("TRN", "2", _required(values[7], 1, 50, "2200D TRN02")),
        amount(Decimal(values[8]), "STC04"),
        "".join(refs),
        _claim_period(values),
    )


def claim_facts(claim: Claim, lines: Sequence[ServiceLine], claim_id: str = "") -> ClaimFacts:
    """One claim's facts, from its record and its lines' (:func:`claim_facts_of`)."""
    return claim_facts_of(claim_values(claim, lines, claim_id))


def set_facts(header: HeaderValues, claims: Collection[str]) -> SetFacts:
    """An 837 set's facts: its claims', and the receiver and submitter its header names
    (its ST02 is the batch when BHT03 is missing)."""
    receiver, submitter, reference, control = header
    batch = _fit(reference, 50) or _fit(control, 50)
    kept = tuple(claims) if isinstance(claims, list) else claims
    return SetFacts(_source(receiver), _receiver(submitter), batch, kept)


# -- totals ---------------------------------------------------------------------------------
@dataclass(slots=True)
class _Totals:
    accepted: int = 0
    rejected: int = 0
    accepted_amount: Decimal = Decimal(0)
    rejected_amount: Decimal = Decimal(0)

    def add(self, charge: str, rejected: bool) -> None:
        if rejected:
            self.rejected += 1
            self.rejected_amount += Decimal(charge)
        else:
            self.accepted += 1
            self.accepted_amount += Decimal(charge)

    def segments(self, accepted_qty: str, rejected_qty: str) -> list[str]:
        """QTY (accepted, rejected) and AMT*YU/YY, each only when there is one such claim."""
        out: list[str] = []
        if self.accepted:
            out.append(_segment("QTY", accepted_qty, amount(Decimal(self.accepted), "QTY02")))
        if self.rejected:
            out.append(_segment("QTY", rejected_qty, amount(Decimal(self.rejected), "QTY02")))
        if self.accepted:
            out.append(_segment("AMT", "YU", amount(self.accepted_amount)))
        if self.rejected:
            out.append(_segment("AMT", "YY", amount(self.rejected_amount)))
        return out

    @property
    def action(self) -> str:
        return ACCEPT if self.accepted else REJECT

    @property
    def charge(self) -> str:
        return amount(self.accepted_amount + self.rejected_amount, "STC04")


# -- the 277CA ------------------------------------------------------------------------------
#: a claim's verdict: rejected or not, its edits, and the lines its edits name (LX01 ->
#: the line's facts, for their 2220D loops)
Verdict = tuple[bool, Sequence[ClaimEdit], Mapping[int, LineFacts]]
ACCEPTED_CLEAN: Verdict = (False, (), {})


def ack277(
    ic: InterchangeResult,
    group: GroupResult,
    ts: TransactionResult,
    answers: Sequence[ClaimAnswer],
    *,
    interchange_control: str,
    group_control: str,
    date: str,
    time: str,
    received: str,
    sender: tuple[str, str] | None = None,
) -> str:
    """A whole interchange carrying one 005010X214 277CA answering the 837 set ``ts``.

    ``answers`` are its claims in file order, each accepted or rejected with its edits;
    ``interchange_control`` is our ISA13 (and the 277's own reference, BHT03), ``group_control``
    our GS06; ``date`` CCYYMMDD (or YYMMDD) and ``time`` HHMM[SS] when it was processed;
    ``received`` the CCYYMMDD the 837 was received; ``sender`` our ISA05/ISA06 as in
    :func:`edi.parsers.acks.ack999`. Raises ValueError, naming the element only, when a
    required value cannot be written.
    """
    if not answers:
        raise ValueError("answers: a 277CA answers at least one claim")
    claims = [pack(claim_facts(a.claim, a.lines, a.payer_claim_control)) for a in answers]
    facts = set_facts(header_values(answers[0].claim.header, ts.control), claims)
    verdicts: dict[int, Verdict] = {
        a.claim.ordinal: (
            a.rejected,
            a.edits,
            {n: line_facts(line) for line in a.lines if (n := line.line_number) is not None},
        )
        for a in answers
    }
    return assemble(
        ic,
        group,
        facts,
        verdicts,
        interchange_control=interchange_control,
        group_control=group_control,
        date=date,
        time=time,
        received=received,
        sender=sender,
    )


def assemble(
    ic: InterchangeResult,
    group: GroupResult,
    facts: SetFacts,
    verdicts: Mapping[int, Verdict],
    *,
    interchange_control: str,
    group_control: str,
    date: str,
    time: str,
    received: str,
    sender: tuple[str, str] | None = None,
) -> str:
    """The 277CA of :func:`ack277` from a set's facts and its claims' verdicts (by the
    claim's ordinal; a claim not named is accepted without edits)."""
    if not facts.claims:
        raise ValueError("answers: a 277CA answers at least one claim")
    control = _digits(interchange_control, 9, "interchange_control")
    gs06 = _group_control(group_control)
    long_date, short_date, hhmm = _date_time(date, time)
    received_date = _date(received)
    if not received_date:
        raise ValueError("received must be a CCYYMMDD date")
    if _an(group.sender, 2, 15) is None or _an(group.receiver, 2, 15) is None:
        raise ValueError("GS02 or GS03 is not 2-15 printable ASCII characters")
    batch = facts.batch
    if not batch:
        raise ValueError("2200B TRN02 cannot be written: the 837 has no BHT03 or ST02 that fits")
    # two passes over the packed claims, none of them split for longer than its turn:
    # the totals first (the set's, and each run's of one billing provider: 2000B and 2000C
    # come before their claims), then the claims' loops, joined a run of CHUNK_CLAIMS at a
    # time
    totals = _Totals()
    runs: list[_Totals] = []
    last: str | None = None
    for packed in facts.claims:
        parts = packed.split(_PART, 6)
        verdict = verdicts.get(int(parts[0]))
        rejected = verdict is not None and verdict[0]
        totals.add(parts[5], rejected)
        if not runs or parts[2] != last:
            runs.append(_Totals())
            last = parts[2]
        runs[-1].add(parts[5], rejected)
    #: the start of an answer made in advance (:func:`pack`) this answer can copy
    ready = long_date + _VALUE + received_date + _VALUE

    head: list[str] = [
        _segment("ST", "277", SET_CONTROL, VERSION_277CA),
        _segment("BHT", "0085", "08", control, long_date, hhmm, "TH"),
        _segment("HL", "1", "", "20", "1"),
        facts.source,
        _segment("TRN", "1", control),
        _segment("DTP", "050", "D8", received_date),
        _segment("DTP", "009", "D8", long_date),
        _segment("HL", "2", "1", "21", "1"),
        facts.receiver,
        _segment("TRN", "2", batch),
        _segment(
            "STC",
            _status(*RECEIVED, RECEIVER_ENTITIES),
            long_date,
            totals.action,
            totals.charge,
        ),
        *totals.segments("90", "AA"),
    ]
    chunks = ["".join(head)]
    segments = chunks[0].count(TERMINATOR)
    body: list[str] = []
    hl = 2
    run = -1
    parent = ""
    last = None
    for count, packed in enumerate(facts.claims, 1):
        parts = packed.split(_PART)
        if run < 0 or parts[2] != last:
            run += 1
            last = parts[2]
            provider = runs[run]
            hl += 1
            parent = str(hl)
            body.append(_segment("HL", parent, "2", "19", "1"))
            body.append(parts[2])
            body.append(_segment("TRN", "1", batch))
            body.append(
                _segment(
                    "STC",
                    _status(*RECEIVED, PROVIDER_ENTITIES),
                    "",
                    provider.action,
                    provider.charge,
                )
            )
            body.extend(provider.segments("QA", "QC"))
        hl += 1
        verdict = verdicts.get(int(parts[0]))
        body.append(_segment("HL", str(hl), parent, "PT"))
        if verdict is None and len(parts) > 8 and parts[8].startswith(ready):
            body.append(parts[8][len(ready) :])
        else:
            rejected, edits, lines = verdict if verdict is not None else ACCEPTED_CLEAN
            claim = _facts(parts)
            body.append(claim.patient)
            body.extend(_claim(claim, rejected, edits, lines, long_date, received_date))
        if count % CHUNK_CLAIMS == 0:
            chunks.append("".join(body))
            segments += chunks[-1].count(TERMINATOR)
            body.clear()
    if body:
        chunks.append("".join(body))
        segments += chunks[-1].count(TERMINATOR)
        body.clear()
    chunks.append(_segment("SE", str(segments + 1), SET_CONTROL))
    return "".join(
        (
            _isa(ic, control, short_date, hhmm, sender),
            _segment(
                "GS",
                CLAIM_GROUP,
                group.receiver,
                group.sender,
                long_date,
                hhmm,
                gs06,
                "X",
                VERSION_277CA,
            ),
            *chunks,
            _segment("GE", "1", gs06),
            _segment("IEA", "1", control),
        )
    )


__all__ = [
    "ClaimAnswer",
    "ClaimEdit",
    "ClaimFacts",
    "ClaimValues",
    "HeaderValues",
    "LineFacts",
    "PartyValues",
    "SetFacts",
    "ack277",
    "amount",
    "assemble",
    "claim_facts",
    "claim_facts_of",
    "claim_values",
    "header_values",
    "line_facts",
    "pack",
    "party_values",
    "set_facts",
    "unpack",
]
