"""Custom ``c2pa.soft-binding.*`` assertions of any shape, really signed with the test PKI: the
check reads them without raising, lists the binding with the fields it could read and
indexes none whose value is not a string (issue 15, point 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provenance import CheckOptions, check
from provenance.credentials.signing import sign_media
from provenance.render.html import render_evidence_html
from provenance.report import CredentialsState, Report
from provenance.repository import ManifestRepository
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.synth import write_image

#: The assertion's data, and the (algorithm, value) pairs the check must list for it.
SHAPES: dict[str, tuple[Any, list[tuple[str, str | None]]]] = {
    "data-list": ([1, "two", {"alg": "x"}], [("unknown", None)]),
    "data-int": (7, [("unknown", None)]),
    "data-null": (None, [("unknown", None)]),
    "alg-list": ({"alg": ["a", "b"], "blocks": [{"value": "AAE="}]}, [("unknown", "AAE=")]),
    "alg-dict": ({"alg": {"name": "io.x"}, "blocks": []}, [("unknown", None)]),
    "blocks-int": ({"alg": "io.example.1", "blocks": 3}, [("io.example.1", None)]),
    "blocks-dict": ({"alg": "io.example.1", "blocks": {"value": "AAE="}}, [("io.example.1", None)]),
    "blocks-text": ({"alg": "io.example.1", "blocks": "abc"}, [("io.example.1", None)]),
    "block-int": ({"alg": "io.example.1", "blocks": [5, None]}, [("io.example.1", None)] * 2),
    "value-dict": (
        {"alg": "io.example.1", "blocks": [{"scope": {"a": {"b": {"c": {"d": 1}}}}, "value": {}}]},
        [("io.example.1", None)],
    ),
    "value-int": (
        {"alg": "io.example.1", "blocks": [{"scope": 4, "value": 4}]},
        [("io.example.1", None)],
    ),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signed(
    tmp_path_factory: pytest.TempPathFactory, pki: PKIFiles
) -> dict[str, tuple[Path, bytes]]:
    folder = tmp_path_factory.mktemp("hostile")
    source = write_image(folder / "source.png")
    made: dict[str, tuple[Path, bytes]] = {}
    for name, (data, _) in SHAPES.items():
        result = sign_media(
            source,
            folder / f"{name}.png",
            chain_pem=pki.chain_pem.read_bytes(),
            private_key_pem=pki.key_pem.read_bytes(),
            extra_assertions=[{"label": "c2pa.soft-binding.custom", "data": data}],
        )
        made[name] = (result.path, result.store)
    return made


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_soft_binding_of_any_shape_is_read_without_raising(
    name: str, signed: dict[str, tuple[Path, bytes]], pki: PKIFiles
) -> None:
    path, _ = signed[name]
    report = check(path, CheckOptions(extra_anchors=(pki.root_pem,), credentials_only=True))
    assert report.credentials.state is CredentialsState.PRESENT, report.errors
    assert not report.errors
    listed = [(b.algorithm, b.value) for b in report.credentials.soft_bindings]
    assert listed == SHAPES[name][1]
    assert Report.from_json(report.to_json()) == report
    assert "Content Credentials" in render_evidence_html([report])


def test_a_repository_keeps_such_stores_and_indexes_no_unreadable_binding(
    tmp_path: Path, signed: dict[str, tuple[Path, bytes]]
) -> None:
    with ManifestRepository(tmp_path / "repo.db") as repository:
        for _, store in signed.values():
            repository.add(store, added_by="test")
        assert len(repository.entries()) == len(SHAPES)
        assert repository.binding_values("io.example.1", limit=10) == []
        assert repository.binding_values("unknown", limit=10) == []
        found = repository.by_binding("unknown", "AAE=")
        assert found == []
