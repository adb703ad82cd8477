"""Who may do what: roles mapped to OS users in the configuration, checked by the commands.

``[roles]`` in the configuration maps each role to the OS users that hold it::

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

Without a ``[roles]`` table the store is a one-person install: the owner of the data
directory (``EDI_HOME``), who holds the key ring file and so could decrypt everything
anyway, holds every role; anyone else holds none. Once ``[roles]`` exists, only the users
it names hold roles, and a user it does not name is refused with a message saying so.
"""

from __future__ import annotations

import contextlib
import getpass
import os
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


@dataclass(frozen=True, slots=True)
class Access:
    """One user's roles, and whether they come from a ``[roles]`` table."""

    user: str
    roles: frozenset[str]
    #: False: no ``[roles]`` table; the data directory's owner holds every role
    configured: bool

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
                "[roles] in the configuration does not name this user"
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


def parse_roles(table: Any) -> dict[str, frozenset[str]]:
    """``[roles]`` as role -> users, checked by :class:`edi.settings.RolesTable`: known
    roles, lists of user names."""
    from edi.settings import check

    if not isinstance(table, Mapping):
        raise ConfigError('[roles] must be a table: role = ["user", ...]')
    checked = check({"roles": table}, base=Path.cwd(), origin=lambda *_: "configuration")
    if checked.all_problems():
        raise ConfigError("\n".join(checked.all_problems()))
    return dict(checked.tables["roles"].table())


def roles_of(user: str, table: Mapping[str, Iterable[str]]) -> frozenset[str]:
    return frozenset(role for role, users in table.items() if user in users)


def access_for(settings: Any, user: str | None = None) -> Access:
    """The roles of ``user`` (default: this process's OS user) under ``settings``."""
    user = user or os_user()
    table = settings.roles
    if table is not None:
        return Access(user, roles_of(user, table.table()), configured=True)
    owner = _owns(settings.home)
    return Access(user, frozenset(ROLES) if owner else frozenset(), configured=False)


def _owns(home: Path) -> bool:
    """Whether this process's user owns the data directory (or it does not exist yet)."""
    if not hasattr(os, "geteuid"):
        return True
    try:
        return home.stat().st_uid == os.geteuid()
    except FileNotFoundError:
        return True  # a new install: the first user creates it


__all__ = [
    "ADMIN",
    "ANALYST",
    "AUDIT",
    "AUDITOR",
    "GRANTS",
    "KEYS",
    "OPERATE",
    "OPERATOR",
    "PHI_READER",
    "READ",
    "REVEAL",
    "ROLES",
    "Access",
    "AccessDenied",
    "access_for",
    "os_user",
    "parse_roles",
]
