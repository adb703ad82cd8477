"""OpenPGP through the real gpg CLI: decryption, signer pinning, tampering, encryption.

Keys come from :mod:`tests.gpg_support` (made once per session). Every refused message
must leave nothing in the destination folder and no plaintext in the error message.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edi.errors import (
    ConfigError,
    DecryptError,
    EdiError,
    PlaintextTooLarge,
    SignatureError,
    TransferError,
)
from edi.transport.pgp import Decrypted, Gpg, _judge, _parse, normalize_fingerprint, sockets_fit
from tests.gpg_support import (
    PASSPHRASE,
    World,
    gpg_cli,
    kill_agent,
    new_home,
    status_of,
)

pytestmark = pytest.mark.integration

MARKER = "PHI-MARKER-Q7731"


def x12_text(size: int = 200_000, seed: int = 7) -> bytes:
    """Random-ish X12 837-like text of about ``size`` bytes with a distinctive marker."""
    rng = random.Random(seed)
    parts = [f"ISA*00*          *00*          *ZZ*{MARKER}*ZZ*RECEIVER~GS*HC*A*B~ST*837*0001~"]
    length = len(parts[0])
    while length < size:
        seg = (
            f"NM1*IL*1*{MARKER}*{rng.choice('ABCDEFGH')}{rng.randrange(10**6)}~"
            f"CLM*{rng.randrange(10**9)}*{rng.randrange(10**5) / 100}***11:B:1~"
            f"SV1*HC:{rng.randrange(99999):05d}*{rng.randrange(9999)}*UN*1~"
        )
        parts.append(seg)
        length += len(seg)
    return "".join(parts).encode()


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "claims.x12"
    path.write_bytes(x12_text())
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def scratch_home() -> Iterator[Path]:
    """A short, empty GnuPG home path (not yet created), removed with its agent afterwards."""
    parent = new_home()
    yield parent / "g"
    kill_agent(parent / "g")
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def refused(
    world: World,
    message: Path,
    out: Path,
    kind: type[EdiError] | tuple[type[EdiError], ...],
    *,
    signers: list[str] | None = None,
    require_signature: bool = True,
    passphrase: str | None = None,
) -> str:
    """Decrypt must raise ``kind``, leave ``out`` empty and keep plaintext out of the message."""
    pins = [world.partner.fpr] if signers is None else signers
    with pytest.raises(kind) as caught:
        world.ours.decrypt(
            message, out / "claims.x12", signers=pins,
            require_signature=require_signature, passphrase=passphrase,
        )  # fmt: skip
    text = str(caught.value)
    assert sorted(out.iterdir()) == []
    assert MARKER not in text and "ISA*" not in text
    assert message.name in text and "\n" not in text and len(text) < 200
    return text


def check_ok(result: Decrypted, plain: Path, dest: Path) -> None:
    assert result.path == dest and result.encrypted
    assert result.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()
    assert result.size == plain.stat().st_size == dest.stat().st_size
    assert dest.read_bytes() == plain.read_bytes()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]


# --- decrypting what a partner's gpg CLI sends -------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
def test_decrypt_gpg_cli_default_output(
    pgp_world: World, plain: Path, inbox: Path, out: Path, armor: bool
) -> None:
    message = pgp_world.send(
        pgp_world.partner, plain, inbox / "claims.x12.pgp", *(["--armor"] * armor)
    )
    if armor:
        assert message.read_bytes().startswith(b"-----BEGIN PGP MESSAGE-----")
    result = pgp_world.ours.decrypt(message, out / "claims.x12", signers=[pgp_world.partner.fpr])
    check_ok(result, plain, out / "claims.x12")
    assert result.signer == pgp_world.partner.fpr


@pytest.mark.parametrize("pin", ["subkey", "primary-lower-0x-spaced"])
def test_pinned_by_signing_subkey_or_formatted_primary(
    pgp_world: World, plain: Path, inbox: Path, out: Path, pin: str
) -> None:
    partner = pgp_world.partner
    assert partner.sign_fpr != partner.fpr
    fpr = partner.fpr.lower()
    pinned = (
        partner.sign_fpr
        if pin == "subkey"
        else "0x" + " ".join(fpr[i : i + 4] for i in range(0, 40, 4))
    )
    message = pgp_world.send(partner, plain, inbox / "m.pgp")
    result = pgp_world.ours.decrypt(message, out / "claims.x12", signers=[pinned])
    assert result.signer == partner.fpr


def test_signed_by_primary_key_and_encrypted_to_self(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    # "FPR!" forces the primary key to sign; partners commonly also encrypt to themselves,
    # which adds NO_SECKEY for the recipient that is not us: not a failure
    partner = pgp_world.partner
    message = inbox / "m.pgp"
    gpg_cli(partner.home, "--trust-model", "always", "--encrypt", "--sign", "-u", partner.fpr + "!",
            "-r", pgp_world.us.fpr, "-r", partner.fpr, "-o", str(message), str(plain))  # fmt: skip
    result = pgp_world.ours.decrypt(message, out / "claims.x12", signers=[partner.fpr])
    check_ok(result, plain, out / "claims.x12")
    assert result.signer == partner.fpr


def test_two_signatures_one_pinned(pgp_world: World, plain: Path, inbox: Path, out: Path) -> None:
    world = pgp_world
    message = world.send(world.partner, plain, inbox / "m.pgp", "-u", world.ops.fpr)
    result = world.ours.decrypt(message, out / "a.x12", signers=[world.partner.fpr])
    assert result.signer == world.partner.fpr
    (out / "a.x12").unlink()
    # every signature must verify: one from a key missing in our ring fails the message
    message = world.send(world.partner, plain, inbox / "m2.pgp", "-u", world.ghost.fpr)
    assert "ERRSIG" in refused(world, message, out, SignatureError)


# --- signatures that are refused ----------------------------------------------------------


def test_signed_by_stranger_in_ring_not_pinned(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    message = pgp_world.send(pgp_world.stranger, plain, inbox / "m.pgp")
    text = refused(pgp_world, message, out, SignatureError)
    assert pgp_world.stranger.fpr in text and "not pinned" in text


class PeakSize:
    """The largest total size the files of a folder reached while it was watched."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peak = folder, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            total = 0
            for path in self.folder.iterdir():
                with contextlib.suppress(OSError):
                    total += path.stat().st_size
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakSize:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.parametrize("signer", ["unknown", "partner"])
def test_decompression_bomb_is_stopped_at_the_limit(
    pgp_world: World, inbox: Path, out: Path, signer: str
) -> None:
    # 64 MiB of zeros in a message of a few hundred bytes: gpg writes the plaintext before
    # it can judge the signature, so the limit must hold for any sender, pinned or not
    message = pgp_world.bomb(getattr(pgp_world, signer), inbox / "zeros.x12.pgp")
    received = message.stat().st_size
    assert received < 10_000
    limit = 1 << 20
    with PeakSize(out) as watched, pytest.raises(PlaintextTooLarge) as caught:
        pgp_world.ours.decrypt(
            message, out / "zeros.x12", signers=[pgp_world.partner.fpr], max_bytes=limit
        )
    assert watched.peak <= limit
    assert sorted(out.iterdir()) == []
    assert isinstance(caught.value, DecryptError)  # refused like any undecryptable message
    text = str(caught.value)
    assert text == (
        f"zeros.x12.pgp: plaintext passed {limit} bytes (max_file_bytes), "
        f"received {received} bytes; gpg stopped"
    )


def test_expansion_limit_and_a_file_within_the_limits(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    message = pgp_world.bomb(pgp_world.partner, inbox / "zeros.pgp", size=8 << 20)
    received = message.stat().st_size
    with pytest.raises(PlaintextTooLarge, match=r"\(max_expansion 100\), received"):
        pgp_world.ours.decrypt(
            message, out / "zeros", signers=[pgp_world.partner.fpr], max_bytes=1 << 30,
            max_expansion=100,
        )  # fmt: skip
    assert sorted(out.iterdir()) == []
    assert f"passed {100 * received} bytes" in text_of_limit(pgp_world, message, out)

    # a real file exactly at max_file_bytes, well within the expansion, decrypts
    size = plain.stat().st_size
    message = pgp_world.send(pgp_world.partner, plain, inbox / "m.pgp")
    result = pgp_world.ours.decrypt(
        message, out / "claims.x12", signers=[pgp_world.partner.fpr], max_bytes=size,
        max_expansion=100,
    )  # fmt: skip
    check_ok(result, plain, out / "claims.x12")
    (out / "claims.x12").unlink()
    with pytest.raises(PlaintextTooLarge, match=f"passed {size - 1} bytes"):
        pgp_world.ours.decrypt(
            message, out / "claims.x12", signers=[pgp_world.partner.fpr], max_bytes=size - 1
        )
    assert sorted(out.iterdir()) == []


def text_of_limit(world: World, message: Path, out: Path) -> str:
    with pytest.raises(PlaintextTooLarge) as caught:
        world.ours.decrypt(message, out / "x", signers=[world.partner.fpr], max_expansion=100)
    return str(caught.value)


def test_long_home_gets_its_sockets_redirected(tmp_path: Path, scratch_home: Path) -> None:
    home = tmp_path / ("h" * 120) / "gnupg"
    assert not sockets_fit(home)
    gpg = Gpg(home, socket_dir=scratch_home)
    try:
        fpr = gpg.generate_key("Demo Long <long@example.test>")
        assert gpg.fingerprints(secret=True) == [fpr]
        # the sockets, and only they, are in the short folder; the keys stay in the home
        assert {p.name for p in scratch_home.iterdir()} <= {
            "S.gpg-agent", "S.gpg-agent.ssh", "S.gpg-agent.extra", "S.gpg-agent.browser",
        }  # fmt: skip
        assert all(p.is_socket() for p in scratch_home.iterdir())
        assert (home / "private-keys-v1.d").is_dir()
    finally:
        gpg.close()
        kill_agent(home)


def test_signed_by_key_not_in_ring(pgp_world: World, plain: Path, inbox: Path, out: Path) -> None:
    message = pgp_world.send(pgp_world.unknown, plain, inbox / "m.pgp")
    assert "ERRSIG" in refused(pgp_world, message, out, SignatureError)


def test_bad_signature_inside_intact_encryption(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    # sign without compression, alter the signed literal data, then encrypt the packets as
    # they are: the MDC is good, only the signature can tell
    signed = inbox / "signed.gpg"
    partner = pgp_world.partner
    gpg_cli(partner.home, "-z", "0", "--sign", "-u", partner.fpr, "-o", str(signed), str(plain))
    data = bytearray(signed.read_bytes())
    data[data.index(MARKER.encode()) + 1] ^= 0x01
    signed.write_bytes(bytes(data))
    message = pgp_world.wrap(signed, inbox / "m.pgp")
    assert "BADSIG" in refused(pgp_world, message, out, SignatureError)


def test_expired_and_revoked_signing_keys(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    # gpg prints VALIDSIG and exits 0 for both: only EXPKEYSIG / REVKEYSIG tell
    world = pgp_world
    signed = inbox / "signed.gpg"
    gpg_cli(world.expired.home, "--faked-system-time", "20200201T000000", "-z", "0", "--sign",
            "-u", world.expired.fpr, "-o", str(signed), str(plain))  # fmt: skip
    message = world.wrap(signed, inbox / "expired.pgp")
    text = refused(world, message, out, SignatureError, signers=[world.expired.fpr])
    assert "EXPKEYSIG" in text
    message = world.send(world.revoked, plain, inbox / "revoked.pgp")
    text = refused(world, message, out, SignatureError, signers=[world.revoked.fpr])
    assert "REVKEYSIG" in text


def test_unsigned(pgp_world: World, plain: Path, inbox: Path, out: Path) -> None:
    message = inbox / "m.pgp"
    gpg_cli(pgp_world.partner.home, "--trust-model", "always", "--encrypt", "-r", pgp_world.us.fpr,
            "-o", str(message), str(plain))  # fmt: skip
    assert "unsigned" in refused(pgp_world, message, out, SignatureError)
    result = pgp_world.ours.decrypt(
        message, out / "claims.x12", signers=[], require_signature=False
    )
    check_ok(result, plain, out / "claims.x12")
    assert result.signer is None


def test_unpinned_signature_refused_even_when_not_required(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    message = pgp_world.send(pgp_world.stranger, plain, inbox / "m.pgp")
    refused(pgp_world, message, out, SignatureError, require_signature=False)


# --- messages that are not (properly) encrypted --------------------------------------------


@pytest.mark.parametrize("how", ["flip-compressed", "flip-uncompressed", "truncate"])
def test_tampered_ciphertext(
    pgp_world: World, plain: Path, inbox: Path, out: Path, how: str
) -> None:
    extra = ["-z", "0"] if how == "flip-uncompressed" else []
    message = pgp_world.send(pgp_world.partner, plain, inbox / "m.pgp", *extra)
    data = bytearray(message.read_bytes())
    assert len(data) > 30_000
    if how == "truncate":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) // 2] ^= 0x10
    message.write_bytes(bytes(data))
    refused(pgp_world, message, out, (DecryptError, SignatureError))


@pytest.mark.parametrize("how", ["sign", "clearsign"])
def test_signed_only_is_not_encrypted(
    pgp_world: World, plain: Path, inbox: Path, out: Path, how: str
) -> None:
    message = inbox / "m.pgp"
    partner = pgp_world.partner
    gpg_cli(partner.home, f"--{how}", "-u", partner.fpr, "-o", str(message), str(plain))
    assert "not encrypted" in refused(pgp_world, message, out, DecryptError)


def test_not_openpgp_at_all(pgp_world: World, plain: Path, out: Path) -> None:
    assert "not an OpenPGP" in refused(pgp_world, plain, out, DecryptError)


def test_without_integrity_protection(
    pgp_world: World, plain: Path, inbox: Path, out: Path
) -> None:
    # --rfc2440 makes gpg encrypt without an MDC; gpg 2.2 writes the plaintext, then fails
    message = inbox / "m.pgp"
    gpg_cli(pgp_world.partner.home, "--trust-model", "always", "--rfc2440", "--encrypt", "--sign",
            "-u", pgp_world.partner.fpr, "-r", pgp_world.us.fpr, "-o", str(message), str(plain))  # fmt: skip
    assert "integrity" in refused(pgp_world, message, out, DecryptError)


def test_not_for_us(pgp_world: World, plain: Path, inbox: Path, out: Path) -> None:
    message = pgp_world.send(pgp_world.partner, plain, inbox / "m.pgp", to=pgp_world.stranger.fpr)
    assert "NO_SECKEY" in refused(pgp_world, message, out, DecryptError)


# --- our key with a passphrase --------------------------------------------------------------


def test_passphrase_protected_key(pgp_world: World, plain: Path, inbox: Path, out: Path) -> None:
    world = pgp_world
    message = world.send(world.partner, plain, inbox / "m.pgp", to=world.locked.fpr)
    result = world.ours.decrypt(
        message, out / "claims.x12", signers=[world.partner.fpr], passphrase=PASSPHRASE
    )
    check_ok(result, plain, out / "claims.x12")
    (out / "claims.x12").unlink()
    # right after a right passphrase: the agent must not have cached it
    text = refused(world, message, out, DecryptError, passphrase="wrong " + PASSPHRASE)
    assert "bad passphrase" in text
    refused(world, message, out, DecryptError)


# --- encrypting for a partner --------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
def test_encrypt_for_partner(pgp_world: World, plain: Path, out: Path, armor: bool) -> None:
    world = pgp_world
    sent = world.ours.encrypt(
        plain,
        out / "claims.x12.pgp",
        recipients=[world.partner.fpr],
        sign_with=world.us.fpr,
        armor=armor,
    )
    assert sent == out / "claims.x12.pgp"
    assert stat.S_IMODE(sent.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == [sent.name]
    assert sent.read_bytes().startswith(b"-----BEGIN PGP MESSAGE-----") == armor
    done = gpg_cli(world.partner.home, "--status-fd", "2", "--decrypt", str(sent))
    assert done.stdout == plain.read_bytes()
    status = status_of(done)
    keywords = [s[0] for s in status]
    assert "DECRYPTION_OKAY" in keywords and "GOODSIG" in keywords
    valid = [s for s in status if s[0] == "VALIDSIG"]
    assert len(valid) == 1 and valid[0][10] == world.us.fpr


def test_encrypt_signed_with_passphrase_key(pgp_world: World, plain: Path, out: Path) -> None:
    world = pgp_world
    recipients, signer = [world.partner.fpr], world.locked.fpr
    sent = world.ours.encrypt(
        plain, out / "m.pgp", recipients=recipients, sign_with=signer, passphrase=PASSPHRASE
    )
    done = gpg_cli(world.partner.home, "--status-fd", "2", "--decrypt", str(sent))
    assert [s[10] for s in status_of(done) if s[0] == "VALIDSIG"] == [world.locked.fpr]
    sent.unlink()
    with pytest.raises(ConfigError, match="bad passphrase"):
        world.ours.encrypt(
            plain, out / "m.pgp", recipients=recipients, sign_with=signer, passphrase="wrong"
        )
    assert sorted(out.iterdir()) == []


def test_encrypt_to_key_not_in_ring(pgp_world: World, plain: Path, out: Path) -> None:
    with pytest.raises(ConfigError, match="INV_RECP"):
        pgp_world.ours.encrypt(plain, out / "m.pgp", recipients=[pgp_world.unknown.fpr])
    assert sorted(out.iterdir()) == []


def test_encrypt_unsigned_round_trip(pgp_world: World, plain: Path, out: Path) -> None:
    # to ourselves, through our own decrypt (not signed, so a signature is not required)
    world = pgp_world
    sent = world.ours.encrypt(plain, out / "m.pgp", recipients=[world.us.sign_fpr])
    result = world.ours.decrypt(sent, out / "back.x12", signers=[], require_signature=False)
    assert result.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest() and result.signer is None


# --- keys, configuration, environment -------------------------------------------------------


def test_normalize_fingerprint() -> None:
    fpr = "4C932C9CFF4BE2F70167B4D3757F398EE100D3D4"
    assert normalize_fingerprint(fpr) == fpr
    assert normalize_fingerprint("0x" + fpr.lower()) == fpr
    assert normalize_fingerprint("4C93 2C9C FF4B E2F7 0167  B4D3 757F 398E E100 D3D4") == fpr
    assert normalize_fingerprint(" 0X" + "ab" * 32 + "\n") == "AB" * 32
    junk = ["", "0x", "E100D3D4", fpr[:-1], fpr + "0", "G" * 40, "0x0x" + fpr, "4C93-" + fpr[4:]]
    for text in junk:
        with pytest.raises(ValueError):
            normalize_fingerprint(text)


def test_bad_pins_are_config_errors(pgp_world: World, plain: Path, out: Path) -> None:
    with pytest.raises(ConfigError):
        pgp_world.ours.decrypt(plain, out / "x", signers=["not-a-fingerprint"])
    with pytest.raises(ConfigError, match="no signer is pinned"):
        pgp_world.ours.decrypt(plain, out / "x", signers=[])
    with pytest.raises(ConfigError):
        pgp_world.ours.encrypt(plain, out / "x", recipients=[])
    assert sorted(out.iterdir()) == []


def test_import_and_list_keys(
    pgp_world: World, tmp_path: Path, scratch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = pgp_world
    # the user's own GnuPG settings never leak in
    monkeypatch.setenv("GNUPGHOME", str(world.partner.home))
    monkeypatch.setenv("HOME", str(tmp_path))
    with Gpg(scratch_home) as gpg:
        assert stat.S_IMODE(scratch_home.stat().st_mode) == 0o700
        assert gpg.fingerprints() == []
        key_file = tmp_path / "us.asc"
        key_file.write_bytes(world.us.secret())
        assert gpg.import_key(key_file) == [world.us.fpr]
        assert gpg.import_key(world.partner.public()) == [world.partner.fpr]
        assert gpg.fingerprints() == [world.us.fpr, world.partner.fpr]
        assert gpg.fingerprints(secret=True) == [world.us.fpr]
        with pytest.raises(ConfigError, match="no OpenPGP key imported"):
            gpg.import_key(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\njunk\n")
        with pytest.raises(ConfigError):
            gpg.import_key(tmp_path / "missing.asc")
    assert world.ours.fingerprints(secret=True) == [world.us.fpr, world.locked.fpr]


def test_missing_gpg_binary(tmp_path: Path, scratch_home: Path) -> None:
    gpg = Gpg(scratch_home, binary=str(tmp_path / "no-such-gpg"))
    with pytest.raises(ConfigError, match="cannot run"):
        gpg.fingerprints()
    gpg.close()  # no gpgconf there either: silently nothing to stop


def test_missing_source_files(pgp_world: World, tmp_path: Path, out: Path) -> None:
    with pytest.raises(DecryptError, match="no such file"):
        pgp_world.ours.decrypt(tmp_path / "gone.pgp", out / "x", signers=[pgp_world.partner.fpr])
    with pytest.raises(TransferError, match="no such file"):
        pgp_world.ours.encrypt(tmp_path / "gone.x12", out / "x", recipients=[pgp_world.partner.fpr])
    assert sorted(out.iterdir()) == []


def test_home_path_too_long_for_agent_socket(tmp_path: Path) -> None:
    if Path(f"/run/user/{os.getuid()}").is_dir():
        pytest.skip("the agent's sockets live under /run/user here, whatever the home's length")
    with pytest.raises(ConfigError, match="too long"):
        Gpg(tmp_path / ("h" * 120))
    assert not (tmp_path / ("h" * 120)).exists()


# --- the status judge on transcripts of gpg 2.2 runs, edited where gpg cannot be made to ----

PRIMARY, SUBKEY = (
    "4C932C9CFF4BE2F70167B4D3757F398EE100D3D4",
    "BEFFDAAD4BA78FA39EEBF440D9D6A4676A7E971D",
)
GOOD = f"""[GNUPG:] ENC_TO 9741DC4F9FC9C1A1 18 0
[GNUPG:] DECRYPTION_KEY BDC6CFDDE64D55E465F948909741DC4F9FC9C1A1 603125C6AE988D8AD8742778E8A384E52B4626D5 u
[GNUPG:] BEGIN_DECRYPTION
[GNUPG:] DECRYPTION_INFO 2 9 0
[GNUPG:] PLAINTEXT 62 1796153904 plain.txt
[GNUPG:] PLAINTEXT_LENGTH 270177
[GNUPG:] NEWSIG
[GNUPG:] GOODSIG D9D6A4676A7E971D Demo Partner <partner@example.test>
[GNUPG:] VALIDSIG {SUBKEY} 2026-12-01 1796153904 0 4 0 22 10 00 {PRIMARY}
[GNUPG:] DECRYPTION_OKAY
[GNUPG:] GOODMDC
[GNUPG:] END_DECRYPTION
"""


EDITS: dict[str, tuple[dict[str, str], int, type[EdiError] | None]] = {
    "good": ({}, 0, None),
    "expsig": ({"GOODSIG": "EXPSIG"}, 0, SignatureError),
    "no-validsig": ({"VALIDSIG": "X"}, 0, SignatureError),
    "two-plaintexts": ({"NEWSIG": "PLAINTEXT 62 0 y\n[GNUPG:] NEWSIG"}, 0, DecryptError),
    "no-mdc": ({"DECRYPTION_INFO 2": "DECRYPTION_INFO 0", "GOODMDC": "X"}, 0, DecryptError),
    "no-info": ({"DECRYPTION_INFO": "X", "GOODMDC": "X"}, 0, DecryptError),
    "exit-2": ({}, 2, DecryptError),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_judge_transcripts(case: str) -> None:
    edits, code, kind = EDITS[case]
    text = GOOD
    for old, new in edits.items():
        text = text.replace(f"] {old}", f"] {new}")
    status = _parse(text.encode())
    if kind is None:
        assert _judge("m.pgp", code, status, [PRIMARY], True) == PRIMARY
        assert _judge("m.pgp", code, status, [SUBKEY], True) == PRIMARY
        with pytest.raises(SignatureError, match="not pinned"):
            _judge("m.pgp", code, status, ["AB" * 20], True)
    else:
        with pytest.raises(kind, match="m.pgp"):
            _judge("m.pgp", code, status, [PRIMARY], True)


def test_generated_keys_encrypt_sign_and_verify(tmp_path: Path) -> None:
    homes = [new_home(), new_home()]
    try:
        partner, us = Gpg(homes[0]), Gpg(homes[1])
        partner_fpr = partner.generate_key("Demo Partner (DEMO ONLY) <partner@demo.invalid>")
        us_fpr = us.generate_key("Demo Receiver (DEMO ONLY) <edi@demo.invalid>")
        assert partner.fingerprints(secret=True) == [partner_fpr]
        assert us.import_key(partner.export(partner_fpr)) == [partner_fpr]
        assert partner.import_key(us.export(us_fpr)) == [us_fpr]
        assert b"PRIVATE KEY BLOCK" in us.export(us_fpr, secret=True)
        source = tmp_path / "a.x12"
        source.write_bytes(b"ISA*00*" + MARKER.encode() + b"~")
        sealed = partner.encrypt(
            source, tmp_path / "a.x12.pgp", recipients=[us_fpr], sign_with=partner_fpr
        )
        opened = us.decrypt(sealed, tmp_path / "a-plain.x12", signers=[partner_fpr])
        assert opened.signer == partner_fpr and opened.path.read_bytes() == source.read_bytes()
    finally:
        for home in homes:
            kill_agent(home)
