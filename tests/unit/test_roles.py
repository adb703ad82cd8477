"""Where roles come from: only files the data's owner (or root) controls, never a
configuration the user chooses with --config or EDI_CONFIG.

Another owner of the data directory is simulated with os.chown (the tests run as root)
or with the uid ``access_for`` takes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edi.access import READ, REVEAL, ROLES, access_for, os_user
from edi.cli import main
from edi.config import load_settings
from edi.errors import AccessDenied, ConfigError
from tests.conftest import require

OTHER_UID = 54321  # no account: a data directory owned by somebody else


@pytest.fixture
def as_root() -> None:
    """chown to another user, and a file of root's, need root (skipped locally without
    it, failed in CI)."""
    require(hasattr(os, "geteuid") and os.geteuid() == 0, "root (to chown to another user)")


def grant(path: Path, roles: dict[str, list[str]], mode: int = 0o600) -> Path:
    lines = ["[roles]"] + [f"{role} = {users!r}".replace("'", '"') for role, users in roles.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(mode)
    return path


def home_of(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"EDI_CONFIG": "", **env})


REVEAL_ARGS = ("claims", "show", "abcdef12", "--reveal", "--reason", "TICKET-1234 check")


# -- a configuration the user chooses never grants a role ------------------------------------


def test_a_chosen_config_granting_phi_reader_is_refused(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    mine = grant(tmp_path / "mine.toml", {"phi-reader": [os_user()]})
    with pytest.raises(ConfigError) as refused:
        access_for(load_settings(config=mine, env={"EDI_HOME": str(home)}))
    message = str(refused.value)
    assert message.startswith(f"{mine}: [roles] is not read from a configuration given with")
    assert f"roles belong in {home / 'edi.toml'}" in message and "/etc/edi/roles.toml" in message


@pytest.mark.parametrize("how", ["--config", "EDI_CONFIG"])
def test_reveal_is_refused_with_the_users_own_roles(tmp_path: Path, how: str) -> None:
    home = home_of(tmp_path)
    mine = grant(tmp_path / "mine.toml", {"phi-reader": [os_user()], "analyst": [os_user()]})
    env = {"EDI_HOME": str(home)}
    if how == "--config":
        result = run(env, "--config", str(mine), *REVEAL_ARGS)
    else:
        result = run({**env, "EDI_CONFIG": str(mine)}, *REVEAL_ARGS)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "[roles] is not read from a configuration given with --config or EDI_CONFIG" in (
        result.output
    )
    assert f"roles belong in {home / 'edi.toml'}" in result.output
    who = run({**env, "EDI_CONFIG": str(mine)}, "whoami")
    assert who.exit_code == 1 and "[roles] is not read" in who.output


@pytest.mark.usefixtures("as_root")
def test_an_empty_chosen_config_gives_no_role_to_who_does_not_own_the_data(
    tmp_path: Path,
) -> None:
    home = home_of(tmp_path)
    os.chown(home, OTHER_UID, OTHER_UID)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    access = access_for(load_settings(config=empty, env={"EDI_HOME": str(home)}))
    assert access.roles == frozenset() and not access.configured
    result = run({"EDI_HOME": str(home), "EDI_CONFIG": str(empty)}, *REVEAL_ARGS)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "holds no role (there is no [roles] table and this user does not own the data" in (
        result.output
    )
    # the data's owner holds every role on the same settings
    owner = access_for(load_settings(config=empty, env={"EDI_HOME": str(home)}), uid=OTHER_UID)
    assert owner.roles == frozenset(ROLES)


def test_another_uid_holds_nothing_without_a_roles_table(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    settings = load_settings(env={"EDI_HOME": str(home)})
    assert access_for(settings, "me", uid=home.stat().st_uid).roles == frozenset(ROLES)
    stranger = access_for(settings, "eve", uid=home.stat().st_uid + 1)
    assert stranger.roles == frozenset()
    with pytest.raises(AccessDenied, match="does not own the data directory"):
        stranger.require(READ)


# -- the trusted places ----------------------------------------------------------------------


def test_the_data_directorys_own_config_grants_roles(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    trusted = grant(home / "edi.toml", {"phi-reader": ["pat"], "analyst": ["ana"]})
    # the same file whether found by default or named with --config
    for settings in (
        load_settings(env={"EDI_HOME": str(home)}),
        load_settings(config=trusted, env={"EDI_HOME": str(home)}),
    ):
        pat = access_for(settings, "pat")
        assert pat.roles == {"phi-reader"} and pat.allows(REVEAL) and pat.source == trusted
        nobody = access_for(settings, "eve")
        with pytest.raises(AccessDenied, match=r"\[roles\] in the configuration does not name"):
            nobody.require(READ)
    # a chosen configuration without [roles] keeps the data directory's roles
    other = tmp_path / "other.toml"
    other.write_text("[ingest]\nworkers = 1\n")
    ana = access_for(load_settings(config=other, env={"EDI_HOME": str(home)}), "ana")
    assert ana.roles == {"analyst"}


def test_the_trusted_config_grants_the_reveal_on_the_command_line(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    grant(home / "edi.toml", {"phi-reader": [os_user()]})
    who = run({"EDI_HOME": str(home)}, "whoami")
    assert who.exit_code == 0, who.output
    assert f"roles: phi-reader ([roles] in {home / 'edi.toml'})" in who.output
    assert "may reveal PHI" in who.output


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_trusted_config_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    home = home_of(tmp_path)
    trusted = grant(home / "edi.toml", {"phi-reader": [os_user()]}, mode=mode)
    with pytest.raises(ConfigError) as refused:
        access_for(load_settings(env={"EDI_HOME": str(home)}))
    assert str(refused.value).startswith(
        f"{trusted}: [roles] refused: the file is writable by group or others (mode {mode:04o})"
    )
    result = run({"EDI_HOME": str(home)}, *REVEAL_ARGS)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "writable by group or others" in result.output


@pytest.mark.usefixtures("as_root")
def test_a_trusted_config_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    trusted = grant(home / "edi.toml", {"phi-reader": [os_user()]})
    os.chown(trusted, OTHER_UID, OTHER_UID)
    with pytest.raises(ConfigError, match=rf"owned by uid {OTHER_UID}, not by the owner of"):
        access_for(load_settings(env={"EDI_HOME": str(home)}))
    # root's file in a directory another user owns is still trusted
    os.chown(trusted, 0, 0)
    os.chown(home, OTHER_UID, OTHER_UID)
    assert access_for(load_settings(env={"EDI_HOME": str(home)}), "pat").roles == frozenset()


@pytest.mark.usefixtures("as_root")  # the system file must be root's
def test_the_system_roles_file(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    system = grant(tmp_path / "roles.toml", {"auditor": ["aud"]}, mode=0o644)
    settings = load_settings(env={"EDI_HOME": str(home)})
    aud = access_for(settings, "aud", system=system)
    assert aud.roles == {"auditor"} and aud.source == system
    # it binds the data directory's owner too: only the users it names hold roles
    assert access_for(settings, "me", uid=home.stat().st_uid, system=system).roles == frozenset()
    system.chmod(0o664)
    with pytest.raises(ConfigError, match="writable by group or others"):
        access_for(settings, "aud", system=system)
    system.chmod(0o644)
    grant(home / "edi.toml", {"auditor": ["aud"]})
    with pytest.raises(ConfigError, match=r"both set \[roles\]: keep one"):
        access_for(settings, "aud", system=system)
    (home / "edi.toml").unlink()
    system.write_text('[roles]\nanalyst = ["ana"]\n[database]\nurl = "sqlite://"\n')
    with pytest.raises(ConfigError, match=r"a roles file holds only \[roles\], not database"):
        access_for(settings, "ana", system=system)


def test_bad_values_in_the_trusted_config_name_the_file(tmp_path: Path) -> None:
    home = home_of(tmp_path)
    trusted = home / "edi.toml"
    trusted.write_text('[roles]\nanalyst = "ana"\n')
    trusted.chmod(0o600)
    with pytest.raises(ConfigError) as refused:
        access_for(load_settings(env={"EDI_HOME": str(home)}), "ana")
    assert f"{trusted}: [roles]: analyst: expected a list of OS user names" in str(refused.value)


def test_config_check_reports_roles_in_a_chosen_configuration(tmp_path: Path) -> None:
    """edi config check calls a [roles] table in a --config file a problem (exit 1), since
    roles are never read from there."""
    from click.testing import CliRunner

    from edi.cli import main

    conf = tmp_path / "mine.toml"
    conf.write_text('[roles]\nphi-reader = ["me"]\n')
    done = CliRunner().invoke(
        main, ["config", "check", "--config", str(conf)], env={"EDI_HOME": str(tmp_path / "h")}
    )
    assert done.exit_code == 1 and "[roles] is not read from a configuration" in done.output
