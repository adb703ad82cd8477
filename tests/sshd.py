"""A throwaway OpenSSH SFTP server for the tests: a real ``sshd`` on a free loopback port.

The trading partner is a real system user (``edi-sftp-<random>``) chrooted into
``root`` (``inbound/``, ``outbound/``, ``archive/``), public-key login only, with
``internal-sftp`` forced. Started once per test session (about 1 s, most of it the
RSA key); ``sftp_partner`` empties the three folders before each test.

sshd insists (StrictModes) that the chroot, the authorized_keys file and all their
parents are root-owned and not group/world-writable, so nothing can live under
/tmp: everything is under ``/var/lib/edi-tests/<random>/`` and removed by
``stop()``, along with the user. This needs root; missing root or sshd skips the
tests locally and fails them in CI (``require``).

Outside pytest (benchmarks)::

    sys.path.insert(0, ROOT)
    from tests.sshd import SshServer
    server = SshServer()
    server.start()
    try:
        ...
    finally:
        server.stop()
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psutil
import pytest

#: every server's folder lives below this (root-owned 0755 all the way up)
BASE = Path("/var/lib/edi-tests")
#: sshd's privilege separation directory (Debian's compiled-in path)
PRIVSEP_DIR = Path("/run/sshd")
USER_PREFIX = "edi-sftp-"
PARTNER_DIRS = ("inbound", "outbound", "archive")


def find_sshd() -> str | None:
    """The sshd binary: /usr/sbin/sshd, else whatever ``sshd`` is on PATH."""
    if os.access("/usr/sbin/sshd", os.X_OK):
        return "/usr/sbin/sshd"
    return shutil.which("sshd")


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)


def _account(*command: str) -> subprocess.CompletedProcess[str]:
    """useradd/usermod/userdel, retried while another process holds the passwd lock."""
    for _ in range(20):
        done = _run(*command)
        # 1 / 10: cannot lock or update /etc/passwd or /etc/group (someone else is at it)
        if done.returncode not in (1, 10) or "lock" not in done.stderr.lower():
            return done
        time.sleep(0.25)
    return done


def _mkdir(path: Path, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    path.mkdir(exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _fingerprint(public_key_line: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line, as ``ssh-keygen -lf`` prints it."""
    blob = base64.b64decode(public_key_line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode()
    return "SHA256:" + digest.rstrip("=")


def _sshd_version(sshd: str) -> tuple[int, int]:
    done = _run(sshd, "-V", timeout=10)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", done.stderr + done.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _kill_all(processes: list[psutil.Process], timeout: float = 5) -> int:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGKILL)
    # (not psutil.wait_procs: it waits for zombies to be reaped, and backs off to ~1 s)
    deadline = time.monotonic() + timeout
    alive = list(processes)
    while alive and time.monotonic() < deadline:
        alive = [process for process in alive if _running(process)]
        if alive:
            time.sleep(0.01)
    return len(processes)


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _processes_of(uid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None and uid in (uids.real, uids.effective):
            found.append(process)
    return found


class SshServer:
    """A real sshd serving SFTP to one chrooted partner user; ``start()`` / ``stop()``."""

    def __init__(self, sshd: str | None = None) -> None:
        self.sshd = sshd or find_sshd() or "/usr/sbin/sshd"
        self.host = "127.0.0.1"
        self.port = 0
        token = secrets.token_hex(4)
        self.username = USER_PREFIX + token
        self.folder = BASE / token
        self.root = self.folder / "chroot"
        keys = self.folder / "keys"
        self.host_key = keys / "ssh_host_ed25519_key"
        self.host_key_pub = keys / "ssh_host_ed25519_key.pub"
        self.other_host_key = keys / "other_host_ed25519_key"
        self.client_key_ed25519 = keys / "client_ed25519"
        self.client_key_rsa = keys / "client_rsa"
        self.client_key_rsa_passphrase = "edi-test-" + secrets.token_hex(8)
        self.stranger_key = keys / "stranger_ed25519"
        self.authorized_keys = self.folder / "authorized_keys" / self.username
        self.known_hosts = self.folder / "known_hosts"
        self.other_known_hosts = self.folder / "other_known_hosts"
        self.config = self.folder / "sshd_config"
        self.pid_file = self.folder / "sshd.pid"
        self.log_path = self.folder / "sshd.log"
        self.host_fingerprint = ""
        self.uid = -1
        self.gid = -1
        self.process: subprocess.Popen[bytes] | None = None
        self._user_created = False

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the test sshd needs root (users, chroot, StrictModes)")
        if not os.access(self.sshd, os.X_OK):
            raise RuntimeError(f"no sshd at {self.sshd}")
        atexit.register(self.stop)
        try:
            _sweep_stale()
            if not PRIVSEP_DIR.exists():
                PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
                os.chown(PRIVSEP_DIR, 0, 0)
                os.chmod(PRIVSEP_DIR, 0o755)
            self._make_folder()
            self._make_user()
            self._make_chroot()
            self._make_keys()
            for attempt in range(3):
                self.port = _free_port()
                self._write_config()
                if self._launch(last_try=attempt == 2):
                    return
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop sshd and its sessions, delete the user and the folder; safe to repeat."""
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is not None:
            self._kill_descendants(process.pid)
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._user_created:
            _delete_user(self.username, self.uid)
            self._user_created = False
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> SshServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for the tests ----------------------------------------------------------------

    def put_inbound(self, name: str, data: bytes, mtime: float | datetime | None = None) -> Path:
        """Drop a file into ``inbound/`` as the partner would (owned by the partner user)."""
        path = self.root / "inbound" / name
        path.write_bytes(data)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o644)
        if mtime is not None:
            stamp = mtime.timestamp() if isinstance(mtime, datetime) else float(mtime)
            os.utime(path, (stamp, stamp))
        return path

    def reset(self) -> None:
        """Empty inbound/, outbound/ and archive/ (recreating them if a test removed them)."""
        for name in PARTNER_DIRS:
            folder = self.root / name
            if folder.is_dir() and not folder.is_symlink():
                for entry in folder.iterdir():
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
            else:
                with contextlib.suppress(FileNotFoundError):
                    folder.unlink()
            _mkdir(folder, 0o755, self.uid, self.gid)

    def sessions(self) -> list[psutil.Process]:
        """The per-connection sshd processes (everything below the listening daemon)."""
        if self.process is None:
            return []
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [child for child in children if _running(child)]

    def kill_sessions(self) -> int:
        """SIGKILL every connection's sshd processes, keeping the listener; returns how many."""
        if self.process is None:
            return 0
        return self._kill_descendants(self.process.pid)

    def partner_toml(self, name: str = "acme", **options: object) -> str:
        """A ``[partners.NAME]`` table for edi reaching this server with the ed25519 key
        (``options`` are TOML values as text, e.g. ``patterns='["*.pgp"]'``)."""
        values: dict[str, object] = {
            "host": f'"{self.host}"',
            "port": self.port,
            "user": f'"{self.username}"',
            "key_file": f'"{self.client_key_ed25519}"',
            "known_hosts": f'"{self.known_hosts}"',
            "patterns": '["*.x12"]',
            "stable_seconds": 0.2,
            "backoff": 0.05,
        }
        values.update(options)
        lines = [f"[partners.{name}]", *(f"{key} = {value}" for key, value in values.items())]
        return "\n".join(lines) + "\n"

    def sftp_command(self, *extra: str) -> list[str]:
        """An OpenSSH ``sftp`` batch command (script on stdin) logged in as the partner."""
        return [
            _tool("sftp"),
            "-q",
            "-b",
            "-",
            "-F",
            "/dev/null",
            "-P",
            str(self.port),
            "-i",
            str(self.client_key_ed25519),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "BatchMode=yes",
            *extra,
            f"{self.username}@{self.host}",
        ]

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- setup steps ------------------------------------------------------------------

    def _make_folder(self) -> None:
        _mkdir(BASE)
        for parent in BASE.parents:
            info = parent.stat()
            if info.st_uid != 0 or info.st_mode & 0o022:
                raise RuntimeError(
                    f"{parent} is not root-owned or is group/world-writable: sshd "
                    "(StrictModes) would refuse the chroot and authorized_keys below it"
                )
        self.folder.mkdir(mode=0o755)
        os.chmod(self.folder, 0o755)
        # lets a later run clean up after a run that was killed before stop()
        marker = {"pid": os.getpid(), "created": psutil.Process().create_time()}
        marker |= {"user": self.username, "pid_file": str(self.pid_file)}
        (self.folder / "owner.json").write_text(json.dumps(marker))
        _mkdir(self.folder / "keys", 0o700)
        _mkdir(self.authorized_keys.parent)

    def _make_user(self) -> None:
        done = _account(
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/",  # the home as seen inside the chroot: sftp sessions start at /
            "--shell",
            "/usr/sbin/nologin",
            self.username,
        )
        if done.returncode != 0:
            raise RuntimeError(f"useradd {self.username} failed: {done.stderr.strip()}")
        self._user_created = True
        # useradd leaves "!" in the shadow password field; with UsePAM no, sshd takes
        # that for a locked account and refuses even public-key logins. "*" is
        # "no password" without being locked.
        done = _account("usermod", "-p", "*", self.username)
        if done.returncode != 0:
            raise RuntimeError(f"usermod -p '*' {self.username} failed: {done.stderr.strip()}")
        entry = pwd.getpwnam(self.username)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def _make_chroot(self) -> None:
        _mkdir(self.root)  # root:root 0755, as ChrootDirectory demands
        for name in PARTNER_DIRS:
            _mkdir(self.root / name, 0o755, self.uid, self.gid)

    def _make_keys(self) -> None:
        keygen = _tool("ssh-keygen")
        jobs = {
            self.host_key: ("ed25519", "", "edi-test-host"),
            self.other_host_key: ("ed25519", "", "edi-test-impostor"),
            self.client_key_ed25519: ("ed25519", "", "edi-test-partner"),
            self.client_key_rsa: ("rsa", self.client_key_rsa_passphrase, "edi-test-partner-rsa"),
            self.stranger_key: ("ed25519", "", "edi-test-stranger"),
        }
        running = []
        for path, (kind, passphrase, comment) in jobs.items():
            command = [keygen, "-q", "-t", kind, "-N", passphrase, "-C", comment, "-f", str(path)]
            if kind == "rsa":
                command[4:4] = ["-b", "3072"]
            running.append(
                (command, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
            )
        for command, job in running:
            _, err = job.communicate(timeout=120)
            if job.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed: {err.decode()[-1000:]}")
        authorized = "".join(
            Path(f"{key}.pub").read_text() for key in (self.client_key_ed25519, self.client_key_rsa)
        )
        self.authorized_keys.write_text(authorized)
        os.chown(self.authorized_keys, 0, 0)
        os.chmod(self.authorized_keys, 0o644)
        self.host_fingerprint = _fingerprint(self.host_key_pub.read_text())

    def _write_config(self) -> None:
        lines = [
            f"ListenAddress {self.host}",
            f"Port {self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.pid_file}",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AuthenticationMethods publickey",
            f"AuthorizedKeysFile {self.authorized_keys.parent}/%u",
            "PermitRootLogin no",
            f"AllowUsers {self.username}",
            "Subsystem sftp internal-sftp",
            f"ChrootDirectory {self.root}",
            "ForceCommand internal-sftp",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "AllowStreamLocalForwarding no",
            "PermitTunnel no",
            "X11Forwarding no",
            "PermitTTY no",
            "PermitUserRC no",
            "PrintMotd no",
            "UseDNS no",
            "StrictModes yes",
            "LogLevel VERBOSE",
            "LoginGraceTime 30",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
        ]
        if _sshd_version(self.sshd) >= (9, 8):
            # newer sshd penalises (refuses) source addresses after failed logins or
            # crashed sessions, and every test comes from 127.0.0.1
            lines.append("PerSourcePenalties no")
        self.config.write_text("\n".join(lines) + "\n")
        os.chmod(self.config, 0o644)
        host_key = self.host_key_pub.read_text().split()
        other_key = Path(f"{self.other_host_key}.pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_key[0]} {host_key[1]}\n")
        self.other_known_hosts.write_text(
            f"[{self.host}]:{self.port} {other_key[0]} {other_key[1]}\n"
        )
        done = _run(self.sshd, "-t", "-f", str(self.config), timeout=30)
        if done.returncode != 0:
            raise RuntimeError(
                f"sshd -t -f {self.config} rejected the configuration: "
                f"{(done.stderr + done.stdout).strip()[-2000:]}"
            )

    def _launch(self, last_try: bool) -> bool:
        """Run sshd and wait for its banner; False when the port was taken meanwhile."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.sshd, "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a ^C in the terminal reaches pytest, not sshd
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                tail = self.log_tail()
                if "Address already in use" in tail and not last_try:
                    return False
                raise RuntimeError(f"sshd exited at start; its log:\n{tail}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1) as sock,
            ):
                if sock.recv(64).startswith(b"SSH-"):
                    return True
            time.sleep(0.05)
        raise RuntimeError(
            f"sshd did not accept connections on {self.host}:{self.port} within 10 s; "
            f"its log:\n{self.log_tail()}"
        )

    def _kill_descendants(self, pid: int) -> int:
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return 0
        return _kill_all(children)


def _delete_user(username: str, uid: int) -> None:
    """Kill what still runs as the user (a session the listener lost), then userdel."""
    if uid >= 0:
        _kill_all(_processes_of(uid))
    done = _account("userdel", username)
    if done.returncode == 8:  # "user is currently used by process"
        done = _account("userdel", "--force", username)
    with contextlib.suppress(KeyError, OSError, subprocess.SubprocessError):
        import grp

        grp.getgrnam(username)
        _account("groupdel", username)


def _sweep_stale() -> None:
    """Remove servers (sshd, user, folder) left behind by runs that died before stop()."""
    if not BASE.is_dir():
        return
    for folder in BASE.iterdir():
        try:
            marker = json.loads((folder / "owner.json").read_text())
            owner = psutil.Process(int(marker["pid"]))
            if abs(owner.create_time() - float(marker["created"])) < 1:
                continue  # its owner still runs
        except psutil.NoSuchProcess:
            pass
        except (OSError, ValueError, KeyError, TypeError, psutil.Error):
            continue  # not ours, or being written right now
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            pid = int(Path(marker["pid_file"]).read_text().split()[0])
            daemon = psutil.Process(pid)
            if "sshd" in daemon.name():
                _kill_all([*daemon.children(recursive=True), daemon])
        user = str(marker.get("user", ""))
        if user.startswith(USER_PREFIX):
            try:
                uid = pwd.getpwnam(user).pw_uid
            except KeyError:
                uid = -1
            if uid >= 0:
                _delete_user(user, uid)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshServer]:
    """A started SshServer for the whole session."""
    from tests.conftest import require  # (conftest imports this module's fixtures)

    sshd = find_sshd()
    require(
        os.geteuid() == 0 and sshd is not None and shutil.which("ssh-keygen") is not None,
        "OpenSSH sshd (as root)",
    )
    server = SshServer(sshd)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        require(False, f"a running OpenSSH sshd ({exc})")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sftp_partner(sshd_server: SshServer) -> Iterator[SshServer]:
    """The session's server with empty inbound/, outbound/ and archive/."""
    sshd_server.reset()
    yield sshd_server
