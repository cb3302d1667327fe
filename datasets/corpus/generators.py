"""Items made the way real generators make them: SVD / SVD-XT clips through SVD's two MP4
writers, SDXL and FLUX stills through their save paths, each marked and unmarked.

The content is camera footage (``shared/fixtures/natural``) scaled to cover the generator's
size and centre-cropped (:func:`~datasets.corpus.media_io.fit_cover`, Lanczos): 1024x576 for
SVD, 1024x1024 for SDXL, 1360x768 for FLUX (its command line's default). Clips take every
second frame of the 30 fps sources (every frame of the 10 fps one), closer to the motion per
frame of SVD's 7 fps output. Each such picture set is a root (an H.264 CRF 18 clip at 7 fps,
or a PNG) whose decoded frames play the generator's output:

* unmarked: written through each of the generator's writers
  (``unmarked/<root>/<writer>.<ext>``): false-positive material;
* marked: the generator's own mark, then the same writers
  (``dwtdct/<payload>/float32-bgr/<root>/<writer>.<ext>``): SVD and SDXL embed the SDXL
  48-bit message, FLUX its 46-bit one, from float32 BGR, then back to uint8 as each code does
  (SVD and generative-models SDXL truncate, diffusers SDXL rounds, FLUX goes through
  ``[-1, 1]`` and truncates; see :data:`~datasets.corpus.marking.FINALIZE_NOTES`).

The manifest says the writer in ``attack`` and ``writer`` (:mod:`.writers`), and the model in
``tags`` (``svd``: 14 frames, ``svd_xt``: 25 frames, ``sdxl``, ``flux``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from provenance.media.sampling import evenly_spaced_indices
from provenance.watermark.dwtdct_scheme import ALL_HYPOTHESES
from provenance.watermark.payloads import payload_by_name

from .attacks import _frame_bgr
from .manifest import Item, _derived
from .marking import FINALIZE_NOTES, _dwtdct_mark
from .media_io import _decode, _read_image
from .plan import Root, _derive_seed, _jsonable_info, _probe_natural
from .sizes import ASL_STEMS, BOTTLE, PERSON, SizeSpec
from .writers import SVD_MP4V_FPS, WRITERS, opencv_bit_rate, write

HYPOTHESIS = next(h for h in ALL_HYPOTHESES if h.name == "float32-bgr")


@dataclass(frozen=True)
class Generator:
    """One generator: what it marks, at which size, and the writers of its output."""

    name: str  # also the tag of its items
    prefix: str  # of its root names
    kind: str  # video | image
    payload: str
    size: tuple[int, int]
    writers: tuple[str, ...]


_SVD_WRITERS = ("svd_mp4v", "svd_imageio_crf25")
GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("svd", "svd", "video", "sdxl", (1024, 576), _SVD_WRITERS),
        Generator("svd_xt", "svdxt", "video", "sdxl", (1024, 576), _SVD_WRITERS),
        Generator("sdxl", "sdxl", "image", "sdxl", (1024, 1024), ("sdxl_png",)),
        Generator("flux", "flux", "image", "flux", (1360, 768), ("flux_jpeg95_444",)),
    )
}
#: Where clip segments and stills come from, shared out in this order.
SOURCE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bottle", (BOTTLE,)),
    ("person", (PERSON,)),
    ("asl", tuple(f"{stem}.mkv" for stem in ASL_STEMS)),
)
#: Frames the stills are taken from: the middle frame of SVD-length segments.
STILL_SEGMENT_FRAMES = 14

# (file, first source frame, step)
Segment = tuple[str, int, int]


def _step(rate: Fraction) -> int:
    return 2 if rate > 20 else 1


def _label(file: str) -> str:
    """Short source name for root names: ``bottle``, ``person``, ``asl-book``, ..."""
    labels = {BOTTLE: "bottle", PERSON: "person"}
    return labels.get(file) or "asl-" + Path(file).stem.removeprefix("asl_gestures_")


def _shares(count: int, capacities: Sequence[int]) -> list[int]:
    """``count`` shared out one at a time, in turn, over groups that still have room."""
    shares = [0] * len(capacities)
    while sum(shares) < count:
        moved = False
        for number, capacity in enumerate(capacities):
            if sum(shares) < count and shares[number] < capacity:
                shares[number] += 1
                moved = True
        if not moved:
            raise ValueError(f"only {sum(capacities)} natural segments, {count} wanted")
    return shares


def _segments(info: dict[str, dict[str, Any]], frames: int, count: int) -> list[Segment]:
    """``count`` non-overlapping segments of ``frames`` frames, shared out over the source
    groups and evenly spread within each."""
    pools: list[list[Segment]] = []
    for _, files in SOURCE_GROUPS:
        pool: list[Segment] = []
        for file in files:
            step = _step(info[file]["rate"])
            span = frames * step
            pool += [(file, k * span, step) for k in range(info[file]["frames"] // span)]
        pools.append(pool)
    picks: list[Segment] = []
    for pool, share in zip(pools, _shares(count, [len(p) for p in pools]), strict=True):
        if share:
            picks += [pool[i] for i in evenly_spaced_indices(len(pool), share)]
    return picks


def generator_roots(
    seed: int, spec: SizeSpec, natural_dir: Path
) -> tuple[list[Root], dict[str, Any]]:
    """The roots written as the generators write them, and what was found about the sources."""
    files = [file for _, group in SOURCE_GROUPS for file in group]
    info = {file: _probe_natural(natural_dir / file) for file in files}
    roots: list[Root] = []
    for model, frames, count in spec.generator_clips:
        generator = GENERATORS[model]
        for file, start, step in _segments(info, frames, count):
            name = f"{generator.prefix}_{_label(file)}_s{start // (frames * step):02d}"
            recipe: tuple[tuple[str, Any], ...] = (
                ("start", start),
                ("frames", frames),
                ("step", step),
                ("fps", SVD_MP4V_FPS),
            )
            roots.append(_root(seed, name, generator, file, info[file], recipe))
    stills = _segments(info, STILL_SEGMENT_FRAMES, spec.generator_stills)
    for number, (file, start, step) in enumerate(stills):
        frame = start + (STILL_SEGMENT_FRAMES // 2) * step
        for model in ("sdxl", "flux"):
            generator = GENERATORS[model]
            # SDXL alternates between its two save paths, FLUX has one
            pipeline = "flux" if model == "flux" else ("diffusers", "sgm")[number % 2]
            recipe = (("start", frame), ("frames", 1), ("pipeline", pipeline))
            name = f"{generator.prefix}_{_label(file)}_f{frame:04d}"
            roots.append(_root(seed, name, generator, file, info[file], recipe))
    return roots, {file: _jsonable_info(values) for file, values in info.items()}


def _root(
    seed: int,
    name: str,
    generator: Generator,
    file: str,
    info: dict[str, Any],
    recipe: tuple[tuple[str, Any], ...],
) -> Root:
    return Root(
        name,
        generator.kind,
        f"natural:{Path(file).stem}",
        "natural",
        _derive_seed(seed, name),
        (("type", "natural"), ("file", file), *recipe, ("fit", generator.size)),
        tags=(generator.name,),
        native=(info["width"], info["height"]),
        generator=generator.name,
    )


def _finalize(generator: Generator, pipeline: str | None) -> str:
    if generator.payload == "flux":
        return "flux_trunc"
    if generator.name == "sdxl" and pipeline == "diffusers":
        return "round"
    return "trunc"  # SVD's simple_video_sample, generative-models perform_save_locally


_PIPELINES = {
    "svd": "generative-models simple_video_sample.py: embed_watermark on every frame (float32 "
    "BGR, 0..255), clamp to [0, 1], * 255, astype(uint8)",
    "diffusers": "diffusers >= 0.28 StableDiffusionXLWatermarker (float32 BGR), numpy_to_pil "
    "rounds",
    "sgm": "generative-models perform_save_locally: embed_watermark (float32 BGR), "
    "astype(uint8) truncates",
    "flux": "flux util.py save_image: embed_watermark (float32 BGR), 127.5 (x + 1) .byte()",
}


def generator_items(outdir: Path, base: Item, name: str, pipeline: str | None) -> list[Item]:
    """Every writer's file of ``base``'s pictures, unmarked and marked with the generator's
    own mark."""
    generator = GENERATORS[name]
    payload = payload_by_name(generator.payload)
    rule = _finalize(generator, pipeline)
    if base.kind == "video":
        frames = [_frame_bgr(frame) for frame in _decode(outdir / base.path)]
    else:
        frames = [_read_image(outdir / base.path)]
    marked = [_dwtdct_mark(frame, payload, HYPOTHESIS, rule) for frame in frames]
    root_dir = Path(base.path).parent.name
    embed = {
        "function": "provenance.watermark.dwtdct_embed.embed",
        "domain": HYPOTHESIS.domain,
        "channel_order": HYPOTHESIS.channel_order,
        "finalize": rule,
        "finalize_note": FINALIZE_NOTES[rule],
        "payload_bits": len(payload.bits),
        "pipeline": _PIPELINES[pipeline or "svd"],
    }
    items: list[Item] = []
    for pictures, directory, changes in (
        (frames, f"unmarked/{root_dir}", {}),
        (
            marked,
            f"dwtdct/{payload.name}/{HYPOTHESIS.name}/{root_dir}",
            {"mark": "dwtdct", "payload": payload.name, "hypothesis": HYPOTHESIS.name},
        ),
    ):
        for writer_name in generator.writers:
            writer = WRITERS[writer_name]
            relative = f"{directory}/{writer.name}{writer.suffix}"
            written = write(writer, outdir / relative, pictures)
            params = dict(writer.params)
            if writer.name == "svd_mp4v":
                params["bit_rate"] = opencv_bit_rate(SVD_MP4V_FPS, written.width, written.height)
            if pipeline is not None:
                params["pipeline"] = pipeline
            rate = None if writer.fps is None else Fraction(writer.fps)
            items.append(
                _derived(
                    base,
                    relative,
                    attack=writer.name,
                    writer=writer.name,
                    frames=written.frames,
                    width=written.width,
                    height=written.height,
                    fps=None if rate is None else float(rate),
                    fps_rational=None if rate is None else str(rate),
                    attack_params=params,
                    codec=writer.encoder,
                    pix_fmt=written.pix_fmt,
                    lossless=writer.lossless,
                    embed=embed if changes else None,
                    **changes,
                )
            )
    return items


def generator_cost(base: dict[str, Any]) -> float:
    """Relative cost of one root's writer task (for the largest-first order)."""
    area = base["width"] * base["height"] / 1e6
    return float(base["frames"] * area * (10 if base["kind"] == "video" else 4))
