"""Names a package exports but loads on first use (PEP 562), so importing it stays light."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_getattr(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name from its module in
    ``table`` on first access, and keeps it in the package so later lookups skip this."""

    def load(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    sys.modules[package].__class__ = _keeping(frozenset(table))
    return load


def _keeping(names: frozenset[str]) -> type[types.ModuleType]:
    """A module class whose lazy ``names`` a submodule of the same name cannot replace.

    Importing a submodule sets it as an attribute of its package: ``import provenance.check``
    would make ``provenance.check`` the module instead of the function :func:`lazy_getattr`
    loads on first use. Such an assignment is dropped, so the name stays lazy.
    """

    class Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in names and isinstance(value, types.ModuleType):
                return
            super().__setattr__(name, value)

    return Package


def lazy_dir(public: Iterable[str]) -> Callable[[], list[str]]:
    """A module ``__dir__`` that lists the public names, lazy ones included, and hides the
    module's helpers and imports."""
    names = sorted(set(public))

    def listing() -> list[str]:
        return list(names)

    return listing
