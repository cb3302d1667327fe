"""What the corpus holds: the seed, the keyed key, and the two sizes (``full`` and ``quick``).

:data:`SIZES` says how many roots of each class a size has, how long its clips are, which
roots are marked and how many are written as the generators write them; the constants below
it name the natural sources and the content classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The repository root (``datasets/`` lives there, beside ``provenance/``).
REPO = Path(__file__).resolve().parents[2]
DEFAULT_SEED = 20261124


def corpus_key(seed: int) -> str:
    """The keyed-mark key of a corpus built with ``seed``."""
    return f"corpus-key-{seed}"


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
    # written as the generators write them (see generators.py): (model, frames, clips) and
    # stills per still generator (SDXL, FLUX), each marked and unmarked
    generator_clips: tuple[tuple[str, int, int], ...]
    generator_stills: int


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
        generator_clips=(("svd", 14, 60), ("svd_xt", 25, 60)),
        generator_stills=60,
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
        generator_clips=(("svd", 14, 1), ("svd_xt", 25, 1)),
        generator_stills=1,
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
