"""Field encryption, blind indexes and file envelopes over a real key ring on disk."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from edi.errors import CiphertextError, DecryptError
from edi.store.crypto import (
    FIELD_OVERHEAD,
    HEADER_BYTES,
    TAG_BYTES,
    BlindIndex,
    FieldCipher,
    decrypt_file,
    decrypt_to_path,
    encrypt_file,
    iter_decrypted,
    key_id_of,
    measure,
    normalize,
    rewrap_file_key,
)
from edi.store.keys import FileKek, KeyRing

ROW = "0b9c6f0e-6c1e-4f5e-8a57-1d1f0a7b1c01"
OTHER_ROW = "0b9c6f0e-6c1e-4f5e-8a57-1d1f0a7b1c02"
VALUE = b"SAMPLE MEMBER 000123456 TESTPERSON JANE"


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing.create(tmp_path / "keyring.json", FileKek.generate(tmp_path / "kek"))


@pytest.fixture
def cipher(ring: KeyRing) -> FieldCipher:
    return FieldCipher(ring)


# --- fields ------------------------------------------------------------------------------


def test_field_round_trip_and_layout(ring, cipher):
    blob = cipher.encrypt(VALUE, table="members", column="phi", row_id=ROW)
    assert len(blob) == len(VALUE) + FIELD_OVERHEAD == len(VALUE) + 37
    assert blob[0] == 1
    assert blob[1:9].hex() == ring.primary.id == key_id_of(blob)
    assert VALUE not in blob
    assert cipher.decrypt(blob, table="members", column="phi", row_id=ROW) == VALUE
    again = cipher.encrypt(VALUE, table="members", column="phi", row_id=ROW)
    assert again[9:21] != blob[9:21] and again != blob  # a fresh nonce each time
    for value in (b"", bytes(range(256))):
        sealed = cipher.encrypt(value, table="t", column="c", row_id=ROW)
        assert cipher.decrypt(sealed, table="t", column="c", row_id=ROW) == value


def test_text_round_trip(cipher):
    text = "TESTPERSON, ZOË — 42 SAMPLE ST"
    blob = cipher.encrypt_text(text, table="claims", column="phi", row_id=ROW)
    assert cipher.decrypt_text(blob, table="claims", column="phi", row_id=ROW) == text
    raw = cipher.encrypt(b"\xff\xfe", table="claims", column="phi", row_id=ROW)
    with pytest.raises(CiphertextError, match="not UTF-8"):
        cipher.decrypt_text(raw, table="claims", column="phi", row_id=ROW)


def test_a_fresh_cipher_on_the_reopened_ring_decrypts(ring, cipher, tmp_path):
    blob = cipher.encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    reopened = KeyRing.open(ring.path, FileKek(tmp_path / "kek"))
    assert FieldCipher(reopened).decrypt(blob, table="claims", column="phi", row_id=ROW) == VALUE


@pytest.mark.parametrize(
    "where",
    [
        {"table": "claims", "column": "phi", "row_id": OTHER_ROW},
        {"table": "claims", "column": "notes", "row_id": ROW},
        {"table": "members", "column": "phi", "row_id": ROW},
        # the length prefixes keep the boundary between table and column unambiguous
        {"table": "claimsp", "column": "hi", "row_id": ROW},
    ],
)
def test_a_value_moved_elsewhere_fails(ring, cipher, where):
    blob = cipher.encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    with pytest.raises(DecryptError) as info:
        cipher.decrypt(blob, **where)
    message = str(info.value)
    assert f"{where['table']}.{where['column']}" in message
    assert ring.primary.id in message
    assert "SAMPLE" not in message and "TESTPERSON" not in message


def test_every_tampered_byte_fails(ring, cipher):
    blob = cipher.encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptError) as info:
            cipher.decrypt(bytes(tampered), table="claims", column="phi", row_id=ROW)
        message = str(info.value)
        assert "claims.phi" in message
        if position == 0:
            assert "unknown field-encryption version 0" in message
        elif position < 9:  # the key id
            assert f"data key {bytes(tampered[1:9]).hex()} is not in the key ring" in message
        else:  # nonce, ciphertext, tag
            assert f"under data key {ring.primary.id} fails authentication" in message
    for cut in (0, 1, FIELD_OVERHEAD - 1, len(blob) - 1):
        with pytest.raises(DecryptError):
            cipher.decrypt(blob[:cut], table="claims", column="phi", row_id=ROW)
    with pytest.raises(DecryptError):
        cipher.decrypt(blob + b"\x00", table="claims", column="phi", row_id=ROW)


def test_a_value_from_another_ring_names_its_unknown_key(cipher, tmp_path):
    stranger = KeyRing.create(tmp_path / "other.json", FileKek.generate(tmp_path / "other-kek"))
    blob = FieldCipher(stranger).encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    with pytest.raises(DecryptError, match=f"data key {stranger.primary.id} is not in the key"):
        cipher.decrypt(blob, table="claims", column="phi", row_id=ROW)


def test_rotation_old_values_decrypt_new_values_use_the_new_key(ring, cipher, tmp_path):
    old_id = ring.primary.id
    old = cipher.encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    new_id = ring.rotate().id
    new = cipher.encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    assert key_id_of(old) == old_id and key_id_of(new) == new_id != old_id
    for blob in (old, new):
        assert cipher.decrypt(blob, table="claims", column="phi", row_id=ROW) == VALUE
    # a process that opened the ring before the rotation still decrypts the new values
    stale = KeyRing.open(ring.path, FileKek(tmp_path / "kek"))
    ring.rotate()
    newest = cipher.encrypt(VALUE, table="claims", column="phi", row_id=ROW)
    assert FieldCipher(stale).decrypt(newest, table="claims", column="phi", row_id=ROW) == VALUE


def test_a_sealer_is_encrypt_for_one_column_under_the_key_primary_when_made(ring, cipher):
    seal = cipher.sealer("claims", "phi")
    blob = seal(VALUE, ROW)
    assert len(blob) == len(VALUE) + FIELD_OVERHEAD and blob[0] == 1
    assert key_id_of(blob) == ring.primary.id
    assert cipher.decrypt(blob, table="claims", column="phi", row_id=ROW) == VALUE
    assert seal(VALUE, ROW)[9:21] != blob[9:21]  # a fresh nonce each time
    for table, column, row in (
        ("claims", "phi", OTHER_ROW),
        ("members", "phi", ROW),
        ("claims", "data", ROW),
    ):
        with pytest.raises(CiphertextError):
            cipher.decrypt(blob, table=table, column=column, row_id=row)
    before = ring.primary.id
    ring.rotate()
    assert key_id_of(seal(VALUE, ROW)) == before  # made before the rotation: its key
    fresh = cipher.sealer("claims", "phi")(VALUE, ROW)
    assert key_id_of(fresh) == ring.primary.id != before
    assert cipher.decrypt(fresh, table="claims", column="phi", row_id=ROW) == VALUE


def test_key_id_of_rejects_non_values():
    with pytest.raises(DecryptError):
        key_id_of(b"\x02" + bytes(40))
    with pytest.raises(DecryptError):
        key_id_of(b"\x01abc")


# --- blind indexes -----------------------------------------------------------------------


def test_normalization():
    assert normalize("member_id", "  ab-12 34\t") == "AB1234"
    assert normalize("patient_control_number", "pcn-0001") == "PCN0001"
    assert normalize("ssn", " 123-45-6789 ") == "123456789"
    assert normalize("ssn", "123 45 6789") == "123456789"


def test_blind_index_equal_modulo_normalization_and_separate_per_name(ring, tmp_path):
    index = BlindIndex(ring)
    digest = index.digest("member_id", "AB1234")
    assert len(digest) == 64 and int(digest, 16) >= 0
    expected = hmac.new(ring.index_key("member_id"), b"AB1234", hashlib.sha256).hexdigest()
    assert digest == expected
    for variant in (" ab1234", "AB-1234", "a b 1 2 3 4", "ab-12-34\n"):
        assert index.digest("member_id", variant) == digest
    assert index.digest("member_id", "AB1235") != digest
    assert index.digest("subscriber_id", "AB1234") != digest
    assert index.digest("ssn", "123-45-6789") == index.digest("ssn", "123456789")
    assert index.digest("ssn", "123456789") != index.digest("member_id", "123456789")
    # stable across processes (same ring file), different under another ring
    reopened = KeyRing.open(ring.path, FileKek(tmp_path / "kek"))
    assert BlindIndex(reopened).digest("member_id", "ab-1234") == digest
    other = KeyRing.create(tmp_path / "other.json", FileKek.generate(tmp_path / "other-kek"))
    assert BlindIndex(other).digest("member_id", "AB1234") != digest


def test_blind_index_is_unchanged_by_data_key_rotation(ring):
    index = BlindIndex(ring)
    before = index.digest("payer_claim_control_number", "CLM-0001")
    ring.rotate()
    assert BlindIndex(ring).digest("payer_claim_control_number", "CLM-0001") == before


def test_a_new_index_name_gets_its_own_persisted_key(ring, tmp_path):
    digest = BlindIndex(ring).digest("npi", "1234567893")
    reopened = KeyRing.open(ring.path, FileKek(tmp_path / "kek"))
    assert "npi" in reopened.index_names
    assert BlindIndex(reopened).digest("npi", "1234567893") == digest


# --- files -------------------------------------------------------------------------------

MIB = 1 << 20


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "original.x12"
    path.write_bytes(os.urandom(5 * MIB + 12345))
    return path


def _decrypt(src: Path, ring: KeyRing, file_id: str = "file-1") -> bytes:
    out = io.BytesIO()
    decrypt_file(src, out, ring=ring, file_id=file_id)
    return out.getvalue()


def test_file_round_trip(ring, plain, tmp_path):
    dst = tmp_path / "archive" / "file-1.enc"
    dst.parent.mkdir()
    envelope = encrypt_file(plain, dst, ring=ring, file_id="file-1")
    data = plain.read_bytes()
    assert envelope.size == len(data)
    assert envelope.sha256 == hashlib.sha256(data).hexdigest()
    assert envelope.chunks == 6
    assert envelope.key_id == ring.primary.id
    assert envelope.stored_size == dst.stat().st_size == HEADER_BYTES + len(data) + 6 * TAG_BYTES
    assert stat.S_IMODE(dst.stat().st_mode) == 0o600
    assert sorted(p.name for p in dst.parent.iterdir()) == ["file-1.enc"]
    assert data[:4096] not in dst.read_bytes()
    assert _decrypt(dst, ring) == data
    assert b"".join(iter_decrypted(dst, ring=ring, file_id="file-1")) == data


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB, 2 * MIB])
def test_file_sizes_at_chunk_boundaries(ring, tmp_path, size):
    data = os.urandom(size)
    envelope = encrypt_file(io.BytesIO(data), tmp_path / "f.enc", ring=ring, file_id="f")
    assert envelope.chunks == max(1, -(-size // MIB))
    assert _decrypt(tmp_path / "f.enc", ring, "f") == data


def _sealed(ring: KeyRing, tmp_path: Path, chunk_size: int = 1000) -> tuple[bytes, bytes]:
    data = os.urandom(4 * chunk_size + 300)  # 5 chunks, the last one short
    dst = tmp_path / "small.enc"
    encrypt_file(io.BytesIO(data), dst, ring=ring, file_id="file-1", chunk_size=chunk_size)
    return data, dst.read_bytes()


def _fails(ring: KeyRing, tmp_path: Path, blob: bytes, file_id: str = "file-1") -> str:
    path = tmp_path / "tampered.enc"
    path.write_bytes(blob)
    with pytest.raises(DecryptError) as info:
        _decrypt(path, ring, file_id)
    return str(info.value)


def test_file_tampering_is_detected(ring, tmp_path):
    data, blob = _sealed(ring, tmp_path)
    block = 1000 + TAG_BYTES
    chunk = [blob[HEADER_BYTES + i * block : HEADER_BYTES + (i + 1) * block] for i in range(5)]
    assert b"".join(chunk) == blob[HEADER_BYTES:]
    head = blob[:HEADER_BYTES]
    cases = {
        "truncated at a chunk boundary": blob[: HEADER_BYTES + 3 * block],
        "truncated inside a chunk": blob[:-100],
        "last tag cut": blob[:-1],
        "header only": head,
        "header cut": blob[: HEADER_BYTES - 1],
        "two chunks swapped": head + chunk[1] + chunk[0] + b"".join(chunk[2:]),
        "a chunk dropped": head + chunk[0] + b"".join(chunk[2:]),
        "a chunk repeated": head + chunk[0] + b"".join(chunk),
        "bytes appended": blob + b"\x00",
        "a chunk appended": blob + chunk[0],
    }
    for name, tampered in cases.items():
        assert tampered != blob, name
        message = _fails(ring, tmp_path, tampered)
        assert "file-1" in message, name
    for position in (0, 4, 5, 9, 13, 17, 21, 29, 40, HEADER_BYTES - 1):  # every header field
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        _fails(ring, tmp_path, bytes(tampered))
    for position in (HEADER_BYTES, HEADER_BYTES + 500, HEADER_BYTES + 2 * block - 1, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        assert "fails authentication" in _fails(ring, tmp_path, bytes(tampered))
    # the same bytes presented as another file fail too
    assert "another file id" in _fails(ring, tmp_path, blob, file_id="file-2")
    assert _decrypt(tmp_path / "small.enc", ring) == data


def test_nothing_is_written_after_a_bad_chunk(ring, tmp_path):
    data, blob = _sealed(ring, tmp_path)
    tampered = bytearray(blob)
    tampered[HEADER_BYTES + 2 * (1000 + TAG_BYTES) + 10] ^= 0x01  # inside chunk 2
    path = tmp_path / "tampered.enc"
    path.write_bytes(bytes(tampered))
    out = io.BytesIO()
    with pytest.raises(DecryptError, match="chunk 2 fails authentication"):
        decrypt_file(path, out, ring=ring, file_id="file-1")
    assert out.getvalue() == data[:2000]  # chunks 0 and 1, verified; nothing of chunk 2
    target = tmp_path / "out" / "plain.x12"
    target.parent.mkdir()
    with pytest.raises(DecryptError):
        decrypt_to_path(path, target, ring=ring, file_id="file-1")
    assert list(target.parent.iterdir()) == []  # no partial plaintext left behind
    assert decrypt_to_path(tmp_path / "small.enc", target, ring=ring, file_id="file-1") == len(data)
    assert target.read_bytes() == data and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_encryption_leaves_nothing(ring, tmp_path):
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise OSError("stream lost")
            return os.urandom(size)

    folder = tmp_path / "archive"
    folder.mkdir()
    with pytest.raises(OSError, match="stream lost"):
        encrypt_file(Broken(), folder / "f.enc", ring=ring, file_id="f")  # type: ignore[arg-type]
    assert list(folder.iterdir()) == []


def test_file_keys_survive_rotation_and_can_be_rewrapped(ring, plain, tmp_path):
    dst = tmp_path / "f.enc"
    old = encrypt_file(plain, dst, ring=ring, file_id="file-1")
    body = dst.read_bytes()[HEADER_BYTES:]
    new_id = ring.rotate().id
    assert _decrypt(dst, ring) == plain.read_bytes()
    assert rewrap_file_key(dst, ring=ring, file_id="file-1") == new_id != old.key_id
    assert dst.read_bytes()[HEADER_BYTES:] == body  # only the header changed
    assert dst.read_bytes()[5:13].hex() == new_id
    assert _decrypt(dst, ring) == plain.read_bytes()
    stranger = KeyRing.create(tmp_path / "other.json", FileKek.generate(tmp_path / "other-kek"))
    with pytest.raises(DecryptError, match=f"data key {new_id} is not in the key ring"):
        _decrypt(dst, stranger)


def test_file_encryption_memory_stays_flat(ring, tmp_path):
    src = tmp_path / "big.bin"
    with open(src, "wb") as handle:
        for _ in range(32):
            handle.write(os.urandom(MIB))
    tracemalloc.start()
    try:
        encrypt_file(src, tmp_path / "big.enc", ring=ring, file_id="big")
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with open(os.devnull, "wb") as sink:
            decrypt_file(tmp_path / "big.enc", sink, ring=ring, file_id="big")
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert encrypt_peak < 6 * MIB, encrypt_peak
    assert decrypt_peak < 6 * MIB, decrypt_peak


def test_measure_reports_numbers(ring, capsys):
    numbers = measure(ring, rounds=2000, file_mb=16)
    with capsys.disabled():
        print(f"\ncrypto measure: {numbers}")
    assert set(numbers) == {
        "field_round_trip_us",
        "blind_index_us",
        "file_encrypt_mb_s",
        "file_decrypt_mb_s",
    }
    assert all(value > 0 for value in numbers.values())
