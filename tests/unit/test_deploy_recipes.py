"""The Dockerfile and the compose file say what the tests run: the image installs edi with
deploy/edi-wheel alone (the commands tests/end_to_end/test_wheel_install.py runs), as a
non-root user, with no key inside; the compose file runs PostgreSQL, the Prefect server and
two workers of the pool `edi deploy` registers with, keys and passwords from outside."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_edi_is_installed_by_the_tested_commands_alone():
    runs = [args for word, args in instructions(DOCKERFILE) if word == "RUN"]
    edi = [shlex.split(r)[:2] for r in runs if "edi-wheel" in r]
    assert edi == [["/src/deploy/edi-wheel", "build"], ["edi-wheel", "install"]]
    assert runs[0] == "/src/deploy/edi-wheel build /src /wheels"
    # the image runs the workers: the flows extra (Prefect) with the wheel
    assert "edi-wheel install /opt/edi /wheels/edi-*.whl flows && rm -rf /wheels" in runs
    others = [r for r in runs if "edi-wheel" not in r]
    for run in others:  # system packages and the user: nothing Python
        assert not re.search(r"\b(pip|venv|setup\.py|uv|poetry)\b", run), run
    (apt,) = [r for r in others if "apt-get install" in r]
    assert apt.split("--no-install-recommends ")[1].split(" &&")[0] == "gnupg"


def test_the_image_runs_as_a_user_and_holds_no_key():
    steps = instructions(DOCKERFILE)
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [args for word, args in final if word == "USER"]
    assert users == ["edi"]
    assert [w for w, _ in final].index("USER") < [w for w, _ in final].index("CMD")
    copies = [args for word, args in steps if word == "COPY"]
    assert copies == [
        ". /src",
        "--from=build /wheels /wheels",
        "deploy/edi-wheel /usr/local/bin/edi-wheel",
    ]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "**/keyring.json", "**/kek", "**/*.sqlite3"} <= set(ignored)
    env = " ".join(args for word, args in steps if word == "ENV")
    assert "KEK" not in env and "PASSWORD" not in env


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_runs_the_store_the_server_and_two_workers_of_the_pool():
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    server = services["prefect-server"]
    assert server["command"][:3] == ["prefect", "server", "start"]
    assert server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].startswith(
        "postgresql+asyncpg://"
    )
    workers = [
        s for s in services.values() if s.get("command", [])[:3] == ["prefect", "worker", "start"]
    ]
    assert len(workers) == 2
    for worker in workers:
        command = worker["command"]
        assert command[command.index("--pool") + 1] == "edi"
        assert command[command.index("--type") + 1] == "process"
        env = worker["environment"]
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert env["EDI_DATABASE_URL"].startswith("postgresql+psycopg://edi:${EDI_DB_PASSWORD")
        assert "edi-home:/var/lib/edi" in worker["volumes"]
        assert worker["secrets"] == ["edi-kek"]
    # one EDI_HOME, so one process namespace (private folders are swept by pid)
    assert services["worker-2"]["pid"] == services["edi"]["pid"] == "service:worker-1"


def test_compose_takes_every_secret_from_outside():
    text = COMPOSE.read_text()
    assert compose()["secrets"] == {"edi-kek": {"file": "./secrets/edi-kek"}}
    values = re.findall(r"^\s*\w*(?:PASSWORD|KEY)\w*:\s*(.+)$", text, re.MULTILINE)
    assert len(values) == 2
    for value in values:
        assert value.startswith("${") and value.endswith(":?set in .env}"), value
    example = (ROOT / "deploy" / "compose" / "edi.toml.example").read_text()
    assert 'kek_file = "/run/secrets/edi-kek"' in example
