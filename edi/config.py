"""Where edi keeps its data and finds its configuration, decided in one place.

``EDI_HOME``          data directory: embedded SQLite store, key ring, staging, archive
                      (default: the per-user data directory, e.g. ``~/.local/share/edi``)
``EDI_CONFIG``        the TOML configuration (a file, or a folder of ``*.toml`` files);
                      ``--config`` overrides it (default: ``$EDI_HOME/edi.toml`` if present)
``EDI_DATABASE_URL``  SQLAlchemy URL of the store; ``--database`` overrides it
                      (default: ``sqlite:///$EDI_HOME/edi.sqlite3``)
``EDI_MAPS``          extra folder of implementation-guide maps (default: the project's ``maps/``)
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edi.errors import ConfigError

APP = "edi"

#: keys renamed: (table, deprecated name) -> new name. The deprecated name is still read
#: (by whoever reads the key) when it is the only one given; both given is an error.
RENAMED_KEYS: dict[tuple[str, str], str] = {
    ("flows", "claim_ttl_seconds"): "lease_ttl_seconds",
}


def default_home() -> Path:
    """The per-user data directory for this platform."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved locations; build with :func:`load_settings`."""

    home: Path
    config_path: Path | None
    database_url: str
    options: dict[str, Any]

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def keyring_path(self) -> Path:
        return self.home / "keyring.json"

    def ensure_home(self) -> Path:
        """Create the data directory (and its private subfolders) with owner-only access."""
        for path in (self.home, self.staging_dir, self.archive_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.home


def _check_renamed(file: Path, data: dict[str, Any], seen: dict[tuple[str, str], Path]) -> None:
    """Refuse a key given under both its name and its deprecated name (in one file or
    in two files of a configuration folder); ``seen``: (table, key) -> the file setting it."""
    for (table, old), new in RENAMED_KEYS.items():
        section = data.get(table)
        if not isinstance(section, dict):
            continue
        for key in (old, new):
            if key in section:
                seen.setdefault((table, key), file)
        if (table, old) in seen and (table, new) in seen:
            where = sorted({str(seen[(table, old)]), str(seen[(table, new)])})
            raise ConfigError(
                f"{' and '.join(where)}: [{table}] sets both {new} and {old} (its deprecated "
                f"name): keep {new} only"
            )


def _read_config(path: Path) -> dict[str, Any]:
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    merged: dict[str, Any] = {}
    seen: dict[tuple[str, str], Path] = {}
    for file in files:
        try:
            with file.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"{file}: configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        _check_renamed(file, data, seen)
        for key, value in data.items():
            if key in merged and not (isinstance(value, dict) and isinstance(merged[key], dict)):
                raise ConfigError(f"{file}: key {key!r} is already set by an earlier file")
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def load_settings(
    config: str | Path | None = None,
    database: str | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Resolve settings: explicit arguments, then environment, then defaults."""
    env = dict(os.environ) if env is None else env
    home = Path(env["EDI_HOME"]).expanduser() if env.get("EDI_HOME") else default_home()
    config_path: Path | None
    if config is not None:
        config_path = Path(config).expanduser()
    elif env.get("EDI_CONFIG"):
        config_path = Path(env["EDI_CONFIG"]).expanduser()
    else:
        candidate = home / "edi.toml"
        config_path = candidate if candidate.exists() else None
    options = _read_config(config_path) if config_path is not None else {}
    url = database or env.get("EDI_DATABASE_URL") or options.get("database", {}).get("url")
    if not url:
        url = f"sqlite:///{home / 'edi.sqlite3'}"
    return Settings(home=home, config_path=config_path, database_url=url, options=options)
