"""Checks of the records' PHI sets that the tests of every transaction share (tests only)."""

from __future__ import annotations

import dataclasses


def phi_of(cls: type) -> frozenset[str]:
    """The names ``cls.PHI`` marks as protected health information."""
    found: frozenset[str] = cls.PHI  # type: ignore[attr-defined]
    return found


def assert_phi_names_are_fields(*classes: type) -> None:
    """Every name in each class's PHI set is one of its dataclass fields."""
    for cls in classes:
        names = {f.name for f in dataclasses.fields(cls)}
        assert names >= phi_of(cls), cls.__name__
