"""A worker process of :class:`~provenance.batch.pool.WorkerPool`:
``python -m provenance.batch.worker``, fed JSON lines on stdin.

Protocol (one JSON object per line):

- first line in: ``{"job": "module:function", "setup": {...}, "memory_mb": <int or null>}``;
  the worker calls ``function(setup)`` once to get its handler, then answers
  ``{"ready": true}``, or ``{"fatal": <message>}`` when the setup fails;
- then, per task, in: ``{"id": <int>, "payload": {...}}``; out: ``{"id": <int>, "result":
  handler(payload)}``, ``{"id": <int>, "memory": true}`` when the handler ran out of memory, or
  ``{"id": <int>, "failed": <message>}`` when it raised.

Only protocol lines reach the parent: the worker moves its original standard output to a
private descriptor and points descriptor 1 at standard error, so that a native library that
prints cannot corrupt the stream. The parent enforces the time and memory limits and replaces
a worker that dies.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

from provenance.errors import ArgumentError

#: What a job's setup function returns: the handler of one task's payload.
Handler = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def protocol_stream() -> IO[str]:
    """A private duplicate of stdout for protocol lines; fd 1 then goes to stderr.

    Whatever else writes to standard output (C libraries included) lands on standard error
    instead of in the protocol.
    """
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(private, "w", encoding="utf-8", buffering=1)


def _limit_memory(memory_mb: int | None) -> None:
    """A hard backstop against a sudden huge allocation (the parent polls the resident size).

    The data-segment limit (heap and private writable mappings) is set to twice the limit
    plus 1 GiB: far above what a task needs, low enough that an absurd allocation fails in
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


def load_handler(target: str, setup: Mapping[str, Any]) -> Handler:
    """Import ``module:function`` and call it with ``setup``; returns the task handler."""
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ArgumentError(f"a job target is 'module:function', got {target!r}")
    start: Callable[[Mapping[str, Any]], Handler] = getattr(
        importlib.import_module(module_name), function_name
    )
    return start(setup)


def _send(stream: IO[str], message: Mapping[str, Any]) -> None:
    stream.write(json.dumps(message, ensure_ascii=False) + "\n")
    stream.flush()


def serve(requests: IO[str], out: IO[str]) -> int:
    """Answer the protocol: the hello line, then one reply per task until ``requests`` ends."""
    first = requests.readline()
    if not first:
        return 0
    hello = json.loads(first)
    _limit_memory(hello.get("memory_mb"))
    try:
        handler = load_handler(hello["job"], hello.get("setup", {}))
    except Exception as exc:  # the job cannot run here: say so and stop
        _send(out, {"fatal": f"{type(exc).__name__}: {exc}"})
        return 1
    _send(out, {"ready": True})
    for line in requests:
        request = json.loads(line)
        try:
            result = handler(request["payload"])
        except MemoryError:
            _send(out, {"id": request["id"], "memory": True})
            continue
        except Exception as exc:  # the handler failed on this task; the next one may work
            _send(out, {"id": request["id"], "failed": f"{type(exc).__name__}: {exc}"})
            continue
        _send(out, {"id": request["id"], "result": result})
    return 0


def main() -> int:
    """Serve task requests from standard input until it closes."""
    return serve(sys.stdin, protocol_stream())


if __name__ == "__main__":
    sys.exit(main())
