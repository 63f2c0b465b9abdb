"""Typed, validated settings of the simulation core.

These pydantic models are the single definition of every knob: the scenario file schema
(:mod:`scenarios.schema`) composes them, the core reads them, and they travel with every
artifact (report, dataset, checkpoint) as JSON. Unknown keys are rejected; every field says its
unit.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: number annotations and the word pydantic's errors use for each
_NUMBERS: dict[Any, str] = {
    int: "integer",
    float: "number",
    int | None: "integer",
    float | None: "number",
}
_NUMBER_LISTS: dict[Any, str] = {
    list[int]: "integer", tuple[int, ...]: "integer", list[float]: "number",
    tuple[float, ...]: "number",
}  # fmt: skip
#: the largest count of steps, orders or cells a setting may give (as ``episode.steps``): the
#: core keeps such counts in int32/int64 arrays, and a larger one would overflow them
MAX_COUNT = 10_000_000
#: the longest fixed goal sequence (``tasks.goals``; the lines of a LoRR task file)
MAX_GOALS = 1_000_000


def _known_collision_mode(mode: str) -> str:
    from .shield import check_collision_mode  # lazy: the shields import the core

    return check_collision_mode(mode)


#: ``physical``, ``block``, ``pibt``, ``pibt_swap``, ``pibt_lacam`` or the name of a shield an
#: installed package registers
CollisionMode = Annotated[str, AfterValidator(_known_collision_mode)]


class Section(BaseModel):
    """Base: frozen, unknown keys rejected, strict-ish numbers (no NaN or infinity, ``true``/
    ``false`` are not numbers and neither is text: ``robots: "12"`` is refused, as a number is
    not text; a whole float such as ``12.0`` or ``1e3`` stays a valid count)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _booleans_and_text_are_not_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(name)
                if kind := _NUMBERS.get(field.annotation):
                    _check_number(name, value, kind)
                elif (kind := _NUMBER_LISTS.get(field.annotation)) and isinstance(
                    value, list | tuple
                ):
                    for i, item in enumerate(value):  # seeds: [true] is not seed 1
                        _check_number(f"{name}[{i}]", item, kind)
        return data


def _check_number(name: str, value: Any, kind: str) -> None:
    """Refuse ``true``/``false`` and text (``"12"``) as the value of the number field ``name``
    (``kind``: "integer" or "number"); the error names the field in its context (``name``)."""
    if isinstance(value, bool):
        problem = f"expected a number, got {str(value).lower()}"
    elif isinstance(value, str):
        shown = repr(value) if len(value) <= 40 else f"{value[:40]!r}…"
        problem = f"Input should be a valid {kind}, got text {shown} (write numbers without quotes)"
    else:
        return
    raise PydanticCustomError(
        "bool_number", "{name}: {problem}", {"name": name, "problem": problem}
    )


def _shown(value: Any) -> str:
    """A bad value as an error message shows it: JSON, cut at 40 characters."""
    shown = json.dumps(value, default=repr)
    return shown[:40] + ("…" if len(shown) > 40 else "")


def _cell(value: Any) -> tuple[int, int]:
    """``[row, col]``: two whole numbers (not true/false, not 4.0)."""
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (int(value[0]), int(value[1]))
    raise PydanticCustomError(
        "cell",
        "expected [row, col], two whole numbers, got {value}",
        {"value": _shown(value)},
    )


#: A floor cell ``[row, col]`` as the floor drawing, a map file or a graph's node ``pos`` gives it
Cell = Annotated[tuple[int, int], BeforeValidator(_cell)]


#: the settings of each section a dump leaves out while at their default
#: (``context={"all_settings": True}`` keeps them): a run folder's ``scenario.yaml`` lacks them,
#: so a reader of one (``warehouse compare``) takes their defaults
LEFT_OUT_AT_DEFAULT: dict[str, tuple[str, ...]] = {
    "fleet": ("start_cells",),
    "tasks": ("goals", "assignment", "reveal"),
}


class _LeavesOutDefaults(Section):
    """A section whose settings :data:`LEFT_OUT_AT_DEFAULT` names (under its ``_section``) are
    left out of a dump while at their default, so a scenario, report or recording that does not
    use them is written as before they existed; ``context={"all_settings": True}`` keeps them
    (``warehouse validate --template``, ``--set``)."""

    _section: ClassVar[str]

    @model_serializer(mode="wrap")
    def _leave_out_unused(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data = handler(self)
        if isinstance(info.context, dict) and info.context.get("all_settings"):
            return data
        for name in LEFT_OUT_AT_DEFAULT[self._section]:
            if getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name, None)
        return data


class FleetConfig(_LeavesOutDefaults):
    _section: ClassVar[str] = "fleet"

    robots: int = Field(
        20,
        ge=1,
        le=100_000,
        description="Number of robots (with fleet.start_cells: their count when not given, "
        "else at most their count, on the first of them).",
    )
    start: Literal["random", "stations", "spread"] = Field(
        "random",
        description="Start placement: random free start cells, packed near stations, or evenly "
        "spread over the floor (deterministic given the seed).",
    )
    start_cells: tuple[Cell, ...] = Field(
        (),
        max_length=100_000,
        description="Fixed start cells [row, col], robot i on the i-th (a LoRR agent file's "
        "starts): at least one per robot (fleet.robots take the first), all different, cells a "
        "robot may start on; fleet.start is then not used and no seed changes them. Empty: "
        "fleet.start places the robots.",
    )

    @model_validator(mode="before")
    @classmethod
    def _robots_from_start_cells(cls, data: Any) -> Any:
        """Start cells and no robot count: one robot per start cell."""
        if isinstance(data, dict) and "robots" not in data:
            cells = data.get("start_cells")
            if isinstance(cells, list | tuple) and cells:
                data = {**data, "robots": len(cells)}
        return data

    @field_validator("start_cells")
    @classmethod
    def _start_cells_distinct(
        cls, cells: tuple[tuple[int, int], ...]
    ) -> tuple[tuple[int, int], ...]:
        """Two robots cannot start on one cell."""
        seen: dict[tuple[int, int], int] = {}
        for i, cell in enumerate(cells):
            if cell in seen:
                raise ValueError(
                    f"[{i}]: ({cell[0]}, {cell[1]}) given twice (also [{seen[cell]}]): two "
                    "robots cannot start on one cell"
                )
            seen[cell] = i
        return cells


def _needs(setting: str, what: str) -> PydanticCustomError:
    """A setting that needs another (``setting``): the error names it in ``depends_on``, so an
    override that changed ``setting`` is named (``--tasks``), not the file's unchanged entry."""
    colon = ":" if not what.startswith("(") else ""
    return PydanticCustomError(
        "needs", "needs {setting}{colon} {what}", {"setting": setting, "colon": colon, "what": what}
    )


#: How a fixed goal sequence (``tasks.goals``) is handed out (League of Robot Runners 2023 names)
Assignment = Literal["greedy", "roundrobin", "roundrobin_fixed", "one_shot"]


class TasksConfig(_LeavesOutDefaults):
    _section: ClassVar[str] = "tasks"

    mode: Literal["pickup_delivery", "goal_visit"] = Field(
        "pickup_delivery",
        description="pickup_delivery: orders go pick location → station. goal_visit: lifelong "
        "MAPF, each robot gets a new random goal on arrival (or the next of tasks.goals).",
    )
    goals: tuple[Cell, ...] = Field(
        (),
        max_length=MAX_GOALS,
        description="goal_visit: a fixed task sequence of goal cells [row, col] (a LoRR task "
        "file), handed out by tasks.assignment instead of random goals; no seed changes it. "
        "Empty: random goals (under tasks.assignment one_shot a random one-shot instance).",
    )
    assignment: Assignment = Field(
        "greedy",
        description="How tasks.goals is handed out. greedy: the next goal goes to whichever "
        "robot reaches its goal first (in one step, lower robot ids first); roundrobin: robot i "
        "visits goals i, i+N, i+2N, … (N robots), the sequence repeating endlessly; "
        "roundrobin_fixed: the same without repeating. A robot left without a goal waits idle "
        "to the end (deliveries counts the goals reached). one_shot: robot i's one goal is "
        "tasks.goals[i]; it holds it after arriving (pushed off, it drives back): the run is a "
        "one-shot MAPF instance (deliveries counts first arrivals; KPIs solved, makespan, "
        "sum_of_costs). The others need tasks.goals; one_shot without them (tasks.mode "
        "goal_visit) is a random instance: at reset each robot draws a different goal cell "
        "from the seed.",
    )
    reveal: int = Field(
        1,
        ge=1,
        le=MAX_COUNT,
        description="Goals each robot holds under greedy (LoRR numTasksReveal): its goal and "
        "the next reveal−1, taken from tasks.goals as it gets them, visited in order; robots see "
        "only their current goal. Under roundrobin a robot's goals are fixed, so it changes "
        "nothing.",
    )
    arrival_rate: float = Field(
        0.5,
        ge=0.0,
        le=10_000.0,
        description="Order arrivals per second of simulated time (Poisson).",
    )
    popularity_skew: float = Field(
        1.0,
        ge=0.0,
        le=5.0,
        description="Zipf exponent of pick-location popularity (0 = uniform; 1 ≈ classic ABC "
        "skew).",
    )
    pick_time: int = Field(2, ge=0, le=10_000, description="Steps spent picking at the shelf.")
    drop_time: int = Field(1, ge=0, le=10_000, description="Steps spent dropping at the station.")
    max_open_orders: int = Field(
        10_000,
        ge=1,
        le=MAX_COUNT,
        description="Backlog cap: arrivals beyond this many open orders are lost "
        "(counted in `orders_lost`).",
    )
    station_limit: int | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description="At most this many orders in progress (given to a robot, not yet "
        "delivered) per station: every dispatcher holds a station's other open orders until "
        "one is delivered, and gives the oldest first. null: no limit.",
    )

    @field_validator("goals")
    @classmethod
    def _goals_need_goal_visit(
        cls, goals: tuple[tuple[int, int], ...], info: ValidationInfo
    ) -> tuple[tuple[int, int], ...]:
        if goals and info.data.get("mode", "goal_visit") != "goal_visit":
            raise _needs("tasks.mode", "goal_visit (pickup_delivery draws its orders)")
        return goals

    @field_validator("assignment", "reveal")
    @classmethod
    def _need_goals(cls, value: Any, info: ValidationInfo) -> Any:
        default = cls.model_fields[str(info.field_name)].default
        if info.field_name == "reveal" and value != default:
            if info.data.get("assignment") == "one_shot":
                raise ValueError(
                    "does not apply under tasks.assignment one_shot (each robot holds its one goal)"
                )
        goals = info.data.get("goals", True)
        if value == "one_shot" and not goals:  # a random one-shot instance, drawn at reset
            if info.data.get("mode", "goal_visit") != "goal_visit":
                raise _needs("tasks.mode", "goal_visit (one_shot: each robot one goal to hold)")
        elif value != default and not goals:
            raise _needs("tasks.goals", "(a fixed goal sequence to hand out)")
        return value


class PhysicsConfig(Section):
    cell_size: float | None = Field(
        None, gt=0.0, le=100.0, description="Metres per grid cell; default: the floor's own (1.0)."
    )
    step_seconds: float = Field(
        1.0, gt=0.0, le=3600.0, description="Seconds of simulated time per step."
    )
    speed_m_s: float | None = Field(
        None,
        gt=0.0,
        le=1000.0,
        description="Travel time that follows edge length, on waypoint graphs (json, graphml): "
        "a robot drives this many metres per second, so an edge of length L takes "
        "max(1, ceil(L / (speed_m_s × step_seconds))) steps (README: edge lengths); long edges "
        "become chains of transit nodes. Default: every edge takes one step whatever its length. "
        "Grid floors move one cell per step: a speed that needs more is refused.",
    )
    collisions: CollisionMode = Field(
        "block",
        description="physical: conflicting moves fail and count as collisions; block: a shield "
        "turns conflicting moves into WAIT (lower robot id wins); pibt: the PIBT shield; "
        "pibt_swap: PIBT plus the swap manoeuvre, for floors with dead-end stations or picks; "
        "pibt_lacam (exploratory): pibt_swap plus a jam repair, a LaCAM search over a window "
        "of the floor round a robot that made no progress for 200 steps, whose plan the robots "
        "there then follow, for dead-end floors (capped for dense lifelong floors: at most 32 "
        "robots a window, 32 steps a plan, a back-off after searches without a plan; "
        "docs/results_swap.md, part 6); or a shield an installed package registers "
        "(`warehouse list`).",
    )
    energy_wh_per_metre: float = Field(
        0.08, ge=0.0, le=1_000.0, description="Drive energy per metre travelled, watt-hours."
    )
    idle_power_w: float = Field(
        60.0,
        ge=0.0,
        le=1_000_000.0,
        description="Base electrical load of a powered robot, watts (every step).",
    )
    stuck_after: int = Field(
        30,
        ge=1,
        le=MAX_COUNT,
        description="A robot with a task (or driving to a sub-goal) and no progress for this many "
        "steps is stuck.",
    )
    jam_after: int = Field(
        300,
        ge=1,
        le=MAX_COUNT,
        description="A robot with a task (or driving to a sub-goal) and no progress for this many "
        "steps is jammed: held by "
        "a jam, not slowed by traffic. A run ending with a quarter of its fleet jammed is "
        "gridlocked.",
    )


class RewardConfig(Section):
    """Per-robot reward terms (reward units)."""

    per_metre: float = Field(-1.0, description="Reward per metre travelled (per m).")
    delivery: float = Field(100.0, description="Reward per delivered order or reached goal.")
    collision: float = Field(
        -50.0,
        description="Reward per step in which the robot's own move fails by collision (a robot "
        "that stands still is not charged when another runs into it).",
    )
    per_step: float = Field(0.0, description="Reward per robot per step (e.g. a time penalty).")
    progress: float = Field(
        0.0,
        description="Reward per shortest-path step a robot comes closer to its target (negative "
        "when it moves away; 0 on a step where its target changes). Shaping for learners "
        "trained from scratch, where the delivery reward alone is too sparse.",
    )
    on_goal: float = Field(
        0.0,
        description="One-shot MAPF instances (tasks.assignment one_shot) only: reward per step "
        "a robot ends standing on its goal (delivery pays its first arrival once). Shaping for "
        "learners, whose robots otherwise drive off their goals for free.",
    )


def _node_name(value: Any) -> str | int:
    """A waypoint graph's node id: text or a whole number (not true/false)."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError(
        "cell",
        "expected a node id (text or a whole number), got {value}",
        {"value": _shown(value)},
    )


NodeName = Annotated[str | int, BeforeValidator(_node_name)]


def _edge_end(value: Any) -> tuple[int, int] | str | int:
    """One end of a closed edge: a cell ``[row, col]`` or a node id (text or a whole number)."""
    if isinstance(value, list | tuple):
        return _cell(value)
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError(
        "edge",
        "expected a cell [row, col] or a node id, got {value}",
        {"value": _shown(value)},
    )


def _edge(value: Any) -> tuple[Any, Any]:
    """``[u, v]``: the two ends of a floor edge, each a cell ``[row, col]`` or a node id."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise PydanticCustomError(
            "edge",
            "expected [u, v], the two ends of an edge (cells [row, col] or node ids), got {value}",
            {"value": _shown(value)},
        )
    return (_edge_end(value[0]), _edge_end(value[1]))


#: An edge ``[u, v]`` of the floor: its two ends, each a cell ``[row, col]`` or a node id
Edge = Annotated[
    tuple[tuple[int, int] | str | int, tuple[int, int] | str | int], BeforeValidator(_edge)
]


class CellArea(Section):
    """A rectangle of cells, both corners included: ``{from: [4, 2], to: [4, 9]}``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    from_: Cell = Field(alias="from", description="One corner [row, col].")
    to: Cell = Field(description="The opposite corner [row, col].")


class ClosureConfig(Section):
    """A scheduled closure: cells closed from ``start_s`` to ``end_s`` (see README)."""

    cells: tuple[Cell, ...] = Field((), description="Cells [row, col] to close.")
    area: CellArea | None = Field(
        None, description="A rectangle {from: [row, col], to: [row, col]} to close, corners "
        "included; its shelf and wall cells are left out."
    )  # fmt: skip
    nodes: tuple[NodeName, ...] = Field(
        (),
        description="Nodes to close by id, on waypoint graphs whose nodes have names; 3 and "
        '"3" both name the node 3 or the node "3" (an error where the graph has both).',
    )
    edges: tuple[Edge, ...] = Field(
        (),
        description="Edges [u, v] to close (an aisle segment, a door) without closing their "
        "cells: no robot moves between u and v, in either direction the floor allows (a "
        "one-way aisle's one); each end a cell [row, col] or a node id (as nodes). A long edge "
        "split by physics.speed_m_s closes where robots enter it (robots on it leave).",
    )
    start_s: float = Field(
        ..., ge=0.0, description="When the cells close, seconds of simulated time."
    )
    end_s: float | None = Field(
        None,
        gt=0.0,
        description="When they reopen (s, after start_s); null: at the end of the run.",
    )

    @field_validator("end_s")
    @classmethod
    def _ends_after_start(cls, end: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("start_s")
        if end is not None and start is not None and end <= start:
            raise ValueError(f"must be after start_s ({start:g})")
        return end

    @model_validator(mode="after")
    def _closes_something(self) -> ClosureConfig:
        if not (self.cells or self.area or self.nodes or self.edges):
            raise ValueError("give the cells or edges to close: cells, area, nodes or edges")
        return self


class FaultsConfig(Section):
    breakdown_prob: float = Field(
        0.0, ge=0.0, le=1.0, description="Per robot per step probability of breaking down."
    )
    breakdown_steps: int = Field(
        20, ge=1, le=MAX_COUNT, description="Steps a broken-down robot stays stopped."
    )
    closure_prob: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Per step probability that one aisle or parking cell closes (one of the "
        "floor's own: never a transit node of a long edge, physics.speed_m_s).",
    )
    closure_steps: int = Field(
        50, ge=1, le=MAX_COUNT, description="Steps a closed cell stays closed."
    )
    closures: tuple[ClosureConfig, ...] = Field(
        (),
        description="Scheduled closures, each a mapping of the keys below: the cells it closes "
        "(cells, area, nodes; any of them together), the edges (edges) and when. No robot "
        "enters a closed cell or moves along a closed edge; "
        "robots inside as it closes are sent out (idle ones to the nearest open cells; a loaded "
        "one keeps its order and waits outside); a robot not yet at the pick of an order whose "
        "pick location or station closes hands it back; orders for a closed pick location or "
        "station (or one the closures cut off) wait; unlike random closures, the fleet's "
        "distances route around it while it lasts (README: scheduled closures).",
    )
    redirect_loaded: bool = Field(
        False,
        description="A robot carrying an order to a station a scheduled closure closes or cuts "
        "off delivers it to the open station nearest it instead (the order's station changes), "
        "and such a station holds no order while another is open. Off: the robot keeps its "
        "order and waits for the station to reopen, and its orders are held.",
    )


class BatteryConfig(Section):
    """Opt-in battery and charging model (README: batteries). ``capacity_wh: null`` (the
    default) switches it off: no robot ever charges and nothing else changes."""

    capacity_wh: float | None = Field(
        None,
        gt=0.0,
        le=1_000_000.0,
        description="Usable battery capacity per robot, watt-hours; null: no battery model. The "
        "charge drops by the energy model's use (physics.energy_wh_per_metre per metre moved, "
        "physics.idle_power_w every second), the same figures energy_kwh sums.",
    )
    initial_soc: float = Field(
        1.0, gt=0.0, le=1.0, description="State of charge at the start, a fraction of capacity."
    )
    initial_soc_min: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="If given, each robot's starting charge is drawn uniformly between this "
        "and initial_soc (a seeded stream of its own: the other draws do not change).",
    )
    recharge_below: float = Field(
        0.2,
        ge=0.0,
        lt=1.0,
        description="A robot with no task and a charge below this fraction heads to the nearest "
        "free charger (or, when none is free, waits for one: see waiting_cells); dispatchers do "
        "not see it until it has charged (charge_to).",
    )
    waiting_cells: bool = Field(
        False,
        description="Robots queued for a busy charger wait at a waiting cell near the nearest "
        "charger: the nearest free aisle or parking cell that is not a thoroughfare (the "
        "chargers' floor note test) nor beside a charger, station or pick location. false: "
        "where they stand (pushed aside under PIBT).",
    )
    opportunity_below: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="Opportunity charging: a robot with no task and a charge below this "
        "fraction (above recharge_below) takes a charger only when one is free that no robot "
        "queues for; it never queues. Charging, it is not dispatched until charge_to. null: off.",
    )
    interruptible: bool = Field(
        False,
        description="Opportunity charging gives way to orders: while more orders can be "
        "dispatched than robots are idle, that many robots charging on or driving to an "
        "opportunity charger (at or above recharge_below; highest charge first) give it up, "
        "available to dispatchers, and take none by opportunity again until given an order; "
        "opportunity charging starts only for the idle robots no order waits for. Robots that "
        "queued below recharge_below are never interrupted. Needs opportunity_below.",
    )
    charge_to: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="A robot on a charger charges until this fraction of capacity (1.0: full), "
        "then steps off; above recharge_below and opportunity_below.",
    )
    charge_w: float = Field(
        1000.0,
        gt=0.0,
        le=1_000_000.0,
        description="Charging power, watts (more than physics.idle_power_w, which a charging "
        "robot still draws).",
    )
    chargers: tuple[Cell, ...] = Field(
        (),
        description="Charger cells [row, col] (as faults.closures cells): aisle or parking "
        "cells, one robot at a time. Empty: the floor's drawn chargers (C in ASCII maps, "
        "charger: true graph nodes); when listed, only these (the drawn ones are not used). "
        "The battery model needs at least one.",
    )
    auto_chargers: int | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description="Place this many chargers automatically instead of listing them (the "
        "floor's drawn chargers are then not used): aisle or parking cells robots need not pass "
        "through, not dead ends, not beside a pick location, on the floor's outer edge when it "
        "has room, spread out (the first nearest a station, each next the farthest in steps "
        "from those placed, corners and pockets first). null: battery.chargers or the drawn "
        "ones.",
    )
    rescue_s: float | None = Field(
        600.0,
        gt=0.0,
        description="A robot whose charge reaches 0 stops where it stands; this many seconds "
        "later its battery is swapped (full charge) and it carries on. null: it stays stopped.",
    )

    @field_validator("auto_chargers")
    @classmethod
    def _not_with_listed_chargers(cls, n: int | None, info: ValidationInfo) -> int | None:
        if n is not None and info.data.get("chargers"):
            raise ValueError("give battery.chargers or battery.auto_chargers, not both")
        return n

    @field_validator("initial_soc_min")
    @classmethod
    def _min_below_initial(cls, low: float | None, info: ValidationInfo) -> float | None:
        high = info.data.get("initial_soc")
        if low is not None and high is not None and low > high:
            raise ValueError(f"must not exceed initial_soc ({high:g})")
        return low

    @field_validator("opportunity_below")
    @classmethod
    def _opportunity_above_recharge(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("recharge_below")
        if value is not None and low is not None and value <= low:
            raise ValueError(f"must exceed recharge_below ({low:g})")
        return value

    @field_validator("interruptible")
    @classmethod
    def _interruptible_needs_opportunity(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("opportunity_below", 0.0) is None:
            raise ValueError("needs opportunity_below (opportunity charging is off)")
        return value

    @field_validator("charge_to")
    @classmethod
    def _charge_to_above_thresholds(cls, value: float, info: ValidationInfo) -> float:
        for name in ("recharge_below", "opportunity_below"):
            low = info.data.get(name)
            if low is not None and value <= low:
                raise ValueError(f"must exceed {name} ({low:g})")
        return value

    @property
    def enabled(self) -> bool:
        return self.capacity_wh is not None


class ObservationConfig(Section):
    radius: int = Field(
        3, ge=1, le=10, description="Half-width r of the egocentric window, cells (window: 2r+1)."
    )
    intent: bool = Field(
        False,
        description=(
            "Append the neighbour-intention channels (intended moves, priority, claims, stall, go; "
            "warehouse/core/observe_intent.py) after the task features."
        ),
    )


class SimConfig(Section):
    """Everything the core needs besides the floor."""

    fleet: FleetConfig = FleetConfig()
    tasks: TasksConfig = TasksConfig()
    physics: PhysicsConfig = PhysicsConfig()
    reward: RewardConfig = RewardConfig()
    faults: FaultsConfig = FaultsConfig()
    observation: ObservationConfig = ObservationConfig()
    battery: BatteryConfig = BatteryConfig()

    @field_validator("reward")
    @classmethod
    def _on_goal_one_shot(cls, reward: RewardConfig, info: ValidationInfo) -> RewardConfig:
        """Only a one-shot MAPF instance keeps robots on goals: elsewhere the term would do
        nothing."""
        tasks = info.data.get("tasks")
        if reward.on_goal != 0.0 and tasks is not None and tasks.assignment != "one_shot":
            raise PydanticCustomError(
                "needs",
                "on_goal: needs {setting}: one_shot (only a one-shot MAPF instance holds robots "
                "on their goals), got {assignment}",
                {"setting": "tasks.assignment", "assignment": tasks.assignment},
            )
        return reward
