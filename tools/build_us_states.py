"""Build maps/codes/us-state.tsv: the codes an address in the US may carry in N402.

    python tools/build_us_states.py OUT ISO_3166_2_JSON ISO_CODES_VERSION

The states, the District of Columbia and the outlying areas come from ISO 3166-2 as the
iso-codes project publishes it (Debian's package iso-codes: iso_3166-2.json, codes
US-XX); the USPS codes ISO 3166-2:US does not hold (the freely associated states FM, MH,
PW and the armed forces' AA, AE, AP) from USPS Publication 28, Appendix B, which lists
the two-letter codes of US mail. Either way the code is the USPS abbreviation X12 code
source 22 names for a US address.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

#: USPS Publication 28, Appendix B: codes of US mail that are not ISO 3166-2:US subdivisions
USPS_ONLY = {
    "AA": "Armed Forces Americas (USPS)",
    "AE": "Armed Forces Europe, the Middle East, Africa and Canada (USPS)",
    "AP": "Armed Forces Pacific (USPS)",
    "FM": "Federated States of Micronesia (USPS)",
    "MH": "Marshall Islands (USPS)",
    "PW": "Palau (USPS)",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("iso_json", type=Path)
    parser.add_argument("version")
    args = parser.parse_args()
    raw = args.iso_json.read_bytes()
    entries = json.loads(raw)["3166-2"]
    found = {
        e["code"][3:]: f"{e['name']} ({e['type'].lower()})"
        for e in entries
        if e["code"].startswith("US-")
    }
    lines = [
        "# US state, district, territory and military codes of an address (837 N402 when N404 is",
        "# absent: X12 code source 22, the USPS abbreviations)",
        "# Official lists: ISO 3166-2:US (the ISO 3166 Maintenance Agency) as published by the",
        "# iso-codes project, and USPS Publication 28 (Postal Addressing Standards), Appendix B.",
        f"# Source: iso-codes {args.version} (Debian package iso-codes), iso_3166-2.json, sha256 "
        f"{hashlib.sha256(raw).hexdigest()}: the {len(found)} subdivisions US-XX; plus "
        f"{', '.join(sorted(USPS_ONLY))} from USPS Publication 28, Appendix B",
        f"# Release: iso-codes {args.version}",
        "# Effective: 2000-01-01 to 2027-12-31",
        "# Built by tools/build_us_states.py; UM (US minor outlying islands, an ISO 3166-2:US",
        "# subdivision) is kept though USPS mail does not use it: a list errs towards accepting.",
        "# Coverage: complete",
        "# Format: code<TAB>start<TAB>stop<TAB>description",
    ]
    every = {**found, **USPS_ONLY}
    lines += [f"{code}\t\t\t{every[code]}" for code in sorted(every)]
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
