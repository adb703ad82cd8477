"""The rule files: ``maps/rules/*.xml`` and each ``$EDI_MAPS/rules/*.xml``, loaded,
checked and compiled into :class:`~edi.parsers.rules.situational.GuideRules`.

XML with an XSD (``maps/rules/rules.xsd``), as the field maps are: lxml reports each
schema failure with its line, and keeps every element's line for the checks a schema
cannot make (one test per ``when``/``must``, a pattern that compiles, a code of the 999
lists). Each failure is a :class:`~edi.errors.RuleFileError` naming the file and line.

A guide's rules are those of every file that names the guide in its ``guides``, in
order: the project's files, then ``$EDI_MAPS``'s; a later file's rule with the id of an
earlier one replaces it (a partner's companion-guide file is layered this way).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from edi import codes
from edi.errors import RuleFileError
from edi.parsers.maps import LoopDef, TransactionMap, project_maps
from edi.parsers.rules.situational import (
    ABSENT,
    DIFFERS,
    EQUALS,
    EVERY,
    IN,
    KINDS,
    LENGTH,
    LIST,
    NOT_IN,
    PATTERN,
    PRESENT,
    RANGE,
    UNIQUE,
    GuideRules,
    Ref,
    Rule,
    Test,
    rule_refs,
)
from edi.parsers.schemas import source_line, xml_schema

#: the rule files' folder inside the project's maps folder (and inside ``$EDI_MAPS``)
RULES_FOLDER = "rules"
SCHEMA_NAME = "rules.xsd"
#: SNIP type of a rule that names none: situational (implementation guide specific)
DEFAULT_SNIP = 4
#: a reference: optional loop/, segment id, optional [qualifier], optional element nn (or
#: ``*``, every element) and component -c
REF = re.compile(
    r"(?:([A-Z0-9_]{2,12})/)?([A-Z][A-Z0-9]{1,2}?)(?:\[([A-Z0-9]{1,3})\])?"
    r"(?:([0-9]{2}|\*)(?:-([0-9]{1,2}))?)?"
)
#: a loop's presence: its id alone (loop ids of the guides start with a digit)
LOOP = re.compile(r"[0-9][A-Z0-9]{3,5}")
#: the 999 codes a rule gives unless it names one: (segment, kind) -> code
DEFAULT_CODES = {
    (True, PRESENT): "I6",  # IK304: implementation dependent segment missing
    (True, ABSENT): "I9",  # IK304: implementation dependent "not used" segment present
    (False, PRESENT): "I9",  # IK403: implementation dependent data element missing
    (False, ABSENT): "I13",  # IK403: implementation dependent "not used" element present
}
#: IK403 of a value that breaks a rule: implementation pattern match failure
VALUE_CODE = "I12"
#: IK403 of a code that is not a code of its list, or not valid on its date
LIST_CODE = "7"
#: 277CA STC01-1 unless the rule names one: missing (A6), invalid (A7), relational (A8)
MISSING, INVALID, RELATIONAL = "A6", "A7", "A8"
#: 277CA STC01-2 unless the rule names one: missing or invalid information
MISSING_OR_INVALID = "21"


def rules_folder() -> Path:
    """The project's rule files (``maps/rules/``, packaged or the checkout's)."""
    return project_maps() / RULES_FOLDER


@functools.lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return xml_schema(rules_folder() / SCHEMA_NAME, RuleFileError, "rule-file")


def parse_ref(text: str) -> Ref | None:
    """``REF[F8]02`` -> a :class:`Ref`; None when ``text`` is not a reference."""
    if LOOP.fullmatch(text):
        return Ref(text, "", "", 0, 0, text)
    found = REF.fullmatch(text)
    if found is None:
        return None
    loop, segment, qualifier, element, component = found.groups()
    number = EVERY if element == "*" else int(element or 0)
    return Ref(text, segment, qualifier or "", number, int(component or 0), loop or "")


class _Loader:
    def __init__(self, file: Path) -> None:
        self.file = file

    def error(self, node: Any, message: str) -> RuleFileError:
        return RuleFileError(f"{self.file}:{source_line(node)}: {message}")

    def load(self) -> tuple[tuple[str, ...], list[Rule]]:
        try:
            doc = etree.parse(str(self.file))
        except (OSError, etree.XMLSyntaxError) as exc:
            raise RuleFileError(f"rule file {self.file} cannot be read: {exc}") from exc
        schema = _schema()
        if not schema.validate(doc):
            err: Any = getattr(schema.error_log, "last_error")  # noqa: B009 (untyped in the stubs)
            raise RuleFileError(f"{self.file}:{err.line}: {err.message}")
        root = doc.getroot()
        guides = tuple(root.get("guides", "").split())
        return guides, [self.rule(node) for node in root.iterchildren("rule")]

    def rule(self, node: Any) -> Rule:
        rule_id = node.get("id")
        conditions = tuple(
            (self.test(child),)
            if child.tag == "when"
            else tuple(self.test(when) for when in child.iterchildren("when"))
            for child in node.iterchildren("when", "any")
        )
        must = next(node.iterchildren("must"))
        requirement = self.test(must)
        if requirement.ref.loop and requirement.ref.segment:
            raise self.error(
                must,
                f"{must.get('at')}: a must reads the rule's own loop (or a loop's presence "
                "inside it); name another loop's segments in a when, equals or differs",
            )
        segment = not requirement.ref.element
        kind = requirement.kind
        if segment and kind not in (PRESENT, ABSENT):
            raise self.error(must, f"{must.get('at')} is a segment: it can be present or absent")
        default = LIST_CODE if kind == LIST else VALUE_CODE
        code = node.get("code") or DEFAULT_CODES.get((segment, kind), default)
        # a segment rule's finding is an IK304 (and so is an element required in a
        # segment that is not there); an element rule's an IK403
        table = "IK304" if segment else "IK403"
        if codes.describe(codes.ACK_LISTS[table], code) is None:
            raise self.error(node, f"code {code} is not an {table} code of the 999")
        category = node.get("category") or (
            MISSING if kind == PRESENT else RELATIONAL if conditions else INVALID
        )
        if codes.describe(codes.ACK_LISTS["STC01-1"], category) is None:
            raise self.error(node, f"category {category} is not a claim status category code")
        return Rule(
            rule_id,
            node.get("loop"),
            conditions,
            requirement,
            int(node.get("snip") or DEFAULT_SNIP),
            code,
            category,
            node.get("status") or MISSING_OR_INVALID,
            " ".join(node.get("message").split()),
            str(self.file),
            source_line(node),
            node.get("severity") or "",
        )

    def test(self, node: Any) -> Test:
        ref = parse_ref(node.get("at"))
        if ref is None:  # the schema's pattern and REF agree; kept for the type checker
            raise self.error(node, f"{node.get('at')} is not a reference")
        given = [
            name
            for name in ("is", "in", "not-in", "length", "pattern", "equals", "differs", "list")
            if node.get(name) is not None
        ]
        if node.get("min") is not None or node.get("max") is not None:
            given.append("min/max")
        if len(given) != 1:
            raise self.error(
                node,
                f"<{node.tag} at={ref.text!r}> needs exactly one of is, in, not-in, length, "
                f"pattern, equals, differs, list, min/max (found {', '.join(given) or 'none'})",
            )
        name = given[0]
        if name != "list" and (node.get("on") is not None or node.get("qualifier") is not None):
            raise self.error(node, "on and qualifier go with a list test only")
        if ref.element == EVERY and name != "list":
            raise self.error(node, f"{ref.text} (every element) is tested with list only")
        if name == "is":
            what = node.get("is")
            if what == "unique":
                if node.tag != "must" or not ref.element:
                    raise self.error(node, "is=unique is a must on an element")
                return Test(ref, UNIQUE)
            return Test(ref, PRESENT if what == "present" else ABSENT)
        if not ref.segment:
            raise self.error(node, f"{ref.text} is a loop: test it with is=present or is=absent")
        if not ref.element:
            raise self.error(node, f"{ref.text} is a segment: test it with is=present or is=absent")
        if name == "in" or name == "not-in":
            values = frozenset(node.get(name).split())
            return Test(ref, IN if name == "in" else NOT_IN, values=values)
        if name == "length":
            return Test(ref, LENGTH, lengths=frozenset(int(n) for n in node.get("length").split()))
        if name == "pattern":
            try:
                pattern = re.compile(node.get("pattern"))
            except re.error as exc:
                raise self.error(node, f"pattern does not compile: {exc}") from exc
            return Test(ref, PATTERN, pattern=pattern)
        if name == "list":
            return self.list_test(node, ref)
        if name == "equals" or name == "differs":
            other = parse_ref(node.get(name))
            if other is None or other.element < 1:
                raise self.error(
                    node, f"{name} names an element, not a segment, a loop or every element"
                )
            return Test(ref, EQUALS if name == "equals" else DIFFERS, other=other)
        low, high = node.get("min"), node.get("max")
        return Test(
            ref,
            RANGE,
            low=Decimal(low) if low is not None else None,
            high=Decimal(high) if high is not None else None,
        )

    def list_test(self, node: Any, ref: Ref) -> Test:
        if ref.loop:
            raise self.error(
                node,
                f"{ref.text}: a list test reads the rule's own loop (its on= date may name "
                "another loop's element)",
            )
        names = tuple(node.get("list").split())
        for name in names:
            if name not in codes.SETS:
                raise self.error(
                    node, f"list {name} is not a code list edi knows ({', '.join(codes.SETS)})"
                )
        on = None
        if node.get("on") is not None:
            on = parse_ref(node.get("on"))
            if on is None or on.element < 1:
                raise self.error(
                    node, "on names an element holding a date, not a segment or every element"
                )
        qualifiers = frozenset((node.get("qualifier") or "").split())
        if qualifiers and not ref.component:
            raise self.error(node, "qualifier needs a component reference (HI*-2, SV101-2)")
        return Test(ref, LIST, lists=names, on=on, qualifiers=qualifiers)


def bind(rules: GuideRules, tmap: TransactionMap) -> None:
    """Check every loop and segment ``rules`` name against the guide ``tmap``: the loop is
    one of the guide's, each segment read is one of that loop's own (raises
    :class:`RuleFileError` naming the rule's file and line)."""
    in_loop: dict[str, set[str]] = {}
    #: loop id -> the loop ids inside it (at any depth), and the id of its first segment
    inside: dict[str, set[str]] = {}
    heads: dict[str, str] = {}
    for seg in tmap.segments:
        parent = seg.parent
        in_loop.setdefault(parent.id, set()).add(seg.id)
        heads.setdefault(parent.id, seg.id)
        up = parent.parent
        while isinstance(up, LoopDef):
            inside.setdefault(up.id, set()).add(parent.id)
            up = up.parent
    for rule in rules.rules:
        where = f"{rule.file}:{rule.line}: rule {rule.id}"
        own = in_loop.get(rule.loop)
        if own is None:
            raise RuleFileError(f"{where}: loop {rule.loop} is not in the {tmap.file.name} map")
        for ref in rule_refs(rule):
            loop = ref.loop or rule.loop
            if not ref.segment:  # a loop's presence: one inside the rule's loop
                if ref.loop not in inside.get(rule.loop, set()):
                    raise RuleFileError(
                        f"{where}: loop {ref.loop} is not inside loop {rule.loop} of the "
                        f"{tmap.file.name} map"
                    )
                ref.head = heads[ref.loop]
                continue
            segments = in_loop.get(loop)
            if segments is None:
                raise RuleFileError(f"{where}: loop {loop} is not in the {tmap.file.name} map")
            if ref.segment not in segments:
                raise RuleFileError(
                    f"{where}: segment {ref.segment} is not in loop {loop} of the "
                    f"{tmap.file.name} map"
                )


def load_rule_file(file: str | os.PathLike[str]) -> tuple[tuple[str, ...], list[Rule]]:
    """The guides and rules of one rule file (raises :class:`RuleFileError` naming file
    and line)."""
    return _Loader(Path(file)).load()


class RuleCatalog:
    """The rule files of ``maps/rules/`` and ``$EDI_MAPS/rules/``, then ``extra`` files (a
    partner's companion guide, ``[partners.NAME] rules``), by guide, each loaded and
    checked when a set of one of its guides first needs it."""

    def __init__(self, folders: list[Path] | None = None, extra: Sequence[Path] = ()) -> None:
        if folders is None:
            folders = [rules_folder()]
            maps = os.environ.get("EDI_MAPS")
            if maps:
                folders.append(Path(maps) / RULES_FOLDER)
        self.folders = folders
        self.extra = [Path(file) for file in extra]
        self._index: dict[str, list[Path]] | None = None
        self._loaded: dict[Path, tuple[tuple[str, ...], list[Rule]]] = {}
        self._guides: dict[str, GuideRules | None] = {}
        #: the compiled rules of each list of files (guides served by the same files share)
        self._layers: dict[tuple[str, ...], GuideRules] = {}

    def files(self) -> list[Path]:
        """Every rule file, in layering order (the project's first, the extra files last)."""
        return [
            *(
                f
                for folder in self.folders
                if folder.is_dir()
                for f in sorted(folder.glob("*.xml"))
            ),
            *self.extra,
        ]

    def index(self) -> dict[str, list[Path]]:
        """Guide -> its rule files, in layering order (only ``guides`` read)."""
        if self._index is None:
            found: dict[str, list[Path]] = {}
            for file in self.files():
                try:
                    guides = etree.parse(str(file)).getroot().get("guides", "")
                except (OSError, etree.XMLSyntaxError) as exc:
                    raise RuleFileError(f"rule file {file} cannot be read: {exc}") from exc
                for guide in guides.split():
                    found.setdefault(guide, []).append(file)
            self._index = found
        return self._index

    def load(self, file: Path) -> list[Rule]:
        loaded = self._loaded.get(file)
        if loaded is None:
            loaded = self._loaded[file] = load_rule_file(file)
        return loaded[1]

    def for_guide(self, guide: str) -> GuideRules | None:
        """The compiled rules of ``guide`` (GS08 or ST03), None when no file serves it."""
        if guide in self._guides:
            return self._guides[guide]
        files = tuple(str(f) for f in self.index().get(guide, []))
        found: GuideRules | None = None
        if files:
            found = self._layers.get(files)
            if found is None:
                rules: dict[str, Rule] = {}
                for file in files:
                    for rule in self.load(Path(file)):
                        rules.pop(rule.id, None)
                        rules[rule.id] = rule
                found = self._layers[files] = GuideRules(files, tuple(rules.values()))
        self._guides[guide] = found
        return found

    def check(self) -> int:
        """Load and check every rule file (raises on the first broken one); how many rules."""
        return sum(len(self.load(file)) for file in self.files())


@functools.lru_cache(maxsize=1)
def default_rules() -> RuleCatalog:
    """The rule catalog of this process (``$EDI_MAPS`` read once; clear to read again)."""
    return RuleCatalog()


__all__ = [
    "DEFAULT_SNIP",
    "bind",
    "KINDS",
    "RULES_FOLDER",
    "RuleCatalog",
    "default_rules",
    "load_rule_file",
    "parse_ref",
    "rules_folder",
]
