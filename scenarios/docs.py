"""The scenario schema as a Markdown table (``warehouse validate --schema``, README)."""

from __future__ import annotations

import textwrap
import types
from typing import Annotated, Any, Literal, TypeGuard, Union, get_args, get_origin

from pydantic import BaseModel

from .schema import (
    AsciiLayout,
    FileLayout,
    FloorLayout,
    GeneratorLayout,
    Scenario,
    floor_wide_last,
)

SECTION_ORDER = [
    "name", "description", "layout", "fleet", "tasks", "physics", "reward", "faults",
    "observation", "battery", "episode", "policies",
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
    if origin is tuple and args and Ellipsis not in args:  # a fixed pair: [row, col]
        return "[" + ", ".join(_type_name(a) for a in args) + "]"
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if _is_model(ann):
        return "mapping"
    return getattr(ann, "__name__", str(ann))


def _yaml_scalar(value: Any) -> str:
    """``value`` as a scenario file writes it: ``null``, ``false``, ``[west, east]``; text bare
    where YAML reads it back as that text, else quoted (``""``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        from warehouse.errors import InputError

        from .safe_yaml import parse_yaml  # (as scenario files are read: ``1e3`` is a number)

        try:
            bare = bool(value) and parse_yaml(value, None) == value
        except InputError:
            bare = False
        return value if bare else _yaml_value(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return repr(value)


def _default(field: Any) -> str:
    if field.default_factory is not None:
        made = field.default_factory()
        return f"`{made!r}`" if made in ({}, []) else "(see below)"
    return "required" if field.is_required() else f"`{_yaml_scalar(field.get_default())}`"


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
                    if row[0] != "layout.type" and row[0][7:] not in FloorLayout.model_fields:
                        rows.append((f"{row[0]} ({tag})", *row[1:]))
            rows.extend(schema_rows(FloorLayout, "layout."))  # every kind of floor: once
            continue
        if _is_model(field.annotation):
            rows.extend(schema_rows(field.annotation, f"{key}."))
            continue
        rows.append((key, _type_name(field.annotation), _default(field), field.description or ""))
        entry = get_args(field.annotation)[0] if get_origin(field.annotation) is tuple else None
        if _is_model(entry):  # a list of sections (faults.closures): each entry's keys
            rows.extend(schema_rows(entry, f"{key}[]."))
    return rows


def schema_markdown() -> str:
    lines = ["| key | type | default | meaning (units) |", "| --- | --- | --- | --- |"]
    for key, typ, default, desc in schema_rows():
        lines.append(f"| `{key}` | {typ} | {default} | {desc.replace('|', '/')} |")
    return "\n".join(lines)


def _yaml_value(value: Any) -> str:
    """One value in YAML flow style (JSON is YAML: numbers, strings, lists, null, true)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def _comment(text: str, indent: str) -> list[str]:
    width = 96 - len(indent)
    lines = textwrap.wrap(text, width, break_on_hyphens=False)
    return [f"{indent}# {line}" for line in lines] if text else []


def scenario_template() -> str:
    """A scenario file with every setting at its default, each under its description
    (``warehouse validate --template``); it loads to the defaults of :class:`Scenario`."""
    # (with the settings a dump leaves out at their default: fleet.start_cells, tasks.goals)
    data = Scenario().model_dump(mode="json", context={"all_settings": True})
    lines = [
        "# A scenario with every setting at its default (warehouse validate --template).",
        "# Keep what you change and delete the rest; `warehouse validate FILE` checks it.",
    ]
    names = sorted(Scenario.model_fields, key=lambda n: SECTION_ORDER.index(n))
    for name in names:
        field = Scenario.model_fields[name]
        lines.append("")
        if name == "layout":
            lines += _comment(
                "The floor. type: generator (the parametric warehouse below), ascii (a drawing "
                "in `map`) or file (a map file in `path`); `warehouse validate --schema` lists "
                "the settings of each.",
                "",
            )
            model: type[BaseModel] = GeneratorLayout
        elif _is_model(field.annotation):
            model = field.annotation
            lines += _comment(field.description or (model.__doc__ or "").split("\n")[0], "")
        else:
            lines += _comment(field.description or "", "")
            lines.append(f"{name}: {_yaml_value(data[name])}")
            continue
        lines.append(f"{name}:")
        for sub, sub_field in floor_wide_last(model.model_fields.items()):
            lines += _comment(sub_field.description or "", "  ")
            lines.append(f"  {sub}: {_yaml_value(data[name][sub])}")
            lines += _entry_keys(sub, sub_field.annotation)
    return "\n".join(lines) + "\n"


def _entry_keys(name: str, ann: Any) -> list[str]:
    """For a list of sections (``faults.closures``): the keys of an entry, commented out."""
    entry = get_args(ann)[0] if get_origin(ann) is tuple else None
    if not _is_model(entry):
        return []
    lines = [f"  # Each entry of {name} has these keys:"]
    for key, field in entry.model_fields.items():
        shown = "(required)" if field.is_required() else _yaml_value(field.get_default())
        text = f"{field.alias or key}: {shown} — {field.description or ''}"
        lines += [f"  #   {line}" for line in textwrap.wrap(text, 90, break_on_hyphens=False)]
    return lines
