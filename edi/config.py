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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edi.errors import ConfigError

if TYPE_CHECKING:
    from edi.settings import (
        AuditTable,
        Checked,
        DatabaseTable,
        FlowsTable,
        IngestTable,
        KeysTable,
        OurPgpTable,
        PartnerTable,
        RolesTable,
    )

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
    """Resolved locations and the configuration; build with :func:`load_settings`.

    ``options`` is the configuration as read (merged TOML); each table's typed, checked
    values are attributes (``settings.flows.lease_ttl_seconds``, ``settings.partners``...,
    models in :mod:`edi.settings`). Reading a table whose values are wrong raises the
    :class:`~edi.errors.ConfigError` naming the file, the table and each key.
    """

    home: Path
    config_path: Path | None
    database_url: str
    options: dict[str, Any]
    #: (table, key) -> the file that set it (key None: the first file with the table)
    origins: dict[tuple[str, str | None], Path] = field(
        default_factory=dict, compare=False, repr=False
    )
    _checked: Checked | None = field(default=None, compare=False, repr=False)

    @property
    def checked(self) -> Checked:
        """The configuration validated table by table (done once, on first use)."""
        if self._checked is None:
            from edi.settings import check

            found = check(self.options, base=self.config_base, origin=self.origin)
            object.__setattr__(self, "_checked", found)
        assert self._checked is not None
        return self._checked

    @property
    def config_base(self) -> Path:
        """The folder relative paths of the configuration start from (the folder itself
        for a folder of files; the working directory without a configuration)."""
        path = self.config_path
        if path is None:
            return Path.cwd()
        return path if path.is_dir() else path.parent

    def origin(self, table: str, key: str | None = None) -> str:
        """The file that set ``[table] key`` (for messages)."""
        found = self.origins.get((table, key)) or self.origins.get((table, None))
        if found is not None:
            return str(found)
        return str(self.config_path) if self.config_path is not None else "configuration"

    def table(self, name: str) -> Any:
        """The typed table ``name``; ConfigError listing its problems when it has any."""
        problems = self.checked.problems.get(name)
        if problems:
            raise ConfigError("\n".join(problems))
        return self.checked.table(name)

    @property
    def database(self) -> DatabaseTable:
        return self.table("database")  # type: ignore[no-any-return]

    @property
    def keys(self) -> KeysTable:
        return self.table("keys")  # type: ignore[no-any-return]

    @property
    def audit(self) -> AuditTable:
        return self.table("audit")  # type: ignore[no-any-return]

    @property
    def ingest(self) -> IngestTable:
        return self.table("ingest")  # type: ignore[no-any-return]

    @property
    def flows(self) -> FlowsTable:
        return self.table("flows")  # type: ignore[no-any-return]

    @property
    def roles(self) -> RolesTable | None:
        """``[roles]`` as this configuration writes it, or None without one; roles are
        granted only from a trusted file (:func:`edi.access.access_for` decides)."""
        return self.table("roles")  # type: ignore[no-any-return]

    @property
    def pgp(self) -> OurPgpTable | None:
        """``[pgp]`` (our key), or None when absent."""
        return self.table("pgp")  # type: ignore[no-any-return]

    @property
    def partners(self) -> dict[str, PartnerTable]:
        """``[partners.NAME]`` tables by name (sorted)."""
        return dict(sorted(self.table("partners").root.items()))

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
        """Create the data directory (and its private subfolders) with owner-only access; one
        that exists already, owned by this user, loses any access of group and others. One
        that is not a directory, belongs to another user or cannot be written is a
        :class:`ConfigError` saying what to fix."""
        for path in (self.home, self.staging_dir, self.archive_dir):
            check_not_a_file(path)
            try:
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"EDI_HOME {self.home}: cannot create {path} ({exc.strerror}): "
                    "set EDI_HOME to a folder this user may write"
                ) from None
            info = path.stat()
            if info.st_uid != os.geteuid():
                raise ConfigError(
                    f"EDI_HOME {self.home}: {path} belongs to {_user(info.st_uid)}, not to "
                    f"{_user(os.geteuid())} who runs edi: run edi as its owner, or chown it"
                )
            if info.st_mode & 0o077:
                path.chmod(0o700)
            if not os.access(path, os.W_OK | os.X_OK):
                raise ConfigError(
                    f"EDI_HOME {self.home}: {path} is not writable by its owner "
                    f"(mode {info.st_mode & 0o777:o}): chmod 700 it"
                )
        return self.home


def check_not_a_file(path: Path) -> None:
    """A :class:`ConfigError` when ``path`` (EDI_HOME or a folder of it) exists and is not
    a directory."""
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"EDI_HOME {path} is not a directory: set EDI_HOME to the data folder "
            "(or remove the file)"
        )


def _user(uid: int) -> str:
    """``name (uid N)``, or ``uid N`` when the user has no name."""
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


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


def _read_config(path: Path) -> tuple[dict[str, Any], dict[tuple[str, str | None], Path]]:
    """The merged configuration, and which file set each (table, key)."""
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    merged: dict[str, Any] = {}
    origins: dict[tuple[str, str | None], Path] = {}
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
            origins.setdefault((key, None), file)
            if isinstance(value, dict):
                origins.update({(key, sub): file for sub in value})
    return merged, origins


def load_settings(
    config: str | Path | None = None,
    database: str | None = None,
    env: dict[str, str] | None = None,
    *,
    refuse_unknown: bool = True,
) -> Settings:
    """Resolve settings: explicit arguments, then environment, then defaults.

    The configuration is validated here (:mod:`edi.settings`): an unknown table or key
    raises :class:`ConfigError` at once, naming the file, the table and the key.
    """
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
    options: dict[str, Any] = {}
    origins: dict[tuple[str, str | None], Path] = {}
    if config_path is not None:
        options, origins = _read_config(config_path)
    settings = Settings(home, config_path, "", options, origins)
    # checked now: an unknown table or key is refused by every command; a wrong value by
    # whatever reads its table (and by edi config check)
    if options and refuse_unknown and settings.checked.unknown:
        raise ConfigError("\n".join(settings.checked.unknown))
    url = database or env.get("EDI_DATABASE_URL")
    if not url and "database" in options:
        try:
            url = settings.database.url
        except ConfigError:
            if refuse_unknown:
                raise  # else edi config check reports it
    if not url:
        url = f"sqlite:///{home / 'edi.sqlite3'}"
    return Settings(home, config_path, url, options, origins, settings._checked)
