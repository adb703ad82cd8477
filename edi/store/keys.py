"""The key ring: data keys, blind-index keys and the audit signing key, wrapped by a KEK.

The ring is one JSON file (``Settings.keyring_path``, default ``$EDI_HOME/keyring.json``,
mode 0600). It holds

- **data keys** (AES-256) that encrypt fields and wrap per-file keys. Each has an id of
  16 hex characters, a creation time and a status: ``primary`` (encrypts new values; exactly
  one), ``active`` (an earlier primary, still decrypts) or ``retired`` (no longer expected in
  use after a re-encryption, still decrypts: keys are never deleted);
- **blind-index keys** (HMAC-SHA256), one per index name (``member_id``, ``ssn``...), separate
  from the data keys, created at init or on first use and never rotated (a new index key
  would need every digest recomputed);
- **audit signing keys** (Ed25519): one ``active`` key signs checkpoints; earlier ones are
  ``retired`` and kept so that old checkpoints still verify.

Every secret is stored wrapped by a key-encryption key (KEK): AES-256-GCM with associated
data naming the ring format, the secret's purpose and its id, so a wrapped value cannot be
swapped into another slot. The KEK itself never enters the ring.

KEK sources implement :class:`KeyEncryptionKey` (``key_id``, ``wrap``, ``unwrap``):

- :class:`FileKek`: a file of 32 random bytes (raw, or base64 text), refused when group or
  others have any access to it;
- :class:`EnvKek`: base64 of 32 bytes in an environment variable (default ``EDI_KEK``).

Configuration (TOML)::

    [keys]
    kek_file = "/run/secrets/edi-kek"   # or
    kek_env = "EDI_KEK"

With neither set, the KEK is ``$EDI_HOME/kek``, created by ``edi keys init``. That default
keeps the KEK next to the data it protects and is meant for the embedded, single-machine
setup only; production should keep the KEK elsewhere (a secrets mount, the environment of
the service, or a KMS).

**Vault or a cloud KMS.** Write a class with a ``key_id`` attribute and ``wrap(plaintext,
aad) -> bytes`` / ``unwrap(blob, aad) -> bytes`` methods that call the service, e.g. Vault's
transit engine (``POST transit/encrypt/<name>`` with ``plaintext`` and ``context`` = the
base64 of ``aad``; ``transit/decrypt/<name>`` back), AWS KMS ``Encrypt``/``Decrypt`` with
``EncryptionContext`` built from ``aad``, or Google Cloud KMS / Azure Key Vault with their
additional-authenticated-data parameters. ``unwrap`` must raise :class:`KeyRingError` when the
service refuses, and the key material must stay in the service. Pass an instance to
:meth:`KeyRing.open` / :meth:`KeyRing.create`; a ring moves from one KEK to another with
:meth:`KeyRing.rewrap`. The service is called once per secret when the ring is opened, not
per field.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edi.atomic import write_atomic
from edi.errors import ConfigError, KeyRingError

if TYPE_CHECKING:
    from edi.config import Settings

FORMAT = "edi.keyring"
VERSION = 1
KEY_BYTES = 32
#: key ids are 8 random bytes written as 16 lowercase hex characters
KEY_ID_HEX = 16
DEFAULT_KEK_ENV = "EDI_KEK"
#: blind indexes created by :meth:`KeyRing.create`; others are created on first use
DEFAULT_INDEXES = (
    "member_id",
    "subscriber_id",
    "ssn",
    "patient_control_number",
    "payer_claim_control_number",
)
PRIMARY, ACTIVE, RETIRED = "primary", "active", "retired"

_KEY_ID = re.compile(r"[0-9a-f]{16}")
_INDEX_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def new_key_id() -> str:
    """A fresh random key id (16 hex characters)."""
    return secrets.token_hex(KEY_ID_HEX // 2)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _wrap_aad(purpose: str, key_id: str) -> bytes:
    return f"{FORMAT}/v{VERSION}|{purpose}|{key_id}".encode()


# --- key-encryption keys ---------------------------------------------------------------


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps the ring's secrets; the key itself may live in a KMS."""

    #: a stable, non-secret id of this KEK (recorded in the ring to explain mismatches)
    key_id: str

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``aad``."""
        ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt ``blob``; raise :class:`KeyRingError` unless it authenticates with ``aad``."""
        ...


class LocalKek:
    """A KEK held in memory: AES-256-GCM, wrapped value = 12-byte nonce + ciphertext + tag."""

    def __init__(self, key: bytes, *, source: str) -> None:
        if len(key) != KEY_BYTES:
            raise KeyRingError(f"{source}: a key-encryption key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.source = source
        self.key_id = "kek-" + hashlib.sha256(b"edi kek id\x00" + key).hexdigest()[:KEY_ID_HEX]

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 12 + 16:
            raise KeyRingError(f"wrapped value too short for KEK {self.key_id}")
        try:
            return self._aead.decrypt(blob[:12], blob[12:], aad)
        except InvalidTag:
            raise KeyRingError(f"KEK {self.key_id} ({self.source}) cannot unwrap it") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}, key_id={self.key_id!r})"


def _decode_kek(data: bytes, source: str) -> bytes:
    if len(data) == KEY_BYTES:
        return data
    try:
        key = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"{source}: not a key-encryption key ({KEY_BYTES} bytes, raw or base64)")
    return key


class FileKek(LocalKek):
    """A KEK read from a file only its owner can read (32 raw bytes, or their base64)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path).expanduser()
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise KeyRingError(f"key-encryption key file {path} not found") from None
        except OSError as exc:
            raise KeyRingError(
                f"key-encryption key file {path}: cannot open ({exc.strerror})"
            ) from None
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if mode & 0o077:
                raise KeyRingError(
                    f"key-encryption key file {path} is accessible by group or others "
                    f"(mode {mode & 0o777:04o}); run chmod 600 {path}"
                )
            data = handle.read(4096)
        super().__init__(_decode_kek(data, f"key-encryption key file {path}"), source=str(path))
        self.path = path

    @classmethod
    def generate(cls, path: str | Path) -> FileKek:
        """Write a new random KEK (base64) to ``path`` with mode 0600; never overwrites."""
        path = Path(path).expanduser()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            write_atomic(path, base64.b64encode(os.urandom(KEY_BYTES)) + b"\n", exclusive=True)
        except FileExistsError:
            raise KeyRingError(f"key-encryption key file {path} already exists") from None
        return cls(path)


class EnvKek(LocalKek):
    """A KEK from an environment variable holding the base64 of 32 bytes."""

    def __init__(self, name: str = DEFAULT_KEK_ENV, env: dict[str, str] | None = None) -> None:
        value = (os.environ if env is None else env).get(name)
        if not value:
            raise KeyRingError(f"environment variable {name} (key-encryption key) is not set")
        key = _decode_kek(value.encode("ascii", "replace"), f"environment variable {name}")
        super().__init__(key, source=f"${name}")


def _keys_table(settings: Settings) -> Any:
    """``[keys]``, typed (:class:`edi.settings.KeysTable`); its problems as a KeyRingError."""
    try:
        return settings.keys
    except ConfigError as exc:
        raise KeyRingError(str(exc)) from None


def default_kek_path(settings: Settings) -> Path | None:
    """The embedded default KEK file, or None when the configuration names a KEK source."""
    keys = _keys_table(settings)
    if keys.kek_file is not None or keys.kek_env is not None:
        return None
    return settings.home / "kek"


def kek_from_settings(settings: Settings) -> KeyEncryptionKey:
    """The KEK the configuration names: ``keys.kek_file`` (relative to the configuration's
    folder), ``keys.kek_env``, or the default; never both (refused)."""
    keys = _keys_table(settings)
    if keys.kek_env is not None:
        return EnvKek(keys.kek_env)
    if keys.kek_file is not None:
        return FileKek(keys.kek_file)
    return FileKek(settings.home / "kek")


# --- the ring --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataKey:
    """An AES-256 data key: ``id`` (16 hex), ``key`` (32 bytes), ``status``, ``created``."""

    id: str
    key: bytes = field(repr=False)
    status: str
    created: datetime


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ``edi keys list`` shows of a key: never its material."""

    kind: str  # "data", "index", "signing"
    id: str
    status: str
    created: datetime
    name: str | None = None  # the index name, for index keys


@dataclass(slots=True)
class _IndexKey:
    id: str
    key: bytes = field(repr=False)
    created: datetime


@dataclass(slots=True)
class _SigningKey:
    id: str
    private: Ed25519PrivateKey = field(repr=False)
    status: str
    created: datetime


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


class KeyRing:
    """Data, blind-index and audit signing keys, unwrapped in memory, saved wrapped.

    Open with :meth:`open` (or :func:`open_keyring`), make with :meth:`create`. Changes
    (:meth:`rotate`, a new index key, :meth:`rotate_signing_key`, :meth:`retire`) take an
    exclusive ``flock`` on ``<ring>.lock``, re-read the file, apply the change and replace the
    file atomically, so concurrent processes never lose each other's keys.
    """

    def __init__(self, path: Path, kek: KeyEncryptionKey) -> None:
        self.path = Path(path)
        self.kek = kek
        self._data: dict[str, DataKey] = {}
        self._index: dict[str, _IndexKey] = {}
        self._signing: dict[str, _SigningKey] = {}
        self._file_kek_id: str | None = None  # the KEK id recorded in the file

    # -- construction

    @classmethod
    def create(
        cls, path: str | Path, kek: KeyEncryptionKey, *, indexes: tuple[str, ...] = DEFAULT_INDEXES
    ) -> KeyRing:
        """A new ring at ``path`` (one primary data key, the index keys, a signing key)."""
        ring = cls(Path(path), kek)
        ring.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with ring._lock():
            if ring.path.exists():
                raise KeyRingError(f"a key ring already exists at {ring.path}; not overwritten")
            ring._add_data_key(PRIMARY)
            for name in indexes:
                ring._add_index_key(name)
            ring._add_signing_key()
            ring._write()
        return ring

    @classmethod
    def open(cls, path: str | Path, kek: KeyEncryptionKey) -> KeyRing:
        """The ring at ``path``, every secret unwrapped with ``kek`` (checked now, not later)."""
        ring = cls(Path(path), kek)
        ring._load()
        return ring

    # -- data keys

    @property
    def primary(self) -> DataKey:
        """The data key that encrypts new values."""
        for key in self._data.values():
            if key.status == PRIMARY:
                return key
        raise KeyRingError(f"key ring {self.path} has no primary data key")

    def data_key(self, key_id: str) -> DataKey:
        """The data key ``key_id`` (re-reading the file once if another process added it)."""
        key = self._data.get(key_id)
        if key is None and self.path.exists():
            self._load()
            key = self._data.get(key_id)
        if key is None:
            raise KeyRingError(f"data key {key_id} is not in the key ring {self.path}")
        return key

    @property
    def data_keys(self) -> list[DataKey]:
        """Every data key, oldest first."""
        return list(self._data.values())

    def rotate(self) -> DataKey:
        """Make a new primary data key; the previous primary stays ``active`` for decryption."""
        with self._changing():
            for key_id, key in list(self._data.items()):
                if key.status == PRIMARY:
                    self._data[key_id] = DataKey(key.id, key.key, ACTIVE, key.created)
            return self._add_data_key(PRIMARY)

    def retire(self, key_id: str) -> DataKey:
        """Mark a non-primary data key ``retired`` (after re-encryption); it still decrypts."""
        with self._changing():
            key = self._data.get(key_id)
            if key is None:
                raise KeyRingError(f"data key {key_id} is not in the key ring {self.path}")
            if key.status == PRIMARY:
                raise KeyRingError(f"data key {key_id} is the primary key; rotate first")
            self._data[key_id] = DataKey(key.id, key.key, RETIRED, key.created)
            return self._data[key_id]

    # -- blind-index keys

    def index_key(self, name: str) -> bytes:
        """The HMAC-SHA256 key of blind index ``name``, created (and saved) on first use."""
        entry = self._index.get(name)
        if entry is None:
            if not _INDEX_NAME.fullmatch(name):
                raise KeyRingError(f"bad blind-index name {name!r} (lowercase, digits, _)")
            with self._changing():
                entry = self._index.get(name) or self._add_index_key(name)
        return entry.key

    @property
    def index_names(self) -> list[str]:
        return sorted(self._index)

    # -- audit signing keys

    def _active_signing(self) -> _SigningKey:
        for key in self._signing.values():
            if key.status == ACTIVE:
                return key
        raise KeyRingError(f"key ring {self.path} has no active audit signing key")

    def audit_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs new audit checkpoints."""
        return self._active_signing().private

    @property
    def audit_signing_key_id(self) -> str:
        """The id of :meth:`audit_signing_key` (record it with each checkpoint)."""
        return self._active_signing().id

    def audit_public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every signing key's public half by id, retired ones included."""
        return {key_id: key.private.public_key() for key_id, key in self._signing.items()}

    def rotate_signing_key(self) -> str:
        """Make a new active signing key; the old one is retired (still verifies). Its id."""
        with self._changing():
            for key in self._signing.values():
                if key.status == ACTIVE:
                    key.status = RETIRED
            return self._add_signing_key()

    # -- listing, saving

    def describe(self) -> list[KeyInfo]:
        """Ids, status and creation times of every key (no key material)."""
        rows = [KeyInfo("data", k.id, k.status, k.created) for k in self.data_keys]
        rows += [
            KeyInfo("index", k.id, ACTIVE, k.created, name)
            for name, k in sorted(self._index.items())
        ]
        rows += [KeyInfo("signing", k.id, k.status, k.created) for k in self._signing.values()]
        return rows

    def save(self) -> None:
        """Write this ring as it is in memory (atomically, mode 0600, under the lock).

        It replaces what is on disk: the changing methods re-read the file first and should be
        preferred when other processes may be changing the ring too.
        """
        with self._lock():
            self._write()

    def rewrap(self, kek: KeyEncryptionKey) -> None:
        """Wrap every secret with another KEK (moving to a KMS, or replacing the KEK)."""
        with self._changing():
            self.kek = kek

    def __repr__(self) -> str:
        return f"KeyRing({str(self.path)!r}, data_keys={len(self._data)}, kek={self.kek.key_id})"

    # -- internals

    def _unique_id(self) -> str:
        taken = set(self._data) | set(self._signing) | {k.id for k in self._index.values()}
        while (key_id := new_key_id()) in taken:
            pass  # pragma: no cover - 64-bit collision
        return key_id

    def _add_data_key(self, status: str) -> DataKey:
        key = DataKey(self._unique_id(), AESGCM.generate_key(bit_length=256), status, _now())
        self._data[key.id] = key
        return key

    def _add_index_key(self, name: str) -> _IndexKey:
        if not _INDEX_NAME.fullmatch(name):
            raise KeyRingError(f"bad blind-index name {name!r} (lowercase, digits, _)")
        entry = _IndexKey(self._unique_id(), os.urandom(KEY_BYTES), _now())
        self._index[name] = entry
        return entry

    def _add_signing_key(self) -> str:
        key = _SigningKey(self._unique_id(), Ed25519PrivateKey.generate(), ACTIVE, _now())
        self._signing[key.id] = key
        return key.id

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """Lock, re-read the file, let the caller change the ring, write it back."""
        with self._lock():
            self._load()
            yield
            self._write()

    def _unwrap(self, purpose: str, key_id: str, wrapped: str) -> bytes:
        if not _KEY_ID.fullmatch(key_id):
            raise KeyRingError(f"key ring {self.path}: malformed key id in the {purpose} keys")
        try:
            return self.kek.unwrap(_unb64(wrapped), _wrap_aad(purpose, key_id))
        except (KeyRingError, InvalidTag, binascii.Error, ValueError):
            hint = ""
            if self._file_kek_id and self._file_kek_id != self.kek.key_id:
                hint = (
                    f": the ring was wrapped by KEK {self._file_kek_id}, "
                    f"this KEK is {self.kek.key_id}"
                )
            raise KeyRingError(
                f"key ring {self.path}: {purpose} key {key_id} cannot be unwrapped "
                f"with KEK {self.kek.key_id} (wrong key-encryption key, or the ring was "
                f"altered){hint}"
            ) from None

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyRingError(f"no key ring at {self.path}: run edi keys init") from None
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT or doc.get("version") != VERSION:
                raise KeyRingError(
                    f"{self.path} is not an edi key ring of version {VERSION} "
                    f"(format {doc.get('format')!r}, version {doc.get('version')!r})"
                )
            self._file_kek_id = doc.get("kek_id")
            data: dict[str, DataKey] = {}
            for item in doc["data_keys"]:
                key = self._unwrap("data", item["id"], item["wrapped"])
                if len(key) != KEY_BYTES or item["status"] not in (PRIMARY, ACTIVE, RETIRED):
                    raise KeyRingError(f"key ring {self.path}: data key {item['id']} is malformed")
                data[item["id"]] = DataKey(
                    item["id"], key, item["status"], datetime.fromisoformat(item["created"])
                )
            index: dict[str, _IndexKey] = {}
            for item in doc["index_keys"]:
                key = self._unwrap(f"index:{item['name']}", item["id"], item["wrapped"])
                index[item["name"]] = _IndexKey(
                    item["id"], key, datetime.fromisoformat(item["created"])
                )
            signing: dict[str, _SigningKey] = {}
            for item in doc["signing_keys"]:
                raw = self._unwrap("signing", item["id"], item["wrapped"])
                private = Ed25519PrivateKey.from_private_bytes(raw)
                if _raw_public(private.public_key()) != _unb64(item["public"]):
                    raise KeyRingError(
                        f"key ring {self.path}: signing key {item['id']} does not match "
                        "its recorded public key"
                    )
                signing[item["id"]] = _SigningKey(
                    item["id"], private, item["status"], datetime.fromisoformat(item["created"])
                )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KeyRingError(
                f"key ring {self.path} is malformed ({type(exc).__name__})"
            ) from None
        if sum(1 for key in data.values() if key.status == PRIMARY) != 1:
            raise KeyRingError(f"key ring {self.path} must have exactly one primary data key")
        self._data, self._index, self._signing = data, index, signing

    def _document(self) -> dict[str, Any]:
        wrap = self.kek.wrap
        return {
            "format": FORMAT,
            "version": VERSION,
            "kek_id": self.kek.key_id,
            "data_keys": [
                {
                    "id": k.id,
                    "status": k.status,
                    "created": k.created.isoformat(),
                    "wrapped": _b64(wrap(k.key, _wrap_aad("data", k.id))),
                }
                for k in self.data_keys
            ],
            "index_keys": [
                {
                    "name": name,
                    "id": k.id,
                    "created": k.created.isoformat(),
                    "wrapped": _b64(wrap(k.key, _wrap_aad(f"index:{name}", k.id))),
                }
                for name, k in sorted(self._index.items())
            ],
            "signing_keys": [
                {
                    "id": k.id,
                    "status": k.status,
                    "created": k.created.isoformat(),
                    "public": _b64(_raw_public(k.private.public_key())),
                    "wrapped": _b64(
                        wrap(k.private.private_bytes_raw(), _wrap_aad("signing", k.id))
                    ),
                }
                for k in self._signing.values()
            ],
        }

    def _write(self) -> None:
        """Replace the ring file: temp file (0600) + fsync + rename + fsync of the folder."""
        payload = json.dumps(self._document(), indent=2).encode("utf-8") + b"\n"
        write_atomic(self.path, payload, sync_dir=True)
        self._file_kek_id = self.kek.key_id


def open_keyring(settings: Settings) -> KeyRing:
    """The ring at ``settings.keyring_path``, unwrapped with the configured KEK."""
    if not settings.keyring_path.exists():  # say this before a missing default KEK file
        raise KeyRingError(f"no key ring at {settings.keyring_path}: run edi keys init")
    return KeyRing.open(settings.keyring_path, kek_from_settings(settings))


@dataclass(frozen=True, slots=True)
class InitResult:
    """What :func:`init_keyring` made."""

    ring: KeyRing
    kek_file_created: Path | None


def init_keyring(settings: Settings) -> InitResult:
    """Create the ring (and the default KEK file when no KEK is configured and it is absent).

    Refuses to overwrite an existing ring. The default KEK file is for the embedded setup.
    """
    if settings.keyring_path.exists():
        raise KeyRingError(f"a key ring already exists at {settings.keyring_path}; not overwritten")
    settings.ensure_home()
    created: Path | None = None
    default = default_kek_path(settings)
    if default is not None and not default.exists():
        FileKek.generate(default)
        created = default
    ring = KeyRing.create(settings.keyring_path, kek_from_settings(settings))
    return InitResult(ring, created)
