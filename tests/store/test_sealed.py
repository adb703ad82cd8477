"""Files kept in staging are sealed with the key ring, bound to their place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edi.errors import CiphertextError
from edi.store.keys import KeyRing, LocalKek
from edi.store.sealed import seal_loose, unsealed
from tests.conftest import SAMPLES


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing.create(tmp_path / "ring.json", LocalKek(os.urandom(32), source="test"))


def test_files_an_earlier_edi_kept_in_the_clear_are_sealed(tmp_path: Path, ring: KeyRing) -> None:
    staging = tmp_path / "staging" / "acme"
    for folder in ("refused", "pulled", "plain"):
        (staging / folder).mkdir(parents=True)
    claims = (SAMPLES / "837P-professional-claim.x12").read_bytes()
    (staging / "refused" / "0123.c.x12").write_bytes(claims)
    (staging / "pulled" / "c.x12").write_bytes(claims)
    (staging / "plain" / "other.x12").write_bytes(claims)  # not a kept folder: swept elsewhere

    done = seal_loose(staging, ring)

    assert [p.relative_to(staging).as_posix() for p in done] == [
        "refused/0123.c.x12.sealed",
        "pulled/c.x12.sealed",
    ]
    for path in done:
        assert b"ISA*" not in path.read_bytes() and path.stat().st_mode & 0o777 == 0o600
        assert b"".join(unsealed(path, ring)) == claims
    assert sorted(p.name for p in (staging / "refused").iterdir()) == ["0123.c.x12.sealed"]
    assert seal_loose(staging, ring) == []  # sealed once


def test_a_sealed_file_moved_or_renamed_does_not_decrypt(tmp_path: Path, ring: KeyRing) -> None:
    staging = tmp_path / "staging" / "acme"
    (staging / "pulled").mkdir(parents=True)
    (staging / "refused").mkdir()
    (staging / "pulled" / "c.x12").write_bytes(b"ISA*00*")
    [sealed] = seal_loose(staging, ring)
    moved = staging / "refused" / sealed.name
    os.replace(sealed, moved)
    with pytest.raises(
        CiphertextError, match="c.x12.sealed .file kept:acme/refused/c.x12.sealed.: file key"
    ):
        b"".join(unsealed(moved, ring))
