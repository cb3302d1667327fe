"""The JSON Schema of :class:`~provenance.report.Report`, built from its dataclasses (the source
of the shipped ``schema/report.schema.json``, which :func:`provenance.report.load_schema` reads)."""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin, get_type_hints

from provenance.errors import ArgumentError
from provenance.report import SCHEMA_VERSION, Report

__all__ = ["json_schema"]


def _schema_for(annotation: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        inner = _schema_for(members[0], definitions)
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is tuple:
        return {"type": "array", "items": _schema_for(get_args(annotation)[0], definitions)}
    if origin in (dict, Mapping):
        value_type = get_args(annotation)[1]
        return {"type": "object", "additionalProperties": _schema_for(value_type, definitions)}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        definitions.setdefault(
            annotation.__name__, {"type": "string", "enum": [m.value for m in annotation]}
        )
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        if annotation.__name__ not in definitions:
            definitions[annotation.__name__] = {}  # placeholder against recursion
            hints = get_type_hints(annotation)
            fields = dataclasses.fields(annotation)
            definitions[annotation.__name__] = {
                "type": "object",
                "description": (annotation.__doc__ or "").strip().splitlines()[0],
                "properties": {f.name: _schema_for(hints[f.name], definitions) for f in fields},
                "required": [f.name for f in fields],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    raise ArgumentError(f"no JSON Schema mapping for {annotation!r}")


def json_schema() -> dict[str, Any]:
    """Build the JSON Schema of :class:`Report` from the dataclasses (the shipped file's source)."""
    definitions: dict[str, Any] = {}
    root = _schema_for(Report, definitions)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://provenance-checker.invalid/schema/report-{SCHEMA_VERSION}.json",
        "title": "provenance-checker report",
        **root,
        "$defs": dict(sorted(definitions.items())),
    }
