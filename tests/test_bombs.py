"""Decompression bombs: a picture whose header claims more pixels than the budget is refused
before anything decodes it, with a clear error, in every entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from provenance import CheckOptions, WatermarkOptions, check
from provenance.media.declared import MAX_PIXELS, declared_size
from provenance.media.frame import read_image

SIDE = 30_000  # 900 megapixels: 2.7 GB as BGR, more in the decoder


def _encoded(suffix: str, width: int = 40, height: int = 24, **params: int) -> bytes:
    picture = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    flags = [int(v) for pair in params.items() for v in (getattr(cv2, pair[0]), pair[1])]
    ok, encoded = cv2.imencode(suffix, picture, flags)
    assert ok
    return bytes(encoded.tobytes())


@pytest.mark.parametrize(
    ("suffix", "params"),
    [
        (".jpg", {}),
        (".png", {}),
        (".webp", {"IMWRITE_WEBP_QUALITY": 80}),  # lossy: VP8
        (".webp", {"IMWRITE_WEBP_QUALITY": 101}),  # lossless: VP8L
        (".bmp", {}),
    ],
)
def test_the_declared_size_is_the_decoded_size(suffix: str, params: dict[str, int]) -> None:
    data = _encoded(suffix, **params)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert declared_size(data) == (decoded.shape[1], decoded.shape[0])


def _bomb(kind: str) -> bytes:
    """A small real picture whose header is rewritten to claim SIDE x SIDE pixels."""
    if kind == "jpeg":
        data = bytearray(_encoded(".jpg", 8, 8))
        sof = data.index(b"\xff\xc0")
        data[sof + 5 : sof + 9] = SIDE.to_bytes(2, "big") * 2
    elif kind == "png":
        data = bytearray(_encoded(".png", 8, 8))
        data[16:24] = SIDE.to_bytes(4, "big") * 2  # (the IHDR CRC no longer matches)
    else:  # an extended WebP header over a lossy picture
        data = bytearray(_encoded(".webp", 8, 8, IMWRITE_WEBP_QUALITY=80))
        vp8 = bytes(data[12:])
        extended = b"VP8X" + (10).to_bytes(4, "little") + bytes(4)
        extended += (SIDE - 1).to_bytes(3, "little") * 2
        body = b"WEBP" + extended + vp8
        data = bytearray(b"RIFF" + len(body).to_bytes(4, "little") + body)
    return bytes(data)


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_a_bomb_is_refused_before_decoding(kind: str, tmp_path: Path) -> None:
    data = _bomb(kind)
    assert len(data) < 2_000
    assert declared_size(data) == (SIDE, SIDE)
    assert SIDE * SIDE > MAX_PIXELS
    path = tmp_path / f"bomb.{kind}"
    path.write_bytes(data)
    # the check runs in a process capped at 2 GB: decoding what the header claims would fail
    code = (
        "import resource, sys, json\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from provenance import check\n"
        "r = check(sys.argv[1])\n"
        "print(json.dumps([[e.stage, e.code, e.message] for e in r.errors]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout)
    assert [stage for stage, _, _ in errors] == ["media"]
    assert errors[0][1] == "too_large"
    assert f"declares {SIDE} x {SIDE} pixels (900 megapixels)" in errors[0][2]
    with pytest.raises(ValueError, match="120-megapixel budget"):
        read_image(path, path.name, colour=True)


def test_an_ordinary_picture_is_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "fine.jpg"
    path.write_bytes(_encoded(".jpg", 640, 480))
    report = check(path, CheckOptions(watermarks=WatermarkOptions()))
    assert report.errors == ()
    assert report.media is not None
    assert (report.media.width, report.media.height) == (640, 480)


def test_marking_refuses_a_bomb_too(tmp_path: Path) -> None:
    from provenance.errors import OversizedMediaError
    from provenance.watermark.marking import mark_media

    path = tmp_path / "bomb.png"
    path.write_bytes(_bomb("png"))
    with pytest.raises(OversizedMediaError, match="900 megapixels"):
        mark_media(path, tmp_path / "out.png", key="k" * 32)
