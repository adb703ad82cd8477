"""Partner configuration: typed loading with errors naming the partner, key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.config import load_settings
from edi.errors import ConfigError
from edi.partners import load_partners, our_pgp, partner, payer_aliases

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
SHA = "SHA256:" + "A" * 43


def settings_with(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    conf = tmp_path / "edi.toml"
    conf.write_text(text)
    return load_settings(env={"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(conf)})


def test_sftp_partner_with_defaults_and_relative_paths(tmp_path: Path) -> None:
    s = settings_with(
        tmp_path,
        f"""
[partners.acme]
host = "sftp.acme.example"
user = "edi"
key_file = "keys/acme"
host_fingerprints = ["{SHA}"]
[partners.acme.pgp]
signers = ["0x{FPR.lower()[:20]} {FPR.lower()[20:]}"]
public_key_file = "keys/acme.asc"
encrypt_acks = true
[pgp]
secret_key_file = "/etc/edi/secret.asc"
passphrase_env = "EDI_PGP_PASSPHRASE"
""",
    )
    p = partner(s, "acme")
    assert p.transport == "sftp" and p.port == 22 and p.after_pull == "archive"
    assert p.key_file == tmp_path / "keys" / "acme"
    assert p.known_hosts == tmp_path / "home" / "known_hosts"
    assert p.inbound == "inbound" and p.stable_seconds == 30 and "*.pgp" in p.patterns
    assert p.pgp is not None and p.pgp.signers == (FPR,) and p.pgp.require_signature
    assert p.pgp.expects_encrypted("a.x12")
    ours = our_pgp(s)
    assert ours is not None and ours.secret_key_file == Path("/etc/edi/secret.asc")
    with pytest.raises(ConfigError, match="EDI_PGP_PASSPHRASE, which is not set"):
        ours.passphrase({})
    assert ours.passphrase({"EDI_PGP_PASSPHRASE": "x"}) == "x"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('transport = "ftp"', "transport must be one of sftp, local, not 'ftp'"),
        ('host = "h"', "transport sftp needs user"),
        ('host = "h"\nuser = "u"', "transport sftp needs key_file"),
        ('transport = "local"', "transport local needs path"),
        ('transport = "local"\npath = "p"\nport = "22"', "port must be an integer"),
        ('transport = "local"\npath = "p"\nstable_secs = 3', "unknown key 'stable_secs'"),
        ('transport = "local"\npath = "p"\nafter_pull = "move"', "after_pull must be one of archive, delete, keep"),
        ('transport = "local"\npath = "p"\nhost_fingerprints = ["ab:cd"]', "not of the form SHA256:"),
        ('transport = "local"\npath = "p"\n[partners.acme.pgp]\nsigners = []', "require_signature is true but signers is empty"),
        ('transport = "local"\npath = "p"\n[partners.acme.pgp]\nsigners = ["nothex"]', "fingerprint"),
        ('transport = "local"\npath = "p"\n[partners.acme.pgp]\nrequire_signature = false\nencrypt_acks = true', "encrypt_acks needs public_key_file"),
    ],
)  # fmt: skip
def test_errors_name_the_partner_the_key_and_the_file(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:  # unknown keys when loaded, values when read
        load_partners(settings_with(tmp_path, f"[partners.acme]\n{body}\n"))
    text = str(caught.value)
    assert str(tmp_path / "edi.toml") in text and "partners.acme" in text
    assert message in text


def test_unknown_partner_lists_the_known(tmp_path: Path) -> None:
    s = settings_with(tmp_path, '[partners.one]\ntransport = "local"\npath = "x"\n')
    with pytest.raises(ConfigError, match=r"no partner 'two' .*known: one"):
        partner(s, "two")


def test_schedule_timezone_sets_and_ack_policy(tmp_path: Path) -> None:
    s = settings_with(
        tmp_path,
        '[partners.acme]\ntransport = "local"\npath = "x"\nschedule = "30 1 * * 1-5"\n'
        'timezone = "America/Chicago"\nsets = ["837P", "835"]\nack_999 = "errors"\n'
        'versions = ["005010X222A1", "005010X221A1"]\n',
    )
    p = partner(s, "acme")
    assert (p.schedule, p.timezone, p.sets, p.ack_999, p.versions) == (
        "30 1 * * 1-5",
        "America/Chicago",
        ("837P", "835"),
        "errors",
        ("005010X222A1", "005010X221A1"),
    )
    assert (
        partner(
            settings_with(tmp_path, '[partners.b]\ntransport = "local"\npath = "x"\n'), "b"
        ).schedule
        is None
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('schedule = "every night"', "is not a cron expression"),
        ('schedule = "61 * * *"', "is not a cron expression"),
        ('timezone = "Mars/Olympus"', "is not an IANA time zone name"),
        ('sets = ["270"]', "sets: '270' is not one of"),
        ('versions = ["5010"]', "versions: '5010' is not a GS08 version"),
        ('ack_999 = "never"', "ack_999 must be one of always, errors"),
    ],
)
def test_schedule_errors(tmp_path: Path, body: str, message: str) -> None:
    s = settings_with(tmp_path, f'[partners.acme]\ntransport = "local"\npath = "x"\n{body}\n')
    with pytest.raises(ConfigError, match=message):
        load_partners(s)


def test_partners_validate_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edi.cli import main

    (tmp_path / "share").mkdir()
    conf = tmp_path / "edi.toml"
    conf.write_text(
        '[partners.ok]\ntransport = "local"\npath = "share"\n'
        '[partners.far]\nhost = "h"\nuser = "u"\nkey_file = "missing_key"\n'
    )
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(conf)}
    result = CliRunner().invoke(main, ["partners", "validate"], env=env)
    assert result.exit_code == 1
    assert (
        f"{conf}: [partners.far] key_file: {tmp_path / 'missing_key'} does not exist"
        in result.output
    )
    assert (
        "[partners.far] no host key pinned" in result.output
        and "edi partners trust far" in result.output
    )
    conf.write_text('[partners.ok]\ntransport = "local"\npath = "share"\n')
    good = CliRunner().invoke(main, ["partners", "validate"], env=env)
    assert good.exit_code == 0 and "1 partner(s) configured: ok; no problems found" in good.output
    conf.write_text('[partners.ok]\ntransport = "local"\npath = "share"\nretries = -1\n')
    bad = CliRunner().invoke(main, ["partners", "validate"], env=env)
    assert bad.exit_code == 1 and "[partners.ok]: retries must be at least 0" in bad.output


def test_payer_aliases_by_partner(tmp_path: Path) -> None:
    s = settings_with(
        tmp_path,
        '[partners.payer]\ntransport = "local"\npath = "p"\n'
        'payer_aliases = { "PLAN77" = "PAYER01", "54321" = "PAYER01" }\n'
        '[partners.clinic]\ntransport = "local"\npath = "c"\n',
    )
    assert partner(s, "payer").payer_aliases == {"PLAN77": "PAYER01", "54321": "PAYER01"}
    assert partner(s, "clinic").payer_aliases == {}
    assert payer_aliases(s) == {"payer": {"PLAN77": "PAYER01", "54321": "PAYER01"}}
