"""Named fault points, where the crash tests kill the process: ``EDI_FAULT=<name>``.

``reached(name)`` does nothing unless ``EDI_FAULT`` named this point when the process
started (read once, at import; a point costs one string comparison), in which case the
process kills itself with SIGKILL there: no ``finally``, no exit handler, no flush runs,
as when the machine loses power or the kernel's OOM killer picks the process.
"""

from __future__ import annotations

import os
import signal

#: the point to die at ("": none), fixed for the life of the process
_ARMED = os.environ.get("EDI_FAULT", "")


def reached(name: str) -> None:
    """SIGKILL this process when ``EDI_FAULT`` names this point; nothing otherwise."""
    if name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["reached"]
