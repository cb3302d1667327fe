"""The evidence model: round trips, the shipped JSON Schema, the public surface."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import provenance
from provenance import CheckOptions, check
from provenance.report import (
    AIDeclaration,
    AISignal,
    CredentialsEvidence,
    CredentialsState,
    Report,
    SignalLocation,
    TrustSnapshot,
    TrustSource,
    WatermarkEvidence,
    WatermarkSegment,
    WatermarkState,
    load_schema,
)
from provenance.report_schema import json_schema
from provenance.testing.synth import write_clip, write_image


def test_public_surface_is_curated_and_sorted() -> None:
    assert provenance.__all__ == sorted(provenance.__all__)
    for name in provenance.__all__:
        assert hasattr(provenance, name), name
    assert {"check", "check_bytes", "Report", "Verdict", "ProvenanceError"} <= set(
        provenance.__all__
    )


def test_errors_also_inherit_builtins() -> None:
    assert issubclass(provenance.MediaError, ValueError)
    assert issubclass(provenance.TrustListError, ValueError)
    assert issubclass(provenance.NetworkError, OSError)
    for cls in (
        provenance.MediaError,
        provenance.InputError,
        provenance.TrustListError,
        provenance.NetworkError,
    ):
        assert issubclass(cls, provenance.ProvenanceError)


def test_shipped_schema_is_generated_from_the_dataclasses() -> None:
    # regenerate with: python -c "import json,provenance.report_schema as r; print(json.dumps(r.json_schema(), indent=2))"
    assert load_schema() == json_schema()


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory: pytest.TempPathFactory) -> list[Report]:
    folder = tmp_path_factory.mktemp("samples")
    files = [
        write_clip(folder / "clip.mp4", seconds=0.5),
        write_clip(folder / "clip.webm", seconds=0.5),
        write_image(folder / "still.png"),
        folder / "missing.mp4",
    ]
    (folder / "noise.mp4").write_bytes(bytes(range(256)) * 40)
    files.append(folder / "noise.mp4")
    return [check(f, CheckOptions(trust_dir=folder / "no-trust")) for f in files]


def test_real_reports_round_trip_and_validate(sample_reports: list[Report]) -> None:
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for report in sample_reports:
        data = json.loads(report.to_json())
        validator.validate(data)
        again = Report.from_dict(data)
        assert again == report
        assert Report.from_json(report.to_json(indent=2)) == report


def test_reports_from_real_fixtures_validate(shared_dir: Path) -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    options = CheckOptions(trust_dir=shared_dir / "trust")
    for path in sorted((shared_dir / "fixtures" / "c2pa").iterdir()):
        if path.suffix == ".md":
            continue
        report = check(path, options)
        validator.validate(report.to_dict())
        assert Report.from_dict(report.to_dict()) == report


def test_schema_rejects_a_wrong_report(sample_reports: list[Report]) -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    data = sample_reports[0].to_dict()
    data["verdict"]["code"] = "probably_fine"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)
    data = sample_reports[0].to_dict()
    del data["credentials"]["state"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)


def test_nested_evidence_round_trips() -> None:
    signal = AISignal(
        "fullyGenAIMedia",
        AIDeclaration.GENERATIVE_AI,
        SignalLocation.PARENT,
        "urn:a",
        "digitalSourceType",
        "trainedAlgorithmicMedia",
        " http://x/trainedAlgorithmicMedia",
    )
    evidence = CredentialsEvidence(
        state=CredentialsState.PRESENT,
        ai_signals=(signal,),
        trust_snapshot=TrustSnapshot(lists=(TrustSource.USER,), anchor_counts={"user": 2}),
    )
    assert CredentialsEvidence.from_dict(evidence.to_dict()) == evidence
    mark = WatermarkEvidence(
        detector="keyed",
        state=WatermarkState.DETECTED,
        statistic=7.5,
        p_value=1e-12,
        segments=(WatermarkSegment(0.0, 1.0, True, 7.5),),
    )
    assert WatermarkEvidence.from_dict(mark.to_dict()) == mark
    assert mark.to_dict()["segments"][0]["detected"] is True


def test_report_fields_the_issue_asks_for(sample_reports: list[Report]) -> None:
    report = sample_reports[0]
    data = report.to_dict()
    for key in (
        "path",
        "sha256",
        "media",
        "credentials",
        "watermarks",
        "verdict",
        "errors",
        "tool_version",
        "engine_versions",
        "checked_at",
    ):
        assert key in data
    assert {"c2pa-python", "c2pa-rs", "pyav", "opencv"} <= set(report.engine_versions)
    assert report.sha256 is not None
    assert len(report.sha256) == 64


def test_the_readme_json_example_matches_the_current_schema() -> None:
    """The README's abridged report names the current schema version and every top-level
    field of a report, and no field a report does not have."""
    import dataclasses
    import re

    from provenance.report import SCHEMA_VERSION, Report

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    blocks = re.findall(r"```json\n(.*?)```", readme, flags=re.S)
    example = json.loads(next(b for b in blocks if '"schema_version"' in b))
    assert example["schema_version"] == SCHEMA_VERSION
    assert set(example) == {f.name for f in dataclasses.fields(Report)}
