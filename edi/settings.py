"""The configuration's typed model: every table and key edi reads, with its type, range
and default, checked once when the configuration is loaded (:func:`edi.config.load_settings`).

Each table is a pydantic model that refuses unknown keys (``extra="forbid"``) and takes
TOML's own types as they are (``strict``: ``port = "22"`` is not a port). Relative paths
are taken from the configuration file's folder (the folder itself for a folder of files),
passed in the validation context. :func:`check` validates a whole configuration and turns
every problem into one line naming the file that set the key, the table and the key:
``edi.toml: [partners.acme]: port must be an integer``.

Only this module and the code that reads a table's typed values import pydantic: ``edi
--help`` and commands that read no configuration never do.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edi.kinds import kind_names
from edi.transport.pgp import normalize_fingerprint

TRANSPORTS = ("sftp", "local")
AFTER_PULL = ("archive", "delete", "keep")
ENCRYPTED = ("always", "by-extension", "never")
ACK_999 = ("always", "errors")
ROLES = ("analyst", "phi-reader", "operator", "auditor", "admin")
PGP_SUFFIXES = (".pgp", ".gpg", ".asc")
#: the largest plaintext a partner's encrypted file may decrypt to (docs/OPERATIONS.md)
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
#: the largest plaintext size as a multiple of the encrypted size received
DEFAULT_MAX_EXPANSION = 100
DEFAULT_PATTERNS = ("*.x12", "*.edi", "*.txt", "*.dat", "*.pgp", "*.gpg", "*.asc")
#: how long a lease lasts unless renewed, in seconds
LEASE_TTL_SECONDS = 3600.0
#: audit checkpoint interval, in entries
CHECKPOINT_EVERY = 1000

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HOST_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
#: a GS08 version/release/industry code: 004010 or 005010, optionally a guide (X222A1)
_GUIDE = re.compile(r"\d{6}(X\d{3}(A\d)?)?")
_CRON_FIELD = re.compile(
    r"(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*|[A-Za-z]{3}(-[A-Za-z]{3})?"
)
_CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly")


def cron_ok(text: str) -> bool:
    """Five cron fields (minute hour day month weekday), or an @-alias such as @daily."""
    if text in _CRON_ALIASES:
        return True
    fields = text.split()
    return len(fields) == 5 and all(_CRON_FIELD.fullmatch(f) for f in fields)


def _resolve(value: Any, info: ValidationInfo) -> Path | None:
    """A path of the configuration: ``~`` expanded, relative to the configuration's folder."""
    if value is None or isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"{info.field_name} must be a non-empty string (a path)")
    path = Path(value).expanduser()
    base = (info.context or {}).get("base") or Path.cwd()
    return path if path.is_absolute() else Path(base) / path


#: field types of the configuration's paths, resolved by :func:`_resolve`
ConfigPath = Annotated[Path, BeforeValidator(_resolve)]
OptionalConfigPath = Annotated[Path | None, BeforeValidator(_resolve)]


def _text() -> Any:
    """An optional non-empty string."""
    return Field(default=None, min_length=1)


class Table(BaseModel):
    """One configuration table: unknown keys refused, TOML types taken as they are."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class DatabaseTable(Table):
    """``[database]``: where the store is (``--database`` and ``EDI_DATABASE_URL`` win)."""

    #: SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``)
    url: str | None = _text()


class KeysTable(Table):
    """``[keys]``: where the key-encryption key comes from (default ``$EDI_HOME/kek``)."""

    #: a file of 32 random bytes (raw or base64), relative to the configuration's folder
    kek_file: OptionalConfigPath = None
    #: the environment variable holding the KEK (base64 of 32 bytes)
    kek_env: str | None = _text()

    @model_validator(mode="after")
    def _one_source(self) -> KeysTable:
        if self.kek_file is not None and self.kek_env is not None:
            raise ValueError("set only one of kek_file and kek_env")
        return self


class AuditTable(Table):
    """``[audit]``: the audit chain."""

    #: entries between two signed checkpoints written by ingest (0: none)
    checkpoint_every: int = Field(default=CHECKPOINT_EVERY, ge=0)


class IngestTable(Table):
    """``[ingest]``: how files are stored."""

    #: record workers per file: "auto" (the ingest decides per file), 1 (none) or 2 (always)
    workers: Literal["auto", 1, 2] = "auto"

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: Any) -> Any:
        if value == "auto" or (type(value) is int and value in (1, 2)):
            return value
        raise ValueError(f'workers is "auto", 1 or 2, not {value!r}')

    @property
    def worker_count(self) -> int | None:
        """None for "auto", else 1 or 2 (what the pipeline's wiring takes)."""
        return None if self.workers == "auto" else self.workers


class FlowsTable(Table):
    """``[flows]``: the Prefect exchange."""

    #: how long a lease on a remote file lasts unless renewed, in seconds (> 0)
    lease_ttl_seconds: float = LEASE_TTL_SECONDS
    #: the deprecated name of lease_ttl_seconds, read when it is the only one given
    claim_ttl_seconds: float | None = None
    #: a command (a string split like a shell would, or a list) run when a run fails
    on_failure: str | list[str] | None = None
    #: the Prefect notification block ``edi deploy``'s automation sends through, as
    #: ``<block type slug>/<block name>`` (``slack-webhook/edi-ops``)
    notify_block: str | None = None

    @field_validator("lease_ttl_seconds", "claim_ttl_seconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{info.field_name} must be a positive number of seconds")
        return float(value)

    @field_validator("on_failure")
    @classmethod
    def _command(cls, value: Any) -> Any:
        if value is not None and (not value or not all(value)):
            raise ValueError("on_failure must be a non-empty command")
        return value

    @field_validator("notify_block")
    @classmethod
    def _block(cls, value: Any) -> Any:
        if value is not None and not re.fullmatch(r"[a-z0-9-]+/[^/%&<>]+", value):
            raise ValueError(
                "notify_block must be <block type slug>/<block name>, e.g. slack-webhook/edi-ops"
            )
        return value

    @model_validator(mode="after")
    def _renamed(self) -> FlowsTable:
        if self.claim_ttl_seconds is not None and "lease_ttl_seconds" not in self.model_fields_set:
            self.lease_ttl_seconds = self.claim_ttl_seconds
        return self

    @property
    def deprecated_keys(self) -> list[tuple[str, str]]:
        """(deprecated name, new name) of each renamed key this table still uses."""
        if self.claim_ttl_seconds is not None:
            return [("claim_ttl_seconds", "lease_ttl_seconds")]
        return []


UserList = list[str]


class RolesTable(Table):
    """``[roles]``: role = ["OS user", ...]; granted only from the trusted files
    :mod:`edi.access` names (``$EDI_HOME/edi.toml``, ``/etc/edi/roles.toml``)."""

    analyst: UserList | None = None
    phi_reader: UserList | None = Field(default=None, alias="phi-reader")
    operator: UserList | None = None
    auditor: UserList | None = None
    admin: UserList | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _users(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list) or not all(isinstance(u, str) and u.strip() for u in value):
            role = (info.field_name or "").replace("_", "-")
            raise ValueError(f"{role}: expected a list of OS user names")
        return [u.strip() for u in value]

    def table(self) -> dict[str, frozenset[str]]:
        """role -> its users, for the roles given."""
        return {
            (info.alias or name): frozenset(getattr(self, name))
            for name, info in type(self).model_fields.items()
            if getattr(self, name) is not None
        }


class PartnerPgpTable(Table):
    """``[partners.NAME.pgp]``: a partner's OpenPGP settings."""

    #: the partner's pinned signing fingerprints (40 or 64 hex digits)
    signers: list[str] = []
    #: their public key (signature checks, encrypted acks), relative to the configuration
    public_key_file: OptionalConfigPath = None
    require_signature: bool = True
    encrypted: Literal["always", "by-extension", "never"] = "always"
    encrypt_acks: bool = False

    @field_validator("signers")
    @classmethod
    def _signers(cls, value: list[str]) -> list[str]:
        try:
            return [normalize_fingerprint(v) for v in value]
        except ValueError as exc:
            raise ValueError(f"signers: {exc}") from None

    @model_validator(mode="after")
    def _consistent(self) -> PartnerPgpTable:
        if self.require_signature and not self.signers:
            raise ValueError("require_signature is true but signers is empty")
        if self.encrypt_acks and self.public_key_file is None:
            raise ValueError("encrypt_acks needs public_key_file")
        return self


class PartnerTable(Table):
    """``[partners.NAME]``: one trading partner (see :mod:`edi.partners`)."""

    transport: Literal["sftp", "local"] = "sftp"
    host: str | None = _text()
    #: TCP port of the SFTP server
    port: int = Field(default=22, ge=1, le=65535)
    user: str | None = _text()
    #: SSH private key (ed25519 or RSA), relative to the configuration
    key_file: OptionalConfigPath = None
    key_passphrase_env: str | None = _text()
    password_env: str | None = _text()
    #: default: $EDI_HOME/known_hosts
    known_hosts: OptionalConfigPath = None
    #: pinned host keys, SHA256:<43 base64 characters>
    host_fingerprints: list[str] = []
    #: the partner's folder (transport local), relative to the configuration
    path: OptionalConfigPath = None
    inbound: str = Field(default="inbound", min_length=1)
    outbound: str = Field(default="outbound", min_length=1)
    archive: str = Field(default="archive", min_length=1)
    patterns: list[str] = Field(default=list(DEFAULT_PATTERNS), min_length=1)
    after_pull: Literal["archive", "delete", "keep"] = "archive"
    #: seconds a file must stay unchanged before it is taken
    stable_seconds: float = Field(default=30.0, ge=0)
    retries: int = Field(default=3, ge=0)
    #: seconds before the first retry (doubled each time)
    backoff: float = Field(default=1.0, ge=0)
    #: seconds a connection or read may take
    timeout: float = Field(default=30.0, ge=1)
    pgp: PartnerPgpTable | None = None
    #: the most bytes an encrypted file may decrypt to (gpg is stopped past it)
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)
    #: the most plaintext bytes per received byte of an encrypted file
    max_expansion: int = Field(default=DEFAULT_MAX_EXPANSION, gt=0)
    #: cron expression of five fields (or @daily ...), in ``timezone``; none: manual runs
    schedule: str | None = _text()
    #: IANA time zone name
    timezone: str = "UTC"
    #: expected transaction sets (empty: any)
    sets: list[str] = []
    #: expected implementation guides, GS08 (empty: any)
    versions: list[str] = []
    ack_999: Literal["always", "errors"] = "always"
    #: hours after sending an acknowledgment by which the partner's TA1/999 must answer it,
    #: else the exchange reports it missing; none (the default): answers are not expected
    ack_timeout_hours: float | None = Field(default=None, gt=0)
    allow_duplicate_interchange: bool = False
    #: other ids this partner's files name a payer by (an 835's N1*PR XV plan id, a REF*2U)
    #: -> the payer id its claims carry (2010BB NM109): 837s and 835s link through them
    payer_aliases: dict[str, str] = {}
    #: severity of each claim-level edit: ``CLM02``, ``snip5`` or ``default`` -> ``reject``
    #: (the claim is rejected on the 277CA), ``warn`` (accepted, the finding recorded) or
    #: ``off`` (dropped; the 999 too); see :mod:`edi.parsers.claim_verdicts`
    edits: dict[str, str] = {}
    #: an 837 set rejected only for errors inside its claims is accepted with those claims
    #: rejected on their own; false: such a set is rejected whole, as the validator says
    split_claims: bool = True
    #: answer each accepted 5010 837 set with a 277CA, claim by claim
    ack_277: bool = True
    #: an 837 claim repeating an accepted claim of another file: rejected (277CA A8:78),
    #: accepted and flagged (warn), or not looked for (off)
    duplicates: Literal["reject", "warn", "off"] = "reject"
    #: its 834s: "changes" (each file a set of changes, unless its BGN08 is 4, verify, or
    #: it sends INS03 030 audits) or "full" (every file the whole enrollment of its sponsor)
    enrollment: Literal["changes", "full"] = "changes"
    #: members of the state a full file does not name: "report" (termination candidates)
    #: or "terminate"
    full_file_terminations: Literal["report", "terminate"] = "report"
    #: an 834 change an enrollment system must catch (a change of a member not on file, an
    #: addition of an active one, an end before the begin, a dependent without its
    #: subscriber, overlapping coverages of one insurance line): "reject" the member's
    #: change, or "flag" it and apply it
    enrollment_errors: Literal["reject", "flag"] = "reject"
    #: the partner's companion guide: rule files (docs/RULES.md), relative to the
    #: configuration, layered after the project's and $EDI_MAPS's for its files only (a
    #: rule with the id of an earlier one replaces it)
    rules: list[ConfigPath] = []

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[Path]) -> list[Path]:
        for file in value:
            if not file.is_file():
                raise ValueError(f"rules: {file} is not a file")
        return value

    @field_validator("edits")
    @classmethod
    def _edits(cls, value: dict[str, str]) -> dict[str, str]:
        from edi.parsers.claim_verdicts import check_severities

        problems = check_severities(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("host_fingerprints")
    @classmethod
    def _host_fingerprints(cls, value: list[str]) -> list[str]:
        for fp in value:
            if not _HOST_FINGERPRINT.fullmatch(fp):
                raise ValueError(
                    f"host_fingerprints: {fp!r} is not of the form SHA256:<43 base64 characters>"
                )
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None and not cron_ok(value):
            raise ValueError(f"schedule {value!r} is not a cron expression of five fields")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValueError(f"timezone {value!r} is not an IANA time zone name") from None
        return value

    @field_validator("sets")
    @classmethod
    def _sets(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in kind_names():
                raise ValueError(f"sets: {name!r} is not one of {', '.join(kind_names())}")
        return value

    @field_validator("payer_aliases")
    @classmethod
    def _payer_aliases(cls, value: dict[str, str]) -> dict[str, str]:
        for alias, payer in value.items():
            for text in (alias, payer):
                if not 1 <= len(text) <= 80 or text != text.strip() or not text.isprintable():
                    raise ValueError(
                        f"payer_aliases: {text!r} is not a payer id (1-80 printable characters)"
                    )
            if alias == payer:
                raise ValueError(f"payer_aliases: {alias!r} names itself")
        return value

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: list[str]) -> list[str]:
        for guide in value:
            if not _GUIDE.fullmatch(guide):
                raise ValueError(f"versions: {guide!r} is not a GS08 version such as 005010X222A1")
        return value

    @model_validator(mode="after")
    def _complete(self) -> PartnerTable:
        if self.transport == "sftp":
            for key in ("host", "user"):
                if getattr(self, key) is None:
                    raise ValueError(f"transport sftp needs {key}")
            if self.key_file is None and self.password_env is None:
                raise ValueError("transport sftp needs key_file (or password_env)")
        elif self.path is None:
            raise ValueError("transport local needs path")
        return self


class PartnersTable(RootModel[dict[str, PartnerTable]]):
    """``[partners]``: one ``[partners.NAME]`` table per trading partner."""

    root: dict[str, PartnerTable] = {}

    @field_validator("root", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name in value:
                if not _NAME.fullmatch(name):
                    raise ValueError(
                        f"partner name {name!r}: 1-64 letters, digits, '.', '_' or '-'"
                    )
        return value


class OurPgpTable(Table):
    """``[pgp]``: our own OpenPGP key, shared by every partner."""

    #: our secret key (decrypts what partners send), relative to the configuration
    secret_key_file: ConfigPath
    #: the environment variable holding its passphrase
    passphrase_env: str | None = _text()
    #: our signing fingerprint for outbound acknowledgments
    sign_with: str | None = _text()

    @field_validator("sign_with")
    @classmethod
    def _sign_with(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_fingerprint(value)
        except ValueError as exc:
            raise ValueError(f"sign_with: {exc}") from None


class Config(Table):
    """The whole configuration: one field per table (the source of :func:`tables`)."""

    database: DatabaseTable = Field(default_factory=DatabaseTable)
    keys: KeysTable = Field(default_factory=KeysTable)
    audit: AuditTable = Field(default_factory=AuditTable)
    ingest: IngestTable = Field(default_factory=IngestTable)
    flows: FlowsTable = Field(default_factory=FlowsTable)
    roles: RolesTable | None = None
    pgp: OurPgpTable | None = None
    partners: PartnersTable = Field(default_factory=PartnersTable)


# --- walking the model -----------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The table model an annotation names (``X | None`` -> X), or None for a plain value."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def tables(
    model: type[BaseModel] = Config, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], type[Table]]]:
    """Every table of the model as (path, model), ``NAME`` standing for a partner's name:
    ``("flows",)``, ``("partners", "NAME")``, ``("partners", "NAME", "pgp")``..."""
    for name, info in model.model_fields.items():
        sub = _model_of(info.annotation)
        if sub is None:
            continue
        key = info.alias or name
        if issubclass(sub, RootModel):
            item = _model_of(sub.model_fields["root"].annotation.__args__[1])  # type: ignore[union-attr]
            assert item is not None
            path = (*prefix, key, "NAME")
            yield path, item  # type: ignore[misc]
            yield from tables(item, path)
        else:
            yield (*prefix, key), sub  # type: ignore[misc]
            yield from tables(sub, (*prefix, key))


def known_keys(model: type[BaseModel]) -> list[str]:
    """The keys a table accepts, as written in TOML."""
    return sorted(info.alias or name for name, info in model.model_fields.items())


def defaults(model: type[BaseModel]) -> dict[str, Any]:
    """key -> default (PydanticUndefined when required), for the documentation."""
    return {
        info.alias or name: (
            info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
        )
        for name, info in model.model_fields.items()
    }


# --- checking a configuration ----------------------------------------------------------


@dataclass
class Checked:
    """A configuration validated table by table: the typed tables, and the problems of the
    others (table -> one line per problem). ``unknown`` repeats the problems every command
    refuses at load (unknown tables and keys); a wrong value is refused by whatever reads
    its table."""

    tables: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def table(self, name: str) -> Any:
        """The typed table ``name``: as validated, or its defaults when absent."""
        if name not in self.tables:
            info = Config.model_fields[name]
            factory = info.default_factory
            self.tables[name] = factory() if factory else info.default  # type: ignore[call-arg]
        return self.tables[name]

    def all_problems(self) -> list[str]:
        return [p for lines in self.problems.values() for p in lines]


def _table_label(loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[str, str | None, Any]:
    """Split a pydantic location into the TOML table (``partners.acme.pgp``), the key
    (None for a table-wide problem) and the model of that table."""
    parts: list[str] = []
    current: Any = model
    key: str | None = None
    items = [str(x) for x in loc if not isinstance(x, int)]
    i = 0
    while i < len(items):
        name = items[i]
        fields = {info.alias or n: info for n, info in current.model_fields.items()}
        info = fields.get(name)
        sub = _model_of(info.annotation) if info is not None else None
        if sub is None:
            key = name
            break
        parts.append(name)
        if issubclass(sub, RootModel):
            if i + 1 < len(items):
                parts.append(items[i + 1])
                i += 1
                item = _model_of(sub.model_fields["root"].annotation.__args__[1])  # type: ignore[union-attr]
                current = item
            else:
                current = sub
        else:
            current = sub
        i += 1
    return ".".join(parts), key, current


_PHRASES = {
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a non-empty string",
    "string_too_short": "must be a non-empty string",
    "list_type": "must be a list",
    "too_short": "is empty",
    "missing": "is required",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "path_type": "must be a non-empty string",
}


def _phrase(error: Any, key: str | None, model: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        word = "role" if model is RolesTable else "key"
        return f"unknown {word} {key!r} (known: {', '.join(known_keys(model))})"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        what = f"must be one of {', '.join(choices)}, not {error['input']!r}"
    elif kind == "greater_than_equal":
        what = f"must be at least {ctx['ge']}"
    elif kind == "greater_than":
        what = f"must be more than {ctx['gt']}"
    elif kind == "less_than_equal":
        what = f"must be at most {ctx['le']}"
    else:
        what = _PHRASES.get(kind, str(error["msg"]).lower())
    if kind in ("string_type", "int_type", "float_type", "bool_type") and isinstance(
        error["loc"][-1], int
    ):
        what = {
            "string_type": "must be a list of strings",
            "int_type": "must be a list of integers",
            "float_type": "must be a list of numbers",
            "bool_type": "must be a list of true or false",
        }[kind]
    if key is None:
        return what
    return f"{key} {what}"


def phrases(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One phrase per problem of a single table's validation (``port must be an integer``)."""
    out = []
    for error in exc.errors():
        keys = [str(x) for x in error["loc"] if not isinstance(x, int)]
        out.append(_phrase(error, keys[0] if keys else None, model))
    return out


def check(
    data: Mapping[str, Any],
    *,
    base: Path,
    origin: Any,
) -> Checked:
    """Validate a configuration table by table. ``base``: the folder relative paths start
    from; ``origin(table, key)``: the file that set a key (for messages)."""
    out = Checked()
    fields = Config.model_fields
    for name, value in data.items():
        if name not in fields:
            where = origin(name, None)
            known = ", ".join(known_keys(Config))
            if isinstance(value, dict):
                line = f"{where}: unknown table [{name}] (known tables: {known})"
            else:
                line = f"{where}: unknown top-level key {name!r} (known tables: {known})"
            out.problems[name] = [line]
            out.unknown.extend(out.problems[name])
            continue
        model = _model_of(fields[name].annotation)
        assert model is not None
        try:
            out.tables[name] = model.model_validate(value, context={"base": base})
        except ValidationError as exc:
            for error in exc.errors():
                loc = (name, *error["loc"])
                if issubclass(model, RootModel):
                    loc = (name, *(x for x in error["loc"] if x != "root"))
                table, key, where_model = _table_label(loc, Config)
                second = loc[1] if len(loc) > 1 and not isinstance(loc[1], int) else None
                line = f"{origin(name, second)}: [{table}]: {_phrase(error, key, where_model)}"
                out.problems.setdefault(name, []).append(line)
                if error["type"] == "extra_forbidden":
                    out.unknown.append(line)
    return out


__all__ = [
    "ACK_999",
    "AFTER_PULL",
    "CHECKPOINT_EVERY",
    "DEFAULT_PATTERNS",
    "ENCRYPTED",
    "PGP_SUFFIXES",
    "LEASE_TTL_SECONDS",
    "ROLES",
    "TRANSPORTS",
    "AuditTable",
    "Checked",
    "Config",
    "DatabaseTable",
    "FlowsTable",
    "IngestTable",
    "KeysTable",
    "OurPgpTable",
    "PartnerPgpTable",
    "PartnerTable",
    "PartnersTable",
    "RolesTable",
    "Table",
    "check",
    "cron_ok",
    "defaults",
    "known_keys",
    "phrases",
    "tables",
]
