"""The key ring: wrapping by a KEK, rotation, locking across processes, and ``edi keys``."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature

from edi.cli.keys import keys_group
from edi.config import load_settings
from edi.errors import KeyRingError
from edi.store.keys import (
    DEFAULT_INDEXES,
    EnvKek,
    FileKek,
    KeyRing,
    LocalKek,
    kek_from_settings,
    open_keyring,
)

HEX16 = re.compile(r"[0-9a-f]{16}")


def _kek(tmp_path: Path, name: str = "kek") -> FileKek:
    return FileKek.generate(tmp_path / name)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "keyring.json"


def _secrets(ring: KeyRing) -> list[bytes]:
    """Every secret of the ring, raw."""
    out = [k.key for k in ring.data_keys] + [ring.index_key(n) for n in ring.index_names]
    out.append(ring.audit_signing_key().private_bytes_raw())
    return out


def test_create_and_open_round_trip(tmp_path, ring_path):
    kek = _kek(tmp_path)
    ring = KeyRing.create(ring_path, kek)
    assert HEX16.fullmatch(ring.primary.id)
    assert len(ring.primary.key) == 32
    assert ring.primary.status == "primary"
    assert ring.index_names == sorted(DEFAULT_INDEXES)
    assert stat.S_IMODE(ring_path.stat().st_mode) == 0o600

    again = KeyRing.open(ring_path, FileKek(tmp_path / "kek"))
    assert again.primary == ring.primary
    assert again.data_key(ring.primary.id).key == ring.primary.key
    for name in DEFAULT_INDEXES:
        assert again.index_key(name) == ring.index_key(name)
        assert len(again.index_key(name)) == 32
    # index keys are separate from the data keys and from each other
    keys = {again.index_key(n) for n in DEFAULT_INDEXES} | {again.primary.key}
    assert len(keys) == len(DEFAULT_INDEXES) + 1
    assert again.audit_signing_key_id == ring.audit_signing_key_id
    signature = ring.audit_signing_key().sign(b"checkpoint")
    again.audit_public_keys()[ring.audit_signing_key_id].verify(signature, b"checkpoint")


def test_no_secret_appears_in_the_file_or_repr(tmp_path, ring_path):
    ring = KeyRing.create(ring_path, _kek(tmp_path))
    text = ring_path.read_text()
    shown = repr(ring) + repr(ring.primary) + repr(ring.describe())
    for secret in _secrets(ring):
        for form in (base64.b64encode(secret).decode(), secret.hex()):
            assert form not in text
            assert form not in shown
    assert "key=" not in repr(ring.primary)


def test_create_refuses_to_overwrite(tmp_path, ring_path):
    kek = _kek(tmp_path)
    ring = KeyRing.create(ring_path, kek)
    before = ring_path.read_bytes()
    with pytest.raises(KeyRingError, match="already exists"):
        KeyRing.create(ring_path, kek)
    assert ring_path.read_bytes() == before
    assert KeyRing.open(ring_path, kek).primary.id == ring.primary.id


def test_missing_ring_says_run_init(tmp_path):
    path = tmp_path / "nowhere" / "keyring.json"
    with pytest.raises(KeyRingError) as info:
        KeyRing.open(path, _kek(tmp_path))
    assert str(info.value) == f"no key ring at {path}: run edi keys init"


def test_wrong_kek_names_the_key_that_failed(tmp_path, ring_path):
    ring = KeyRing.create(ring_path, _kek(tmp_path))
    other = _kek(tmp_path, "other-kek")
    with pytest.raises(KeyRingError) as info:
        KeyRing.open(ring_path, other)
    message = str(info.value)
    assert f"data key {ring.primary.id} cannot be unwrapped" in message
    assert other.key_id in message and ring.kek.key_id in message


def test_a_wrapped_key_moved_to_another_slot_is_refused(tmp_path, ring_path):
    kek = _kek(tmp_path)
    KeyRing.create(ring_path, kek)
    doc = json.loads(ring_path.read_text())
    first, second = doc["index_keys"][0], doc["index_keys"][1]
    first["wrapped"], second["wrapped"] = second["wrapped"], first["wrapped"]
    ring_path.write_text(json.dumps(doc))
    with pytest.raises(KeyRingError, match=f"index:{first['name']} key {first['id']}"):
        KeyRing.open(ring_path, kek)


def test_a_tampered_ring_is_refused(tmp_path, ring_path):
    kek = _kek(tmp_path)
    ring = KeyRing.create(ring_path, kek)
    doc = json.loads(ring_path.read_text())
    wrapped = bytearray(base64.b64decode(doc["data_keys"][0]["wrapped"]))
    wrapped[20] ^= 1
    doc["data_keys"][0]["wrapped"] = base64.b64encode(bytes(wrapped)).decode()
    ring_path.write_text(json.dumps(doc))
    with pytest.raises(KeyRingError, match=f"data key {ring.primary.id}"):
        KeyRing.open(ring_path, kek)
    ring_path.write_text("{not json")
    with pytest.raises(KeyRingError, match="malformed"):
        KeyRing.open(ring_path, kek)


def test_rotation_keeps_old_keys_and_the_file_private(tmp_path, ring_path):
    kek = _kek(tmp_path)
    ring = KeyRing.create(ring_path, kek)
    old = ring.primary
    new = ring.rotate()
    assert new.id != old.id and HEX16.fullmatch(new.id)
    assert ring.primary == new
    assert ring.data_key(old.id).status == "active"
    assert ring.data_key(old.id).key == old.key
    assert stat.S_IMODE(ring_path.stat().st_mode) == 0o600
    reopened = KeyRing.open(ring_path, kek)
    assert [k.id for k in reopened.data_keys] == [old.id, new.id]
    assert reopened.primary.id == new.id
    assert not [p for p in ring_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_unknown_data_key_names_the_id(tmp_path, ring_path):
    ring = KeyRing.create(ring_path, _kek(tmp_path))
    with pytest.raises(KeyRingError, match="data key 0123456789abcdef is not in the key ring"):
        ring.data_key("0123456789abcdef")


def test_a_key_added_by_another_process_is_found(tmp_path, ring_path):
    kek = _kek(tmp_path)
    reader = KeyRing.create(ring_path, kek)
    writer = KeyRing.open(ring_path, kek)
    new = writer.rotate()
    assert reader.data_key(new.id).key == new.key  # re-read on a miss


def test_stale_rings_do_not_lose_each_others_changes(tmp_path, ring_path):
    kek = _kek(tmp_path)
    first = KeyRing.create(ring_path, kek, indexes=())
    second = KeyRing.open(ring_path, kek)
    a = first.rotate()
    b = second.rotate()  # second has not seen a: it re-reads under the lock
    ids = [k.id for k in KeyRing.open(ring_path, kek).data_keys]
    assert len(ids) == 3 and ids[1:] == [a.id, b.id]
    # an index key created on demand by two stale rings is one key
    assert first.index_key("npi") == second.index_key("npi")
    assert KeyRing.open(ring_path, kek).index_names == ["npi"]


def _rotate_in_child(path: str, kek_path: str) -> None:
    KeyRing.open(Path(path), FileKek(kek_path)).rotate()


def test_concurrent_rotations_across_processes(tmp_path, ring_path):
    kek = _kek(tmp_path)
    KeyRing.create(ring_path, kek)
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_rotate_in_child, args=(str(ring_path), str(kek.path)))
        for _ in range(6)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    ring = KeyRing.open(ring_path, kek)
    assert len(ring.data_keys) == 7
    assert sum(1 for k in ring.data_keys if k.status == "primary") == 1


def test_retire_keeps_decrypting_but_not_the_primary(tmp_path, ring_path):
    ring = KeyRing.create(ring_path, _kek(tmp_path))
    old = ring.primary
    with pytest.raises(KeyRingError, match="primary"):
        ring.retire(old.id)
    ring.rotate()
    assert ring.retire(old.id).status == "retired"
    assert KeyRing.open(ring_path, ring.kek).data_key(old.id).key == old.key


def test_signing_key_rotation_keeps_old_checkpoints_verifiable(tmp_path, ring_path):
    kek = _kek(tmp_path)
    ring = KeyRing.create(ring_path, kek)
    old_id = ring.audit_signing_key_id
    old_signature = ring.audit_signing_key().sign(b"checkpoint 1")
    new_id = ring.rotate_signing_key()
    assert new_id != old_id == next(iter(ring.audit_public_keys()))
    reopened = KeyRing.open(ring_path, kek)
    assert reopened.audit_signing_key_id == new_id
    public = reopened.audit_public_keys()
    assert set(public) == {old_id, new_id}
    public[old_id].verify(old_signature, b"checkpoint 1")
    with pytest.raises(InvalidSignature):
        public[new_id].verify(old_signature, b"checkpoint 1")
    new_signature = reopened.audit_signing_key().sign(b"checkpoint 2")
    public[new_id].verify(new_signature, b"checkpoint 2")


def test_rewrap_moves_the_ring_to_another_kek(tmp_path, ring_path):
    old_kek = _kek(tmp_path)
    ring = KeyRing.create(ring_path, old_kek)
    new_kek = _kek(tmp_path, "new-kek")
    ring.rewrap(new_kek)
    assert KeyRing.open(ring_path, new_kek).primary == ring.primary
    with pytest.raises(KeyRingError, match="cannot be unwrapped"):
        KeyRing.open(ring_path, old_kek)


# --- KEK sources -------------------------------------------------------------------------


def test_file_kek_refuses_a_file_others_can_read(tmp_path):
    path = tmp_path / "kek"
    path.write_bytes(os.urandom(32))
    for mode in (0o644, 0o640, 0o604, 0o660):
        path.chmod(mode)
        with pytest.raises(KeyRingError, match=f"mode {mode:04o}") as info:
            FileKek(path)
        assert "chmod 600" in str(info.value)
    path.chmod(0o600)
    assert FileKek(path).key_id.startswith("kek-")


def test_file_kek_accepts_raw_or_base64_and_rejects_other_contents(tmp_path):
    key = os.urandom(32)
    raw, text, bad = tmp_path / "raw", tmp_path / "text", tmp_path / "bad"
    raw.write_bytes(key)
    text.write_text(base64.b64encode(key).decode() + "\n")
    bad.write_text("not a key\n")
    for path in (raw, text, bad):
        path.chmod(0o600)
    assert FileKek(raw).key_id == FileKek(text).key_id
    with pytest.raises(KeyRingError, match="not a key-encryption key") as info:
        FileKek(bad)
    assert "not a key\n" not in str(info.value)
    with pytest.raises(KeyRingError, match="not found"):
        FileKek(tmp_path / "absent")
    made = FileKek.generate(tmp_path / "made")
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    with pytest.raises(KeyRingError, match="already exists"):
        FileKek.generate(tmp_path / "made")


def test_env_kek_opens_a_ring_made_with_the_same_key_from_a_file(tmp_path, ring_path):
    key = os.urandom(32)
    path = tmp_path / "kek"
    path.write_bytes(key)
    path.chmod(0o600)
    ring = KeyRing.create(ring_path, FileKek(path))
    env = {"EDI_KEK": base64.b64encode(key).decode()}
    kek = EnvKek(env=env)
    assert kek.key_id == ring.kek.key_id
    assert KeyRing.open(ring_path, kek).primary == ring.primary
    with pytest.raises(KeyRingError, match="environment variable EDI_KEK .* is not set"):
        EnvKek(env={})
    with pytest.raises(KeyRingError, match="environment variable OTHER"):
        EnvKek("OTHER", env={"OTHER": "c2hvcnQ="})
    wrong = EnvKek(env={"EDI_KEK": base64.b64encode(os.urandom(32)).decode()})
    with pytest.raises(KeyRingError, match=ring.primary.id):
        KeyRing.open(ring_path, wrong)


def test_local_kek_wrap_binds_associated_data():
    kek = LocalKek(os.urandom(32), source="test")
    blob = kek.wrap(b"secret", b"data|1")
    assert kek.unwrap(blob, b"data|1") == b"secret"
    with pytest.raises(KeyRingError):
        kek.unwrap(blob, b"data|2")


def test_kek_from_settings(tmp_path, monkeypatch):
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("TEST_EDI_KEK", key)
    config = tmp_path / "edi.toml"
    config.write_text('[keys]\nkek_env = "TEST_EDI_KEK"\n')
    settings = load_settings(env={"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(config)})
    assert isinstance(kek_from_settings(settings), EnvKek)

    FileKek.generate(tmp_path / "secrets" / "kek")
    config.write_text('[keys]\nkek_file = "secrets/kek"\n')  # relative to the config file
    settings = load_settings(env={"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(config)})
    kek = kek_from_settings(settings)
    assert isinstance(kek, FileKek) and kek.path == tmp_path / "secrets" / "kek"

    config.write_text('[keys]\nkek_file = "secrets/kek"\nkek_env = "TEST_EDI_KEK"\n')
    settings = load_settings(env={"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(config)})
    with pytest.raises(KeyRingError, match="only one"):
        kek_from_settings(settings)

    settings = load_settings(env={"EDI_HOME": str(tmp_path / "home")})
    with pytest.raises(KeyRingError, match="not found"):
        kek_from_settings(settings)  # the default KEK file does not exist yet


# --- edi keys ----------------------------------------------------------------------------


def _run(args: list[str], home: Path, **env: str | None):
    runner = CliRunner()
    environ: dict[str, str | None] = {"EDI_HOME": str(home), "EDI_CONFIG": None}
    environ.update(env)
    return runner.invoke(keys_group, args, env=environ, catch_exceptions=False)


def test_cli_init_rotate_list(tmp_path):
    home = tmp_path / "home"
    result = _run(["init"], home)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((home / "kek").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "keyring.json").stat().st_mode) == 0o600
    settings = load_settings(env={"EDI_HOME": str(home)})
    ring = open_keyring(settings)
    assert f"primary data key {ring.primary.id}" in result.output
    assert "embedded setup only" in result.output

    before = (home / "keyring.json").read_bytes()
    again = _run(["init"], home)
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert (home / "keyring.json").read_bytes() == before

    rotated = _run(["rotate"], home)
    assert rotated.exit_code == 0, rotated.output
    ring = open_keyring(settings)
    assert rotated.output.strip() == f"new primary data key {ring.primary.id}; 2 data keys"

    listed = _run(["list"], home)
    assert listed.exit_code == 0, listed.output
    for key in ring.data_keys:
        assert re.search(rf"^data\s+{key.id}\s+{key.status}\s", listed.output, re.M)
    assert re.search(r"^index:ssn\s+[0-9a-f]{16}\s+active\s", listed.output, re.M)
    as_json = json.loads(_run(["list", "--format", "json"], home).output)
    assert {k["id"] for k in as_json["keys"] if k["kind"] == "data"} == {
        k.id for k in ring.data_keys
    }
    kek_text = (home / "kek").read_text().strip()
    for output in (result.output, rotated.output, listed.output, json.dumps(as_json)):
        assert kek_text not in output
        for secret in _secrets(ring):
            assert base64.b64encode(secret).decode() not in output
            assert secret.hex() not in output

    signing = _run(["rotate", "--signing"], home)
    assert signing.exit_code == 0
    assert f"new audit signing key {open_keyring(settings).audit_signing_key_id}" in signing.output


def test_cli_errors_are_one_line(tmp_path):
    home = tmp_path / "home"
    missing = _run(["list"], home)
    assert missing.exit_code == 1
    assert "run edi keys init" in missing.output and "Traceback" not in missing.output
    assert _run(["init"], home).exit_code == 0
    (home / "kek").chmod(0o644)
    refused = _run(["rotate"], home)
    assert refused.exit_code == 1 and "chmod 600" in refused.output


def test_cli_with_a_kek_from_the_environment(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "edi.toml").write_text('[keys]\nkek_env = "TEST_CLI_KEK"\n')
    key = base64.b64encode(os.urandom(32)).decode()
    result = _run(["init"], home, TEST_CLI_KEK=key)
    assert result.exit_code == 0, result.output
    assert not (home / "kek").exists()
    assert _run(["list"], home, TEST_CLI_KEK=key).exit_code == 0
    wrong = _run(["list"], home, TEST_CLI_KEK=base64.b64encode(os.urandom(32)).decode())
    assert wrong.exit_code == 1 and "cannot be unwrapped" in wrong.output
