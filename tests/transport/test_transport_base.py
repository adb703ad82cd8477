"""The transport interface on a local folder: names, stability, download, upload, archive."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from edi.errors import TransferError, TransientError, UnsafeName
from edi.transport.base import (
    FILE,
    SYMLINK,
    RemoteFile,
    check_name,
    classify,
    matches,
    select_stable,
)
from edi.transport.local import LocalRemote


def partner_root(tmp_path: Path) -> Path:
    for folder in ("inbound", "outbound", "archive"):
        (tmp_path / "remote" / folder).mkdir(parents=True)
    return tmp_path / "remote"


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "../etc/passwd", "a/b.x12", "..\\x.x12", "a\x00b", "bell\x07.x12",
     "esc\x1b[31m.x12", "line\nbreak.x12", "del\x7f.x12", "c1\x85.x12", "rtl\u202egpj.x12",
     "-rf.x12", " lead.x12", "trail.x12 ", "trail.", "x" * 256],
)  # fmt: skip
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeName) as caught:
        check_name(name)
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "name", ["claims.x12", "ACME_834_20261201.edi.pgp", "a..b.x12", "Ümlaut.x12", "x" * 255]
)
def test_plain_names_pass(name: str) -> None:
    assert check_name(name) == name


def test_patterns_skip_hidden_names_unless_asked() -> None:
    assert matches("a.x12", ["*.x12"])
    assert not matches(".a.x12.part", ["*.x12", "*.part"])
    assert matches(".a.x12", [".*.x12"])
    assert not matches("a.X12", ["*.x12"])


def test_classify_refuses_links_and_bad_names_and_ignores_folders() -> None:
    entries = [
        RemoteFile("ok.x12", 10, 1),
        RemoteFile("../up.x12", 10, 1),
        RemoteFile("link.x12", 10, 1, SYMLINK),
        RemoteFile("dir.x12", 0, 1, "directory"),
        RemoteFile("fifo.x12", 0, 1, "other"),
        RemoteFile("notes.doc", 10, 1),
    ]
    taken, refused = classify(entries, ["*.x12"])
    assert [f.name for f in taken] == ["ok.x12"]
    assert sorted(r.name for r in refused) == ["../up.x12", "fifo.x12", "link.x12"]


def test_select_stable_needs_same_size_and_mtime_and_bytes() -> None:
    first = [
        RemoteFile("a", 5, 1),
        RemoteFile("b", 5, 1),
        RemoteFile("c", 0, 1),
        RemoteFile("d", 5, 1),
    ]
    second = [
        RemoteFile("a", 5, 1),
        RemoteFile("b", 9, 2),
        RemoteFile("c", 0, 1),
        RemoteFile("d", 5, 3),
        RemoteFile("e", 1, 1),
    ]
    ready, waiting = select_stable(first, second)
    assert [f.name for f in ready] == ["a"]
    assert [f.name for f in waiting] == ["b", "c", "d", "e"]


def test_local_download_hashes_and_stages_privately(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    data = os.urandom(3 * (1 << 20) + 17)
    (root / "inbound" / "big.x12").write_bytes(data)
    remote = LocalRemote(root, partner="acme")
    entry = remote.stat("inbound", "big.x12")
    got = remote.download("inbound", entry, tmp_path / "staging")
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.size == len(data) and got.attempts == 1 and not got.resumed
    assert got.path.read_bytes() == data
    assert got.path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "staging").stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == ["big.x12"]


class FlakyRemote(LocalRemote):
    """A local remote whose reads break after some bytes, a given number of times."""

    def __init__(self, root: Path, *, breaks: int, after: int) -> None:
        super().__init__(root, partner="acme")
        self.breaks, self.after = breaks, after
        self.offsets: list[int] = []
        self.reconnects = 0
        self.sleeps: list[float] = []
        self.sleep = self.sleeps.append  # type: ignore[assignment]

    def reconnect(self) -> None:
        self.reconnects += 1

    @contextlib.contextmanager
    def open_read(self, folder: str, name: str, offset: int, size: int) -> Iterator[BinaryIO]:
        self.offsets.append(offset)
        with super().open_read(folder, name, offset, size) as handle:
            if self.breaks <= 0:
                yield handle
                return
            self.breaks -= 1
            after = self.after

            class Cut:
                def read(self, n: int = -1) -> bytes:
                    nonlocal after
                    if after <= 0:
                        raise TransientError("connection reset")
                    chunk = handle.read(min(n, after))
                    after -= len(chunk)
                    return chunk

            yield Cut()  # type: ignore[misc]


def test_cut_download_resumes_from_the_offset_with_backoff(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    data = os.urandom(5 * (1 << 20))
    (root / "inbound" / "f.x12").write_bytes(data)
    remote = FlakyRemote(root, breaks=2, after=1 << 20)
    got = remote.download("inbound", remote.stat("inbound", "f.x12"), tmp_path / "staging")
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert remote.offsets == [0, 1 << 20, 2 << 20]
    assert got.attempts == 3 and got.resumed and remote.reconnects == 2
    assert remote.sleeps == [1.0, 2.0]


def test_download_gives_up_after_its_retries_and_leaves_nothing(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    (root / "inbound" / "f.x12").write_bytes(b"x" * 100)
    remote = FlakyRemote(root, breaks=10, after=10)
    with pytest.raises(TransferError, match="after 4 tries at byte 40"):
        remote.download("inbound", remote.stat("inbound", "f.x12"), tmp_path / "staging")
    assert list((tmp_path / "staging").iterdir()) == []


def test_size_mismatch_fails_and_leaves_nothing(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    (root / "inbound" / "f.x12").write_bytes(b"x" * 100)
    remote = LocalRemote(root, partner="acme")
    listed = RemoteFile("f.x12", 120, int((root / "inbound" / "f.x12").stat().st_mtime), FILE)
    with pytest.raises(TransferError, match="received 100 bytes, listed as 120"):
        remote.download("inbound", listed, tmp_path / "staging")
    assert list((tmp_path / "staging").iterdir()) == []


def test_file_changed_between_tries_is_not_resumed(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    path = root / "inbound" / "f.x12"
    path.write_bytes(b"x" * 100)
    remote = FlakyRemote(root, breaks=1, after=10)
    entry = remote.stat("inbound", "f.x12")
    remote.reconnect = lambda: path.write_bytes(b"y" * 150)  # type: ignore[method-assign]
    with pytest.raises(TransferError, match="changed during the download"):
        remote.download("inbound", entry, tmp_path / "staging")


def test_put_goes_through_a_hidden_temporary_name(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    local = tmp_path / "ack.999"
    local.write_bytes(b"ISA*...~")
    remote = LocalRemote(root, partner="acme")
    seen: list[list[str]] = []
    original = remote.rename

    def spy(folder: str, name: str, to_folder: str, to_name: str) -> None:
        seen.append(sorted(os.listdir(root / "outbound")))
        original(folder, name, to_folder, to_name)

    remote.rename = spy  # type: ignore[method-assign]
    done = remote.put(local, "outbound", "ack.999")
    assert done.remote_path == "outbound/ack.999" and done.size == 8
    assert done.sha256 == hashlib.sha256(b"ISA*...~").hexdigest()
    assert len(seen) == 1 and seen[0][0].startswith(".ack.999.") and seen[0][0].endswith(".part")
    assert os.listdir(root / "outbound") == ["ack.999"]
    with pytest.raises(TransferError, match="already exists"):
        remote.put(local, "outbound", "ack.999")
    assert os.listdir(root / "outbound") == ["ack.999"]


def test_archive_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    root = partner_root(tmp_path)
    (root / "inbound" / "a.x12").write_bytes(b"one")
    (root / "archive" / "a.x12").write_bytes(b"older")
    remote = LocalRemote(root, partner="acme")
    where = remote.archive("inbound", "a.x12", "archive")
    assert where.startswith("archive/a.x12.archived-")
    assert (root / "archive" / "a.x12").read_bytes() == b"older"
    assert remote.archive("inbound", "a.x12", "archive") in (where, "archive/a.x12")
    assert os.listdir(root / "inbound") == []
    (root / "inbound" / "b.x12").write_bytes(b"two")
    assert remote.delete("inbound", "b.x12") is True
    assert remote.delete("inbound", "b.x12") is False


def test_local_folders_cannot_climb_out(tmp_path: Path) -> None:
    remote = LocalRemote(partner_root(tmp_path), partner="acme")
    with pytest.raises(TransferError, match="outside"):
        remote.list("../..")
