"""Trading partners as the configuration declares them (``[partners.NAME]`` tables).

Each partner names its transport (``sftp`` or ``local``), its folders, the patterns of
files to take, what to do with a file on the server once stored (``archive``, ``delete``
or ``keep``), how long a file must stay unchanged before it is taken, and its OpenPGP
settings. Relative paths are taken from the configuration file's folder. The tables are
typed and checked by :class:`edi.settings.PartnerTable` when the configuration is loaded;
errors name the file, the table (``[partners.acme]``) and the key.

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
split_claims = true                   # a bad claim is rejected alone (the 277CA), not its set
ack_277 = true                        # a 277CA for each accepted 837 set (false: the 999 alone)
duplicates = "reject"                 # a claim sent again: rejected (A8:78), "warn" or "off"
enrollment = "changes"                # 834s: "changes", or "full" (each file the whole roster)
full_file_terminations = "report"     # members a full file omits: "report" or "terminate"
enrollment_errors = "reject"          # an 834 member change in error: "reject" or "flag"
ack_timeout_hours = 48                # our TA1/999 unanswered this long is reported (default: off)
allow_duplicate_interchange = false   # true: a repeated (sender, ISA13) is stored (backfills)
max_file_bytes = 2147483648           # an encrypted file decrypts to at most this (2 GiB)
max_expansion = 100                   # and to at most 100 plaintext bytes per received byte
payer_aliases = { "12345" = "PAYER01" }  # an id this partner's files name a payer by -> the
                                      # payer id claims carry (2010BB NM109)

[partners.acme.edits]                 # claim-level edits: reject (the claim), warn or off
default = "reject"                    # any finding in a claim's loops (SNIP 3 and above)
N403 = "warn"                         # by segment and element, or by SNIP type (snip5)

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edi.config import Settings
from edi.errors import ConfigError
from edi.settings import (
    ACK_999,
    AFTER_PULL,
    DEFAULT_MAX_EXPANSION,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_PATTERNS,
    ENCRYPTED,
    PGP_SUFFIXES,
    TRANSPORTS,
    PartnerTable,
)


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
    #: hours within which the partner answers an acknowledgment we sent (None: not expected)
    ack_timeout_hours: float | None = None
    #: store an interchange whose (sender, ISA13) is already stored (backfills, replays)
    allow_duplicate_interchange: bool = False
    #: the most bytes one of its encrypted files may decrypt to (a decompression bomb stops)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    #: the most plaintext bytes per received byte of an encrypted file
    max_expansion: int = DEFAULT_MAX_EXPANSION
    #: other ids its files name a payer by -> the payer id claims carry (see
    #: :func:`payer_aliases`)
    payer_aliases: dict[str, str] = field(default_factory=dict)
    #: severity of each claim-level edit (``[partners.NAME.edits]``)
    edits: dict[str, str] = field(default_factory=dict)
    #: an 837 set rejected only for errors inside its claims is accepted, those claims
    #: rejected (the 277CA says so); false: the set is rejected whole
    split_claims: bool = True
    #: answer each accepted 5010 837 set with a 277CA (false: the 999 alone)
    ack_277: bool = True
    #: exact duplicate claims: "reject", "warn" or "off"
    duplicates: str = "reject"
    #: its 834s: "changes" or "full"; a full file's absent members "report"ed or
    #: "terminate"d; an enrollment error "reject"s the member's change or "flag"s it
    enrollment: str = "changes"
    full_file_terminations: str = "report"
    enrollment_errors: str = "reject"
    #: its companion guide's rule files, layered after the project's
    rules: tuple[Path, ...] = ()
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


def _partner(name: str, table: PartnerTable, settings: Settings) -> Partner:
    """A :class:`Partner` from its checked ``[partners.NAME]`` table."""
    pgp = None
    if table.pgp is not None:
        p = table.pgp
        pgp = PartnerPgp(
            signers=tuple(p.signers),
            public_key_file=p.public_key_file,
            require_signature=p.require_signature,
            encrypted=p.encrypted,
            encrypt_acks=p.encrypt_acks,
        )
    return Partner(
        name=name,
        transport=table.transport,
        source=settings.origin("partners", name),
        host=table.host,
        port=table.port,
        user=table.user,
        key_file=table.key_file,
        key_passphrase_env=table.key_passphrase_env,
        password_env=table.password_env,
        known_hosts=table.known_hosts or settings.home / "known_hosts",
        host_fingerprints=tuple(table.host_fingerprints),
        path=table.path,
        inbound=table.inbound,
        outbound=table.outbound,
        archive=table.archive,
        patterns=tuple(table.patterns),
        after_pull=table.after_pull,
        stable_seconds=table.stable_seconds,
        retries=table.retries,
        backoff=table.backoff,
        timeout=table.timeout,
        pgp=pgp,
        schedule=table.schedule,
        timezone=table.timezone,
        sets=tuple(table.sets),
        versions=tuple(table.versions),
        ack_999=table.ack_999,
        ack_timeout_hours=table.ack_timeout_hours,
        allow_duplicate_interchange=table.allow_duplicate_interchange,
        max_file_bytes=table.max_file_bytes,
        max_expansion=table.max_expansion,
        payer_aliases=dict(table.payer_aliases),
        edits=dict(table.edits),
        split_claims=table.split_claims,
        ack_277=table.ack_277,
        duplicates=table.duplicates,
        enrollment=table.enrollment,
        full_file_terminations=table.full_file_terminations,
        enrollment_errors=table.enrollment_errors,
        rules=tuple(table.rules),
        options=dict(settings.options.get("partners", {}).get(name, {})),
    )


def load_partners(settings: Settings) -> dict[str, Partner]:
    """Every partner of the configuration, by name (an empty dict when none); the
    :class:`ConfigError` of :attr:`Settings.partners` when a table is wrong."""
    return {name: _partner(name, table, settings) for name, table in settings.partners.items()}


def partner(settings: Settings, name: str) -> Partner:
    """One partner by name; a clear error listing the known ones otherwise."""
    partners = load_partners(settings)
    if name not in partners:
        known = ", ".join(partners) or "none configured"
        raise ConfigError(f"no partner {name!r} in the configuration (known: {known})")
    return partners[name]


def payer_aliases(settings: Settings) -> dict[str, dict[str, str]]:
    """Partner name -> its payer id aliases (alias -> the payer id claims carry), for the
    partners that declare any: an 835 whose N1*PR names its payer by a plan id (XV) links
    to the claims that name it by its payer id (PI) when the 835's partner maps one to the
    other; an 837's payer id is read through its own partner's aliases the same way."""
    return {
        name: dict(table.payer_aliases)
        for name, table in settings.partners.items()
        if table.payer_aliases
    }


def our_pgp(settings: Settings) -> OurPgp | None:
    """Our own key settings (``[pgp]``), or None when absent."""
    table = settings.pgp
    if table is None:
        return None
    return OurPgp(table.secret_key_file, table.passphrase_env, table.sign_with)


__all__ = [
    "ACK_999",
    "AFTER_PULL",
    "DEFAULT_PATTERNS",
    "ENCRYPTED",
    "PGP_SUFFIXES",
    "TRANSPORTS",
    "OurPgp",
    "Partner",
    "PartnerPgp",
    "load_partners",
    "our_pgp",
    "partner",
    "payer_aliases",
]
