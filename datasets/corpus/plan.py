"""The plan: every unmarked original (:class:`Root`) of a corpus size, and which get marked.

A root is a recipe (natural clip or segment, photo pan / zoom, synthetic clip, still, colour
image) plus its own seed, derived from the corpus seed and its name; nothing is written here.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from provenance.media.sampling import evenly_spaced_indices

from .sizes import (
    ASL_STEMS,
    BOTTLE,
    COLOUR_PHOTOS,
    PERSON,
    SYNTH_CONTENTS,
    TARGET_SIZE_480P,
    SizeSpec,
)


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
    generator: str | None = None  # written as this generator writes (see generators.py)

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
    if root.get("type") == "natural" and root.get("fps") is None:
        return Fraction(natural_info[root.get("file")]["fps_rational"])
    return Fraction(int(root.get("fps", 24)))


def _recipe_size(root: Root) -> tuple[int, int]:
    size = root.get("resize") or root.get("size") or root.get("fit")
    if size is not None:
        return int(size[0]), int(size[1])
    assert root.native is not None
    return root.native
