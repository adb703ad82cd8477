"""The rule files (maps/rules/): each rule of the 837P file proved by a corpus file with
one change that breaks it (the exact 999 code, segment position, element, rule id and
sentence), the valid corpus 837Ps free of them, the loader's errors naming file and
line, and a rule file of the test's own in $EDI_MAPS enforced without code: the 999,
the one claim it rejects with the rule's id as its edit, a partner's ``warn`` for it."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from lxml import etree

from edi.errors import RuleFileError
from edi.parsers.acks import acknowledgments
from edi.parsers.claim_verdicts import claim_findings, rejected, split_by_claim
from edi.parsers.results import TransactionResult
from edi.parsers.rules.files import RuleCatalog, default_rules, load_rule_file, rules_folder
from edi.parsers.validate import Validator
from edi.pipeline.claim_answers import edit_of
from tests.claim_sets import many_claims, set_element
from tests.conftest import corpus_manifest, corpus_path
from tests.mutations import P837, mutate, replace

AMBULANCE = "lfh/demo.ambulance.example5.837"  # the subscriber is the patient (SBR02 18)
AUTO_ACCIDENT = "lfh/demo.autoaccident.837"  # CLM11 AA:::CA and DTP*439


def validated(path: Path, **kwargs) -> TransactionResult:
    result = Validator(**kwargs).validate(path)
    (ts,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    return ts


def rule_findings(ts: TransactionResult) -> list[tuple]:
    """(position, segment, loop, element, component, code, rule, message) of each finding
    of a rule file."""
    return [
        (
            e.location.segment_position,
            e.location.segment,
            e.location.loop,
            e.element,
            getattr(e, "component", 0),
            e.code,
            e.rule,
            e.message,
        )
        for e in ts.errors
        if e.rule
    ]


def insert_after(line: int, segment: str):
    def change(segments: list[str]) -> list[str]:
        segments.insert(line, segment)
        return segments

    return change


def drop(line: int, start: str):
    def change(segments: list[str]) -> list[str]:
        assert segments[line - 1].startswith(start), segments[line - 1]
        del segments[line - 1]
        return segments

    return change


# -- the 837P rules, one mutation each ------------------------------------------------


@pytest.mark.parametrize(
    ("source", "change", "expected"),
    [
        (  # 2010AA N403 five digits
            P837,
            replace(12, "N4*MIAMI*FL*331110000", "N4*MIAMI*FL*33111"),
            (10, "N4", "2010AA", 3, 0, "I12", "837P-2010AA-N403-ZIP9",
             "N403 billing provider ZIP code is not 9 digits"),
        ),
        (  # a replacement claim (CLM05-3 7) with no REF*F8: at its CLM, segment REF
            P837,
            replace(27, "11:B:1", "11:B:7"),
            (25, "REF", "2300", 0, 0, "I6", "837P-2300-CLM05-3-REF-F8",
             "REF*F8 payer claim control number is required when CLM05-3 is 7 or 8"),
        ),
        (  # SBR02 18 on a subscriber with a patient level under it (HL04 1)
            P837,
            replace(18, "SBR*P**", "SBR*P*18*"),
            (16, "SBR", "2000B", 2, 0, "I13", "837P-2000B-SBR02-DEPENDENT",
             "SBR02 is not used when the patient is not the subscriber (HL04 1)"),
        ),
        (  # no SBR02 on a subscriber who is the patient (HL04 0)
            AMBULANCE,
            replace(15, "SBR*P*18*", "SBR*P**"),
            (13, "SBR", "2000B", 2, 0, "I9", "837P-2000B-SBR02-SUBSCRIBER-PATIENT",
             "SBR02 is required when the subscriber is the patient (HL04 0)"),
        ),
        (  # 2000B PAT (a pregnant subscriber) while the patient is someone else
            P837,
            insert_after(18, "PAT*********Y"),
            (17, "PAT", "2000B", 0, 0, "I9", "837P-2000B-PAT-SUBSCRIBER",
             "PAT in loop 2000B is used only when the subscriber is the patient (SBR02 18)"),
        ),
        (  # an auto accident without its state
            AUTO_ACCIDENT,
            replace(25, "AA:::CA", "AA"),
            (23, "CLM", "2300", 11, 4, "I9", "837P-2300-CLM11-4-AA",
             "CLM11-4 auto accident state is required when CLM11-1 is AA"),
        ),
        (  # an accident without its date
            AUTO_ACCIDENT,
            drop(26, "DTP*439"),
            (23, "DTP", "2300", 0, 0, "I6", "837P-2300-DTP439-ACCIDENT",
             "DTP*439 accident date is required when CLM11-1 is AA or OA"),
        ),
    ],
    ids=["zip9", "ref-f8", "sbr02-dependent", "sbr02-subscriber", "pat", "clm11-4", "dtp439"],
)  # fmt: skip
def test_each_837p_rule_finds_its_one_change(tmp_path, source, change, expected):
    original = validated(corpus_path(source))
    before = rule_findings(original)
    assert expected[6] not in {f[6] for f in before}
    ts = validated(mutate(tmp_path, corpus_path(source), change))
    assert [f for f in rule_findings(ts) if f not in before] == [expected]
    # nothing else found than in the original (the ambulance and accident files have
    # notes of their own: NPI check digits, a five-digit billing provider ZIP code)
    assert [e.message for e in ts.errors if not e.rule] == [
        e.message for e in original.errors if not e.rule
    ]
    # SNIP 4 and 5: noted in the 999, the set accepted (unless rejected on its own)
    assert ts.ack_code == ("E" if original.ack_code != "R" else "R")
    assert validated(mutate(tmp_path, corpus_path(source), change), strict=True).ack_code == "R"


def test_a_replacement_claim_with_its_payer_claim_number_is_clean(tmp_path):
    change = replace(27, "11:B:1", "11:B:8")
    path = mutate(tmp_path, corpus_path(P837), lambda s: insert_after(27, "REF*F8*A1B2")(change(s)))
    ts = validated(path)
    assert (ts.ack_code, ts.errors) == ("A", [])


def test_the_999_names_the_rule_finding(tmp_path):
    path = mutate(tmp_path, corpus_path(AUTO_ACCIDENT), replace(25, "AA:::CA", "AA"))
    result = Validator().validate(path)
    numbers = (str(n) for n in count(1))
    (ack,) = [
        a
        for a in acknowledgments(result, lambda: next(numbers), datetime.now(UTC))
        if a.kind == "999"
    ]
    segments = ack.text.replace("\n", "").split("~")
    at = segments.index("IK3*CLM*23*2300*8")
    assert segments[at + 1] == "IK4*11:4*156*I9"  # CLM11-4: data element 156 (state code)
    assert [s for s in segments if s.startswith("IK5")] == ["IK5*E*I5"]  # I5: guide rules


def test_no_valid_corpus_837p_breaks_a_new_rule():
    """The rules added with the rule files hold on every valid 5010 837P of the corpus;
    only the billing provider's nine-digit ZIP code (a note the guide's own examples do not
    follow, checked before the rule files) is found there, and the rendering provider the
    guide's coordination of benefits examples repeat (test_situational_rules.py lists
    them)."""
    rows = [r for r in corpus_manifest() if r.transaction_set == "837P" and r.intended == "valid"]
    checked = 0
    for row in rows:
        ts = validated(row.path)
        if not ts.reference.startswith("005010") and not ts.version.startswith("005010"):
            continue
        checked += 1
        found = {f[6] for f in rule_findings(ts)}
        assert found <= {"837P-2010AA-N403-ZIP9", "837P-2310B-SAME-AS-2010AA"}, row.file
    assert checked >= 30


# -- loading ---------------------------------------------------------------------------


def write_rules(folder: Path, body: str, name: str = "test.xml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rules kind="837P" guides="005010X222A1 005010X222A2">\n{body}\n</rules>\n'
    )
    return path


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (  # schema: no message
            '<rule id="T-1" loop="2300">\n<must at="CLM02" max="5"/>\n</rule>',
            3,
            "message",
        ),
        (  # schema: not a reference
            '<rule id="T-1" loop="2300" message="a sentence here">\n<must at="clm02" is="present"/>\n</rule>',
            4,
            "clm02",
        ),
        (  # two tests in one
            '<rule id="T-1" loop="2300" message="a sentence here">\n<must at="CLM02" is="present" max="5"/>\n</rule>',
            4,
            "exactly one of",
        ),
        (  # a segment tested for a value
            '<rule id="T-1" loop="2300" message="a sentence here">\n<must at="REF[F8]" in="A"/>\n</rule>',
            4,
            "is a segment",
        ),
        (  # a code that is no IK403 code
            '<rule id="T-1" loop="2300" code="Z9" message="a sentence here">\n<must at="CLM02" max="5"/>\n</rule>',
            3,
            "not an IK403 code",
        ),
        (  # a pattern that does not compile
            '<rule id="T-1" loop="2300" message="a sentence here">\n<must at="CLM02" pattern="[0-"/>\n</rule>',
            4,
            "pattern does not compile",
        ),
        (  # the same id twice
            '<rule id="T-1" loop="2300" message="a sentence here"><must at="CLM02" max="5"/></rule>\n'
            '<rule id="T-1" loop="2300" message="a sentence here"><must at="CLM02" max="5"/></rule>',
            4,
            "T-1",
        ),
    ],
    ids=["no-message", "bad-ref", "two-tests", "segment-value", "code", "pattern", "same-id"],
)
def test_a_broken_rule_file_names_its_file_and_line(tmp_path, body, line, words):
    path = write_rules(tmp_path, body)
    with pytest.raises(RuleFileError) as caught:
        load_rule_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: ") and words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('<must at="CLM02" max="5"/>', "loop 2399 is not in the 837.5010.X222.A1.xml map"),
        ('<must at="SBR02" is="present"/>', "segment SBR is not in loop 2300"),
    ],
)
def test_a_rule_naming_what_its_guide_lacks_is_refused(tmp_path, body, words):
    loop = "2399" if "2399" in words else "2300"
    path = write_rules(
        tmp_path / "rules", f'<rule id="T-1" loop="{loop}" message="a sentence here">{body}</rule>'
    )
    validator = Validator(rule_files=RuleCatalog([tmp_path / "rules"]))
    with pytest.raises(RuleFileError) as caught:
        validator.validate(corpus_path(P837))
    assert str(caught.value) == f"{path}:3: rule T-1: {words}" + (
        " of the 837.5010.X222.A1.xml map" if "segment" in words else ""
    )


def test_every_project_rule_file_loads():
    catalog = RuleCatalog([rules_folder()])
    assert catalog.check() >= 9
    rules = catalog.for_guide("005010X222A1")
    assert rules is not None and rules.rule("837P-2300-CLM05-3-REF-F8") is not None
    assert catalog.for_guide("005010X222A2") is rules
    assert catalog.for_guide("005010X221A1") is not None  # the 835's
    assert catalog.for_guide("005010X279A1") is None  # no rule file serves the 270


# -- a rule file of the test's own, in $EDI_MAPS -------------------------------------

OWN_RULE = """
<rule id="TEST-2300-CLM02-BELOW-1000" loop="2300" snip="7" category="A7" status="178"
      message="CLM02 total claim charge must be below 1000 for this partner">
  <must at="CLM02" max="999.99"/>
</rule>"""


@pytest.fixture
def own_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_rules(tmp_path / "maps" / "rules", OWN_RULE)
    monkeypatch.setenv("EDI_MAPS", str(tmp_path / "maps"))
    default_rules.cache_clear()
    yield
    monkeypatch.delenv("EDI_MAPS")
    default_rules.cache_clear()


def big_second_claim(index: int, segments: list[str]) -> list[str]:
    """The second claim charged 1000.00 (its first line 940.00: it still balances)."""
    if index == 1:
        segments = set_element("SV1", 2, "940.00")(set_element("CLM", 2, "1000.00")(segments))
    return segments


def test_a_rule_file_of_ones_own_is_enforced_without_code(tmp_path, own_rules):
    path = many_claims(tmp_path, 3, big_second_claim)
    result = Validator().validate(path)
    (group,) = [g for ic in result.interchanges for g in ic.groups]
    (ts,) = group.transactions
    # the project's rules still hold (layered, not replaced): the file is otherwise clean
    assert rule_findings(ts) == [
        (50, "CLM", "2300", 2, 0, "I12", "TEST-2300-CLM02-BELOW-1000",
         "CLM02 total claim charge must be below 1000 for this partner"),
    ]  # fmt: skip
    numbers = (str(n) for n in count(1))
    (ack,) = [
        a
        for a in acknowledgments(result, lambda: next(numbers), datetime.now(UTC))
        if a.kind == "999"
    ]
    segments = ack.text.replace("\n", "").split("~")
    at = segments.index("IK3*CLM*50*2300*8")
    assert segments[at + 1] == "IK4*2*782*I12"
    # the claim alone is rejected, the rule's id its edit, its own 277CA codes
    split_by_claim(group)
    found = claim_findings(ts, ts.claims, {})
    assert list(found) == [ts.claims[1]]
    (finding,) = found[ts.claims[1]]
    assert (finding.edit, finding.severity, rejected([finding])) == (
        "TEST-2300-CLM02-BELOW-1000",
        "reject",
        True,
    )
    edit = edit_of(finding.as_dict(), None)
    assert (edit.category, edit.status) == ("A7", "178")
    assert "TEST-2300-CLM02-BELOW-1000 I12: CLM02 total claim charge" in edit.message
    # a partner's warn for the rule's id keeps the claim accepted, the finding recorded
    warned = claim_findings(ts, ts.claims, {"TEST-2300-CLM02-BELOW-1000": "warn"})
    (finding,) = warned[ts.claims[1]]
    assert finding.severity == "warn" and not rejected([finding])


def test_without_the_rule_file_the_same_claims_are_clean(tmp_path):
    path = many_claims(tmp_path, 3, big_second_claim)
    ts = validated(path)
    assert (ts.ack_code, ts.errors) == ("A", [])


def test_edi_validate_shows_the_rule_and_a_broken_rule_file_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from edi.cli import main

    path = mutate(tmp_path, corpus_path(AUTO_ACCIDENT), replace(25, "AA:::CA", "AA"))
    shown = CliRunner().invoke(main, ["validate", str(path)])
    assert (
        "segment 23 CLM in 2300, element CLM11-4 (line 25): IK403 I9: implementation dependent "
        "data element missing; CLM11-4 auto accident state is required when CLM11-1 is AA "
        "(rule 837P-2300-CLM11-4-AA)"
    ) in shown.output
    as_json = CliRunner().invoke(main, ["validate", "--format", "json", str(path)])
    assert '"rule": "837P-2300-CLM11-4-AA"' in as_json.output
    broken = write_rules(
        tmp_path / "maps" / "rules",
        '<rule id="T-1" loop="2300" message="a sentence here">\n'
        '<must at="CLM02" is="present" in="A"/>\n</rule>',
    )
    monkeypatch.setenv("EDI_MAPS", str(tmp_path / "maps"))
    default_rules.cache_clear()
    try:
        failed = CliRunner().invoke(main, ["validate", str(path)])
    finally:
        monkeypatch.delenv("EDI_MAPS")
        default_rules.cache_clear()
    assert failed.exit_code == 1
    assert failed.output.strip().splitlines() == [
        f"Error: {broken}:4: <must at='CLM02'> needs exactly one of is, in, not-in, length, "
        "pattern, equals, differs, list, min/max (found is, in)"
    ]


def test_the_projects_rule_files_name_claim_status_codes_of_the_list() -> None:
    """Every 277CA status a shipped rule names is in maps/codes/claim-status.tsv, with its
    words (the loader takes any code: a partner's file may name one the subset lacks)."""
    from edi import codes

    named = {
        rule.get("status")
        for path in sorted(rules_folder().glob("*.xml"))
        for rule in etree.parse(str(path)).iter("{*}rule", "rule")
        if rule.get("status")
    }
    assert named, "the shipped rule files name no status"
    assert {code: bool(codes.describe(codes.ACK_LISTS["STC01-2"], code)) for code in named} == {
        code: True for code in named
    }
