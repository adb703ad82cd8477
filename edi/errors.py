"""Every exception edi raises, rooted at :class:`EdiError`.

Messages name files, positions and codes, never values from the data (no PHI).
"""

from __future__ import annotations


class EdiError(Exception):
    """Root of every error edi raises on purpose."""


class ConfigError(EdiError):
    """The configuration or environment is missing, unreadable or inconsistent."""


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
        super().__init__(f"{where}: {message}")


class MapError(EdiError):
    """An implementation-guide map is missing, malformed or cannot be chosen for a group."""


class ValidationFailed(EdiError):
    """A transaction set or interchange was rejected by validation."""


class TransferError(EdiError):
    """A file could not be moved to or from a trading partner."""


class HostKeyMismatch(TransferError):
    """A partner's SFTP host key is unknown or differs from the pinned one."""


class DecryptError(EdiError):
    """An OpenPGP message could not be decrypted."""


class SignatureError(EdiError):
    """An OpenPGP signature is missing, bad, or from a key that is not pinned."""


class DuplicateInterchange(EdiError):
    """An interchange (sender, ISA13) was already received."""


class KeyRingError(EdiError):
    """A data or key-encryption key is missing or wrong."""


class CiphertextError(DecryptError):
    """A stored field or encrypted file is malformed, altered, moved, or under an unknown key."""
