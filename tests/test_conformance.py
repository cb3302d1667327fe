"""Conformance over every real third-party file in ../shared/fixtures/c2pa.

Expected results were established with c2pa-python 0.38.1 (c2pa-rs 0.91.3) and agree with the
fixtures' SOURCES.md, read through our rules. "none installed" is what a fresh install sees (no
trust list; our default EKU list); "shared lists" loads the official C2PA list, the legacy
interim anchors and allow list, and the interim EKU config from ../shared/trust.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance import CheckOptions, check
from provenance.report import (
    AIDeclaration,
    CredentialsState,
    Integrity,
    Report,
    TrustSource,
    TrustStatus,
    VerdictCode,
)

P, AB, RE, CO, UN = (
    CredentialsState.PRESENT,
    CredentialsState.ABSENT,
    CredentialsState.REMOTE,
    CredentialsState.CORRUPT,
    CredentialsState.UNSUPPORTED,
)
OK, TA, MA, IN, NA = (
    Integrity.INTACT,
    Integrity.TAMPERED,
    Integrity.MALFORMED,
    Integrity.INCOMPLETE,
    Integrity.NOT_APPLICABLE,
)
TR, UT, SI, TNA = (
    TrustStatus.TRUSTED,
    TrustStatus.UNTRUSTED,
    TrustStatus.SIGNER_INVALID,
    TrustStatus.NOT_APPLICABLE,
)
V = VerdictCode
A = AIDeclaration

# file -> (verdict, state, integrity, trust, ai) with no trust list installed
NO_LISTS: dict[str, tuple[VerdictCode, CredentialsState, Integrity, TrustStatus, AIDeclaration]] = {
    "C.jpg": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.OTHER),
    "C_with_CAWG_data.jpg": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.CAPTURE),
    "DALL-E_cloud_surfing_puppy.webp": (V.AI_DECLARED, P, OK, UT, A.GENERATIVE_AI),
    # the ingredient's certificate expired, the active signer's did not (issue 15)
    "PTS_INVALID_INGREDIENT.mp4": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.NONE),
    "PTS_NO_CRs_c2pa_ebu_eurovox.mp4": (V.NO_SIGNAL, AB, NA, TNA, A.NONE),
    "PTS_TRUSTED_sony_official_cawg_wdr.mp4": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.CAPTURE),
    "adobe-20220124-A.jpg": (V.NO_SIGNAL, AB, NA, TNA, A.NONE),
    "adobe-20220124-CAICAI.jpg": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.NONE),
    "adobe-20220124-E-dat-CA.jpg": (V.CREDENTIALS_TAMPERED, P, TA, UT, A.NONE),
    "adobe-20220124-E-sig-CA.jpg": (V.CREDENTIALS_TAMPERED, P, TA, UT, A.NONE),
    "adobe-20220124-E-uri-CA.jpg": (V.CREDENTIALS_TAMPERED, P, TA, UT, A.NONE),
    # Microsoft's signing EKU is accepted only with the lists' EKU configuration (issue 15)
    "bing_creator_cloud_surfing_puppy.jpg": (V.AI_DECLARED, P, OK, SI, A.GENERATIVE_AI),
    "c.mov": (V.NO_SIGNAL, AB, NA, TNA, A.NONE),
    "cards_trusted.mp4": (V.CREDENTIALS_INVALID, P, OK, SI, A.NONE),  # the same EKU
    "cicadas_trusted.mp3": (V.CREDENTIALS_INVALID, P, OK, SI, A.NONE),
    "cloud.jpg": (V.CREDENTIALS_REMOTE, RE, NA, TNA, A.UNKNOWN),  # not fetched: unknown
    "cloud_manifest.c2pa": (V.UNSUPPORTED, P, IN, UT, A.NONE),
    "dash1.m4s": (V.UNSUPPORTED, UN, NA, TNA, A.NONE),
    "dashinit.mp4": (V.UNSUPPORTED, P, IN, UT, A.NONE),
    "ingredient-with-data-types.jpg": (V.AI_DECLARED, P, OK, UT, A.GENERATIVE_AI),
    "nikon-20221019-building.jpeg": (V.CREDENTIALS_INVALID, P, OK, SI, A.NONE),
    "no_alg.jpg": (V.CREDENTIALS_INVALID, CO, MA, TNA, A.NONE),
    "ocsp.jpg": (V.AI_EDITED, P, OK, UT, A.CONTAINS_AI),
    "prerelease.jpg": (V.CREDENTIALS_INVALID, CO, MA, TNA, A.NONE),
    "prmiere-firefly.mp4": (V.AI_EDITED, P, OK, UT, A.CONTAINS_AI),
    "sample1_signed.wav": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.OTHER),
    "test.avi": (V.NO_SIGNAL, AB, NA, TNA, A.NONE),
    "testv2.jpg": (V.CREDENTIALS_INVALID, P, MA, SI, A.NONE),
    "trustnxt-icon-signed-v2-bmff.heic": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.NONE),
    "video1.mp4": (V.CREDENTIALS_UNTRUSTED, P, OK, UT, A.NONE),
    "video1_no_manifest.mp4": (V.NO_SIGNAL, AB, NA, TNA, A.NONE),
}

# What changes once the shared lists are loaded: (verdict, trust, trust source)
WITH_LISTS: dict[str, tuple[VerdictCode, TrustStatus, TrustSource]] = {
    "DALL-E_cloud_surfing_puppy.webp": (V.AI_DECLARED, TR, TrustSource.INTERIM),
    "ingredient-with-data-types.jpg": (V.AI_DECLARED, TR, TrustSource.INTERIM),
    "ocsp.jpg": (V.AI_EDITED, TR, TrustSource.INTERIM),
    "prmiere-firefly.mp4": (V.AI_EDITED, TR, TrustSource.INTERIM),
    # the SDK trusts the signer (interim list) although the claim is malformed (issue 15)
    "testv2.jpg": (V.CREDENTIALS_INVALID, TR, TrustSource.INTERIM),
    "PTS_INVALID_INGREDIENT.mp4": (V.CREDENTIALS_VALID_NO_AI, TR, TrustSource.INTERIM),
    "bing_creator_cloud_surfing_puppy.jpg": (V.AI_DECLARED, TR, TrustSource.INTERIM),
    # valid under the lists' EKU configuration, but their signer is on no list
    "cards_trusted.mp4": (V.CREDENTIALS_UNTRUSTED, UT, TrustSource.NONE),
    "cicadas_trusted.mp3": (V.CREDENTIALS_UNTRUSTED, UT, TrustSource.NONE),
}

AI_FILES = {
    "DALL-E_cloud_surfing_puppy.webp",
    "bing_creator_cloud_surfing_puppy.jpg",
    "ingredient-with-data-types.jpg",
    "ocsp.jpg",
    "prmiere-firefly.mp4",
}
TAMPERED_FILES = {
    "adobe-20220124-E-dat-CA.jpg",
    "adobe-20220124-E-sig-CA.jpg",
    "adobe-20220124-E-uri-CA.jpg",
}


def _fixtures(shared_dir: Path) -> list[Path]:
    return sorted(p for p in (shared_dir / "fixtures" / "c2pa").iterdir() if p.name != "SOURCES.md")


def test_table_covers_all_31_fixtures(shared_dir: Path) -> None:
    names = {p.name for p in _fixtures(shared_dir)}
    assert len(names) == 31
    assert names == set(NO_LISTS)


@pytest.fixture(scope="module")
def reports_without_lists(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Report]:
    options = CheckOptions(trust_dir=tmp_path_factory.mktemp("empty-trust"))
    return {p.name: check(p, options) for p in _fixtures(shared_dir)}


@pytest.fixture(scope="module")
def reports_with_lists(shared_dir: Path) -> dict[str, Report]:
    options = CheckOptions(trust_dir=shared_dir / "trust")
    return {p.name: check(p, options) for p in _fixtures(shared_dir)}


@pytest.mark.parametrize("name", sorted(NO_LISTS))
def test_fixture_without_lists(name: str, reports_without_lists: dict[str, Report]) -> None:
    report = reports_without_lists[name]
    verdict, state, integrity, trust, ai = NO_LISTS[name]
    c = report.credentials
    assert (report.verdict.code, c.state, c.integrity, c.trust, c.ai_declaration) == (
        verdict,
        state,
        integrity,
        trust,
        ai,
    )
    assert c.trust_source is TrustSource.NONE  # nothing can be trusted without a list
    assert report.credentials.trust_snapshot is not None
    assert report.credentials.trust_snapshot.lists == ()


@pytest.mark.parametrize("name", sorted(NO_LISTS))
def test_fixture_with_shared_lists(name: str, reports_with_lists: dict[str, Report]) -> None:
    report = reports_with_lists[name]
    verdict, state, _integrity, trust, ai = NO_LISTS[name]
    source = TrustSource.NONE
    if name in WITH_LISTS:
        verdict, trust, source = WITH_LISTS[name]
    c = report.credentials
    assert (report.verdict.code, c.state, c.trust, c.trust_source, c.ai_declaration) == (
        verdict,
        state,
        trust,
        source,
        ai,
    )
    snapshot = c.trust_snapshot
    assert snapshot is not None
    assert snapshot.lists == (TrustSource.OFFICIAL, TrustSource.INTERIM)
    assert snapshot.anchor_counts["official"] == 30
    assert snapshot.anchor_counts["interim"] == 18


def test_every_ai_declared_file_is_flagged(
    reports_without_lists: dict[str, Report], reports_with_lists: dict[str, Report]
) -> None:
    for reports in (reports_without_lists, reports_with_lists):
        flagged = {
            name
            for name, r in reports.items()
            if {V.AI_DECLARED, V.AI_EDITED} & set(r.verdict.labels)
        }
        assert flagged == AI_FILES


def test_tampered_files_are_never_valid(
    reports_without_lists: dict[str, Report], reports_with_lists: dict[str, Report]
) -> None:
    for reports in (reports_without_lists, reports_with_lists):
        for name in TAMPERED_FILES:
            report = reports[name]
            assert report.credentials.integrity is Integrity.TAMPERED
            assert report.credentials.validation_state == "Invalid"
            assert V.CREDENTIALS_VALID_NO_AI not in report.verdict.labels
            assert V.CREDENTIALS_UNTRUSTED not in report.verdict.labels


def test_invalid_sdk_state_is_never_reported_as_intact_and_clean(
    reports_with_lists: dict[str, Report],
) -> None:
    for name, report in reports_with_lists.items():
        c = report.credentials
        if c.validation_state != "Invalid":
            continue
        active_failures = [
            v.code
            for v in c.validation_codes
            if v.scope == "active_manifest" and v.kind.value == "failure"
        ]
        if active_failures:
            assert c.integrity is not Integrity.INTACT or c.trust is TrustStatus.SIGNER_INVALID, (
                name
            )
        else:  # invalid only through an ingredient (PTS_INVALID_INGREDIENT): said in a caveat
            assert any("An ingredient's own credentials fail" in x for x in report.verdict.caveats)


def test_where_the_ai_signal_was_found(reports_with_lists: dict[str, Report]) -> None:
    dalle = reports_with_lists["DALL-E_cloud_surfing_puppy.webp"].credentials.ai_signals[0]
    assert (dalle.signal, dalle.location.value, dalle.value) == (
        "fullyGenAIMedia",
        "parent",
        "trainedAlgorithmicMedia",
    )
    premiere = reports_with_lists["prmiere-firefly.mp4"].credentials.ai_signals[0]
    assert (premiere.signal, premiere.location.value) == (
        "partlyGenAICreation",
        "component_ingredient",
    )
    bing = reports_with_lists["bing_creator_cloud_surfing_puppy.jpg"].credentials.ai_signals[0]
    assert (bing.signal, bing.field, bing.value) == (
        "textDeclaredGenAI",
        "description",
        "AI Generated Image",
    )
    cawg = reports_with_lists["C_with_CAWG_data.jpg"].credentials.ai_signals[0]
    assert (cawg.signal, cawg.value) == (
        "capturedMedia",
        "digitalCapture",
    )  # leading space stripped


def test_every_validation_code_is_explained(reports_with_lists: dict[str, Report]) -> None:
    seen = 0
    for report in reports_with_lists.values():
        for code in report.credentials.validation_codes:
            assert code.explanation, code.code
            assert "no text for yet" not in code.explanation, code.code
            seen += 1
    assert seen > 100


def test_soft_bindings_are_listed(reports_with_lists: dict[str, Report]) -> None:
    sony = reports_with_lists["PTS_TRUSTED_sony_official_cawg_wdr.mp4"].credentials
    assert "tv.kinetiq.watercast.48.1" in {b.algorithm for b in sony.soft_bindings}
    adobe = reports_with_lists["testv2.jpg"].credentials
    assert {"com.adobe.trustmark.P", "com.adobe.icn.dense"} <= {
        b.algorithm for b in adobe.soft_bindings
    }


def test_remote_reference_is_reported_not_fetched(reports_with_lists: dict[str, Report]) -> None:
    cloud = reports_with_lists["cloud.jpg"].credentials
    assert cloud.remote_manifest_url is not None
    assert cloud.remote_manifest_url.startswith("https://cai-manifests.adobe.com/manifests/")
    assert "--fetch-remote" in (cloud.message or "")


def test_not_embeddable_containers_are_not_errors(shared_dir: Path) -> None:
    clip = shared_dir / "fixtures" / "natural" / "asl_gestures_bird.mkv"
    report = check(clip)
    assert report.credentials.state is CredentialsState.NOT_EMBEDDABLE
    assert "cannot be embedded" in (report.credentials.message or "")
    assert report.errors == ()
    assert report.verdict.code is V.NO_SIGNAL


def test_sidecar_store_validates_the_remote_reference(shared_dir: Path) -> None:
    folder = shared_dir / "fixtures" / "c2pa"
    report = check(folder / "cloud.jpg", CheckOptions(sidecar=folder / "cloud_manifest.c2pa"))
    c = report.credentials
    assert (c.state, c.integrity, c.validation_state) == (P, OK, "Valid")
    assert report.verdict.code is V.CREDENTIALS_UNTRUSTED


def test_fragmented_mp4_with_its_fragment_validates(shared_dir: Path) -> None:
    folder = shared_dir / "fixtures" / "c2pa"
    report = check(folder / "dashinit.mp4", CheckOptions(fragments=(folder / "dash1.m4s",)))
    c = report.credentials
    assert (c.state, c.integrity, c.validation_state) == (P, OK, "Valid")
    assert report.errors == ()


def test_official_list_alone_trusts_none_of_the_ai_samples(shared_dir: Path) -> None:
    options = CheckOptions(trust_dir=shared_dir / "trust", trust_sources=(TrustSource.OFFICIAL,))
    for name in sorted(AI_FILES):
        report = check(shared_dir / "fixtures" / "c2pa" / name, options)
        assert report.credentials.trust is TrustStatus.UNTRUSTED, name
        assert report.credentials.trust_snapshot is not None
        assert report.credentials.trust_snapshot.lists == (TrustSource.OFFICIAL,)
