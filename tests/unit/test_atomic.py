"""Atomic writes: the target is whole or untouched, owner-only by default, never a temp left."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from edi.atomic import atomic_file, write_atomic


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_atomic_writes_bytes_and_text_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    assert write_atomic(target, "ISA*00~\n") == target
    assert target.read_bytes() == b"ISA*00~\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _names(tmp_path) == ["a.txt"]


def test_mode_is_the_one_given_less_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "open", "x", mode=0o666)
        write_atomic(tmp_path / "mine", "x", mode=0o640)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "open").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "mine").stat().st_mode) == 0o640


def test_an_error_mid_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "ring.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_file(target) as out:
        out.write(b"new, half")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == ["ring.json"]


def test_an_error_mid_write_creates_no_target(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_file(tmp_path / "new", exclusive=True) as out:
        out.write(b"half")
        raise KeyboardInterrupt
    assert _names(tmp_path) == []


def test_the_target_appears_only_when_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "big.enc"
    with atomic_file(target, sync_dir=True) as out:
        out.write(b"a" * 100_000)
        assert not target.exists()
        [temp] = _names(tmp_path)
        assert temp.startswith(".big.enc.") and temp.endswith(".part")
        assert stat.S_IMODE((tmp_path / temp).stat().st_mode) == 0o600
    assert target.read_bytes() == b"a" * 100_000
    assert _names(tmp_path) == ["big.enc"]


def test_exclusive_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "export.x12"
    target.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"mine", exclusive=True)
    assert target.read_bytes() == b"theirs"
    assert _names(tmp_path) == ["export.x12"]


def test_exclusive_refuses_a_file_that_appears_during_the_write(tmp_path: Path) -> None:
    target = tmp_path / "export.x12"
    with pytest.raises(FileExistsError), atomic_file(target, exclusive=True) as out:
        out.write(b"mine")
        target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs"
    assert _names(tmp_path) == ["export.x12"]


def test_exclusive_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    target = tmp_path / "link"
    target.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"mine", exclusive=True)
    assert not (tmp_path / "nowhere").exists()
    assert _names(tmp_path) == ["link"]


def test_exclusive_writes_a_new_file(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "new", b"data", exclusive=True)
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _names(tmp_path) == ["new"]


def test_exclusive_without_hard_links_still_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    target = write_atomic(tmp_path / "new", b"data", exclusive=True)
    assert target.read_bytes() == b"data" and _names(tmp_path) == ["new"]
    with pytest.raises(FileExistsError):
        write_atomic(target, b"other", exclusive=True)
    assert target.read_bytes() == b"data" and _names(tmp_path) == ["new"]


def test_a_folder_that_does_not_exist_is_an_error_with_nothing_left(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "a", b"x")
    assert _names(tmp_path) == []
