"""Stage: parse. A file's records, made here or by a record worker beside the validation.

The records of a large file are made by a record worker process while this one validates
(:mod:`edi.pipeline.record_worker`); what is stored is the same either way. The worker
starts before validation (it reads the file from the start in parallel) and its rows of
the sets validation accepts are written by :mod:`edi.pipeline.store`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from edi.pipeline.context import Wiring, work_dir
from edi.pipeline.enrollment_units import INDEXES as UNIT_INDEXES
from edi.pipeline.record_worker import (
    RecordWorker,
    fork_safe,
    normalized_records,
    records_with,
    usable_cores,
)
from edi.records import Record
from edi.records.phi import Splitter
from edi.store.crypto import BlindIndex, FieldCipher
from edi.store.rows import BLIND_INDEXES, RowMaker
from edi.store.write import old_objects_frozen

#: files at least this large have their rows made by a record worker when two cores are
#: free (``workers`` left to the ingest); smaller ones are done before a fork pays off
WORKER_MIN_BYTES = 512 * 1024
#: where a fork is not safe, files at least this large have their rows made by a spawned
#: worker (a new interpreter takes about a second to start)
SPAWN_MIN_BYTES = 8 << 20

#: the records of a file's stream: (stream, name, sha256) -> records
Normalizer = Callable[[BinaryIO, str, str], Iterator[Record]]


def row_maker(wiring: Wiring) -> RowMaker:
    """The wiring's row maker (PHI split, encryption, blind indexes), made once."""
    if wiring.rows is None:
        wiring.rows = RowMaker(Splitter(), FieldCipher(wiring.ring), BlindIndex(wiring.ring))
    return wiring.rows


def normalizer(wiring: Wiring) -> Normalizer:
    """The records of a file's stream, with the wiring's field maps."""
    return normalized_records if wiring.field_maps is None else records_with(wiring.field_maps)


def start_worker(
    wiring: Wiring, source: Path, size: int, sha256: str, file_id: str, seed: bytes
) -> RecordWorker | None:
    """A record worker for this file, when it pays off: forked when this process runs one
    thread, else spawned for files of SPAWN_MIN_BYTES or more (or when asked for with
    ``workers=2``); ``None``: this process makes the rows."""
    wanted = wiring.workers
    if wanted is None:
        wanted = 2 if size >= WORKER_MIN_BYTES and usable_cores() >= 2 else 1
    if wanted < 2:
        return None
    names = [index for indexes in BLIND_INDEXES.values() for index, _path in indexes.values()]
    names += [name for name in UNIT_INDEXES if name not in names]  # the member state's keys
    for name in names:  # made (and saved) here, never in the worker
        wiring.ring.index_key(name)
    engine = wiring.engine
    if fork_safe():
        with old_objects_frozen():  # the worker shares these pages instead of copying them
            return RecordWorker.start(
                source,
                sha256=sha256,
                file_id=file_id,
                seed=seed,
                maker=row_maker(wiring),
                dialect=engine.dialect,
                records=normalizer(wiring),
                spill_dir=work_dir(wiring),
            )
    if wiring.workers is None and size < SPAWN_MIN_BYTES:
        return None
    return RecordWorker.spawn(
        source,
        sha256=sha256,
        file_id=file_id,
        seed=seed,
        ring=wiring.ring,
        index_names=names,
        dialect=engine.dialect,
        field_map_folders=None if wiring.field_maps is None else wiring.field_maps.folders,
        spill_dir=work_dir(wiring),
    )


__all__ = [
    "SPAWN_MIN_BYTES",
    "WORKER_MIN_BYTES",
    "Normalizer",
    "normalizer",
    "row_maker",
    "start_worker",
]
