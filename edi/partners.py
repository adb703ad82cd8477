"""Trading partners as the configuration declares them (``[partners.NAME]`` tables).

Each partner names its transport (``sftp`` or ``local``), its folders, the patterns of
files to take, what to do with a file on the server once stored (``archive``, ``delete``
or ``keep``), how long a file must stay unchanged before it is taken, and its OpenPGP
settings. Relative paths are taken from the configuration file's folder. Errors name
the partner, the key and the configuration file.

```toml
[partners.acme]
transport = "sftp"
host = "sftp.acme.example"
port = 22
user = "edi"
key_file = "keys/acme_ed25519"        # ed25519 or RSA; key_passphrase_env = "VAR"
known_hosts = "known_hosts"           # and/or host_fingerprints = ["SHA256:..."]
inbound = "inbound"                   # outbound = "outbound", archive = "archive"
patterns = ["*.x12", "*.pgp"]
after_pull = "archive"
stable_seconds = 30
schedule = "0 2 * * *"                # cron, in the partner's timezone
timezone = "America/Chicago"          # IANA name (default UTC)
sets = ["837P", "835"]                # expected sets; others get IK5 R, IK502 1
versions = ["005010X222A1"]           # expected guides (GS08); others get AK9 R, AK905 2
ack_999 = "always"                    # or "errors": a 999 only when a set is not accepted
allow_duplicate_interchange = false   # true: a repeated (sender, ISA13) is stored (backfills)

[partners.acme.pgp]
signers = ["0123...CDEF"]             # the partner's pinned signing fingerprints
public_key_file = "keys/acme.asc"     # their public key (signature checks, encrypted acks)
require_signature = true
encrypted = "always"                  # or "by-extension" (.pgp .gpg .asc) or "never"
encrypt_acks = true

[pgp]                                 # ours, shared by every partner
secret_key_file = "keys/edi-secret.asc"
passphrase_env = "EDI_PGP_PASSPHRASE"
sign_with = "89AB...0123"             # our signing fingerprint for outbound acks
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edi.config import Settings
from edi.errors import ConfigError
from edi.kinds import kind_names

TRANSPORTS = ("sftp", "local")
AFTER_PULL = ("archive", "delete", "keep")
ENCRYPTED = ("always", "by-extension", "never")
PGP_SUFFIXES = (".pgp", ".gpg", ".asc")
ACK_999 = ("always", "errors")
DEFAULT_PATTERNS = ("*.x12", "*.edi", "*.txt", "*.dat", "*.pgp", "*.gpg", "*.asc")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
#: a GS08 version/release/industry code: 004010 or 005010, optionally a guide (X222A1)
_GUIDE = re.compile(r"\d{6}(X\d{3}(A\d)?)?")

PARTNER_KEYS = {
    "transport", "host", "port", "user", "key_file", "key_passphrase_env", "password_env",
    "known_hosts", "host_fingerprints", "path", "inbound", "outbound", "archive", "patterns",
    "after_pull", "stable_seconds", "retries", "backoff", "timeout", "pgp", "schedule",
    "timezone", "sets", "versions", "ack_999", "allow_duplicate_interchange",
}  # fmt: skip
PGP_KEYS = {"signers", "public_key_file", "require_signature", "encrypted", "encrypt_acks"}
OUR_PGP_KEYS = {"secret_key_file", "passphrase_env", "sign_with"}


@dataclass(frozen=True)
class PartnerPgp:
    """A partner's OpenPGP settings."""

    signers: tuple[str, ...] = ()
    public_key_file: Path | None = None
    require_signature: bool = True
    encrypted: str = "always"
    encrypt_acks: bool = False

    def expects_encrypted(self, name: str) -> bool:
        """Whether a file of this name must be decrypted."""
        if self.encrypted == "always":
            return True
        if self.encrypted == "by-extension":
            return name.lower().endswith(PGP_SUFFIXES)
        return False


@dataclass(frozen=True)
class OurPgp:
    """Our own OpenPGP key: decrypts what partners send, signs what we send."""

    secret_key_file: Path
    passphrase_env: str | None = None
    sign_with: str | None = None

    def passphrase(self, env: dict[str, str] | None = None) -> str | None:
        env = dict(os.environ) if env is None else env
        if self.passphrase_env is None:
            return None
        if self.passphrase_env not in env:
            raise ConfigError(f"[pgp] passphrase_env names {self.passphrase_env}, which is not set")
        return env[self.passphrase_env]


@dataclass(frozen=True)
class Partner:
    """One trading partner's exchange settings (see the module docstring)."""

    name: str
    transport: str
    source: str
    host: str | None = None
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    key_passphrase_env: str | None = None
    password_env: str | None = None
    known_hosts: Path | None = None
    host_fingerprints: tuple[str, ...] = ()
    path: Path | None = None
    inbound: str = "inbound"
    outbound: str = "outbound"
    archive: str = "archive"
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    after_pull: str = "archive"
    stable_seconds: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    timeout: float = 30.0
    pgp: PartnerPgp | None = None
    #: cron expression (five fields) of the nightly exchange, in ``timezone``; None: manual
    schedule: str | None = None
    timezone: str = "UTC"
    #: transaction sets expected from this partner (empty: any)
    sets: tuple[str, ...] = ()
    #: implementation guides (GS08, e.g. 005010X222A1) expected from this partner (empty: any)
    versions: tuple[str, ...] = ()
    #: send a 999 for every functional group ("always") or only when a set is not accepted
    ack_999: str = "always"
    #: store an interchange whose (sender, ISA13) is already stored (backfills, replays)
    allow_duplicate_interchange: bool = False
    options: dict[str, Any] = field(default_factory=dict, repr=False)

    def remote(self, env: dict[str, str] | None = None) -> Any:
        """The :class:`edi.transport.base.Remote` for this partner (not yet connected)."""
        if self.transport == "local":
            from edi.transport.local import LocalRemote

            assert self.path is not None
            remote = LocalRemote(self.path, partner=self.name, retries=self.retries)
            remote.backoff = self.backoff
            return remote
        from edi.transport.sftp import SftpRemote

        return SftpRemote(self.sftp_settings(env))

    def sftp_settings(self, env: dict[str, str] | None = None) -> Any:
        from edi.transport.sftp import SftpSettings

        env = dict(os.environ) if env is None else env
        assert self.host is not None and self.user is not None
        return SftpSettings(
            partner=self.name,
            host=self.host,
            user=self.user,
            port=self.port,
            key_file=self.key_file,
            key_passphrase=self._secret("key_passphrase_env", env),
            password=self._secret("password_env", env),
            known_hosts=self.known_hosts,
            fingerprints=self.host_fingerprints,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
        )

    def _secret(self, key: str, env: dict[str, str]) -> str | None:
        name = getattr(self, key)
        if name is None:
            return None
        if name not in env:
            raise ConfigError(
                f"partner {self.name}: {key} names {name}, which is not set ({self.source})"
            )
        return env[name]


class _Table:
    """Typed reads of one configuration table, with errors naming the key and the file."""

    def __init__(self, data: Any, where: str, base: Path, allowed: set[str]) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
            )
        self.data, self.where, self.base = data, where, base

    def _fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key} {what}")

    def text(
        self, key: str, default: str | None = None, choices: tuple[str, ...] = ()
    ) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self._fail(key, "must be a non-empty string")
        if choices and value not in choices:
            raise self._fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0, integer: bool = False) -> Any:
        value = self.data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
        ):
            raise self._fail(key, f"must be {'an integer' if integer else 'a number'}")
        if value < minimum:
            raise self._fail(key, f"must be at least {minimum}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "must be true or false")
        return value

    def texts(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._fail(key, "must be a list of strings")
        return tuple(value)

    def path(self, key: str, default: Path | None = None) -> Path | None:
        value = self.text(key)
        if value is None:
            return default
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p


def _fingerprint(text: str, where: str) -> str:
    from edi.transport.pgp import normalize_fingerprint

    try:
        return normalize_fingerprint(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _partner(name: str, data: Any, source: str, base: Path, home: Path) -> Partner:
    where = f"{source}: [partners.{name}]"
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: a partner name is 1-64 letters, digits, '.', '_' or '-'")
    t = _Table(data, where, base, PARTNER_KEYS)
    transport = t.text("transport", "sftp", TRANSPORTS)
    pgp = None
    if "pgp" in t.data:
        p = _Table(t.data["pgp"], f"{source}: [partners.{name}.pgp]", base, PGP_KEYS)
        pgp = PartnerPgp(
            signers=tuple(_fingerprint(s, p.where) for s in p.texts("signers")),
            public_key_file=p.path("public_key_file"),
            require_signature=p.flag("require_signature", True),
            encrypted=p.text("encrypted", "always", ENCRYPTED) or "always",
            encrypt_acks=p.flag("encrypt_acks", False),
        )
        if pgp.require_signature and not pgp.signers:
            raise ConfigError(f"{p.where}: require_signature is true but signers is empty")
        if pgp.encrypt_acks and pgp.public_key_file is None:
            raise ConfigError(f"{p.where}: encrypt_acks needs public_key_file")
    schedule = t.text("schedule")
    if schedule is not None and not _cron_ok(schedule):
        raise ConfigError(f"{where}: schedule {schedule!r} is not a cron expression of five fields")
    zone = t.text("timezone", "UTC") or "UTC"
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(zone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(f"{where}: timezone {zone!r} is not an IANA time zone name") from None
    sets = t.texts("sets")
    for name_ in sets:
        if name_ not in kind_names():
            raise ConfigError(f"{where}: sets: {name_!r} is not one of {', '.join(kind_names())}")
    versions = t.texts("versions")
    for guide in versions:
        if not _GUIDE.fullmatch(guide):
            raise ConfigError(
                f"{where}: versions: {guide!r} is not a GS08 version such as 005010X222A1"
            )
    fingerprints = t.texts("host_fingerprints")
    for fp in fingerprints:
        if not _FINGERPRINT.fullmatch(fp):
            raise ConfigError(
                f"{where}: host_fingerprints: {fp!r} is not of the form SHA256:<43 base64 characters>"
            )
    partner = Partner(
        name=name,
        transport=transport or "sftp",
        source=source,
        host=t.text("host"),
        port=t.number("port", 22, minimum=1, integer=True),
        user=t.text("user"),
        key_file=t.path("key_file"),
        key_passphrase_env=t.text("key_passphrase_env"),
        password_env=t.text("password_env"),
        known_hosts=t.path("known_hosts", home / "known_hosts"),
        host_fingerprints=fingerprints,
        path=t.path("path"),
        inbound=t.text("inbound", "inbound") or "inbound",
        outbound=t.text("outbound", "outbound") or "outbound",
        archive=t.text("archive", "archive") or "archive",
        patterns=t.texts("patterns", DEFAULT_PATTERNS),
        after_pull=t.text("after_pull", "archive", AFTER_PULL) or "archive",
        stable_seconds=t.number("stable_seconds", 30.0),
        retries=t.number("retries", 3, integer=True),
        backoff=t.number("backoff", 1.0),
        timeout=t.number("timeout", 30.0, minimum=1),
        pgp=pgp,
        schedule=schedule,
        timezone=zone,
        sets=sets,
        versions=versions,
        ack_999=t.text("ack_999", "always", ACK_999) or "always",
        allow_duplicate_interchange=t.flag("allow_duplicate_interchange", False),
        options=dict(data),
    )
    if partner.transport == "sftp":
        for key in ("host", "user"):
            if getattr(partner, key) is None:
                raise ConfigError(f"{where}: transport sftp needs {key}")
        if partner.key_file is None and partner.password_env is None:
            raise ConfigError(f"{where}: transport sftp needs key_file (or password_env)")
    elif partner.path is None:
        raise ConfigError(f"{where}: transport local needs path")
    if not partner.patterns:
        raise ConfigError(f"{where}: patterns is empty")
    return partner


_CRON_FIELD = re.compile(
    r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*|[A-Za-z]{3}(-[A-Za-z]{3})?"
)


def _cron_ok(text: str) -> bool:
    """Five cron fields (minute hour day month weekday), or an @-alias such as @daily."""
    if text in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"):
        return True
    fields = text.split()
    return len(fields) == 5 and all(_CRON_FIELD.fullmatch(f) for f in fields)


def _where(settings: Settings) -> tuple[str, Path]:
    """The configuration's name for messages, and the folder its relative paths start from
    (the folder itself when the configuration is a folder of files)."""
    path = settings.config_path
    if path is None:
        return "configuration", Path.cwd()
    return str(path), path if path.is_dir() else path.parent


def load_partners(settings: Settings) -> dict[str, Partner]:
    """Every partner of the configuration, by name (an empty dict when none)."""
    source, base = _where(settings)
    table = settings.options.get("partners", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [partners] must be a table of partner tables")
    return {
        name: _partner(name, data, source, base, settings.home)
        for name, data in sorted(table.items())
    }


def partner(settings: Settings, name: str) -> Partner:
    """One partner by name; a clear error listing the known ones otherwise."""
    partners = load_partners(settings)
    if name not in partners:
        known = ", ".join(partners) or "none configured"
        raise ConfigError(f"no partner {name!r} in the configuration (known: {known})")
    return partners[name]


def our_pgp(settings: Settings) -> OurPgp | None:
    """Our own key settings (``[pgp]``), or None when absent."""
    data = settings.options.get("pgp")
    if data is None:
        return None
    source, base = _where(settings)
    t = _Table(data, f"{source}: [pgp]", base, OUR_PGP_KEYS)
    secret = t.path("secret_key_file")
    if secret is None:
        raise ConfigError(f"{t.where}: secret_key_file is required")
    sign_with = t.text("sign_with")
    return OurPgp(
        secret, t.text("passphrase_env"), _fingerprint(sign_with, t.where) if sign_with else None
    )
