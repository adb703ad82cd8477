"""Small synthetic X12 texts for reader tests (synthetic data only)."""

from __future__ import annotations


def isa(
    control: str = "000000001",
    el: str = "*",
    rep: str = "^",
    comp: str = ":",
    version: str = "00501",
) -> str:
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        "SENDER".ljust(15),
        "ZZ",
        "RECEIVER".ljust(15),
        "250101",
        "1200",
        rep,
        version,
        control,
        "0",
        "T",
        comp,
    ]
    return el.join(fields)


def interchange(
    body: list[str],
    *,
    control: str = "000000001",
    el: str = "*",
    term: str = "~",
    comp: str = ":",
    rep: str = "^",
    after: str = "\n",
    group_control: str = "1",
    version: str = "005010X220A1",
    fic: str = "BE",
) -> str:
    """ISA/GS/ST ... SE/GE/IEA around ``body`` (segments written with ``*``)."""
    st = ["ST*834*0001*" + version, *body]
    segments = [
        isa(control, el, rep, comp),
        f"GS*{fic}*SENDER*RECEIVER*20250101*1200*{group_control}*X*{version}",
        *st,
        f"SE*{len(st) + 1}*0001",
        f"GE*1*{group_control}",
        f"IEA*1*{control}",
    ]
    out = []
    for seg in segments:
        if not seg.startswith("ISA"):
            seg = seg.replace("*", el)
        out.append(seg + term + after)
    return "".join(out)


MEMBER = [
    "BGN*00*REF01*20250101*1200****2",
    "N1*P5*SAMPLE SPONSOR*FI*999000001",
    "N1*IN*SAMPLE PLAN*FI*999000002",
    "INS*Y*18*021*28*A***FT",
    "REF*0F*SAMPLEMBR001",
    "NM1*IL*1*SAMPLE*ALEX****34*999001234",
    "HD*021**HLT",
    "DTP*348*D8*20250101",
]
