"""The manifest repository: real c2pa-python stores signed with a PKI made here, kept in a
real SQLite file, and the ``provenance repository`` commands run as a user runs them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.errors import ProvenanceError
from provenance.repository import ManifestRepository, RepositoryError, read_manifest_store
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_image

ALG = "io.provenance-checker.test-id.1"


def _binding(value: str) -> dict[str, object]:
    return {
        "label": "c2pa.soft-binding",
        "data": {"alg": ALG, "blocks": [{"scope": {}, "value": value}]},
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, pki: PKIFiles) -> dict[str, Path]:
    """Manifest stores: two with a soft binding each (one value shared), one without."""
    folder = tmp_path_factory.mktemp("stores")
    made = {}
    for name, bindings in (
        ("first", [_binding("AAECAwQFBgc="), _binding("c2hhcmVk")]),
        ("second", [_binding("c2hhcmVk")]),
        ("plain", []),
    ):
        picture = write_image(folder / f"{name}.jpg", seed=len(made))
        store = folder / f"{name}.c2pa"
        sign_file(
            picture,
            folder / f"{name}_signed.jpg",
            pki=pki,
            title=f"{name} <b>title</b>",
            extra_assertions=bindings,
            store_to=store,
        )
        made[name] = store
    return made


def test_stores_are_kept_and_found_by_id_and_by_binding(
    tmp_path: Path, stores: dict[str, Path]
) -> None:
    with ManifestRepository(tmp_path / "repo.db") as repo:
        first = repo.add(stores["first"].read_bytes(), added_by="newsroom")
        second = repo.add(stores["second"].read_bytes(), added_by="newsroom")
        plain = repo.add(stores["plain"].read_bytes(), added_by="someone else")
        assert len(repo) == 3
        assert first.manifest_id.startswith("urn:c2pa:")
        assert first.title == "first <b>title</b>"
        assert first.claim_generator == "provenance-checker demo signer"
        assert first.added_by == "newsroom"
        assert first.bindings == ((ALG, "AAECAwQFBgc="), (ALG, "c2hhcmVk"))
        assert plain.bindings == ()
        assert repo.manifest_store(first.manifest_id) == stores["first"].read_bytes()
        assert repo.get(second.manifest_id) == second
        assert [e.manifest_id for e in repo.by_binding(ALG, "AAECAwQFBgc=")] == [first.manifest_id]
        shared = {e.manifest_id for e in repo.by_binding(ALG, "c2hhcmVk")}
        assert shared == {first.manifest_id, second.manifest_id}
        assert len(repo.by_binding(ALG, "c2hhcmVk", max_results=1)) == 1
        # negative side: another value, another algorithm, an unknown id
        assert repo.by_binding(ALG, "AAECAwQFBgg=") == []
        assert repo.by_binding("com.other.alg", "AAECAwQFBgc=") == []
        assert repo.get("urn:c2pa:00000000-0000-0000-0000-000000000000") is None
        assert repo.manifest_store("urn:c2pa:nothing") is None
        assert [e.manifest_id for e in repo.entries()] == [
            first.manifest_id,
            second.manifest_id,
            plain.manifest_id,
        ]
    # the data is in the file: a new connection sees it
    with ManifestRepository(tmp_path / "repo.db", create=False) as again:
        assert len(again) == 3
        assert again.get(first.manifest_id) == first


def test_adding_the_same_store_twice_keeps_one_entry(
    tmp_path: Path, stores: dict[str, Path]
) -> None:
    with ManifestRepository(tmp_path / "repo.db") as repo:
        data = stores["first"].read_bytes()
        entry = repo.add(data, added_by="a")
        assert repo.add(data, added_by="b") == entry
        assert len(repo) == 1


def test_what_is_not_a_manifest_store_is_refused(tmp_path: Path, stores: dict[str, Path]) -> None:
    with ManifestRepository(tmp_path / "repo.db") as repo:
        for data, message in (
            (b"", "empty"),
            (b"not a manifest store at all", "not a C2PA manifest store"),
            (stores["first"].read_bytes()[:500], "not a C2PA manifest store"),
        ):
            with pytest.raises(RepositoryError, match=message) as raised:
                repo.add(data, added_by="x")
            assert isinstance(raised.value, ProvenanceError)
        assert len(repo) == 0
    with pytest.raises(RepositoryError, match="empty"):
        read_manifest_store(b"")


def test_a_file_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(RepositoryError, match="not a manifest repository"):
        ManifestRepository(junk)
    with pytest.raises(RepositoryError, match="no manifest repository at"):
        ManifestRepository(tmp_path / "missing.db", create=False)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("PRAGMA user_version = 7")
    with pytest.raises(RepositoryError, match="format 7"):
        ManifestRepository(other)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provenance", "repository", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
        check=False,
    )


def test_the_commands_add_list_show_and_export(tmp_path: Path, stores: dict[str, Path]) -> None:
    repo = tmp_path / "repo.db"
    junk = tmp_path / "junk.c2pa"
    junk.write_bytes(b"junk")
    added = _cli("add", str(stores["first"]), str(junk), str(stores["plain"]), "-r", str(repo))
    assert added.returncode == 3  # one store skipped, the others added
    assert f"{junk}: not added: not a C2PA manifest store" in added.stderr
    assert "(2 soft bindings)" in added.stdout
    assert "(0 soft bindings)" in added.stdout

    listed = _cli("list", "--json", env={"PROVENANCE_REPOSITORY": str(repo)})
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["title"] for e in entries] == ["first <b>title</b>", "plain <b>title</b>"]
    first = entries[0]["manifest_id"]
    table = _cli("list", "-r", str(repo))
    assert table.returncode == 0
    assert "2 manifest stores in" in table.stdout

    shown = _cli("show", first, "-r", str(repo))
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["bindings"][0] == {"alg": ALG, "value": "AAECAwQFBgc="}

    out = tmp_path / "out.c2pa"
    exported = _cli("export", first, str(out), "-r", str(repo))
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes() == stores["first"].read_bytes()

    missing = _cli("show", "urn:c2pa:missing", "-r", str(repo))
    assert missing.returncode == 2
    assert "no manifest 'urn:c2pa:missing'" in missing.stderr
    absent = _cli("list", "-r", str(tmp_path / "none.db"))
    assert absent.returncode == 2
    assert "no manifest repository at" in absent.stderr
