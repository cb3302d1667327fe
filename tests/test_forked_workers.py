"""Workers started by fork (the cheap start, used when the parent has one thread) behave as
fresh-interpreter workers do: the same protocol, the same limits, crashes contained.

Each test runs its pool in a fresh interpreter: the test process itself has loaded numpy and
OpenCV (thread pools), where the pool rightly refuses to fork.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.support import REPO

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from provenance.batch.forked import ForkedProcess, can_fork
    from provenance.batch.pool import Job, Task, WorkerPool

    mode = sys.argv[1]
    if mode == "threaded":
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    job = Job("tests.support:start_echo_job", {"greeting": "hello"})
    tasks = [
        Task(0, {"n": 0}),
        Task(1, {"fail": "on purpose"}),
        Task(2, {"crash": True}),
        Task(3, {"sleep": 30}),
        Task(4, {"allocate_mb": 400}),
        Task(5, {"n": 5}),
    ]
    started = time.monotonic()
    with WorkerPool(job, jobs=2, timeout=3, memory_mb=250, python_path=[sys.argv[2]]) as pool:
        workers = list(pool._workers)
        calls = []  # on_started: once, with the workers running (then threads are allowed)
        on_started = lambda: calls.append([type(w.process).__name__ for w in pool._workers])
        outcomes = {o.task.id: o for o in pool.run(tasks, on_started=on_started)}
        kinds = [type(w.process).__name__ for w in pool._workers]
        live = list(pool._workers)
    codes = [w.process.returncode for w in live]
    print(json.dumps({
        "can_fork": can_fork(),
        "kinds": kinds,
        "stopped": {i: o.stopped for i, o in outcomes.items()},
        "results": {i: o.result for i, o in outcomes.items()},
        "messages": {i: o.message for i, o in outcomes.items()},
        "restarts": pool.restarts,
        "exit_codes": codes,
        "parent": os.getpid(),
        "on_started": calls,
    }))
    """
)


def _run(mode: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode, str(REPO)],
        capture_output=True, text=True, timeout=120, check=True, cwd=REPO,
    )  # fmt: skip
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _expect_the_protocol_and_the_limits(data: dict[str, object]) -> None:
    stopped = data["stopped"]
    results = data["results"]
    assert isinstance(stopped, dict)
    assert isinstance(results, dict)
    assert stopped == {
        "0": None, "1": "failed", "2": "crashed", "3": "timeout", "4": "memory", "5": None
    }  # fmt: skip
    assert results["0"]["setup"] == {"greeting": "hello"}
    assert results["5"]["echo"] == {"n": 5}  # the pool goes on after each stop
    messages = data["messages"]
    assert isinstance(messages, dict)
    assert "SIGSEGV" in messages["2"]
    assert data["restarts"] == 3
    # closing the pool ends every worker by closing its requests: none had to be killed
    # (a worker holding its sibling's request pipe would keep the sibling from ending)
    assert data["exit_codes"] == [0, 0]


def test_a_single_threaded_parent_forks_its_workers() -> None:
    data = _run("plain")
    assert data["can_fork"] is True
    assert data["kinds"] == ["ForkedProcess", "ForkedProcess"]
    assert data["on_started"] == [["ForkedProcess", "ForkedProcess"]]
    results = data["results"]
    assert isinstance(results, dict)
    assert results["0"]["ppid"] == data["parent"]
    _expect_the_protocol_and_the_limits(data)


def test_a_parent_with_threads_starts_fresh_interpreters() -> None:
    data = _run("threaded")
    assert data["can_fork"] is False
    assert data["kinds"] == ["Popen", "Popen"]
    assert data["on_started"] == [["Popen", "Popen"]]
    _expect_the_protocol_and_the_limits(data)
