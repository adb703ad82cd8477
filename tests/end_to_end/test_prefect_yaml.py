"""`edi deploy --print-prefect-yaml` writes a prefect.yaml that `prefect deploy --all`
accepts against a Prefect server started as in production (`prefect server start` on a
loopback port), giving the deployments `edi deploy` registers: read back through the API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edi.cli import main
from tests.conftest import INSTALLED, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.integration]

BIN = Path(sys.executable).parent
CONFIG = """
[partners.acme]
transport = "local"
path = "{root}/acme"
schedule = "30 2 * * *"
timezone = "America/Chicago"

[partners.beta]
transport = "local"
path = "{root}/beta"
schedule = "0 6 * * 1-5"

[partners.manual]
transport = "local"
path = "{root}/manual"
"""


def _env(home: Path, api: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EDI_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    if not INSTALLED:  # the flow is imported by module path: from the checkout
        env["PYTHONPATH"] = str(ROOT)
    if api is not None:
        env["PREFECT_API_URL"] = api
    return env


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prefect server start` on a free loopback port, its own SQLite database."""
    home = tmp_path_factory.mktemp("prefect-home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            try:
                _get(f"{api}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "prefect server did not start"
                time.sleep(0.5)
        yield api
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def _prefect(api: str, home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", *args],
        cwd=cwd,
        env=_env(home, api),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_prefect_deploy_all_registers_the_printed_deployments(
    prefect_server: str, tmp_path: Path
) -> None:
    conf = tmp_path / "edi.toml"
    conf.write_text(CONFIG.format(root=tmp_path))
    for name in ("acme", "beta", "manual"):
        (tmp_path / name).mkdir()
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(conf), "PREFECT_API_URL": ""}
    printed = CliRunner().invoke(
        main, ["deploy", "--work-pool", "edi-yaml", "--print-prefect-yaml"], env=env
    )
    assert printed.exit_code == 0, printed.output
    assert "manual: no schedule, no deployment" in printed.stderr
    assert "manual" not in printed.stdout
    project = tmp_path / "project"
    project.mkdir()
    (project / "prefect.yaml").write_text(printed.stdout)

    home = tmp_path / "prefect-client"
    pool = _prefect(
        prefect_server, home, "work-pool", "create", "edi-yaml", "--type", "process", cwd=project
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    done = _prefect(prefect_server, home, "deploy", "--all", cwd=project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    acme = _get(f"{prefect_server}/deployments/name/exchange/acme")
    beta = _get(f"{prefect_server}/deployments/name/exchange/beta")
    with pytest.raises(urllib.error.HTTPError):
        _get(f"{prefect_server}/deployments/name/exchange/manual")
    for deployment, partner in ((acme, "acme"), (beta, "beta")):
        assert deployment["entrypoint"] == "edi.flows.exchange.exchange"
        assert deployment["work_pool_name"] == "edi-yaml"
        assert deployment["parameters"] == {"partner": partner, "config": str(conf.resolve())}
        assert deployment["tags"] == ["edi", "exchange", f"partner:{partner}"]
        assert deployment["pull_steps"] == []  # nothing to fetch, no folder to change into
    schedules = [
        (d["schedules"][0]["schedule"]["cron"], d["schedules"][0]["schedule"]["timezone"])
        for d in (acme, beta)
    ]
    assert schedules == [("30 2 * * *", "America/Chicago"), ("0 6 * * 1-5", "UTC")]
    assert all(d["schedules"][0]["active"] for d in (acme, beta))
    assert _get(f"{prefect_server}/work_pools/edi-yaml")["type"] == "process"
