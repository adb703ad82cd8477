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
    return _call(urllib.request.Request(url))


def _call(request: urllib.request.Request) -> Any:
    """One API call, retried as Prefect's own client retries it: the server answers 503
    when its SQLite database is busy (and 429 when it sheds load); both mean try again. A
    read (GET) that gets no answer in time is asked again too (two workers and their flows
    write to the same SQLite database: an answer once took longer than 10 s); a POST is
    not (it could be made twice). The timeout is Prefect's own client's default (60 s)."""
    for attempt in range(8):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503) or attempt == 7:
                raise
        except TimeoutError:
            if request.get_method() != "GET" or attempt == 7:
                raise
        time.sleep(min(0.5 * 2**attempt, 8))
    raise AssertionError("unreachable")


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


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    return _call(request)


def test_two_process_workers_run_the_deployed_prefect_yaml_once_per_file(
    prefect_server: str, pg_url: str, tmp_path: Path
) -> None:
    """The printed prefect.yaml deployed with `prefect deploy --all`, two `prefect worker
    start` process workers, two runs of the deployment at once: every file of the partner
    stored, answered and archived exactly once in one PostgreSQL store."""
    from sqlalchemy import select

    from edi.store import leases
    from edi.store import models as m
    from edi.store.db import make_engine
    from tests.conftest import SAMPLES
    from tests.end_to_end.test_two_workers import TEMPLATES, distinct

    remote = tmp_path / "east"
    for folder in ("in", "out", "done"):
        (remote / folder).mkdir(parents=True)
    conf = tmp_path / "edi.toml"
    conf.write_text(
        "[partners.east]\n"
        'transport = "local"\n'
        f'path = "{remote}"\n'
        'inbound = "in"\noutbound = "out"\narchive = "done"\n'
        'patterns = ["*.x12"]\nstable_seconds = 0\nschedule = "0 3 * * *"\n'
    )
    edi_env = {
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_CONFIG": str(conf),
        "EDI_DATABASE_URL": pg_url,
    }
    for step in (["db", "init"], ["keys", "init"]):
        done = CliRunner().invoke(main, step, env={**edi_env, "PREFECT_API_URL": ""})
        assert done.exit_code == 0, done.output
    names = []
    for n in range(12):
        template = TEMPLATES[n % len(TEMPLATES)]
        names.append(f"{n:02d}-{template}")
        text = distinct((SAMPLES / template).read_text(), 100 + n)
        (remote / "in" / names[-1]).write_text(text)

    printed = CliRunner().invoke(
        main,
        ["deploy", "--work-pool", "edi-two", "--print-prefect-yaml"],
        env={**edi_env, "PREFECT_API_URL": ""},
    )
    assert printed.exit_code == 0, printed.output
    project = tmp_path / "project"
    project.mkdir()
    (project / "prefect.yaml").write_text(printed.stdout)
    home = tmp_path / "prefect-client"
    for args in (["work-pool", "create", "edi-two", "--type", "process"], ["deploy", "--all"]):
        done = _prefect(prefect_server, home, *args, cwd=project)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    deployment = _get(f"{prefect_server}/deployments/name/exchange/east")

    workers = []
    try:
        for n in range(2):
            env = {
                **_env(tmp_path / f"worker-{n}", prefect_server),
                **edi_env,
                "PREFECT_WORKER_QUERY_SECONDS": "1",
            }
            log = (tmp_path / f"worker-{n}.log").open("wb")
            workers.append(
                subprocess.Popen(
                    [str(BIN / "prefect"), "worker", "start", "--pool", "edi-two"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=tmp_path,
                )
            )
        runs = [
            _post(f"{prefect_server}/deployments/{deployment['id']}/create_flow_run", {})
            for _ in range(2)
        ]
        deadline = time.monotonic() + 300
        while True:
            states = [
                (_get(f"{prefect_server}/flow_runs/{run['id']}")["state"] or {}).get("type")
                for run in runs
            ]
            if all(s in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for s in states):
                break
            assert all(w.poll() is None for w in workers), "a worker stopped"
            assert time.monotonic() < deadline, (
                states,
                (tmp_path / "worker-0.log").read_text()[-3000:],
            )
            time.sleep(1)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    assert states == ["COMPLETED", "COMPLETED"], (tmp_path / "worker-0.log").read_text()[-3000:]

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        stored = conn.execute(select(m.File.original_name, m.File.status)).all()
    assert sorted(stored) == sorted((name, "stored") for name in names)  # once each
    assert sorted(os.listdir(remote / "done")) == sorted(names)
    assert os.listdir(remote / "in") == []
    sent = sorted(
        (name.split(".x12.")[0] + ".x12", name.rsplit(".", 1)[1])
        for name in os.listdir(remote / "out")
    )
    # a 999 each, and a 277CA for each 837
    wanted = [(n, "999") for n in names] + [(n, "277") for n in names if "837" in n]
    assert sent == sorted(wanted)
    held = leases.leases(engine, "east")
    assert sorted(x.remote_name for x in held) == sorted(names)
    assert {(x.state, x.attempts) for x in held} == {("done", 1)}
    engine.dispose()
