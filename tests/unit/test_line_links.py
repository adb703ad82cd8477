"""Service payments meet claim lines: control number first, then procedure, modifiers,
date and units, strictest first, whatever order the 835 lists them in."""

from __future__ import annotations

from typing import Any

from edi.query.line_links import billed, match_lines


def line(code: str, *mods: str, date: str = "2025-01-10", units: str = "1", **more: Any) -> dict:
    return {"procedure_code": code, "modifiers": list(mods), "service_date_from": date,
            "units": units, **more}  # fmt: skip


def service(
    code: str, *mods: str, date: str | None = None, units: str | None = "1", **more: Any
) -> dict:
    return {"procedure_qualifier": "HC", "procedure_code": code, "modifiers": list(mods),
            "service_date_from": date, "units": units, **more}  # fmt: skip


def test_control_numbers_decide_before_procedures():
    lines = [line("99213", line_control_number="A1"), line("99213", line_control_number="A2")]
    services = [
        service("99213", line_control_number="A2"),
        service("99213", line_control_number="A1"),
    ]
    assert match_lines(lines, services) == {1: 0, 0: 1}


def test_a_different_control_number_never_links_even_on_the_same_procedure():
    lines = [line("99213", line_control_number="A1")]
    assert match_lines(lines, [service("99213", line_control_number="B9")]) == {}


def test_modifiers_units_and_dates_pick_the_line_whatever_the_order():
    lines = [
        line("99213"),
        line("99213", "25"),
        line("99213", units="2"),
        line("99213", date="2025-01-11"),
    ]
    services = [
        service("99213", date="2025-01-11"),
        service("99213", units="2"),
        service("99213", "25"),
        service("99213", date="2025-01-10"),
    ]  # fmt: skip
    assert match_lines(lines, services) == {3: 0, 2: 1, 1: 2, 0: 3}


def test_a_recoded_service_links_by_its_original_procedure_and_units():
    recoded = service("87881", original_procedure_qualifier="HC", original_procedure_code="87880",
                      original_modifiers=["QW"], original_units="2")  # fmt: skip
    assert billed(recoded) == ("HC", "87880", ("QW",), "2")
    lines = [line("87881"), line("87880", "QW", units="2")]
    assert match_lines(lines, [recoded]) == {1: 0}


def test_a_revenue_code_service_links_to_the_line_of_that_revenue_code():
    lines = [line("99999", revenue_code="0450"), line("99999", revenue_code="0300")]
    nu = {"procedure_qualifier": "NU", "procedure_code": "0300", "modifiers": []}
    assert match_lines(lines, [nu]) == {1: 0}


def test_a_service_of_another_procedure_pays_no_line_and_each_is_taken_once():
    lines = [line("99213")]
    assert match_lines(lines, [service("99214")]) == {}
    assert match_lines(lines, [service("99213"), service("99213")]) == {0: 0}
