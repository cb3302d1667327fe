"""The architecture holds (ARCHITECTURE.md): which package may import which, no import cycle,
modules a reader can take in, one exception root, presentation only at the edges.

The imports are read from the source (every ``import``, the ones inside functions included), so
a lazy import counts like any other.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import pytest

import provenance
from provenance.errors import ProvenanceError

PACKAGE = Path(provenance.__file__).resolve().parent

#: What each part of the library may import (besides itself): the table of ARCHITECTURE.md.
#: Parts are the subpackages and the top-level modules; ``__init__`` is the public face.
ALLOWED: dict[str, set[str]] = {
    "_lazy": set(),
    "_sqlite": set(),
    "_plain": set(),
    "_version": set(),
    "errors": set(),
    "report": {"errors", "_plain"},
    "report_schema": {"errors", "report"},
    "media": {"errors", "report", "_lazy"},
    "verdict": {"report"},
    "credentials": {"errors", "report", "media", "_version"},
    "watermark": {"errors", "report", "media", "_lazy"},
    "options": {"errors", "report", "credentials", "watermark", "_version"},
    "check": {
        "errors",
        "report",
        "media",
        "credentials",
        "watermark",
        "verdict",
        "options",
        "repository",
        "_version",
    },
    "batch": {"errors", "report", "media", "watermark", "options", "check", "_sqlite"},
    "render": {"errors", "report", "verdict", "credentials", "_lazy"},
    "testing": {"errors", "media", "credentials", "_version"},
    "repository": {"errors", "report", "credentials", "_sqlite"},
    "durable": {"errors", "credentials", "watermark", "repository"},
    "cli": {
        "errors",
        "report",
        "media",
        "credentials",
        "watermark",
        "verdict",
        "options",
        "check",
        "batch",
        "render",
        "repository",
        "durable",
        "_version",
    },
    "__init__": {
        "_lazy",
        "_version",
        "errors",
        "report",
        "media",
        "credentials",
        "watermark",
        "options",
        "check",
        "batch",
    },
    "__main__": {"cli"},
}

#: Libraries that talk to people: only the command line and the terminal renderer use them.
TERMINAL_LIBRARIES = {"rich", "typer", "click"}
TERMINAL_ALLOWED = {"cli", "render"}

#: Libraries that only train models (``datasets/survival_fit.py``, the ``train`` extra): the
#: library reads the models as plain data and never imports them.
TRAINING_LIBRARIES = {"sklearn", "matplotlib", "threadpoolctl", "joblib"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _part(module: str) -> str:
    """The part of the library a module belongs to (see :data:`ALLOWED`)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports, as far as it can be resolved (absolute names)."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                full = f"{origin}.{alias.name}"
                names.add(full if full in MODULES else origin)
    return names


def _internal(name: str) -> str | None:
    """The library module ``name`` refers to (the longest known prefix), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def test_packages_import_only_what_the_architecture_allows() -> None:
    broken = []
    for module in MODULES:
        source = _part(module)
        for name in _imports(module):
            target = _internal(name)
            if target is None or target == "provenance":
                continue
            wanted = _part(target)
            if wanted != source and wanted not in ALLOWED[source]:
                broken.append(f"{module} imports {target} ({source} -> {wanted})")
    assert broken == []


def test_no_import_cycle_between_modules() -> None:
    graph = {
        module: {t for n in _imports(module) if (t := _internal(n)) and t != module}
        for module in MODULES
    }
    # Tarjan's strongly connected components; any component of two or more is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_allowed_table_itself_has_no_cycle() -> None:
    seen: set[str] = set()

    def reach(part: str, path: tuple[str, ...]) -> None:
        assert part not in path, " -> ".join((*path, part))
        if part in seen:
            return
        for other in ALLOWED[part]:
            reach(other, (*path, part))
        seen.add(part)

    for part in ALLOWED:
        reach(part, ())


def test_modules_stay_readable() -> None:
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text("utf-8").splitlines())) > 650
    }
    assert long == {}


def test_only_the_edges_talk_to_people() -> None:
    offenders = []
    for module in MODULES:
        if _part(module) in TERMINAL_ALLOWED:
            continue
        used = {name.split(".")[0] for name in _imports(module)} & TERMINAL_LIBRARIES
        if used:
            offenders.append(f"{module}: {sorted(used)}")
    assert offenders == []


def test_the_library_never_imports_a_training_library() -> None:
    offenders = []
    for module in MODULES:
        used = {name.split(".")[0] for name in _imports(module)} & TRAINING_LIBRARIES
        if used:
            offenders.append(f"{module}: {sorted(used)}")
    assert offenders == []
    # the survival features and models live in the watermark part, like the detectors
    assert _part("provenance.watermark.survival") == "watermark"
    assert _part("provenance.watermark.survival_model") == "watermark"


def test_detector_names_are_never_compared_as_strings() -> None:
    names = {"dwtdct", "keyed"}
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                if any(isinstance(o, ast.Constant) and o.value in names for o in operands):
                    found.append(f"{module}:{node.lineno}")
    assert found == []


def test_every_exception_the_library_defines_derives_from_provenance_error() -> None:
    foreign = []
    for info in pkgutil.walk_packages(provenance.__path__, "provenance."):
        if info.name == "provenance.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not issubclass(value, ProvenanceError)
            ):
                foreign.append(f"{info.name}.{name}")
    assert foreign == []
    for name in provenance.__all__:
        value = getattr(provenance, name)
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert issubclass(value, ProvenanceError), name


#: Built-in exceptions the library may raise itself: the module ``__getattr__`` protocol.
# module ``__getattr__`` functions (PEP 562) must raise AttributeError for unknown names
BUILTIN_RAISES_ALLOWED = {
    ("provenance._lazy", "AttributeError"),
    ("provenance.cli", "AttributeError"),
}


def test_the_library_raises_no_bare_builtin_exception() -> None:
    builtin = {name for name in dir(builtins) if name.endswith(("Error", "Exception"))}
    raised = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", None)
                if name in builtin and (module, name) not in BUILTIN_RAISES_ALLOWED:
                    raised.append(f"{module}:{node.lineno} raises {name}")
    assert raised == []


def test_bad_options_raise_the_librarys_own_error() -> None:
    from provenance import CheckOptions, ScanOptions, WatermarkOptions
    from provenance.errors import ArgumentError

    for build in (
        lambda: CheckOptions(trust_sources=("nowhere",)),  # type: ignore[arg-type]
        lambda: CheckOptions.from_dict({"watermarks": {"sampling": {"mode": "sometimes"}}}),
        lambda: WatermarkOptions(crop_search="maybe"),  # type: ignore[arg-type]
        lambda: WatermarkOptions(detectors=("trustmark",)),  # type: ignore[arg-type]
        lambda: ScanOptions(engine="spark"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ArgumentError) as raised:
            build()
        assert isinstance(raised.value, ProvenanceError)
        assert isinstance(raised.value, ValueError)  # callers catching ValueError still do


def test_dir_shows_the_public_names_lazy_ones_included() -> None:
    listed = dir(provenance)
    assert listed == sorted(provenance.__all__)
    assert {"scan", "ScanOptions", "Engine", "WalkOptions"} <= set(listed)  # loaded lazily
    assert "lazy_getattr" not in listed
    assert "TYPE_CHECKING" not in listed
    for name in listed:
        assert getattr(provenance, name) is not None


@pytest.mark.parametrize("module", ["provenance.batch.engine", "provenance.batch.pool"])
def test_the_batch_layer_loads_without_the_command_line(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith(('rich', 'typer', 'provenance.cli', 'provenance.render'))))"
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
