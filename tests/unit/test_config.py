"""Settings: flags beat environment, environment beats the file, the file beats defaults."""

from __future__ import annotations

import pytest

from edi.config import default_home, load_settings
from edi.errors import ConfigError


def test_defaults_live_under_the_per_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = load_settings(env={})
    assert settings.home == default_home() == tmp_path / "edi"
    assert settings.database_url == f"sqlite:///{tmp_path / 'edi' / 'edi.sqlite3'}"
    assert settings.config_path is None


def test_environment_and_flags(tmp_path):
    config = tmp_path / "edi.toml"
    config.write_text('[database]\nurl = "sqlite:///from-file.db"\n')
    env = {"EDI_HOME": str(tmp_path), "EDI_CONFIG": str(config)}
    assert load_settings(env=env).database_url == "sqlite:///from-file.db"
    env["EDI_DATABASE_URL"] = "postgresql+psycopg://localhost/edi"
    assert load_settings(env=env).database_url == "postgresql+psycopg://localhost/edi"
    assert load_settings(database="sqlite:///flag.db", env=env).database_url == "sqlite:///flag.db"


def test_home_config_is_found_and_folders_merge(tmp_path):
    (tmp_path / "edi.toml").write_text("[partners.acme]\nhost = 'a'\n")
    assert load_settings(env={"EDI_HOME": str(tmp_path)}).options["partners"]["acme"]["host"] == "a"
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "a.toml").write_text("[partners.acme]\nhost = 'a'\n")
    (folder / "b.toml").write_text("[partners.beta]\nhost = 'b'\n")
    merged = load_settings(config=folder, env={"EDI_HOME": str(tmp_path)}).options
    assert set(merged["partners"]) == {"acme", "beta"}


def test_bad_config_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[partners\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_settings(config=bad, env={"EDI_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(config=tmp_path / "missing.toml", env={"EDI_HOME": str(tmp_path)})


def test_ensure_home_is_private(tmp_path):
    settings = load_settings(env={"EDI_HOME": str(tmp_path / "home")})
    settings.ensure_home()
    assert (settings.home.stat().st_mode & 0o777) == 0o700
    assert settings.staging_dir.is_dir() and settings.archive_dir.is_dir()


def test_the_lease_time_and_its_deprecated_name(tmp_path):
    env = {"EDI_HOME": str(tmp_path)}
    config = tmp_path / "edi.toml"
    config.write_text("[flows]\nlease_ttl_seconds = 120\n")
    settings = load_settings(config=config, env=env)
    assert settings.flows.lease_ttl_seconds == 120.0
    # the old name is still read when it is the only one
    config.write_text("[flows]\nclaim_ttl_seconds = 90\n")
    settings = load_settings(config=config, env=env)
    assert settings.flows.lease_ttl_seconds == 90.0
    # both in one file: refused, naming the file and both keys
    config.write_text("[flows]\nlease_ttl_seconds = 120\nclaim_ttl_seconds = 90\n")
    with pytest.raises(ConfigError) as both:
        load_settings(config=config, env=env)
    message = str(both.value)
    assert message.startswith(f"{config}: [flows] sets both lease_ttl_seconds and ")
    assert "claim_ttl_seconds" in message
    # or in two files of a configuration folder: both files named
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "a.toml").write_text("[flows]\nclaim_ttl_seconds = 90\n")
    (folder / "b.toml").write_text("[flows]\nlease_ttl_seconds = 120\n")
    with pytest.raises(ConfigError) as split:
        load_settings(config=folder, env=env)
    message = str(split.value)
    assert message.startswith(f"{folder / 'a.toml'} and {folder / 'b.toml'}: [flows] sets both")
    assert "lease_ttl_seconds" in message and "claim_ttl_seconds" in message
