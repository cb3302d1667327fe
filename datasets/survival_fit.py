"""Fit and evaluate the mark-survival models with scikit-learn, and export them as plain data.

Used by ``python -m datasets.survival`` (which measures the labels and features). Per detector:

- a **scorer**: ``logistic`` (standardised features, L2 logistic regression) or ``trees``
  (histogram gradient boosting, shallow trees, survival constrained to fall as the quantisers
  rise), made a cross-validated ensemble: per grouped fold, the scorer fitted on the other
  folds with an **isotonic calibration** of its log-odds on this fold, the probability being
  the members' mean, so that 0.3 means about 3 marks in 10 survive in such files;
- **evaluation**, always on items whose group the model never saw: grouped by source clip
  (GroupKFold over the corpus ``root``), and with whole codecs held out (each codec in turn
  is unseen: its one-hot entry reads as ``codec_other``, as a new codec would). Within every
  training split the ensemble is itself built on inner grouped folds. Brier score, ROC
  AUC, and reliability (10 equal-width bins; the largest gap between mean prediction and
  observed rate over bins of at least :data:`MIN_BIN` items).

Every model and fold is seeded; the trees run on one thread, so results repeat exactly.
"""

from __future__ import annotations

import collections
import datetime as dt
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from provenance._version import engine_versions
from provenance.report import Detector
from provenance.watermark.policy import SURVIVAL_LEVEL
from provenance.watermark.survival import CODECS, FEATURES
from provenance.watermark.survival_model import Member, SurvivalModel, Trees

__all__ = [
    "MIN_BIN",
    "Ensemble",
    "Fitted",
    "export",
    "fit_all",
    "fit_calibrated",
    "reliability_figure",
]

#: Reliability bins with fewer items than this are drawn but not held to the 0.05 target.
MIN_BIN = 20
FOLDS = 5
#: Features whose rise can only lower survival (the trees are constrained so).
FALLING = ("qp_mean", "qp_min", "qp_max", "qp_intra")
_DETECTORS = {"dwtdct": Detector.DWTDCT, "keyed": Detector.KEYED}


@dataclass
class Fitted:
    """A fitted scorer with its calibration (or a constant, for a one-class training set)."""

    kind: str
    scaler: StandardScaler | None
    estimator: LogisticRegression | HistGradientBoostingClassifier | None
    isotonic: IsotonicRegression | None
    constant: float = 0.5

    def score(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated log-odds."""
        if self.estimator is None:
            p = min(max(self.constant, 1e-6), 1 - 1e-6)
            return np.full(len(x), np.log(p / (1 - p)))
        data = self.scaler.transform(x) if self.scaler is not None else x
        return np.asarray(self.estimator.decision_function(data), dtype=np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        if self.estimator is None:
            return np.full(len(x), self.constant)
        scores = self.score(x)
        if self.isotonic is None:
            linked: np.ndarray = 1 / (1 + np.exp(-np.clip(scores, -500, 500)))
            return linked
        return np.asarray(self.isotonic.predict(scores), dtype=np.float64)


def _scorer(kind: str, x: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
    """The uncalibrated scorer fitted on (x, y)."""
    if len(np.unique(y)) < 2:
        return Fitted(kind, None, None, None, constant=float(np.mean(y)) if len(y) else 0.5)
    if kind == "logistic":
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=1.0, max_iter=5000, random_state=seed)
        return Fitted(kind, scaler, model.fit(scaler.transform(x), y), None)
    constraints = [(-1 if name in FALLING else 0) for name in FEATURES]
    trees = HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=150,
        max_leaf_nodes=8,
        min_samples_leaf=20,
        l2_regularization=1.0,
        monotonic_cst=constraints,
        early_stopping=False,
        random_state=seed,
    )
    with threadpool_limits(limits=1):
        return Fitted(kind, None, trees.fit(x, y), None)


def _folds(groups: np.ndarray, seed: int) -> GroupKFold:
    return GroupKFold(n_splits=min(FOLDS, len(np.unique(groups))), shuffle=True, random_state=seed)


@dataclass
class Ensemble:
    """Calibrated members whose mean probability is the prediction."""

    members: list[Fitted]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: the members' mean."""
        return np.asarray(np.mean([m.predict(x) for m in self.members], axis=0), dtype=np.float64)


def fit_calibrated(
    kind: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int
) -> Ensemble:
    """Cross-validated calibration: for each grouped fold, a scorer fitted on the other folds
    and an isotonic calibration of its scores on this fold (groups it never saw); the
    prediction is the members' mean (scikit-learn's ``CalibratedClassifierCV(ensemble=True)``
    with grouped folds). A single scorer calibrated on scores of *other* models (fitted on
    less data, so less sure of themselves) was measured far off the diagonal: a grouped
    reliability gap of 0.49 against 0.12 for the ensemble. With one class or one group: one
    member on everything (a constant, or the logistic link)."""
    if len(np.unique(y)) < 2 or len(np.unique(groups)) < 2:
        return Ensemble([_scorer(kind, x, y, seed)])
    members = []
    for train, test in _folds(groups, seed).split(x, y, groups):
        fitted = _scorer(kind, x[train], y[train], seed)
        if fitted.estimator is None:  # a one-class training part: nothing to calibrate
            continue
        with threadpool_limits(limits=1):
            fitted.isotonic = IsotonicRegression(
                y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip"
            ).fit(fitted.score(x[test]), y[test])
        members.append(fitted)
    return Ensemble(members or [_scorer(kind, x, y, seed)])


# --------------------------------------------------------------------------- export


def _member(fitted: Fitted) -> Member:
    """One fitted member as plain data."""
    if fitted.estimator is None:
        x, y = np.array([0.0]), np.array([fitted.constant])
    elif fitted.isotonic is None:  # the logistic link itself, as a table
        x = np.linspace(-30.0, 30.0, 601)
        y = 1 / (1 + np.exp(-x))
    else:
        x = np.asarray(fitted.isotonic.X_thresholds_, dtype=np.float64)
        y = np.asarray(fitted.isotonic.y_thresholds_, dtype=np.float64)
    common: dict[str, Any] = {"calibration_x": x, "calibration_y": y}
    estimator = fitted.estimator
    if isinstance(estimator, HistGradientBoostingClassifier):
        parts: dict[str, list[np.ndarray]] = collections.defaultdict(list)
        for (predictor,) in estimator._predictors:
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            parts["feature"].append(nodes["feature_idx"].astype(np.int64))
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["left"].append(np.where(leaf, -1, nodes["left"].astype(np.int64)))
            parts["right"].append(np.where(leaf, -1, nodes["right"].astype(np.int64)))
            parts["value"].append(np.where(leaf, nodes["value"], 0.0).astype(np.float64))
        trees = Trees(
            tuple(parts["feature"]),
            tuple(parts["threshold"]),
            tuple(parts["left"]),
            tuple(parts["right"]),
            tuple(parts["value"]),
            float(np.ravel(estimator._baseline_prediction)[0]),
        )
        return Member(kind="trees", trees=trees, **common)
    if isinstance(estimator, LogisticRegression):
        assert fitted.scaler is not None
        scale = np.asarray(fitted.scaler.scale_, dtype=np.float64)
        return Member(
            kind="logistic",
            mean=np.asarray(fitted.scaler.mean_, dtype=np.float64),
            scale=np.where(scale > 0, scale, 1.0),
            coefficients=np.asarray(estimator.coef_[0], dtype=np.float64),
            intercept=float(estimator.intercept_[0]),
            **common,
        )
    zeros = np.zeros(len(FEATURES))  # a constant model: only the calibration's one value
    return Member(kind=fitted.kind, mean=zeros, scale=zeros + 1, coefficients=zeros, **common)


def export(
    fitted: Ensemble,
    detector: Detector,
    training: Mapping[str, Any],
    evaluation: Mapping[str, Any],
) -> SurvivalModel:
    """The fitted ensemble as plain data (:class:`~provenance.watermark.survival_model.SurvivalModel`)."""
    return SurvivalModel(
        detector=detector,
        features=FEATURES,
        members=tuple(_member(member) for member in fitted.members),
        training=training,
        evaluation=evaluation,
    )


# --------------------------------------------------------------------------- metrics


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin: count, mean prediction, observed rate."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            table.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "n": int(chosen.sum()),
                    "predicted": float(p[chosen].mean()),
                    "observed": float(y[chosen].mean()),
                }
            )
    return table


def metrics(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Brier score, ROC AUC (None with one class), reliability and its largest gap."""
    table = reliability(p, y)
    gaps = [abs(b["predicted"] - b["observed"]) for b in table if b["n"] >= MIN_BIN]
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "brier": float(brier_score_loss(y, p, pos_label=1)) if len(y) else None,
        "auc": float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None,
        "mean_predicted": float(p.mean()) if len(y) else None,
        "observed": float(y.mean()) if len(y) else None,
        "max_gap": max(gaps, default=None),
        "bins": table,
        "at_level": _at_level(p, y),
    }


def _at_level(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """What the check's decision level means here: how many items reach
    :data:`~provenance.watermark.policy.SURVIVAL_LEVEL` (a miss there says ``not_detected``)
    and the detection rate at and below it."""
    above = p >= SURVIVAL_LEVEL
    return {
        "level": SURVIVAL_LEVEL,
        "items": int(above.sum()),
        "detected": float(y[above].mean()) if above.any() else None,
        "below_detected": float(y[~above].mean()) if (~above).any() else None,
    }


def _as_other(x: np.ndarray, codec: str) -> np.ndarray:
    """``x`` with ``codec``'s one-hot entry moved to ``codec_other`` (an unseen codec)."""
    x = x.copy()
    if codec in CODECS:
        x[:, FEATURES.index(f"codec_{codec}")] = 0.0
        x[:, FEATURES.index("codec_other")] = 1.0
    return x


def evaluate_scorer(
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    codecs: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    """Grouped cross-validation and leave-one-codec-out figures of one scorer kind."""
    grouped = np.zeros(len(y))
    for train, test in _folds(groups, seed).split(x, y, groups):
        fitted = fit_calibrated(kind, x[train], y[train], groups[train], seed)
        grouped[test] = fitted.predict(x[test])
    held: dict[str, Any] = {}
    pooled = np.full(len(y), np.nan)
    for codec in sorted(set(codecs.tolist())):
        test = codecs == codec
        if test.all():
            continue
        x_seen = _as_other(x, codec)
        fitted = fit_calibrated(kind, x_seen[~test], y[~test], groups[~test], seed)
        pooled[test] = fitted.predict(x_seen[test])
        held[codec] = metrics(pooled[test], y[test])
    covered = ~np.isnan(pooled)
    return {
        "grouped": metrics(grouped, y),
        "codecs": held,
        "codecs_pooled": metrics(pooled[covered], y[covered]),
        "predictions": {"grouped": grouped, "codecs": pooled},
    }


# --------------------------------------------------------------------------- all detectors


def _matrix(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, ...]:
    x = np.array([[r["features"]["values"][name] for name in FEATURES] for r in records])
    y = np.array([1.0 if r["label"]["detected"] else 0.0 for r in records])
    groups = np.array([r["item"]["root"] for r in records])
    codecs = np.array([str(r["features"]["codec"]) for r in records])
    return x, y, groups, codecs


def _choose(scorer: str, results: Mapping[str, Mapping[str, Any]]) -> str:
    if scorer != "best":
        return scorer

    def cost(kind: str) -> float:
        figures = results[kind]
        return float(figures["grouped"]["brier"]) + float(figures["codecs_pooled"]["brier"] or 0)

    return min(results, key=cost)


def fit_all(
    records: Sequence[Mapping[str, Any]],
    *,
    corpus: str,
    corpus_info: Mapping[str, Any],
    sampling: str,
    scorer: str = "best",
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate both scorer kinds per detector, fit the chosen one on everything; returns
    ``models`` (mark -> SurvivalModel), ``lines`` (the Markdown section), ``reliability``
    (the figure's data) and ``figures`` (the numbers, per mark and kind)."""
    import sklearn

    from datasets import survival_report

    kinds = ("logistic", "trees") if scorer == "best" else (scorer,)
    models: dict[str, SurvivalModel] = {}
    figures: dict[str, dict[str, Any]] = {}
    chosen: dict[str, str] = {}
    curves: dict[str, Any] = {}
    versions = {k: v for k, v in engine_versions().items() if k != "c2pa-rs"}
    versions.update(scikit_learn=sklearn.__version__, python=platform.python_version())
    for mark in ("dwtdct", "keyed"):
        rows = [r for r in records if r["item"]["mark"] == mark]
        if not rows:
            continue
        x, y, groups, codecs = _matrix(rows)
        if len(np.unique(groups)) < 2:
            raise SystemExit(
                f"{mark}: the marked items come from one source ({groups[0]}); grouped "
                "evaluation needs at least two"
            )
        results = {kind: evaluate_scorer(kind, x, y, groups, codecs, seed) for kind in kinds}
        chosen[mark] = _choose(scorer, results)
        best = results[chosen[mark]]
        fitted = fit_calibrated(chosen[mark], x, y, groups, seed)
        summary = {kind: _strip(result) for kind, result in results.items()}
        training = {
            "corpus": corpus,
            "corpus_seed": corpus_info.get("seed"),
            "corpus_size": corpus_info.get("size"),
            "corpus_items": corpus_info.get("items"),
            "items": len(y),
            "positives": int(y.sum()),
            "groups": len(np.unique(groups)),
            "codecs": dict(collections.Counter(codecs.tolist())),
            "label": "provenance.check with the default options (the corpus key for the keyed "
            "mark; the crop search on cropped dwtDct clips), as datasets/evaluate.py: "
            "detected with the right mark",
            "sampling": sampling,
            "scorer": chosen[mark],
            "seed": seed,
            "trained_utc": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
            "versions": versions,
            "corpus_versions": corpus_info.get("versions", {}),
        }
        models[mark] = export(fitted, _DETECTORS[mark], training, summary[chosen[mark]])
        figures[mark] = summary
        curves[mark] = {
            "grouped": metrics(best["predictions"]["grouped"], y)["bins"],
            "codecs": best["codecs_pooled"]["bins"],
            "kind": chosen[mark],
        }
    lines = survival_report.markdown(figures, chosen, corpus, corpus_info, sampling, versions)
    return {"models": models, "lines": lines, "reliability": curves, "figures": figures}


def _strip(result: Mapping[str, Any]) -> dict[str, Any]:
    """The figures without the per-item predictions (what a model file records)."""
    return {key: value for key, value in result.items() if key != "predictions"}


def reliability_figure(curves: Mapping[str, Any], path: Path) -> None:
    """Draw the reliability diagrams (one panel per detector) into a PNG."""
    from datasets import survival_report

    survival_report.draw(curves, path)
