"""Throwaway OpenPGP keys for the tests, made with the real gpg CLI in short temp homes.

``pgp_world`` (session) holds the parties, each with its own GnuPG home:

* ``partner``: an Ed25519 primary with a separate Ed25519 signing subkey and a Cv25519
  encryption subkey, so VALIDSIG's signing-key and primary fingerprints differ;
  ``ops`` and ``ghost`` are extra keys in the partner's home for double signatures;
* ``us``: our decryption key (no passphrase); ``locked``: ours with a passphrase;
* ``stranger``: a key in our ring that is not pinned; ``unknown``: one that is not in it;
* ``expired``: made and used at a faked time in 2020, expired since; ``revoked``: its
  revocation certificate is in our ring.

``world.ours`` is the :class:`edi.transport.pgp.Gpg` under test: our secret keys and
everyone's public keys except ``unknown`` and ``ghost``. Agents are stopped at teardown.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edi.transport.pgp import Gpg
from tests.conftest import require

PASSPHRASE = "correct horse battery staple"
#: the faked time at which the expired key was made and used (it expired in June 2020)
PAST = "20200101T000000"


def gpg_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "GNUPGHOME": str(home), "LANG": "C"}


def gpg_cli(
    home: Path, *args: str, data: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run the gpg CLI on ``home`` in batch mode (stdout and stderr captured)."""
    command = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--yes", *args]
    done = subprocess.run(command, input=data, capture_output=True, env=gpg_env(home), timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"gpg {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done


def status_of(done: subprocess.CompletedProcess[bytes]) -> list[list[str]]:
    """The ``[GNUPG:]`` lines of a run made with ``--status-fd 2``, split into fields."""
    lines = done.stderr.decode(errors="replace").splitlines()
    return [line.split(" ")[1:] for line in lines if line.startswith("[GNUPG:] ")]


def new_home() -> Path:
    # short path: the agent's socket lives in the home when /run/user is absent
    home = Path(tempfile.mkdtemp(prefix="edi-gpg-"))
    # fixed S2K count: protecting a key with a passphrase takes seconds otherwise
    (home / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\ns2k-count 65536\n")
    return home


def kill_agent(home: Path) -> None:
    with contextlib.suppress(OSError):  # no gpgconf: no agent either
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"],
            env=gpg_env(home),
            capture_output=True,
            check=False,
            timeout=30,
        )


@dataclass
class Party:
    """One key: its home, primary, signing and encryption (sub)key fingerprints."""

    home: Path
    fpr: str
    sign_fpr: str
    enc_fpr: str
    passphrase: str | None = None

    def public(self) -> bytes:
        return gpg_cli(self.home, "--export", self.fpr).stdout

    def secret(self) -> bytes:
        secret_args = ["--pinentry-mode", "loopback", "--passphrase", self.passphrase or ""]
        return gpg_cli(self.home, *secret_args, "--export-secret-keys", self.fpr).stdout


def make_key(
    home: Path,
    uid: str,
    *,
    passphrase: str | None = None,
    signing_subkey: bool = False,
    expire: str = "never",
    faked_time: str | None = None,
) -> Party:
    """A new Ed25519 key with a Cv25519 encryption subkey (and maybe a signing subkey)."""
    base = ["--pinentry-mode", "loopback", "--passphrase", passphrase or ""]
    if faked_time:
        base += ["--faked-system-time", faked_time]
    gpg_cli(home, *base, "--quick-gen-key", uid, "ed25519", "sign", expire)
    fpr = _fingerprints(home, uid)[0]
    if signing_subkey:
        gpg_cli(home, *base, "--quick-add-key", fpr, "ed25519", "sign", expire)
    gpg_cli(home, *base, "--quick-add-key", fpr, "cv25519", "encr", expire)
    keys = _fingerprints(home, uid)
    return Party(home, fpr, keys[1] if signing_subkey else fpr, keys[-1], passphrase)


def _fingerprints(home: Path, uid: str) -> list[str]:
    out = gpg_cli(home, "--with-colons", "--list-keys", uid).stdout.decode()
    return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]


def import_keys(home: Path, *keys: bytes) -> None:
    for key in keys:
        gpg_cli(home, "--import", data=key)


@dataclass
class World:
    partner: Party
    ops: Party
    ghost: Party
    us: Party
    locked: Party
    stranger: Party
    unknown: Party
    expired: Party
    revoked: Party
    ours: Gpg

    def send(self, party: Party, plain: Path, out: Path, *args: str, to: str = "") -> Path:
        """``party`` runs ``gpg --encrypt --sign -r US -u PARTY [args]`` on ``plain``."""
        recipient = to or self.us.fpr
        sign = ["--encrypt", "--sign", "--recipient", recipient, "--local-user", party.fpr]
        gpg_cli(
            party.home, "--trust-model", "always", *sign, *args, "--output", str(out), str(plain)
        )
        return out

    def bomb(self, party: Party, out: Path, size: int = 64 << 20) -> Path:
        """``party`` signs and encrypts ``size`` zero bytes, compressed (bzip2, level 9) to
        a message of a few hundred bytes."""
        zeros = out.with_name(out.name + ".zeros")
        with zeros.open("wb") as handle:
            handle.truncate(size)
        try:
            return self.send(party, zeros, out, "--compress-algo", "bzip2", "-z", "9")
        finally:
            zeros.unlink()

    def pgp_toml(self, folder: Path, partner: str = "acme") -> str:
        """Our secret key and the partner's public key written under ``folder/keys``, and
        the ``[partners.NAME.pgp]`` and ``[pgp]`` tables naming them (acks encrypted)."""
        keys = folder / "keys"
        keys.mkdir(exist_ok=True)
        (keys / "us.asc").write_bytes(self.us.secret())
        (keys / "partner.asc").write_bytes(self.partner.public())
        return (
            f"[partners.{partner}.pgp]\n"
            f'signers = ["{self.partner.fpr}"]\n'
            f'public_key_file = "{keys / "partner.asc"}"\n'
            "encrypt_acks = true\n\n"
            "[pgp]\n"
            f'secret_key_file = "{keys / "us.asc"}"\n'
            f'sign_with = "{self.us.fpr}"\n'
        )

    def wrap(self, packets: Path, out: Path) -> Path:
        """Encrypt an existing OpenPGP packet stream to us as is (``--no-literal``)."""
        args = ["--trust-model", "always", "--no-literal", "-z", "0", "--encrypt"]
        gpg_cli(self.partner.home, *args, "-r", self.us.fpr, "--output", str(out), str(packets))
        return out


@pytest.fixture(scope="session")
def pgp_world() -> Iterator[World]:
    require(shutil.which("gpg") is not None and shutil.which("gpgconf") is not None, "gpg")
    homes = [new_home() for _ in range(7)]
    p_home, u_home, l_home, s_home, n_home, e_home, r_home = homes
    try:
        partner = make_key(p_home, "Demo Partner <partner@example.test>", signing_subkey=True)
        ops = make_key(p_home, "Demo Partner Ops <ops@example.test>")
        ghost = make_key(p_home, "Demo Partner Ghost <ghost@example.test>")
        us = make_key(u_home, "Demo Us <us@example.test>")
        locked = make_key(l_home, "Demo Us Locked <locked@example.test>", passphrase=PASSPHRASE)
        stranger = make_key(s_home, "Demo Stranger <stranger@example.test>")
        unknown = make_key(n_home, "Demo Unknown <unknown@example.test>")
        expired = make_key(
            e_home, "Demo Expired <expired@example.test>", expire="2020-06-01", faked_time=PAST
        )
        revoked = make_key(r_home, "Demo Revoked <revoked@example.test>")
        ours_home = Path(tempfile.mkdtemp(prefix="edi-gpg-"))
        homes.append(ours_home)
        ours = Gpg(ours_home)
        for key in (us.secret(), locked.secret(), partner.public(), ops.public()):
            ours.import_key(key)
        for party in (stranger, expired, revoked):
            ours.import_key(party.public())
        assert ours.import_key(revocation(revoked)) == []
        for home in (p_home, s_home, n_home, e_home, r_home):
            import_keys(home, us.public(), locked.public())
        import_keys(p_home, stranger.public())
        yield World(partner, ops, ghost, us, locked, stranger, unknown, expired, revoked, ours)
    finally:
        for home in homes:
            kill_agent(home)
            shutil.rmtree(home, ignore_errors=True)


def revocation(party: Party) -> bytes:
    """The revocation certificate gpg stored when it made ``party``'s key."""
    text = (party.home / "openpgp-revocs.d" / f"{party.fpr}.rev").read_text()
    return text.replace(":-----BEGIN PGP", "-----BEGIN PGP").encode()
