"""Which frames to read from a stream: :class:`Sampling` and :class:`SamplingMode`.

Kept apart from :mod:`provenance.media.frames` (which decodes) so that options can be built
and validated without importing numpy or PyAV.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass

from provenance.errors import ArgumentError

__all__ = ["AUTO_EVENLY", "Sampling", "SamplingMode", "evenly_spaced_indices"]

#: Evenly spaced frames ``auto`` adds to the key frames of a long clip.
AUTO_EVENLY = 8


class SamplingMode(enum.StrEnum):
    """Which frames :class:`FrameSampler` yields."""

    KEYFRAMES = "keyframes"
    """Key frames only; the decoder skips every other frame (the fastest mode)."""
    EVERY_NTH = "every_nth"
    """Frames 0, n, 2n, ... (every frame is decoded; only these are converted)."""
    EVENLY = "evenly"
    """``n`` frames evenly spaced from the first to the last frame."""
    ALL = "all"
    """Every frame."""
    AUTO = "auto"
    """Short clips whole; longer ones: every key frame (bounded) plus ``n`` evenly spaced
    frames (see :mod:`provenance.media.frame_targets`). The default for checks."""


@dataclass(frozen=True)
class Sampling:
    """How to choose frames from a stream.

    Parameters
    ----------
    mode
        The :class:`SamplingMode` (its string value is accepted too).
    n
        EVERY_NTH: the step (1 = every frame). EVENLY: how many frames. AUTO: how many evenly
        spaced frames join the key frames of a long clip. Ignored by the other modes. At
        least 1.
    max_frames
        Hard cap on the number of frames yielded, in any mode; None for no cap. At least 1.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and the allowed range.
    """

    mode: SamplingMode = SamplingMode.KEYFRAMES
    n: int = 1
    max_frames: int | None = None

    def __post_init__(self) -> None:
        try:
            mode = SamplingMode(self.mode)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in SamplingMode)
            raise ArgumentError(
                f"Sampling: mode must be one of {allowed}, got {self.mode!r}"
            ) from None
        object.__setattr__(self, "mode", mode)
        if not _is_int(self.n) or self.n < 1:
            raise ArgumentError(f"Sampling: n must be an integer >= 1, got {self.n!r}")
        if self.max_frames is not None and (not _is_int(self.max_frames) or self.max_frames < 1):
            raise ArgumentError(
                f"Sampling: max_frames must be None or an integer >= 1, got {self.max_frames!r}"
            )

    @classmethod
    def parse(cls, text: str, *, max_frames: int | None = None) -> Sampling:
        """Read a command-line sampling spec.

        Parameters
        ----------
        text
            ``auto`` (short clips whole, else every key frame plus 8 evenly spaced frames;
            ``auto:N`` for N of them), ``keyframes``, ``all``, ``every:N`` (every N-th frame)
            or ``evenly:N`` (N evenly spaced frames); case and surrounding spaces are ignored.
            ``every_nth:N`` is accepted as a synonym of ``every:N``.
        max_frames
            Passed through to :class:`Sampling`.

        Raises
        ------
        ValueError
            The text is not one of the forms above, or N is not an integer >= 1.
        """
        usage = (
            "use 'auto', 'keyframes', 'all', 'every:N' (every N-th frame) or 'evenly:N' "
            "(N evenly spaced frames), with N an integer >= 1"
        )
        name, separator, number = str(text).strip().lower().partition(":")
        name = name.strip()
        modes = {
            "keyframes": SamplingMode.KEYFRAMES,
            "all": SamplingMode.ALL,
            "every": SamplingMode.EVERY_NTH,
            "every_nth": SamplingMode.EVERY_NTH,
            "evenly": SamplingMode.EVENLY,
            "auto": SamplingMode.AUTO,
        }
        mode = modes.get(name)
        if mode is None:
            raise ArgumentError(f"sampling: cannot read {text!r}; {usage}")
        if mode in (SamplingMode.KEYFRAMES, SamplingMode.ALL):
            if separator:
                raise ArgumentError(f"sampling: {name!r} takes no number, got {text!r}; {usage}")
            return cls(mode, max_frames=max_frames)
        if mode is SamplingMode.AUTO and not separator:
            return cls(mode, AUTO_EVENLY, max_frames=max_frames)
        try:
            n = int(number.strip())
        except ValueError:
            raise ArgumentError(
                f"sampling: {name!r} needs a number N, got {text!r}; {usage}"
            ) from None
        if n < 1:
            raise ArgumentError(f"sampling: N must be an integer >= 1, got {text!r}; {usage}")
        return cls(mode, n, max_frames=max_frames)

    def __str__(self) -> str:
        text = {
            SamplingMode.KEYFRAMES: "keyframes",
            SamplingMode.ALL: "all",
            SamplingMode.EVERY_NTH: f"every:{self.n}",
            SamplingMode.EVENLY: f"evenly:{self.n}",
            SamplingMode.AUTO: "auto" if self.n == AUTO_EVENLY else f"auto:{self.n}",
        }[self.mode]
        return text if self.max_frames is None else f"{text} (max {self.max_frames})"


def _is_int(value: object) -> bool:
    # numbers.Integral includes numpy's integer types without importing numpy
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def evenly_spaced_indices(total: int, count: int) -> tuple[int, ...]:
    """Indices of ``count`` frames evenly spread over ``total``, from the first to the last.

    ``round(i * (total - 1) / (count - 1))`` for ``i`` in ``0 .. count - 1`` (just ``0`` when
    ``count`` is 1), without duplicates: when ``count >= total`` every frame is chosen, so fewer
    than ``count`` indices come back.

    Raises
    ------
    ValueError
        ``total`` is negative or ``count`` is below 1.
    """
    if total < 0:
        raise ArgumentError(f"evenly_spaced_indices: total must be >= 0, got {total}")
    if count < 1:
        raise ArgumentError(f"evenly_spaced_indices: count must be >= 1, got {count}")
    if total == 0:
        return ()
    if count == 1:
        return (0,)
    if count >= total:
        return tuple(range(total))
    return tuple(sorted({round(i * (total - 1) / (count - 1)) for i in range(count)}))
