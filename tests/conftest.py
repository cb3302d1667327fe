"""Shared test fixtures.

Tests that need the real third-party files in ``../shared`` use the ``shared_dir`` fixture:
it skips with a clear reason when the folder is missing, except in CI (``CI=true``), where a
missing ``../shared`` is a failure. ``PROVENANCE_SHARED_DIR`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datasets.sample_corpus import build_sample_corpus
from tests.support import REPO, skip_or_fail


def _shared_location() -> Path:
    override = os.environ.get("PROVENANCE_SHARED_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return REPO.parent / "shared"


def require_shared() -> Path:
    """Return ../shared, skipping (or failing in CI) when it is not there."""
    location = _shared_location()
    if not (location / "fixtures").is_dir():
        reason = (
            f"shared fixtures folder not found at {location}; check out ../shared next to the "
            "project or set PROVENANCE_SHARED_DIR"
        )
        skip_or_fail(reason)
    return location


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (fixtures and trust lists)."""
    return require_shared()


@pytest.fixture(scope="session")
def shared_trust_dir(shared_dir: Path) -> Path:
    """The shared trust lists (official C2PA list, legacy interim list, EKU config)."""
    return shared_dir / "trust"


@pytest.fixture(autouse=True)
def _isolated_trust_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read the developer's own installed trust lists: default to an empty trust dir."""
    monkeypatch.setenv(
        "PROVENANCE_TRUST_DIR", str(tmp_path_factory.getbasetemp() / "no-trust-installed")
    )


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated demo corpus (``datasets/sample_corpus.py``, seed 0), built once."""
    folder = tmp_path_factory.mktemp("demo") / "corpus"
    build_sample_corpus(folder, seed=0)
    return folder


@pytest.fixture(scope="session")
def demo_key(demo_corpus: Path) -> str:
    """The demo corpus's keyed-mark key, as the corpus writes it (``demo-key.txt``)."""
    return (demo_corpus / "demo-key.txt").read_text("utf-8").strip()
