"""Mesa view of one run: :class:`WarehouseModel` steps a :class:`~warehouse.fleet.Fleet`.

The model owns no movement rule. Each Mesa step is one :meth:`Fleet.step` (dispatcher →
navigator → shield and physics inside the :class:`~warehouse.core.Simulation`). Robots and
stations are Mesa agents whose attributes read the core's arrays; they never act.

Randomness: the model seed is passed to ``fleet.reset(seed)``, which seeds the simulation and
the policies. Mesa's own ``model.random`` / ``model.rng`` are seeded too but nothing draws from
them.

Data collection (``model.datacollector``):

* model reporters: ``step`` plus every KPI of :data:`warehouse.kpis.KPI_NAMES` and
  ``open_orders``, recorded after every ``collect_every``-th step and after the last step
  (``None`` after the other steps; :meth:`WarehouseModel.series` leaves those out);
* agent-type reporters (``per_robot=True``, same cadence): per robot ``robot`` (index) and the
  counters ``deliveries``, ``distance_m``, ``collisions``, ``interventions``, ``busy_steps``,
  ``waits``, ``breakdowns``, ``broken_steps``; per station ``station`` (index) and ``queue``.
  A robot's ``collisions`` counts the steps in which its own move failed by a collision (one
  collision of two moving robots counts on both), so it does not sum to the ``collisions`` KPI,
  which counts incidents.

A one-shot MAPF instance with ``episode.stop_when_solved`` ends after the first step at which it
is solved (``running`` turns False then, as after ``steps`` steps; its last collection is that
step's, and every KPI counts the steps run).

Entry ``i`` of ``datacollector.model_vars`` is the state after step ``i + 1`` (``None`` where
nothing was collected), the indexing ``mesa.batch_run`` expects, whatever ``collect_every``
(``warehouse sweep`` uses this).

The model also accumulates ``visits``: per floor node, robot-steps spent there (the congestion
heatmap).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from .core import Simulation
from .core.simulation import check_seed
from .fleet import Fleet
from .kpis import KPI_FUNCTIONS
from .policies import (
    PibtWarning,
    PolicySpec,
    build_policy,
    check_checkpoints_used,
    pibt_note,
)

ROBOT_COUNTERS = (
    "deliveries",
    "distance_m",
    "collisions",
    "interventions",
    "busy_steps",
    "waits",
    "breakdowns",
    "broken_steps",
)


class RobotAgent(mesa.Agent):
    """One robot, a read-only view of row ``index`` of the fleet state."""

    def __init__(self, model: WarehouseModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def robot(self) -> int:
        return self.index

    @property
    def _state(self) -> Any:
        return self.model.sim.state

    @property
    def node(self) -> int:
        return int(self._state.pos[self.index])

    @property
    def cell(self) -> tuple[int, int]:
        r, c = self.model.sim.floor.pos[self.node]
        return int(r), int(c)

    @property
    def phase(self) -> int:
        return int(self._state.phase[self.index])

    @property
    def deliveries(self) -> int:
        return int(self._state.deliveries[self.index])

    @property
    def distance_m(self) -> float:
        return float(self._state.distance_m[self.index])

    @property
    def collisions(self) -> int:
        return int(self._state.collisions[self.index])

    @property
    def interventions(self) -> int:
        return int(self._state.interventions[self.index])

    @property
    def busy_steps(self) -> int:
        return int(self._state.busy_steps[self.index])

    @property
    def waits(self) -> int:
        return int(self._state.waits[self.index])

    @property
    def breakdowns(self) -> int:
        return int(self._state.breakdowns[self.index])

    @property
    def broken_steps(self) -> int:
        return int(self._state.broken_steps[self.index])


class StationAgent(mesa.Agent):
    """One station (drop-off point), a read-only view of the core's station queues."""

    def __init__(self, model: WarehouseModel, index: int, node: int) -> None:
        super().__init__(model)
        self.index = index
        self.node = node

    @property
    def queue(self) -> int:
        """Robots heading to or working at this station now."""
        return int(self.model.station_queues()[self.index])


def _kpi_reporter(name: str) -> Any:
    fn = KPI_FUNCTIONS[name]
    return lambda m: fn(m.sim)


class WarehouseModel(mesa.Model):
    """One run of a scenario with one policy and one seed (see module docstring).

    ``scenario`` is a built-in name, a scenario or map file, a loaded
    :class:`~scenarios.Scenario` (then pass its ``source``), or a networkx ``Graph``/``DiGraph``
    floor, read as :func:`warehouse.make_env` reads one (the default scenario on it). Extra
    keyword arguments are scenario overrides (``robots=40``, ``**{"fleet.robots": 40}``), so
    ``mesa.batch_run`` can sweep any setting. ``floor`` reuses an already built floor of the
    same scenario.
    ``policy`` is named as ``warehouse run --policy`` takes it (``"guided/pibt"``:
    ``guided`` under ``pibt``); without it the model runs the one policy the scenario's
    ``policies.run`` lists (a list of several is refused: pass ``policy=``), else the scenario's
    dispatcher and navigator. ``dispatcher``, ``navigator`` and ``collisions`` override its parts.
    ``seed`` is a non-negative integer (a numpy one too); anything else is refused with the
    core's ``TypeError``/``ValueError`` before the model is built.
    A navigator that leaves its conflicts to a PIBT shield (``guided``) under ``block`` or
    ``physical`` warns with :class:`~warehouse.policies.PibtWarning`: the floor jams.
    ``check_checkpoints=False`` lets a ``policies.*_checkpoint`` that this policy does not load
    pass (a sweep or comparison checks that some policy of the whole run loads it).
    ``last_only=True`` (as ``warehouse sweep`` runs it) computes the model reporters after the
    last step only; the earlier entries of ``datacollector.model_vars`` are ``None``, so entry
    ``i`` is still step ``i + 1``, the entry ``mesa.batch_run`` reads (every KPI after every
    step made a sweep 4 to 6 times slower).
    """

    def __init__(
        self,
        scenario: Any = "small",
        *,
        seed: int = 0,
        policy: str | PolicySpec | None = None,
        dispatcher: str | None = None,
        navigator: str | None = None,
        collisions: str | None = None,
        steps: int | None = None,
        collect_every: int | None = None,
        per_robot: bool = True,
        last_only: bool = False,
        source: Path | None = None,
        floor: Any = None,
        recorder: Any = None,
        check_checkpoints: bool = True,
        **overrides: Any,
    ) -> None:
        seed = check_seed(seed)  # (the core's rule and message: before Mesa's own, unclear one)
        super().__init__(seed=seed)
        import networkx as nx

        from scenarios import (
            Scenario,
            apply_overrides,
            blame_override,
            build_floor,
            graph_scenario,
            load_scenario,
        )
        from scenarios.load import dotted_names

        from .errors import InputError

        graph = None
        if isinstance(scenario, Scenario):
            sc = scenario
        elif isinstance(scenario, nx.Graph):
            (sc, graph), source = graph_scenario(scenario, overrides), None
        else:
            sc, source = load_scenario(scenario)
        sc = apply_overrides(sc, overrides, source)
        if isinstance(policy, PolicySpec):
            spec = policy
        else:  # (named and resolved as by `warehouse run`; the scenario's policies.run too)
            from .runner import one_policy_spec

            try:
                spec = one_policy_spec(
                    policy or None,
                    sc,
                    source,
                    dispatcher=dispatcher,
                    navigator=navigator,
                    collisions=collisions,
                    overrides=overrides,
                    names=dotted_names(overrides),
                    runs="WarehouseModel runs one policy",
                    pick="policy=",
                )
            except InputError as exc:  # a setting given here is named, not the file
                raise blame_override(exc, overrides, dotted_names(overrides)) from None
        self.scenario = sc
        self.policy = spec
        self.seed = int(seed)
        for name, value in (("steps", steps), ("collect_every", collect_every)):
            if value is not None and int(value) < 1:  # (0 used to mean the scenario's value)
                raise ValueError(f"{name} must be at least 1 (None: the scenario's), got {value}")
        self.max_steps = int(steps or sc.episode.steps)
        self.collect_every = int(collect_every or sc.episode.collect_every)
        self.last_only = bool(last_only)
        #: end the run at the step the one-shot instance is solved (``episode.stop_when_solved``)
        self.stop_when_solved = bool(sc.episode.stop_when_solved)

        # a setting given here that the floor or the simulation refuses is named, not blamed on
        # the scenario file (as make_env and the command line name it)
        names = dotted_names(overrides)
        floor = floor if floor is not None else build_floor(sc, source, names, graph=graph)
        config = sc.sim_config(spec.collisions_for(sc))
        try:
            self.sim = Simulation(floor, config)
        except InputError as exc:
            raise blame_override(exc, overrides, names) from None
        if check_checkpoints:
            check_checkpoints_used([spec], sc, source)
        dispatcher_obj, navigator_obj = build_policy(spec, sc, source, floor)
        if (note := pibt_note(spec, navigator_obj, sc, "collisions='pibt'")) is not None:
            warnings.warn(note, PibtWarning, stacklevel=2)  # (as warehouse run's warning line)
        self.fleet = Fleet(self.sim, dispatcher_obj, navigator_obj)
        self.fleet.reset(self.seed)
        self.recorder = self._make_recorder(recorder)
        self.visits = np.zeros(floor.n_nodes, dtype=np.int64)

        self.robots = [RobotAgent(self, i) for i in range(self.sim.n_robots)]
        self.stations = [StationAgent(self, i, int(n)) for i, n in enumerate(floor.stations)]
        self._queues_at = -1
        self._queues = np.zeros(0, dtype=np.int64)

        model_reporters: dict[str, Any] = {"step": lambda m: int(m.sim.t)}
        model_reporters.update({name: _kpi_reporter(name) for name in KPI_FUNCTIONS})
        model_reporters["open_orders"] = lambda m: int(m.sim.orders.open_ids.size)
        per_type: dict[type, dict[str, Any]] | None = None
        if per_robot:
            per_type = {
                RobotAgent: {name: name for name in ("robot", *ROBOT_COUNTERS)},
                StationAgent: {"station": "index", "queue": "queue"},
            }
        self.datacollector = mesa.DataCollector(
            model_reporters=model_reporters, agenttype_reporters=per_type
        )
        self.running = self.max_steps > 0

    def _make_recorder(self, recorder: Any) -> Any:
        """``True``: a :class:`warehouse.recorder.EpisodeRecorder`; a callable: a factory
        ``(sim, meta) -> recorder``; else the given object (or ``None``)."""
        if recorder is None or recorder is False:
            return None
        meta = {
            "scenario": self.scenario.name,
            "policy": self.policy.name,
            "seed": self.seed,
            "steps": self.max_steps,
        }
        if self.stop_when_solved:  # steps is the limit (as in report.json); the frames: the run
            meta["stop_when_solved"] = True
        if recorder is True:
            from .recorder import EpisodeRecorder

            return EpisodeRecorder(self.sim, meta=meta, expected_steps=self.max_steps)
        if callable(recorder) and not hasattr(recorder, "capture"):
            return recorder(self.sim, meta)
        return recorder

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """One fleet step; collect data every ``collect_every`` steps and at the end: after
        ``max_steps`` steps, or, with ``episode.stop_when_solved``, after the first step at which
        the one-shot instance is solved (:meth:`Simulation.solved`)."""
        fleet_step = self.fleet.step()
        self._count_visits()
        if self.recorder is not None:
            self.recorder.capture(self.sim, fleet_step)
        t = self.sim.t
        done = t >= self.max_steps or (self.stop_when_solved and bool(self.sim.solved()))
        if done or (t % self.collect_every == 0 and not self.last_only):
            self.datacollector.collect(self)
        else:  # keep entry i at step i + 1, which mesa.batch_run reads
            for values in self.datacollector.model_vars.values():
                values.append(None)
        if done:
            self.running = False

    def run(self, progress: Any = None) -> dict[str, Any]:
        """Step until the episode ends; ``progress(steps_done)`` is called now and then."""
        every = max(1, self.max_steps // 100)
        while self.running:
            self.step()
            if progress is not None and (self.sim.t % every == 0 or not self.running):
                progress(self.sim.t)
        return self.kpis()

    def _count_visits(self) -> None:
        """Add this step's robot positions (``visits.sum() == robots × steps``)."""
        self.visits += np.bincount(self.sim.state.pos, minlength=self.visits.size)

    # ------------------------------------------------------------------ views
    def kpis(self) -> dict[str, Any]:
        """Every KPI of the run so far."""
        from .kpis import compute_kpis

        return compute_kpis(self.sim)

    def station_queues(self) -> np.ndarray:
        if self._queues_at != self.sim.t:
            self._queues = self.sim.station_queues()
            self._queues_at = self.sim.t
        return self._queues

    def visits_grid(self) -> np.ndarray:
        """``(H, W)`` float array of robot-steps per cell, NaN where there is no floor."""
        floor = self.sim.floor
        grid = np.full(floor.shape, np.nan)
        grid[floor.pos[:, 0], floor.pos[:, 1]] = self.visits
        return grid

    def series(self) -> Any:
        """The model-level time series as a pandas DataFrame, one row per collection (the
        ``None`` entries of the steps between collections left out)."""
        import pandas as pd

        model_vars = self.datacollector.model_vars
        kept = [i for i, step in enumerate(model_vars["step"]) if step is not None]
        return pd.DataFrame(
            {name: [column[i] for i in kept] for name, column in model_vars.items()}
        )

    def robot_series(self) -> Any:
        """Per-robot counters (columns ``step``, ``robot``, counters), or ``None``."""
        if RobotAgent not in self.datacollector.agenttype_reporters:
            return None
        df = self.datacollector.get_agenttype_vars_dataframe(RobotAgent).reset_index()
        df = df.drop(columns=["AgentID"]).rename(columns={"Step": "step"})
        return df.reset_index(drop=True)
