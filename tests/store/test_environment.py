"""A bad environment gets one line saying what to fix and exit 1, never a traceback: a
database that does not answer, a driver that is not installed, a URL that is not one, an
EDI_HOME that is a file or another user's, a partner nobody knows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edi.cli import main
from tests.conftest import SAMPLES
from tests.store_support import KEK_B64

SAMPLE = str(SAMPLES / "834-enrollment.x12")
FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
#: a PostgreSQL URL nothing listens on (port 1), with a password that must never show
DOWN = "postgresql+psycopg://edi:s3cret-pw@127.0.0.1:1/edi"
REFUSED = (
    "Error: cannot connect to the database postgresql+psycopg://edi:***@127.0.0.1:1/edi: "
    'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection '
    "refused: check that it runs and accepts this user, and EDI_DATABASE_URL or --database\n"
)
#: commands that open the store, each way: to write, to read, to migrate, the audit log
COMMANDS = (
    ["ingest", SAMPLE],
    ["files", "list"],
    ["claims", "list"],
    ["db", "upgrade"],
    ["audit", "verify"],
)


def invoke(env: dict[str, str], args: list[str]) -> Result:
    return CliRunner().invoke(main, args, env=env)


def one_line(result: Result, expected: str) -> None:
    """The command failed with exactly ``expected`` (exit 1) and nothing else."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert (result.exit_code, result.output) == (1, expected)
    assert "Traceback" not in result.output


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return {"EDI_HOME": str(home), "EDI_KEK": KEK_B64, "EDI_CONFIG": "", "EDI_DATABASE_URL": ""}


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_database_that_does_not_answer(env: dict[str, str], args: list[str]) -> None:
    result = invoke({**env, "EDI_DATABASE_URL": DOWN}, args)
    one_line(result, REFUSED)
    assert "s3cret-pw" not in result.output


def test_a_database_that_does_not_answer_in_a_process_of_its_own(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from edi.cli import main; main()", "files", "list"],
        env={**os.environ, **env, "EDI_DATABASE_URL": DOWN},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "", REFUSED)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "mysql+mysqldb://edi:pw@127.0.0.1/edi",
            "Error: database URL mysql+mysqldb://edi:***@127.0.0.1/edi: its driver MySQLdb is "
            f"not installed: install it beside edi, or use {FORMS}\n",
        ),
        (
            "nosuch://edi@127.0.0.1/edi",
            "Error: database URL nosuch://edi@127.0.0.1/edi: SQLAlchemy has no dialect "
            f"'nosuch': use {FORMS}\n",
        ),
        (
            "not a url",
            f"Error: the database URL is not one SQLAlchemy reads ({FORMS}): check "
            "EDI_DATABASE_URL or --database\n",
        ),
    ],
    ids=["driver-missing", "no-dialect", "unparsable"],
)
@pytest.mark.parametrize("args", COMMANDS[:4], ids=lambda a: " ".join(a[:2]))
def test_a_database_url_that_cannot_be_used(
    env: dict[str, str], url: str, expected: str, args: list[str]
) -> None:
    one_line(invoke({**env, "EDI_DATABASE_URL": url}, args), expected)


@pytest.mark.parametrize("args", [*COMMANDS[:4], ["keys", "init"]], ids=lambda a: " ".join(a[:2]))
def test_an_edi_home_that_is_a_file(tmp_path: Path, env: dict[str, str], args: list[str]) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("")
    expected = (
        f"Error: EDI_HOME {home} is not a directory: set EDI_HOME to the data folder "
        "(or remove the file)\n"
    )
    one_line(invoke({**env, "EDI_HOME": str(home)}, args), expected)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
@pytest.mark.parametrize("args", [["ingest", SAMPLE], ["db", "upgrade"]], ids=["ingest", "db"])
def test_an_edi_home_of_another_user(tmp_path: Path, env: dict[str, str], args: list[str]) -> None:
    home = Path(env["EDI_HOME"])
    # root is an operator by the home's own [roles] (a file root may write), so the role
    # check passes and the home's owner is what stops the command
    (home / "edi.toml").write_text('[roles]\noperator = ["root"]\n')
    (home / "edi.toml").chmod(0o600)
    os.chown(home, 65534, 65534)
    expected = (
        f"Error: EDI_HOME {home}: {home} belongs to nobody (uid 65534), not to root (uid 0) "
        "who runs edi: run edi as its owner, or chown it\n"
    )
    one_line(invoke(env, args), expected)
    assert sorted(os.listdir(home)) == ["edi.toml"]  # nothing made in it


@pytest.mark.parametrize(
    "args",
    [
        ["files", "list", "--partner", "nope"],
        ["transactions", "list", "--partner", "nope"],
        ["claims", "list", "--partner", "nope"],
        ["members", "list", "--partner", "nope"],
        ["payments", "list", "--partner", "nope"],
    ],
    ids=lambda a: a[0],
)
def test_an_unknown_partner(env: dict[str, str], args: list[str]) -> None:
    assert invoke(env, ["keys", "init"]).exit_code == 0
    stored = invoke(env, ["ingest", "--partner", "acme", SAMPLE])
    assert stored.exit_code == 0, stored.output
    expected = "Error: no partner 'nope' in the configuration or the store (known: acme)\n"
    one_line(invoke(env, args), expected)
    listed = invoke(env, [*args[:-1], "acme"])
    assert listed.exit_code == 0, listed.output


@pytest.mark.parametrize(
    "args", [["run", "--partner", "acme"], ["serve"], ["pull", "--partner", "acme"]]
)
def test_a_database_that_does_not_answer_stops_a_run_before_prefect_starts(
    tmp_path: Path, env: dict[str, str], args: list[str]
) -> None:
    conf = tmp_path / "edi.toml"
    conf.write_text(
        f'[partners.acme]\ntransport = "local"\npath = "{tmp_path}"\nschedule = "0 2 * * *"\n'
    )
    env = {**env, "EDI_CONFIG": str(conf), "EDI_DATABASE_URL": DOWN, "PREFECT_API_URL": ""}
    one_line(invoke(env, args), REFUSED)


def test_an_unknown_partner_to_pull_or_run(env: dict[str, str]) -> None:
    for args in (["pull", "--partner", "nope"], ["run", "--partner", "nope"]):
        expected = "Error: no partner 'nope' in the configuration (known: none configured)\n"
        one_line(invoke(env, args), expected)
    one_line(
        invoke(env, ["staging", "list", "--partner", "nope"]),
        "Error: no partner 'nope' in the configuration or in staging (known: none)\n",
    )
