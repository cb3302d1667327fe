"""The attacks (:data:`VIDEO_ATTACKS`, :data:`DWTDCT_VIDEO_ATTACKS`, :data:`IMAGE_ATTACKS`)
and applying them to a clip or an image item.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .manifest import Item, _derived
from .media_io import (
    FFV1_BGR0,
    H265_CRF28,
    VP9_CRF32,
    Codec,
    VideoOut,
    _decode,
    _read_image,
    _scaled,
    _write_jpeg,
    _write_png,
    crop_box,
    frame_planes,
    h264,
)

# --------------------------------------------------------------------------- attacks


@dataclass(frozen=True)
class Attack:
    """A transformation plus the encoder that writes its result.

    ``op`` is one of ``none`` (re-encode only), ``scale``, ``crop``, ``crop_scale``,
    ``brightness``, ``fps``, ``jpeg``, ``scale_restore``; ``value`` its parameter (scale
    factor, brightness offset, JPEG quality).
    """

    name: str
    op: str
    value: float = 0.0
    codec: Codec | None = None
    jpeg_sampling: str | None = None

    def describe(self) -> str:
        parts: dict[str, str] = {
            "none": "re-encode",
            "scale": f"resize x{self.value:g} (OpenCV INTER_AREA, even size)",
            "crop": "crop 5% each side at odd offsets",
            "crop_scale": f"crop 5% each side at odd offsets, then resize x{self.value:g}",
            "brightness": f"brightness {self.value:+g}",
            "fps": "frame-rate change by dropping / duplicating frames",
            "jpeg": f"JPEG q{self.value:g} {self.jpeg_sampling} (OpenCV)",
            "scale_restore": f"resize x{self.value:g} then back to the original size",
        }
        text = parts[self.op]
        if self.codec is not None:
            text += "; " + ", ".join(f"{k}={v}" for k, v in self.codec.describe().items())
        return text


#: Attacks of every unmarked and keyed-marked clip (13).
VIDEO_ATTACKS: tuple[Attack, ...] = (
    Attack("h264_crf18", "none", codec=h264(18)),
    Attack("h264_crf23", "none", codec=h264(23)),
    Attack("h264_crf28", "none", codec=h264(28)),
    Attack("h264_crf35", "none", codec=h264(35)),
    Attack("h265_crf28", "none", codec=H265_CRF28),
    Attack("vp9_crf32", "none", codec=VP9_CRF32),
    Attack("scale50_crf23", "scale", 0.5, codec=h264(23)),
    Attack("scale75_crf23", "scale", 0.75, codec=h264(23)),
    Attack("crop10_crf23", "crop", codec=h264(23)),
    Attack("crop10_scale50_crf35", "crop_scale", 0.5, codec=h264(35)),
    Attack("bright_p20_crf23", "brightness", 20, codec=h264(23)),
    Attack("bright_m20_crf23", "brightness", -20, codec=h264(23)),
    Attack("fps_resample_crf23", "fps", codec=h264(23)),
)
#: Attacks of every dwtDct-marked clip: lossless crop and the H.264 levels the research names
#: as the limits (CRF 18 target, 23-28 reported; CRF 25 is SVD's own MP4 writer).
DWTDCT_VIDEO_ATTACKS: tuple[Attack, ...] = (
    Attack("crop10_lossless", "crop", codec=FFV1_BGR0),
    Attack("h264_crf18", "none", codec=h264(18)),
    Attack("h264_crf23", "none", codec=h264(23)),
    Attack("h264_crf25", "none", codec=h264(25)),
    Attack("h264_crf28", "none", codec=h264(28)),
)
#: Attacks of every image, marked or not (PNG: the ``none`` items are PNG already).
IMAGE_ATTACKS: tuple[Attack, ...] = (
    Attack("jpeg90_420", "jpeg", 90, jpeg_sampling="4:2:0"),
    Attack("jpeg90_444", "jpeg", 90, jpeg_sampling="4:4:4"),
    Attack("crop10", "crop"),
    Attack("scale50", "scale", 0.5),
    Attack("scale50_restore", "scale_restore", 0.5),
    Attack("bright_p20", "brightness", 20),
    Attack("bright_m20", "brightness", -20),
)


# --------------------------------------------------------------------------- video attacks


def _frame_bgr(frame: Any) -> np.ndarray:
    return np.ascontiguousarray(frame.to_ndarray(format="bgr24"))


def _fps_target(rate: Fraction) -> Fraction:
    """30 (or 29.97 ...) fps and more -> 24 (drops); 24-26 fps -> 30 (duplicates); else 24."""
    return Fraction(24) if float(rate) > 26 else Fraction(30) if float(rate) >= 23 else Fraction(24)


def _attack_video(outdir: Path, item: Item, attack: Attack, relative: str) -> Item:
    """Apply ``attack`` to the clip ``item`` and write ``relative``; returns the new item."""
    import cv2

    assert attack.codec is not None
    source = outdir / item.path
    assert item.fps_rational is not None  # every clip item records its rate
    rate = Fraction(item.fps_rational)
    width, height = item.width, item.height
    even = attack.codec.pix_fmt.startswith("yuv")
    params: dict[str, Any] = {"codec": attack.codec.describe()}
    out_rate = rate
    box = None
    if attack.op in ("crop", "crop_scale"):
        box = crop_box(width, height)
        params["crop"] = {"x": box[0], "y": box[1], "width": box[2], "height": box[3]}
        width, height = box[2], box[3]
    if attack.op in ("scale", "crop_scale"):
        width, height = _scaled(width, height, attack.value, even)
        params["scale"] = attack.value
        params["interpolation"] = "INTER_AREA"
    if attack.op == "brightness":
        params["brightness"] = attack.value
        params["plane"] = "Y (luma samples, clipped to 0..255)"
    if attack.op == "fps":
        out_rate = _fps_target(rate)
        params["fps_from"] = str(rate)
        params["fps_to"] = str(out_rate)
    writer = VideoOut(outdir / relative, attack.codec, width, height, out_rate)
    if attack.op == "fps":
        total = item.frames
        wanted = max(1, round(total * out_rate / rate))
        # output frame j shows the source frame on screen at time j / out_rate
        picks = [
            min(total - 1, math.floor(j * rate / out_rate + Fraction(1, 10**6)))
            for j in range(wanted)
        ]
        counts = Counter(picks)
        for index, frame in enumerate(_decode(source)):
            planes = frame_planes(frame)
            for _ in range(counts.get(index, 0)):
                writer.add_planes(planes)
        params["frames_from"] = total
        params["frames_to"] = wanted
    else:
        for frame in _decode(source):
            if attack.op == "none":
                if frame.format.name == "yuv420p" and even:
                    writer.add_planes(frame_planes(frame))  # no colour conversion
                else:
                    writer.add_bgr(_frame_bgr(frame))
            elif attack.op == "brightness":
                luma, *chroma = frame_planes(frame)
                shifted = np.clip(luma.astype(np.int16) + int(attack.value), 0, 255)
                writer.add_planes((shifted.astype(np.uint8), *chroma))
            else:
                bgr = _frame_bgr(frame)
                if box is not None:
                    x, y, w, h = box
                    bgr = np.ascontiguousarray(bgr[y : y + h, x : x + w])
                if attack.op in ("scale", "crop_scale"):
                    bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
                writer.add_bgr(bgr)
    count = writer.close()
    return _derived(
        item,
        relative,
        attack=attack.name,
        width=width,
        height=height,
        frames=count,
        fps=float(out_rate),
        fps_rational=str(out_rate),
        attack_params=params,
        codec=attack.codec.encoder,
        pix_fmt=attack.codec.pix_fmt,
        lossless=attack.codec.lossless,
        lossless_max_abs_diff=None,
    )


def _attack_image(outdir: Path, item: Item, attack: Attack, directory: str) -> Item:
    import cv2

    image = _read_image(outdir / item.path)
    height, width = image.shape[:2]
    params: dict[str, Any] = {}
    suffix = ".png"
    codec = "png"
    if attack.op == "jpeg":
        suffix = ".jpg"
        codec = "mjpeg"
        params = {
            "quality": int(attack.value),
            "sampling": attack.jpeg_sampling,
            "writer": "OpenCV",
        }
    elif attack.op == "crop":
        x, y, w, h = crop_box(width, height)
        image = image[y : y + h, x : x + w]
        params = {"crop": {"x": x, "y": y, "width": w, "height": h}}
    elif attack.op == "scale":
        size = _scaled(width, height, attack.value, even=False)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        params = {"scale": attack.value, "interpolation": "INTER_AREA"}
    elif attack.op == "scale_restore":
        size = _scaled(width, height, attack.value, even=False)
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        params = {"scale": attack.value, "down": "INTER_AREA", "up": "INTER_CUBIC"}
    elif attack.op == "brightness":
        image = np.clip(image.astype(np.int16) + int(attack.value), 0, 255).astype(np.uint8)
        params = {"brightness": attack.value, "plane": "B, G and R (clipped to 0..255)"}
    else:
        raise ValueError(f"image attack {attack.op!r} unknown")
    relative = f"{directory}/{attack.name}{suffix}"
    if attack.op == "jpeg":
        _write_jpeg(outdir / relative, image, int(attack.value), str(attack.jpeg_sampling))
    else:
        _write_png(outdir / relative, np.ascontiguousarray(image))
    return _derived(
        item,
        relative,
        attack=attack.name,
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        attack_params=params,
        codec=codec,
        pix_fmt="yuvj420p"
        if attack.jpeg_sampling == "4:2:0"
        else "yuvj444p"
        if attack.jpeg_sampling
        else "bgr24",
        lossless=attack.op != "jpeg",
        lossless_max_abs_diff=None,
    )


def _attack_all(
    outdir: Path, item: Item, directory: str, video_attacks: Sequence[Attack]
) -> list[Item]:
    if item.kind == "image":
        return [_attack_image(outdir, item, attack, directory) for attack in IMAGE_ATTACKS]
    items = []
    for attack in video_attacks:
        assert attack.codec is not None
        items.append(
            _attack_video(outdir, item, attack, f"{directory}/{attack.name}{attack.codec.suffix}")
        )
    return items
