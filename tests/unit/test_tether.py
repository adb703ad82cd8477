"""The watchdog (edi.tether): what a process gave it is stopped and swept once that
process ends, SIGKILL included; ``running`` counts a zombie as ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edi.store.private import running


def wait_until(check: object, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_killed_process_s_children_are_stopped_and_its_folders_swept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    report = tmp_path / "report"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends by SIGKILL
        try:
            from edi.store.private import pid_folder
            from edi.tether import tether

            sleeper = subprocess.Popen(["sleep", "300"])
            plain = pid_folder(home / "staging" / "acme" / "plain")
            (plain / "claims.x12").write_text("ISA*")
            gnupg = pid_folder(home / "gnupg")
            tether([sleeper.pid], home=home)
            tether([sleeper.pid], home=home)  # given once: nothing more to tell
            report.write_text(f"{sleeper.pid} {plain} {gnupg}")
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    sleeper_pid, plain, gnupg = report.read_text().split()
    assert wait_until(lambda: not running(int(sleeper_pid)))
    assert wait_until(lambda: not Path(plain).exists() and not Path(gnupg).exists())
    assert (home / "staging" / "acme" / "plain").is_dir()  # only the dead process's folders


def test_a_live_process_keeps_what_it_gave(tmp_path: Path) -> None:
    code = (
        "import sys, time, subprocess; from pathlib import Path\n"
        "from edi.store.private import pid_folder; from edi.tether import tether\n"
        f"f = pid_folder(Path({str(tmp_path)!r}) / 'staging' / 'a' / 'plain')\n"
        f"tether(home=Path({str(tmp_path)!r})); print(f, flush=True); time.sleep(2)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    ) as run:
        assert run.stdout is not None
        folder = Path(run.stdout.readline().strip())
        time.sleep(0.5)
        assert folder.is_dir()  # the watchdog waits while its process runs
        assert run.wait(timeout=30) == 0
    # once it has ended (here normally, without removing its folder), the folder is swept
    assert wait_until(lambda: not folder.exists())


def test_running_counts_a_zombie_as_ended() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert wait_until(lambda: Path(f"/proc/{child.pid}/stat").read_bytes().split()[2] == b"Z")
    assert os.path.exists(f"/proc/{child.pid}") and not running(child.pid)
    child.wait()
    assert not running(child.pid)
    assert running(os.getpid()) and running(1)


def test_a_sweep_leaves_another_machine_s_folders_alone(tmp_path: Path) -> None:
    from edi.store.private import machine, owner, pid_folder, stamp, sweep

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    ours = tmp_path / f"{ended}.{machine()}-a"  # this machine's, its process ended
    legacy = tmp_path / f"{ended}-b"  # made before folders named their machine
    theirs = tmp_path / f"{ended}.0123456789-c"  # another host sharing this EDI_HOME
    live = pid_folder(tmp_path)
    for folder in (ours, legacy, theirs):
        folder.mkdir()
    assert live.name.startswith(stamp() + "-") and machine()
    assert owner(live.name) == (os.getpid(), machine()) and owner("x-1") is None
    assert sorted(sweep(tmp_path, "")) == sorted([ours, legacy])
    assert theirs.is_dir() and live.is_dir()


def test_the_watchdog_is_never_an_edi_folder_of_the_working_folder(tmp_path: Path) -> None:
    # a process started in a folder holding an ``edi`` package (a checkout, or one planted
    # there): its watchdog is this installation's edi.tether, which answers and sweeps
    decoy = tmp_path / "cwd"
    marker = tmp_path / "decoy-imported"
    (decoy / "edi").mkdir(parents=True)
    planted = f"open({str(marker)!r}, 'w').write('imported')\nraise SystemExit(3)\n"
    (decoy / "edi" / "__init__.py").write_text(planted)
    (decoy / "edi" / "tether.py").write_text(planted)
    home = tmp_path / "home"
    report = tmp_path / "report"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends by SIGKILL
        try:
            from edi.store.private import pid_folder
            from edi.tether import tether

            os.chdir(decoy)
            os.environ.pop("PYTHONSAFEPATH", None)
            plain = pid_folder(home / "staging" / "acme" / "plain")
            tether([], home=home)
            report.write_text(str(plain))
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    plain = Path(report.read_text())
    assert wait_until(lambda: not plain.exists())
    assert not marker.exists()
