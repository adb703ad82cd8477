"""277CA (005010X214) answers to corpus 837s: valid by our validator and by pyx12's X214 map,
with the exact statuses, counts and totals; what is echoed is cleaned of our delimiters."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from edi.cli import main
from edi.generate import generate
from edi.parsers import claim_acks
from edi.parsers.claim_acks import ClaimAnswer, ClaimEdit, ack277, amount
from edi.parsers.normalize import Normalizer
from edi.parsers.results import FileResult, GroupResult, InterchangeResult, TransactionResult
from edi.parsers.validate import Validator
from edi.records import Claim, ServiceLine
from tests.conftest import SAMPLES, corpus_path
from tests.pyx12_oracle import pyx12_accepts

DATE, TIME, RECEIVED = "20260105", "1200", "20260104"
P_DEMO = "lfh/demo.837"  # 837P 5010, one claim, a dependent patient, four lines
P_UHIN = "uhin/837.edi"  # 837P 5010, another billing provider
I_TWO = "lfh/two-claims-single-provider.837i"  # 837I 5010, two claims of one provider
#: the only finding our validator has on an answer to the corpus 837Is: the billing
#: provider's NPI as those files give it fails its check digit (the 837 has it too)
NPI_CHECK_DIGIT = ("NM1", "I12")


def _set(path: Path) -> tuple[InterchangeResult, GroupResult, TransactionResult]:
    result = Validator().validate(path)
    ic = result.interchanges[0]
    return ic, ic.groups[0], ic.groups[0].transactions[0]


def _claims(path: Path, kind: str) -> list[tuple[Claim, tuple[ServiceLine, ...]]]:
    """The claims of ``path`` with their service lines, as the normalizer makes them."""
    claims: list[Claim] = []
    lines: dict[int | None, list[ServiceLine]] = {}
    for record in Normalizer(kinds={kind}).records(path):
        if isinstance(record, Claim):
            claims.append(record)
        elif isinstance(record, ServiceLine):
            lines.setdefault(record.parent_ordinal, []).append(record)
    return [(claim, tuple(lines.get(claim.ordinal, ()))) for claim in claims]


def _build(path: Path, answers: list[ClaimAnswer], **kwargs: str) -> str:
    ic, group, ts = _set(path)
    return ack277(
        ic,
        group,
        ts,
        answers,
        interchange_control=kwargs.get("control", "123"),
        group_control="45",
        date=DATE,
        time=TIME,
        received=RECEIVED,
    )


def _segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def _findings(result: FileResult) -> list[tuple[str, str]]:
    return [
        (e.location.segment, e.code)
        for ic in result.interchanges
        for g in ic.groups
        for ts in g.transactions
        for e in ts.errors
    ]


def _check(tmp_path: Path, text: str, allowed: tuple[tuple[str, str], ...] = ()) -> Path:
    """Write ``text`` and assert our validator and pyx12 accept it with no errors."""
    out = tmp_path / "answer.277"
    out.write_text(text)
    result = Validator().validate(out)
    sets = [ts for ic in result.interchanges for g in ic.groups for ts in g.transactions]
    assert [(ts.set_id, ts.reference or ts.version) for ts in sets] == [("277", "005010X214")]
    assert [f for f in _findings(result) if f not in allowed] == []
    assert sets[0].ack_code in ("A", "E")
    ok, errors = pyx12_accepts(out)
    assert ok and errors == [], errors[:3]
    return out


def _loop(segments: list[str], start: str, end: str | None = None) -> list[str]:
    """The segments from the first one starting with ``start`` up to one with ``end``."""
    at = next(i for i, s in enumerate(segments) if s.startswith(start))
    out = [segments[at]]
    for seg in segments[at + 1 :]:
        if end is not None and seg.startswith(end):
            break
        out.append(seg)
    return out


# -- corpus 837s ----------------------------------------------------------------------------
def test_837p_claim_rejected_at_the_claim_and_a_line(tmp_path: Path) -> None:
    path = corpus_path(P_DEMO)
    [(claim, lines)] = _claims(path, "837P")
    answer = ClaimAnswer(
        claim,
        lines,
        (
            ClaimEdit("A7", "21", "85", "NM109 at 2010AA"),
            ClaimEdit("A8", "21", "", "SV101 at 2400", line=2),
        ),
        rejected=True,
    )
    text = _build(path, [answer])
    _check(tmp_path, text)
    segments = _segments(text)
    assert segments[:4] == [
        # the 837's receiver (ISA07/08, GS03) answers its sender
        "ISA*00*          *00*          *30*12345          *30*000000005      "
        "*260105*1200*^*00501*000000123*0*T*:",
        "GS*HN*54321*000000005*20260105*1200*45*X*005010X214",
        "ST*277*0001*005010X214",
        "BHT*0085*08*000000123*20260105*1200*TH",
    ]
    assert _loop(segments, "HL*1*", "HL*3*") == [
        "HL*1**20*1",
        "NM1*PR*2*KEY INSURANCE COMPANY*****46*66783JJT",
        "TRN*1*000000123",
        "DTP*050*D8*20260104",
        "DTP*009*D8*20260105",
        "HL*2*1*21*1",
        "NM1*41*2*PREMIER BILLING SERVICE*****46*TGJ23",
        "TRN*2*244579",
        "STC*A1:19:PR*20260105*U*100",
        "QTY*AA*1",
        "AMT*YY*100",
    ]
    assert _loop(segments, "HL*3*", "SE*") == [
        "HL*3*2*19*1",
        "NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953",
        "TRN*1*244579",
        "STC*A1:19:PR**U*100",
        "QTY*QC*1",
        "AMT*YY*100",
        "HL*4*3*PT",
        # the patient is the subscriber's dependent: his name, her member id
        "NM1*QC*1*SMITH*TED****MI*JS00111223333",
        "TRN*2*26463774",
        "STC*A7:21:85*20260105*U*100********NM109 at 2010AA",
        "REF*D9*17312345600006351",
        # no claim-level dates in this 837P: its lines' first and last
        "DTP*472*RD8*20061003-20061010",
        "SVC*HC:87070*15*****1",
        "STC*A8:21*20260105*U",
        "DTP*472*D8*20061003",
    ]
    assert segments[-3:] == [f"SE*{len(segments) - 4}*0001", "GE*1*45", "IEA*1*000000123"]


def test_837i_claims_one_accepted_one_rejected(tmp_path: Path) -> None:
    path = corpus_path(I_TWO)
    (first, first_lines), (second, second_lines) = _claims(path, "837I")
    answers = [
        ClaimAnswer(first, first_lines, (ClaimEdit("A6", "21", "", line=1),), rejected=True),
        ClaimAnswer(second, second_lines, payer_claim_control="PAYER0000000002"),
    ]
    assert (first.total_charge, second.total_charge) == (Decimal("89.95"), Decimal("50.00"))
    text = _build(path, answers)
    _check(tmp_path, text, allowed=(NPI_CHECK_DIGIT,))
    assert NPI_CHECK_DIGIT in _findings(Validator().validate(path))  # the 837's own finding
    segments = _segments(text)
    assert _loop(segments, "STC*A1:19:PR*", "HL*3*") == [
        "STC*A1:19:PR*20260105*WQ*139.95",
        "QTY*90*1",
        "QTY*AA*1",
        "AMT*YU*50",
        "AMT*YY*89.95",
    ]
    assert _loop(segments, "HL*4*", "SE*") == [
        "HL*4*3*PT",
        "NM1*QC*1*DOE*JON*T***MI*030005074",
        "TRN*2*756048Q",
        # rejected for a line only: the claim says unprocessable, the line says why
        "STC*A3:21*20260105*U*89.95",
        "REF*BLT*131",
        "DTP*472*D8*20050315",  # the statement period
        "SVC*HC:85025*13.39**0305***1",
        "STC*A6:21*20260105*U",
        "DTP*472*D8*20050315",
        "HL*5*3*PT",
        "NM1*QC*1*SMITH*JOE****MI*123405074",
        "TRN*2*756049Q",
        "STC*A2:20*20260105*WQ*50",
        "REF*1K*PAYER0000000002",
        "REF*BLT*131",
        "DTP*472*D8*20050401",
    ]


def test_837d_sample_accepted(tmp_path: Path) -> None:
    """No 837D in the corpus: the synthetic sample (samples/837D-dental-claim.x12)."""
    path = SAMPLES / "837D-dental-claim.x12"
    [(claim, lines)] = _claims(path, "837D")
    edits = (ClaimEdit("A1", "19", "AY", "not at the claim level"),)
    text = _build(path, [ClaimAnswer(claim, lines, edits, payer_claim_control="D1")])
    _check(tmp_path, text)
    assert _loop(_segments(text), "TRN*2*DCLM0001", "SE*") == [
        "TRN*2*DCLM0001",
        "STC*A2:20*20260105*WQ*300",
        # a warning on an accepted claim follows it; AY (clearinghouse) is no 2200D entity in the X214 map
        "STC*A1:19*20260105*WQ*300********not at the claim level",
        "REF*1K*D1",
        "DTP*472*D8*20240110",
    ]


def test_two_billing_providers_get_two_provider_levels(tmp_path: Path) -> None:
    demo = _claims(corpus_path(P_DEMO), "837P")[0]
    uhin = _claims(corpus_path(P_UHIN), "837P")[0]
    answers = [ClaimAnswer(*demo), ClaimAnswer(*demo), ClaimAnswer(*uhin, rejected=True)]
    text = _build(corpus_path(P_DEMO), answers)
    _check(tmp_path, text)
    segments = _segments(text)
    providers = [s for s in segments if s.startswith("NM1*85*")]
    assert providers == [
        "NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953",
        "NM1*85*2*NY UHIN PROVIDER*****XX*1245319599",
    ]
    assert [s for s in segments if s.startswith("HL*")] == [
        "HL*1**20*1",
        "HL*2*1*21*1",
        "HL*3*2*19*1",
        "HL*4*3*PT",
        "HL*5*3*PT",
        "HL*6*2*19*1",
        "HL*7*6*PT",
    ]
    assert [s for s in segments if s.startswith(("QTY*", "AMT*"))] == [
        "QTY*90*2",
        "QTY*AA*1",
        "AMT*YU*200",
        "AMT*YY*2",
        "QTY*QA*2",
        "AMT*YU*200",
        "QTY*QC*1",
        "AMT*YY*2",
    ]
    # a provider met again after another starts a new provider level
    again = _build(corpus_path(P_DEMO), [answers[0], answers[2], answers[1]])
    assert sum(s.startswith("NM1*85*") for s in _segments(again)) == 3


# -- what is echoed -------------------------------------------------------------------------
def _foreign_delimiters(tmp_path: Path) -> Path:
    """demo.837 written with other delimiters (| > { and $), its data holding ours."""
    text = corpus_path(P_DEMO).read_text()
    text = text.translate(str.maketrans({"*": "|", ":": ">", "^": "{", "~": "$"}))
    text = text.replace("CLM|26463774|", "CLM|26*46~37:74^X|")
    text = text.replace("NM1|QC|1|SMITH|TED", "NM1|QC|1|SMITH*JONES|TED~")
    path = tmp_path / "foreign.837"
    path.write_text(text)
    return path


def test_our_delimiters_in_the_data_are_cleaned(tmp_path: Path) -> None:
    path = _foreign_delimiters(tmp_path)
    [(claim, lines)] = _claims(path, "837P")
    assert claim.patient_control_number == "26*46~37:74^X"
    text = _build(path, [ClaimAnswer(claim, lines)])
    _check(tmp_path, text)
    segments = _segments(text)
    assert "TRN*2*26 46 37 74 X" in segments
    assert "NM1*QC*1*SMITH JONES*TED****MI*JS00111223333" in segments


def test_non_ascii_is_folded_and_long_values_cut(tmp_path: Path) -> None:
    path = corpus_path(P_DEMO)
    [(claim, lines)] = _claims(path, "837P")
    claim = copy.deepcopy(claim)
    assert claim.patient is not None
    claim.patient.first_name = "Jos\u00e9\tMar\u00eda"
    claim.patient.last_name = "X" * 70
    claim.clearinghouse_trace = "\u00b5\u00b5"  # nothing of it is ASCII: REF*D9 is left out
    text = _build(path, [ClaimAnswer(claim, lines)])
    _check(tmp_path, text)
    segments = _segments(text)
    assert f"NM1*QC*1*{'X' * 60}*Jose Maria****MI*JS00111223333" in segments
    assert not any(s.startswith("REF*D9") for s in segments)


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (lambda c: setattr(c, "patient_control_number", "*~:^"), "2200D TRN02"),
        (lambda c: setattr(c, "patient_control_number", None), "2200D TRN02"),
        (lambda c: setattr(c.subscriber, "id", "*"), "2100D NM109"),
        (lambda c: setattr(c.patient, "last_name", "~"), "2100D NM103"),
        (lambda c: setattr(c.header.receiver, "id", "^"), "2100A NM109"),
    ],
)
def test_a_required_value_that_cannot_fit_names_the_element_only(change, element) -> None:
    path = corpus_path(P_DEMO)
    [(claim, lines)] = _claims(path, "837P")
    claim = copy.deepcopy(claim)
    change(claim)
    with pytest.raises(ValueError) as caught:
        _build(path, [ClaimAnswer(claim, lines)])
    message = str(caught.value)
    assert message.startswith(element)
    for phi in ("SMITH", "TED", "JS00111223333", "26463774", "*", "~", "^"):
        assert phi not in message


def test_codes_of_ours_are_checked_and_entities_a_level_lacks_left_out() -> None:
    path = corpus_path(P_DEMO)
    [(claim, lines)] = _claims(path, "837P")
    text = _build(path, [ClaimAnswer(claim, lines, (ClaimEdit("A7", "21", "AY"),), True)])
    assert "STC*A7:21*20260105*U*100" in _segments(text)
    text = _build(path, [ClaimAnswer(claim, lines, (ClaimEdit("A7", "21", "IL"),), True)])
    assert "STC*A7:21:IL*20260105*U*100" in _segments(text)  # the subscriber: allowed
    with pytest.raises(ValueError, match="^STC01-1 "):
        _build(path, [ClaimAnswer(claim, lines, (ClaimEdit("A7*", "21"),), True)])
    # an edit naming a line the claim does not have is reported at the claim
    text = _build(path, [ClaimAnswer(claim, lines, (ClaimEdit("A7", "21", line=9),), True)])
    assert "STC*A7:21*20260105*U*100" in _segments(text)
    assert not any(s.startswith("SVC*") for s in _segments(text))


def test_a_claim_without_any_date_carries_the_received_date(tmp_path: Path) -> None:
    path = corpus_path(P_DEMO)
    [(claim, lines)] = _claims(path, "837P")
    bare = [copy.copy(line) for line in lines]
    for line in bare:
        line.service_date_from = line.service_date_to = None
    text = _build(path, [ClaimAnswer(claim, tuple(bare), rejected=True)])
    _check(tmp_path, text)
    assert "DTP*472*D8*20260104" in _segments(text)


@pytest.mark.parametrize(
    ("value", "written"),
    [("100.00", "100"), ("89.950", "89.95"), ("1E+2", "100"), ("-0.00", "0"), ("0.5", "0.5")],
)
def test_amounts_are_written_as_x12_r(value: str, written: str) -> None:
    assert amount(Decimal(value)) == written


@given(st.text(max_size=30) | st.text(alphabet=" *:^~ab\t\u00e9", max_size=12))
def test_an_echoed_value_is_made_fit_and_a_fit_one_kept(value: str) -> None:
    fitted = claim_acks._fit(value, 20)
    assert len(fitted) <= 20 and fitted.isascii() and (not fitted or fitted.isprintable())
    assert not set(fitted) & set("*:^~")
    assert fitted == " ".join(fitted.split())  # single inner spaces, none at the ends
    assert claim_acks._fit(fitted, 20) == fitted
    plain = value == " ".join(value.split()) and value.isascii() and value.isprintable()
    if plain and len(value) <= 20 and not set(value) & set("*:^~"):
        assert fitted == value


@pytest.mark.parametrize("dates", [("RD8", "20240101-20240103"), None, ("D8", "20240101")])
def test_a_claims_facts_pack_into_one_string_and_back(dates) -> None:
    facts = claim_acks.ClaimFacts(
        12, "id-1", "NM1*85*2*CLINIC*****XX*1234567893~\n", "NM1*QC*1*DOE*JANE****MI*X1~\n",
        "TRN*2*PCN 1~\n", "89.95", "", dates,
    )  # fmt: skip
    packed = claim_acks.pack(facts)
    assert isinstance(packed, str) and claim_acks.unpack(packed) == facts


def test_answers_made_with_the_facts_are_copied_only_for_claims_accepted_clean() -> None:
    """The facts packed with the answer's date carry each claim's answer as accepted
    without edits; the 277CA copies it for such claims and makes the others' answers, the
    same text as from facts packed without it. Another date: every answer made anew."""
    demo = _claims(corpus_path(P_DEMO), "837P")[0]
    uhin = _claims(corpus_path(P_UHIN), "837P")[0]
    ic, group, ts = _set(corpus_path(P_DEMO))
    pairs = [demo, uhin, demo, demo]
    facts = [
        claim_acks.claim_facts(claim, lines, f"P{n}") for n, (claim, lines) in enumerate(pairs)
    ]
    facts = [f._replace(ordinal=n) for n, f in enumerate(facts)]
    header = claim_acks.header_values(demo[0].header, ts.control)
    verdicts = {
        1: (True, (ClaimEdit("A7", "21", "85"),), {}),
        3: (False, (ClaimEdit("A7", "21"),), {}),
    }

    def text(packed_date: str, answer_date: str) -> str:
        packed = [claim_acks.pack(f, packed_date, packed_date) for f in facts]
        assert (len(packed[0].split("\x1d")) > 8) == bool(packed_date)
        return claim_acks.assemble(
            ic, group, claim_acks.set_facts(header, packed), verdicts,
            interchange_control="123", group_control="45", date=answer_date, time=TIME,
            received=answer_date,
        )  # fmt: skip

    plain = text("", DATE)
    assert text(DATE, DATE) == plain
    assert text("20010101", DATE) == plain  # made for another day: not copied
    claims = [s for s in _segments(plain) if s.startswith(("STC*A2", "STC*A7", "REF*1K"))]
    assert claims == [
        f"STC*A2:20*{DATE}*WQ*100",  # copied
        "REF*1K*P0",
        f"STC*A7:21:85*{DATE}*U*2",  # rejected: made
        f"STC*A2:20*{DATE}*WQ*100",  # copied
        "REF*1K*P2",
        f"STC*A2:20*{DATE}*WQ*100",  # accepted with an edit: made
        f"STC*A7:21*{DATE}*WQ*100",
        "REF*1K*P3",
    ]


def test_no_claims_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one claim"):
        _build(corpus_path(P_DEMO), [])


# -- scale and the command line -------------------------------------------------------------
@pytest.mark.slow
def test_5000_claims_three_rejected(tmp_path: Path) -> None:
    source = tmp_path / "5000.837"
    generate("837P", 5000, source, template=corpus_path(P_DEMO))
    claims = _claims(source, "837P")
    assert len(claims) == 5000
    rejected = {17, 2500, 4999}
    answers = [
        ClaimAnswer(
            claim,
            lines,
            (ClaimEdit("A7", "21", "85"),) if n in rejected else (),
            rejected=n in rejected,
            payer_claim_control="" if n in rejected else f"P{n:07d}",
        )
        for n, (claim, lines) in enumerate(claims)
    ]
    text = _build(source, answers)
    segments = _segments(text)
    assert _loop(segments, "STC*A1:19:PR*", "HL*3*") == [
        "STC*A1:19:PR*20260105*WQ*500000",
        "QTY*90*4997",
        "QTY*AA*3",
        "AMT*YU*499700",
        "AMT*YY*300",
    ]
    assert sum(s.startswith("STC*A2:20*") for s in segments) == 4997
    assert sum(s.startswith("STC*A7:21:85*") for s in segments) == 3
    _check(tmp_path, text)


def test_edi_validate_accepts_the_277ca(tmp_path: Path) -> None:
    path = corpus_path(P_DEMO)
    [(claim, lines)] = _claims(path, "837P")
    out = tmp_path / "answer.277"
    out.write_text(_build(path, [ClaimAnswer(claim, lines, payer_claim_control="P1")]))
    result = CliRunner().invoke(main, ["validate", str(out)])
    assert result.exit_code == 0, result.output
    assert "  277 0001 005010X214: A" in result.output.splitlines()
