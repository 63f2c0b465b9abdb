"""Load a scenario (built-in name, YAML file or map file) and build its floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from warehouse.errors import InputError
from warehouse.floor import CompiledFloor, WarehouseLayout, compile_floor, generate_warehouse

from .registry import builtin_path
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


def load_scenario(target: str | Path) -> tuple[Scenario, Path | None]:
    """Resolve ``target`` and return the validated scenario and the file it came from."""
    path = builtin_path(str(target)) if isinstance(target, str) else None
    path = path or Path(target)
    if not path.exists():
        raise InputError(path, None, "no such built-in scenario or file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, None, f"cannot read YAML: {exc}") from None
    return validate_scenario(data, path), path


def validate_scenario(data: Any, source: Path | None) -> Scenario:
    if not isinstance(data, dict):
        raise InputError(source, None, "expected a mapping of sections")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(source, field, err["msg"]) from None


def apply_overrides(
    scenario: Scenario, overrides: dict[str, Any], source: Path | None = None
) -> Scenario:
    """Return a copy with ``{"fleet.robots": 40, "steps": 100, ...}`` applied and re-validated."""
    if not overrides:
        return scenario
    data = scenario.model_dump()
    for key, value in overrides.items():
        dotted = SHORTCUTS.get(key, key).split(".")
        node = data
        for part in dotted[:-1]:
            if not isinstance(node.get(part), dict):
                raise InputError(source, key, "unknown setting")
            node = node[part]
        if dotted[-1] not in node and len(dotted) > 1:
            raise InputError(source, key, "unknown setting")
        node[dotted[-1]] = value
    return validate_scenario(data, source)


def build_floor(scenario: Scenario, source: Path | None = None) -> CompiledFloor:
    """Build and compile the scenario's floor graph."""
    layout = scenario.layout
    if isinstance(layout, GeneratorLayout):
        params = layout.model_dump(exclude={"type"})
        cell = scenario.physics.cell_size or 1.0
        graph = generate_warehouse(WarehouseLayout(**params, cell_size=cell), name=scenario.name)
    elif isinstance(layout, AsciiLayout):
        from warehouse.floor.formats import parse_ascii

        graph = parse_ascii(layout.map, source=source, name=scenario.name)
    elif isinstance(layout, FileLayout):
        from warehouse.floor.formats import load_map

        base = source.parent if source is not None else Path.cwd()
        graph = load_map(resolve_map_path(layout.path, base, source), fmt=layout.format)
    else:  # pragma: no cover - the discriminated union guarantees one of the above
        raise InputError(source, "layout.type", "unknown layout")
    return compile_floor(graph, source=source)


def resolve_map_path(path: str, base: Path, source: Path | None) -> Path:
    """A map path relative to the scenario folder; paths escaping that folder are refused."""
    full = (base / path).resolve()
    if not full.is_relative_to(base.resolve()):
        raise InputError(source, "layout.path", f"{path!r} escapes the scenario's folder")
    if not full.is_file():
        raise InputError(source, "layout.path", f"map file {path!r} not found")
    return full
