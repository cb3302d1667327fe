"""Registry of the known dwtDct-family payloads (the messages real generators embed).

Each payload is the exact bit sequence the generator hands to invisible-watermark's
``dwtDct`` encoder, in embedding order: block *k* of an image carries ``bits[k % len(bits)]``.

- Byte messages are expanded most significant bit first, as the reference's ``'bytes'`` mode
  does (``numpy.unpackbits``).
- Integer messages written as ``bin(value)[2:]`` lose their leading zero bits; that is why the
  FLUX literal becomes 46 bits long.

Sources (see ``research/watermark.md`` section 1.5): CompVis stable-diffusion
``scripts/txt2img.py``; Stability-AI stablediffusion ``scripts/txt2img.py``; Stability-AI
generative-models ``sgm/inference/helpers.py`` and ``scripts/sampling/simple_video_sample.py``;
diffusers ``pipelines/stable_diffusion_xl/watermark.py``; black-forest-labs flux
``src/flux/util.py``; InvokeAI ``invokeai/backend/image_util/invisible_watermark.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from provenance.errors import ArgumentError

__all__ = [
    "FLUX",
    "INVOKEAI",
    "PAYLOADS",
    "SD1",
    "SD2",
    "SDXL",
    "Payload",
    "bits_from_bytes",
    "bits_from_integer",
    "bits_from_string",
    "payload_by_name",
]


def bits_from_bytes(message: bytes) -> tuple[int, ...]:
    """Expand bytes into bits, most significant bit of each byte first.

    This is the reference's ``'bytes'`` mode (``numpy.unpackbits`` of the byte values).
    """
    return tuple((byte >> shift) & 1 for byte in message for shift in range(7, -1, -1))


def bits_from_integer(value: int) -> tuple[int, ...]:
    """The bits of ``bin(value)[2:]``: the generators' idiom, which drops leading zeros."""
    if value <= 0:
        raise ArgumentError(f"bits_from_integer: value must be a positive integer, got {value}")
    return tuple(int(character) for character in format(value, "b"))


def bits_from_string(text: str) -> tuple[int, ...]:
    """Parse a string of ``0`` and ``1`` characters into bits."""
    if not text or set(text) - {"0", "1"}:
        raise ArgumentError(
            f"bits_from_string: text must be a non-empty string of 0/1, got {text!r}"
        )
    return tuple(int(character) for character in text)


@dataclass(frozen=True)
class Payload:
    """One known message.

    Attributes
    ----------
    name
        Short identifier, e.g. ``"sdxl"``.
    bits
        The message bits in embedding order (each 0 or 1).
    description
        Where the message comes from and how it is written.
    generators
        Generators / code paths known to embed it.
    """

    name: str
    bits: tuple[int, ...]
    description: str
    generators: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name:
            raise ArgumentError("Payload: name must not be empty")
        if not self.bits:
            raise ArgumentError(f"Payload {self.name!r}: bits must not be empty")
        if any(bit not in (0, 1) for bit in self.bits):
            raise ArgumentError(f"Payload {self.name!r}: every bit must be 0 or 1")

    def __len__(self) -> int:
        return len(self.bits)


SDXL = Payload(
    name="sdxl",
    bits=bits_from_integer(0xB3EC907BB19E),
    description=(
        "Stability AI 48-bit message 0b101100111110110010010000011110111011000110011110 "
        "(0xB3EC907BB19E, 27 ones), set with set_watermark('bits', ...)"
    ),
    generators=(
        "SDXL / SDXL-Turbo / SD-Turbo (Stability generative-models)",
        "SVD / SVD-XT / SV3D (generative-models video scripts)",
        "diffusers SDXL-family pipelines (RGB fed as BGR before v0.28.0)",
    ),
)

FLUX = Payload(
    name="flux",
    bits=bits_from_integer(0b001010101111111010000111100111001111010100101110),
    description=(
        "Black Forest Labs literal 0x2AFE879CF52E; bin()[2:] drops its two leading zeros, "
        "leaving 46 bits"
    ),
    generators=("FLUX.1 reference code (dev, schnell, Kontext, Krea)",),
)

SD1 = Payload(
    name="sd1",
    bits=bits_from_bytes(b"StableDiffusionV1"),
    description='bytes "StableDiffusionV1" (136 bits, MSB first)',
    generators=("Stable Diffusion 1.x (CompVis scripts/txt2img.py)",),
)

SD2 = Payload(
    name="sd2",
    bits=bits_from_bytes(b"SDV2"),
    description='bytes "SDV2" (32 bits, MSB first)',
    generators=("Stable Diffusion 2.x (Stability-AI/stablediffusion scripts)",),
)

INVOKEAI = Payload(
    name="invokeai",
    bits=bits_from_bytes(b"InvokeAI"),
    description='bytes "InvokeAI" (64 bits, MSB first; the default, configurable)',
    generators=("InvokeAI (vendored invisible-watermark)",),
)

#: Every known payload, in the order reports list them.
PAYLOADS: tuple[Payload, ...] = (SDXL, FLUX, SD1, SD2, INVOKEAI)


def payload_by_name(name: str) -> Payload:
    """Look a known payload up by its name (case-insensitive)."""
    wanted = name.strip().lower()
    for payload in PAYLOADS:
        if payload.name == wanted:
            return payload
    known = ", ".join(payload.name for payload in PAYLOADS)
    raise ArgumentError(f"payload_by_name: unknown payload {name!r}; known payloads: {known}")
