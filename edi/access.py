"""Who may do what: roles mapped to OS users, read only from files the data's owner controls.

A ``[roles]`` table maps each role to the OS users that hold it::

    [roles]
    analyst = ["ana", "bo"]
    phi-reader = ["pat"]
    operator = ["ops", "edi-worker"]
    auditor = ["aud"]
    admin = ["root"]

A user may hold several roles. What each role allows (:data:`GRANTS`):

- ``analyst``: read the store, PHI masked (files, transactions, claims, members,
  payments, search, reports);
- ``phi-reader``: the same, and reveal PHI on purpose (``--reveal --reason``, audited);
- ``operator``: run the exchange (ingest, pull, run, serve, deploy, partners, db), reprocess
  and export stored files' originals, and read masked;
- ``auditor``: read, verify and checkpoint the audit chain, and read masked;
- ``admin``: manage the key ring and the schema.

Roles are read from one of two places a user cannot choose (:func:`access_for`):

- ``/etc/edi/roles.toml`` (:data:`SYSTEM_ROLES`): a file holding only ``[roles]``, owned
  by root and not writable by group or others; it applies to every data directory;
- ``$EDI_HOME/edi.toml``: the data directory's own configuration, when it has a
  ``[roles]`` table, is owned by the owner of ``EDI_HOME`` (or root) and is not writable
  by group or others.

A file that defines ``[roles]`` but fails those checks is refused (:class:`ConfigError`
naming the file and the check), as is ``[roles]`` in both places. A configuration given
with ``--config`` or ``EDI_CONFIG`` that is not ``$EDI_HOME/edi.toml`` is anyone's to
write, so a ``[roles]`` table in it is refused too, with a message saying where roles
belong: it never grants a role.

Without a trusted ``[roles]`` table the store is a one-person install: the owner of the
data directory (``EDI_HOME``), who holds the key ring file and so could decrypt everything
anyway, holds every role; anyone else holds none, whatever configuration they point at.
Once ``[roles]`` exists, only the users it names hold roles, and a user it does not name
is refused with a message saying so.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edi.errors import AccessDenied, ConfigError

ANALYST, PHI_READER, OPERATOR, AUDITOR, ADMIN = (
    "analyst",
    "phi-reader",
    "operator",
    "auditor",
    "admin",
)
ROLES = (ANALYST, PHI_READER, OPERATOR, AUDITOR, ADMIN)

#: permissions
READ, REVEAL, OPERATE, AUDIT, KEYS = "read", "reveal", "operate", "audit", "keys"

#: role -> what it allows
GRANTS: dict[str, frozenset[str]] = {
    ANALYST: frozenset({READ}),
    PHI_READER: frozenset({READ, REVEAL}),
    OPERATOR: frozenset({READ, OPERATE}),
    AUDITOR: frozenset({READ, AUDIT}),
    ADMIN: frozenset({KEYS, OPERATE}),
}
#: permission -> how the refusal names it
DOING = {
    READ: "read the store",
    REVEAL: "reveal PHI",
    OPERATE: "run the exchange (ingest, pull, run, db)",
    AUDIT: "read or checkpoint the audit log",
    KEYS: "manage the key ring",
}


def os_user() -> str:
    """The account this process runs as (audit entries carry it): its effective uid's
    account, else the login name."""
    with contextlib.suppress(ImportError, KeyError, AttributeError):
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


#: the machine-wide roles file: owned by root, not writable by group or others
SYSTEM_ROLES = Path("/etc/edi/roles.toml")
#: the data directory's own configuration, the one configuration roles are read from
HOME_CONFIG = "edi.toml"


@dataclass(frozen=True, slots=True)
class Access:
    """One user's roles, and the trusted file they come from."""

    user: str
    roles: frozenset[str]
    #: False: no trusted ``[roles]`` table; the data directory's owner holds every role
    configured: bool
    #: the file whose ``[roles]`` table gave the roles (None when not configured)
    source: Path | None = None

    def allows(self, permission: str) -> bool:
        return any(permission in GRANTS[role] for role in self.roles)

    def require(self, permission: str) -> None:
        """Raise :class:`AccessDenied` unless a role of the user allows ``permission``."""
        if self.allows(permission):
            return
        allowing = sorted(r for r in ROLES if permission in GRANTS[r])
        needs = (
            f"the role {allowing[0]}"
            if len(allowing) == 1
            else "one of the roles " + ", ".join(allowing)
        )
        if not self.roles:
            where = (
                f"[roles] in the configuration does not name this user ({self.source})"
                if self.configured
                else "there is no [roles] table and this user does not own the data directory"
            )
            raise AccessDenied(
                f"user {self.user!r} holds no role ({where}); to {DOING[permission]} "
                f"it needs {needs}: ask an administrator"
            )
        held = ", ".join(sorted(self.roles))
        raise AccessDenied(
            f"user {self.user!r} (roles: {held}) may not {DOING[permission]}: that needs {needs}"
        )


def parse_roles(table: Any, where: str = "configuration") -> dict[str, frozenset[str]]:
    """``[roles]`` as role -> users, checked by :class:`edi.settings.RolesTable`: known
    roles, lists of user names. ``where``: the file, for messages."""
    from edi.settings import check

    if not isinstance(table, Mapping):
        raise ConfigError(f'{where}: [roles] must be a table: role = ["user", ...]')
    checked = check({"roles": table}, base=Path.cwd(), origin=lambda *_: where)
    if checked.all_problems():
        raise ConfigError("\n".join(checked.all_problems()))
    return dict(checked.tables["roles"].table())


def roles_of(user: str, table: Mapping[str, Iterable[str]]) -> frozenset[str]:
    return frozenset(role for role, users in table.items() if user in users)


def access_for(
    settings: Any,
    user: str | None = None,
    *,
    uid: int | None = None,
    system: Path | None = None,
) -> Access:
    """The roles of ``user`` (default: this process's OS user, ``uid`` its effective uid)
    under ``settings``, read from the trusted places only (see the module's docstring).

    ``system`` replaces :data:`SYSTEM_ROLES` (for tests). Raises :class:`ConfigError` when
    the configuration in use carries a ``[roles]`` table it may not set, or a trusted
    place defines roles but fails its ownership or mode check.
    """
    user = user or os_user()
    home = Path(settings.home)
    refuse_chosen_roles(settings, system or SYSTEM_ROLES)
    found = trusted_roles(home, system or SYSTEM_ROLES)
    if found is not None:
        table, source = found
        return Access(user, roles_of(user, table), configured=True, source=source)
    return Access(user, frozenset(ROLES) if _owns(home, uid) else frozenset(), configured=False)


def trusted_roles(
    home: Path, system: Path = SYSTEM_ROLES
) -> tuple[dict[str, frozenset[str]], Path] | None:
    """The ``[roles]`` table (role -> users) and its file, from the system roles file or
    ``home``'s own configuration; None when neither defines one."""
    owner = _data_owner(home)
    system_table = _read_trusted(system, owners={0}, whose="root", system=True)
    home_file = home / HOME_CONFIG
    home_owners = {0} if owner is None else {owner, 0}
    home_table = _read_trusted(
        home_file, owners=home_owners, whose=f"the owner of {home} or root", system=False
    )
    if system_table is not None and home_table is not None:
        raise ConfigError(
            f"{system} and {home_file} both set [roles]: keep one ({system} applies to every "
            "data directory)"
        )
    if system_table is not None:
        return parse_roles(system_table, str(system)), system
    if home_table is not None:
        return parse_roles(home_table, str(home_file)), home_file
    return None


def _read_trusted(path: Path, *, owners: set[int], whose: str, system: bool) -> Any:
    """The raw ``[roles]`` table of ``path``, after checking who may write the file; None
    when the file does not exist or has no ``[roles]``."""
    try:
        link = path.lstat()
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            data = tomllib.load(handle)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror}), so the roles it may set are unknown; "
            f"roles for users other than the data directory's owner belong in {SYSTEM_ROLES}"
            if not system
            else f"{path}: the roles file cannot be read ({exc.strerror})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if system and set(data) - {"roles"}:
        extra = ", ".join(sorted(set(data) - {"roles"}))
        raise ConfigError(f"{path}: a roles file holds only [roles], not {extra}")
    if "roles" not in data:
        if system:
            raise ConfigError(f"{path}: the roles file has no [roles] table")
        return None
    if hasattr(os, "geteuid"):  # POSIX owners and modes; elsewhere the file system's ACLs
        for what in (status, link):
            if what.st_uid not in owners:
                raise ConfigError(
                    f"{path}: [roles] refused: the file is owned by uid {what.st_uid}, not by "
                    f"{whose}"
                )
        if stat.S_IMODE(status.st_mode) & 0o022:
            raise ConfigError(
                f"{path}: [roles] refused: the file is writable by group or others (mode "
                f"{stat.S_IMODE(status.st_mode):04o}); make it writable by its owner only "
                f"(chmod go-w {path})"
            )
    return data["roles"]


def refuse_chosen_roles(settings: Any, system: Path = SYSTEM_ROLES) -> None:
    """Raise :class:`ConfigError` when the configuration in use has a ``[roles]`` table and
    is not the data directory's own ``edi.toml`` (one given with ``--config`` or
    ``EDI_CONFIG``, which anyone can write)."""
    if "roles" not in settings.options:
        return
    home = Path(settings.home)
    chosen = settings.config_path
    trusted = home / HOME_CONFIG
    with contextlib.suppress(OSError):
        if chosen is not None and chosen.is_file() and os.path.samefile(chosen, trusted):
            return
    raise ConfigError(
        f"{settings.origin('roles')}: [roles] is not read from a configuration given with "
        f"--config or EDI_CONFIG, which anyone can write: roles belong in {trusted} (owned "
        f"by the owner of {home}, not writable by group or others) or in {system} (owned "
        "by root, not writable by group or others)"
    )


def _data_owner(home: Path) -> int | None:
    """The uid owning the data directory, or None when it does not exist yet."""
    try:
        return home.stat().st_uid
    except (FileNotFoundError, NotADirectoryError):
        return None


def _owns(home: Path, uid: int | None = None) -> bool:
    """Whether ``uid`` (default: this process's effective uid) owns the data directory
    (or it does not exist yet)."""
    if not hasattr(os, "geteuid"):
        return True
    owner = _data_owner(home)
    if owner is None:
        return True  # a new install: the first user creates it
    return owner == (os.geteuid() if uid is None else uid)


__all__ = [
    "ADMIN",
    "ANALYST",
    "AUDIT",
    "AUDITOR",
    "GRANTS",
    "HOME_CONFIG",
    "KEYS",
    "OPERATE",
    "OPERATOR",
    "PHI_READER",
    "READ",
    "REVEAL",
    "ROLES",
    "SYSTEM_ROLES",
    "Access",
    "AccessDenied",
    "access_for",
    "os_user",
    "parse_roles",
    "refuse_chosen_roles",
    "trusted_roles",
]
