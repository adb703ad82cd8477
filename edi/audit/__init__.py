"""The tamper-evident audit log: a hash chain of entries with Ed25519-signed checkpoints.

The package hands on the public names of :mod:`edi.audit.chain` (its ``__all__``).
"""

from edi.audit.chain import *  # noqa: F403
from edi.audit.chain import __all__ as __all__
