"""Load a scenario (built-in name, YAML file or map file) and build its floor.

Every problem with the user's input ends as one :class:`~warehouse.errors.InputError` naming the
file and the field: YAML errors and hostile documents (see :mod:`scenarios.safe_yaml`), schema
violations (unknown keys, wrong types, out-of-range values), missing / malformed / escaping map
files, and floors that cannot hold the scenario (more robots than free cells, no pick locations or
stations, unreachable pick locations or stations).

A ``.json`` target naming an ``agentFile`` and a ``mapFile`` is a League of Robot Runners
problem file (:func:`lorr_scenario`), a ``.scen`` target a MovingAI MAPF scenario file
(:func:`movingai_scen_scenario`). Any other target that is not a YAML file is a *map file*:
it becomes the default :class:`Scenario` with ``layout: {type: file, path: <absolute path>}``;
pick locations and stations are then inferred
by the floor parser's documented rule. An in-memory networkx graph (``make_env(G)``,
``WarehouseModel(G)``) is read by the rules of a JSON waypoint graph of it
(:func:`graph_scenario`) and becomes the default scenario on that floor, as a map file does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, get_args

import networkx as nx
import numpy as np
from pydantic import BaseModel, ValidationError

from warehouse.errors import InputError
from warehouse.floor import CompiledFloor, WarehouseLayout, compile_floor, generate_warehouse
from warehouse.floor.formats.common import MAX_FILE_BYTES  # (a map file's limit)

from .registry import builtin_path
from .safe_yaml import parse_yaml, read_text, read_yaml
from .schema import AsciiLayout, FileLayout, GeneratorLayout, Scenario

#: Short override names accepted by :func:`apply_overrides` and ``make_env(**overrides)``.
SHORTCUTS = {
    "robots": "fleet.robots",
    "steps": "episode.steps",
    "seeds": "episode.seeds",
    "collisions": "physics.collisions",
    "tasks": "tasks.mode",
    "mode": "tasks.mode",
    "arrival_rate": "tasks.arrival_rate",
    "radius": "observation.radius",
    "dispatcher": "policies.dispatcher",
    "navigator": "policies.navigator",
}

#: What a scenario argument names.
EXPECTED_TARGET = "expected a built-in scenario name, a scenario file or a map file"

#: File suffixes read as scenario files; anything else is a map file.
SCENARIO_SUFFIXES = (".yaml", ".yml")
#: The suffix of a MovingAI MAPF scenario file (:func:`movingai_scen_scenario`).
SCEN_SUFFIX = ".scen"
_LAYOUT_TAGS = ("generator", "ascii", "file")

#: What errors name as the file of an in-memory floor graph (``make_env(G)``).
GRAPH_SOURCE = "graph"
#: ``layout.path`` of the scenario on an in-memory graph: the floor is the graph, no file.
GRAPH_LAYOUT_PATH = "<networkx graph>"


def load_scenario(target: str | Path) -> tuple[Scenario, Path | None]:
    """Resolve ``target`` and return the validated scenario and the file it came from."""
    if not isinstance(target, str | PathLike):  # (a Python caller's mistake: not a file name)
        raise TypeError(
            f"{EXPECTED_TARGET} (str or Path; make_env and WarehouseModel also take a networkx "
            f"graph), got {type(target).__name__}"
        )
    if not str(target).strip():  # (as a path, "" would be ".", the current folder)
        raise InputError(None, None, f"empty target {str(target)!r}: {EXPECTED_TARGET}")
    path = builtin_path(str(target)) if isinstance(target, str) else None
    path = path or Path(target).expanduser()
    if not path.exists():
        raise InputError(path, None, "no such built-in scenario or file")
    if path.is_dir():
        raise InputError(path, None, "is a folder, expected a scenario or map file")
    if path.suffix.lower() == ".json" and _is_lorr_problem(path):
        return lorr_scenario(path), path.resolve()
    if path.suffix.lower() == SCEN_SUFFIX:
        return movingai_scen_scenario(path), path.resolve()
    if path.suffix.lower() not in SCENARIO_SUFFIXES:
        return map_scenario(path), path.resolve()
    data = read_yaml(path)
    if _looks_like_pogema_yaml(data):
        return map_scenario(path, fmt="pogema"), path.resolve()
    return validate_scenario(data, path), path


def map_scenario(path: Path, fmt: str = "auto") -> Scenario:
    """The default scenario on the floor of the map file ``path``."""
    read_text(path, what="map file", max_bytes=MAX_FILE_BYTES)  # fail early: missing, binary, empty
    layout = FileLayout(path=str(path.resolve()), format=fmt)  # type: ignore[arg-type]
    return Scenario(name=path.stem, description=f"map file {path.name}", layout=layout)


def _is_lorr_problem(path: Path) -> bool:
    """A ``.json`` target naming an ``agentFile`` and a ``mapFile`` is a LoRR problem file."""
    from warehouse.floor.formats.lorr import looks_like_lorr_problem

    return looks_like_lorr_problem(read_text(path, what="map file", max_bytes=MAX_FILE_BYTES))


def lorr_scenario(path: Path) -> Scenario:
    """The default scenario of a League of Robot Runners problem file
    (:mod:`warehouse.floor.formats.lorr`): its map, fixed starts (``fleet.start_cells``) and
    fixed goal sequence (``tasks.goals`` in ``goal_visit`` mode, ``tasks.assignment``)."""
    from warehouse.floor.formats.lorr import read_lorr_problem

    problem = read_lorr_problem(path)
    data = {
        "name": path.stem,
        "description": f"League of Robot Runners problem {path.name}",
        "layout": {"type": "file", "path": str(problem.map_path), "format": "movingai"},
        "fleet": {"robots": len(problem.starts), "start_cells": problem.starts},
        "tasks": {
            "mode": "goal_visit",
            "goals": problem.goals,
            "assignment": problem.assignment,
            "reveal": problem.reveal,
        },
    }
    return validate_scenario(data, path)


def movingai_scen_scenario(path: Path) -> Scenario:
    """The one-shot MAPF instance of a MovingAI scenario file
    (:mod:`warehouse.floor.formats.movingai_scen`): its map, the agents' starts
    (``fleet.start_cells``) and goals (``tasks.goals`` in ``goal_visit`` mode, ``tasks.assignment:
    one_shot``: robot ``i``'s one goal is goal ``i``)."""
    from warehouse.floor.formats.movingai_scen import read_movingai_scen

    scen = read_movingai_scen(path)
    data = {
        "name": path.stem,
        "description": f"MovingAI scenario {path.name}: one-shot MAPF, {len(scen.starts)} "
        f"agents on {scen.map_path.name}",
        "layout": {"type": "file", "path": str(scen.map_path), "format": "movingai"},
        "fleet": {"robots": len(scen.starts), "start_cells": scen.starts},
        "tasks": {"mode": "goal_visit", "goals": scen.goals, "assignment": "one_shot"},
    }
    return validate_scenario(data, path)


def graph_scenario(
    graph: Any, overrides: Mapping[str, Any] | None = None
) -> tuple[Scenario, nx.Graph]:
    """The default scenario on the floor of an in-memory networkx ``Graph`` or ``DiGraph`` (as
    a map file gets it), and the floor graph to pass to :func:`build_floor` as ``graph=``: read
    by exactly the rules of a node-link JSON file of it
    (:func:`~warehouse.floor.formats.read_graph`; errors name :data:`GRAPH_SOURCE`), a new graph
    (``graph`` is not changed). A layout setting among ``overrides`` (keys as
    :func:`apply_overrides` takes them) other than ``layout.transpose`` is refused: the graph is
    the floor, so it would be ignored."""
    from warehouse.floor.formats import read_graph

    for key in overrides or ():
        dotted = SHORTCUTS.get(key, key)
        if dotted.split(".")[0] == "layout" and dotted != "layout.transpose":
            raise InputError(
                None,
                key,
                "the floor is the networkx graph given: no layout setting but "
                "layout.transpose applies to it",
            )
    floor_graph = read_graph(graph, source=GRAPH_SOURCE)
    layout = FileLayout(path=GRAPH_LAYOUT_PATH, format="json")
    name = str(floor_graph.graph["name"])
    return Scenario(name=name, description="networkx graph", layout=layout), floor_graph


def _looks_like_pogema_yaml(data: Any) -> bool:
    """A POGEMA map collection: ``{name: "multi-line grid"}`` (or ``{name: [row, ...]}``, the
    list-of-rows form the reader takes) with no scenario sections."""

    def is_map(v: Any) -> bool:
        if isinstance(v, list):
            return bool(v) and all(isinstance(row, str) for row in v)
        return isinstance(v, str) and "\n" in v

    return (
        isinstance(data, dict)
        and bool(data)
        and not set(data) & set(Scenario.model_fields)
        and all(is_map(v) for v in data.values())
    )


def validate_scenario(data: Any, source: Path | None) -> Scenario:
    """Validate parsed YAML against the schema; the first problem becomes an InputError."""
    if data is None:
        raise InputError(source, None, "file is empty")
    if not isinstance(data, dict):
        raise InputError(source, None, "expected a mapping of sections (layout:, fleet:, ...)")
    if (bad := _non_text_key(data)) is not None:
        where, key = bad
        raise InputError(source, field_path(where) or None, f"keys must be text, got {key}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise input_error_from(exc, data, source) from None
    base = source.parent if source is not None else Path.cwd()
    for key in PATH_KEYS:
        value = getattr(scenario.policies, key.removeprefix("policies."))
        if value and (base / Path(value).expanduser()).is_dir():
            raise InputError(source, key, f"{value!r} is a folder, expected a checkpoint file")
    return scenario


def _non_text_key(data: Any, loc: tuple[str | int, ...] = ()) -> tuple[list[Any], str] | None:
    """``(path of the mapping, the key as YAML writes it)`` of the first mapping key anywhere in
    ``data`` that is not text (``1:``, ``true:``, ``~:``), else ``None``. Every mapping of a
    scenario is a section or keyword arguments, whose keys are names."""
    import json

    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                return list(loc), json.dumps(key, default=str)
            if (bad := _non_text_key(value, (*loc, key))) is not None:
                return bad
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            if (bad := _non_text_key(value, (*loc, i))) is not None:
                return bad
    return None


#: pydantic error types whose message names a Python type (tuple, dict, a model class)
_PLAIN_WORDS = {
    "tuple_type": "expected a list ([a, b])",
    "list_type": "expected a list ([a, b])",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
}


def field_path(loc: Sequence[Any]) -> str:
    """``("faults", "closures", 1, "cells", 0)`` → ``faults.closures[1].cells[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def input_error_from(exc: ValidationError, data: Any, source: Path | None) -> InputError:
    """The first problem of a scenario's ``exc`` as a one-line :class:`InputError` naming the
    field as the file spells it (``data``: the mapping that was validated, for the allowed keys of
    an unknown one; ``source``: the file, ``None`` for a value given on the command line)."""
    err = exc.errors()[0]
    raw = list(err["loc"])
    if len(raw) >= 2 and raw[0] == "layout" and raw[1] in _LAYOUT_TAGS:
        del raw[1]
    loc = [str(p) for p in raw]
    field = field_path(raw) or None
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], data)
        msg = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "union_tag_invalid":
        msg = f"unknown layout type; expected one of {', '.join(_LAYOUT_TAGS)}"
        field = "layout.type"
    elif kind == "bool_number":  # Section's check names the field in its context
        ctx = err.get("ctx", {})
        field = field_path([*raw, str(ctx.get("name"))])
        msg = str(ctx.get("problem"))
    elif kind in _PLAIN_WORDS:  # pydantic's wording names Python types; say it in YAML terms
        msg = f"{_PLAIN_WORDS[kind]}, got {_as_yaml(err.get('input'))}"
    else:
        msg = err["msg"].removeprefix("Value error, ")  # our own validators' messages
        if entry := re.match(r"\[(\d+)\]: ", msg):  # "[1]: ...": an entry of this list
            field, msg = f"{field}[{entry.group(1)}]", msg[entry.end() :]
        value = err.get("input")
        quiet = kind in ("missing", "cell")  # no value to show; a cell's message shows it
        scalar = value is None or isinstance(value, str | int | float | bool)
        if not quiet and (scalar or kind.endswith("_type")):  # (robots: [3]: show the list)
            msg += f", got {_as_yaml(value)}"
        if kind == "string_type" and isinstance(value, int | float):  # name: 2024, name: yes
            msg += " (to mean text, put it in quotes)"
    more = exc.error_count() - 1
    if more:
        msg += f" (+{more} more problem{'s' if more > 1 else ''})"
    out = InputError(source, field, msg)
    if kind == "needs":  # the setting it needs (an override of it is named: blame_override)
        out.depends_on = (err["ctx"]["setting"],)  # type: ignore[attr-defined]
    return out


def _as_yaml(value: Any) -> str:
    """A bad value as the file spells it (``null``, ``true``; text and numbers as Python shows
    them), cut at 40 characters."""
    if value is None or isinstance(value, bool):
        shown = "null" if value is None else str(value).lower()
    else:
        shown = repr(value)
    return f"{shown[:40]}{'…' if len(shown) > 40 else ''}"


def _allowed_keys(loc: list[str], data: Any) -> list[str]:
    """Field names of the model section at ``loc`` (for "unknown key" hints), by their names in
    the file (``from``, not ``from_``)."""
    model: type[BaseModel] = Scenario
    node = data
    for part in loc:
        if part.isdigit():  # an entry of a list of sections (faults.closures[1])
            node = node[int(part)] if isinstance(node, list) and int(part) < len(node) else None
            continue
        node = node.get(part) if isinstance(node, dict) else None
        if part == "layout":
            tag = node.get("type", "generator") if isinstance(node, dict) else "generator"
            layouts: dict[str, type[BaseModel]] = {
                "generator": GeneratorLayout,
                "ascii": AsciiLayout,
                "file": FileLayout,
            }
            model = layouts.get(tag, GeneratorLayout)
            continue
        field = next(
            (f for name, f in model.model_fields.items() if (f.alias or name) == part), None
        )
        ann = getattr(field, "annotation", None)
        for inner in (ann, *get_args(ann)):  # X, X | None, tuple[X, ...]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                model = inner
                break
        else:
            return []
    return [f.alias or name for name, f in model.model_fields.items()]


def dotted_names(overrides: Mapping[str, Any]) -> dict[str, str]:
    """Each override's key and the dotted setting it sets (``robots`` → ``fleet.robots``): what
    errors name an override by, rather than the scenario file (:func:`blame_override`)."""
    return {key: SHORTCUTS.get(key, key) for key in overrides}


def apply_overrides(
    scenario: Scenario,
    overrides: dict[str, Any],
    source: Path | None = None,
    names: dict[str, str] | None = None,
) -> Scenario:
    """Return a copy with ``{"fleet.robots": 40, "steps": 100, ...}`` applied and re-validated.

    A bad override is reported against the override, not against the scenario file (``source``):
    by its key, or by ``names[key]`` where given (``--robots``, ``--set fleet.robots``).
    """
    if not overrides:
        return scenario
    names = names or {}
    dotted_of = dotted_names(overrides)
    for key, full in dotted_of.items():  # fleet.robots beside fleet: one of them was dropped
        for other, whole in dotted_of.items():
            if full.startswith(f"{whole}."):
                raise InputError(
                    None,
                    names.get(key, key),
                    f"given beside {names.get(other, other)}, which sets all of {whole}: "
                    "give one of them",
                )
    # every setting, those a dump leaves out at their default included (fleet.start_cells,
    # tasks.goals ...: they can be set)
    data = scenario.model_dump(context={"all_settings": True})
    overridden = set(dotted_of.values())
    new_cells = next((overrides[k] for k, v in dotted_of.items() if v == "fleet.start_cells"), None)
    if new_cells and "fleet.robots" not in overridden:
        fleet = scenario.fleet  # robots counted from the old start cells, or not given: the new
        if fleet.start_cells or "robots" not in fleet.model_fields_set:  # (none: robots stay)
            data["fleet"].pop("robots")
    # The kind of floor first: it decides which other layout settings exist.
    ordered = sorted(overrides.items(), key=lambda kv: SHORTCUTS.get(kv[0], kv[0]) != "layout.type")
    for key, value in ordered:
        dotted = SHORTCUTS.get(key, key).split(".")
        node = data
        # policies.navigator_args.NAME.KEY: any part name and keyword (checked when built)
        free = len(dotted) > 2 and dotted[0] == "policies" and dotted[1] in PART_ARGS
        for depth, part in enumerate(dotted[:-1]):
            if free and depth >= 2 and part not in node:
                node[part] = {}
            if not isinstance(node.get(part), dict):
                raise InputError(None, names.get(key, key), "unknown setting")
            node = node[part]
        if free:
            node[dotted[-1]] = value
            continue
        known = list(node)
        if dotted[:-1] == ["layout"]:  # every setting of this kind of floor, set or not
            kinds: dict[str, type[BaseModel]] = {
                "generator": GeneratorLayout,
                "ascii": AsciiLayout,
                "file": FileLayout,
            }
            known = list(kinds.get(str(node.get("type")), GeneratorLayout).model_fields)
        if dotted[-1] not in known:
            hint = f" (allowed: {', '.join(known)})" if len(dotted) > 1 else ""
            raise InputError(None, names.get(key, key), f"unknown setting{hint}")
        if dotted == ["layout", "type"] and value != node["type"]:
            node.clear()  # another kind of floor: the old kind's settings do not apply
        node[dotted[-1]] = value
    try:
        out = validate_scenario(data, source)
    except InputError as exc:
        raise blame_override(exc, overrides, names) from None
    if out.layout.transpose != scenario.layout.transpose and (what := _fixed_source(source)):
        key = next(k for k in overrides if SHORTCUTS.get(k, k) in ("layout.transpose", "layout"))
        raise InputError(
            None,
            names.get(key, key),
            f"not with {what}: its starts and tasks are cells of its map as drawn, and cells "
            "named with a turned floor are the turned floor's",
        )
    return out


def _fixed_source(source: Path | None) -> str | None:
    """What ``source`` is when it is a file of cells on its map as drawn: a League of Robot
    Runners problem file (:func:`lorr_scenario`) or a MovingAI scenario file
    (:func:`movingai_scen_scenario`); None for any other."""
    if source is None:
        return None
    if source.suffix.lower() == ".json" and _is_lorr_problem(source):
        return "a League of Robot Runners problem"
    if source.suffix.lower() == SCEN_SUFFIX:
        return "a MovingAI scenario file"
    return None


def blame_override(exc: InputError, overrides: dict[str, Any], names: dict[str, str]) -> InputError:
    """An error in a setting an override changed names that override, not the scenario file:
    the value came from the command line (or the caller), not from the file."""
    field = exc.field or ""
    for key in overrides:
        dotted = SHORTCUTS.get(key, key)
        if field == dotted:
            return InputError(None, names.get(key, key), exc.message)
        if field.startswith((f"{dotted}.", f"{dotted}[")):  # inside a section or list given whole
            return InputError(None, _inside(names.get(key, key), key, dotted, field), exc.message)
        if dotted.startswith(f"{field}."):  # the message may name the rest: said once
            rest = f"{dotted[len(field) + 1 :]}: "
            return InputError(None, names.get(key, key), exc.message.removeprefix(rest))
    for key in overrides:  # a setting the failed one depends on (the step a closure needs)
        if SHORTCUTS.get(key, key) in getattr(exc, "depends_on", ()):
            where = f"{field} ({exc.source})" if exc.source else field
            return InputError(None, names.get(key, key), f"{where}: {exc.message}")
    return exc


def _inside(name: str, key: str, dotted: str, field: str) -> str:
    """What an error names for ``field``, a setting inside the section or list ``dotted`` that
    the override ``key`` (named ``name``: ``--set faults``, ``faults``, ``--robots``) gave whole:
    the field's whole dotted path, as an error in a scenario file names it (``--set
    faults.closures[1].start_s``), where the name spells the setting; else the name, then the
    rest of the path (``--flag: [1]``)."""
    for spelled in (key, dotted):
        if name == spelled or name.endswith(f" {spelled}"):
            return f"{name.removesuffix(spelled)}{field}"
    return f"{name}: {field[len(dotted) :].removeprefix('.')}"


#: ``policies`` fields that map part names to keyword arguments (any keys below them).
PART_ARGS = ("navigator_args", "dispatcher_args")

#: Settings holding a file path: relative to the scenario file when written in it, relative to
#: the current folder when given on the command line (``--set``).
PATH_KEYS = ("policies.navigator_checkpoint", "policies.dispatcher_checkpoint")


def parse_assignment(text: str, source: Path | None = None) -> tuple[str, Any]:
    """``"fleet.robots=40"`` → ``("fleet.robots", 40)``; the value is read as YAML.

    A relative path for one of :data:`PATH_KEYS` is made absolute from the current folder, so
    ``--set policies.navigator_checkpoint=runs/ft/model.json`` names the file the user sees
    (not one next to a built-in scenario's YAML file).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(None, "--set", f"expected KEY=VALUE, got {text!r}")
    value = parse_value(raw, f"--set {key}", source)
    if key in PATH_KEYS and isinstance(value, str) and value:
        path = Path(value).expanduser()
        value = str(path if path.is_absolute() else Path.cwd() / path)
        if Path(value).is_dir():
            raise InputError(None, key, f"{raw.strip()!r} is a folder, expected a checkpoint file")
    return key, value


def parse_value(raw: str, key: str, source: Path | None = None) -> Any:
    """One ``--set`` value as YAML (``40``, ``0.5``, ``[west, east]``, ``true``, ``text``)."""
    try:
        return parse_yaml(raw, source) if raw.strip() else ""
    except InputError as exc:
        raise InputError(None, key, f"cannot parse value {raw!r}: {exc.message}") from None


def build_floor(
    scenario: Scenario,
    source: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    *,
    graph: nx.Graph | None = None,
) -> CompiledFloor:
    """Build and compile the scenario's floor graph and check that the scenario fits on it.

    ``overrides``: the settings the command line changed (:func:`apply_overrides`' keys), each
    with the option that set it (``--set faults.closures``, ``--robots``). A setting that fits
    the schema but not this floor (a closed cell off the floor, more robots than free cells)
    is then reported against that option, not against the scenario file. ``graph``: the floor
    graph :func:`graph_scenario` read from an in-memory graph, built instead of the layout's
    (``layout.transpose``, ``physics.speed_m_s`` and the checks apply to it as to a file's)."""
    if not overrides:
        return _build_floor(scenario, source, graph)
    try:
        return _build_floor(scenario, source, graph)
    except InputError as exc:
        raise blame_override(exc, dict(overrides), dict(overrides)) from None


def _build_floor(
    scenario: Scenario, source: Path | None, given: nx.Graph | None = None
) -> CompiledFloor:
    layout = scenario.layout
    where: str | Path | None = source  # what floor errors name
    if given is not None:
        graph, where = given, GRAPH_SOURCE
    else:
        graph = _layout_graph(scenario, source)
    if layout.transpose:
        from warehouse.floor.transform import transpose_floor

        graph = transpose_floor(graph)
    speed = scenario.physics.speed_m_s
    if speed is not None:  # travel time follows edge length: long edges become chains
        from warehouse.floor.transit import split_long_edges

        graph = split_long_edges(
            graph,
            speed,
            scenario.physics.step_seconds,
            source=where,
            what="floor given as a networkx graph" if given is not None else _floor_kind(layout),
            cell_size=scenario.physics.cell_size,
        )
    floor = compile_floor(graph, source=where)
    check_fits(scenario, floor, source)
    return floor


def _layout_graph(scenario: Scenario, source: Path | None) -> nx.Graph:
    """The floor graph the scenario's layout describes (generated, drawn or read from a file)."""
    layout = scenario.layout
    cell = scenario.physics.cell_size or 1.0
    if isinstance(layout, GeneratorLayout):
        params = layout.model_dump(exclude={"type", "transpose"})
        try:
            graph = generate_warehouse(
                WarehouseLayout(**params, cell_size=cell), name=scenario.name
            )
        except ValueError as exc:
            raise InputError(source, "layout", str(exc)) from None
    elif isinstance(layout, AsciiLayout):
        from warehouse.floor.formats import parse_ascii

        graph = parse_ascii(layout.map, source=source, name=scenario.name)
    elif isinstance(layout, FileLayout):
        from warehouse.floor.formats import load_map

        map_path = resolve_map_path(layout.path, layout_base(source), source)
        read_text(map_path, what="map file", max_bytes=MAX_FILE_BYTES)
        if layout.map_name is not None and map_path.suffix.lower() not in (".yaml", ".yml"):
            what = f"picks a map of a POGEMA YAML file, not of {layout.path}"
            raise InputError(source, "layout.map_name", what)
        try:
            graph = load_map(map_path, fmt=layout.format, map_name=layout.map_name)
        except InputError:
            raise
        except (OSError, ValueError) as exc:
            raise InputError(map_path, None, f"malformed map file: {exc}") from None
    else:  # pragma: no cover - the discriminated union guarantees one of the above
        raise InputError(source, "layout.type", "unknown layout")
    return graph


def _floor_kind(layout: GeneratorLayout | AsciiLayout | FileLayout) -> str:
    """The kind of grid floor, for the message refusing a speed below one cell per step."""
    if isinstance(layout, GeneratorLayout):
        return "generated grid floor"
    if isinstance(layout, AsciiLayout):
        return "drawn grid floor (layout.type: ascii)"
    return f"grid floor read from a map file (layout.path: {layout.path})"


def check_fits(scenario: Scenario, floor: CompiledFloor, source: Path | None) -> None:
    """The scenario's fleet and tasks fit the floor (else an InputError naming the field)."""
    free = int(np.count_nonzero(floor.start_ok))
    if scenario.fleet.robots > free:
        cells = floor.n_nodes - int(floor.transit.sum())  # as `warehouse validate` counts them
        what = (
            f"free cells ({free})"
            if free == cells
            else f"start cells ({free}; the map lets no robot start on the other "
            f"{cells - free} of its {cells} free cells)"
        )
        raise InputError(source, "fleet.robots", f"must be ≤ {what}")
    if scenario.tasks.mode == "pickup_delivery":
        if floor.picks.size == 0:
            raise InputError(source, "layout", "the floor has no pick locations")
        if floor.stations.size == 0:
            raise InputError(source, "layout", "the floor has no stations")
    elif not floor.goal_ok.any():
        raise InputError(source, "layout", "the floor has no goal cells")
    elif scenario.tasks.assignment == "one_shot" and not scenario.tasks.goals:
        goal_cells = int(np.count_nonzero(floor.goal_ok))
        if scenario.fleet.robots > goal_cells:  # a random instance: a different goal each
            raise InputError(
                source,
                "fleet.robots",
                f"must be ≤ goal cells ({goal_cells}) in a random one-shot instance "
                "(tasks.assignment one_shot without tasks.goals: each robot a different goal)",
            )
    if scenario.fleet.start_cells or scenario.tasks.goals:  # on the floor, where robots may be
        from warehouse.core.fixed_tasks import fixed_cells

        fixed_cells(floor, scenario, source)
    if scenario.faults.closures:  # every closed cell lies on the floor, every closure holds a step
        from warehouse.core.closure_entries import resolve_closures  # (imports the core: only here)

        resolve_closures(floor, scenario.faults, scenario.physics.step_seconds, source)
    if scenario.battery.capacity_wh is not None:  # chargers on floor cells, settings that run
        from warehouse.core.battery import resolve_chargers

        resolve_chargers(floor, scenario, source)


def layout_base(source: Path | None) -> Path:
    """The folder ``layout.path`` is relative to and must lie in: the scenario file's (the
    current folder without one); for a MovingAI scenario file the folder above it, whose
    subfolders the map is looked up in (the benchmark ships ``mapf-map/`` beside
    ``scen-random/``)."""
    if source is None:
        return Path.cwd()
    if source.suffix.lower() == SCEN_SUFFIX:
        return source.resolve().parent.parent
    return source.parent


def resolve_map_path(path: str, base: Path, source: Path | None) -> Path:
    """A map path relative to the scenario folder; paths escaping that folder are refused."""
    full = (base / path).resolve()
    if not full.is_relative_to(base.resolve()):
        raise InputError(source, "layout.path", f"{path!r} escapes the scenario's folder")
    if full.is_dir():
        raise InputError(source, "layout.path", f"{path!r} is a folder, expected a map file")
    if not full.is_file():
        why = "is not a regular file" if full.exists() else "not found"
        raise InputError(source, "layout.path", f"map file {path!r} {why}")
    return full
