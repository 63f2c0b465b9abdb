"""The scenario schema as a Markdown table (``warehouse validate --schema``, README)."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, TypeGuard, Union, get_args, get_origin

from pydantic import BaseModel

from .schema import AsciiLayout, FileLayout, GeneratorLayout, Scenario

SECTION_ORDER = [
    "name", "description", "layout", "fleet", "tasks", "physics", "reward", "faults",
    "observation", "episode", "policies",
]  # fmt: skip


def _is_model(ann: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _type_name(ann: Any) -> str:
    origin, args = get_origin(ann), get_args(ann)
    if ann is type(None):
        return "null"
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    return getattr(ann, "__name__", str(ann))


def _default(field: Any) -> str:
    if field.default_factory is not None:
        return "(see below)"
    value = field.get_default()
    if isinstance(value, tuple):
        value = list(value)
    return "required" if field.is_required() else f"`{value!r}`".replace("'", "")


def schema_rows(model: type[BaseModel] = Scenario, prefix: str = "") -> list[tuple[str, ...]]:
    """``(key, type, default, description)`` for every leaf field, dotted keys."""
    rows: list[tuple[str, ...]] = []
    names = list(model.model_fields)
    if model is Scenario:
        names.sort(key=lambda n: SECTION_ORDER.index(n) if n in SECTION_ORDER else 99)
    for name in names:
        field = model.model_fields[name]
        key = f"{prefix}{name}"
        if name == "layout" and model is Scenario:
            rows.append(
                ("layout.type", "`generator` / `ascii` / `file`", "`generator`", "Kind of floor.")
            )
            for layout in (GeneratorLayout, AsciiLayout, FileLayout):
                tag = layout.model_fields["type"].default
                for row in schema_rows(layout, "layout."):
                    if row[0] != "layout.type":
                        rows.append((f"{row[0]} ({tag})", *row[1:]))
            continue
        if _is_model(field.annotation):
            rows.extend(schema_rows(field.annotation, f"{key}."))
            continue
        rows.append((key, _type_name(field.annotation), _default(field), field.description or ""))
    return rows


def schema_markdown() -> str:
    lines = ["| key | type | default | meaning (units) |", "| --- | --- | --- | --- |"]
    for key, typ, default, desc in schema_rows():
        lines.append(f"| `{key}` | {typ} | {default} | {desc.replace('|', '/')} |")
    return "\n".join(lines)
