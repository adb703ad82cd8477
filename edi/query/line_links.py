"""Which 835 service payment (loop 2110 SVC) pays which claim line (loop 2400), within
one adjudication, whatever order the 835 lists them in.

Passes, strictest first, each line and service taken once:

1. the line item control number (REF*6R of 2400, echoed in REF*6R of 2110);
2. procedure code and modifiers, date of service and units;
3. procedure code and modifiers, and date of service;
4. procedure code and modifiers;
5. procedure code alone.

The service's procedure is the one the provider billed: SVC06 (with its modifiers and
SVC07 units) when the payer recoded it, else SVC01; an NU qualifier names a revenue
code (837I SV201). A value missing on either side (a date the 835 sends only at claim
level) does not disagree; two different line item control numbers always do.

Values compared are the records' whole values (control numbers and dates are PHI): the
caller decodes them for the comparison only and shows its masked copy.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

#: 2110 SVC01-1 qualifier of a revenue code (837I SV201) rather than a procedure code
REVENUE = "NU"


def _number(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


def billed(service: dict[str, Any]) -> tuple[str | None, str | None, tuple[str, ...], Any]:
    """What the provider billed, as the payer reports it: (qualifier, code, modifiers,
    units): SVC06/SVC07 when the payer recoded the line, else SVC01/SVC05."""
    if service.get("original_procedure_code"):
        return (
            service.get("original_procedure_qualifier"),
            service.get("original_procedure_code"),
            tuple(service.get("original_modifiers") or ()),
            service.get("original_units"),
        )
    return (
        service.get("procedure_qualifier"),
        service.get("procedure_code"),
        tuple(service.get("modifiers") or ()),
        service.get("units"),
    )


def _same_code(line: dict[str, Any], service: dict[str, Any]) -> bool:
    qualifier, code, _, _ = billed(service)
    if code is None:
        return False
    if qualifier == REVENUE:
        return code == line.get("revenue_code")
    return code == line.get("procedure_code")


def _same_modifiers(line: dict[str, Any], service: dict[str, Any]) -> bool:
    return billed(service)[2] == tuple(line.get("modifiers") or ())


def _same_date(line: dict[str, Any], service: dict[str, Any]) -> bool:
    ours, theirs = line.get("service_date_from"), service.get("service_date_from")
    return ours is None or theirs is None or ours == theirs


def _same_units(line: dict[str, Any], service: dict[str, Any]) -> bool:
    ours, theirs = _number(line.get("units")), _number(billed(service)[3])
    return ours is None or theirs is None or ours == theirs


def _no_other_control_number(line: dict[str, Any], service: dict[str, Any]) -> bool:
    ours, theirs = line.get("line_control_number"), service.get("line_control_number")
    return ours is None or theirs is None or ours == theirs


Test = Callable[[dict[str, Any], dict[str, Any]], bool]

#: the passes after the control number's, strictest first
PASSES: tuple[tuple[Test, ...], ...] = (
    (_same_code, _same_modifiers, _same_date, _same_units),
    (_same_code, _same_modifiers, _same_date),
    (_same_code, _same_modifiers),
    (_same_code,),
)


def _by_control_number(line: dict[str, Any], service: dict[str, Any]) -> bool:
    number = line.get("line_control_number")
    return number is not None and number == service.get("line_control_number")


def match_lines(lines: list[dict[str, Any]], services: list[dict[str, Any]]) -> dict[int, int]:
    """Line position -> the position of the service payment that pays it (lines and
    services as whole decoded records; each taken once)."""
    out: dict[int, int] = {}
    taken: set[int] = set()
    passes: list[tuple[Test, ...]] = [(_by_control_number,)]
    passes += [(_no_other_control_number, *tests) for tests in PASSES]
    for tests in passes:
        for at, service in enumerate(services):
            if at in taken:
                continue
            for position, line in enumerate(lines):
                if position not in out and all(test(line, service) for test in tests):
                    out[position] = at
                    taken.add(at)
                    break
    return out


__all__ = ["REVENUE", "billed", "match_lines"]
