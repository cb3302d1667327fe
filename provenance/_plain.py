"""Plain JSON-ready data from the report's dataclasses and back, driven by their type hints."""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import types
import typing
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["Serialisable", "from_plain", "printable", "printable_plain", "to_plain"]

_T = TypeVar("_T")


class Serialisable:
    """Mixin: ``to_dict()`` / ``from_dict()`` driven by the dataclass type hints."""

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready data (enums as their values, tuples as lists)."""
        return typing.cast(dict[str, Any], to_plain(self))

    @classmethod
    def from_dict(cls: type[_T], data: Mapping[str, Any]) -> _T:
        """Rebuild an instance from data produced by :meth:`to_dict`."""
        return typing.cast(_T, from_plain(cls, data))


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON-ready data: dataclasses as dicts (fields whose metadata says
    ``plain=False`` left out), enums as their values, tuples as lists, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("plain", True)
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [to_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved type hints, once per class (resolving them is slow)."""
    return get_type_hints(cls)


def from_plain(annotation: Any, data: Any) -> Any:
    """Rebuild a value of type ``annotation`` from :func:`to_plain` data (missing dataclass
    fields take their defaults)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if data is None:
            return None
        return from_plain(members[0], data)
    if origin is tuple:
        item_type = get_args(annotation)[0]
        return tuple(from_plain(item_type, item) for item in data)
    if origin in (dict, Mapping) or annotation is dict:
        args = get_args(annotation)
        value_type = args[1] if args else Any
        return {key: from_plain(value_type, item) for key, item in data.items()}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(data)
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return annotation(data)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = _hints(annotation)
        kwargs = {}
        for f in dataclasses.fields(annotation):
            if f.name in data:
                kwargs[f.name] = from_plain(hints[f.name], data[f.name])
        return annotation(**kwargs)
    if annotation is float and isinstance(data, int):
        return float(data)
    return data


#: A lone surrogate: what Python makes of a byte that is not UTF-8 in a file name
#: (``surrogateescape``, U+DC80 to U+DCFF), or of a broken UTF-16 pair in JSON.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with its lone surrogates written as backslash escapes, so that it encodes as
    UTF-8 anywhere (a terminal, a file, SQLite): the file name ``b"clip\\xff.jpg"`` (Python's
    ``"clip\\udcff.jpg"``) reads ``clip\\xff.jpg``, as ``bytes.decode(errors="backslashreplace")``
    shows it. Text without surrogates comes back unchanged."""
    return _SURROGATE.sub(_escape, text) if _SURROGATE.search(text) else text


def printable_plain(data: Any) -> Any:
    """:func:`to_plain` data with :func:`printable` applied to every text in it."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, list):
        return [printable_plain(item) for item in data]
    if isinstance(data, dict):
        return {printable(str(key)): printable_plain(item) for key, item in data.items()}
    return data
