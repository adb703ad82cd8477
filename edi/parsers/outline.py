"""An outline of a file for people: envelopes, maps used and the loop tree, no data values.

Only segment ids, loop ids, control numbers, versions and trading-partner ids appear:
nothing about a person (PHI) is read out of the segments.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, BinaryIO

from edi.parsers.reader import X12Reader
from edi.parsers.segments import Problem
from edi.parsers.structure import Located, StructureWalker

ENVELOPE_PATHS = frozenset({"ISA_LOOP", "GS_LOOP", ""})


def problem_dict(problem: Problem) -> dict[str, Any]:
    pos = problem.position
    return {
        "level": problem.level,
        "code": problem.code,
        "message": problem.message,
        "segment": pos.ordinal,
        "set_segment": pos.set_ordinal,
        "segment_id": pos.segment_id,
        "element": pos.element,
        "offset": pos.offset,
        "line": pos.line,
    }


class _Tree:
    """Builds nested loop instances from located segments, up to ``limit`` loop instances."""

    def __init__(self, limit: int) -> None:
        self.root: list[dict[str, Any]] = []
        self.stack: list[tuple[str, dict[str, Any]]] = []
        self.limit = limit
        self.loops = 0
        self.omitted = 0

    def add(self, located: Located) -> None:
        path = located.path.split("/")
        started = located.started
        keep = len(path) - len(started)
        stack = self.stack
        # keep the open loops shared with this segment's path, minus those begun anew
        depth = 0
        while depth < len(stack) and depth < keep and stack[depth][0] == path[depth]:
            depth += 1
        del stack[depth:]
        for loop_id in path[depth:]:
            node: dict[str, Any] = {"loop": loop_id, "segments": [], "loops": []}
            self.loops += 1
            if self.loops > self.limit:
                self.omitted += 1
                node["hidden"] = True
            else:
                siblings = stack[-1][1]["loops"] if stack else self.root
                if stack and stack[-1][1].get("hidden"):
                    node["hidden"] = True
                else:
                    siblings.append(node)
            stack.append((loop_id, node))
        if stack and not stack[-1][1].get("hidden"):
            seg_list = stack[-1][1]["segments"]
            seg_list.append(
                located.segment.id if located.node is not None else f"?{located.segment.id}"
            )


def outline(
    source: str | os.PathLike[str] | BinaryIO, name: str | None = None, *, max_loops: int = 200
) -> dict[str, Any]:
    """Envelope summary and loop tree of one file, as plain data (JSON-ready)."""
    reader = X12Reader(source, name)
    walker = StructureWalker()
    return _outline(reader, walker, walker.walk(reader), max_loops)


def _outline(
    reader: X12Reader, walker: StructureWalker, located: Iterable[Located], max_loops: int
) -> dict[str, Any]:
    interchanges: list[dict[str, Any]] = []
    group: dict[str, Any] | None = None
    tx: dict[str, Any] | None = None
    tree: _Tree | None = None
    for loc in located:
        seg = loc.segment
        if seg.id == "ISA" and seg.interchange is not None:
            ic = seg.interchange
            d = ic.delimiters
            interchanges.append(
                {
                    "control": ic.control,
                    "sender": {"qualifier": ic.sender[0], "id": ic.sender[1]},
                    "receiver": {"qualifier": ic.receiver[0], "id": ic.receiver[1]},
                    "date": ic.date,
                    "time": ic.time,
                    "version": ic.version,
                    "usage": ic.usage,
                    "ack_requested": ic.ack_requested,
                    "delimiters": d.as_dict(),
                    "line": seg.line,
                    "groups": [],
                    "_ic": ic,
                }
            )
        elif seg.id == "GS" and seg.group is not None and interchanges:
            grp = seg.group
            group = {
                "functional_id": grp.functional_id,
                "control": grp.control,
                "version": grp.version,
                "sender": grp.sender,
                "receiver": grp.receiver,
                "line": seg.line,
                "transactions": [],
                "_grp": grp,
            }
            interchanges[-1]["groups"].append(group)
        elif seg.id == "ST" and seg.transaction is not None and group is not None:
            ts = seg.transaction
            tree = _Tree(max_loops)
            tx = {
                "set": ts.set_id,
                "control": ts.control,
                "reference": ts.reference,
                "line": seg.line,
                "_ts": ts,
                "_tree": tree,
            }
            try:
                choice = walker.choose(ts)
                tx["map"] = choice.entry.file.name
                tx["map_version"] = choice.entry.vriic
            except Exception:  # the problem is already recorded on the transaction set
                tx["map"] = None
            group["transactions"].append(tx)
            tree.add(loc)
        elif seg.transaction is not None and tree is not None:
            tree.add(loc)
    owned: set[int] = set()
    for ic_dict in interchanges:
        ic = ic_dict.pop("_ic")
        owned.update(id(p) for p in ic.problems)
        ic_dict["problems"] = [problem_dict(p) for p in ic.problems]
        ic_dict["closed"] = ic.trailer is not None
        for grp_dict in ic_dict["groups"]:
            grp = grp_dict.pop("_grp")
            grp_dict["problems"] = [problem_dict(p) for p in grp.problems]
            owned.update(id(p) for p in grp.problems)
            for tx_dict in grp_dict["transactions"]:
                ts = tx_dict.pop("_ts")
                t = tx_dict.pop("_tree")
                tx_dict["segments"] = ts.segment_count
                tx_dict["problems"] = [problem_dict(p) for p in ts.problems]
                owned.update(id(p) for p in ts.problems)
                tx_dict["loops"] = t.root
                tx_dict["loop_instances"] = t.loops
                tx_dict["loops_omitted"] = t.omitted
    summary = reader.summary
    return {
        "file": reader.name,
        "size": summary.size,
        "encoding": summary.encoding,
        "bom": summary.bom,
        "segments": summary.segments,
        "interchanges": interchanges,
        "problems": [problem_dict(p) for p in summary.problems if id(p) not in owned],
        "warnings": [problem_dict(p) for p in walker.warnings],
    }
