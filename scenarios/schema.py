"""The scenario file schema: one YAML file describes a whole run.

A scenario is the core's :class:`~warehouse.config.SimConfig` (fleet, tasks, physics, reward,
faults, observation) plus the layout of the floor, the episode and the policies. Every field
carries its unit in its description; unknown keys are errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from warehouse.config import MAX_COUNT, CollisionMode, Section, SimConfig

T = TypeVar("T")


class FloorLayout(Section):
    """What every kind of floor accepts (see :mod:`warehouse.floor.transform`)."""

    transpose: bool = Field(
        False,
        description="Swap rows and columns (mirror the floor about its main diagonal): "
        "north-south aisles run east-west, the west wall becomes the north wall. Cells named "
        "elsewhere in the scenario (closures, chargers, fleet.start_cells, tasks.goals) are "
        "those of the turned floor; a League of Robot Runners problem file or a MovingAI "
        "scenario file, whose cells are its map's, runs only as drawn.",
    )


def floor_wide_last(items: Iterable[tuple[str, T]]) -> list[tuple[str, T]]:
    """``(name, value)`` pairs of a layout with the settings every kind of floor has
    (:class:`FloorLayout`) after the kind's own, the order the template and a run's
    ``scenario.yaml`` list them in."""
    return sorted(items, key=lambda kv: kv[0] in FloorLayout.model_fields)


class GeneratorLayout(FloorLayout):
    """A parametric warehouse (see :mod:`warehouse.floor.generator`)."""

    type: Literal["generator"] = "generator"
    shelf_rows: int = Field(
        4, ge=1, le=200, description="Shelf blocks stacked north-south (count)."
    )
    shelf_cols: int = Field(
        4, ge=1, le=200, description="Shelf blocks side by side east-west (count)."
    )
    block_length: int = Field(
        8, ge=1, le=200, description="Shelf length of a block along a row (cells)."
    )
    block_depth: int = Field(
        2, ge=1, le=20, description="Shelf rows per block, north-south (cells)."
    )
    aisle_width: int = Field(1, ge=1, le=10, description="Aisle width between blocks (cells).")
    station_zone: int = Field(
        3, ge=1, le=50, description="Depth of the open zone along a station wall (cells)."
    )
    station_walls: tuple[Literal["west", "east", "north", "south"], ...] = Field(
        ("west",), min_length=1, description="Walls that carry stations (west, east, north, south)."
    )
    station_spacing: int = Field(
        3,
        ge=1,
        le=100,
        description="Distance between stations along a wall (cells); the first sits half of it "
        "(rounded down) from the wall's north or west end, and every station wall needs one.",
    )
    one_way: bool = Field(
        False, description="Alternate one-way aisle directions (Manhattan pattern)."
    )
    parking_walls: tuple[Literal["west", "east", "north", "south"], ...] = Field(
        (),
        description="Walls without stations lined with a strip of parking cells, outside the "
        "outer aisle, where idle robots wait (policies.park_idle).",
    )

    @field_validator("station_walls", "parking_walls")
    @classmethod
    def _walls_distinct(cls, walls: tuple[str, ...]) -> tuple[str, ...]:
        """A wall named twice is a typo, not a second row of stations or parking."""
        if repeated := sorted({w for w in walls if walls.count(w) > 1}):
            raise ValueError(f"{', '.join(repeated)} given twice")
        return walls

    @field_validator("parking_walls")
    @classmethod
    def _parking_off_station_walls(
        cls, walls: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        if both := sorted(set(walls) & set(info.data.get("station_walls", ()))):
            raise ValueError(f"{', '.join(both)} carries stations; parking needs another wall")
        return walls


class AsciiLayout(FloorLayout):
    """A floor drawn inline: ``.`` aisle, ``#``/``@`` shelf, ``p`` pick location, ``S`` station."""

    type: Literal["ascii"] = "ascii"
    map: str = Field(
        ...,
        min_length=1,
        description="The floor drawing, one text line per row of cells (see README).",
    )


class FileLayout(FloorLayout):
    """A map file, resolved relative to the scenario file and kept inside its folder."""

    type: Literal["file"] = "file"
    path: str = Field(
        ...,
        min_length=1,
        description="Map file path, relative to the scenario file; may not leave its folder.",
    )
    format: Literal["auto", "movingai", "pogema", "rhcr", "ascii", "json", "graphml"] = Field(
        "auto",
        description="File format; auto detects from the extension and header, then from the "
        "drawing (a .txt with # and @ and no ASCII mark is POGEMA, whose @ are pick faces; "
        "ascii reads @ as shelves). validate notes which it chose.",
    )
    map_name: str | None = Field(
        None,
        min_length=1,
        description="The map to use of a POGEMA YAML file holding several (their names).",
    )


Layout = Annotated[GeneratorLayout | AsciiLayout | FileLayout, Field(discriminator="type")]


class EpisodeConfig(Section):
    steps: int = Field(2000, ge=1, le=10_000_000, description="Length of each episode (steps).")
    seeds: list[int] = Field(
        [0, 1, 2],
        min_length=1,
        max_length=10_000,
        description="Seeds; one episode per seed and policy.",
    )
    collect_every: int = Field(
        20, ge=1, le=1_000_000, description="Period of the KPI time series in kpis.csv (steps)."
    )
    stop_when_solved: bool = Field(
        False,
        description="One-shot MAPF instances (tasks.assignment one_shot) only: end the episode "
        "after the first step at which every robot stands on its goal (the env terminates "
        "every agent; warehouse run, sweep and shadow stop there, KPIs over the steps run), not "
        "after episode.steps (still the limit).",
    )

    @field_validator("seeds")
    @classmethod
    def _seeds_distinct_and_non_negative(cls, seeds: list[int]) -> list[int]:
        """numpy seeds are non-negative; a repeated seed would count one episode twice."""
        if any(s < 0 for s in seeds):
            raise ValueError(f"seeds must be ≥ 0, got {min(seeds)}")
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds repeat")
        return seeds


def _check_part_args(args: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keyword arguments of parts: YAML scalars (finite numbers, text, true/false, null) or lists
    of them, under text keys."""

    def scalar(v: Any) -> bool:
        return (
            v is None
            or isinstance(v, bool | int | str)
            or (isinstance(v, float) and math.isfinite(v))
        )

    for name, kwargs in args.items():
        for key, value in kwargs.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(f"{name}: {key!r} is not a keyword name")
            if not (scalar(value) or (isinstance(value, list) and all(map(scalar, value)))):
                raise ValueError(
                    f"{name}.{key}: expected a finite number, text, true/false, null or a list "
                    f"of them, got {value!r}"
                )
    return args


class PoliciesConfig(Section):
    dispatcher: str = Field("greedy", description="Dispatcher name (`warehouse list` shows them).")
    navigator: str = Field(
        "rule_based", description="Navigator name (`warehouse list` shows them)."
    )
    shield: CollisionMode | None = Field(
        None,
        description="Collision mode of the scenario's fleets (a value of physics.collisions): "
        "of `warehouse run`'s policies that set none of their own (`hierarchical` sets pibt) and "
        "of the PettingZoo env; `--collisions` (`collisions=` of make_env) overrides it; "
        "default: physics.collisions.",
    )
    run: list[str] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The policies `warehouse run` runs side by side when not given --policy, "
        "each named as --policy takes it or as report.json names it (rule_based/pibt: under "
        "pibt; rule_based:hungarian+rule_based: with those parts). A run folder's scenario.yaml "
        "lists here the policies chosen with --policy, --dispatcher, --navigator or "
        "--collisions, so that the file runs them again. Default: the policy of dispatcher and "
        "navigator (the command's default policies when the section names none). Read by "
        "`warehouse run` and `warehouse bench --scenario`; the commands that run one policy "
        "(`warehouse sweep` and `warehouse view` without --policy, `warehouse shadow`'s "
        "incumbent without --incumbent, WarehouseModel without policy=) run the list's one "
        "policy, with its parts and collision mode, and refuse a list of several. make_env, "
        "which takes no navigator, refuses it as a keyword and runs a file's list's dispatcher "
        "and collision mode (a list that differs in one: an error, unless dispatcher= or "
        "collisions= picks it).",
    )
    baseline: str | None = Field(
        None,
        min_length=1,
        description="The policy `warehouse run` compares the others with, seed by seed (the "
        "report's paired section), named as --baseline takes it: one of the policies the run "
        "runs, else a one-line error. A run folder's scenario.yaml records here the --baseline "
        "given, so that the file pairs the same way again; --baseline wins over it. It goes "
        "with the file's own policies: where --policy (or --set policies.run) replaces them and "
        "it names none of the new ones, the run pairs against the default and says so in a "
        "warning, and its scenario.yaml leaves it out. Default: "
        "the rule-based fleet if it runs, else the first. Read by `warehouse run` only: a file's "
        "loads everywhere, and a --set of it to another command is a one-line error.",
    )
    candidate: str | None = Field(
        None,
        min_length=1,
        description="The policy `warehouse shadow` logs the decisions of beside the incumbent "
        "that drives the floor, named as --candidate takes it; a name that does not resolve is "
        "a one-line error. A shadow folder's scenario.yaml records here the candidate that ran "
        "(with --collisions in its name, as run names it: hierarchical/block), so that the file "
        "shadows the same candidate again; --candidate wins over it. Default: hierarchical. "
        "Read by `warehouse shadow` only: a file's loads everywhere, and a --set of it is a "
        "one-line error (shadow: --candidate picks it).",
    )
    candidate_set: dict[str, Any] | None = Field(
        None,
        description="The candidate's own settings in `warehouse shadow`, as --candidate-set "
        "gives them: a mapping of policies settings, by their names in this section "
        "({dispatcher_checkpoint: RUN/policy.json, max_order_age: 30}), of "
        "dispatcher_checkpoint, navigator_checkpoint, order_pool, anticipate, max_order_age "
        "and task_swaps (park_idle: the incumbent's only), each checked as its field here (a "
        "checkpoint path relative to the scenario file). A shadow folder's scenario.yaml "
        "records here the candidate's settings that ran (checkpoint paths absolute), so that "
        "the file shadows the same again; --candidate-set wins over it key by key. Default: "
        "none. Read by `warehouse shadow` only: a file's loads everywhere, and a --set of it is "
        "a one-line error (shadow: --candidate-set gives it).",
    )
    incumbent_set: dict[str, Any] | None = Field(
        None,
        description="The incumbent's own settings in `warehouse shadow`, as candidate_set for "
        "the candidate (--incumbent-set), park_idle too.",
    )
    order_pool: int | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description="Order pool of the hungarian and ppo dispatchers: they choose among the "
        "oldest order_pool × idle robots open orders. Larger pools deliver more when orders "
        "queue and let old orders wait longer. Default: each dispatcher's own (4). greedy "
        "(rule_based) gives the oldest orders out first, one per idle robot, so its pool changes "
        "nothing unless policies.anticipate holds orders back.",
    )
    max_order_age: float | None = Field(
        None,
        gt=0,
        description="Starvation guard (s): before the dispatcher decides, the open orders older "
        "than this, oldest first, each go to the nearest idle robot (hierarchy/guard.py). "
        "Default: off.",
    )
    anticipate: bool = Field(
        False,
        description="Anticipation (hierarchy/anticipation.py): the greedy, hungarian and ppo "
        "dispatchers leave out of their pool the orders that a matching of the idle robots and "
        "the robots finishing a delivery to the pool, by fewest total steps to the picks, gives "
        "to a finishing robot. Default: off.",
    )
    task_swaps: bool = Field(
        False,
        description="Task swaps (hierarchy/swaps.py): robots still driving empty to their picks "
        "trade orders whenever that shortens the fleet's total drive; the set of orders served "
        "does not change. Applies to every dispatcher of the run. Default: off.",
    )
    park_idle: float | None = Field(
        None,
        ge=0,
        description="Parking (s; hierarchy/parking.py): robots idle this long with no sub-goal "
        "drive to a free parking spot instead of waiting where they finished: the floor's "
        "parking cells (P in ASCII maps, layout.parking_walls) if it has any, else pick cells "
        "spread over the floor outside dead ends, about two per robot. Applies to every "
        "dispatcher of the run. Default: off.",
    )
    navigator_checkpoint: str | None = Field(
        None,
        description="Checkpoint of a learned navigator (path, relative to the scenario file; "
        "given with --set, relative to the current folder). The navigators that run one network "
        "(cql, cql_sampled, cql_ft, cql_pibt, cql_physical, bc, bc_sampled) load it; a run with "
        "none of them refuses it.",
    )
    dispatcher_checkpoint: str | None = Field(
        None,
        description="Checkpoint of a learned dispatcher (path, relative to the scenario file; "
        "given with --set, relative to the current folder). The ppo dispatcher loads it; a run "
        "without it refuses it.",
    )
    navigator_args: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Keyword arguments of navigators, by name: {rule_based: {patience: 4}} "
        "(--set policies.navigator_args.rule_based.patience=4, sweepable). The lacam planner "
        "takes node_budget (search iterations per search, a whole number ≥ 1, default 20000) "
        "and refine (LaCAM*'s anytime refinement, default false): see *A complete planner*. "
        "The guided navigator takes vertex_weight and contraflow_weight (the congestion costs "
        "of its guide paths, numbers ≥ 0, defaults 0.1 and 1.0), suboptimality (the weight of "
        "its search's heuristic, a number ≥ 1, default 1.0: least-cost guide paths) and "
        "guide_rescue (true or false, default true: the PIBT shields' stall rescue follows its "
        "guide paths, so a robot still getting closer along its guide is not rescued until it "
        "has not come closer by the plain distance for 3 × stall_steps steps; false: the plain "
        "shortest-distance rescue of earlier sessions): see *Traffic-flow guidance*. "
        "Every policy of a run whose navigator has that name gets them, installed packages' "
        "navigators too; a run where none has it refuses them.",
    )
    dispatcher_args: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Keyword arguments of dispatchers, by name, as navigator_args.",
    )

    _part_args = field_validator("navigator_args", "dispatcher_args")(_check_part_args)

    @field_validator("candidate_set", "incumbent_set")
    @classmethod
    def _side_settings(cls, given: dict[str, Any] | None) -> dict[str, Any] | None:
        """Only the settings a side may have alone (:data:`warehouse.policies.SIDE_SETTINGS`,
        as ``--candidate-set`` takes them), each valid as its own field: ``KEY: why``."""
        if given is None:
            return given
        from pydantic import ValidationError

        from warehouse.policies import SIDE_SETTINGS

        allowed = [key.removeprefix("policies.") for key in SIDE_SETTINGS]
        for key, value in given.items():
            if key not in allowed:
                raise PydanticCustomError(
                    "side_setting",
                    "{key}: only {allowed} can differ",
                    {"key": str(key), "allowed": ", ".join(allowed)},
                )
            try:
                cls.model_validate({key: value})
            except ValidationError as exc:  # (worded as a --candidate-set value's error)
                from scenarios.load import input_error_from

                why = input_error_from(exc, {key: value}, None).message
                raise PydanticCustomError(
                    "side_setting", "{key}: {why}", {"key": key, "why": why}
                ) from None
        return given

    @field_validator("run")
    @classmethod
    def _run_names(cls, names: list[str] | None) -> list[str] | None:
        """Names, each once (what they name is checked by ``warehouse run``)."""
        if names is None:
            return names
        if any(not name.strip() for name in names):
            raise ValueError("a policy name is empty")
        if len(set(names)) != len(names):
            raise ValueError("policies repeat")
        return names


class Scenario(SimConfig):
    """A whole run: floor layout, core settings, episode and policies."""

    name: str = Field("scenario", description="Short name used in reports and output folder names.")
    description: str = Field("", description="One line on what the scenario is for.")
    layout: Layout = Field(default_factory=GeneratorLayout, description="The floor.")
    episode: EpisodeConfig = EpisodeConfig()
    policies: PoliciesConfig = PoliciesConfig()

    @field_validator("episode")
    @classmethod
    def _stop_when_solved_one_shot(
        cls, episode: EpisodeConfig, info: ValidationInfo
    ) -> EpisodeConfig:
        """Only a one-shot MAPF instance is ever solved: elsewhere the setting would do
        nothing."""
        tasks = info.data.get("tasks")
        if episode.stop_when_solved and tasks is not None and tasks.assignment != "one_shot":
            raise PydanticCustomError(
                "needs",
                "stop_when_solved: needs {setting}: one_shot (only a one-shot MAPF instance is "
                "solved), got {assignment}",
                {"setting": "tasks.assignment", "assignment": tasks.assignment},
            )
        return episode

    @model_validator(mode="before")
    @classmethod
    def _default_layout_type(cls, data: Any) -> Any:
        """A layout mapping without ``type`` is a generator layout."""
        if isinstance(data, dict) and isinstance(data.get("layout"), dict):
            if "type" not in data["layout"]:
                data = {**data, "layout": {"type": "generator", **data["layout"]}}
        return data

    def sim_config(self, collisions: str | None = None) -> SimConfig:
        """The part the core reads; with ``collisions``, under that collision mode instead of
        ``physics.collisions`` (a policy's own mode, or ``policies.shield``)."""
        config = SimConfig(**{k: getattr(self, k) for k in SimConfig.model_fields})
        if collisions is None or collisions == config.physics.collisions:
            return config
        physics = config.physics.model_copy(update={"collisions": collisions})
        return config.model_copy(update={"physics": physics})
