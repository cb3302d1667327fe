"""The mark-survival models as plain data: the probability that a mark would be detected in a
file had it been embedded before the file was made.

A model is a JSON document (never a pickle: it is data anyone can read and diff), one per
detector, shipped in ``provenance/watermark/models/survival-<detector>.json`` and made by
``python -m datasets.survival`` (scikit-learn, at training time only). It holds

- the feature names it was trained on (they must equal
  :data:`~provenance.watermark.survival.FEATURES`, or loading fails: a model must never read a
  vector in another order);
- its members (a cross-validated ensemble: each member was trained on part of the groups and
  calibrated on the rest, and the probability is the members' mean, as scikit-learn's
  ``CalibratedClassifierCV(ensemble=True)`` does), each a scorer on those features and an
  isotonic calibration of its score:

  - the scorer is a logistic regression on standardised features (``"logistic"``: means,
    scales, coefficients, intercept) or gradient-boosted trees (``"trees"``: per tree the
    split feature, threshold, children and leaf values, summed on a baseline);
  - the calibration holds breakpoints ``x``, ``y``, read with ``np.interp``, clipped at the
    ends;
- how it was trained and how it measured (``training``, ``evaluation``), for the record.

:func:`survival_probability` evaluates it with numpy alone.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from provenance.errors import ArgumentError, ProvenanceError
from provenance.report import Detector
from provenance.watermark.survival import FEATURES, feature_vector

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "Member",
    "SurvivalModel",
    "SurvivalModelError",
    "Trees",
    "load_model",
    "model_file_name",
    "shipped_model",
    "survival_probability",
]

MODEL_FORMAT = "provenance-survival-model"
MODEL_FORMAT_VERSION = 1


class SurvivalModelError(ProvenanceError, ValueError):
    """A survival model file cannot be used: not JSON, not a model, malformed arrays, or
    trained on other features than this version computes (retrain it)."""


@dataclass(frozen=True, eq=False)
class Trees:
    """Gradient-boosted trees as arrays: node ``i`` of tree ``t`` sends a vector ``x`` left
    when ``x[feature[t][i]] <= threshold[t][i]``; a leaf (``left == -1``) adds ``value``."""

    feature: tuple[np.ndarray, ...]
    threshold: tuple[np.ndarray, ...]
    left: tuple[np.ndarray, ...]
    right: tuple[np.ndarray, ...]
    value: tuple[np.ndarray, ...]
    baseline: float

    def score(self, x: np.ndarray) -> float:
        total = self.baseline
        for feature, threshold, left, right, value in zip(
            self.feature, self.threshold, self.left, self.right, self.value, strict=True
        ):
            node = 0
            while left[node] >= 0:
                node = left[node] if x[feature[node]] <= threshold[node] else right[node]
            total += float(value[node])
        return total


@dataclass(frozen=True, eq=False)
class Member:
    """One member of a model: a scorer and the isotonic calibration of its score."""

    kind: str
    """``"logistic"`` or ``"trees"``."""
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    coefficients: np.ndarray | None = None
    intercept: float = 0.0
    trees: Trees | None = None

    def score(self, x: np.ndarray) -> float:
        """The uncalibrated score (log-odds) of one feature vector."""
        if self.trees is not None:
            return self.trees.score(x)
        assert self.mean is not None
        assert self.scale is not None
        assert self.coefficients is not None
        return float(((x - self.mean) / self.scale) @ self.coefficients + self.intercept)

    def calibrate(self, score: float) -> float:
        """The calibrated probability of a score."""
        return float(np.interp(score, self.calibration_x, self.calibration_y))

    def probability(self, x: np.ndarray) -> float:
        """The calibrated probability of one feature vector."""
        return self.calibrate(self.score(x))

    def to_dict(self) -> dict[str, Any]:
        """The member as JSON-ready plain data."""
        scorer: dict[str, Any]
        if self.trees is not None:
            trees = self.trees
            scorer = {
                "kind": "trees",
                "baseline": trees.baseline,
                "trees": [
                    {
                        "feature": f.tolist(),
                        "threshold": t.tolist(),
                        "left": lo.tolist(),
                        "right": r.tolist(),
                        "value": v.tolist(),
                    }
                    for f, t, lo, r, v in zip(
                        trees.feature,
                        trees.threshold,
                        trees.left,
                        trees.right,
                        trees.value,
                        strict=True,
                    )
                ],
            }
        else:
            assert self.mean is not None
            assert self.scale is not None
            assert self.coefficients is not None
            scorer = {
                "kind": "logistic",
                "mean": self.mean.tolist(),
                "scale": self.scale.tolist(),
                "coefficients": self.coefficients.tolist(),
                "intercept": self.intercept,
            }
        calibration = {
            "method": "isotonic",
            "x": self.calibration_x.tolist(),
            "y": self.calibration_y.tolist(),
        }
        return {"scorer": scorer, "calibration": calibration}


@dataclass(frozen=True, eq=False)
class SurvivalModel:
    """One detector's survival model (see the module docstring for the parts)."""

    detector: Detector
    features: tuple[str, ...]
    members: tuple[Member, ...]
    training: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The members' scorer kind (``"logistic"`` or ``"trees"``)."""
        return self.members[0].kind

    def probability(self, x: np.ndarray) -> float:
        """The calibrated probability of one feature vector: the members' mean."""
        return float(np.mean([member.probability(x) for member in self.members]))

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready plain data (what :func:`load_model` reads)."""
        return {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "detector": self.detector.value,
            "features": list(self.features),
            "members": [member.to_dict() for member in self.members],
            "training": dict(self.training),
            "evaluation": dict(self.evaluation),
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "survival model") -> SurvivalModel:
        """Read a model written by :meth:`to_dict`.

        Raises
        ------
        SurvivalModelError
            Not a model of this format, a malformed part, or other features than
            :data:`~provenance.watermark.survival.FEATURES`.
        """
        return _parse(data, source)


def _fail(source: str, what: str) -> SurvivalModelError:
    return SurvivalModelError(f"{source}: {what}")


def _array(
    source: str, name: str, value: Any, length: int | None, dtype: type = np.float64
) -> np.ndarray:
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise _fail(source, f"{name} must be a list of numbers")
    array: np.ndarray = np.asarray(value, dtype=dtype)
    if length is not None and array.shape != (length,):
        raise _fail(source, f"{name} has {array.size} entries, expected {length}")
    if not np.all(np.isfinite(array)):
        raise _fail(source, f"{name} holds a value that is not finite")
    return array


def _number(source: str, name: str, value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _fail(source, f"{name} must be a finite number")
    return float(value)


def _parse_trees(source: str, scorer: Mapping[str, Any], features: int) -> Trees:
    raw = scorer.get("trees")
    if not isinstance(raw, list) or not raw:
        raise _fail(source, "scorer.trees must be a non-empty list")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right")}
    values: list[np.ndarray] = []
    for number, tree in enumerate(raw):
        if not isinstance(tree, dict):
            raise _fail(source, f"tree {number} must be an object")
        name = f"tree {number}"
        left = _array(source, f"{name}.left", tree.get("left"), None, np.int64)
        nodes = left.size
        right = _array(source, f"{name}.right", tree.get("right"), nodes, np.int64)
        feature = _array(source, f"{name}.feature", tree.get("feature"), nodes, np.int64)
        threshold = _array(source, f"{name}.threshold", tree.get("threshold"), nodes)
        value = _array(source, f"{name}.value", tree.get("value"), nodes)
        inner = left >= 0
        # children point forward (no loops), inside the tree; split features exist
        positions = np.arange(nodes)
        if (
            nodes == 0
            or np.any(inner & ((left <= positions) | (left >= nodes)))
            or np.any(inner & ((right <= positions) | (right >= nodes)))
            or np.any(inner & ((feature < 0) | (feature >= features)))
        ):
            raise _fail(source, f"{name} is not a valid tree")
        for key, array in (
            ("feature", feature),
            ("threshold", threshold),
            ("left", left),
            ("right", right),
        ):
            parts[key].append(array)
        values.append(value)
    baseline = _number(source, "scorer.baseline", scorer.get("baseline"))
    return Trees(
        tuple(parts["feature"]),
        tuple(parts["threshold"]),
        tuple(parts["left"]),
        tuple(parts["right"]),
        tuple(values),
        baseline,
    )


def _parse(data: Any, source: str) -> SurvivalModel:
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise _fail(source, f'not a survival model (no "format": "{MODEL_FORMAT}")')
    if data.get("format_version") != MODEL_FORMAT_VERSION:
        raise _fail(
            source,
            f"format version {data.get('format_version')!r}; this version reads "
            f"{MODEL_FORMAT_VERSION}",
        )
    try:
        detector = Detector(str(data.get("detector")))
    except ValueError:
        raise _fail(source, f"unknown detector {data.get('detector')!r}") from None
    features = data.get("features")
    if not isinstance(features, list) or tuple(features) != FEATURES:
        given = features if isinstance(features, list) else []
        missing = [name for name in FEATURES if name not in given]
        extra = [name for name in given if name not in FEATURES]
        raise _fail(
            source,
            "trained on other features than this version computes "
            f"(missing {missing or 'none'}, unknown {extra or 'none'}"
            f"{', same names in another order' if not missing and not extra else ''}); "
            "retrain it with python -m datasets.survival",
        )
    members = data.get("members")
    if not isinstance(members, list) or not members:
        raise _fail(source, "members must be a non-empty list")
    extras: dict[str, Any] = {
        key: data.get(key) if isinstance(data.get(key), dict) else {}
        for key in ("training", "evaluation")
    }
    parsed = tuple(
        _parse_member(f"{source}: member {number}", member) for number, member in enumerate(members)
    )
    if len({member.kind for member in parsed}) > 1:
        raise _fail(source, "members mix scorer kinds")
    return SurvivalModel(detector=detector, features=FEATURES, members=parsed, **extras)


def _parse_member(source: str, member: Any) -> Member:
    if not isinstance(member, dict):
        raise _fail(source, "must be an object with a scorer and a calibration")
    count = len(FEATURES)
    scorer = member.get("scorer")
    if not isinstance(scorer, dict):
        raise _fail(source, "scorer must be an object")
    calibration = member.get("calibration")
    if not isinstance(calibration, dict) or calibration.get("method") != "isotonic":
        raise _fail(source, "calibration must be an isotonic object with x and y")
    x = _array(source, "calibration.x", calibration.get("x"), None)
    y = _array(source, "calibration.y", calibration.get("y"), x.size)
    if x.size < 1 or np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
        raise _fail(source, "calibration x and y must be non-empty and non-decreasing")
    if np.any((y < 0) | (y > 1)):
        raise _fail(source, "calibration y must lie in [0, 1]")
    common: dict[str, Any] = {"calibration_x": x, "calibration_y": y}
    if scorer.get("kind") == "trees":
        return Member(kind="trees", trees=_parse_trees(source, scorer, count), **common)
    if scorer.get("kind") != "logistic":
        raise _fail(source, f"unknown scorer kind {scorer.get('kind')!r} (logistic or trees)")
    scale = _array(source, "scorer.scale", scorer.get("scale"), count)
    if np.any(scale <= 0):
        raise _fail(source, "scorer.scale must be positive")
    return Member(
        kind="logistic",
        mean=_array(source, "scorer.mean", scorer.get("mean"), count),
        scale=scale,
        coefficients=_array(source, "scorer.coefficients", scorer.get("coefficients"), count),
        intercept=_number(source, "scorer.intercept", scorer.get("intercept")),
        **common,
    )


def load_model(path: str | Path) -> SurvivalModel:
    """Read a survival model JSON file.

    Raises
    ------
    SurvivalModelError
        The file cannot be read, is not JSON, or is not a usable model (the message says why).
    """
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as error:
        raise _fail(source, f"cannot be read ({error.strerror or error})") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(source, f"is not JSON ({error.msg}, line {error.lineno})") from None
    return _parse(data, source)


def model_file_name(detector: Detector) -> str:
    """The file name of a detector's model in ``provenance/watermark/models``."""
    return f"survival-{Detector(detector).value}.json"


@functools.cache
def shipped_model(detector: Detector) -> SurvivalModel | None:
    """The model shipped for ``detector``, read once; None when none is shipped.

    Raises
    ------
    SurvivalModelError
        The shipped file is malformed (a packaging fault, never silently ignored).
    """
    entry = resources.files("provenance.watermark").joinpath("models", model_file_name(detector))
    if not entry.is_file():
        return None
    with resources.as_file(entry) as path:
        return load_model(path)


def survival_probability(
    model: SurvivalModel, features: np.ndarray | Sequence[float] | Mapping[str, float]
) -> float:
    """The probability that ``model``'s mark would be detected in a file with ``features``
    (a vector in :data:`~provenance.watermark.survival.FEATURES` order, or a name -> value
    mapping), had it been embedded before the file was made.

    Raises
    ------
    ArgumentError
        The vector has the wrong length or a value that is not finite; a mapping misses or
        adds a name.
    """
    if isinstance(features, Mapping):
        x = feature_vector(features)
    else:
        x = np.asarray(features, dtype=np.float64)
        if x.shape != (len(model.features),):
            raise ArgumentError(
                f"survival features: expected a vector of {len(model.features)} values "
                f"({', '.join(model.features[:3])}, ...), got shape {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise ArgumentError("survival features must be finite numbers")
    return model.probability(x)
