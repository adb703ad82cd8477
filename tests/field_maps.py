"""Field maps made unusable on purpose (the fail-closed tests): by configuration, not by
file modes, so that it holds when the tests run as root."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edi.parsers.fields import SHARED_FIELDSETS, default_field_maps, field_maps_folder

#: the project's field map of 837P 5010 (guide 005010X222A1)
MAP_837P = field_maps_folder() / "837P.5010.X222A1.xml"


@dataclass
class BrokenMaps:
    """``EDI_MAPS`` names a folder whose ``fields/`` holds a copy of the 837P map that
    claims the same guides but does not pass its schema; ``file`` is that copy."""

    file: Path
    monkeypatch: pytest.MonkeyPatch

    def restore(self) -> None:
        """The field maps back: EDI_MAPS unset, the default catalog read again."""
        self.monkeypatch.delenv("EDI_MAPS", raising=False)
        default_field_maps.cache_clear()


@pytest.fixture
def broken_837p_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrokenMaps]:
    """The 837P field map made unreadable for this test (see :class:`BrokenMaps`); the
    environment is set, so a spawned record worker sees the same maps."""
    folder = tmp_path / "maps-override" / "fields"
    folder.mkdir(parents=True)
    shutil.copy(field_maps_folder() / SHARED_FIELDSETS, folder / SHARED_FIELDSETS)
    text = MAP_837P.read_text()
    root = text.index("<fieldmap")
    opened = text.index(">", root) + 1
    broken = folder / MAP_837P.name
    broken.write_text(text[:opened] + "\n<no-such-element/>" + text[opened:])
    monkeypatch.setenv("EDI_MAPS", str(folder.parent))
    default_field_maps.cache_clear()
    yield BrokenMaps(broken, monkeypatch)
    default_field_maps.cache_clear()
