"""The content of the unmarked originals, and writing them.

Seeded synthetic clips (textured, smooth, dark, cartoon), pans / zooms over photos, natural
clips and segments, stills and colour images, as BGR frames; :func:`_build_root` writes one
root (H.264 CRF 18 clip or PNG) and returns its manifest item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .manifest import Item
from .media_io import BASE_CODEC, VideoOut, _decode, _write_png, fit_cover
from .plan import Root, _load_photo, _recipe_fps, _recipe_size, _rng
from .sizes import STILL_MAX_SIDE

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
    """Frames ``start``, ``start + step``, ... of a natural clip, resized (``resize``) or
    scaled to cover and centre-cropped (``fit``) as the recipe says."""
    import cv2

    start, count = int(root.get("start")), int(root.get("frames"))
    step = int(root.get("step", 1))
    resize = root.get("resize")
    fit = root.get("fit")
    taken = 0
    for index, frame in enumerate(_decode(natural_dir / root.get("file"))):
        if index < start or (index - start) % step:
            continue
        bgr = frame.to_ndarray(format="bgr24")
        if resize is not None:
            bgr = cv2.resize(bgr, tuple(resize), interpolation=cv2.INTER_LANCZOS4)
        if fit is not None:
            bgr = fit_cover(bgr, (int(fit[0]), int(fit[1])))
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
