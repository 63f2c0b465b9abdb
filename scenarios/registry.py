"""Built-in scenarios: the YAML files shipped in ``scenarios/builtin``.

Adding a built-in is adding a file there; :func:`builtin_names` lists them and
:func:`describe` summarizes one for ``warehouse list``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .schema import Scenario

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def builtin_path(name: str) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = BUILTIN_DIR / f"{name}.yaml"
    return path if path.is_file() else None


@dataclass(frozen=True)
class Summary:
    """One line of ``warehouse list`` / ``warehouse validate``."""

    name: str
    robots: int
    floor: str  #: "H×W" cells
    free: int  #: traversable cells
    tasks: str
    description: str
    picks: int = 0  #: pick locations
    stations: int = 0
    #: the kinds a map file did not mark, inferred by the rule of :mod:`warehouse.floor.grid`
    inferred: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  #: what building the floor changed (cells cut off, ...)
    #: the scheduled closures (``faults.closures``), one line each
    closures: tuple[str, ...] = ()
    #: the battery model and its chargers (``battery``), a line each; while it is off only a
    #: line on the floor's drawn chargers, if it has any
    battery: tuple[str, ...] = ()
    parking: int = 0  #: parking cells (``P``, ``layout.parking_walls``)
    one_way: int = 0  #: moves whose reverse is not allowed (one-way aisles and edges)


def load_with_sets(
    target: str | Path, sets: Sequence[str] = ()
) -> tuple[Scenario, Path | None, dict[str, str]]:
    """``(scenario, source, names)``: ``target`` with the ``--set KEY=VALUE`` items applied,
    and ``{key: "--set KEY"}`` so that a floor check blames the option, not the file."""
    from .load import apply_overrides, load_scenario, parse_assignment

    sc, source = load_scenario(target)
    overrides = dict(parse_assignment(item, source) for item in sets)
    names = {key: f"--set {key}" for key in overrides}
    if overrides:
        sc = apply_overrides(sc, overrides, source, names)
    return sc, source, names


def describe(target: str | Path, sets: Sequence[str] = ()) -> Summary:
    """Load, validate and build ``target`` (with the ``--set`` items ``sets``) and summarize
    it (raises InputError)."""
    from warehouse.floor.checks import floor_notes, one_way_moves
    from warehouse.floor.kinds import NodeKind

    from .load import build_floor

    sc, source, names = load_with_sets(target, sets)
    floor = build_floor(sc, source, names)
    chargers = None
    if sc.battery.capacity_wh is not None:
        from warehouse.core.battery import resolve_chargers

        chargers = resolve_chargers(floor, sc, source)
    closures: list[str] = []
    if sc.faults.closures:
        from warehouse.core.closure_report import describe_closures

        closures = describe_closures(
            floor, sc.faults, sc.physics.step_seconds, sc.episode.steps, source, chargers
        )
    from warehouse.core.battery import describe_battery

    battery = describe_battery(floor, sc, source)  # (battery off: only a floor's drawn chargers)
    notes = floor_notes(floor)
    if chargers is not None:
        from warehouse.floor.checks import charger_dead_end_note, charger_thoroughfare_note

        for check in (charger_thoroughfare_note, charger_dead_end_note):
            if note := check(floor, chargers):
                notes.append(note)
    h, w = floor.shape
    return Summary(
        name=sc.name,
        robots=sc.fleet.robots,
        floor=f"{h}×{w}",
        free=floor.n_nodes - int(floor.transit.sum()),  # the floor's own; transit nodes: a note
        tasks=sc.tasks.mode,
        description=sc.description,
        picks=int(floor.picks.size),
        stations=int(floor.stations.size),
        inferred=tuple(floor.graph.graph.get("inferred_kinds", ())),
        notes=tuple(notes),
        closures=tuple(closures),
        battery=tuple(battery),
        parking=int((floor.kind == NodeKind.PARKING).sum()),
        one_way=int(one_way_moves(floor)[0].size),
    )
