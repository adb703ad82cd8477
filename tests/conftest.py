"""Shared fixtures: the public X12 corpus, the project's samples, real-component policy."""

from __future__ import annotations

import csv
import functools
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


#: the test folders by layer, each marking its tests with its name (`pytest -m unit`)
LAYERS = ("unit", "conformance", "store", "transport", "end_to_end")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the layer of its folder; a test outside the layer folders is an error."""
    for item in items:
        path = Path(item.path).resolve()
        layer = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else None
        if layer not in LAYERS:
            raise pytest.UsageError(f"{path} is not in a layer folder under tests/: {LAYERS}")
        item.add_marker(getattr(pytest.mark, layer))


def pytest_configure(config: pytest.Config) -> None:
    """pyx12, the oracle, reads its code lists and data element table once per process.

    pyx12 parses both XML tables again for every map it loads, that is for every file it
    judges: half its time over the corpus. Both are read-only once built, so one of each
    (per folder and exclusion list, its arguments) serves every file unchanged.
    """
    try:
        import pyx12.codes
        import pyx12.dataele
    except ImportError:
        return
    pyx12.codes.ExternalCodes = functools.cache(pyx12.codes.ExternalCodes)  # type: ignore[misc]
    pyx12.dataele.DataElements = functools.cache(pyx12.dataele.DataElements)  # type: ignore[misc]


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
from tests.store_support import kit, store_url  # noqa: E402, F401
