"""Enrollment as state: a sequence of 834s made from the sample (additions, a change, a
termination, a reinstatement, a full file omitting two members) applied in order gives the
expected coverages as of three dates; each file sent twice changes nothing; each error an
enrollment system must catch is a finding on the member, rejected or flagged per partner."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from edi.store import member_state as st
from edi.store import models as m
from edi.store.crypto import FieldCipher
from tests.conftest import SAMPLES
from tests.store_support import StoreKit

SAMPLE = (SAMPLES / "834-enrollment.x12").read_text()
_SEGMENTS = [s.strip() for s in SAMPLE.split("~") if s.strip()]
HEADER = _SEGMENTS[3:11]  # BGN .. N1*IN
_INS = [i for i, s in enumerate(_SEGMENTS) if s.startswith("INS*")]
_SE = next(i for i, s in enumerate(_SEGMENTS) if s.startswith("SE*"))
#: the sample's members: ALEX the subscriber, JORDAN the spouse, CASEY a child
MEMBERS = {
    name: _SEGMENTS[start:end]
    for name, start, end in zip(("ALEX", "JORDAN", "CASEY"), _INS, [*_INS[1:], _SE], strict=True)
}
_numbers = itertools.count(201)


def member(name: str, ins03: str = "021", *, hd01: str | None = None, dates: str = "") -> list[str]:
    """The sample's member ``name`` with INS03 ``ins03``, each HD01 ``hd01`` (default the
    same) and, when given, ``dates`` (``348=YYYYMMDD,349=YYYYMMDD``) as each HD's DTPs."""
    pairs = [f"DTP*{q}*D8*{v}" for q, v in (p.split("=") for p in dates.split(",") if p)]
    out: list[str] = []
    for seg in MEMBERS[name]:
        el = seg.split("*")
        if el[0] == "INS":
            el[3] = ins03
        if el[0] == "DTP" and el[1] == "348" and pairs:
            continue
        if el[0] == "HD":
            el[1] = hd01 or ins03
            out += ["*".join(el), *pairs]
            continue
        out.append("*".join(el))
    return out


def file834(tmp_path: Path, members: list[list[str]], *, action: str = "2") -> Path:
    """An 834 of the sample's header and ``members``, with envelope numbers of its own."""
    n = next(_numbers)
    header = list(HEADER)
    bgn = header[0].split("*")
    bgn[2], bgn[8] = f"SAMPLE834{n:06d}", action
    header[0] = "*".join(bgn)
    body = [f"ST*834*{n:04d}*005010X220A1", *header, *(s for mem in members for s in mem)]
    body.append(f"SE*{len(body) + 1}*{n:04d}")
    isa = _SEGMENTS[0].split("*")
    isa[13] = f"{n:09d}"
    gs = _SEGMENTS[1].split("*")
    gs[6] = str(n)
    text = "~\n".join(["*".join(isa), "*".join(gs), *body, f"GE*1*{n}", f"IEA*1*{n:09d}"]) + "~\n"
    path = tmp_path / f"f{n}.x12"
    path.write_text(text)
    return path


def ingest(kit: StoreKit, path: Path, **policy: str):
    ingestor = kit.ingestor(partner="acme")
    ingestor.policy = dataclasses.replace(ingestor.policy, **policy)
    done = ingestor.ingest(path)
    assert done.status == m.STORED, done.line()
    return done


def names(kit: StoreKit) -> dict[str, str]:
    """member state id -> first name (decrypted, for the test's eyes only)."""
    cipher = FieldCipher(kit.ring)
    with kit.engine.connect() as conn:
        rows = conn.execute(select(m.MemberState.id, m.MemberState.phi)).all()
    return {
        r.id: st.unseal(cipher, "member_states", r.id, r.phi)["demographics"]["first_name"]
        for r in rows
    }


def as_of(kit: StoreKit, on: str, known_at: datetime | None = None) -> set[tuple[str, str]]:
    who = names(kit)
    with kit.engine.connect() as conn:
        found = st.coverages_as_of(conn, FieldCipher(kit.ring), on, known_at=known_at)
        return {(who[member_id], line or "") for member_id, line in found}


def snapshot(kit: StoreKit):
    """The state and history as rows (PHI decrypted), without the full files' marks."""
    cipher = FieldCipher(kit.ring)
    with kit.engine.connect() as conn:
        members = sorted(
            (r.id, r.status, str(st.unseal(cipher, "member_states", r.id, r.phi)))
            for r in conn.execute(select(m.MemberState))
        )
        coverages = sorted(
            (
                r.id,
                r.status,
                r.insurance_line,
                str(st.unseal(cipher, "coverage_states", r.id, r.phi)),
            )
            for r in conn.execute(select(m.CoverageState))
        )
        changes = conn.execute(select(func.count()).select_from(m.MemberChange)).scalar()
    return members, coverages, changes


def sequence() -> list[tuple[list[list[str]], str]]:
    """The files' members and BGN08: additions, a change, a termination, a
    reinstatement, a full file naming ALEX alone."""
    jordan = [
        s.replace("NM1*IL*1*SAMPLE*JORDAN", "NM1*IL*1*SAMPLE-DOE*JORDAN")
        for s in member("JORDAN", "001")
    ]
    return [
        ([member(n) for n in ("ALEX", "JORDAN", "CASEY")], "2"),
        ([jordan], "2"),
        ([member("CASEY", "024", dates="349=20250430")], "2"),
        ([member("CASEY", "025", dates="348=20250601")], "2"),
        ([member("ALEX", "030")], "4"),
    ]


BOTH = {"HLT", "DEN"}


def expect(*people: str) -> set[tuple[str, str]]:
    return {(p, line) for p in people for line in BOTH}


def test_a_sequence_of_834s_gives_the_state_as_of_three_dates(kit: StoreKit, tmp_path: Path):
    files = [file834(tmp_path, members, action=action) for members, action in sequence()]
    done = [ingest(kit, f) for f in files[:3]]
    after_term = datetime.now(UTC)
    done += [ingest(kit, f) for f in files[3:]]
    assert done[0].enrollment == {"added": 3}
    assert done[1].enrollment == {"changed": 1}
    assert done[2].enrollment == {"terminated": 1}
    assert done[3].enrollment == {"reinstated": 1}
    assert done[4].enrollment == {"unchanged": 1, "absent": 2, "full": True}
    assert as_of(kit, "2025-03-01") == expect("ALEX", "JORDAN", "CASEY")
    assert as_of(kit, "2025-05-15") == expect("ALEX", "JORDAN")
    assert as_of(kit, "2025-07-01") == expect("ALEX", "JORDAN", "CASEY")
    assert as_of(kit, "2025-01-15") == set()
    # bitemporal: as known before the reinstatement was received, CASEY ended in April
    assert as_of(kit, "2025-07-01", known_at=after_term) == expect("ALEX", "JORDAN")
    # the full file (reported, not terminated) names exactly the two members it omitted
    who = names(kit)
    with kit.engine.connect() as conn:
        absent = st.file_absent(conn, done[4].file_id)
        changed = st.file_changes(conn, done[1].file_id)
    assert sorted(who[i] for i, _ in absent) == ["CASEY", "JORDAN"]
    assert not any(terminated for _, terminated in absent)
    assert [(c["level"], c["outcome"], c["fields"]) for c in changed] == [
        ("member", "changed", ["last_name"])
    ]
    # the history keeps each change with its dates and the state after it
    casey = next(i for i, n in who.items() if n == "CASEY")
    with kit.engine.connect() as conn:
        history = st.changes(conn, FieldCipher(kit.ring), casey)
    assert [(h["level"], h["maintenance_type"], h["outcome"]) for h in history] == [
        ("member", "021", "added"),
        ("coverage", "021", "added"),
        ("coverage", "021", "added"),
        ("member", "024", "terminated"),
        ("coverage", "024", "terminated"),
        ("coverage", "024", "terminated"),
        ("member", "025", "reinstated"),
        ("coverage", "025", "reinstated"),
        ("coverage", "025", "reinstated"),
    ]
    assert history[4]["dates"] == {"349": "2025-04-30"}
    assert history[4]["after"] == {
        "status": "terminated",
        "begin": "2025-02-01",
        "end": "2025-04-30",
    }


def test_each_file_sent_twice_changes_nothing(kit: StoreKit, tmp_path: Path):
    for members, action in sequence():
        ingest(kit, file834(tmp_path, members, action=action))
        before = snapshot(kit)
        # the same members in another file (new envelope numbers: not a duplicate)
        second = ingest(kit, file834(tmp_path, members, action=action))
        assert set(second.enrollment) <= {"unchanged", "absent", "full"}, second.enrollment
        assert snapshot(kit) == before


def findings_of(kit: StoreKit, file_id: str) -> list[tuple[str, list[str]]]:
    with kit.engine.connect() as conn:
        return [(c["outcome"], c["findings"]) for c in st.file_changes(conn, file_id)]


def test_a_change_of_a_member_not_on_file_is_rejected(kit: StoreKit, tmp_path: Path):
    done = ingest(kit, file834(tmp_path, [member("ALEX", "001")]))
    assert findings_of(kit, done.file_id) == [("rejected", ["not_on_file"])]
    assert names(kit) == {}


def test_an_addition_of_an_active_member_is_rejected(kit: StoreKit, tmp_path: Path):
    ingest(kit, file834(tmp_path, [member("ALEX")]))
    before = snapshot(kit)
    moved = [s.replace("DMG*D8*19800101", "DMG*D8*19800102") for s in member("ALEX")]
    done = ingest(kit, file834(tmp_path, [moved]))
    assert findings_of(kit, done.file_id) == [("rejected", ["already_active"])]
    assert snapshot(kit)[:2] == before[:2]


def test_a_termination_before_the_begin_is_rejected(kit: StoreKit, tmp_path: Path):
    ingest(kit, file834(tmp_path, [member("ALEX")]))
    done = ingest(kit, file834(tmp_path, [member("ALEX", "024", dates="349=20250115")]))
    assert findings_of(kit, done.file_id) == [("rejected", ["end_before_begin"])]
    assert as_of(kit, "2025-03-01") == expect("ALEX")


def test_a_dependent_without_its_subscriber_is_rejected_or_flagged(kit: StoreKit, tmp_path: Path):
    done = ingest(kit, file834(tmp_path, [member("JORDAN")]))
    assert findings_of(kit, done.file_id) == [("rejected", ["no_subscriber"])]
    assert names(kit) == {}
    flagged = ingest(kit, file834(tmp_path, [member("CASEY")]), enrollment_errors="flag")
    assert flagged.enrollment == {"added": 1, "flagged": 1, "findings": {"no_subscriber": 1}}
    assert findings_of(kit, flagged.file_id)[0] == ("added", ["no_subscriber"])
    assert as_of(kit, "2025-03-01") == expect("CASEY")


def test_overlapping_coverages_of_one_line_are_rejected(kit: StoreKit, tmp_path: Path):
    alex = member("ALEX")
    hd = alex.index("HD*021**HLT*SAMPLE PPO PLAN*FAM")
    alex[hd + 2 : hd + 2] = ["HD*021**HLT*OTHER PLAN*IND", "DTP*348*D8*20250301"]
    done = ingest(kit, file834(tmp_path, [alex]))
    assert findings_of(kit, done.file_id) == [("rejected", ["overlap"])]


def test_a_full_file_terminates_the_absent_when_the_partner_says_so(kit: StoreKit, tmp_path: Path):
    ingest(kit, file834(tmp_path, [member(n) for n in ("ALEX", "JORDAN", "CASEY")]))
    done = ingest(
        kit,
        file834(tmp_path, [member("ALEX", "030")]),
        full_file_terminations="terminate",
    )
    assert done.enrollment == {"terminated": 2, "unchanged": 1, "absent": 2, "full": True}
    today = datetime.now(UTC).date().isoformat()
    assert as_of(kit, "2025-03-01") == expect("ALEX", "JORDAN", "CASEY")
    assert as_of(kit, "2099-01-01") == expect("ALEX")
    assert ("JORDAN", "HLT") in as_of(kit, today)


def test_migration_0012_adds_the_state_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect

    from edi.store.db import make_engine
    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(store_url)
    upgrade(engine, "0011")
    upgrade(engine, "0012")
    assert current_revision(engine) == "0012"
    tables = {"member_states", "coverage_states", "member_changes", "absent_members"}
    assert tables <= set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(engine), "0011")
    assert not tables & set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_first_full_file_adds_the_members_it_audits(kit: StoreKit, tmp_path: Path):
    """INS03 030 for members not yet on file (the first full file of a sponsor): added."""
    done = ingest(
        kit, file834(tmp_path, [member(n, "030") for n in ("ALEX", "JORDAN")], action="4")
    )
    assert done.enrollment == {"added": 2, "full": True}


def test_a_full_file_is_applied_a_batch_at_a_time(kit: StoreKit, tmp_path: Path, monkeypatch):
    """Memory held by the state stage does not grow with the file: members are looked up
    and a full file's absent ones read at most BATCH at a time; its next month reconciles
    exactly the families the generator omitted and changed."""
    from edi import generate as gen
    from edi.pipeline import member_state as pms

    batch = 25
    monkeypatch.setattr(pms, "BATCH", batch)
    monkeypatch.setattr(st, "BATCH", batch)
    held: list[int] = []
    load, absent = st.load_members, st.absent_ids

    def load_members(conn, cipher, sponsor, keys):
        keys = list(keys)
        held.append(len(keys))
        return load(conn, cipher, sponsor, keys)

    def absent_ids(conn, sponsor):
        for ids in absent(conn, sponsor):
            held.append(len(ids))
            yield ids

    monkeypatch.setattr(st, "load_members", load_members)
    monkeypatch.setattr(st, "absent_ids", absent_ids)
    families = 120
    full, nxt = tmp_path / "full.x12", tmp_path / "next.x12"
    gen.generate("834", families, full, enrollment=gen.Enrollment(full=True))
    gen.generate("834", families, nxt, enrollment=gen.Enrollment(next_month=True))
    first = ingest(kit, full)
    assert first.enrollment == {"added": 3 * families, "full": True}
    plan = gen.next_month_plan(families)
    second = ingest(kit, nxt)
    changed = plan["moved"] + 3 * plan["replanned"]
    assert second.enrollment == {
        "changed": changed,
        "unchanged": 3 * (families - plan["omitted"]) - changed,
        "absent": 3 * plan["omitted"],
        "full": True,
    }
    assert held and max(held) <= batch
    assert len(held) >= 2 * 3 * families // batch
    with kit.engine.connect() as conn:
        fields = [c["fields"] for c in st.file_changes(conn, second.file_id)]
    assert sorted(f for fs in fields for f in fs) == sorted(
        ["address_line1"] * plan["moved"] + ["HLT.plan"] * 3 * plan["replanned"]
    )


def _history(kit: StoreKit) -> tuple[list[dict], list, list]:
    """Every change in order, every member and coverage state: decrypted, without ids."""
    cipher = FieldCipher(kit.ring)
    random = ("id", "file_id", "received_at", "coverage_state_id")
    with kit.engine.connect() as conn:
        rows = conn.execute(select(m.MemberChange).order_by(m.MemberChange.id)).mappings()
        changes = [
            {k: v for k, v in st.decode_change(cipher, r).items() if k not in random} for r in rows
        ]
    members, coverages, _count = snapshot(kit)
    return changes, sorted(r[1:] for r in members), sorted(r[1:] for r in coverages)


def test_a_member_sent_as_last_applied_is_not_decrypted(kit: StoreKit, tmp_path: Path, monkeypatch):
    """A member sent again as it was last applied without findings is known by its
    fingerprint: its state is not read, and what is stored is what comparing the state in
    full stores (a second store doing so for every member)."""
    from edi import generate as gen
    from tests.store_support import make_kit

    families = 60
    full, nxt = tmp_path / "full.x12", tmp_path / "next.x12"
    gen.generate("834", families, full, enrollment=gen.Enrollment(full=True))
    gen.generate("834", families, nxt, enrollment=gen.Enrollment(next_month=True))
    plan = gen.next_month_plan(families)
    changed = plan["moved"] + 3 * plan["replanned"]
    read: list[int] = []
    load = st.load_members

    def load_members(conn, cipher, sponsor, keys):
        keys = list(keys)
        read.append(len(keys))
        return load(conn, cipher, sponsor, keys)

    monkeypatch.setattr(st, "load_members", load_members)
    ingest(kit, full)
    read.clear()
    fast = ingest(kit, nxt)
    assert sum(read) == changed  # the unchanged members' states were never decrypted

    # the same files in another store, every state read and compared in full
    known = st.fingerprints

    def no_fingerprints(conn, sponsor, keys):
        return {key: (state_id, None) for key, (state_id, _f) in known(conn, sponsor, keys).items()}

    monkeypatch.setattr(st, "fingerprints", no_fingerprints)
    other = make_kit(f"sqlite:///{tmp_path}/compared.sqlite3", tmp_path / "other", monkeypatch)
    ingest(other, full)
    slow = ingest(other, nxt)
    assert (
        fast.enrollment
        == slow.enrollment
        == {
            "changed": changed,
            "unchanged": 3 * (families - plan["omitted"]) - changed,
            "absent": 3 * plan["omitted"],
            "full": True,
        }
    )
    assert _history(kit) == _history(other)


def test_migration_0014_adds_fingerprints_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect

    from edi.store.db import make_engine
    from edi.store.migrate import alembic_config, current_revision, upgrade

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("member_states")}

    engine = make_engine(store_url)
    upgrade(engine, "0013")
    assert {"seen_file_id"} <= columns() and "fingerprint" not in columns()
    upgrade(engine, "0014")
    assert current_revision(engine) == "0014"
    assert "fingerprint" in columns() and "seen_file_id" not in columns()
    assert "uq_member_states_key" in {
        c["name"] for c in inspect(engine).get_unique_constraints("member_states")
    }
    command.downgrade(alembic_config(engine), "0013")
    assert "seen_file_id" in columns() and "fingerprint" not in columns()
    engine.dispose()
