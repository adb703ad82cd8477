"""Exports and filters of the analyst listings on a generated store of 10,000 claims.

``--format csv|json`` writes every matching row (streamed, in constant memory) unless a
``--limit`` is given; tables keep their page; one-sided date ranges go through the month
indexes; every sort key a listing's help names works.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edi.access import os_user
from edi.cli.analyst import REVEAL_ENTRY_IDS
from edi.generate import generate
from edi.query.base import STREAM_BATCH
from tests.conftest import SAMPLES
from tests.store.test_analyst_cli import Store

#: claims per generated file, and files
PER_FILE, FILES = 2_000, 5
TOTAL = PER_FILE * FILES
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Store:
    home = tmp_path_factory.mktemp("exports") / "home"
    kit = Store(home)
    kit.ok("keys", "init")
    made = []
    for n in range(FILES):
        path = home.parent / f"claims-{n}.x12"
        generate("837P", PER_FILE, path)
        # each file its own interchange (ISA13, IEA02): files differ, none is a duplicate
        path.write_text(path.read_text().replace("000000301", f"{301 + n:09d}"))
        made.append(str(path))
    made.append(str(SAMPLES / "834-enrollment.x12"))
    kit.ok("ingest", "--partner", "acme", *made, str(SAMPLES / "835-remittance-837P.x12"))
    kit.ok("ingest", "--partner", "beta", str(SAMPLES / "835-remittance.x12"))
    return kit


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_has_every_claim_without_a_flag(big: Store):
    rows = csv_rows(big.ok("claims", "list", "--format", "csv"))
    assert len(rows) == TOTAL
    assert len({r["id"] for r in rows}) == TOTAL
    received = [r["received"] for r in rows]
    assert received == sorted(received, reverse=True)  # newest file first, as a page is


def test_json_export_is_complete_and_the_page_is_its_start(big: Store):
    everything = json.loads(big.ok("claims", "list", "--format", "json"))
    assert len(everything) == TOTAL
    page = json.loads(big.ok("claims", "list", "--format", "json", "--limit", "50"))
    assert page == everything[:50]
    later = json.loads(big.ok("claims", "list", "--format", "json", "--offset", "9990"))
    assert [r["id"] for r in later] == [r["id"] for r in everything[9990:10040]]
    files = json.loads(big.ok("files", "list", "--format", "json"))
    assert len(files) == FILES + 3
    sets = json.loads(big.ok("transactions", "list", "--format", "json"))
    assert len(sets) >= FILES + 3


def test_sorted_export_streams_every_row_in_order(big: Store):
    rows = csv_rows(big.ok("claims", "list", "--sort", "-charge", "--format", "csv"))
    assert len(rows) == TOTAL
    charges = [float(r["charge"]) for r in rows]
    assert charges == sorted(charges, reverse=True)


def test_table_keeps_its_default_page(big: Store):
    out = big.ok("claims", "list")
    lines = out.strip().splitlines()
    assert len(lines) == 1 + 50 + 1 and lines[-1].startswith("showing 1-50 of more than 50")


def test_an_export_with_a_limit_is_that_page(big: Store):
    rows = csv_rows(big.ok("claims", "list", "--format", "csv", "--limit", "120"))
    assert len(rows) == 120


def _peak_kb(home: Path, args: list[str], out: Path) -> int:
    """Peak resident memory (KiB) of one `edi` run in a fresh interpreter, stdout to ``out``."""
    code = (
        "import resource, sys\n"
        "from edi.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    env = {**os.environ, **Store(home).env(), "PYTHONPATH": str(ROOT)}
    with out.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
    return int(done.stderr.strip().splitlines()[-1])


def test_export_memory_does_not_grow_with_the_row_count(big: Store, tmp_path: Path):
    one = json.loads(big.ok("files", "list", "--format", "json"))
    claim_file = next(f["id"] for f in one if f["name"].startswith("claims-"))
    small = _peak_kb(
        big.home, ["claims", "list", "--format", "csv", "--file", claim_file], tmp_path / "s"
    )
    large = _peak_kb(big.home, ["claims", "list", "--format", "csv"], tmp_path / "l")
    assert len(csv_rows((tmp_path / "s").read_text())) == PER_FILE
    assert len(csv_rows((tmp_path / "l").read_text())) == TOTAL
    # five times the rows, the same memory (holding 10,000 decoded rows costs ~20 MB)
    assert large - small < 4_096, (small, large)


def _sort_keys(big: Store, *command: str) -> list[str]:
    text = " ".join(big.ok(*command, "--help").split())
    found = re.search(r"Sort keys: ([a-z, ]+)\.", text)
    assert found, text
    return [k.strip() for k in found.group(1).split(",")]


LISTINGS = [
    ("claims", "list"),
    ("members", "list"),
    ("payments", "list"),
    ("files", "list"),
    ("transactions", "list"),
]


@pytest.mark.parametrize("command", LISTINGS, ids=" ".join)
def test_every_sort_key_the_help_names_works(big: Store, command: tuple[str, str]):
    keys = _sort_keys(big, *command)
    assert "received" in keys
    for key in keys:
        for sort in (key, f"-{key}"):
            page = big.run(*command, "--sort", sort, "--limit", "5", "--format", "json")
            assert page.exit_code == 0, (sort, page.output)
            assert isinstance(json.loads(page.output), list)


@pytest.mark.parametrize("key", ["lines", "charge"])
def test_claims_sort_keys_order_the_rows(big: Store, key: str):
    def page(sort: str) -> list[float]:
        out = big.ok("claims", "list", "--sort", sort, "--limit", "300", "--format", "json")
        return [float(r[key]) for r in json.loads(out)]

    rising, falling = page(key), page(f"-{key}")
    assert rising == sorted(rising) and falling == sorted(falling, reverse=True)
    assert rising[0] < falling[0]


@pytest.mark.parametrize("sort", ["partner", "-partner"])
def test_sorting_by_partner_walks_the_files_by_partner(big: Store, sort: str):
    for command in (("payments", "list"), ("claims", "list")):
        out = big.ok(*command, "--sort", sort, "--limit", "10000", "--format", "json")
        partners = [r["partner"] for r in json.loads(out)]
        assert partners == sorted(partners, reverse=sort.startswith("-"))
    paid = json.loads(big.ok("payments", "list", "--sort", sort, "--format", "json"))
    assert {r["partner"] for r in paid} == {"acme", "beta"}


def _count(big: Store, *args: str) -> int:
    return len(csv_rows(big.ok(*args, "--format", "csv")))


def test_one_sided_service_date_ranges(big: Store):
    # the generated lines are dated 2025-01-10 and 2025-01-11
    assert _count(big, "claims", "list", "--from", "2025-01-01") == TOTAL
    assert _count(big, "claims", "list", "--from", "1990-06-15") == TOTAL
    assert _count(big, "claims", "list", "--from", "2025-01-12") == 0
    assert _count(big, "claims", "list", "--to", "2025-01-31") == TOTAL
    assert _count(big, "claims", "list", "--to", "2025-01-09") == 0
    on_11 = _count(big, "claims", "list", "--from", "2025-01-11")
    on_10 = _count(big, "claims", "list", "--to", "2025-01-10")
    both = _count(big, "claims", "list", "--from", "2025-01-10", "--to", "2025-01-10")
    assert 0 < on_11 < TOTAL and on_10 == both > 0


def test_the_readme_members_example_works(big: Store):
    # samples/834-enrollment.x12: three families, each with DEN coverage from 2025-02-01
    den = json.loads(
        big.ok(
            "members", "list", "--line", "DEN", "--effective-from", "2025-01-15", "--format", "json"
        )
    )
    assert den and all("DEN" in r["coverage"] for r in den)
    later = big.ok(
        "members", "list", "--line", "DEN", "--effective-from", "2025-02-02", "--format", "json"
    )
    assert json.loads(later) == []
    until = json.loads(
        big.ok("members", "list", "--effective-to", "2025-02-01", "--format", "json")
    )
    assert {r["id"] for r in den} <= {r["id"] for r in until}
    assert (
        json.loads(big.ok("members", "list", "--effective-to", "2025-01-31", "--format", "json"))
        == []
    )


def test_a_revealing_export_puts_every_batch_on_record_once(big: Store):
    roles = {"phi-reader": [os_user()]}
    before = len(big.reveals())
    args = ("claims", "list", "--reveal", "--reason", "TICKET-77 export", "--format", "csv")
    rows = csv_rows(big.ok(*args, roles=roles))
    assert len(rows) == TOTAL and not any(r["claim_id"].startswith("****") for r in rows)
    entries = big.reveals()[before:]
    named = [i for e in entries for i in e.object["records"].get("claims", [])]
    assert sorted(named) == sorted(r["id"] for r in rows)  # each row once, none left out
    assert len(entries) >= TOTAL // STREAM_BATCH and all(
        0 < e.object["count"] <= REVEAL_ENTRY_IDS for e in entries
    )


@pytest.mark.parametrize(
    "command",
    [
        *LISTINGS,
        ("files", "list", "--unacknowledged"),
        ("search", "--claim-id", "SAMPLECLM101"),
    ],
    ids=" ".join,
)
def test_every_paging_listing_exports_without_a_limit(big: Store, command: tuple[str, ...]):
    for fmt in ("csv", "json"):
        result = big.run(*command, "--format", fmt)
        assert result.exit_code == 0, result.output
    (header, *_rows) = big.ok(*command, "--format", "csv").splitlines()
    assert header.startswith(("id,", "file_id,", "type,"))


def test_migration_0009_indexes_the_sort_keys(tmp_path: Path):
    from alembic import command
    from sqlalchemy import inspect

    from edi.store.db import make_engine
    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(f"sqlite:///{tmp_path}/s.sqlite3")

    def indexed() -> set[tuple[str, str]]:
        found = set()
        for table in ("claims", "payments", "members"):
            for index in inspect(engine).get_indexes(table):
                found |= {(table, column) for column in index["column_names"] if column}
        return found

    wanted = {("claims", "line_count"), ("payments", "amount"), ("members", "relationship")}
    upgrade(engine, "0008")
    assert not wanted & indexed()
    upgrade(engine, "0009")
    assert current_revision(engine) == "0009" and wanted <= indexed()
    command.downgrade(alembic_config(engine), "0008")
    assert not wanted & indexed()
    engine.dispose()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_bad_sort_fails_an_export_before_anything_is_written(big: Store, fmt: str):
    result = big.run("claims", "list", "--sort", "patient", "--format", fmt)
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot sort by 'patient'")
    assert "Traceback" not in result.output
