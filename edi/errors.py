"""Every exception edi raises, rooted at :class:`EdiError`.

Messages name files, positions and codes, never values from the data (no PHI).
"""

from __future__ import annotations

import functools
from typing import Any


class EdiError(Exception):
    """Root of every error edi raises on purpose."""


class ConfigError(EdiError):
    """The configuration or environment is missing, unreadable or inconsistent."""


class MissingFieldMap(ConfigError):
    """A transaction set that validation accepts has no usable field map: none serves its
    guide, or the one that does cannot be read. The operator's fault, not the partner's:
    the file is refused whole (nothing stored, no acknowledgment made), so it is taken
    again, and stored, once the field maps are back.

    The message is one line: the file as given, the set (ST01, ST02, its kind, GS08, its
    group and interchange control numbers), what is missing; ``reason`` is the same
    without the file. No data values. The other attributes hold its parts.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        reason: str = "",
        set_id: str = "",
        control: str = "",
        kind: str = "",
        guide: str = "",
        problem: str = "",
    ) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason or message
        self.set_id = set_id
        self.control = control
        self.kind = kind
        self.guide = guide
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        # explicit, so that the parts cross a process boundary (a record worker, a Prefect
        # task) whatever keeps the attributes
        parts = ("path", "reason", "set_id", "control", "kind", "guide", "problem")
        rebuild = functools.partial(type(self), **{name: getattr(self, name) for name in parts})
        return (rebuild, (str(self),))

    @classmethod
    def of_set(
        cls,
        path: str,
        *,
        set_id: str,
        control: str,
        kind: str,
        guide: str,
        group: str,
        interchange: str,
        problem: str,
        more: int = 0,
    ) -> MissingFieldMap:
        """The error for one set (``more``: how many other sets of the file lack one too)."""
        reason = (
            f"refused, nothing stored or acknowledged (an operator error): set {set_id} "
            f"{control} ({kind}, guide {guide or '(none)'}, group {group}, interchange "
            f"{interchange}): {problem}"
        )
        if more:
            reason += f"; and {more} more set(s) without one"
        reason = " ".join(reason.split())  # one line whatever a reason holds
        return cls(
            f"{path}: {reason}",
            path=path,
            reason=reason,
            set_id=set_id,
            control=control,
            kind=kind,
            guide=guide,
            problem=problem,
        )


class X12SyntaxError(EdiError):
    """A file cannot be read as X12 at all (no ISA, truncated ISA, binary data, no terminator).

    ``file``, ``offset`` (byte) and ``ordinal`` (segment count so far) say where.
    """

    def __init__(
        self, message: str, *, file: str, offset: int, ordinal: int = 0, code: str = "x12"
    ) -> None:
        self.file = file
        self.offset = offset
        self.ordinal = ordinal
        self.code = code
        where = f"{file}: byte {offset}"
        if ordinal:
            where += f" (after segment {ordinal})"
        self.message = message
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild = functools.partial(
            type(self), file=self.file, offset=self.offset, ordinal=self.ordinal, code=self.code
        )
        return (rebuild, (self.message,))


class MapError(EdiError):
    """An implementation-guide map is missing, malformed or cannot be chosen for a group."""


class RuleFileError(MapError):
    """A rule file (``maps/rules/``, ``$EDI_MAPS/rules/``) cannot be read or breaks its
    schema or the rule language; the message names the file and line."""


class TransferError(EdiError):
    """A file could not be moved to or from a trading partner."""


class HostKeyMismatch(TransferError):
    """A partner's SFTP host key is unknown or differs from the pinned one."""


class DecryptError(EdiError):
    """An OpenPGP message could not be decrypted."""


class SignatureError(EdiError):
    """An OpenPGP signature is missing, bad, or from a key that is not pinned."""


class KeyRingError(EdiError):
    """A data or key-encryption key is missing or wrong."""


class CiphertextError(DecryptError):
    """A stored field or encrypted file is malformed, altered, moved, or under an unknown key."""


class PlaintextTooLarge(DecryptError):
    """An OpenPGP message decrypts to more than its partner's max_file_bytes or max_expansion."""


class AccessDenied(EdiError):
    """The OS user's roles do not allow what was asked."""


class AuditError(EdiError):
    """The audit log cannot be read or written as asked (no checkpoint, malformed file)."""


class QueryError(EdiError):
    """A filter, sort key or id the store cannot answer (bad value, unknown column)."""


class ReprocessError(EdiError):
    """A file cannot be reprocessed or exported: one line naming the file and why."""


class KeptFileError(EdiError):
    """A file kept in staging (refused, or pulled only) that does not exist or cannot be
    exported where asked."""


class LeaseLost(EdiError):
    """Another worker took over this file's lease (ours had expired)."""


class WithheldError(EdiError):
    """An unexpected error in a task: its type and place only, since its message (from
    Python or a library, not from edi) may quote the file it was reading."""


class UnsafeName(TransferError):
    """A remote name that could escape its folder or hide control characters."""


class TransientError(TransferError):
    """A transfer step failed in a way that trying again may mend (a cut connection)."""


class ExchangeFailed(EdiError):
    """A partner's exchange ended with files refused or failed: the Prefect run's Failed
    state carries it (Prefect resolves a failed state's data into an exception), with the
    run's summary (names, checksums, counts; no values) in ``summary``."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.summary))


class RecordWorkerError(EdiError):
    """The record worker failed or ended before its last batch (the file is not stored).

    Its message names the file and the type of the worker's exception, never that
    exception's own message (Python's or a library's may hold a value)."""
