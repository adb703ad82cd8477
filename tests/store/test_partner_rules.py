"""A partner's companion guide: its own rule file named in ``[partners.NAME] rules``,
layered after the project's for that partner's files only. The partner here requires a
prior authorization (REF*G1, at the claim or at the line) for one procedure code: a
claim without one is rejected alone on the 277CA with the partner's rule; another
partner's files, and `edi validate` without the rules, are not judged by it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.claim_sets import many_claims
from tests.store_support import (
    cli_env,  # noqa: F401 (the fixture env)
    cli_ok,
    run_cli,
)

RULE_ID = "ACME-2400-REF-G1-PRIOR-AUTH"
GUIDE = f"""<?xml version="1.0" encoding="UTF-8"?>
<rules kind="837P" guides="005010X222A1 005010X222A2">
  <!-- ACME's companion guide: office visits of CPT 99213 need a prior authorization
       number, at the claim (2300 REF*G1) or at the line (2400 REF*G1) -->
  <rule id="{RULE_ID}" loop="2400" snip="7" code="I6" category="A6"
        message="REF*G1 prior authorization is required for this procedure (ACME)">
    <when at="SV101-2" in="99213"/>
    <when at="2300/REF[G1]" is="absent"/>
    <must at="REF[G1]" is="present"/>
  </rule>
</rules>
"""


def authorized(index: int, segments: list[str]) -> list[str]:
    """Copy 1 carries the authorization at the claim, copy 3 at the 99213 line; the other
    copies none."""
    if index == 1:
        at = next(i for i, s in enumerate(segments) if s.startswith("REF*D9*"))
        return [*segments[:at], "REF*G1*AUTH0001", *segments[at:]]
    if index == 3:
        line = next(i for i, s in enumerate(segments) if s.startswith("SV1*HC:99213*"))
        return [*segments[: line + 2], "REF*G1*AUTH0003", *segments[line + 2 :]]
    return segments


def configure(env: dict[str, str], tmp_path: Path) -> Path:
    home = Path(env["EDI_HOME"])
    guide = home / "acme-guide.xml"
    guide.write_text(GUIDE)
    (home / "edi.toml").write_text(
        "[partners.acme]\n"
        'transport = "local"\n'
        f'path = "{tmp_path}"\n'
        'rules = ["acme-guide.xml"]\n'
        "\n[partners.beta]\n"
        'transport = "local"\n'
        f'path = "{tmp_path}"\n'
    )
    (home / "edi.toml").chmod(0o600)
    return guide


def test_a_partners_companion_guide_rejects_its_claims_alone(
    env: dict[str, str], tmp_path: Path
) -> None:
    configure(env, tmp_path)
    path = many_claims(tmp_path, 5, authorized)
    acks = tmp_path / "acks"
    done = run_cli(env, "ingest", "--partner", "acme", "--ack-dir", str(acks), str(path))
    assert done.exit_code == 0, done.output
    assert "claims rejected 3" in done.output, done.output

    listed = json.loads(cli_ok(env, "claims", "list", "--format", "json"))
    assert [c["intake"] for c in listed] == [
        "rejected",
        "accepted",
        "rejected",
        "accepted",
        "rejected",
    ]
    for claim in listed:
        shown = json.loads(cli_ok(env, "claims", "show", claim["id"], "--format", "json"))
        if claim["intake"] == "accepted":
            assert not shown["edits"]
            continue
        (finding,) = shown["edits"]
        assert finding["edit"] == RULE_ID and finding["snip"] == 7, finding
        assert finding["loop"] == "2400" and finding["code"] == "I6", finding
    text = {p.suffix: p.read_text() for p in acks.iterdir()}
    assert text[".999"].count("IK3*REF*") == 3 and "IK5*E" in text[".999"]
    stc = [s for s in text[".277"].replace("\n", "").split("~") if s.startswith("STC*A")]
    assert sum(s.startswith("STC*A6:21") for s in stc) == 3
    assert sum(s.startswith("STC*A2:20") for s in stc) == 2


def test_another_partners_files_and_plain_validate_are_not_judged_by_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    guide = configure(env, tmp_path)
    path = many_claims(tmp_path, 3, authorized)
    done = run_cli(env, "ingest", "--partner", "beta", str(path))
    assert done.exit_code == 0 and "claims rejected" not in done.output, done.output

    plain = run_cli(env, "validate", "--format", "json", str(path))
    assert RULE_ID not in plain.output
    for args in (["--partner", "acme"], ["--rules", str(guide)]):
        judged = run_cli(env, "validate", *args, "--format", "json", str(path))
        assert judged.output.count(RULE_ID) == 2, judged.output  # copies 0 and 2


def test_a_missing_or_broken_guide_is_refused_naming_the_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    guide = configure(env, tmp_path)
    guide.unlink()
    done = run_cli(env, "ingest", "--partner", "acme", str(many_claims(tmp_path, 1)))
    assert done.exit_code != 0 and "acme-guide.xml is not a file" in done.output, done.output

    guide.write_text(GUIDE.replace('is="present"', 'is="there"'))
    done = run_cli(env, "validate", "--partner", "acme", str(many_claims(tmp_path, 1)))
    assert done.exit_code != 0
    assert f"{guide}:" in done.output and "Traceback" not in done.output, done.output
