"""Which fork of the process this is, so random material drawn ahead is never shared.

Row ids and field nonces are drawn from ``os.urandom`` many at a time. A forked child
(the record worker) inherits the parent's unused ones; both would then hand out the
same values. :func:`generation` changes in the child at every fork, so a pool that
remembers the generation it was drawn in draws afresh when it differs: one list read
where ``os.getpid()`` (a system call each time) was checked before.
"""

from __future__ import annotations

import os

_generation = [0]


def _forked() -> None:
    _generation[0] += 1


os.register_at_fork(after_in_child=_forked)


def generation() -> int:
    """A number that differs in a forked child from what it was in its parent."""
    return _generation[0]


__all__ = ["generation"]
