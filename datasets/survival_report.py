"""The survival models' report: the Markdown section for ``datasets/RESULTS.md`` and the
reliability diagram (matplotlib, from the ``train`` extra)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["AUC_TARGET", "GAP_TARGET", "draw", "markdown"]

#: Targets from the issue: ROC AUC on held-out codecs, and the reliability curve's distance
#: from the diagonal.
AUC_TARGET = 0.95
GAP_TARGET = 0.05
_NAMES = {"dwtdct": "dwtDct", "keyed": "keyed mark"}


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _constant_brier(figures: Mapping[str, Any]) -> str:
    rate = figures.get("observed")
    return "-" if rate is None else f"{rate * (1 - rate):.3f}"


def _row(label: str, results: Mapping[str, Mapping[str, Any]], pick: Any) -> str:
    first = pick(next(iter(results.values())))
    cells = [label, str(first["n"]), str(first["positives"]), _constant_brier(first)]
    for kind in results:
        figures = pick(results[kind])
        cells += [
            _number(figures["brier"]),
            _number(figures["auc"]),
            _number(figures["max_gap"], 2),
        ]
    return "| " + " | ".join(cells) + " |"


def _targets(mark: str, shipped: Mapping[str, Any]) -> list[str]:
    held = shipped["codecs"]
    aucs = {codec: f["auc"] for codec, f in held.items()}
    met = [c for c, a in aucs.items() if a is not None and a >= AUC_TARGET]
    missed = [f"{c} ({a:.3f})" for c, a in aucs.items() if a is not None and a < AUC_TARGET]
    undefined = [c for c, a in aucs.items() if a is None]
    gaps = {"grouped CV": shipped["grouped"]["max_gap"], "held-out codecs": None}
    gaps["held-out codecs"] = shipped["codecs_pooled"]["max_gap"]
    lines = [
        f"- AUC >= {AUC_TARGET} on held-out codecs: met for "
        f"{', '.join(met) or 'none'}; **missed** for {', '.join(missed) or 'none'}"
        + (
            f"; undefined for {', '.join(undefined)} (every held-out item has the same label)"
            if undefined
            else ""
        )
        + ".",
    ]
    for name, gap in gaps.items():
        if gap is None:
            lines.append(f"- Reliability ({name}): no bin holds {20} items.")
            continue
        verdict = "met" if gap <= GAP_TARGET else "**missed**"
        lines.append(
            f"- Reliability within {GAP_TARGET} of the diagonal ({name}, bins of at least 20 "
            f"items): largest gap {gap:.3f}, {verdict}."
        )
    return lines


def markdown(
    figures: Mapping[str, Mapping[str, Any]],
    chosen: Mapping[str, str],
    corpus: str,
    info: Mapping[str, Any],
    sampling: str,
    versions: Mapping[str, str],
) -> list[str]:
    """The section's lines (``## Mark survival ...``)."""
    lines = [
        "## Mark survival: calibrated absence",
        "",
        "Written by `python -m datasets.survival` (see datasets/README.md). For each detector, "
        "a model gives the probability that its mark would be detected by the default check "
        "in a file, had it been embedded before the file was made, from the file's measurable "
        "properties (`provenance/watermark/survival.py`: codec, quantisers, bits per pixel, "
        "size, picture types, luma and chroma texture). Labels: every marked corpus item "
        "checked as `datasets/evaluate.py` checks it (hit = detected with the right mark; "
        "inconclusive counts as not detected).",
        "",
        f"- **Corpus:** `{corpus}`, seed {info.get('seed', '?')}, size {info.get('size', '?')}; "
        f"sampling `{sampling}`.",
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "- **Evaluation:** every prediction is made by a model that never saw the item's "
        "group: *source clips* is GroupKFold (5 folds) over the corpus `root` (every version "
        "of one piece of content together); *held-out codec* trains on the other codecs only, "
        "the held-out codec reading as an unknown one (`codec_other`). Each model is a "
        "cross-validated ensemble (5 members, each trained on 4 grouped folds and calibrated "
        "isotonically on the fifth; the probability is their mean), built inside each "
        "training split on its own folds. Constant Brier: the score of "
        "always predicting the held-out items' own rate (what the features add is the gap "
        "to it). Gap: largest |mean prediction - observed rate| over 10 equal-width bins "
        "holding at least 20 items.",
        "",
    ]
    for mark, results in figures.items():
        kinds = list(results)
        header = ["held out", "items", "marks found", "constant Brier"]
        for kind in kinds:
            header += [f"{kind} Brier", f"{kind} AUC", f"{kind} gap"]
        first = results[kinds[0]]
        lines += [
            f"### {_NAMES.get(mark, mark)} (shipped scorer: {chosen[mark]})",
            "",
            "| " + " | ".join(header) + " |",
            "|---|" + "---:|" * (len(header) - 1),
            _row("source clips (grouped 5-fold)", results, lambda r: r["grouped"]),
        ]
        for codec in first["codecs"]:
            lines.append(_row(f"codec {codec}", results, lambda r, c=codec: r["codecs"][c]))
        lines += [
            _row("all held-out codecs, pooled", results, lambda r: r["codecs_pooled"]),
            "",
            *_targets(mark, results[chosen[mark]]),
            *_level(results[chosen[mark]]),
            "",
            f"Reliability of the shipped scorer ({chosen[mark]}), grouped by source clip:",
            "",
            "| predicted | items | mean prediction | observed rate |",
            "|---|---:|---:|---:|",
        ]
        for b in results[chosen[mark]]["grouped"]["bins"]:
            lines.append(
                f"| {b['low']:.1f}-{b['high']:.1f} | {b['n']} | {b['predicted']:.3f} | "
                f"{b['observed']:.3f} |"
            )
        lines.append("")
    lines.append("![Reliability diagram](survival_reliability.png)")
    return lines


def _level(result: Mapping[str, Any]) -> list[str]:
    """What "not detected" promises at the check's decision level, held out both ways."""
    lines = []
    for name, key in (("source clips held out", "grouped"), ("codec held out", "codecs_pooled")):
        at = result[key].get("at_level")
        if not at or at["detected"] is None:
            continue
        below = at["below_detected"]
        lines.append(
            f"- At the check's level (p >= {at['level']:g}, where a miss is `not_detected`), "
            f"{name}: {at['items']} of {result[key]['n']} marked items, "
            f"{100 * at['detected']:.1f} % of them detected"
            + (f"; below it, {100 * below:.1f} % (`inconclusive`)." if below is not None else ".")
        )
    return lines


def draw(curves: Mapping[str, Any], path: Path) -> None:
    """One panel per detector: mean prediction against observed rate per bin, grouped by
    source clip and with codecs held out, with the 0.05 band and the bin counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    marks = list(curves)
    figure, axes = plt.subplots(
        2,
        max(1, len(marks)),
        figsize=(5.2 * max(1, len(marks)), 6.4),
        gridspec_kw={"height_ratios": [3, 1]},
        squeeze=False,
    )
    for column, mark in enumerate(marks):
        top, bottom = axes[0][column], axes[1][column]
        diagonal = [0.0, 1.0]
        top.plot(diagonal, diagonal, color="0.3", linewidth=1, label="perfect")
        top.fill_between(
            diagonal,
            [-GAP_TARGET, 1 - GAP_TARGET],
            [GAP_TARGET, 1 + GAP_TARGET],
            color="0.85",
            label=f"±{GAP_TARGET}",
        )
        styles = {
            "grouped": ("C0", "o", "source clips held out"),
            "codecs": ("C3", "s", "codec held out"),
        }
        width = 0.04
        for offset, (name, (colour, marker, label)) in enumerate(styles.items()):
            bins = curves[mark][name]
            xs = [b["predicted"] for b in bins]
            ys = [b["observed"] for b in bins]
            sizes = [12 + 60 * min(1.0, b["n"] / 400) for b in bins]
            top.plot(xs, ys, color=colour, linewidth=1)
            top.scatter(xs, ys, s=sizes, color=colour, marker=marker, label=label, zorder=3)
            centres = [(b["low"] + b["high"]) / 2 + (offset - 0.5) * width for b in bins]
            bottom.bar(centres, [b["n"] for b in bins], width=width, color=colour)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_aspect("equal")
        top.set_title(f"{_NAMES.get(mark, mark)} ({curves[mark]['kind']})")
        top.set_xlabel("predicted survival")
        top.set_ylabel("observed detection rate")
        top.legend(loc="upper left", fontsize=8)
        bottom.set_yscale("log")
        bottom.set_xlim(0, 1)
        bottom.set_xlabel("predicted survival (bin)")
        bottom.set_ylabel("items")
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)
