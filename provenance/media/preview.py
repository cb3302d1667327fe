"""Small JPEG previews of decoded frames and images, as ``data:`` URIs for self-contained
reports (the web page and the HTML evidence report show the strongest watermark frame and the
credential thumbnail this way)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from provenance.errors import MediaError
from provenance.report import FramePicture

if TYPE_CHECKING:  # OpenCV and numpy load on first use: data_uri needs neither
    import numpy as np

    from provenance.media.frame import SampledFrame

__all__ = [
    "PREVIEW_SIDE",
    "STRIP_FRAMES",
    "PictureStrip",
    "data_uri",
    "frame_preview",
    "picture_of",
]

#: Longest side of a preview, in pixels.
PREVIEW_SIDE = 480

#: How many frames read a report shows as pictures (``Report.frame_pictures``).
STRIP_FRAMES = 8


def data_uri(data: bytes, mime_type: str) -> str:
    """``data:`` URI of ``data``."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def picture_of(frame: SampledFrame) -> np.ndarray:
    """The frame's pixels for display: (height, width, 3) BGR uint8, or (height, width) grey
    when only the luma plane was decoded."""
    import cv2
    import numpy as np

    if frame.bgr is not None:
        return frame.bgr
    if frame.chroma is None:
        return frame.luma
    height, width = frame.luma.shape
    cb, cr = (
        cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR) for plane in frame.chroma
    )
    ycrcb = np.dstack([frame.luma, cr, cb])
    if not frame.full_range:  # limited range (16-235 luma, 16-240 chroma) to full range
        scaled = ycrcb.astype(np.float32)
        scaled[..., 0] = (scaled[..., 0] - 16.0) * (255.0 / 219.0)
        scaled[..., 1:] = (scaled[..., 1:] - 128.0) * (255.0 / 224.0) + 128.0
        ycrcb = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


def frame_preview(frame: SampledFrame, *, side: int = PREVIEW_SIDE, quality: int = 85) -> str:
    """A JPEG of the frame, its longest side at most ``side`` pixels, as a ``data:`` URI."""
    import cv2

    picture = picture_of(frame)
    height, width = picture.shape[:2]
    scale = side / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 picture
        raise MediaError("could not encode the frame preview")
    return data_uri(encoded.tobytes(), "image/jpeg")


class PictureStrip:
    """Pictures of up to ``limit`` frames spread evenly over a stream of unknown length, in
    bounded work and memory: every ``stride``-th frame gets a small JPEG; when ``2 * limit``
    are kept, every other one is dropped and the stride doubles. A file's pictures cost at
    most ``limit * (2 + log2(frames / limit))`` encodes."""

    def __init__(self, limit: int = STRIP_FRAMES, *, side: int = PREVIEW_SIDE) -> None:
        self.limit = limit
        self.side = side
        self.stride = 1
        self._seen = 0
        self._kept: list[FramePicture] = []

    def add(self, frame: SampledFrame) -> None:
        """Offer one frame read, in decoding order."""
        if self._seen % self.stride == 0:
            self._kept.append(
                FramePicture(
                    frame.index,
                    frame.time_seconds,
                    frame.picture_type,
                    frame_preview(frame, side=self.side, quality=80),
                )
            )
            if len(self._kept) >= 2 * self.limit:
                self._kept = self._kept[::2]
                self.stride *= 2
        self._seen += 1

    def pictures(self) -> tuple[FramePicture, ...]:
        """At most ``limit`` of the pictures kept, evenly spread, first and last included."""
        kept = self._kept
        if len(kept) <= self.limit:
            return tuple(kept)
        last = len(kept) - 1
        picks = sorted({round(i * last / (self.limit - 1)) for i in range(self.limit)})
        return tuple(kept[i] for i in picks)
