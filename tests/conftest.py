"""Shared fixtures: the public X12 corpus, the project's samples, real-component policy."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: `make test` runs the suite on the installed wheel (EDI_TEST_INSTALLED=1) with
#: `--import-mode=append`: the checkout goes on sys.path after site-packages, only so that
#: the `tests` package imports, and the installed `edi` is the one imported (here, and in
#: every process a test spawns)
INSTALLED = os.environ.get("EDI_TEST_INSTALLED") == "1"
if INSTALLED:
    import edi

    if Path(edi.__file__).resolve().is_relative_to(ROOT / "edi"):
        raise RuntimeError(
            f"EDI_TEST_INSTALLED=1 but edi is imported from {edi.__file__}: run pytest "
            "with --import-mode=append and PYTHONSAFEPATH=1, as `make test` does"
        )
SAMPLES = ROOT / "samples"
CORPUS = Path(os.environ.get("EDI_CORPUS", ROOT.parent / "shared" / "corpus"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally when a real component is missing; in CI (CI=true) fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} is missing")


@dataclass(frozen=True)
class CorpusFile:
    """One row of the corpus MANIFEST.tsv."""

    file: str
    transaction_set: str
    version: str
    intended: str
    notes: str

    @property
    def path(self) -> Path:
        return CORPUS / self.file

    @property
    def is_5010_claim_remit_enroll(self) -> bool:
        return self.version.startswith("00501") and self.transaction_set in (
            "834",
            "835",
            "837P",
            "837I",
            "837D",
        )


def corpus_manifest() -> list[CorpusFile]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="") as handle:
        return [
            CorpusFile(r["file"], r["transaction_set"], r["version"], r["intended"], r["notes"])
            for r in csv.DictReader(handle, delimiter="\t")
        ]


@pytest.fixture(scope="session")
def corpus() -> list[CorpusFile]:
    rows = corpus_manifest()
    require(bool(rows), f"the X12 corpus at {CORPUS}")
    return rows


def corpus_path(name: str) -> Path:
    path = CORPUS / name
    require(path.exists(), f"corpus file {name}")
    return path


# the real servers every test module may use: PostgreSQL, OpenSSH sshd, gpg keys; a
# store on each database; field maps made unusable on purpose
from tests.field_maps import broken_837p_maps  # noqa: E402, F401
from tests.gpg_support import pgp_world  # noqa: E402, F401
from tests.pg import pg_cluster, pg_url  # noqa: E402, F401
from tests.sshd import sftp_partner, sshd_server  # noqa: E402, F401
from tests.store_support import kit  # noqa: E402, F401
