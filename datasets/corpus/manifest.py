"""The manifest: one :class:`Item` per written file, one ``corpus.jsonl`` line per item.

:data:`MANIFEST_FIELDS` lists the keys of every line, in order (the README explains each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "corpus.jsonl"
SUMMARY_NAME = "CORPUS.json"

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
    "writer",
)


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
    writer: str | None = None  # a generator's own file writer (svd_mp4v, ...), else None

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
        record["writer"] = self.writer
        return record


def _derived(parent: Item, path: str, **changes: Any) -> Item:
    values = dict(parent.__dict__)
    values.update(path=path, parent=parent.path, **changes)
    return Item(**values)
