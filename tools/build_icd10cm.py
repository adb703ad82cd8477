"""Build maps/codes/icd10cm.tsv from several CMS ICD-10-CM releases.

    python tools/build_icd10cm.py OUT RELEASE:FROM:TO:LABEL ...

Each RELEASE is a CMS file edi.code_releases reads (an order file or a tabular list
XML) with the first and last day it was in effect (CCYY-MM-DD) and a label for the
header. The releases are given oldest first. A code's dates are the widest its releases
allow: a code missing from the oldest release starts the day after the period of the
last release before its first one ends; a code missing from the newest stops the day
before the first release without it begins. The file's Effective period runs from the
first release's start to the last one's end. Where the releases came from (the packages
that redistribute them) goes in the header through --note lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from edi import code_releases, codes


def _day(text: str, shift: int = 0) -> str:
    return (dt.date.fromisoformat(text) + dt.timedelta(days=shift)).strftime("%Y%m%d")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("releases", nargs="+")
    parser.add_argument("--note", action="append", default=[])
    args = parser.parse_args()
    releases = []
    for spec in args.releases:
        file, start, stop, label = spec.split(":", 3)
        fmt, found = code_releases.read_release(Path(file))
        releases.append((Path(file), start, stop, label, fmt, set(found)))
    entries: dict[str, codes.Code] = {}
    every = set().union(*(r[5] for r in releases))
    gaps = 0
    for code in every:
        listed = [i for i, r in enumerate(releases) if code in r[5]]
        first, last = listed[0], listed[-1]
        if len(listed) != last - first + 1:
            gaps += 1
        start = "" if first == 0 else _day(releases[first - 1][2], 1)
        stop = "" if last == len(releases) - 1 else _day(releases[last + 1][1], -1)
        entries[code] = codes.Code("", start, stop)
    header = [
        "ICD-10-CM diagnosis codes valid for a claim (837 HI, qualifiers ABK ABF ABJ ABN APR ...)",
        "Official list: ICD-10-CM, maintained by CMS and NCHS (https://www.cms.gov/medicare/coding-billing/icd-10-codes),",
        "new releases effective October 1 (and April 1 updates).",
        "Source: CMS ICD-10-CM releases (" + "; ".join(r[3] for r in releases) + ")",
        "Release: " + releases[-1][3],
        f"Effective: {releases[0][1]} to {releases[-1][2]}",
        "Releases read, oldest first (file, format, codes valid for a claim, sha256, in effect):",
        *(
            f"  {r[0].name} ({r[4]}, {len(r[5])} codes, sha256 {code_releases.sha256(r[0])}, "
            f"{r[1]} to {r[2]})"
            for r in releases
        ),
        *args.note,
        "Dates: a code listed by every release has none; otherwise its start and stop are the",
        "widest its releases allow (between two releases read, a code is taken as valid",
        "wherever either release lists it). Dates outside the Effective period are not judged.",
        f"Codes listed by an older and a newer release but not one between: {gaps}.",
        "Built by tools/build_icd10cm.py; descriptions are left out (the releases have them).",
    ]
    text = code_releases.render(entries, header)
    code_releases.write_list(args.out, text)
    print(f"{args.out}: {len(entries)} codes, {len(text)} bytes, {gaps} with a gap")


if __name__ == "__main__":
    main()
