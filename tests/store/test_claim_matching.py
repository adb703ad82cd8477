"""837 claims meet their 835 adjudications on payer, provider and patient control number;
lines meet their service payments whatever the 835's order; reversals net out.

Each test stores the sample 837P and its 835 (samples/837P-professional-claim.x12,
samples/835-remittance-837P.x12) with one change made to one or both, and reads the
claim back through ``edi claims show`` and ``edi claims list --status``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edi.cli import main
from tests.conftest import SAMPLES
from tests.mutations import mutate
from tests.store_support import KEK_B64

CLAIMS = SAMPLES / "837P-professional-claim.x12"
REMIT = SAMPLES / "835-remittance-837P.x12"
#: another valid NPI (Luhn with the 80840 prefix), synthetic
OTHER_NPI = "1245319599"

Change = Callable[[list[str]], list[str]]


def edit(*pairs: tuple[str, str]) -> Change:
    """Replace whole segments: (old segment, new segments joined by ``~``)."""

    def change(segments: list[str]) -> list[str]:
        out = list(segments)
        for old, new in pairs:
            at = out.index(old)
            out[at : at + 1] = new.split("~") if new else []
        return out

    return change


def swap_services(segments: list[str]) -> list[str]:
    """The first claim payment's two SVC loops in the other order."""
    first = segments.index("SVC*HC:99213*150*96**1")
    second = next(i for i, s in enumerate(segments) if i > first and s.startswith("SVC*"))
    end = next(i for i, s in enumerate(segments) if i > second and s.startswith("CLP*"))
    return segments[:first] + segments[second:end] + segments[first:second] + segments[end:]


class Home:
    """A store in a temporary home, with its configuration and a way to run ``edi``."""

    def __init__(self, root: Path, config: str = "") -> None:
        self.root = root
        self.home = root / "home"
        self.config = root / "edi.toml"
        (root / "share").mkdir(parents=True, exist_ok=True)
        self.config.write_text(config)
        self.count = 0
        self.ok("keys", "init")

    def run(self, *args: str) -> Any:
        env = {"EDI_HOME": str(self.home), "EDI_KEK": KEK_B64, "EDI_CONFIG": str(self.config)}
        return CliRunner().invoke(main, list(args), env=env)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        return str(result.output)

    def store(self, source: Path, *changes: Change, partner: str = "acme") -> None:
        """Ingest ``source`` with ``changes`` applied (in a folder of its own)."""
        self.count += 1
        folder = self.root / f"in{self.count}"
        folder.mkdir()

        def change(segments: list[str]) -> list[str]:
            for one in changes:
                segments = one(segments)
            return segments

        path = mutate(folder, source, change)
        out = self.ok("ingest", "--partner", partner, "--allow-duplicate-interchange", str(path))
        assert ": stored;" in out and " 0 rejected;" in out, out

    def claim(self, pcn: str, billing_npi: str = "1234567893") -> dict[str, Any]:
        """``claims show`` of the claim with this CLM01 from this billing provider."""
        rows = json.loads(self.ok("search", "--claim-id", pcn, "--format", "json"))
        found = []
        for row in rows:
            if row["type"] != "claim":
                continue
            shown = json.loads(self.ok("claims", "show", row["id"], "--format", "json"))
            if shown["claim"]["billing_provider"]["npi"] == billing_npi:
                found.append(shown)
        assert len(found) == 1, rows
        return found[0]

    def listed(self, status: str) -> set[str]:
        rows = self.ok("claims", "list", "--status", status, "--format", "json")
        return {row["id"] for row in json.loads(rows)}


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


def paid_by_line(claim: dict[str, Any]) -> list[str | None]:
    return [line["payment"] and line["payment"]["paid"] for line in claim["lines"]]


# -- which claim an 835 answers -----------------------------------------------------------


def test_another_providers_claim_with_the_same_control_number_is_not_answered(home: Home):
    home.store(CLAIMS)
    other = edit(
        (
            "NM1*85*2*SAMPLE MEDICAL GROUP*****XX*1234567893",
            f"NM1*85*2*OTHER SAMPLE CLINIC*****XX*{OTHER_NPI}",
        ),
        ("REF*EI*999000003", "REF*EI*999000004"),
    )
    home.store(CLAIMS, other)
    home.store(REMIT)
    ours, theirs = home.claim("SAMPLECLM101"), home.claim("SAMPLECLM101", OTHER_NPI)
    assert [r["status"] for r in ours["remittance"]] == ["1"]
    assert ours["status"] == {"code": "1", "text": "paid (primary)", "adjudications": 1}
    assert theirs["remittance"] == [] and theirs["status"] is None
    assert paid_by_line(theirs) == [None, None]
    assert theirs["id"] in home.listed("unremitted")
    assert theirs["id"] not in home.listed("paid") and ours["id"] in home.listed("paid")
    table = home.ok("claims", "list", "--status", "remitted")
    assert theirs["id"][:8] not in table and ours["id"][:8] in table


def test_a_payee_named_by_tax_id_answers_only_the_provider_of_that_tax_id(home: Home):
    """An 835 payee with no NPI (N1*PE FI): the billing provider's REF*EI decides."""
    home.store(CLAIMS)
    home.store(
        CLAIMS,
        edit(
            (
                "NM1*85*2*SAMPLE MEDICAL GROUP*****XX*1234567893",
                f"NM1*85*2*OTHER SAMPLE CLINIC*****XX*{OTHER_NPI}",
            ),
            ("REF*EI*999000003", "REF*EI*999000004"),
        ),
    )
    home.store(
        REMIT,
        edit(
            ("N1*PE*SAMPLE MEDICAL GROUP*XX*1234567893", "N1*PE*SAMPLE MEDICAL GROUP*FI*999000003"),
            ("REF*TJ*999000003", ""),
        ),
    )
    ours, theirs = home.claim("SAMPLECLM101"), home.claim("SAMPLECLM101", OTHER_NPI)
    assert [r["status"] for r in ours["remittance"]] == ["1"]
    assert theirs["remittance"] == []
    assert ours["id"] in home.listed("paid") and theirs["id"] in home.listed("unremitted")


def test_a_payer_named_by_plan_id_links_through_the_partners_aliases(tmp_path: Path):
    plan = edit(
        ("N1*PR*SAMPLE HEALTH PLAN*XV*SAMPLEPAYER01", "N1*PR*SAMPLE HEALTH PLAN*XV*SAMPLEPLAN77")
    )
    bare = Home(tmp_path / "bare")
    bare.store(CLAIMS)
    bare.store(REMIT, plan)
    unlinked = bare.claim("SAMPLECLM101")
    assert unlinked["remittance"] == [] and unlinked["id"] in bare.listed("unremitted")

    config = (
        '[partners.payer]\ntransport = "local"\npath = "share"\n'
        'payer_aliases = { "SAMPLEPLAN77" = "SAMPLEPAYER01" }\n'
    )
    aliased = Home(tmp_path / "aliased", config)
    aliased.store(CLAIMS)
    aliased.store(REMIT, plan, partner="payer")
    linked = aliased.claim("SAMPLECLM101")
    assert [r["status"] for r in linked["remittance"]] == ["1"]
    assert linked["remittance"][0]["payment"]["payer"] == "SAMPLEPLAN77"
    assert linked["id"] in aliased.listed("paid")
    denied = aliased.claim("SAMPLECLM102")
    assert denied["id"] in aliased.listed("denied") and denied["id"] not in aliased.listed("paid")
    # the alias is the 835 partner's: the same file from another partner does not link
    other = Home(tmp_path / "other", config)
    other.store(CLAIMS)
    other.store(REMIT, plan, partner="acme")
    assert other.claim("SAMPLECLM101")["remittance"] == []


# -- which line a service payment pays -----------------------------------------------------


def test_two_lines_of_the_same_procedure_link_by_line_item_control_number(home: Home):
    home.store(
        CLAIMS,
        edit(
            ("SV1*HC:87880*35*UN*1***1", "SV1*HC:99213*35*UN*1***1"),
        ),
        lambda s: _nth(s, "DTP*472*D8*20250110", 2, "DTP*472*D8*20250110~REF*6R*SAMPLELCN0002"),
        lambda s: _nth(s, "DTP*472*D8*20250110", 1, "DTP*472*D8*20250110~REF*6R*SAMPLELCN0001"),
    )
    home.store(
        REMIT,
        edit(
            ("SVC*HC:87880*35*24**1", "SVC*HC:99213*35*24**1"),
            ("CAS*PR*2*24", "CAS*PR*2*24~REF*6R*SAMPLELCN0001"),
            ("CAS*PR*3*5", "CAS*PR*3*5~REF*6R*SAMPLELCN0002"),
        ),
        swap_services,
    )
    claim = home.claim("SAMPLECLM101")
    assert [line["procedure_code"] for line in claim["lines"]] == ["99213", "99213"]
    assert paid_by_line(claim) == ["96", "24"]
    assert [r["code"] for r in claim["lines"][1]["payment"]["remarks"]] == ["N130"]
    services = claim["remittance"][0]["services"]
    assert [(s["line_number"], s["paid"]) for s in services] == [(2, "24"), (1, "96")]
    # the control numbers are PHI: masked in the output
    shown = home.ok("claims", "show", claim["id"])
    assert "SAMPLELCN0001" not in shown and "SAMPLELCN0002" not in shown
    assert claim["lines"][0]["line"]["line_control_number"] == "****0001"


@pytest.mark.parametrize(
    ("line", "service", "date"),
    [
        ("SV1*HC:99213:25*35*UN*1***1", "SVC*HC:99213:25*35*24**1", None),
        ("SV1*HC:99213*35*UN*2***1", "SVC*HC:99213*35*24**2", None),
        ("SV1*HC:99213*35*UN*1***1", "SVC*HC:99213*35*24**1", "20250111"),
    ],
    ids=["modifiers", "units", "date"],
)
def test_same_procedure_lines_link_by_modifiers_date_and_units_in_any_order(
    home: Home, line: str, service: str, date: str | None
):
    claim_changes = [edit(("SV1*HC:87880*35*UN*1***1", line))]
    remit_changes = [edit(("SVC*HC:87880*35*24**1", service)), swap_services]
    if date is not None:
        # the second line's date (the 837's fourth DTP*472, the 835's second DTM*472)
        claim_changes.append(lambda s: _nth(s, "DTP*472*D8*20250110", 2, f"DTP*472*D8*{date}"))
        remit_changes.insert(0, lambda s: _nth(s, "DTM*472*20250110", 2, f"DTM*472*{date}"))
    home.store(CLAIMS, *claim_changes)
    home.store(REMIT, *remit_changes)
    claim = home.claim("SAMPLECLM101")
    assert paid_by_line(claim) == ["96", "24"]
    assert [line["payment"]["state"] for line in claim["lines"]] == ["paid", "paid"]


def _nth(segments: list[str], old: str, nth: int, new: str) -> list[str]:
    """Replace the ``nth`` (1-based) segment equal to ``old`` (``new``: segments joined
    by ``~``)."""
    at = [i for i, s in enumerate(segments) if s == old][nth - 1]
    return [*segments[:at], *new.split("~"), *segments[at + 1 :]]


def test_a_recoded_line_links_by_its_original_procedure(home: Home):
    """The payer paid 87881 for the 87880 billed, SVC06 naming the original."""
    home.store(CLAIMS)
    home.store(REMIT, edit(("SVC*HC:87880*35*24**1", "SVC*HC:87881*35*24**1*HC:87880")))
    claim = home.claim("SAMPLECLM101")
    assert paid_by_line(claim) == ["96", "24"]
    service = claim["remittance"][0]["services"][1]
    assert service["procedure_code"] == "87881" and service["original_procedure_code"] == "87880"
    assert service["line_number"] == 2


# -- reversals and corrections ---------------------------------------------------------------

#: the sample 835's first claim payment reversed (CLP02 22, amounts negated)
REVERSAL = [
    "CLP*SAMPLECLM101*22*-185*-120*-29*12*SAMPLEPCN0101*11*1",
    "NM1*QC*1*SAMPLE*ALEX****MI*SAMPLEMBR001",
    "SVC*HC:99213*-150*-96",
    "CAS*CO*45*-30",
    "CAS*PR*2*-24",
    "SVC*HC:87880*-35*-24",
    "CAS*CO*45*-6",
    "CAS*PR*3*-5",
]
#: and paid again: the second line 30.00, not 24.00
CORRECTION = [
    "CLP*SAMPLECLM101*1*185*126*24*12*SAMPLEPCN0201*11*7",
    "NM1*QC*1*SAMPLE*ALEX****MI*SAMPLEMBR001",
    "MOA***MA67",
    "SVC*HC:99213*150*96**1",
    "CAS*CO*45*30",
    "CAS*PR*2*24",
    "SVC*HC:87880*35*30**1",
    "CAS*CO*45*5",
    "LQ*HE*N381",
]


def later_remit(claims: list[str], paid: str) -> Change:
    """The sample 835's envelope and parties, a later payment (BPR02 ``paid``, 2025-02-01,
    another trace) of ``claims`` instead of its own."""

    def change(segments: list[str]) -> list[str]:
        head = segments[: segments.index("LX*1") + 1]
        tail = segments[next(i for i, s in enumerate(segments) if s.startswith("SE*")) :]
        head = [
            s.replace("*000000202*", "*000000203*")
            .replace("*120*C*ACH*", f"*{paid}*C*ACH*")
            .replace("*20250125", "*20250201")
            .replace("SAMPLEEFT0002", "SAMPLEEFT0003")
            .replace("DTM*405*20250124", "DTM*405*20250131")
            for s in head
        ]
        tail = [s.replace("*000000202", "*000000203") for s in tail]
        return head + claims + tail

    return change


def test_paid_reversed_and_paid_again_shows_three_adjudications_and_the_last(home: Home):
    home.store(CLAIMS)
    home.store(REMIT)
    home.store(REMIT, later_remit(REVERSAL + CORRECTION, "6"))
    claim = home.claim("SAMPLECLM101")
    remits = claim["remittance"]
    assert [(r["adjudication"], r["status"], r["paid"]) for r in remits] == [
        (1, "1", "120.00"),
        (2, "22", "-120.00"),
        (3, "1", "126.00"),
    ]
    assert [r["payment"]["trace_number"] for r in remits] == [
        "SAMPLEEFT0002",
        "SAMPLEEFT0003",
        "SAMPLEEFT0003",
    ]
    assert [[m["code"] for m in r["remarks"]] for r in remits] == [["MA01"], [], ["MA67"]]
    assert claim["status"] == {"code": "1", "text": "paid (primary)", "adjudications": 3}
    assert paid_by_line(claim) == ["96", "30"]
    second = claim["lines"][1]
    assert [(a["adjudication"], a["status"], a["paid"]) for a in second["adjudications"]] == [
        (1, "1", "24"),
        (2, "22", "-24"),
        (3, "1", "30"),
    ]
    assert [[m["code"] for m in a["remarks"]] for a in second["adjudications"]] == [
        ["N130"],
        [],
        ["N381"],
    ]
    assert second["payment"]["patient_responsibility"] == "0"
    assert claim["id"] in home.listed("paid") and claim["id"] not in home.listed("reversed")
    listed = json.loads(home.ok("claims", "list", "--format", "json"))
    row = next(r for r in listed if r["id"] == claim["id"])
    assert row["remittance"] == "paid (primary) (latest of 3 adjudications)"
    table = home.ok("claims", "show", claim["id"])
    assert "reversal" in table and "N381" in table
    assert "SAMPLEMBR001" not in table and "ALEX" not in table and "20250110" not in table


def test_a_reversed_claim_is_no_longer_paid(home: Home):
    home.store(CLAIMS)
    home.store(REMIT)
    home.store(REMIT, later_remit(REVERSAL, "-120"))
    claim = home.claim("SAMPLECLM101")
    assert [r["status"] for r in claim["remittance"]] == ["1", "22"]
    assert claim["status"]["code"] == "22" and claim["status"]["text"] == "reversal"
    assert paid_by_line(claim) == ["0", "0"]
    assert [line["payment"]["state"] for line in claim["lines"]] == ["reversed", "reversed"]
    assert claim["id"] in home.listed("reversed")
    assert claim["id"] not in home.listed("paid")
