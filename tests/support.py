"""Helpers shared by the tests (imported as ``tests.support``; fixtures live in conftest)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with ``reason``; in CI (``CI=true``), where everything must run, fail instead."""
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(f"{reason} (CI=true: this is required)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Debian's Chromium (``make test`` installs it), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def load_sample_corpus_module() -> ModuleType:
    """``datasets/sample_corpus.py`` as a module (``datasets/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "sample_corpus", REPO / "datasets" / "sample_corpus.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sample_corpus"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
