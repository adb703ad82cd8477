"""The typed configuration: every table refuses an unknown key naming the file, the table
and the key; wrong types and ranges are refused; ``edi config check``; read-only commands
create nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edi.cli import main
from edi.config import load_settings
from edi.errors import ConfigError
from edi.settings import Config, known_keys, tables

TABLES = [(".".join(path).replace("NAME", "acme"), model) for path, model in tables()]
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
#: the tables a valid partner needs around a sub-table
PARTNER = '[partners.acme]\ntransport = "local"\npath = "share"\n'


def run(env: dict[str, str | None], *args: str) -> Result:
    base: dict[str, str | None] = {"EDI_CONFIG": None, "EDI_DATABASE_URL": None, "EDI_KEK": None}
    return CliRunner().invoke(main, list(args), env={**base, **env})


def test_the_model_lists_every_table() -> None:
    assert [name for name, _ in TABLES] == [
        "database",
        "keys",
        "audit",
        "ingest",
        "flows",
        "roles",
        "pgp",
        "partners.acme",
        "partners.acme.pgp",
    ]


@pytest.mark.parametrize(("table", "model"), TABLES, ids=[t for t, _ in TABLES])
def test_a_misspelt_key_is_refused_in_every_table(tmp_path: Path, table: str, model: type) -> None:
    conf = tmp_path / "edi.toml"
    prefix = PARTNER if table == "partners.acme.pgp" else ""
    conf.write_text(f"{prefix}[{table}]\nbogus_key = 1\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config=conf, env={"EDI_HOME": str(tmp_path / "home")})
    message = str(refused.value)
    word = "role" if table == "roles" else "key"
    assert message.startswith(f"{conf}: [{table}]: unknown {word} 'bogus_key' (known: ")
    assert f"(known: {', '.join(known_keys(model))})" in message
    # every command refuses it, before doing anything
    result = run({"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(conf)}, "whoami")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"[{table}]: unknown {word} 'bogus_key'" in result.output
    assert not (tmp_path / "home").exists()


def test_an_unknown_table_lists_the_known(tmp_path: Path) -> None:
    conf = tmp_path / "edi.toml"
    conf.write_text("[flow]\nlease_ttl_seconds = 60\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config=conf, env={"EDI_HOME": str(tmp_path)})
    assert str(refused.value) == (
        f"{conf}: unknown table [flow] (known tables: {', '.join(known_keys(Config))})"
    )


@pytest.mark.parametrize(
    ("text", "table", "problem"),
    [
        ('[database]\nurl = 3\n', "database", "url must be a non-empty string"),
        ('[keys]\nkek_env = ""\n', "keys", "kek_env must be a non-empty string"),
        ('[keys]\nkek_file = "k"\nkek_env = "K"\n', "keys", "set only one of kek_file and kek_env"),
        ("[audit]\ncheckpoint_every = -1\n", "audit", "checkpoint_every must be at least 0"),
        ("[audit]\ncheckpoint_every = 1.5\n", "audit", "checkpoint_every must be an integer"),
        ("[ingest]\nworkers = 3\n", "ingest", 'workers is "auto", 1 or 2, not 3'),
        ("[ingest]\nworkers = true\n", "ingest", 'workers is "auto", 1 or 2, not True'),
        ("[flows]\nlease_ttl_seconds = 0\n", "flows", "lease_ttl_seconds must be a positive number of seconds"),
        ('[flows]\nlease_ttl_seconds = "1h"\n', "flows", "lease_ttl_seconds must be a positive number of seconds"),
        ("[flows]\non_failure = []\n", "flows", "on_failure must be a non-empty command"),
        ('[roles]\nanalyst = "ana"\n', "roles", "analyst: expected a list of OS user names"),
        ('[pgp]\npassphrase_env = "P"\n', "pgp", "secret_key_file is required"),
        ('[pgp]\nsecret_key_file = "s.asc"\nsign_with = "nothex"\n', "pgp", "sign_with: not an OpenPGP fingerprint"),
        (PARTNER + 'port = "22"\n', "partners.acme", "port must be an integer"),
        (PARTNER + "port = 0\n", "partners.acme", "port must be at least 1"),
        (PARTNER + "port = 65536\n", "partners.acme", "port must be at most 65535"),
        (PARTNER + "stable_seconds = -1\n", "partners.acme", "stable_seconds must be at least 0"),
        (PARTNER + "timeout = 0\n", "partners.acme", "timeout must be at least 1"),
        (PARTNER + "retries = 1.5\n", "partners.acme", "retries must be an integer"),
        (PARTNER + 'patterns = "*.x12"\n', "partners.acme", "patterns must be a list"),
        (PARTNER + "patterns = [1]\n", "partners.acme", "patterns must be a list of strings"),
        (PARTNER + 'allow_duplicate_interchange = "yes"\n', "partners.acme", "allow_duplicate_interchange must be true or false"),
        (PARTNER + 'payer_aliases = { "PLAN1" = "" }\n', "partners.acme", "payer_aliases: '' is not a payer id (1-80 printable characters)"),
        (PARTNER + 'payer_aliases = { "PLAN1" = "PLAN1" }\n', "partners.acme", "payer_aliases: 'PLAN1' names itself"),
        (PARTNER + 'payer_aliases = ["PLAN1"]\n', "partners.acme", "payer_aliases"),
        (PARTNER + '[partners.acme.pgp]\nsigners = ["x"]\n', "partners.acme.pgp", "signers: not an OpenPGP fingerprint"),
        (PARTNER + f'[partners.acme.pgp]\nsigners = ["{FPR}"]\nencrypted = "maybe"\n', "partners.acme.pgp", "encrypted must be one of always, by-extension, never, not 'maybe'"),
    ],
)  # fmt: skip
def test_wrong_types_and_ranges_name_the_file_table_and_key(
    tmp_path: Path, text: str, table: str, problem: str
) -> None:
    conf = tmp_path / "edi.toml"
    conf.write_text(text)
    top = table.split(".")[0]
    with pytest.raises(ConfigError) as refused:  # [database] url is read when loaded
        settings = load_settings(config=conf, env={"EDI_HOME": str(tmp_path / "home")})
        settings.table(top)  # what settings.flows, settings.partners ... read
    assert f"{conf}: [{table}]: {problem}" in str(refused.value)
    result = run({"EDI_HOME": str(tmp_path / "home")}, "config", "check", "--config", str(conf))
    assert result.exit_code == 1
    assert f"{conf}: [{table}]: {problem}" in result.output
    assert f"[{table.removesuffix('.pgp')}] 1 problem(s)" in result.output


def test_typed_tables_and_their_defaults(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    conf = tmp_path / "edi.toml"
    conf.write_text(
        '[keys]\nkek_file = "keys/kek"\n[audit]\ncheckpoint_every = 5\n[ingest]\nworkers = 2\n'
        '[flows]\non_failure = ["/bin/alert", "--now"]\n[roles]\nphi-reader = [" pat "]\n' + PARTNER
    )
    s = load_settings(config=conf, env={"EDI_HOME": str(tmp_path / "home")})
    assert s.keys.kek_file == tmp_path / "keys" / "kek" and s.keys.kek_env is None
    assert s.audit.checkpoint_every == 5
    assert (s.ingest.workers, s.ingest.worker_count) == (2, 2)
    assert s.flows.lease_ttl_seconds == 3600.0 and s.flows.on_failure == ["/bin/alert", "--now"]
    assert s.roles is not None and s.roles.table() == {"phi-reader": frozenset({"pat"})}
    assert s.pgp is None and s.database.url is None
    assert list(s.partners) == ["acme"] and s.partners["acme"].path == tmp_path / "share"
    empty = load_settings(env={"EDI_HOME": str(tmp_path / "home")})
    assert empty.ingest.worker_count is None and empty.audit.checkpoint_every == 1000
    assert empty.roles is None and empty.partners == {}


def test_the_lease_time_default_is_the_leases_default() -> None:
    from edi.settings import LEASE_TTL_SECONDS
    from edi.store.leases import TTL_SECONDS

    assert TTL_SECONDS == LEASE_TTL_SECONDS


def test_a_folder_of_files_names_the_file_that_set_the_key(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "a.toml").write_text(PARTNER + "retries = -1\n")
    (folder / "b.toml").write_text("[flows]\non_failure = 'x'\n")
    (folder / "c.toml").write_text("[flows]\nlease_ttl_secs = 5\n")
    env = {"EDI_HOME": str(tmp_path / "home")}
    with pytest.raises(ConfigError) as refused:
        load_settings(config=folder, env=env)
    assert str(refused.value).startswith(
        f"{folder / 'c.toml'}: [flows]: unknown key 'lease_ttl_secs'"
    )
    (folder / "c.toml").unlink()
    settings = load_settings(config=folder, env=env)
    with pytest.raises(ConfigError) as wrong:
        settings.partners  # noqa: B018
    assert str(wrong.value) == f"{folder / 'a.toml'}: [partners.acme]: retries must be at least 0"
    result = run(env, "config", "check", "--config", str(folder))
    assert result.exit_code == 1
    assert f"configuration: {folder} (a.toml, b.toml)" in result.output
    assert f"{folder / 'a.toml'}: [partners.acme]: retries must be at least 0" in result.output
    assert "[flows] ok" in result.output and "[partners.acme] 1 problem(s)" in result.output


def test_config_check_on_a_good_configuration_names_no_secret(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    (tmp_path / "us.asc").write_text("not really a key\n")
    conf = tmp_path / "edi.toml"
    conf.write_text(
        '[database]\nurl = "postgresql+psycopg://edi:hunter2-secret@db.example/edi"\n'
        '[keys]\nkek_env = "MY_KEK"\n'
        '[pgp]\nsecret_key_file = "us.asc"\npassphrase_env = "MY_PASSPHRASE"\n' + PARTNER
    )
    env = {
        "EDI_HOME": str(tmp_path / "home"),
        "MY_KEK": "a2VrLXNlY3JldC12YWx1ZQ==",
        "MY_PASSPHRASE": "passphrase-secret",
    }
    result = run(env, "config", "check", "--config", str(conf))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"configuration: {conf}" in out
    assert f"home: {tmp_path / 'home'} (does not exist yet)" in out
    assert "database: postgresql+psycopg://edi:***@db.example/edi" in out
    for line in ("[database] ok", "[keys] ok", "[pgp] ok", "[partners.acme] ok"):
        assert line in out
    assert "[flows] not set: defaults" in out
    assert "1 partner(s) configured: acme; no problems found" in out
    for secret in ("hunter2-secret", "a2VrLXNlY3JldC12YWx1ZQ==", "passphrase-secret"):
        assert secret not in out
    assert not (tmp_path / "home").exists()  # checking creates nothing
    # the edi --config given to the group is what is checked without --config
    same = run(env, "--config", str(conf), "config", "check")
    assert same.exit_code == 0 and same.output == out
    # edi partners validate is the same check
    alias = run(env, "--config", str(conf), "partners", "validate")
    assert alias.exit_code == 0 and alias.output == out


def test_config_check_on_a_bad_configuration(tmp_path: Path) -> None:
    conf = tmp_path / "edi.toml"
    conf.write_text(
        '[database]\nurl = "postgresql+psycopg://edi:hunter2-secret@db.example/edi"\n'
        '[ingest]\nworkerz = 2\n[partners.acme]\nhost = "h"\nport = 0\n'
    )
    result = run({"EDI_HOME": str(tmp_path / "home")}, "config", "check", "--config", str(conf))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    out = result.output
    assert "database: postgresql+psycopg://edi:***@db.example/edi" in out
    assert f"{conf}: [ingest]: unknown key 'workerz' (known: workers)" in out
    assert f"{conf}: [partners.acme]: port must be at least 1" in out
    assert "[ingest] 1 problem(s)" in out and "[partners.acme] 1 problem(s)" in out
    assert "hunter2-secret" not in out and "no problems found" not in out
    unreadable = tmp_path / "bad.toml"
    unreadable.write_text("[flows\n")
    bad = run({"EDI_HOME": str(tmp_path / "home")}, "config", "check", "--config", str(unreadable))
    assert bad.exit_code == 1 and f"{unreadable}: not valid TOML" in bad.output


def test_config_check_and_the_renamed_key(tmp_path: Path) -> None:
    env = {"EDI_HOME": str(tmp_path / "home")}
    conf = tmp_path / "edi.toml"
    conf.write_text("[flows]\nclaim_ttl_seconds = 90\n")
    assert load_settings(config=conf, env=env).flows.lease_ttl_seconds == 90.0
    result = run(env, "config", "check", "--config", str(conf))
    assert result.exit_code == 0
    assert (
        f"note: {conf}: [flows] claim_ttl_seconds is deprecated: rename it lease_ttl_seconds"
        in result.output
    )
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "a.toml").write_text("[flows]\nclaim_ttl_seconds = 90\n")
    (folder / "b.toml").write_text("[flows]\nlease_ttl_seconds = 120\n")
    both = run(env, "config", "check", "--config", str(folder))
    assert both.exit_code == 1
    assert (
        f"{folder / 'a.toml'} and {folder / 'b.toml'}: [flows] sets both lease_ttl_seconds"
        in both.output
    )


def test_the_help_imports_no_pydantic() -> None:
    code = (
        "import sys\nfrom edi.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m.startswith('pydantic')], 'pydantic imported'\n"
        "from edi.config import load_settings\nload_settings(env={'EDI_HOME': '/nonexistent'})\n"
        "assert not [m for m in sys.modules if m.startswith('pydantic')], 'pydantic imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


READ_ONLY = [
    ["files", "list"],
    ["files", "show", "F1"],
    ["transactions", "list"],
    ["transactions", "show", "T1"],
    ["claims", "list"],
    ["claims", "show", "C1"],
    ["members", "list"],
    ["members", "show", "M1"],
    ["payments", "list"],
    ["payments", "show", "P1"],
    ["search", "--claim-id", "X1"],
    ["report", "daily"],
    ["audit", "log"],
    ["audit", "verify"],
    ["keys", "list"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a) for a in READ_ONLY])
def test_a_read_only_command_creates_no_store(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "absent" / "home"
    result = run({"EDI_HOME": str(home)}, *args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "no store at" in result.output or "no key ring at" in result.output
    assert not (tmp_path / "absent").exists()


def test_a_read_only_command_names_a_missing_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run({"EDI_HOME": str(home)}, "claims", "list")
    assert result.exit_code == 1
    assert f"no store at {home / 'edi.sqlite3'}: run edi ingest or edi db upgrade first" in (
        result.output
    )
    assert list(home.iterdir()) == []
    result = run({"EDI_HOME": str(tmp_path / "gone")}, "files", "list")
    assert f"no store at {tmp_path / 'gone'} (EDI_HOME does not exist)" in result.output


@pytest.mark.parametrize("args", [["config", "check"], ["partners", "list"], ["whoami"]])
def test_commands_that_read_only_the_configuration_create_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    home = tmp_path / "absent" / "home"
    result = run({"EDI_HOME": str(home)}, *args)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "absent").exists()


def test_the_operations_reference_names_every_table_and_key() -> None:
    text = (Path(__file__).parents[2] / "docs" / "OPERATIONS.md").read_text()
    reference = text[text.index("## Configuration reference") :]
    for path, model in tables():
        table = "[" + ".".join(path) + "]"
        rows = [line for line in reference.splitlines() if line.startswith(f"| `{table}` |")]
        assert rows, table
        for key in known_keys(model):
            if key == "pgp" and path == ("partners", "NAME"):
                continue  # the sub-table [partners.NAME.pgp]
            assert any(f"`{key}`" in row for row in rows), (table, key)
