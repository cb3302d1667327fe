"""Build the seeded evaluation corpus for the watermark detectors (dwtDct and keyed), with attacks.

Usage::

    python datasets/build_corpus.py OUTDIR [--seed 20261124] [--size quick|full]
                                           [--shared DIR] [--jobs N] [--only PATTERN ...]

``--size full`` (the default) is the evaluation corpus (9,146 items, 2.2 GB, about 40 min
with ``--jobs 2`` on 2 cores; see ``datasets/README.md``); ``--size quick`` is a tiny smoke-test version (a few items per
class, small frames) that builds in well under a minute. ``--only`` restricts the build to
the roots whose name matches one of the shell patterns (e.g. ``'synth_textured_*'``), with
everything derived from them: handy for debugging and for determinism checks.

Writes into OUTDIR:

* ``unmarked/<root>/none.<ext>``: the unmarked originals ("roots"): natural camera clips from
  ``shared/fixtures/natural`` (cut into segments; sub-480p ones also upscaled to 854x480),
  slow pans / zooms over scikit-image's bundled photos, seeded synthetic clips (textured,
  smooth, dark, cartoon), still images (photos, natural frames, synthetic stills) and strongly
  coloured images (saturated blocks / gradients, crops of coffee, chelsea, ...).
* ``unmarked/<root>/<attack>.<ext>``: every unmarked root under every attack of its kind (the
  false-positive material).
* ``keyed/<root>/none.mp4`` and ``keyed/<root>/<attack>.<ext>``: clips marked with
  :func:`provenance.watermark.keyed.embed_luma` under the corpus key ``corpus-key-<seed>`` on
  every frame (H.264 CRF 18), and every video attack of them.
* ``dwtdct/<payload>/<hypothesis>/<root>/none.<png|mkv>`` and attacked versions: the
  invisible-watermark ``dwtDct`` mark of :func:`provenance.watermark.dwtdct.embed` for every
  payload x hypothesis (5 x 4), on still images (PNG) and on short clips (every frame marked,
  lossless FFV1 ``bgr0`` in Matroska, verified bit-exact after writing).
* ``corpus.jsonl``: one JSON object per item (see :data:`MANIFEST_FIELDS` and the README).
* ``CORPUS.json``: seed, size, versions, counts per class, sizes and build time.

The work runs in ``--jobs`` fresh worker interpreters (``build_corpus.py --worker``, fed JSON
lines), never in the caller's process.

Determinism: decoded frames depend only on the seed and the library versions. Every encoder
runs single-threaded, frames reach the encoders with their row padding filled, every
container is muxed with ``fflags=+bitexact`` (no random Matroska / WebM UIDs, no creation
times) and the workers fill fresh heap memory with a fixed byte (libx264 reads bytes it never
wrote at widths that are not multiples of 16; see :func:`deterministic_heap`). With the same
FFmpeg / x264 / x265 / libvpx / OpenCV / numpy builds the files are therefore byte-identical,
whatever ``--jobs`` or ``--only`` is. Only ``CORPUS.json`` (build time, date) differs.

Importable by path (``datasets/`` is not a package)::

    spec = importlib.util.spec_from_file_location("build_corpus", "datasets/build_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_corpus"] = module  # before exec_module: its dataclasses need it
    spec.loader.exec_module(module)
    manifest_path = module.build_corpus(outdir, seed=20261124, size="quick", jobs=2)
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import datetime
import fnmatch
import hashlib
import json
import math
import os
import platform
import selectors
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from provenance.media.frames import evenly_spaced_indices
from provenance.watermark import dwtdct, keyed
from provenance.watermark.payloads import PAYLOADS, Payload, payload_by_name

__all__ = [
    "DEFAULT_SEED",
    "IMAGE_ATTACKS",
    "MANIFEST_FIELDS",
    "SIZES",
    "VIDEO_ATTACKS",
    "build_corpus",
    "corpus_key",
    "main",
]

DEFAULT_SEED = 20261124
MANIFEST_NAME = "corpus.jsonl"
SUMMARY_NAME = "CORPUS.json"
REPO = Path(__file__).resolve().parents[1]

#: Fields of every manifest line, in order.
MANIFEST_FIELDS: tuple[str, ...] = (
    "path",
    "kind",
    "source",
    "content",
    "mark",
    "payload",
    "hypothesis",
    "key",
    "attack",
    "width",
    "height",
    "frames",
    "fps",
    "duration_seconds",
    "seed",
    "parent",
    "root",
    "attack_params",
    "embed",
    "codec",
    "pix_fmt",
    "lossless",
    "native_width",
    "native_height",
    "tags",
    "bytes",
    "fps_rational",
    "lossless_max_abs_diff",
)


def corpus_key(seed: int) -> str:
    """The keyed-mark key of a corpus built with ``seed``."""
    return f"corpus-key-{seed}"


# --------------------------------------------------------------------------- encoders


@dataclass(frozen=True)
class Codec:
    """One encoder setting: FFmpeg encoder name, pixel format, options and file suffix."""

    encoder: str
    pix_fmt: str
    options: tuple[tuple[str, str], ...]
    suffix: str
    lossless: bool = False

    def describe(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "pix_fmt": self.pix_fmt, **dict(self.options)}


def h264(crf: int) -> Codec:
    """libx264, preset medium, yuv420p, single-threaded (deterministic), in MP4."""
    return Codec(
        "libx264", "yuv420p", (("crf", str(crf)), ("preset", "medium"), ("threads", "1")), ".mp4"
    )


H265_CRF28 = Codec(
    "libx265",
    "yuv420p",
    (
        ("crf", "28"),
        ("preset", "medium"),
        ("x265-params", "pools=1:frame-threads=1:log-level=error"),
    ),
    ".mp4",
)
VP9_CRF32 = Codec(
    "libvpx-vp9",
    "yuv420p",
    (
        ("crf", "32"),
        ("b", "0"),
        ("deadline", "good"),
        ("cpu-used", "2"),
        ("row-mt", "0"),
        ("threads", "1"),
    ),
    ".webm",
)
FFV1_BGR0 = Codec("ffv1", "bgr0", (("level", "3"), ("threads", "1")), ".mkv", lossless=True)
#: Quality of every base (unmarked) clip and of every keyed-marked clip.
BASE_CODEC = h264(18)


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
PNG_COMPRESSION = 6


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class SizeSpec:
    """How much of everything one corpus size holds."""

    asl: tuple[str, ...] | None  # ASL clip stems, None for all
    natural_max_frames: int | None  # cut natural clips to this many frames (quick)
    segment_seconds: float  # length of the segments cut from the long natural clips
    bottle_segments: int
    person_segments: int
    photo_clips: tuple[tuple[str, int, int], ...]  # (photo, width, height)
    synth_clips: tuple[tuple[int, int, int], ...]  # (width, height, clips per content)
    synth_seconds: tuple[float, ...]
    synth_fps: tuple[int, ...]
    clip_max_frames: int | None
    photo_stills: tuple[str, ...]
    dwtdct_photo_stills: tuple[str, ...]
    natural_stills: int
    dwtdct_natural_stills: int
    synth_stills: int  # per content, at synth_still_size
    dwtdct_synth_stills: int  # per content
    synth_still_size: tuple[int, int]
    dwtdct_clip_sources: tuple[str, ...]  # root names
    dwtdct_clip_frames: int
    colour_images: int
    keyed_needs_target: bool  # mark only clips of >= 2 s and >= 480p


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SIZES: dict[str, SizeSpec] = {
    "full": SizeSpec(
        asl=None,
        natural_max_frames=None,
        segment_seconds=3.0,
        bottle_segments=13,
        person_segments=24,
        photo_clips=tuple(
            (name, 854, 480)
            for name in _names(
                "astronaut chelsea coffee hubble_deep_field ihc motorcycle_left retina rocket "
                "color brick grass camera"
            )
        )
        + tuple(
            (name, 1280, 720)
            for name in _names("astronaut coffee motorcycle_left rocket retina gravel")
        ),
        synth_clips=((854, 480, 7), (1280, 720, 3)),
        synth_seconds=(2.0, 2.5, 3.0),
        synth_fps=(24, 25, 30, 30),
        clip_max_frames=None,
        photo_stills=_names(
            "astronaut chelsea coffee hubble_deep_field ihc motorcycle_left motorcycle_right "
            "retina rocket color logo phantom horse camera brick grass gravel moon coins page "
            "text clock_motion"
        ),
        dwtdct_photo_stills=_names(
            "astronaut chelsea coffee hubble_deep_field ihc motorcycle_left retina rocket color "
            "logo"
        ),
        natural_stills=16,
        dwtdct_natural_stills=6,
        synth_stills=4,
        dwtdct_synth_stills=1,
        synth_still_size=(854, 480),
        dwtdct_clip_sources=_names(
            "natural_asl_gestures_book natural_bottle_s03_up480 photo_coffee_854x480 "
            "synth_textured_854x480_00 synth_cartoon_854x480_00 synth_smooth_854x480_00"
        ),
        dwtdct_clip_frames=14,
        colour_images=160,
        keyed_needs_target=True,
    ),
    "quick": SizeSpec(
        asl=("asl_gestures_bird",),
        natural_max_frames=12,
        segment_seconds=0.4,
        bottle_segments=1,
        person_segments=0,
        photo_clips=(("coffee", 426, 240),),
        synth_clips=((426, 240, 1),),
        synth_seconds=(0.5,),
        synth_fps=(24, 30),
        clip_max_frames=12,
        photo_stills=("astronaut", "coffee", "camera"),
        dwtdct_photo_stills=("astronaut",),
        natural_stills=1,
        dwtdct_natural_stills=0,
        synth_stills=1,
        dwtdct_synth_stills=0,
        synth_still_size=(426, 240),
        dwtdct_clip_sources=("synth_textured_426x240_00",),
        dwtdct_clip_frames=4,
        colour_images=4,
        keyed_needs_target=False,
    ),
}

ASL_STEMS = tuple(
    f"asl_gestures_{word}"
    for word in _names(
        "again bird book brother eat help hungry learn milk night no please school sister"
    )
)
BOTTLE = "bottle-detection.mp4"
PERSON = "one-by-one-person-detection.mp4"
TARGET_SIZE_480P = (854, 480)
STILL_MAX_SIDE = 800
SYNTH_CONTENTS = ("textured", "smooth", "dark", "cartoon")
COLOUR_PHOTOS = ("coffee", "chelsea", "astronaut", "color", "ihc", "rocket")


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Root:
    """One unmarked original and what is derived from it."""

    name: str
    kind: str  # video | image
    source: str
    content: str
    seed: int
    recipe: tuple[tuple[str, Any], ...]
    tags: tuple[str, ...] = ()
    keyed: bool = False
    dwtdct_frames: int = 0  # video: mark the first N frames with dwtDct (0: no)
    dwtdct_image: bool = False
    native: tuple[int, int] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.recipe).get(key, default)


def _derive_seed(seed: int, name: str) -> int:
    """A 63-bit seed for one item, stable across platforms and runs."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _skimage_data_dir() -> Path:
    import skimage

    return Path(skimage.__file__).resolve().parent / "data"


PHOTO_FILES: dict[str, str] = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "clock_motion": "clock_motion.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "color": "color.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "horse": "horse.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "ihc": "ihc.png",
    "logo": "logo.png",
    "moon": "moon.png",
    "motorcycle_left": "motorcycle_left.png",
    "motorcycle_right": "motorcycle_right.png",
    "page": "page.png",
    "phantom": "phantom.png",
    "retina": "retina.jpg",
    "rocket": "rocket.jpg",
    "text": "text.png",
}


def _load_photo(name: str) -> np.ndarray:
    """A bundled scikit-image photo as BGR uint8 (grey replicated, alpha over white)."""
    import cv2

    path = _skimage_data_dir() / PHOTO_FILES[name]
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"scikit-image photo {path} cannot be read")
    if image.dtype == np.uint16:
        image = np.rint(image.astype(np.float64) / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"scikit-image photo {path} has an unsupported type {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255
        over = image[:, :, :3].astype(np.float32) * alpha + 255 * (1 - alpha)
        return np.ascontiguousarray(np.rint(over).astype(np.uint8))
    return np.ascontiguousarray(image[:, :, :3])


def _probe_natural(path: Path) -> dict[str, Any]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        frames = stream.frames or 0
        if not frames:
            frames = sum(1 for packet in container.demux(stream) if packet.size)
        return {
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "rate": Fraction(rate),
            "frames": frames,
        }


def _plan(seed: int, spec: SizeSpec, natural_dir: Path) -> tuple[list[Root], dict[str, Any]]:
    """Every root of the corpus, and what was found about the natural sources."""
    roots: list[Root] = []
    natural_info: dict[str, Any] = {}

    # Natural clips.
    stems = spec.asl if spec.asl is not None else ASL_STEMS
    for stem in stems:
        info = _probe_natural(natural_dir / f"{stem}.mkv")
        natural_info[f"{stem}.mkv"] = _jsonable_info(info)
        frames = info["frames"]
        if spec.natural_max_frames:
            frames = min(frames, spec.natural_max_frames)
        name = f"natural_{stem}"
        roots.append(
            Root(
                name,
                "video",
                f"natural:{stem}",
                "natural",
                _derive_seed(seed, name),
                (("type", "natural"), ("file", f"{stem}.mkv"), ("start", 0), ("frames", frames)),
                native=(info["width"], info["height"]),
            )
        )
    for file, label, count in (
        (BOTTLE, "bottle", spec.bottle_segments),
        (PERSON, "person", spec.person_segments),
    ):
        info = _probe_natural(natural_dir / file)
        natural_info[file] = _jsonable_info(info)
        if count <= 0:
            continue
        rate: Fraction = info["rate"]
        length = max(1, round(spec.segment_seconds * rate))
        if spec.natural_max_frames:
            length = min(length, spec.natural_max_frames)
        available = info["frames"] // length
        picks = evenly_spaced_indices(available, count) if count > 0 else ()
        for number, segment in enumerate(picks):
            for upscale in (False, True):
                name = f"natural_{label}_s{number:02d}" + ("_up480" if upscale else "")
                recipe: list[tuple[str, Any]] = [
                    ("type", "natural"),
                    ("file", file),
                    ("start", segment * length),
                    ("frames", length),
                ]
                tags: tuple[str, ...] = ("native_below_480p",)
                if upscale:
                    recipe.append(("resize", TARGET_SIZE_480P))
                    tags = ("upscaled_480p",)
                roots.append(
                    Root(
                        name,
                        "video",
                        f"natural:{Path(file).stem}",
                        "natural",
                        _derive_seed(seed, name),
                        tuple(recipe),
                        tags=tags,
                        native=(info["width"], info["height"]),
                    )
                )
    # Photo pans / zooms.
    for photo, width, height in spec.photo_clips:
        name = f"photo_{photo}_{width}x{height}"
        item_seed = _derive_seed(seed, name)
        rng = _rng(item_seed)
        fps = int(rng.choice([24, 30]))
        frames = round(2.5 * fps) if spec.clip_max_frames is None else spec.clip_max_frames
        image = _load_photo(photo)
        roots.append(
            Root(
                name,
                "video",
                f"skimage:{photo}",
                "photo",
                item_seed,
                (
                    ("type", "photo_motion"),
                    ("photo", photo),
                    ("size", (width, height)),
                    ("frames", frames),
                    ("fps", fps),
                    ("motion", str(rng.choice(["pan", "zoom"]))),
                ),
                tags=_grey_tag(image),
                native=(image.shape[1], image.shape[0]),
            )
        )
    # Synthetic clips.
    for width, height, count in spec.synth_clips:
        for content in SYNTH_CONTENTS:
            for number in range(count):
                name = f"synth_{content}_{width}x{height}_{number:02d}"
                item_seed = _derive_seed(seed, name)
                rng = _rng(item_seed)
                fps = int(rng.choice(spec.synth_fps))
                seconds = float(rng.choice(spec.synth_seconds))
                frames = round(seconds * fps)
                if spec.clip_max_frames is not None:
                    frames = min(frames, spec.clip_max_frames)
                roots.append(
                    Root(
                        name,
                        "video",
                        f"synth:{content}",
                        content,
                        item_seed,
                        (
                            ("type", "synth"),
                            ("content", content),
                            ("size", (width, height)),
                            ("frames", frames),
                            ("fps", fps),
                        ),
                    )
                )
    # Still images.
    for photo in spec.photo_stills:
        name = f"still_photo_{photo}"
        image = _load_photo(photo)
        roots.append(
            Root(
                name,
                "image",
                f"skimage:{photo}",
                "photo",
                _derive_seed(seed, name),
                (("type", "photo_still"), ("photo", photo)),
                tags=_grey_tag(image),
                dwtdct_image=photo in spec.dwtdct_photo_stills,
                native=(image.shape[1], image.shape[0]),
            )
        )
    natural_clips = [
        root for root in roots if root.content == "natural" and "_up480" not in root.name
    ]
    stills = spec.natural_stills
    picks = evenly_spaced_indices(len(natural_clips), stills) if stills > 0 else ()
    for number, index in enumerate(picks):
        clip = natural_clips[index]
        name = f"still_{clip.name}"
        roots.append(
            Root(
                name,
                "image",
                clip.source,
                "natural",
                _derive_seed(seed, name),
                (
                    ("type", "natural"),
                    ("file", clip.get("file")),
                    ("start", clip.get("start") + clip.get("frames") // 2),
                    ("frames", 1),
                ),
                tags=clip.tags,
                dwtdct_image=number < spec.dwtdct_natural_stills,
                native=clip.native,
            )
        )
    for content in SYNTH_CONTENTS:
        for number in range(spec.synth_stills):
            name = f"still_synth_{content}_{number:02d}"
            roots.append(
                Root(
                    name,
                    "image",
                    f"synth:{content}",
                    content,
                    _derive_seed(seed, name),
                    (
                        ("type", "synth"),
                        ("content", content),
                        ("size", spec.synth_still_size),
                        ("frames", 1),
                        ("fps", 24),
                    ),
                    dwtdct_image=number < spec.dwtdct_synth_stills,
                )
            )
    # Strongly coloured images (false-positive material).
    kinds = ("blocks", "hue_gradient", "photo_crop", "photo_crop")
    for number in range(spec.colour_images):
        kind = kinds[number % len(kinds)]
        name = f"colour_{kind}_{number:03d}"
        item_seed = _derive_seed(seed, name)
        recipe_c: list[tuple[str, Any]] = [("type", "colour"), ("kind", kind)]
        source = f"synth:colour_{kind}"
        if kind == "photo_crop":
            photo = COLOUR_PHOTOS[(number // len(kinds)) % len(COLOUR_PHOTOS)]
            recipe_c.append(("photo", photo))
            source = f"skimage:{photo}"
        roots.append(Root(name, "image", source, "colour", item_seed, tuple(recipe_c)))

    # Which roots get marked.
    clip_sources = set(spec.dwtdct_clip_sources)
    marked: list[Root] = []
    for root in roots:
        if root.kind != "video":
            marked.append(root)
            continue
        frames = int(root.get("frames"))
        seconds = frames / float(_recipe_fps(root, natural_info))
        target = seconds >= 2.0 - 1e-9 and _recipe_size(root)[1] >= 480
        tags = root.tags + (("keyed_target",) if target else ())
        if seconds < 2.0 - 1e-9:
            tags += ("short",)
        do_keyed = target if spec.keyed_needs_target else "native_below_480p" not in root.tags
        dwt_frames = min(spec.dwtdct_clip_frames, frames) if root.name in clip_sources else 0
        marked.append(
            dataclasses.replace(root, tags=tags, keyed=do_keyed, dwtdct_frames=dwt_frames)
        )
    missing = clip_sources - {root.name for root in marked}
    if missing:
        raise ValueError(f"dwtDct clip sources not in the plan: {sorted(missing)}")
    return marked, natural_info


def _jsonable_info(info: dict[str, Any]) -> dict[str, Any]:
    rate: Fraction = info["rate"]
    return {
        "width": info["width"],
        "height": info["height"],
        "fps": round(float(rate), 6),
        "fps_rational": str(rate),
        "frames": info["frames"],
        "duration_seconds": round(info["frames"] / float(rate), 3),
        "below_480p": info["height"] < 480,
    }


def _grey_tag(image: np.ndarray) -> tuple[str, ...]:
    spread = np.ptp(image.astype(np.int16), axis=2)
    return ("greyscale",) if int(spread.max()) <= 2 else ()


def _recipe_fps(root: Root, natural_info: dict[str, Any]) -> Fraction:
    if root.get("type") == "natural":
        return Fraction(natural_info[root.get("file")]["fps_rational"])
    return Fraction(int(root.get("fps", 24)))


def _recipe_size(root: Root) -> tuple[int, int]:
    size = root.get("resize") or root.get("size")
    if size is not None:
        return int(size[0]), int(size[1])
    assert root.native is not None
    return root.native


# --------------------------------------------------------------------------- content


def _fractal(rng: np.random.Generator, height: int, width: int, beta: float) -> np.ndarray:
    """Zero-mean, unit-variance 1/f^beta noise field (float32)."""
    noise = rng.standard_normal((height, width))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    spectrum = np.fft.rfft2(noise) / radius ** (beta / 2)
    spectrum[0, 0] = 0
    field_ = np.fft.irfft2(spectrum, s=(height, width))
    field_ -= field_.mean()
    field_ /= field_.std() or 1.0
    return field_.astype(np.float32)


def _texture_canvas(rng: np.random.Generator, height: int, width: int, dark: bool) -> np.ndarray:
    """A colour texture (BGR float32): 1/f luminance with correlated, lower-contrast chroma."""
    luma = 0.6 * _fractal(rng, height, width, 2.0) + 0.4 * _fractal(rng, height, width, 1.4)
    chroma_a = _fractal(rng, height, width, 2.4)
    chroma_b = _fractal(rng, height, width, 2.4)
    base = rng.uniform(70, 170, 3) if not dark else rng.uniform(10, 28, 3)
    gain = 40.0 if not dark else 9.0
    axis_a = rng.normal(0, 1, 3)
    axis_b = rng.normal(0, 1, 3)
    axis_a /= np.linalg.norm(axis_a)
    axis_b /= np.linalg.norm(axis_b)
    canvas = (
        base[None, None, :]
        + gain * luma[:, :, None]
        + (0.5 * gain) * chroma_a[:, :, None] * axis_a[None, None, :]
        + (0.5 * gain) * chroma_b[:, :, None] * axis_b[None, None, :]
    )
    return np.clip(canvas, 0, 255).astype(np.float32)


def _pan(canvas: np.ndarray, width: int, height: int, x: float, y: float) -> np.ndarray:
    import cv2

    matrix = np.array([[1, 0, -x], [0, 1, -y]], dtype=np.float32)
    frame = cv2.warpAffine(
        canvas, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    result: np.ndarray = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return result


def _synth_frames(
    content: str, width: int, height: int, frames: int, seed: int
) -> Iterator[np.ndarray]:
    """Seeded synthetic BGR frames of one content class, with smooth motion."""
    rng = _rng(seed)
    if content in ("textured", "dark"):
        speed = rng.uniform(0.6, 3.0, 2) * rng.choice([-1, 1], 2)
        margin = int(np.ceil(np.abs(speed).max() * frames)) + 4
        canvas = _texture_canvas(rng, height + margin, width + margin, dark=content == "dark")
        if content == "dark":
            # a dim light drifting over the dark texture
            light_y, light_x = rng.uniform(0.2, 0.8, 2)
        start = np.where(speed < 0, margin - 2, 2).astype(np.float64)
        for index in range(frames):
            x, y = start + speed * index
            frame = _pan(canvas, width, height, float(x), float(y))
            if content == "dark":
                ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
                xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
                cx = light_x + 0.002 * index
                glow = 18 * np.exp(-((xs - cx) ** 2 + (ys - light_y) ** 2) / 0.05)
                frame = np.clip(frame + glow[:, :, None], 0, 255).astype(np.uint8)
            yield frame
        return
    if content == "smooth":
        ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
        xs = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
        colour_a, colour_b = rng.uniform(30, 225, (2, 3)).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        blobs = [
            (
                rng.uniform(0.1, 0.9, 2),
                rng.uniform(-0.004, 0.004, 2),
                rng.uniform(-60, 60, 3),
                rng.uniform(0.15, 0.35),
            )
            for _ in range(3)
        ]
        for index in range(frames):
            phase = index * 0.004
            t = 0.5 + 0.5 * np.cos(angle) * (xs - 0.5 + phase) + 0.5 * np.sin(angle) * (ys - 0.5)
            frame = colour_a[None, None, :] * (1 - t) + colour_b[None, None, :] * t
            for centre, velocity, tint, radius in blobs:
                cx, cy = centre + velocity * index
                weight = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
                frame = frame + weight * tint[None, None, :].astype(np.float32)
            yield np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        return
    if content == "cartoon":
        yield from _cartoon_frames(rng, width, height, frames)
        return
    raise ValueError(f"unknown synthetic content {content!r}")


def _saturated(rng: np.random.Generator) -> tuple[int, int, int]:
    import cv2

    hue, saturation, value = rng.integers(0, 180), rng.integers(170, 256), rng.integers(150, 256)
    hsv = np.array([[[hue, saturation, value]]], dtype=np.uint8)
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def _cartoon_frames(
    rng: np.random.Generator, width: int, height: int, frames: int
) -> Iterator[np.ndarray]:
    """Flat colour regions with dark outlines, moving sprites (antialiased edges)."""
    import cv2

    scale = width / 854
    sky = _saturated(rng)
    ground = _saturated(rng)
    horizon = int(height * rng.uniform(0.55, 0.75))
    shapes = []
    for _ in range(int(rng.integers(6, 11))):
        shapes.append(
            (
                str(rng.choice(["circle", "rect", "triangle", "ellipse"])),
                _saturated(rng),
                rng.uniform(0, width),
                rng.uniform(0, height),
                rng.uniform(-3, 3) * scale,
                rng.uniform(-1.5, 1.5) * scale,
                rng.uniform(25, 90) * scale,
            )
        )
    outline = (20, 20, 20)
    thick = max(2, round(3 * scale))
    for index in range(frames):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:horizon] = sky
        frame[horizon:] = ground
        cv2.line(frame, (0, horizon), (width, horizon), outline, thick, cv2.LINE_AA)
        for kind, colour, x0, y0, vx, vy, size in shapes:
            x = round(float(x0 + vx * index)) % (width + 100) - 50
            y = round(float(y0 + vy * index)) % (height + 100) - 50
            s = int(size)
            if kind == "circle":
                cv2.circle(frame, (x, y), s, colour, -1, cv2.LINE_AA)
                cv2.circle(frame, (x, y), s, outline, thick, cv2.LINE_AA)
            elif kind == "ellipse":
                cv2.ellipse(frame, (x, y), (s, s // 2), 15, 0, 360, colour, -1, cv2.LINE_AA)
                cv2.ellipse(frame, (x, y), (s, s // 2), 15, 0, 360, outline, thick, cv2.LINE_AA)
            elif kind == "rect":
                cv2.rectangle(
                    frame, (x - s, y - s // 2), (x + s, y + s // 2), colour, -1, cv2.LINE_AA
                )
                cv2.rectangle(
                    frame, (x - s, y - s // 2), (x + s, y + s // 2), outline, thick, cv2.LINE_AA
                )
            else:
                points = np.array([[x, y - s], [x + s, y + s], [x - s, y + s]], dtype=np.int32)
                cv2.fillPoly(frame, [points], colour, cv2.LINE_AA)
                cv2.polylines(frame, [points], True, outline, thick, cv2.LINE_AA)
        yield frame


def _photo_motion_frames(
    photo: np.ndarray, width: int, height: int, frames: int, motion: str, seed: int
) -> Iterator[np.ndarray]:
    """A slow pan or zoom over an (upscaled) photo, resampled once per frame (bicubic)."""
    import cv2

    rng = _rng(seed)
    photo_h, photo_w = photo.shape[:2]
    base = max(width / photo_w, height / photo_h) * 1.12
    span_x = photo_w * base - width
    span_y = photo_h * base - height
    if motion == "pan":
        start = np.array([rng.uniform(0, span_x), rng.uniform(0, span_y)])
        end = np.array([rng.uniform(0, span_x), rng.uniform(0, span_y)])
    else:
        centre = np.array([rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)])
        zoom_in = bool(rng.integers(0, 2))
    for index in range(frames):
        t = index / max(1, frames - 1)
        if motion == "pan":
            scale = base
            offset = start + (end - start) * t
        else:
            zoom = 1.0 + 0.08 * (t if zoom_in else 1 - t)
            scale = base * zoom
            # keep the chosen photo point at the same place in the frame, inside the photo
            offset = centre * np.array([photo_w * scale - width, photo_h * scale - height])
        matrix = np.array([[scale, 0, -offset[0]], [0, scale, -offset[1]]], dtype=np.float32)
        yield cv2.warpAffine(
            photo, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
        )


def _cap_side(image: np.ndarray, limit: int) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    if max(height, width) <= limit:
        return image
    factor = limit / max(height, width)
    size = (round(width * factor), round(height * factor))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _colour_image(root: Root) -> np.ndarray:
    import cv2

    rng = _rng(root.seed)
    width = int(rng.integers(256, 641))
    height = int(rng.integers(256, 481))
    kind = root.get("kind")
    if kind == "blocks":
        cells_y, cells_x = int(rng.integers(2, 9)), int(rng.integers(2, 9))
        small = np.array(
            [[_saturated(rng) for _ in range(cells_x)] for _ in range(cells_y)], np.uint8
        )
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
        if rng.random() < 0.5:  # soften half of them into gradients between the blocks
            image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(image)
    if kind == "hue_gradient":
        xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
        ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
        turns = rng.uniform(0.5, 2.0)
        hue = ((xs * turns + rng.uniform(0, 1) + 0.2 * ys) % 1.0) * 179
        saturation = np.clip(255 - 60 * ys * rng.uniform(0, 1), 0, 255) + 0 * xs
        value = np.clip(255 - 80 * (1 - ys) * rng.uniform(0, 1), 0, 255) + 0 * xs
        hsv = np.stack([hue + 0 * ys, saturation, value], axis=2).astype(np.uint8)
        return np.ascontiguousarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR))
    photo = _load_photo(root.get("photo"))
    photo_h, photo_w = photo.shape[:2]
    width, height = min(width, photo_w), min(height, photo_h)  # every colour photo is >= 256^2
    x = int(rng.integers(0, photo_w - width + 1))
    y = int(rng.integers(0, photo_h - height + 1))
    crop = photo[y : y + height, x : x + width]
    if rng.random() < 0.5:  # boost saturation: strongly coloured material is the FP risk
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[:, :, 1] = np.clip(hsv[:, :, 1] * 1.6, 0, 255)
        crop = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    return np.ascontiguousarray(crop)


def _natural_frames(root: Root, natural_dir: Path) -> Iterator[np.ndarray]:
    import cv2

    start, count = int(root.get("start")), int(root.get("frames"))
    resize = root.get("resize")
    taken = 0
    for index, frame in enumerate(_decode(natural_dir / root.get("file"))):
        if index < start:
            continue
        bgr = frame.to_ndarray(format="bgr24")
        if resize is not None:
            bgr = cv2.resize(bgr, tuple(resize), interpolation=cv2.INTER_LANCZOS4)
        yield np.ascontiguousarray(bgr)
        taken += 1
        if taken >= count:
            return


def _root_frames(root: Root, natural_dir: Path) -> Iterator[np.ndarray]:
    kind = root.get("type")
    if kind == "natural":
        yield from _natural_frames(root, natural_dir)
    elif kind == "synth":
        width, height = root.get("size")
        yield from _synth_frames(
            root.get("content"), width, height, int(root.get("frames")), root.seed
        )
    elif kind == "photo_motion":
        width, height = root.get("size")
        photo = _load_photo(root.get("photo"))
        yield from _photo_motion_frames(
            photo, width, height, int(root.get("frames")), root.get("motion"), root.seed
        )
    elif kind == "photo_still":
        yield _cap_side(_load_photo(root.get("photo")), STILL_MAX_SIDE)
    elif kind == "colour":
        yield _colour_image(root)
    else:
        raise ValueError(f"unknown recipe type {kind!r}")


# --------------------------------------------------------------------------- media I/O


def _decode(path: Path) -> Iterator[Any]:
    """Decoded video frames of ``path`` (single-threaded decoder)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        yield from container.decode(stream)


#: A yuv420p frame as its Y (H, W), U and V (H / 2, W / 2) planes.
Planes = tuple[np.ndarray, ...]


def frame_planes(frame: Any) -> Planes:
    """Copies of the Y, U and V planes of a decoded frame, converted to yuv420p if needed."""
    yuv = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
    planes = []
    for plane in yuv.planes:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        planes.append(np.array(rows[: plane.height, : plane.width]))
    return tuple(planes)


def bgr_to_planes(bgr: np.ndarray) -> Planes:
    """BGR -> yuv420p planes with swscale (PyAV's defaults: BT.601 limited range)."""
    import av

    return frame_planes(av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24"))


def _filled_frame(av: Any, planes: Sequence[np.ndarray], width: int, height: int, fmt: str) -> Any:
    """A new frame holding ``planes``, its row padding filled by repeating each row's last byte.

    Encoders read the padding bytes past the picture width when the width is not a multiple
    of 16 (x264 does, for 854 or 426): left uninitialised, they make the bitstream depend on
    whatever the allocator handed out, so two builds of the same frames would differ.
    """
    frame = av.VideoFrame(width, height, fmt)
    for plane, data in zip(frame.planes, planes, strict=True):
        buffer = np.frombuffer(memoryview(plane), np.uint8)
        rows, used = data.shape
        view = buffer[: rows * plane.line_size].reshape(rows, plane.line_size)
        view[:, :used] = data
        view[:, used:] = data[:, -1:]
        buffer[rows * plane.line_size :] = 0
    return frame


class VideoOut:
    """A single-threaded, bit-exact-muxed video writer; frames get consecutive timestamps."""

    def __init__(self, path: Path, codec: Codec, width: int, height: int, rate: Fraction) -> None:
        import av

        self.path = path
        self.codec = codec
        self.rate = Fraction(rate)
        self.width = width
        self.height = height
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._av = av
        self._container = av.open(str(path), mode="w", options={"fflags": "+bitexact"})
        stream: Any = self._container.add_stream(codec.encoder, rate=self.rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = codec.pix_fmt
        stream.time_base = 1 / self.rate
        stream.options = dict(codec.options)
        stream.codec_context.thread_count = 1
        self._stream = stream

    def add(self, frame: Any) -> None:
        frame.pts = self.count
        frame.time_base = 1 / self.rate
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.count += 1

    def add_planes(self, planes: Planes) -> None:
        """Encode one yuv420p frame given as its (Y, U, V) planes."""
        if self.codec.pix_fmt != "yuv420p":
            raise ValueError(f"{self.path.name}: {self.codec.encoder} is not fed yuv420p")
        self._check(planes[0].shape)
        self.add(_filled_frame(self._av, planes, self.width, self.height, "yuv420p"))

    def add_bgr(self, bgr: np.ndarray) -> None:
        """Encode one BGR frame (converted to yuv420p by swscale, BT.601, for YUV encoders)."""
        self._check(bgr.shape[:2])
        if self.codec.pix_fmt == "yuv420p":
            self.add_planes(bgr_to_planes(bgr))
        elif self.codec.pix_fmt == "bgr0":
            packed = np.zeros((self.height, self.width, 4), np.uint8)
            packed[:, :, :3] = bgr
            flat = packed.reshape(self.height, self.width * 4)
            self.add(_filled_frame(self._av, (flat,), self.width, self.height, "bgr0"))
        else:
            raise ValueError(f"{self.path.name}: no BGR path for {self.codec.pix_fmt}")

    def _check(self, shape: tuple[int, ...]) -> None:
        if tuple(shape[:2]) != (self.height, self.width):
            raise ValueError(
                f"{self.path.name}: frame {tuple(shape[:2])} is not {self.height}x{self.width}"
            )

    def close(self) -> int:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        return self.count


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]):
        raise OSError(f"cannot write {path}")


def _write_jpeg(path: Path, image: np.ndarray, quality: int, sampling: str) -> None:
    import cv2

    factor = {
        "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    }[sampling]
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, params):
        raise OSError(f"cannot write {path}")


def _read_image(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read {path}")
    return np.ascontiguousarray(image)


# --------------------------------------------------------------------------- geometry


def _odd(value: float) -> int:
    number = max(1, round(value))
    return number if number % 2 else number + 1


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the 10% crop: 5% off each side, at odd offsets."""
    x, y = _odd(0.05 * width), _odd(0.05 * height)
    return x, y, width - 2 * x, height - 2 * y


def _scaled(width: int, height: int, factor: float, even: bool) -> tuple[int, int]:
    if even:
        return _even(width * factor), _even(height * factor)
    return max(1, round(width * factor)), max(1, round(height * factor))


# --------------------------------------------------------------------------- manifest entries


@dataclass
class Item:
    """What one written file is (becomes one manifest line)."""

    path: str
    kind: str
    source: str
    content: str
    mark: str
    attack: str
    width: int
    height: int
    frames: int
    fps: float | None
    seed: int
    parent: str | None
    root: str
    payload: str | None = None
    hypothesis: str | None = None
    key: str | None = None
    attack_params: dict[str, Any] = field(default_factory=dict)
    embed: dict[str, Any] | None = None
    codec: str | None = None
    pix_fmt: str | None = None
    lossless: bool = False
    native_width: int | None = None
    native_height: int | None = None
    tags: tuple[str, ...] = ()
    fps_rational: str | None = None
    lossless_max_abs_diff: int | None = None

    def as_json(self, outdir: Path) -> dict[str, Any]:
        duration = None
        if self.kind == "video" and self.fps:
            duration = round(self.frames / self.fps, 6)
        record: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "source": self.source,
            "content": self.content,
            "mark": self.mark,
            "payload": self.payload,
            "hypothesis": self.hypothesis,
            "key": self.key,
            "attack": self.attack,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "fps": None if self.fps is None else round(self.fps, 6),
            "duration_seconds": duration,
            "seed": self.seed,
            "parent": self.parent,
            "root": self.root,
            "attack_params": self.attack_params,
            "embed": self.embed,
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
            "lossless": self.lossless,
            "native_width": self.native_width,
            "native_height": self.native_height,
            "tags": list(self.tags),
            "bytes": (outdir / self.path).stat().st_size,
        }
        record["fps_rational"] = self.fps_rational
        record["lossless_max_abs_diff"] = self.lossless_max_abs_diff
        return record


def _derived(parent: Item, path: str, **changes: Any) -> Item:
    values = dict(parent.__dict__)
    values.update(path=path, parent=parent.path, **changes)
    return Item(**values)


# --------------------------------------------------------------------------- base items


def _base_path(root: Root) -> str:
    suffix = BASE_CODEC.suffix if root.kind == "video" else ".png"
    return f"unmarked/{root.name}/none{suffix}"


def _root_item(root: Root, relative: str, width: int, height: int, **fields: Any) -> Item:
    """The manifest entry of an unmarked original (its own root and parent of its attacks)."""
    native = root.native or (width, height)
    return Item(
        path=relative,
        source=root.source,
        content=root.content,
        mark="none",
        attack="none",
        width=width,
        height=height,
        seed=root.seed,
        parent=None,
        root=relative,
        native_width=native[0],
        native_height=native[1],
        tags=root.tags,
        **fields,
    )


def _build_root(outdir: Path, root: Root, natural_dir: Path, natural_info: dict[str, Any]) -> Item:
    relative = _base_path(root)
    destination = outdir / relative
    if root.kind == "image":
        image = next(iter(_root_frames(root, natural_dir)))
        _write_png(destination, image)
        height, width = image.shape[:2]
        return _root_item(
            root,
            relative,
            width,
            height,
            kind="image",
            frames=1,
            fps=None,
            codec="png",
            pix_fmt="bgr24",
            lossless=True,
        )
    rate = _recipe_fps(root, natural_info)
    width, height = _recipe_size(root)
    writer = VideoOut(destination, BASE_CODEC, width, height, rate)
    for frame in _root_frames(root, natural_dir):
        writer.add_bgr(frame)
    count = writer.close()
    return _root_item(
        root,
        relative,
        width,
        height,
        kind="video",
        frames=count,
        fps=float(rate),
        fps_rational=str(rate),
        codec=BASE_CODEC.encoder,
        pix_fmt=BASE_CODEC.pix_fmt,
        attack_params={"codec": BASE_CODEC.describe()},
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


# --------------------------------------------------------------------------- marks


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


def _finalize_rule(payload: Payload, hypothesis: dwtdct.Hypothesis, index: int) -> str:
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
    image: np.ndarray, payload: Payload, hypothesis: dwtdct.Hypothesis, rule: str
) -> np.ndarray:
    if hypothesis.domain == "uint8":
        marked = dwtdct.embed(
            image, payload, domain="uint8", channel_order=hypothesis.channel_order
        )
        return np.ascontiguousarray(marked)
    floating = dwtdct.embed(
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
    hypothesis: dwtdct.Hypothesis,
    index: int,
    frames: int,
) -> list[Item]:
    """Mark ``base`` (an image, or the first ``frames`` frames of a clip) and attack it."""
    rule = _finalize_rule(payload, hypothesis, index)
    directory = f"dwtdct/{payload.name}/{hypothesis.name}/{Path(base.path).parent.name}"
    embed_info = {
        "function": "provenance.watermark.dwtdct.embed",
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


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One unit of work for a worker process; ``args`` is plain JSON data."""

    stage: str  # root | unmarked_attacks | keyed | dwtdct
    cost: float
    args: dict[str, Any]


def _root_json(root: Root) -> dict[str, Any]:
    values = dict(root.__dict__)
    values["recipe"] = [list(pair) for pair in root.recipe]
    return values


def _root_from(data: dict[str, Any]) -> Root:
    values = dict(data)
    values["recipe"] = tuple(
        (name, tuple(value) if isinstance(value, list) else value) for name, value in data["recipe"]
    )
    values["tags"] = tuple(data["tags"])
    values["native"] = tuple(data["native"]) if data["native"] is not None else None
    return Root(**values)


def _item_json(item: Item) -> dict[str, Any]:
    values = dict(item.__dict__)
    values["tags"] = list(item.tags)
    return values


def _item_from(data: dict[str, Any]) -> Item:
    return Item(**{**data, "tags": tuple(data["tags"])})


# glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_PERTURB = -6
_PERTURB_BYTE = 0x5A


def deterministic_heap() -> bool:
    """Make freshly allocated heap memory hold a fixed byte in this process (glibc only).

    libx264 reads some bytes it never wrote when the frame width is not a multiple of 16
    (854, 426, ...: measured here), so its bitstream, and the decoded pixels, would depend on
    what the process allocated and freed before. ``M_PERTURB`` fills every allocation with a
    fixed byte, and a fixed ``M_MMAP_THRESHOLD`` stops glibc from switching allocations
    between zeroed mmap pages and the heap according to history. Returns False when the C
    library has no ``mallopt`` (then files may differ between builds at such widths).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    threshold_set = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1
    return bool(threshold_set and mallopt(_M_PERTURB, _PERTURB_BYTE) == 1)


def _worker_init() -> bool:
    """Set up a worker process; True when its fresh heap memory is filled (M_PERTURB)."""
    import cv2

    cv2.setNumThreads(1)
    return deterministic_heap()


def _run_task(outdir: Path, task: Task) -> list[dict[str, Any]]:
    """Run one task; returns each written item (as JSON data) and its manifest record."""
    args = task.args
    items: list[Item]
    if task.stage == "root":
        root = _root_from(args["root"])
        items = [_build_root(outdir, root, Path(args["natural_dir"]), args["natural_info"])]
    elif task.stage == "unmarked_attacks":
        base = _item_from(args["base"])
        items = _attack_all(outdir, base, str(Path(base.path).parent), VIDEO_ATTACKS)
    elif task.stage == "keyed":
        marked = _keyed_item(outdir, _item_from(args["base"]), args["key"])
        items = [marked, *_attack_all(outdir, marked, str(Path(marked.path).parent), VIDEO_ATTACKS)]
    elif task.stage == "dwtdct":
        payload = payload_by_name(args["payload"])
        hypothesis = next(h for h in dwtdct.ALL_HYPOTHESES if h.name == args["hypothesis"])
        items = _dwtdct_items(
            outdir, _item_from(args["base"]), payload, hypothesis, args["index"], args["frames"]
        )
    else:
        raise ValueError(f"unknown task stage {task.stage!r}")
    return [{"item": _item_json(item), "record": item.as_json(outdir)} for item in items]


class Workers:
    """``jobs`` fresh Python processes running ``build_corpus.py --worker``, fed JSON lines.

    Fresh interpreters rather than forked ones: a fork inherits the caller's threads' locks
    (OpenCV's thread pool deadlocks the child) and heap, and forking works only when this
    module can be found by name. Each worker handles one task at a time.
    """

    def __init__(self, jobs: int) -> None:
        from provenance.batch.pool import child_environment

        env = child_environment()
        command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
        self.heap_perturbed: set[bool] = set()  # as each worker reported it
        self._procs: list[subprocess.Popen[str]] = []
        try:
            for _ in range(jobs):
                self._procs.append(
                    subprocess.Popen(
                        command,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                        encoding="utf-8",
                        env=env,
                    )
                )
        except BaseException:
            self.close(kill=True)
            raise

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: object, value: object, traceback_: object) -> None:
        self.close(kill=kind is not None)

    def close(self, *, kill: bool = False) -> None:
        for proc in self._procs:
            if kill:
                proc.kill()
            elif proc.stdin is not None:
                proc.stdin.close()  # the worker's loop ends at end of input
        for proc in self._procs:
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def run(
        self, outdir: Path, tasks: list[Task], progress: Callable[[str], None]
    ) -> list[dict[str, Any]]:
        """Run tasks, largest first; returns the results in that order."""
        ordered = sorted(tasks, key=lambda task: -task.cost)
        pending = deque(range(len(ordered)))
        busy: dict[int, int] = {}
        results: dict[int, list[dict[str, Any]]] = {}
        started = time.perf_counter()

        def send(worker: int) -> None:
            number = pending.popleft()
            task = ordered[number]
            stdin = self._procs[worker].stdin
            assert stdin is not None
            request = {"outdir": str(outdir), "stage": task.stage, "args": task.args}
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            busy[worker] = number

        with selectors.DefaultSelector() as selector:
            for worker, proc in enumerate(self._procs):
                assert proc.stdout is not None
                selector.register(proc.stdout, selectors.EVENT_READ, worker)
                if pending:
                    send(worker)
            while busy:
                for key, _events in selector.select():
                    worker = key.data
                    proc = self._procs[worker]
                    assert proc.stdout is not None
                    line = proc.stdout.readline()
                    if not line:
                        raise RuntimeError(
                            f"corpus worker {proc.pid} exited (status {proc.wait()}) during "
                            f"task {ordered[busy[worker]].stage}"
                        )
                    reply = json.loads(line)
                    number = busy.pop(worker)
                    if "error" in reply:
                        raise RuntimeError(
                            f"corpus task {ordered[number].stage} failed:\n{reply['error']}"
                        )
                    results[number] = reply["records"]
                    self.heap_perturbed.add(bool(reply["heap_perturbed"]))
                    _report(progress, len(results), len(ordered), started)
                    if pending:
                        send(worker)
        return [record for number in sorted(results) for record in results[number]]


def _worker_main() -> int:
    """The worker loop: one JSON task per input line, one JSON reply per output line."""
    from provenance.batch.worker import protocol_stream

    protocol = protocol_stream()
    heap_perturbed = _worker_init()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            task = Task(request["stage"], 0.0, request["args"])
            reply: dict[str, Any] = {
                "records": _run_task(Path(request["outdir"]), task),
                "heap_perturbed": heap_perturbed,
            }
        except Exception:
            reply = {"error": traceback.format_exc()}
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()
    return 0


def _report(progress: Callable[[str], None], done: int, total: int, started: float) -> None:
    step = max(1, total // 20)
    if done == total or done % step == 0:
        progress(f"  {done}/{total} tasks, {time.perf_counter() - started:.0f} s")


def _video_cost(frames: int, width: int, height: int) -> float:
    return frames * width * height / 1e6


# --------------------------------------------------------------------------- build


def _default_shared() -> Path:
    override = os.environ.get("PROVENANCE_SHARED_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return REPO.parent / "shared"


def build_corpus(
    outdir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    size: str = "full",
    shared: str | Path | None = None,
    jobs: int = 1,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build the corpus into ``outdir`` and return the path of ``corpus.jsonl``.

    Parameters
    ----------
    outdir
        Destination folder (created; files of a previous build with the same names are
        overwritten, other files are left alone).
    seed
        Corpus seed: every item's seed, the synthetic content, the photo motions, the colour
        crops and the keyed key (``corpus-key-<seed>``) follow from it.
    size
        ``"full"`` (the evaluation corpus) or ``"quick"`` (a smoke-test corpus).
    shared
        The ``shared`` folder holding ``fixtures/natural`` (default ``../shared`` next to the
        repository, or ``$PROVENANCE_SHARED_DIR``).
    jobs
        Worker processes, each a fresh interpreter (1: one worker, never this process).
    only
        Shell patterns: build only the roots whose name matches one, and what derives from them.
    progress
        Called with one-line progress messages (default: silent).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    shared_dir = Path(shared).expanduser().resolve() if shared is not None else _default_shared()
    natural_dir = shared_dir / "fixtures" / "natural"
    if not natural_dir.is_dir():
        raise FileNotFoundError(
            f"natural clips not found in {natural_dir}; pass --shared DIR (the folder that holds "
            "fixtures/natural)"
        )
    spec = SIZES[size]
    key = corpus_key(seed)
    roots, natural_info = _plan(seed, spec, natural_dir)
    # the float32-BGR finalisation alternates between the sources of the whole plan
    dwtdct_index = _dwtdct_indices(roots)
    if only:
        roots = [root for root in roots if any(fnmatch.fnmatchcase(root.name, p) for p in only)]
        if not roots:
            raise ValueError(f"no root matches {list(only)}")
    say(f"Planned {len(roots)} roots ({size}, seed {seed}); building the unmarked originals")

    root_tasks = [
        Task(
            "root",
            _video_cost(int(root.get("frames", 1)), *_recipe_size(root))
            if root.kind == "video"
            else 0.3,
            {
                "root": _root_json(root),
                "natural_dir": str(natural_dir),
                "natural_info": natural_info,
            },
        )
        for root in roots
    ]
    with Workers(jobs) as workers:
        records = workers.run(outdir, root_tasks, say)
        tasks = _derived_tasks(roots, records, dwtdct_index, key)
        say(f"Building {len(tasks)} marking / attack tasks on {jobs} process(es)")
        records += workers.run(outdir, tasks, say)
        heap_perturbed = workers.heap_perturbed == {True}

    manifest = [result["record"] for result in records]
    manifest.sort(key=lambda record: record["path"])
    manifest_path = outdir / MANIFEST_NAME
    with manifest_path.open("w", encoding="utf-8") as handle:
        for record in manifest:
            handle.write(json.dumps(record, sort_keys=False) + "\n")
    elapsed = time.perf_counter() - started
    summary = _summary(
        manifest,
        seed=seed,
        size=size,
        key=key,
        jobs=jobs,
        only=only,
        natural_info=natural_info,
        elapsed=elapsed,
        heap_perturbed=heap_perturbed,
    )
    (outdir / SUMMARY_NAME).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    say(f"Wrote {len(manifest)} items in {elapsed:.0f} s")
    return manifest_path


def _derived_tasks(
    roots: Sequence[Root], records: list[dict[str, Any]], dwtdct_index: dict[str, int], key: str
) -> list[Task]:
    """The marking and attack tasks, once the unmarked originals are written."""
    bases = {Path(result["item"]["path"]).parent.name: result["item"] for result in records}

    tasks: list[Task] = []
    for root in roots:
        base = bases[root.name]
        area = base["width"] * base["height"] / 1e6
        if root.kind == "image":
            tasks.append(Task("unmarked_attacks", 0.5, {"base": base}))
        else:
            tasks.append(Task("unmarked_attacks", base["frames"] * area * 16, {"base": base}))
            if root.keyed:
                tasks.append(Task("keyed", base["frames"] * area * 17, {"base": base, "key": key}))
        if root.dwtdct_image or root.dwtdct_frames:
            frames = root.dwtdct_frames
            cost = 2.0 if root.kind == "image" else frames * area * 8
            for payload in PAYLOADS:
                for hypothesis in dwtdct.ALL_HYPOTHESES:
                    args = {
                        "base": base,
                        "payload": payload.name,
                        "hypothesis": hypothesis.name,
                        "index": dwtdct_index[root.name],
                        "frames": frames,
                    }
                    tasks.append(Task("dwtdct", cost, args))
    return tasks


def _dwtdct_indices(roots: Sequence[Root]) -> dict[str, int]:
    """Position of each dwtDct source among those of its kind (alternates float32 rounding)."""
    indices: dict[str, int] = {}
    for kind in ("image", "video"):
        names = [r.name for r in roots if r.kind == kind and (r.dwtdct_image or r.dwtdct_frames)]
        indices.update((name, number) for number, name in enumerate(names))
    return indices


# --------------------------------------------------------------------------- summary


def _versions() -> dict[str, Any]:
    import av
    import cv2
    import skimage

    library = {
        name: ".".join(str(part) for part in value) for name, value in av.library_versions.items()
    }
    return {
        "python": platform.python_version(),
        "av": av.__version__,
        "ffmpeg": getattr(av, "ffmpeg_version_info", None),
        "ffmpeg_libraries": library,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "skimage": getattr(skimage, "__version__", None),
        "platform": platform.platform(),
    }


def _summary(
    manifest: list[dict[str, Any]],
    *,
    seed: int,
    size: str,
    key: str,
    jobs: int,
    only: Sequence[str] | None,
    natural_info: dict[str, Any],
    elapsed: float,
    heap_perturbed: bool,
) -> dict[str, Any]:
    by_class: Counter[str] = Counter()
    keyed_per_attack: Counter[str] = Counter()
    dwt: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    unmarked_images = unmarked_frames = unmarked_video = 0
    distinct_images = distinct_frames = 0
    by_content: Counter[str] = Counter()
    total_bytes = 0
    lossless_checked = 0
    for record in manifest:
        total_bytes += record["bytes"]
        by_class[f"{record['mark']}/{record['kind']}/{record['attack']}"] += 1
        if record["mark"] == "keyed" and "keyed_target" in record["tags"]:
            keyed_per_attack[record["attack"]] += 1
        if record["mark"] == "dwtdct":
            variant = f"{record['payload']}/{record['hypothesis']}"
            dwt[record["kind"]][record["attack"]][variant] += 1
        if record.get("lossless_max_abs_diff") == 0:
            lossless_checked += 1
        if record["mark"] == "none":
            by_content[f"{record['kind']}/{record['content']}"] += record["frames"]
            if record["kind"] == "image":
                unmarked_images += 1
                distinct_images += record["attack"] == "none"
            else:
                unmarked_video += 1
                unmarked_frames += record["frames"]
                if record["attack"] == "none":
                    distinct_frames += record["frames"]
    dwtdct_counts = {
        kind: {
            attack: {"min_per_variant": min(counter.values()), "variants": len(counter)}
            for attack, counter in sorted(attacks.items())
        }
        for kind, attacks in sorted(dwt.items())
    }
    return {
        "generator": "datasets/build_corpus.py",
        "seed": seed,
        "size": size,
        "only": list(only) if only else None,
        "keyed_key": key,
        "jobs": jobs,
        "build_seconds": round(elapsed, 1),
        "built_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": _versions(),
        "items": len(manifest),
        "bytes": total_bytes,
        "counts": {
            "by_mark_kind_attack": dict(sorted(by_class.items())),
            "keyed_target_clips_per_attack": dict(sorted(keyed_per_attack.items())),
            "dwtdct_items_per_payload_hypothesis": dwtdct_counts,
            "unmarked": {
                "images": unmarked_images,
                "video_items": unmarked_video,
                "video_frames": unmarked_frames,
                "frames_plus_images": unmarked_frames + unmarked_images,
                "distinct_images_unattacked": distinct_images,
                "distinct_video_frames_unattacked": distinct_frames,
                "frames_plus_images_by_kind_content": dict(sorted(by_content.items())),
            },
            "lossless_items_verified_bit_exact": lossless_checked,
        },
        "natural_sources": natural_info,
        "attacks": {
            "video": {attack.name: attack.describe() for attack in VIDEO_ATTACKS},
            "dwtdct_video": {attack.name: attack.describe() for attack in DWTDCT_VIDEO_ATTACKS},
            "image": {attack.name: attack.describe() for attack in IMAGE_ATTACKS},
            "aliases": {"png": "none (every image 'none' item is a PNG)"},
        },
        "base_codec": BASE_CODEC.describe(),
        "lossless_codec": FFV1_BGR0.describe(),
        "heap_perturbation": heap_perturbed,  # every worker reported M_PERTURB in effect
        "determinism": (
            "Decoded frames depend only on the seed and the library versions. Encoders are "
            "single-threaded, frames are handed to them with their row padding filled, "
            "containers are muxed with fflags=+bitexact and the workers fill fresh heap memory "
            "with a fixed byte (glibc M_PERTURB; libx264 reads bytes it never wrote at widths "
            "that are not multiples of 16), so files are byte-identical for the same versions "
            "whatever --jobs or --only is. Only this file's build_seconds / built_utc differ."
        ),
    }


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build the corpus and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path, help="folder to write the corpus into")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"corpus seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--size", choices=sorted(SIZES), default="full", help="corpus size (default full)"
    )
    parser.add_argument(
        "--shared", type=Path, default=None, help="the shared folder (default ../shared)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="PATTERN",
        help="build only these roots (shell patterns)",
    )
    arguments = parser.parse_args(argv)
    manifest_path = build_corpus(
        arguments.outdir,
        seed=arguments.seed,
        size=arguments.size,
        shared=arguments.shared,
        jobs=arguments.jobs,
        only=arguments.only,
        progress=lambda message: print(message, flush=True),
    )
    summary = json.loads((manifest_path.parent / SUMMARY_NAME).read_text(encoding="utf-8"))
    counts = summary["counts"]
    print(
        f"Manifest: {manifest_path} ({summary['items']} items, {summary['bytes'] / 1e6:.0f} MB, {summary['build_seconds']:.0f} s)"
    )
    unmarked = counts["unmarked"]
    print(
        f"  unmarked: {unmarked['images']} images + {unmarked['video_frames']} frames in {unmarked['video_items']} clips"
    )
    if counts["keyed_target_clips_per_attack"]:
        low = min(counts["keyed_target_clips_per_attack"].values())
        print(f"  keyed: >= {low} marked target clips per attack")
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main() if sys.argv[1:] == ["--worker"] else main())
