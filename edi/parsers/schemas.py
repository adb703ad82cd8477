"""The XML Schemas of the data files (field maps, rule files) and the lines of their
elements, for errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree


def xml_schema(schema: Path, error: type[Exception], what: str) -> etree.XMLSchema:
    """The schema at ``schema``; ``error`` naming it and ``what`` it is when it cannot be
    read."""
    try:
        return etree.XMLSchema(etree.parse(str(schema)))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise error(f"{schema}: cannot read the {what} schema: {exc}") from exc


def source_line(node: Any) -> int:
    """The line of an lxml element (its stubs type ``sourceline`` loosely)."""
    return int(node.sourceline or 0)


__all__ = ["source_line", "xml_schema"]
