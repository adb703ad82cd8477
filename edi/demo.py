"""The demo world: a trading partner's SFTP server on loopback with signed, encrypted samples.

``edi demo`` builds it under a demo home, then runs the real exchange flow against it:
an embedded SFTP server (:mod:`edi.transport.embedded`, loopback only) whose inbound
folder holds the bundled synthetic samples, each encrypted to our demo key and signed by
the demo partner's key; a configuration pinning the server's host key and the partner's
signing fingerprint; a key ring with a local KEK. Every key made here is a demo key,
marked so in its name and user id, and lives only under the demo home.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_PARTNER = "demo-partner"
DEMO_MARK = "DEMO ONLY"
PARTNER_UID = f"Demo Partner ({DEMO_MARK}) <partner@demo.invalid>"
OUR_UID = f"edi Demo Receiver ({DEMO_MARK}) <edi@demo.invalid>"


@dataclass
class DemoWorld:
    """What the demo made: where it lives and the running SFTP server."""

    home: Path
    config: Path
    server: Any
    files: list[str]
    pgp: bool

    def stop(self) -> None:
        self.server.stop()


def _fresh(home: Path) -> None:
    """Empty the demo home (only a folder this demo made: it holds a marker file)."""
    marker = home / "DEMO-HOME"
    if home.exists():
        if not marker.exists() and any(home.iterdir()):
            raise FileExistsError(f"{home} exists and is not a demo home: choose another --home")
        shutil.rmtree(home)
    home.mkdir(mode=0o700, parents=True)
    marker.write_text(f"{DEMO_MARK}: made by edi demo; safe to delete\n")


def build(home: Path, samples: Path, *, use_pgp: bool | None = None) -> DemoWorld:
    """Make the demo home, keys, seeded SFTP folder and configuration; start the server."""
    from edi.transport.embedded import EmbeddedSftpServer, generate_ed25519, write_private_key

    _fresh(home)
    keys = home / "demo-keys"
    keys.mkdir(mode=0o700)
    remote = home / "partner-sftp"
    for folder in ("inbound", "outbound", "archive"):
        (remote / folder).mkdir(parents=True)
    files = sorted(p for p in samples.rglob("*.x12") if p.is_file())
    if use_pgp is None:
        use_pgp = shutil.which("gpg") is not None
    pgp_conf = ""
    if use_pgp:
        pgp_conf = _seed_encrypted(files, samples, remote / "inbound", keys)
        patterns = '["*.pgp"]'
    else:
        for path in files:
            shutil.copy(path, remote / "inbound" / _flat(path, samples))
        patterns = '["*.x12"]'
    client = generate_ed25519()
    write_private_key(client, keys / "DEMO-ONLY-sftp-client-ed25519")
    server = EmbeddedSftpServer(remote, user=DEMO_PARTNER, authorized_key=client)
    server.start()
    config = home / "edi.toml"
    config.write_text(
        f"""# {DEMO_MARK}: the configuration edi demo made; every key here is a demo key.
[partners.{DEMO_PARTNER}]
transport = "sftp"
host = "{server.host}"
port = {server.port}
user = "{DEMO_PARTNER}"
key_file = "demo-keys/DEMO-ONLY-sftp-client-ed25519"
host_fingerprints = ["{server.fingerprint}"]
patterns = {patterns}
stable_seconds = 0
after_pull = "archive"
retries = 1
backoff = 0.2
{pgp_conf}"""
    )
    os.chmod(config, 0o600)
    return DemoWorld(home, config, server, [_flat(p, samples) for p in files], use_pgp)


def _flat(path: Path, samples: Path) -> str:
    """A sample's name on the server: its path under samples/ with '/' as '-'."""
    return str(path.relative_to(samples)).replace(os.sep, "-")


def _seed_encrypted(files: list[Path], samples: Path, inbound: Path, keys: Path) -> str:
    """Encrypt and sign each sample as the partner would; return the [pgp] configuration."""
    from edi.transport.pgp import Gpg

    partner_home = Path(tempfile.mkdtemp(prefix="edi-gpg-"))
    ours_home = Path(tempfile.mkdtemp(prefix="edi-gpg-"))
    try:
        partner, ours = Gpg(partner_home), Gpg(ours_home)
        partner_fpr = partner.generate_key(PARTNER_UID)
        our_fpr = ours.generate_key(OUR_UID)
        (keys / "DEMO-ONLY-partner-public.asc").write_bytes(partner.export(partner_fpr))
        secret = keys / "DEMO-ONLY-edi-secret.asc"
        secret.write_bytes(ours.export(our_fpr, secret=True))
        os.chmod(secret, 0o600)
        partner.import_key(ours.export(our_fpr))
        for path in files:
            target = inbound / (_flat(path, samples) + ".pgp")
            partner.encrypt(path, target, recipients=[our_fpr], sign_with=partner_fpr)
    finally:
        for home in (partner_home, ours_home):
            Gpg(home).close()
            shutil.rmtree(home, ignore_errors=True)
    return f"""
[partners.{DEMO_PARTNER}.pgp]
signers = ["{partner_fpr}"]
public_key_file = "demo-keys/DEMO-ONLY-partner-public.asc"
require_signature = true
encrypted = "always"
encrypt_acks = true

[pgp]
secret_key_file = "demo-keys/DEMO-ONLY-edi-secret.asc"
sign_with = "{our_fpr}"
"""
