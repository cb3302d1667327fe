"""The dwtDct decoder and embedder (provenance.watermark), checked bit for bit against the reference.

The reference is invisible-watermark 0.2.0's ``imwatermark/maxDct.py`` (``EmbedMaxDct``),
loaded by file path because ``import imwatermark`` needs torch. It and PyWavelets /
scikit-image are dev-only: the tests that need them skip with a reason when they are missing,
except under ``CI=true`` where that is a failure.

How the per-block comparison works: ``EmbedMaxDct(wmLen=N).decode(x)`` with N equal to the
number of blocks gives every "message bit" exactly one block, so the reference's own decode
path (its cvtColor, ``pywt.dwt2``, block loop and ``infer_dct_matrix``) returns the per-block
hard bits unchanged (a single vote ``v`` passes ``v * 255 > 127`` iff ``v == 1``). Our
``block_bits`` must equal that array exactly.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import provenance.watermark
from provenance.testing.synth import synthetic_frame
from provenance.watermark import (
    ALL_HYPOTHESES,
    FLUX,
    INVOKEAI,
    PAYLOADS,
    SD1,
    SD2,
    SDXL,
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    Payload,
    block_bits,
    decode,
    dwtdct_embed,
    dwtdct_scheme,
    embed,
    payload_by_name,
    score_block_bits,
)
from provenance.watermark.dwtdct_scheme import DOMAINS
from provenance.watermark.payloads import bits_from_bytes, bits_from_integer, bits_from_string

SEED = 20261124
#: Every unmarked image must stay below this |z| for every payload and hypothesis.
UNMARKED_Z_BOUND = 6.0
#: Marked, lossless, matching hypothesis: z must exceed this.
MARKED_Z_FLOOR = 12.0
#: Images whose carrier holds the hard vote (the reference's bit-0 weakness spares them).
GOOD_CARRIERS = ("astronaut-512", "hubble-1000x872")


# --------------------------------------------------------------------------- reference loading


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(f"{reason} (CI=true: the dev-only references are required)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Reference:
    """invisible-watermark's modules, loaded without torch."""

    max_dct: types.ModuleType
    watermark: types.ModuleType
    pywt: types.ModuleType

    def encoder(self, bits: tuple[int, ...]) -> Any:
        return self.max_dct.EmbedMaxDct(list(bits), wmLen=len(bits))

    def block_bits(self, image: np.ndarray) -> np.ndarray:
        """Per-block hard bits through the reference's own decode (one block per bit)."""
        count = (image.shape[0] // 8) * (image.shape[1] // 8)
        decoder = self.max_dct.EmbedMaxDct(watermarks=[], wmLen=count)
        return np.asarray(decoder.decode(image), dtype=np.uint8)

    def voted_bits(self, image: np.ndarray, length: int) -> np.ndarray:
        decoder = self.max_dct.EmbedMaxDct(watermarks=[], wmLen=length)
        return np.asarray(decoder.decode(image), dtype=np.uint8)


@functools.cache
def _load_reference() -> Reference | str:
    try:
        import pywt
    except ImportError:
        return "PyWavelets is not installed (dev-only: pip install -e '.[dev]')"
    spec = importlib.util.find_spec("imwatermark")  # finds the package without executing it
    if spec is None or not spec.submodule_search_locations:
        return "invisible-watermark is not installed (make setup installs it with --no-deps)"
    folder = Path(next(iter(spec.submodule_search_locations)))
    # A private package name with a stub for rivaGan (the only module that imports torch), so
    # that watermark.py (WatermarkEncoder / WatermarkDecoder) loads with its relative imports.
    package_name = "_imwatermark_reference"
    package = types.ModuleType(package_name)
    package.__path__ = [str(folder)]
    riva = types.ModuleType(f"{package_name}.rivaGan")
    riva.RivaWatermark = type("RivaWatermark", (), {})  # type: ignore[attr-defined]
    sys.modules.setdefault(package_name, package)
    sys.modules.setdefault(riva.__name__, riva)
    loaded: dict[str, types.ModuleType] = {}
    for name in ("maxDct", "dwtDctSvd", "watermark"):
        full_name = f"{package_name}.{name}"
        if full_name in sys.modules:
            loaded[name] = sys.modules[full_name]
            continue
        module_spec = importlib.util.spec_from_file_location(full_name, folder / f"{name}.py")
        if module_spec is None or module_spec.loader is None:
            return f"cannot load {folder / name}.py"
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[full_name] = module
        module_spec.loader.exec_module(module)
        loaded[name] = module
    return Reference(max_dct=loaded["maxDct"], watermark=loaded["watermark"], pywt=pywt)


@pytest.fixture(scope="module")
def reference() -> Reference:
    loaded = _load_reference()
    if isinstance(loaded, str):
        _missing(loaded)
    assert isinstance(loaded, Reference)
    return loaded


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    found = _photos()
    if isinstance(found, str):
        _missing(found)
    assert isinstance(found, dict)
    return found


# --------------------------------------------------------------------------- test images

PHOTO_NAMES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "retina",
    "colorwheel",
    "hubble_deep_field",
    "logo",
    "stereo_motorcycle",
)
GREY_NAMES = ("camera", "grass", "brick", "gravel", "moon")


@functools.cache
def _photos() -> dict[str, np.ndarray] | str:
    """skimage's shipped photos as BGR uint8 (colour ones, and grey textures as (H, W))."""
    try:
        from skimage import data
    except ImportError:
        return "scikit-image is not installed (dev-only: pip install -e '.[dev]')"
    found: dict[str, np.ndarray] = {}
    for name in PHOTO_NAMES + GREY_NAMES:
        image = getattr(data, name)()
        if isinstance(image, tuple):  # stereo pairs
            image = image[0]
        if image.ndim == 3:
            image = np.ascontiguousarray(image[:, :, 2::-1])  # RGB(A) -> BGR
        found[name] = image
    return found


def _resize(image: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    interpolation = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)[int(rng.integers(3))]
    return cv2.resize(image, (width, height), interpolation=interpolation)


def _crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows, cols = image.shape[:2]
    height = int(rng.integers(256, rows + 1))
    width = int(rng.integers(256, cols + 1))
    top = int(rng.integers(0, rows - height + 1))
    left = int(rng.integers(0, cols - width + 1))
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def _gradient(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height) / 1.5
    start, stop = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = start + (stop - start) * ramp[:, :, None]
    return np.clip(image, 0, 255).astype(np.uint8)


def _noise(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    centre = rng.uniform(40, 215, 3)
    spread = rng.uniform(5, 60)
    image = rng.normal(centre, spread, size=(height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def _flat_with_texture(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    top, left = int(rng.integers(0, height // 2)), int(rng.integers(0, width // 2))
    patch = image[top : top + height // 3, left : left + width // 3]
    patch[:] = rng.integers(0, 256, size=patch.shape, dtype=np.uint8)
    return image


def _tinted(grey: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    resized = cv2.resize(grey, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    tint = rng.uniform(0.3, 1.0, 3)
    return np.clip(resized[:, :, None] * tint, 0, 255).astype(np.uint8)


#: Fixed sizes (width, height) that must be covered: the extremes and awkward remainders.
FIXED_SIZES = ((256, 256), (1920, 1080), (1080, 1920), (1281, 721), (257, 263), (1001, 333))


@dataclass(frozen=True)
class Sample:
    """One test image, as the decoder is given it."""

    label: str
    image: np.ndarray
    payload: Payload | None = None
    hypothesis: Hypothesis | None = None
    #: the exact array given to the reference encoder (marked samples only)
    fed: np.ndarray | None = None


@functools.cache
def _unmarked_corpus() -> tuple[Sample, ...]:
    found = _photos()
    assert isinstance(found, dict)
    rng = np.random.default_rng(SEED)
    samples: list[Sample] = []
    for name in PHOTO_NAMES:
        photo = found[name]
        samples.append(Sample(name, photo))
        samples.extend(Sample(f"{name}-crop{index}", _crop(photo, rng)) for index in range(5))
        for index in range(4):
            width, height = int(rng.integers(256, 1101)), int(rng.integers(256, 901))
            resized = _resize(photo, width, height, rng)
            samples.append(Sample(f"{name}-resize{index}-{width}x{height}", resized))
    for index, (width, height) in enumerate(FIXED_SIZES):
        photo = found[PHOTO_NAMES[index % len(PHOTO_NAMES)]]
        samples.append(Sample(f"fixed-{width}x{height}", _resize(photo, width, height, rng)))
    makers: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
        "gradient": _gradient,
        "noise": _noise,
        "flat+texture": _flat_with_texture,
    }
    for kind, make in makers.items():
        for index in range(6):
            width, height = int(rng.integers(256, 900)), int(rng.integers(256, 700))
            samples.append(Sample(f"{kind}{index}-{width}x{height}", make(width, height, rng)))
    for index in range(6):
        width, height = int(rng.integers(256, 900)), int(rng.integers(256, 700))
        rgb = synthetic_frame(index, width=width, height=height, seed=SEED + index)
        samples.append(
            Sample(f"synth{index}-{width}x{height}", np.ascontiguousarray(rgb[:, :, ::-1]))
        )
    for name in GREY_NAMES:
        width, height = int(rng.integers(256, 900)), int(rng.integers(256, 700))
        samples.append(Sample(f"tinted-{name}", _tinted(found[name], width, height, rng)))
    return tuple(samples)


def _fed_array(image: np.ndarray, hypothesis: Hypothesis, rng: np.random.Generator) -> np.ndarray:
    """What a generator of this kind hands the encoder (BGR image -> encoder input)."""
    if hypothesis.domain == "float32":
        # VAE output: float32 in [0, 255], not integer-valued
        data = image.astype(np.float32) + rng.uniform(0.0, 0.99, image.shape).astype(np.float32)
        data = np.minimum(data, np.float32(255.0))
    else:
        data = image
    return np.ascontiguousarray(data[:, :, ::-1] if hypothesis.channel_order == "rgb" else data)


def _quantise(marked: np.ndarray) -> np.ndarray:
    """A generator's float -> uint8 step: clip, then truncate."""
    return np.clip(marked, 0.0, 255.0).astype(np.uint8)


@functools.cache
def _marked_corpus() -> tuple[Sample, ...]:
    """Images marked by the *reference* encoder: every 2nd unmarked one, all payloads/hypotheses."""
    loaded = _load_reference()
    assert isinstance(loaded, Reference)
    rng = np.random.default_rng(SEED + 1)
    samples: list[Sample] = []
    sources = [
        sample
        for sample in _unmarked_corpus()[::2]
        if sample.image.shape[0] * sample.image.shape[1] <= 1100 * 900
    ]
    for index, source in enumerate(sources):
        payload = PAYLOADS[index % len(PAYLOADS)]
        hypothesis = ALL_HYPOTHESES[(index // len(PAYLOADS) + index) % len(ALL_HYPOTHESES)]
        fed = _fed_array(source.image, hypothesis, rng)
        output = loaded.encoder(payload.bits).encode(fed.copy())
        if hypothesis.channel_order == "rgb":
            output = np.ascontiguousarray(output[:, :, ::-1])
        label = f"{source.label}+{payload.name}@{hypothesis.name}"
        samples.append(Sample(label, output, payload, hypothesis, fed))
        if hypothesis.domain == "float32":
            samples.append(Sample(f"{label}:uint8", _quantise(output), payload, hypothesis))
    return tuple(samples)


def _checked_hypothesis(index: int, sample: Sample) -> Hypothesis:
    """The hypothesis an image is checked under by the (slow) reference loop: its own when
    marked, else rotating over all four (float32 arrays: the float32 ones)."""
    if sample.hypothesis is not None:
        return sample.hypothesis
    if sample.image.dtype == np.float32:
        return ALL_HYPOTHESES[0 if index % 2 else 2]
    return ALL_HYPOTHESES[index % len(ALL_HYPOTHESES)]


def _pywt_block_bits(reference: Reference, image: np.ndarray, hypothesis: Hypothesis) -> np.ndarray:
    """Per-block bits from the reference's colour conversion and ``pywt.dwt2``, vectorised."""
    fed = _domain_view(image, hypothesis)
    rows, cols = fed.shape[0] // 4 * 4, fed.shape[1] // 4 * 4
    plane = cv2.cvtColor(fed, cv2.COLOR_BGR2YUV)[:rows, :cols, 1]
    ll = reference.pywt.dwt2(plane, "haar")[0]
    block_rows, block_cols = ll.shape[0] // 4, ll.shape[1] // 4
    blocks = (
        ll[: block_rows * 4, : block_cols * 4]
        .reshape(block_rows, 4, block_cols, 4)
        .transpose(0, 2, 1, 3)
        .reshape(-1, 16)
    )
    position = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    value = np.abs(blocks[np.arange(blocks.shape[0]), position])
    return (value % 36 > 18).astype(np.uint8)


def _domain_view(image: np.ndarray, hypothesis: Hypothesis) -> np.ndarray:
    """The array the reference decoder gets under ``hypothesis``."""
    data = image.astype(np.float32) if hypothesis.domain == "float32" else image
    return np.ascontiguousarray(data[:, :, ::-1] if hypothesis.channel_order == "rgb" else data)


# --------------------------------------------------------------------------- payloads


def test_payload_bit_patterns() -> None:
    assert bits_from_string("".join(map(str, SDXL.bits))) == SDXL.bits
    assert "".join(map(str, SDXL.bits)) == "101100111110110010010000011110111011000110011110"
    assert "".join(map(str, FLUX.bits)) == "1010101111111010000111100111001111010100101110"
    assert (len(SDXL), sum(SDXL.bits)) == (48, 27)
    assert [len(p) for p in (FLUX, SD1, SD2, INVOKEAI)] == [46, 136, 32, 64]
    assert SD2.bits[:8] == (0, 1, 0, 1, 0, 0, 1, 1)  # "S" = 0x53, MSB first
    assert payload_by_name(" SDXL ") is SDXL
    assert [p.name for p in PAYLOADS] == ["sdxl", "flux", "sd1", "sd2", "invokeai"]
    with pytest.raises(ValueError, match="unknown payload"):
        payload_by_name("sd3")
    with pytest.raises(ValueError, match="0 or 1"):
        Payload("x", (0, 2), "", ())
    with pytest.raises(ValueError, match="positive"):
        bits_from_integer(0)
    with pytest.raises(ValueError, match="0/1"):
        bits_from_string("10a")


def test_payloads_match_the_reference_conversions(reference: Reference) -> None:
    """The reference's own message handling produces (and reads back) the registry's bits."""
    encoder_class = reference.watermark.WatermarkEncoder
    decoder_class = reference.watermark.WatermarkDecoder
    for payload, message in ((SD1, b"StableDiffusionV1"), (SD2, b"SDV2"), (INVOKEAI, b"InvokeAI")):
        encoder = encoder_class()
        encoder.set_watermark("bytes", message)
        assert tuple(int(bit) for bit in encoder._watermarks) == payload.bits
        assert bits_from_bytes(message) == payload.bits
        decoder = decoder_class("bytes", len(payload))
        assert decoder.reconstruct(np.array(payload.bits)) == message
    # generative-models / diffusers / flux: set_watermark("bits", [int(b) for b in bin(x)[2:]])
    for payload, literal in (
        (SDXL, 0b101100111110110010010000011110111011000110011110),
        (FLUX, 0b001010101111111010000111100111001111010100101110),
    ):
        encoder = encoder_class()
        encoder.set_watermark("bits", [int(bit) for bit in bin(literal)[2:]])
        assert tuple(encoder._watermarks) == payload.bits
        assert encoder.get_length() == len(payload)


# --------------------------------------------------------------------------- Haar transform


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_haar_transform_is_bit_equal_to_pywt(reference: Reference, dtype: type) -> None:
    rng = np.random.default_rng(SEED)
    for _ in range(25):
        rows, cols = (int(v) * 2 for v in rng.integers(1, 160, 2))
        if dtype is np.uint8:
            plane = rng.integers(0, 256, (rows, cols)).astype(np.uint8)
        else:
            plane = rng.uniform(-120, 260, (rows, cols)).astype(np.float32)
        expected_ll, (expected_h, expected_v, expected_d) = reference.pywt.dwt2(plane, "haar")
        ll, horizontal, vertical, diagonal = dwtdct_scheme.haar_forward(plane)
        for ours, theirs in zip(
            (ll, horizontal, vertical, diagonal),
            (expected_ll, expected_h, expected_v, expected_d),
            strict=True,
        ):
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(dwtdct_scheme.haar_ll(plane), expected_ll)
        changed = ll + rng.normal(0, 9, ll.shape).astype(ll.dtype)
        expected = reference.pywt.idwt2((changed, (vertical, horizontal, diagonal)), "haar")
        inverse = dwtdct_embed._haar_inverse(changed, vertical, horizontal, diagonal)
        assert inverse.dtype == expected.dtype
        np.testing.assert_array_equal(inverse, expected)


# --------------------------------------------------------------------------- bit-exactness


def test_corpus_is_large_and_varied(reference: Reference, photos: dict[str, np.ndarray]) -> None:
    samples = _unmarked_corpus() + _marked_corpus()
    assert len(samples) >= 200
    sizes = {sample.image.shape[:2] for sample in samples}
    assert (1080, 1920) in sizes
    assert (256, 256) in sizes
    assert any(rows % 8 and cols % 8 for rows, cols in sizes)
    assert any(rows % 2 and cols % 2 for rows, cols in sizes)
    assert {s.payload for s in samples if s.payload} == set(PAYLOADS)
    assert {s.hypothesis for s in samples if s.hypothesis} == set(ALL_HYPOTHESES)


def test_block_bits_equal_the_reference_decoder(
    reference: Reference, photos: dict[str, np.ndarray]
) -> None:
    """Per-block bits on every corpus image (unmarked and reference-marked) vs the reference loop."""
    mismatches: list[str] = []
    per_hypothesis = dict.fromkeys(ALL_HYPOTHESES, 0)
    blocks = 0
    samples = _unmarked_corpus() + _marked_corpus()
    for index, sample in enumerate(samples):
        before = sample.image.copy()
        hypothesis = _checked_hypothesis(index, sample)
        expected = reference.block_bits(_domain_view(sample.image, hypothesis))
        ours = block_bits(
            sample.image, domain=hypothesis.domain, channel_order=hypothesis.channel_order
        )
        per_hypothesis[hypothesis] += 1
        blocks += ours.size
        if ours.dtype != np.uint8 or not np.array_equal(ours, expected):
            differing = (
                int(np.count_nonzero(ours != expected)) if ours.shape == expected.shape else -1
            )
            mismatches.append(f"{sample.label} {hypothesis}: {differing} blocks differ")
        np.testing.assert_array_equal(sample.image, before)  # never mutated
    assert not mismatches, mismatches[:10]
    assert sum(per_hypothesis.values()) >= 200
    assert min(per_hypothesis.values()) >= 40, per_hypothesis
    assert blocks > 1_000_000


def test_block_bits_equal_pywt_under_every_hypothesis(
    reference: Reference, photos: dict[str, np.ndarray]
) -> None:
    """Every corpus image under every applicable hypothesis vs pywt's LL (vectorised)."""
    compared = 0
    for sample in _unmarked_corpus() + _marked_corpus():
        for hypothesis in ALL_HYPOTHESES:
            if sample.image.dtype == np.float32 and hypothesis.domain == "uint8":
                continue
            expected = _pywt_block_bits(reference, sample.image, hypothesis)
            ours = block_bits(
                sample.image, domain=hypothesis.domain, channel_order=hypothesis.channel_order
            )
            assert np.array_equal(ours, expected), f"{sample.label} {hypothesis}"
            compared += 1
    assert compared >= 800


def test_voted_bits_equal_the_reference_decoder(reference: Reference) -> None:
    """The hard majority vote equals ``EmbedMaxDct.decode`` (what WatermarkDecoder returns)."""
    checked = 0
    for sample in _marked_corpus()[::3]:
        assert sample.payload is not None
        assert sample.hypothesis is not None
        view = _domain_view(sample.image, sample.hypothesis)
        expected = tuple(int(bit) for bit in reference.voted_bits(view, len(sample.payload)))
        bits = block_bits(
            sample.image,
            domain=sample.hypothesis.domain,
            channel_order=sample.hypothesis.channel_order,
        )
        matched, *_, voted = score_block_bits(bits, sample.payload)
        assert voted == expected, sample.label
        assert matched == sum(a == b for a, b in zip(expected, sample.payload.bits, strict=True))
        (result,) = decode(sample.image, sample.payload, hypotheses=[sample.hypothesis])
        if result.decoded:  # a few marked images have a too-uniform carrier (see flat tests)
            assert result.decoded_bits == expected, sample.label
            assert result.matched_bits == matched
        checked += 1
    assert checked >= 25


def test_embed_equals_the_reference_encoder(reference: Reference) -> None:
    """Our embedder reproduces the reference's output exactly, uint8 and float32, BGR and RGB-fed."""
    compared = 0
    for sample in _marked_corpus():
        if sample.fed is None:
            continue
        assert sample.payload is not None
        assert sample.hypothesis is not None
        # Feed the BGR image; our embed flips for "rgb" itself, as the generator did.
        source = sample.fed[:, :, ::-1] if sample.hypothesis.channel_order == "rgb" else sample.fed
        before = source.copy()
        ours = embed(
            source,
            sample.payload,
            domain=sample.hypothesis.domain,
            channel_order=sample.hypothesis.channel_order,
        )
        assert ours.dtype == sample.image.dtype, sample.label
        assert np.array_equal(ours, sample.image), sample.label
        np.testing.assert_array_equal(source, before)
        compared += 1
    assert compared >= 60


def test_embed_equals_the_reference_on_large_frames(reference: Reference) -> None:
    rng = np.random.default_rng(SEED + 2)
    found = _photos()
    assert isinstance(found, dict)
    image = _resize(found["astronaut"], 1920, 1080, rng)
    for domain, payload in (("uint8", SD1), ("float32", SDXL)):
        fed = image if domain == "uint8" else image.astype(np.float32)
        expected = reference.encoder(payload.bits).encode(fed.copy())
        assert np.array_equal(embed(image, payload, domain=domain), expected)


# --------------------------------------------------------------------------- statistics


def _marking_images() -> list[tuple[str, np.ndarray]]:
    found = _photos()
    assert isinstance(found, dict)
    rng = np.random.default_rng(SEED + 3)
    rgb = synthetic_frame(3, width=640, height=360, seed=SEED)
    return [
        ("astronaut-512", found["astronaut"]),
        ("coffee-crop", np.ascontiguousarray(found["coffee"][40:360, 100:500])),
        ("hubble-1000x872", found["hubble_deep_field"]),
        ("synth-640x360", np.ascontiguousarray(rgb[:, :, ::-1])),
        ("noise-300x280", _noise(300, 280, rng)),
    ]


@pytest.mark.parametrize("hypothesis", ALL_HYPOTHESES, ids=str)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_marked_images_decode_under_their_hypothesis(
    photos: dict[str, np.ndarray], payload: Payload, hypothesis: Hypothesis
) -> None:
    """Lossless marks give a large z on every image; the hard vote reaches 95% on good carriers.

    The hard vote is the reference's (see the voted-bits test): on images such as the coffee
    crop it stays below 95% even lossless, because a bit-0 block often lowers its carrier below
    another coefficient, which then decides the block. The soft z does not suffer from that.
    """
    for label, image in _marking_images():
        marked = embed(
            image, payload, domain=hypothesis.domain, channel_order=hypothesis.channel_order
        )
        (result,) = decode(marked, payload, hypotheses=[hypothesis])
        assert result.status is DecodeStatus.DECODED, label
        assert result.z is not None
        assert result.bit_accuracy is not None
        assert result.p_value is not None
        assert result.z > MARKED_Z_FLOOR, (label, result)
        assert result.p_value < 1e-30
        if label in GOOD_CARRIERS:
            assert result.bit_accuracy >= 0.95, (label, result)
        if hypothesis.domain == "float32":
            # the generator's own float -> uint8 step (clip, truncate) keeps z large
            (quantised,) = decode(_quantise(marked), payload, hypotheses=[hypothesis])
            assert quantised.z is not None
            assert quantised.z > MARKED_Z_FLOOR, (label, quantised)
            if label in GOOD_CARRIERS:
                assert quantised.bit_accuracy is not None
                assert quantised.bit_accuracy >= 0.95, (label, quantised)


def test_the_true_payload_has_the_largest_z(photos: dict[str, np.ndarray]) -> None:
    """Byte payloads cross-correlate (ASCII bytes share their top bit), so a wrong payload can
    score a large z on a marked image; the embedded one must still score the largest."""
    image = cv2.resize(photos["rocket"], (1024, 576), interpolation=cv2.INTER_AREA)
    hypothesis = Hypothesis("uint8", "bgr")
    cross_talk = 0.0
    for payload in PAYLOADS:
        results = decode(embed(image, payload), PAYLOADS, hypotheses=[hypothesis])
        scores = {result.payload: result.z for result in results}
        assert all(z is not None for z in scores.values())
        best = max(scores, key=lambda name: scores[name] or 0.0)
        assert best == payload.name, scores
        cross_talk = max(cross_talk, *(z or 0.0 for n, z in scores.items() if n != payload.name))
    assert cross_talk > UNMARKED_Z_BOUND  # documented: wrong payloads are not "unmarked"


def test_float32_marks_need_the_float32_domain(reference: Reference) -> None:
    """Generator-style float32 marks (reference encoder, then clip + truncate to uint8) read
    best in the float32 domain; Stability's uint8 reading is weaker and sometimes inverted."""
    own_wins = inverted = total = 0
    for sample in _marked_corpus():
        hypothesis = sample.hypothesis
        if hypothesis is None or hypothesis.domain != "float32" or sample.image.dtype != np.uint8:
            continue
        as_uint8 = Hypothesis("uint8", hypothesis.channel_order)
        (own,) = decode(sample.image, sample.payload or SDXL, hypotheses=[hypothesis])
        (other,) = decode(sample.image, sample.payload or SDXL, hypotheses=[as_uint8])
        if own.z is None or other.z is None:
            continue
        total += 1
        own_wins += own.z > other.z
        inverted += other.z < -UNMARKED_Z_BOUND
    assert total >= 30
    assert own_wins >= 0.9 * total
    assert inverted >= 1


def test_unmarked_images_give_small_z(photos: dict[str, np.ndarray]) -> None:
    """Every unmarked corpus image, every payload x hypothesis: |z| stays small."""
    worst: dict[tuple[str, str], float] = {}
    decoded = 0
    for sample in _unmarked_corpus():
        for result in decode(sample.image):
            if not result.decoded:
                continue
            assert result.z is not None
            decoded += 1
            key = (result.payload, result.hypothesis.name)
            worst[key] = max(worst.get(key, 0.0), abs(result.z))
    assert decoded >= 100 * len(PAYLOADS) * len(ALL_HYPOTHESES)
    assert max(worst.values()) < UNMARKED_Z_BOUND, sorted(worst.items(), key=lambda kv: -kv[1])[:5]


def test_scores_follow_the_definitions() -> None:
    message = (1, 0, 1)
    bits = np.array([1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0], dtype=np.uint8)
    matched, ones_fraction, z, p_value, voted = score_block_bits(bits, message)
    # per bit: k%3==0 -> 1,1,0,1 ; k%3==1 -> 0,1,0,0 ; k%3==2 -> 1,1,1
    assert voted == (1, 0, 1)
    assert matched == 3
    count, p = 11, 7 / 11
    agreement = 3 + 3 + 3
    carrying_one = 4 + 3
    expected = carrying_one * p + (count - carrying_one) * (1 - p)
    assert ones_fraction == pytest.approx(p)
    assert z == pytest.approx((agreement - expected) / np.sqrt(count * p * (1 - p)))
    assert 0.0 < p_value < 0.5
    with pytest.raises(ValueError, match="blocks"):
        score_block_bits(bits[:2], message)
    # vote ties follow the reference: mean 0.5 -> 0.5 * 255 = 127.5 > 127 -> 1
    assert score_block_bits(np.array([1, 0], dtype=np.uint8), (1,))[4] == (1,)


# --------------------------------------------------------------------------- inconclusive states


@pytest.mark.parametrize(("width", "height"), [(255, 256), (200, 200), (16, 4000), (4095, 16)])
def test_too_small_frames_are_not_decoded(width: int, height: int) -> None:
    image = _noise(width, height, np.random.default_rng(1))
    results = decode(image)
    assert len(results) == len(PAYLOADS) * len(ALL_HYPOTHESES)
    for result in results:
        assert result.status is DecodeStatus.TOO_SMALL
        assert not result.decoded
        assert result.z is None
        assert result.matched_bits is None
        assert result.decoded_bits == ()
        assert "256 x 256" in result.reason


def test_thin_frame_with_too_few_blocks_for_a_payload() -> None:
    image = _noise(8192, 8, np.random.default_rng(2))  # area ok, 1024 blocks in one row
    assert decode(image, SD1, hypotheses=[ALL_HYPOTHESES[0]])[0].decoded
    image = _noise(65536 // 9 + 1, 9, np.random.default_rng(2))  # 910 blocks
    results = decode(image, [SDXL], limits=CarrierLimits(min_area=1))
    assert all(result.decoded for result in results)
    tiny = _noise(100, 15, np.random.default_rng(2))  # 12 blocks
    (result,) = decode(tiny, SDXL, hypotheses=[ALL_HYPOTHESES[1]], limits=CarrierLimits(min_area=1))
    assert result.status is DecodeStatus.TOO_SMALL
    assert "12 blocks" in result.reason


def test_flat_frames_are_inconclusive(photos: dict[str, np.ndarray]) -> None:
    grey = np.repeat(photos["camera"][:, :, None], 3, axis=2)  # B = G = R: U is constant
    constant = np.full((300, 400, 3), (30, 160, 220), dtype=np.uint8)
    for image in (grey, constant):
        for result in decode(image):
            assert result.status is DecodeStatus.TOO_FLAT, result
            assert result.z is None
            assert result.reason
    nearly_grey = np.clip(
        grey.astype(np.int16) + np.random.default_rng(3).integers(-1, 2, grey.shape), 0, 255
    ).astype(np.uint8)
    assert {r.status for r in decode(nearly_grey)} == {DecodeStatus.TOO_FLAT}


def test_marked_flat_frames() -> None:
    """A marked flat frame decodes when its carrier holds; when it collapses it is inconclusive."""
    grey = np.full((512, 512, 3), 128, dtype=np.uint8)  # LL = 256 everywhere: 4 mod 36
    for domain in DOMAINS:
        marked = embed(grey, SDXL, domain=domain)
        (result,) = decode(_quantise(marked), SDXL, hypotheses=[Hypothesis(domain, "bgr")])
        assert result.decoded, result
        assert result.z is not None
        assert result.z > MARKED_Z_FLOOR
        assert result.matched_bits == len(SDXL)
    # Here every bit-0 block lowers its carrier below an equal neighbour, so all blocks read 1:
    # no statistic can be computed, and the decoder says so instead of "not detected".
    orange = np.full((512, 512, 3), (90, 120, 200), dtype=np.uint8)  # BGR
    (result,) = decode(embed(orange, SDXL), SDXL, hypotheses=[Hypothesis("uint8", "bgr")])
    assert result.status is DecodeStatus.TOO_FLAT
    assert "rarer bit value" in result.reason


# --------------------------------------------------------------------------- round trips


#: Photos with enough chroma texture everywhere (logo is mostly flat white).
ROUND_TRIP_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "stereo_motorcycle",
    "retina",
    "colorwheel",
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(256, 1280),
    height=st.integers(256, 800),
    name=st.sampled_from(ROUND_TRIP_PHOTOS),
    payload=st.sampled_from(PAYLOADS),
    hypothesis=st.sampled_from(ALL_HYPOTHESES),
)
def test_embed_then_decode_round_trip(
    width: int, height: int, name: str, payload: Payload, hypothesis: Hypothesis
) -> None:
    found = _photos()
    if isinstance(found, str):
        _missing(found)
    assert isinstance(found, dict)
    image = cv2.resize(found[name], (width, height), interpolation=cv2.INTER_AREA)
    marked = embed(image, payload, domain=hypothesis.domain, channel_order=hypothesis.channel_order)
    assert marked.shape == image.shape
    assert marked.dtype == (np.uint8 if hypothesis.domain == "uint8" else np.float32)
    (result,) = decode(marked, payload, hypotheses=[hypothesis])
    assert result.decoded, result
    assert result.z is not None
    # smallest seen in 1,500 random draws: 12.4 (rocket at 256 x 256); unmarked max is ~4.4
    assert result.z > 10.0, result
    assert result.blocks == (height // 8) * (width // 8)
    if name == "hubble_deep_field":
        assert result.bit_accuracy == 1.0, result


# --------------------------------------------------------------------------- API


def test_results_are_ordered_and_transform_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    image = _noise(320, 256, np.random.default_rng(4))
    calls: list[str] = []
    original = dwtdct_scheme.block_ll  # band_bits, which decode calls per hypothesis

    def counting(*args: Any, **kwargs: Any) -> np.ndarray:
        calls.append(f"{kwargs['domain']}-{kwargs['channel_order']}")
        return original(*args, **kwargs)

    monkeypatch.setattr(dwtdct_scheme, "block_ll", counting)
    results = decode(image)
    assert sorted(calls) == sorted(h.name for h in ALL_HYPOTHESES)  # once per hypothesis
    assert [(r.payload, r.hypothesis) for r in results] == [
        (p.name, h) for p in PAYLOADS for h in ALL_HYPOTHESES
    ]
    assert all(
        r.blocks == 40 * 32 and r.payload_bits == len(payload_by_name(r.payload)) for r in results
    )


def test_input_validation() -> None:
    image = _noise(256, 256, np.random.default_rng(5))
    with pytest.raises(ValueError, match="domain"):
        block_bits(image, domain="float64")
    with pytest.raises(ValueError, match="channel_order"):
        block_bits(image, channel_order="yuv")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        block_bits(image[:, :, 0])
    with pytest.raises(TypeError, match="uint8 or float32"):
        block_bits(image.astype(np.float64))
    with pytest.raises(TypeError, match="numpy array"):
        decode(image.tolist())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint8 hypotheses"):
        decode(image.astype(np.float32))
    with pytest.raises(TypeError, match="domain 'uint8' needs a uint8"):
        block_bits(image.astype(np.float32))
    assert decode(image.astype(np.float32), hypotheses=[Hypothesis("float32", "bgr")])
    with pytest.raises(ValueError, match="domain"):
        Hypothesis("int8", "bgr")
    with pytest.raises(ValueError, match="256"):
        embed(image[:200], SDXL)
    with pytest.raises(ValueError, match="0 or 1"):
        embed(image, [0, 1, 2])
    with pytest.raises(ValueError, match="empty"):
        decode(image, [])
    with pytest.raises(ValueError, match="min_minority_fraction"):
        CarrierLimits(min_minority_fraction=0.5)


def test_block_count_and_float_input_agree() -> None:
    image = _noise(263, 301, np.random.default_rng(6))
    assert block_bits(image).shape == ((301 // 8) * (263 // 8),)
    np.testing.assert_array_equal(
        block_bits(image, domain="float32"), block_bits(image.astype(np.float32), domain="float32")
    )


def test_public_surface() -> None:
    exported = provenance.watermark.__all__
    assert len(set(exported)) == len(exported)
    assert set(exported) == {
        "ALL_HYPOTHESES",
        "DEFAULT_CARRIER_LIMITS",
        "FLUX",
        "INVOKEAI",
        "NATIVE_SIZES",
        "PAYLOADS",
        "SD1",
        "SD2",
        "SDXL",
        "CarrierLimits",
        "DecodeStatus",
        "Hypothesis",
        "HypothesisResult",
        "Payload",
        "SearchResult",
        "aligned",
        "block_bits",
        "decode",
        "embed",
        "native_candidates",
        "payload_by_name",
        "resize_to",
        "score_block_bits",
        "search",
    }
    for name in exported:
        assert hasattr(provenance.watermark, name)
    assert [h.name for h in ALL_HYPOTHESES] == [
        "float32-bgr",
        "uint8-bgr",
        "float32-rgb",
        "uint8-rgb",
    ]


@pytest.mark.parametrize("hypothesis", list(ALL_HYPOTHESES), ids=str)
@pytest.mark.parametrize("full_range", [False, True])
def test_the_chroma_band_made_in_slabs_equals_the_whole_band(
    hypothesis: Hypothesis, full_range: bool
) -> None:
    # made a slab of block rows at a time (memory), the bits and the spread must be those
    # of the whole band; 300 rows is two whole slabs and a part one
    from provenance.watermark import dwtdct_frame
    from provenance.watermark.dwtdct_frame import _SLAB_ROWS, _chroma_band_bits
    from provenance.watermark.dwtdct_scheme import bits_from_ll

    rng = np.random.default_rng(7)
    cb, cr = (rng.integers(16, 241, (300, 200), dtype=np.uint8) for _ in range(2))
    assert _SLAB_ROWS < 300
    assert 300 % _SLAB_ROWS
    bits, spread = _chroma_band_bits((cb, cr), hypothesis, full_range)
    whole_b = cb.astype(np.float32) - np.float32(128)
    whole_r = cr.astype(np.float32) - np.float32(128)
    if hypothesis.channel_order == "bgr":
        u = np.float32(2 * dwtdct_frame._CB_SCALE[full_range]) * whole_b
    else:
        from_cr, from_cb = dwtdct_frame._SWAPPED[full_range]
        u = np.float32(2 * from_cr) * whole_r - np.float32(2 * from_cb) * whole_b
    u += np.float32(2 * (128.0 if hypothesis.domain == "uint8" else 0.5))
    assert np.array_equal(bits, bits_from_ll(u))
    assert spread == pytest.approx(float(np.std(u, dtype=np.float64)), rel=1e-9)
