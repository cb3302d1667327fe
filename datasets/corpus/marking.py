"""The marked items: keyed clips, and dwtDct images and clips for every payload x hypothesis
(with the attacks of each), and the bit-exact check of the lossless dwtDct clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from provenance.watermark import keyed
from provenance.watermark.dwtdct_embed import embed
from provenance.watermark.dwtdct_scheme import Hypothesis
from provenance.watermark.payloads import Payload

from .attacks import DWTDCT_VIDEO_ATTACKS, _attack_all, _frame_bgr
from .manifest import Item, _derived
from .media_io import (
    BASE_CODEC,
    FFV1_BGR0,
    VideoOut,
    _decode,
    _read_image,
    _write_png,
    frame_planes,
)


def _keyed_item(outdir: Path, base: Item, key: str) -> Item:
    """Mark every frame's luma with the corpus key and write it at CRF 18 (as ``mark_file``)."""
    directory = f"keyed/{Path(base.path).parent.name}"
    relative = f"{directory}/none{BASE_CODEC.suffix}"
    assert base.fps_rational is not None  # every clip item records its rate
    rate = Fraction(base.fps_rational)
    writer = VideoOut(outdir / relative, BASE_CODEC, base.width, base.height, rate)
    for frame in _decode(outdir / base.path):
        luma, *chroma = frame_planes(frame)
        writer.add_planes((keyed.embed_luma(luma, key), *chroma))
    count = writer.close()
    return _derived(
        base,
        relative,
        mark="keyed",
        key=key,
        frames=count,
        embed={
            "function": "provenance.watermark.keyed.embed_luma",
            "psnr": keyed.DEFAULT_PSNR,
            "plane": "Y of the decoded yuv420p frame; U and V copied",
        },
        attack_params={"codec": BASE_CODEC.describe()},
    )


def _finalize_rule(payload: Payload, hypothesis: Hypothesis, index: int) -> str:
    """How a float32-domain generator turned the marked float array back into uint8."""
    if hypothesis.domain == "uint8":
        return "uint8"  # the encoder's own truncating uint8 write-back
    if payload.name == "flux":
        return "flux_trunc"
    if hypothesis.channel_order == "rgb":
        return "round"  # diffusers < 0.28 (numpy_to_pil rounds)
    return "round" if index % 2 == 0 else "trunc"  # diffusers >= 0.28 / Stability sgm, SVD


FINALIZE_NOTES = {
    "uint8": "uint8 domain: embed() returns uint8 (the reference's truncating write-back)",
    "round": "clip(y / 255, 0, 1) * 255, rounded (diffusers numpy_to_pil)",
    "trunc": "clip(y / 255, 0, 1) * 255, truncated (Stability generative-models perform_save_locally, SVD simple_video_sample)",
    "flux_trunc": "t = clip(y / 255, 0, 1); x = 2 t - 1; trunc(127.5 (x + 1)) in float32 (FLUX util.py save_image .byte())",
}


def _dwtdct_mark(
    image: np.ndarray, payload: Payload, hypothesis: Hypothesis, rule: str
) -> np.ndarray:
    if hypothesis.domain == "uint8":
        marked = embed(image, payload, domain="uint8", channel_order=hypothesis.channel_order)
        return np.ascontiguousarray(marked)
    floating = embed(
        image.astype(np.float32), payload, domain="float32", channel_order=hypothesis.channel_order
    )
    unit = np.clip(floating / np.float32(255), np.float32(0), np.float32(1))
    if rule == "flux_trunc":
        signed = np.clip(unit * np.float32(2) - np.float32(1), np.float32(-1), np.float32(1))
        result = (np.float32(127.5) * (signed + np.float32(1))).astype(np.uint8)
    elif rule == "trunc":
        result = (unit * np.float32(255)).astype(np.uint8)
    else:
        result = np.rint(unit * np.float32(255)).astype(np.uint8)
    return np.ascontiguousarray(result)


def _dwtdct_items(
    outdir: Path,
    base: Item,
    payload: Payload,
    hypothesis: Hypothesis,
    index: int,
    frames: int,
) -> list[Item]:
    """Mark ``base`` (an image, or the first ``frames`` frames of a clip) and attack it."""
    rule = _finalize_rule(payload, hypothesis, index)
    directory = f"dwtdct/{payload.name}/{hypothesis.name}/{Path(base.path).parent.name}"
    embed_info = {
        "function": "provenance.watermark.dwtdct_embed.embed",
        "domain": hypothesis.domain,
        "channel_order": hypothesis.channel_order,
        "finalize": rule,
        "finalize_note": FINALIZE_NOTES[rule],
        "payload_bits": len(payload.bits),
    }
    changes: dict[str, Any] = {
        "mark": "dwtdct",
        "payload": payload.name,
        "hypothesis": hypothesis.name,
        "embed": embed_info,
        "lossless": True,
    }
    if base.kind == "image":
        relative = f"{directory}/none.png"
        marked = _dwtdct_mark(_read_image(outdir / base.path), payload, hypothesis, rule)
        _write_png(outdir / relative, marked)
        item = _derived(base, relative, attack_params={}, codec="png", pix_fmt="bgr24", **changes)
        return [item, *_attack_all(outdir, item, directory, ())]
    relative = f"{directory}/none{FFV1_BGR0.suffix}"
    assert base.fps_rational is not None  # every clip item records its rate
    rate = Fraction(base.fps_rational)
    writer = VideoOut(outdir / relative, FFV1_BGR0, base.width, base.height, rate)
    written: list[np.ndarray] = []
    for number, frame in enumerate(_decode(outdir / base.path)):
        if number >= frames:
            break
        marked = _dwtdct_mark(_frame_bgr(frame), payload, hypothesis, rule)
        writer.add_bgr(marked)
        written.append(marked)
    count = writer.close()
    worst = _lossless_check(outdir / relative, written)
    item = _derived(
        base,
        relative,
        frames=count,
        attack_params={"codec": FFV1_BGR0.describe(), "first_frames_of_parent": count},
        codec=FFV1_BGR0.encoder,
        pix_fmt=FFV1_BGR0.pix_fmt,
        lossless_max_abs_diff=worst,
        **changes,
    )
    # every attack clears lossless_max_abs_diff (it describes only the file it was measured on)
    return [item, *_attack_all(outdir, item, directory, DWTDCT_VIDEO_ATTACKS)]


def _lossless_check(path: Path, frames: Sequence[np.ndarray]) -> int:
    """Decode ``path`` and return the largest |difference| to the frames written (must be 0)."""
    worst = 0
    count = 0
    for number, frame in enumerate(_decode(path)):
        decoded = _frame_bgr(frame)
        worst = max(worst, int(np.abs(decoded.astype(np.int16) - frames[number]).max()))
        count += 1
    if count != len(frames):
        raise RuntimeError(f"{path.name}: wrote {len(frames)} frames, decoded {count}")
    if worst:
        raise RuntimeError(
            f"{path.name}: the lossless video differs by up to {worst} after decoding"
        )
    return worst
