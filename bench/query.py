"""Analyst listings and searches on a generated store of 1,000,000 claims (target: < 1 s each).

``python bench/query.py [--claims 1000000] [--home DIR] [--database URL] [--runs 3]``
builds (or reuses) a store with :mod:`bench.store_gen`, then times each query two ways:

- ``query_s``: the :mod:`edi.query` call in one warm process, best of ``--runs``
  (what a long-lived service would see);
- ``cli_s``: the ``edi`` executable end to end in a fresh process (interpreter start,
  imports, opening the store and the key ring, the query, decrypting and masking the
  page, printing), best of ``--runs``.

The target (under 1 s) is the store's answer, ``query_s``; ``cli_s`` is reported
beside it with its own verdict, since most of it is the interpreter and its imports. The report (JSON on stdout, a table on stderr) also gives the
query plan's first lines for each listing, so a full scan shows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 1.0
#: the rows of a listing page (the listings' default --limit)
PAGE_ROWS = 50
#: the day `report daily` is timed on (the generated files arrive 2025-01-01 to 2025-03-31)
REPORT_DAY = ("2025-03-03", "2025-03-04")
DEFAULT_HOME = ROOT / "bench" / "data" / "store-1m"


def _queries(samples: dict[str, Any]) -> list[tuple[str, list[str], Any]]:
    """(label, edi arguments, in-process call taking a context) for each measurement."""
    from edi.query import claims, dates, files, members, payments, report, search
    from edi.query.base import Page
    from edi.query.dates import DateRange

    span = DateRange(
        date.fromisoformat(samples["service_dates"]["start"]),
        date.fromisoformat(samples["service_dates"]["end"]),
    )
    open_end = dates.span(span.start, None)
    open_start = dates.span(None, span.end)
    payer = samples["busy_payer_id"]
    npi = samples["billing_npi"]
    partner = samples["partner"]
    pcn = samples["patient_control_numbers"][3]
    member = samples["member_ids"][2]
    ssn = samples["ssns"][1]
    pccn = samples["payer_claim_control_numbers"][4]

    def cl(flt: Any, sort: str | None = None, page: Any = None) -> Any:
        return lambda c: claims.list_claims(
            c.engine, c.decoder, c.index, flt, sort=sort, page=page or Page()
        )

    def find(target: str, value: str) -> Any:
        return lambda c: search.search(c.engine, c.decoder, c.index, target, value)

    F = claims.ClaimFilter
    return [
        ("claims list (newest first)", ["claims", "list"], cl(F())),
        ("claims list --partner", ["claims", "list", "--partner", partner], cl(F(partner=partner))),
        ("claims list --payer", ["claims", "list", "--payer", payer], cl(F(payer=payer))),
        (
            "claims list --billing-npi",
            ["claims", "list", "--billing-npi", npi],
            cl(F(billing_npi=npi)),
        ),
        (
            "claims list --from --to (one month)",
            ["claims", "list", "--from", str(span.start), "--to", str(span.end)],
            cl(F(service=span)),
        ),
        (
            "claims list --min-charge 2000 --sort -charge",
            ["claims", "list", "--min-charge", "2000", "--sort", "-charge"],
            cl(F(min_charge=Decimal(2000)), sort="-charge"),
        ),
        (
            "claims list --status denied",
            ["claims", "list", "--status", "denied"],
            cl(F(status="denied")),
        ),
        (
            "claims list --status unremitted",
            ["claims", "list", "--status", "unremitted"],
            cl(F(status="unremitted")),
        ),
        (
            "claims list --payer --from --to --status paid",
            [
                "claims",
                "list",
                "--payer",
                payer,
                "--from",
                str(span.start),
                "--to",
                str(span.end),
                "--status",
                "paid",
            ],
            cl(F(payer=payer, service=span, status="paid")),
        ),
        (
            "claims list --from (open end)",
            ["claims", "list", "--from", str(span.start)],
            cl(F(service=open_end)),
        ),
        (
            "claims list --to (open start)",
            ["claims", "list", "--to", str(span.end)],
            cl(F(service=open_start)),
        ),
        ("claims list --sort -lines", ["claims", "list", "--sort", "-lines"], cl(F(), "-lines")),
        (
            "claims list --sort partner",
            ["claims", "list", "--sort", "partner"],
            cl(F(), "partner"),
        ),
        (
            "claims list --offset 10000",
            ["claims", "list", "--offset", "10000"],
            cl(F(), page=Page(50, 10_000)),
        ),
        ("search --claim-id", ["search", "--claim-id", pcn], find("claim_id", pcn)),
        ("search --member-id", ["search", "--member-id", member], find("member_id", member)),
        ("search --ssn", ["search", "--ssn", ssn], find("ssn", ssn)),
        (
            "search --payer-claim-id",
            ["search", "--payer-claim-id", pccn],
            find("payer_claim_id", pccn),
        ),
        (
            "members list --line DEN",
            ["members", "list", "--line", "DEN"],
            lambda c: members.list_members(
                c.engine, c.decoder, c.index, members.MemberFilter(insurance_line="DEN")
            ),
        ),
        (
            "payments list --payer",
            ["payments", "list", "--payer", payer],
            lambda c: payments.list_payments(c.engine, payments.PaymentFilter(payer=payer)),
        ),
        (
            "files list",
            ["files", "list"],
            lambda c: files.list_files(c.engine, files.FileFilter()),
        ),
        (
            "transactions list --status rejected",
            ["transactions", "list", "--status", "rejected"],
            lambda c: files.list_transactions(c.engine, files.SetFilter(status="rejected")),
        ),
        (
            "report daily (one day)",
            ["report", "daily", "--since", REPORT_DAY[0], "--until", REPORT_DAY[1]],
            lambda c: report.daily(c.engine, _day(REPORT_DAY[0]), _day(REPORT_DAY[1])),
        ),
    ]


def _day(text: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Context:
    def __init__(self, home: Path, url: str) -> None:
        from edi.config import load_settings
        from edi.query.base import Decoder
        from edi.store.crypto import BlindIndex
        from edi.store.session import open_store

        settings = load_settings(env={"EDI_HOME": str(home), "EDI_DATABASE_URL": url})
        store = open_store(settings)
        self.engine = store.engine
        self.decoder = Decoder(store.ring)
        self.index = BlindIndex(store.ring)


def _edi() -> str:
    found = Path(sys.executable).parent / "edi"
    return str(found) if found.exists() else "edi"


def measure(home: Path, url: str, samples: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    ctx = Context(home, url)
    env = {**os.environ, "EDI_HOME": str(home), "EDI_DATABASE_URL": url, "EDI_CONFIG": ""}
    out = []
    for label, args, call in _queries(samples):
        times = []
        rows = call(ctx)  # warm the page cache and the statement cache
        for _ in range(runs):
            start = time.perf_counter()
            rows = call(ctx)
            times.append(time.perf_counter() - start)
        cli = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(
                # one page, as the in-process call: an export without --limit streams
                # every matching row
                [_edi(), *args, "--format", "json", *_page(args)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            cli = min(cli, time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{label}: edi exited {done.returncode}: {done.stderr[-500:]}")
        out.append(
            {
                "query": label,
                "rows": len(rows),
                "query_s": round(min(times), 4),
                "cli_s": round(cli, 3),
                "met": min(times) < TARGET_S,
                "cli_met": cli < TARGET_S,
            }
        )
        log(
            f"{label:50s} rows {len(rows):4d}  query {min(times) * 1000:8.1f} ms  cli {cli * 1000:7.0f} ms"
        )
    return out


def cli_floor() -> float:
    """A fresh interpreter importing what a listing imports (click, SQLAlchemy, the
    store's tables, the query and crypto modules): what every command pays before its
    query, best of 3."""
    code = "import edi.cli, edi.cli.analyst, edi.query.claims, edi.store.session, edi.store.keys"
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def _page(args: list[str]) -> list[str]:
    """``--limit 50`` for a listing (reports are whole: they take no --limit)."""
    return [] if args[0] == "report" else ["--limit", str(PAGE_ROWS)]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
    parser.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: SQLite in --home)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--markdown", action="store_true", help="rewrite the results in docs/BENCHMARKS.md"
    )
    args = parser.parse_args(argv)
    from bench.store_gen import generate_store

    url = args.database or f"sqlite:///{args.home / 'edi.sqlite3'}"
    args.home.mkdir(parents=True, exist_ok=True)
    log(f"store: {args.claims} claims in {url} (built once, then reused)")
    made = generate_store(
        url, args.home, args.claims, progress=lambda done, total: log(f"  {done}/{total} claims")
    )
    samples = made["samples"]
    results = measure(args.home, url, samples, args.runs)
    report = {
        "claims": args.claims,
        "database": url.split("://")[0],
        "counts": made.get("counts"),
        "db_bytes": made.get("db_bytes"),
        "cli_floor_s": cli_floor(),
        "target_s": TARGET_S,
        "results": results,
        "all_met": all(r["met"] for r in results),
    }
    print(json.dumps(report, indent=2))
    if args.markdown:
        rewrite_doc(markdown(report, args))
    return 0 if report["all_met"] else 1


def markdown(report: dict[str, Any], args: argparse.Namespace) -> str:
    import platform

    counts = report["counts"] or {}
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Run of {when}: `bench/query.py --claims {report['claims']}`, {report['database']}, "
        f"best of {args.runs} in process; CPython {platform.python_version()}, "
        f"{os.cpu_count()} cores. Store: {counts.get('claims', 0):,} claims, "
        f"{counts.get('service_lines', 0):,} service lines, "
        f"{counts.get('claim_payments', 0):,} claim payments, "
        f"{counts.get('members', 0):,} members, {counts.get('files', 0):,} files, "
        f"{(report['db_bytes'] or 0) / 1e9:.1f} GB. A fresh interpreter importing what a "
        f"listing imports: {report['cli_floor_s']:.2f} s. `edi` end to end: best of {args.runs}.",
        "",
        "| query | rows | in process s | under 1 s | `edi` end to end s | under 1 s |",
        "|---|--:|--:|---|--:|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| `{r['query']}` | {r['rows']} | {r['query_s']:.3f} | "
            f"{'yes' if r['met'] else 'no'} | {r['cli_s']:.2f} | "
            f"{'yes' if r['cli_met'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


START, END = "<!-- bench:query:start -->", "<!-- bench:query:end -->"


def rewrite_doc(table: str) -> None:
    doc = ROOT / "docs" / "BENCHMARKS.md"
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{table}{END}{tail}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
