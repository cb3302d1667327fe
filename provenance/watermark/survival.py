"""What a file looks like to a mark: the features of the mark-survival models.

"Not detected" only means something if a mark *would* have been found in this file had it been
embedded before the file was made. The survival models (:mod:`.survival_model`) turn that into
a probability from the file's measurable properties; this module measures them, on the check
path, from the same :class:`~provenance.media.frame.SampledFrame` objects the detectors get:

- file facts from the probe (:class:`FileFacts`): kind, codec, size, frame rate, bits per
  pixel;
- per frame (:meth:`SurvivalFeatures.add`): the decoder's mean quantiser, the picture type,
  and cheap texture figures of the luma and chroma planes (first differences at full and at
  half resolution, flat 4x4 blocks) read on 8-row strips, one every 32 rows, so a 1080p frame
  costs well under a millisecond.

:meth:`SurvivalFeatures.vector` summarises them into a fixed-length vector whose entries are
named in :data:`FEATURES` (the models store that list and refuse a different one). Only numpy:
training (``datasets/survival.py``) uses scikit-learn, the check never does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from provenance.errors import ArgumentError
from provenance.media.frame import SampledFrame
from provenance.report import MediaInfo, MediaKind
from provenance.watermark.detector import FrameNeeds

__all__ = [
    "CODECS",
    "FEATURES",
    "FEATURE_DESCRIPTIONS",
    "LOSSLESS_CODECS",
    "LOSSLESS_VIDEO_CODECS",
    "SURVIVAL_FRAME_NEEDS",
    "FileFacts",
    "SurvivalFeatures",
    "codec_features",
    "feature_vector",
]

#: Codecs with their own one-hot entry; anything else is ``codec_other``. Images are named by
#: their format (``png``, ``jpeg``, ``webp``: the probe's container), video by the decoder.
CODECS = (
    "h264",
    "hevc",
    "vp9",
    "av1",
    "vp8",
    "mpeg2video",
    "mpeg4",
    "prores",
    "ffv1",
    "png",
    "jpeg",
    "webp",
)

#: Video codecs that never lose a sample.
LOSSLESS_VIDEO_CODECS = frozenset(
    {"ffv1", "png", "qtrle", "rawvideo", "utvideo", "huffyuv", "ffvhuff"}
)
#: Codecs and image formats that never lose a sample (lossless WebP is told apart by its
#: missing subsampling).
LOSSLESS_CODECS = LOSSLESS_VIDEO_CODECS | {"gif", "tiff", "bmp"}

#: Every feature, in vector order, with what it measures. Texture figures are means over the
#: frames read (luma in coded samples; chroma is the mean of Cb and Cr on the 4:2:0 grid).
FEATURE_DESCRIPTIONS: dict[str, str] = {
    "kind_image": "1 for a still image, 0 for video",
    "log2_pixels": "log2 of width x height of the frames read (the probe's when none was read)",
    "log2_short_side": "log2 of the shorter side",
    "fps": "nominal frame rate (0 for images and when unknown)",
    "log2_bits_per_pixel": "log2 of file bits / (width x height x frames); 0 when unknown",
    "bits_per_pixel_known": "1 when the file size, size and frame count were known",
    "lossless_codec": "1 for a codec that never loses a sample (FFV1, PNG, lossless WebP...)",
    **{f"codec_{name}": f"1 for {name}" for name in CODECS},
    "codec_other": "1 for any other codec (or none known)",
    "image_chroma_subsampled": "1 for a lossy still image stored with subsampled chroma",
    "log2_frames_read": "log2 of 1 + the frames read",
    "qp_reported": "fraction of the frames read whose decoder reported a mean quantiser",
    "qp_mean": "mean of the frames' mean quantisers (0 when none reported)",
    "qp_min": "lowest frame mean quantiser (0 when none reported)",
    "qp_max": "highest frame mean quantiser (0 when none reported)",
    "qp_intra": "mean quantiser of the I frames read (qp_mean without one)",
    "picture_i": "fraction of the frames read that are I pictures",
    "picture_p": "fraction that are P pictures",
    "picture_b": "fraction that are B pictures",
    "luma_mean": "mean luma sample",
    "luma_std": "standard deviation of the luma samples",
    "log_luma_detail": "log(1 + mean |first difference|) of luma at full resolution",
    "luma_fine_ratio": "luma detail at full resolution / at half resolution (compression "
    "lowers it)",
    "luma_flat_blocks": "fraction of 4x4 luma blocks whose samples span at most 1",
    "chroma_std": "standard deviation of the chroma samples",
    "log_chroma_detail": "log(1 + mean |first difference|) of chroma",
    "chroma_fine_ratio": "chroma detail at its own resolution / at half of it",
    "chroma_flat_blocks": "fraction of 4x4 chroma blocks whose samples span at most 1",
    "chroma_read": "fraction of the frames read that had chroma (0: greyscale)",
}

#: The feature names, in vector order.
FEATURES: tuple[str, ...] = tuple(FEATURE_DESCRIPTIONS)

#: What the collector needs of each frame: the chroma planes (BGR where there are none: images,
#: RGB video) and the decoder's quantisers. The dwtDct detector asks for the same.
SURVIVAL_FRAME_NEEDS = FrameNeeds(colour="fallback", chroma=True, quantisers=True)


@dataclass(frozen=True)
class FileFacts:
    """What the probe knows about a file before any frame is read."""

    kind: Literal["video", "image"]
    codec: str | None = None
    """Video: the decoder's name (``h264``, ``hevc``...); image: the format (``png``...)."""
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    size_bytes: int | None = None
    frame_count: int | None = None
    """Frames in the stream (1 for an image); None when unknown."""

    @classmethod
    def from_media(cls, media: MediaInfo) -> FileFacts:
        """The facts of a probed file (video or image).

        Raises
        ------
        ArgumentError
            ``media`` is neither a video nor an image.
        """
        if media.kind not in (MediaKind.VIDEO, MediaKind.IMAGE):
            raise ArgumentError(f"survival features need a video or an image, not {media.kind}")
        image = media.kind is MediaKind.IMAGE
        frames = 1 if image else media.frame_count
        if not image and frames is None and media.duration_seconds and media.fps:
            frames = round(media.duration_seconds * media.fps)
        return cls(
            kind="image" if image else "video",
            codec=(media.container if image else media.video_codec),
            width=media.width,
            height=media.height,
            fps=None if image else media.fps,
            size_bytes=media.size_bytes,
            frame_count=frames,
        )


def codec_features(codec: str | None) -> dict[str, float]:
    """The one-hot codec entries (``codec_<name>`` for :data:`CODECS`, else ``codec_other``)."""
    name = (codec or "").lower()
    values = {f"codec_{known}": float(name == known) for known in CODECS}
    values["codec_other"] = float(name not in CODECS)
    return values


#: Texture is read on a fixed grid of tiles (at most ``_GRID`` x ``_GRID`` luma tiles of
#: ``_TILE`` samples, origins on the 16-sample macroblock grid; chroma tiles are the same
#: places on the 4:2:0 grid), so the cost per frame does not grow with the resolution.
_TILE = 32
_GRID = 6


def _grid(length: int, tile: int, step: int) -> np.ndarray:
    """Sample positions along one axis: up to ``_GRID`` tiles of ``tile``, evenly spread,
    starting on multiples of ``step``."""
    if length < tile:
        return np.arange(length - length % 4)
    count = min(_GRID, length // tile)
    starts = np.linspace(0, length - tile, count) // step * step
    return (starts.astype(np.int64)[:, None] + np.arange(tile)).ravel()


def _places(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the luma tiles of a (height, width) picture."""
    return _grid(height, _TILE, 16), _grid(width, _TILE, 16)


def _span4(squares: np.ndarray) -> np.ndarray:
    """max - min over each 4x4 block of (down, rows, across, columns) tiles (strided views,
    which numpy reduces much faster than a reduction over small axes)."""
    rows = [squares[:, i::4] for i in range(4)]
    high = np.maximum(np.maximum(rows[0], rows[1]), np.maximum(rows[2], rows[3]))
    low = np.minimum(np.minimum(rows[0], rows[1]), np.minimum(rows[2], rows[3]))
    high_c = [high[..., i::4] for i in range(4)]
    low_c = [low[..., i::4] for i in range(4)]
    top = np.maximum(np.maximum(high_c[0], high_c[1]), np.maximum(high_c[2], high_c[3]))
    bottom = np.minimum(np.minimum(low_c[0], low_c[1]), np.minimum(low_c[2], low_c[3]))
    span: np.ndarray = top - bottom
    return span


def _detail(squares: np.ndarray) -> float:
    """Mean |first difference| inside each tile, across and down, summed."""
    across = np.abs(np.diff(squares, axis=3)).mean()
    down = np.abs(np.diff(squares, axis=1)).mean()
    return float(across + down)


def _texture(tiles: np.ndarray, tile: int) -> tuple[float, float, float, float, float] | None:
    """(mean, std, detail, fine ratio, flat-block fraction) of tiles gathered as one
    (rows, columns) array of ``tile`` x ``tile`` squares; None when too small."""
    rows, columns = tiles.shape
    if rows < 4 or columns < 4:
        return None
    down, across = max(1, rows // tile), max(1, columns // tile)
    size_r, size_c = rows // down // 4 * 4, columns // across // 4 * 4
    squares = tiles.astype(np.int16).reshape(down, rows // down, across, columns // across)
    squares = squares[:, :size_r, :, :size_c]
    detail = _detail(squares)
    half = (
        squares[:, 0::2, :, 0::2]
        + squares[:, 1::2, :, 0::2]
        + squares[:, 0::2, :, 1::2]
        + squares[:, 1::2, :, 1::2]
    )
    coarse = _detail(half) / 4  # sums of 4 samples, back to sample units
    flat = float(np.count_nonzero(_span4(squares) <= 1)) / (down * across * size_r * size_c / 16)
    ratio = detail / coarse if coarse > 1e-6 else 1.0
    return float(squares.mean()), float(squares.std()), detail / 2, ratio, flat


def _bgr_chroma(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Cb, Cr) of BGR samples on the 4:2:0 grid: BT.601 limited range of 2x2 means."""
    height, width = bgr.shape[0] // 2 * 2, bgr.shape[1] // 2 * 2
    cells = bgr[:height, :width].reshape(height // 2, 2, width // 2, 2, 3)
    mean = cells.mean(axis=(1, 3), dtype=np.float32)
    blue, green, red = mean[..., 0], mean[..., 1], mean[..., 2]
    cb = 128 + (-37.797 * red - 74.203 * green + 112.0 * blue) / 255
    cr = 128 + (112.0 * red - 93.786 * green - 18.214 * blue) / 255
    return (
        np.clip(np.rint(cb), 0, 255).astype(np.uint8),
        np.clip(np.rint(cr), 0, 255).astype(np.uint8),
    )


def _frame_texture(
    frame: SampledFrame,
) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
    """(luma, chroma) texture figures of one frame, read on the tile grid."""
    rows, columns = _places(*frame.luma.shape)
    luma = _texture(frame.luma[np.ix_(rows, columns)], _TILE)
    chroma: list[tuple[float, ...]] = []
    planes: tuple[np.ndarray, np.ndarray] | None = None
    if frame.chroma is not None:
        half_rows, half_columns = rows[0::2] // 2, columns[0::2] // 2
        planes = (
            frame.chroma[0][np.ix_(half_rows, half_columns)],
            frame.chroma[1][np.ix_(half_rows, half_columns)],
        )
    elif frame.bgr is not None and frame.bgr.ndim == 3:
        planes = _bgr_chroma(frame.bgr[np.ix_(rows, columns)])
    if planes is not None:
        chroma = [t for t in (_texture(p, _TILE // 2) for p in planes) if t is not None]
    both = tuple(float(v) for v in np.mean(chroma, axis=0)) if chroma else None
    return luma, both


class SurvivalFeatures:
    """Collects one file's survival features: fed the sampled frames, gives :meth:`vector`.

    Make one per file with the probe's :class:`FileFacts`, hand it every frame the detectors
    get (``add``), then read ``vector()`` (in :data:`FEATURES` order) or ``values()``.
    """

    def __init__(self, facts: FileFacts) -> None:
        if facts.kind not in ("video", "image"):
            raise ArgumentError(f"FileFacts.kind must be 'video' or 'image', got {facts.kind!r}")
        self.facts = facts
        self.frames = 0
        self.qps: list[float] = []
        self.intra_qps: list[float] = []
        self.pictures = {"I": 0, "P": 0, "B": 0}
        self.subsampled = 0
        self.lossless_webp = True
        self.luma: list[tuple[float, ...]] = []
        self.chroma: list[tuple[float, ...]] = []
        self.size: tuple[int, int] | None = None

    def add(self, frame: SampledFrame) -> None:
        """Measure one frame (the same frame the detectors are given)."""
        self.frames += 1
        if self.size is None:
            self.size = (frame.width, frame.height)
        if frame.mean_qp is not None and math.isfinite(frame.mean_qp):
            self.qps.append(frame.mean_qp)
            if frame.picture_type == "I":
                self.intra_qps.append(frame.mean_qp)
        if frame.picture_type in self.pictures:
            self.pictures[frame.picture_type] += 1
        if frame.chroma_subsampling not in (None, "4:4:4"):
            self.subsampled += 1
        if frame.chroma_subsampling is not None:
            self.lossless_webp = False  # lossy WebP states 4:2:0; lossless WebP states nothing
        luma, chroma = _frame_texture(frame)
        if luma is not None:
            self.luma.append(luma)
        if chroma is not None:
            self.chroma.append(chroma)

    def values(self) -> dict[str, float]:
        """Every feature by name (finite numbers), in :data:`FEATURES` order."""
        facts = self.facts
        width, height = self.size or (facts.width or 0, facts.height or 0)
        pixels = max(1, width * height)
        image = facts.kind == "image"
        size, frames = facts.size_bytes, facts.frame_count
        coded = facts.width * facts.height if facts.width and facts.height else 0
        known = bool(size and frames and coded)
        bits = (
            math.log2(max(size * 8 / (coded * frames), 1e-6)) if size and frames and coded else 0.0
        )
        codec = (facts.codec or "").lower()
        read = max(1, self.frames)
        qp_mean = float(np.mean(self.qps)) if self.qps else 0.0
        values: dict[str, float] = {
            "kind_image": float(image),
            "log2_pixels": math.log2(pixels),
            "log2_short_side": math.log2(max(1, min(width, height))),
            "fps": 0.0 if image or not facts.fps else float(min(facts.fps, 240.0)),
            "log2_bits_per_pixel": bits,
            "bits_per_pixel_known": float(known),
            "lossless_codec": float(
                codec in LOSSLESS_CODECS or (image and codec == "webp" and self.lossless_webp)
            ),
            **codec_features(codec),
            "image_chroma_subsampled": float(image and self.subsampled > 0),
            "log2_frames_read": math.log2(1 + self.frames),
            "qp_reported": len(self.qps) / read,
            "qp_mean": qp_mean,
            "qp_min": min(self.qps, default=0.0),
            "qp_max": max(self.qps, default=0.0),
            "qp_intra": float(np.mean(self.intra_qps)) if self.intra_qps else qp_mean,
            "picture_i": self.pictures["I"] / read,
            "picture_p": self.pictures["P"] / read,
            "picture_b": self.pictures["B"] / read,
        }
        for name, rows in (("luma", self.luma), ("chroma", self.chroma)):
            mean, std, detail, ratio, flat = (
                np.mean(rows, axis=0) if rows else (0.0, 0.0, 0.0, 1.0, 1.0)
            )
            if name == "luma":
                values["luma_mean"] = float(mean)
            values[f"{name}_std"] = float(std)
            values[f"log_{name}_detail"] = math.log1p(float(detail))
            values[f"{name}_fine_ratio"] = float(ratio)
            values[f"{name}_flat_blocks"] = float(flat)
        values["chroma_read"] = len(self.chroma) / read
        return {name: values[name] for name in FEATURES}

    def vector(self) -> np.ndarray:
        """The features as a float64 vector in :data:`FEATURES` order."""
        return np.array(list(self.values().values()), dtype=np.float64)


def feature_vector(values: Mapping[str, float]) -> np.ndarray:
    """A vector in :data:`FEATURES` order from named values.

    Raises
    ------
    ArgumentError
        A feature is missing, unknown or not a finite number.
    """
    missing = [name for name in FEATURES if name not in values]
    unknown = [name for name in values if name not in FEATURE_DESCRIPTIONS]
    if missing or unknown:
        raise ArgumentError(
            f"survival features: missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    vector = np.array([float(values[name]) for name in FEATURES], dtype=np.float64)
    if not np.all(np.isfinite(vector)):
        bad = [name for name, v in zip(FEATURES, vector, strict=True) if not math.isfinite(v)]
        raise ArgumentError(f"survival features must be finite numbers: {bad}")
    return vector
