"""A scan worker process: ``python -m provenance.batch.worker``, fed JSON lines on stdin.

Protocol (one JSON object per line):

- first line in: ``{"settings": <ScanSettings JSON text>, "memory_mb": <int or null>}``;
  out: ``{"ready": true}``, or ``{"fatal": <message>}`` when the settings cannot be used;
- then, per file, in: ``{"id": <int>, "path": <str>}``; out: ``{"id": <int>, "report": {...}}``.

Only protocol lines reach the parent: the worker moves its original standard output to a
private descriptor and points descriptor 1 at standard error, so that a native library that
prints cannot corrupt the stream. The parent (:class:`provenance.batch.pool.WorkerPool`)
enforces the time and memory limits and replaces a worker that dies.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any


def protocol_stream() -> IO[str]:
    """A private duplicate of stdout for protocol lines; fd 1 then goes to stderr.

    For worker processes that talk JSON lines to their parent: whatever else writes to standard
    output (C libraries included) lands on standard error instead of in the protocol.
    """
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(private, "w", encoding="utf-8", buffering=1)


def _limit_memory(memory_mb: int | None) -> None:
    """A hard backstop against a sudden huge allocation (the parent polls the resident size).

    The data-segment limit (heap and private writable mappings) is set to twice the limit
    plus 1 GiB: far above what a check needs, low enough that an absurd allocation fails in
    this process instead of exhausting the machine.
    """
    if not memory_mb:
        return
    try:
        import resource
    except ImportError:  # not on this platform: the parent's polling still applies
        return
    ceiling = (2 * memory_mb + 1024) * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, ensure_ascii=False) + "\n")
    stream.flush()


def main() -> int:
    """Serve check requests until stdin closes."""
    out = protocol_stream()
    first = sys.stdin.readline()
    if not first:
        return 0
    hello = json.loads(first)
    _limit_memory(hello.get("memory_mb"))
    try:
        from provenance.batch.settings import ScanSettings
        from provenance.check import check

        settings = ScanSettings.from_json(hello["settings"])
        if not settings.credentials_only:  # OpenCV is only loaded for the frames
            import cv2

            cv2.setNumThreads(1)  # one file per process: no thread pool per worker
        options = settings.check_options()  # trust material loaded once per worker
    except Exception as exc:  # settings or trust material unusable: say so and stop
        _send(out, {"fatal": f"{type(exc).__name__}: {exc}"})
        return 1
    _send(out, {"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            report = check(request["path"], options).to_dict()
        except MemoryError:
            _send(out, {"id": request["id"], "memory": True})
            continue
        except Exception as exc:  # check() reports bad files itself; this is a bug or config
            _send(out, {"id": request["id"], "failed": f"{type(exc).__name__}: {exc}"})
            continue
        _send(out, {"id": request["id"], "report": report})
    return 0


if __name__ == "__main__":
    sys.exit(main())
