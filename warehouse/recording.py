"""Episode logs: the recording file, loading it back and replaying it (recording a run and
saving it: :mod:`warehouse.recorder`).

A recording is one ``.npz`` file (numpy arrays plus one JSON document, no pickle; read with
``allow_pickle=False``). ``T`` is the number of recorded steps, ``N`` robots, ``A`` actions and
``n`` floor nodes. Frame ``k`` is the state after ``k`` steps (frame 0: right after ``reset``).

====================  ===============  ======================================================
array                 shape, dtype     meaning
====================  ===============  ======================================================
``meta_json``         () str           JSON: ``format``, ``meta`` (caller's dict: scenario,
                                       seed, policy...), ``config`` (the :class:`SimConfig`),
                                       ``floor`` (name, is_grid, cell_size, nodes and, on a
                                       split floor, ``edge_split``; ``notes``, the compiled
                                       floor's notes, where it has any), ``final``
                                       (the simulation's own counters at the last frame)
``floor_pos``         (n, 2) int32     cell (row, col) of every node
``floor_kind``        (n,) int8        :class:`~warehouse.floor.NodeKind` code
``floor_nbr``         (n, A) int32     node reached by each action (compiled floor)
``floor_mask``        (n, A) bool      allowed actions
``floor_length``      (n, A) float32   metres per move
``floor_cell_of``     (H, W) int32     node id per cell, -1 for none
``floor_start_ok``    (n,) bool        start cells
``floor_goal_ok``     (n,) bool        goal cells
``floor_transit``     (n,) bool        transit nodes of long edges (only on floors built with
                                       ``physics.speed_m_s``, whose ``floor.edge_split`` the
                                       JSON keeps, and on saved split floors, whose nodes are
                                       marked transit; older recordings: none)
``floor_charger``     (n,) bool        charger marks of the floor (``C`` cells; only when it
                                       has any: the chargers ``battery.chargers`` defaults to)
``pos``               (T+1, N) int32   node of every robot in every frame
``phase``             (T+1, N) int8    :class:`~warehouse.core.Phase`
``order``             (T+1, N) int32   order served (-1 none)
``task_goal``         (T+1, N) int32   node the task needs next (-1 none)
``waypoint``          (T+1, N) int32   dispatcher sub-goal (-1 none)
``broken``            (T+1, N) int32   steps left broken down
``timer``             (T+1, N) int32   steps left picking / dropping
``since_progress``    (T+1, N) int32   steps driving to a target and no progress
``proposed``          (T, N) int8      navigator actions before the shield
``actions``           (T, N) int8      executed actions (after masking and the shield)
``intervened``        (T, N) bool      the shield changed the action
``collided``          (T, N) bool      the move failed by conflict
``delivered``         (T, N) bool      delivered an order / reached a goal
``moved_m``           (T, N) float32   metres travelled in the step
``incidents``         (T,) int32       collision incidents of the step
``new_orders``        (T,) int32       orders that arrived in the step
``orders_lost``       (T,) int32       arrivals dropped in the step (``tasks.max_open_orders``;
                                       optional: older recordings hold only the final count)
``preferences``       (T, N, A) f32    navigator scores (optional; absent when not stored)
``closed_nodes``      (K,) int32       closed nodes (faults) of every frame, concatenated
``closed_ptr``        (T+2,) int64     frame ``k``'s closed nodes are
                                       ``closed_nodes[closed_ptr[k]:closed_ptr[k+1]]``
                                       (both optional: recordings without them show none)
``route_clock``       (E,) int64       clocks at which the scheduled-closed set that the
                                       distances route around changes (only with
                                       ``faults.closures``, from ``closures.closed_sets``);
                                       set ``i`` holds from its clock on
``route_ptr``         (E+1,) int64     set ``i`` is ``route_nodes[route_ptr[i]:route_ptr[i+1]]``
``route_nodes``       (R,) int32       (the three come together; older recordings: none)
``edge_clock``        (F,) int64       clocks at which the moves closed edges take away change
                                       (only when ``faults.closures`` closes ``edges``, from
                                       ``closures.route_sets``); set ``i`` holds from its clock
``edge_ptr``          (F+1,) int64     set ``i`` is ``edge_moves[edge_ptr[i]:edge_ptr[i+1]]``
``edge_moves``        (Q, 2) int32     closed moves ``(from, to)`` (the three come together;
                                       recordings without closed edges: none)
``battery_soc``       (T+1, N) f64     charge left, Wh (only with the battery model on)
``battery_charge``    (T+1, N) int8    :class:`~warehouse.core.state.Charge` (the same)
``orders_*``          (M,)             the order book at the end: ``pick``, ``station``,
                                       ``arrival``, ``assigned``, ``robot``, ``delivered``
====================  ===============  ======================================================

KPIs are recomputed from the log by rebuilding, for any frame, a read-only
:class:`~warehouse.core.Simulation` holding that frame's state (cumulative counters are running
sums of the per-step arrays) and calling the functions of :mod:`warehouse.kpis` on it:
:func:`kpis_from_recording`.

The conflict validator reads ``rec.positions`` (node ids per frame) with ``rec.graph()``, or
``rec.cells()`` for (row, col) per frame.

The size rule a recording must meet to be loaded (:func:`_oversize`) is this module's, shared by
the recorder (before saving, and before a run: :func:`~warehouse.recorder.check_recording_fits`).
:class:`~warehouse.recorder.EpisodeRecorder` and :func:`~warehouse.recorder.check_recording_fits`
are importable from here too.
"""

from __future__ import annotations

import copy
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from .config import SimConfig
from .core.state import N_PHASES, FleetState, OrderBook, Phase, drive_target, holding_goal
from .errors import InputError, display_path
from .floor import CompiledFloor, DistanceCache, NodeKind
from .floor.transit import SPLIT_KEY, TRANSIT_KEY
from .jsonio import loads_json_strict
from .kpis import stalled

if TYPE_CHECKING:
    from .core import Simulation
    from .recorder import EpisodeRecorder
    from .recorder import check_recording_fits as check_recording_fits  # (re-exported)

FORMAT = "warehouse-recording/1"
#: distinct closed sets whose distance caches a loaded recording keeps (:meth:`Recording._dist_for`)
_MAX_ROUTE_CACHES = 16

#: The most a recording's arrays may inflate to when loaded, whatever their shapes (4 GiB).
MAX_RECORDING_BYTES = 1 << 32
#: Room for what does not grow with the run (``meta_json``'s settings, the caller's ``meta``).
_FIXED_BYTES = 16 << 20

#: Per-frame state arrays copied from ``sim.state`` (T+1 rows).
FRAME_FIELDS = (
    "pos",
    "phase",
    "order",
    "task_goal",
    "waypoint",
    "broken",
    "timer",
    "since_progress",
)
#: Per-step arrays taken from the :class:`~warehouse.fleet.FleetStep` (T rows).
STEP_FIELDS = ("proposed", "actions", "intervened", "collided", "delivered", "moved_m")
_FLOOR_FIELDS = ("pos", "kind", "nbr", "mask", "length", "cell_of", "start_ok", "goal_ok")
#: The scheduled-closed sets the distances route around (``faults.closures``).
ROUTE_FIELDS = ("route_clock", "route_ptr", "route_nodes")
#: The moves closed edges take away (``faults.closures[].edges``).
EDGE_FIELDS = ("edge_clock", "edge_ptr", "edge_moves")
_ORDER_FIELDS = ("pick", "station", "arrival", "assigned", "robot", "delivered")
#: Cumulative counters stored from the live simulation at the end, checked on load.
_FINAL_COUNTERS = ("deliveries", "interventions", "busy_steps", "distance_m")


def _edge_sets(floor: CompiledFloor, config: SimConfig) -> dict[int, np.ndarray]:
    faults = config.faults
    if not any(c.edges for c in faults.closures):
        return {}
    from .core.closure_entries import resolve_closures
    from .core.closures import route_sets

    closures = resolve_closures(floor, faults, config.physics.step_seconds)
    return {int(t): moves for t, (_, moves) in sorted(route_sets(closures).items())}


def _cut_sets(floor: CompiledFloor, config: SimConfig) -> dict[int, np.ndarray]:
    """``{clock: nodes}``: the open nodes the scheduled closures cut off from the rest of the
    floor (``closures.cut_off``, the live simulation's ``shut_in``), from each clock at which
    the closures change; empty without ``faults.closures``."""
    faults = config.faults
    if not faults.closures:
        return {}
    from .core.closure_entries import resolve_closures
    from .core.closures import cut_off, route_sets
    from .floor.distances import open_moves

    closures = resolve_closures(floor, faults, config.physics.step_seconds)
    return {
        int(t): np.flatnonzero(cut_off(floor, open_moves(floor, moves), nodes))
        for t, (nodes, moves) in sorted(route_sets(closures).items())
    }


def _resolved_or_none(
    resolve: Callable[[CompiledFloor, SimConfig], dict[int, np.ndarray]],
    floor: CompiledFloor,
    config: SimConfig,
) -> dict[int, np.ndarray]:
    """``resolve(floor, config)`` (:func:`_edge_sets`, :func:`_cut_sets`), or none where the
    floor no longer fits the configuration's closures (nothing shown)."""
    try:
        return resolve(floor, config)
    except InputError:
        return {}


def _logged_in_force(a: dict[str, np.ndarray], prefix: str, values: str, k: int) -> np.ndarray:
    """The logged set (``{prefix}_clock``, ``{prefix}_ptr`` into ``values``) in force at frame
    ``k``: the one of the last clock at or before it, empty before the first."""
    i = int(np.searchsorted(a[f"{prefix}_clock"], k, side="right")) - 1
    if i < 0:
        return a[values][:0]
    ptr = a[f"{prefix}_ptr"]
    return a[values][ptr[i] : ptr[i + 1]]


def _in_force(sets: dict[int, np.ndarray], k: int, empty: np.ndarray) -> np.ndarray:
    """The set of ``sets`` (``{clock: array}``, clocks ascending) in force at frame ``k``:
    the one of the last clock at or before it, ``empty`` before the first."""
    clocks = [t for t in sets if t <= k]
    return sets[clocks[-1]] if clocks else empty


# ---------------------------------------------------------------------------------- loading
@dataclass(eq=False)
class Recording:
    """A loaded episode log (see the module docstring for the arrays)."""

    arrays: dict[str, np.ndarray]
    doc: dict[str, Any]
    source: Path | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    # -- sizes --------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return int(self.arrays["incidents"].shape[0])

    @property
    def n_frames(self) -> int:
        return self.steps + 1

    @property
    def n_robots(self) -> int:
        return int(self.arrays["pos"].shape[1])

    @property
    def meta(self) -> dict[str, Any]:
        return self.doc["meta"]

    @cached_property
    def config(self) -> SimConfig:
        return SimConfig.model_validate(self.doc["config"])

    @property
    def positions(self) -> np.ndarray:
        """``(T+1, N)`` node id of every robot per frame (what the conflict validator reads)."""
        return self.arrays["pos"]

    def cells(self) -> np.ndarray:
        """``(T+1, N, 2)`` (row, col) of every robot per frame."""
        return self.arrays["floor_pos"][self.arrays["pos"]]

    @property
    def has_preferences(self) -> bool:
        return "preferences" in self.arrays

    # -- floor --------------------------------------------------------------------------
    @cached_property
    def floor(self) -> CompiledFloor:
        """The compiled floor, with node ids identical to the recorded run."""
        a, fd = self.arrays, self.doc["floor"]
        nodes = [tuple(v) if isinstance(v, list) else v for v in fd["nodes"]]
        floor_arrays: dict[str, Any] = {k: a[f"floor_{k}"] for k in _FLOOR_FIELDS}
        # older recordings and floors without physics.speed_m_s: no transit node, no split
        transit = a.get("floor_transit", np.zeros(len(nodes), dtype=np.bool_)).astype(np.bool_)
        graph = _graph_from_arrays(a, nodes, fd)
        if isinstance(fd.get("edge_split"), dict):  # as split_long_edges left the live graph
            graph.graph[SPLIT_KEY] = dict(fd["edge_split"])
        if isinstance(fd.get("edge_split"), dict) or transit.any():
            graph.graph[TRANSIT_KEY] = frozenset(nodes[i] for i in np.flatnonzero(transit))
        return CompiledFloor(
            graph=graph,
            nodes=nodes,
            **floor_arrays,
            is_grid=bool(fd["is_grid"]),
            cell_size=float(fd["cell_size"]),
            name=str(fd["name"]),
            notes=list(fd.get("notes", [])),  # (older recordings: none)
            transit=transit,
            charger=a.get("floor_charger", np.zeros(len(nodes), dtype=np.bool_)).astype(np.bool_),
        )

    def graph(self) -> nx.DiGraph:
        """The floor as a networkx DiGraph (node keys and ``pos``/``kind`` as in the run)."""
        return self.floor.graph

    # -- per-frame views ------------------------------------------------------------------
    @cached_property
    def cumulative(self) -> dict[str, np.ndarray]:
        """Running sums of the per-step arrays, one row per frame (row 0: zeros)."""
        a = self.arrays
        n = self.n_robots

        def csum(x: np.ndarray) -> np.ndarray:
            out = np.zeros((x.shape[0] + 1, *x.shape[1:]), dtype=np.int64)
            np.cumsum(x, axis=0, dtype=np.int64, out=out[1:])
            return out

        distance = np.zeros((self.n_frames, n), dtype=np.float64)
        for k, row in enumerate(a["moved_m"]):  # added step by step exactly as the core does
            distance[k + 1] = distance[k] + row
        # one-shot: a step begun holding its goal is neither busy nor a wait (as the core counts)
        working = ~self._held if self._one_shot_goals is not None else True
        return {
            "deliveries": csum(a["delivered"]),
            "interventions": csum(a["intervened"]),
            "collisions": csum(a["collided"]),
            "moves": csum(a["pos"][1:] != a["pos"][:-1]),
            # with a task after the step, or ended one in it, or handed its order back to a
            # closure after driving (as the core counts)
            "busy_steps": csum(
                ((a["phase"][1:] != Phase.IDLE) | (a["delivered"] > 0) | self._handed_back)
                & working
            ),
            "waits": csum(
                (a["phase"][1:] != Phase.IDLE)
                & (a["pos"][1:] == a["pos"][:-1])
                & (drive_target(a["waypoint"][1:], a["task_goal"][1:]) >= 0)
                & working
            ),
            "distance_m": distance,
            # broken down as step k + 1 began; a breakdown sets the timer above its countdown
            "broken_steps": csum(a["broken"][:-1] > 0),
            # stuck as each step ended (kpis.stuck_robot_share), what the live counter adds
            "stuck_steps": csum(stalled(a["since_progress"][1:], self.config.physics)[0]),
            "breakdowns": csum(a["broken"][1:] > np.maximum(a["broken"][:-1] - 1, 0)),
            "incidents": csum(a["incidents"]),
            "orders_lost": self._lost_per_frame(),
        }

    @cached_property
    def stepping_phase(self) -> np.ndarray:
        """``(T, N)``: each robot's phase when step ``k + 1`` began, which the time-share counters
        count by. It is frame ``k``'s phase except for the robots the dispatch before the step
        changed: idle in frame ``k`` and holding an order in frame ``k + 1`` (assigned, or took
        an order over), or driving to a pick in frame ``k`` and idle in frame ``k + 1`` with its
        order held by another robot (who took it over: :mod:`hierarchy.swaps`). A robot whose
        order no robot holds after the step handed it back to a closure after driving
        (:attr:`_handed_back`): it began the step driving. Read from the frames, not from the
        order book's final holders, which task swaps may have changed."""
        a = self.arrays
        stepping = a["phase"][:-1].copy()
        took = (stepping == Phase.IDLE) & (a["order"][1:] >= 0)
        given_up = (stepping == Phase.TO_PICK) & (a["phase"][1:] == Phase.IDLE)
        stepping[took] = Phase.TO_PICK
        stepping[given_up & ~self._handed_back] = Phase.IDLE
        return stepping

    @cached_property
    def _held(self) -> np.ndarray:
        """``(T, N)``: one-shot MAPF, the robots that began step ``k + 1`` holding their goal
        (:func:`~warehouse.core.state.holding_goal`; ``Simulation.step`` counts them neither
        blocked, busy nor waiting)."""
        a = self.arrays
        return holding_goal(
            a["pos"][:-1], a["task_goal"][:-1], a["waypoint"][:-1], self.stepping_phase
        )

    @cached_property
    def _handed_back(self) -> np.ndarray:
        """``(T, N)``: robots that drove to a pick in step ``k + 1`` and then handed their order
        back to a closure (:func:`~warehouse.core.closures.closure_duties`): driving in frame
        ``k``, idle in frame ``k + 1``, and no robot holds their order then (an order taken
        over by task swaps is held by the robot that took it)."""
        a = self.arrays
        order = a["order"]
        given_up = (order[:-1] >= 0) & (a["phase"][:-1] == Phase.TO_PICK)
        given_up &= a["phase"][1:] == Phase.IDLE
        frames, robots = np.nonzero(given_up)
        out = np.zeros(given_up.shape, dtype=bool)
        if frames.size:
            span = np.int64(max(int(order.max()) + 1, 1))
            held_k, held_r = np.nonzero(order[1:] >= 0)
            held = held_k.astype(np.int64) * span + order[1:][held_k, held_r]
            mine = frames.astype(np.int64) * span + order[:-1][frames, robots]
            free = ~np.isin(mine, held)
            out[frames[free], robots[free]] = True
        return out

    def _time_counters(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The fleet's ``phase_steps`` ``(N_PHASES,)`` and ``blocked_steps`` ``(1,)`` after ``k``
        steps (rows of :attr:`_running_time_counters`)."""
        phase_steps, blocked = self._running_time_counters
        return phase_steps[k].copy(), blocked[k : k + 1].copy()

    @cached_property
    def _running_time_counters(self) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, the fleet's ``phase_steps`` ``(T+1, N_PHASES)`` and ``blocked_steps``
        ``(T+1,)`` so far (row 0: zeros): built once, so reading a late frame of a long log
        does not sum every step before it again."""
        a = self.arrays
        stepping = self.stepping_phase
        steps = stepping.shape[0]
        rows = np.arange(steps, dtype=np.int64)[:, None] * N_PHASES
        per_step = np.bincount((rows + stepping).ravel(), minlength=steps * N_PHASES)
        phase_steps = np.zeros((steps + 1, N_PHASES), dtype=np.int64)
        np.cumsum(per_step.reshape(steps, N_PHASES), axis=0, out=phase_steps[1:])
        driving = np.isin(stepping, (Phase.TO_PICK, Phase.TO_DROP, Phase.TO_GOAL))
        if self._one_shot_goals is not None:  # a robot that begins the step on its goal holds it
            driving &= ~self._held
        stuck = np.count_nonzero(driving & (a["pos"][1:] == a["pos"][:-1]), axis=1)
        blocked = np.zeros(steps + 1, dtype=np.int64)
        np.cumsum(stuck, out=blocked[1:])
        return phase_steps, blocked

    @cached_property
    def _running_battery(self) -> dict[str, np.ndarray]:
        """Per frame ``(T+1, N)``, the battery counters so far (``battery_*`` arrays): the
        lowest charge, the steps begun queued for, driving to or at a charger, and the times
        the charge reached 0; built once, as :attr:`_running_time_counters`."""
        from .core.state import Charge

        charge, soc = self.arrays["battery_charge"], self.arrays["battery_soc"]
        began = charge[:-1]
        counted = (began == Charge.QUEUED) | (began == Charge.TO_CHARGER)
        counted |= began == Charge.CHARGING
        dead = (charge[1:] == Charge.DEPLETED) & (began != Charge.DEPLETED)
        out = {"soc_min_wh": np.minimum.accumulate(soc, axis=0)}
        for name, flags in (("charge_steps", counted), ("depletions", dead)):
            out[name] = np.zeros(charge.shape, dtype=np.int64)
            np.cumsum(flags, axis=0, dtype=np.int64, out=out[name][1:])
        return out

    def _lost_per_frame(self) -> np.ndarray:
        """Arrivals dropped so far, per frame. Recordings without the per-step log know only
        the final count, which the last frame gets."""
        a = self.arrays
        if "orders_lost" in a:
            out = np.zeros(self.n_frames, dtype=np.int64)
            np.cumsum(a["orders_lost"], dtype=np.int64, out=out[1:])
            return out
        out = np.zeros(self.n_frames, dtype=np.int64)
        out[-1] = int(self.doc["final"].get("orders_lost", 0))
        return out

    @cached_property
    def dist(self) -> DistanceCache:
        """A distance cache on the recorded floor without closed nodes (frames outside
        scheduled closures read it: :meth:`frame_sim`)."""
        return DistanceCache(self.floor)

    def route_closed_at(self, k: int) -> np.ndarray:
        """Node ids the distances of frame ``k`` route around: the scheduled closures
        (``faults.closures``) in effect at clock ``k``, as the live simulation's
        ``DistanceCache.set_closed`` had them. Recordings made before these sets were logged
        (``route_*`` arrays) but with a schedule fall back on the frame's closed cells, which
        is exact without random closures (``faults.closure_prob``: 0); without a schedule the
        set is empty."""
        k = self._check_frame(k)
        a = self.arrays
        if "route_clock" in a:
            return _logged_in_force(a, "route", "route_nodes", k).astype(np.int64)
        if self.config.faults.closures:
            return self.closed_at(k)
        return np.zeros(0, dtype=np.int64)

    def closed_moves_at(self, k: int) -> np.ndarray:
        """``(m, 2)`` int64: the moves ``(from, to)`` closed edges (``faults.closures[].edges``)
        take away in frame ``k``, as the live simulation's move rule and distances had them
        (``DistanceCache.set_closed``). Recordings made before these were logged (``edge_*``
        arrays) resolve them from their configuration; none without closed edges."""
        k = self._check_frame(k)
        a = self.arrays
        if "edge_clock" in a:
            return _logged_in_force(a, "edge", "edge_moves", k).reshape(-1, 2).astype(np.int64)
        return _in_force(self._edge_sets, k, np.zeros((0, 2), dtype=np.int64))

    @cached_property
    def _edge_sets(self) -> dict[int, np.ndarray]:
        return _resolved_or_none(_edge_sets, self.floor, self.config)

    def cut_off_at(self, k: int) -> np.ndarray:
        """Node ids the scheduled closures cut off from the rest of the floor in frame ``k``
        (their orders were held and robots there shut in), resolved from the configuration as
        the live simulation did; empty without closures."""
        return _in_force(self._cut_sets, self._check_frame(k), np.zeros(0, dtype=np.int64))

    @cached_property
    def _cut_sets(self) -> dict[int, np.ndarray]:
        return _resolved_or_none(_cut_sets, self.floor, self.config)

    def _dist_for(self, closed: np.ndarray, moves: np.ndarray | None = None) -> DistanceCache:
        """A distance cache around ``closed`` and without the closed ``moves`` (one per
        distinct pair, kept: a frame's cache is never changed by reading another frame)."""
        moves = np.zeros((0, 2), np.int64) if moves is None else moves
        if not closed.size and not moves.size:
            return self.dist
        key = closed.astype(np.int64).tobytes()
        if moves.size:
            key += b"|" + moves.astype(np.int64).tobytes()
        cache = self._route_dists.get(key)
        if cache is None:
            if len(self._route_dists) >= _MAX_ROUTE_CACHES:  # (old logs with random closures)
                self._route_dists.pop(next(iter(self._route_dists)))
            cache = DistanceCache(self.floor)
            cache.set_closed(closed, moves)
            self._route_dists[key] = cache
        return cache

    @cached_property
    def _route_dists(self) -> dict[bytes, DistanceCache]:
        return {}

    def frame_state(self, k: int) -> FleetState:
        """A :class:`FleetState` for frame ``k`` (cumulative counters rebuilt from the log)."""
        k = self._check_frame(k)
        a, cum = self.arrays, self.cumulative
        s = FleetState.empty(self.n_robots)
        for name in FRAME_FIELDS:
            setattr(s, name, a[name][k].copy())
        counters = ("deliveries", "interventions", "collisions", "moves", "busy_steps", "waits",
                    "breakdowns", "broken_steps", "stuck_steps")  # fmt: skip
        for name in counters:
            setattr(s, name, cum[name][k].copy())
        if "battery_soc" in a:  # the battery model's counters (kpis.charging_share, ...)
            s.soc_wh = a["battery_soc"][k].copy()
            s.charge = a["battery_charge"][k].copy()
            for name, running in self._running_battery.items():
                setattr(s, name, running[k].copy())
        s.phase_steps, s.blocked_steps = self._time_counters(k)
        s.distance_m = cum["distance_m"][k].copy()
        if self._one_shot_goals is not None:  # one-shot MAPF: arrivals and goals held
            s.arrived = cum["deliveries"][k] > 0
            s.goal_since = self._goal_since[k].copy()
        return s

    @cached_property
    def _one_shot_goals(self) -> np.ndarray | None:
        """Robot i's one goal (node) in a one-shot MAPF run (``tasks.assignment: one_shot``),
        else None: ``tasks.goals``, or in a random instance the goals drawn at reset (its
        robots' task goals in frame 0; a one-shot goal never changes)."""
        shell = self._shell
        if shell.one_shot_goals is None and shell.random_one_shot:
            return self.arrays["task_goal"][0].astype(np.int32)
        return shell.one_shot_goals

    @cached_property
    def _goal_since(self) -> np.ndarray:
        """``(T+1, N)``: per frame, the clock since which each robot has stood on its goal
        without a break (-1 off it), as the core keeps ``state.goal_since``."""
        goals = self._one_shot_goals
        assert goals is not None
        on = self.arrays["pos"] == goals
        frames = np.arange(on.shape[0], dtype=np.int64)[:, None]
        last_off = np.maximum.accumulate(np.where(on, -1, frames), axis=0)
        return np.where(on, last_off + 1, -1)

    @cached_property
    def _sum_of_costs_lb(self) -> int | None:
        """The one-shot lower bound of the recorded run (its starts: frame 0)."""
        from .core.simulation import one_shot_lower_bound

        goals = self._one_shot_goals
        assert goals is not None
        return one_shot_lower_bound(self.floor, self.dist, self.arrays["pos"][0], goals)

    def frame_orders(self, k: int) -> OrderBook:
        """The order book as it was at frame ``k``."""
        k = self._check_frame(k)
        a = self.arrays
        arrival = a["orders_arrival"]
        m = int(np.searchsorted(arrival, k, side="right"))  # orders arrive in step order
        ob = OrderBook()
        for name in _ORDER_FIELDS:
            setattr(ob, name, a[f"orders_{name}"][:m].copy())
        ob.count = m
        late_assign = ob.assigned >= k  # assigned by the dispatch that follows frame k
        ob.assigned[late_assign] = -1
        ob.robot[late_assign] = -1
        held = a["order"][k]  # the holders of frame k (task swaps may have moved an order since)
        ob.robot[held[held >= 0]] = np.flatnonzero(held >= 0)
        # an order handed back later (a scheduled closure) and not given again logs no
        # assignment: it was assigned by frame k, as its holder shows (the step is not kept)
        late = held[held >= 0][ob.assigned[held[held >= 0]] < 0]
        ob.assigned[late] = k - 1
        ob.delivered[ob.delivered > k] = -1
        ob.open_ids = np.flatnonzero(ob.assigned < 0).astype(np.int32)
        ob.lost = int(self.cumulative["orders_lost"][k])
        return ob

    @cached_property
    def _shell(self) -> Simulation:
        from .core import Simulation

        sim = Simulation(self.floor, self.config)
        sim.dist = self.dist
        return sim

    def frame_sim(self, k: int) -> Simulation:
        """A :class:`Simulation` holding frame ``k``'s state, for reading only (the KPI
        functions, the observer and the renderer). It was never reset, so it has no RNG and
        refuses to step. Closed cells (faults) are those of the frame (none in recordings made
        before they were logged), and its distances route around the scheduled closures in
        effect then (:meth:`route_closed_at`, :meth:`closed_moves_at`), as the live run's did."""
        k = self._check_frame(k)
        sim = copy.copy(self._shell)
        sim.state = self.frame_state(k)
        sim.orders = self.frame_orders(k)
        sim.t = k
        sim.incidents = int(self.cumulative["incidents"][k])
        sim.closed_until = np.zeros(self.floor.n_nodes, dtype=np.int64)
        sim.closed_until[self.closed_at(k)] = k + 1  # closed at step k, whatever the length
        sim.dist = self._dist_for(self.route_closed_at(k), self.closed_moves_at(k))
        if self._one_shot_goals is not None:
            sim.one_shot_goals = self._one_shot_goals  # (a random instance's: drawn at reset)
            sim.sum_of_costs_lb = self._sum_of_costs_lb
        return sim

    def closed_at(self, k: int) -> np.ndarray:
        """Node ids closed in frame ``k`` (empty for recordings without the closure log)."""
        k = self._check_frame(k)
        if "closed_ptr" not in self.arrays:
            return np.zeros(0, dtype=np.int64)
        ptr = self.arrays["closed_ptr"]
        return self.arrays["closed_nodes"][ptr[k] : ptr[k + 1]].astype(np.int64)

    def _check_frame(self, k: int) -> int:
        k = int(k)
        if not 0 <= k < self.n_frames:
            raise IndexError(f"frame {k} outside 0..{self.n_frames - 1}")
        return k


def _graph_from_arrays(a: dict[str, np.ndarray], nodes: list[Any], fd: dict) -> nx.DiGraph:
    pos, kind, nbr, mask, length = (
        a[f"floor_{k}"] for k in ("pos", "kind", "nbr", "mask", "length")
    )
    g = nx.DiGraph(
        name=fd["name"],
        cell_size=float(fd["cell_size"]),
        grid_shape=tuple(int(x) for x in a["floor_cell_of"].shape),
    )
    names = {int(k): k.name.lower() for k in NodeKind}
    for i, v in enumerate(nodes):
        g.add_node(
            v,
            pos=(int(pos[i, 0]), int(pos[i, 1])),
            kind=names[int(kind[i])],
            start=bool(a["floor_start_ok"][i]),
            goal=bool(a["floor_goal_ok"][i]),
        )
    src, slot = np.nonzero(mask[:, 1:])
    dst = nbr[src, slot + 1]
    for u, w, s in zip(src.tolist(), dst.tolist(), (slot + 1).tolist(), strict=True):
        if u != w:
            g.add_edge(nodes[u], nodes[w], length=float(length[u, s]))
    return g


def _check_member_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse, before inflating any data, an archive that would inflate to more than it can
    hold. Each ``.npy`` member's header describes no more data than the member holds
    (``np.load`` allocates the array its header claims before reading a byte: a 200-byte file
    claiming terabytes would raise MemoryError), and all members together inflate to no more
    than a recording of their steps, robots and floor holds (:func:`_size_bound`: a few
    kilobytes of deflated zeros honestly inflate to gigabytes), nor to more than
    :data:`MAX_RECORDING_BYTES`."""
    from .npy_header import read_npy_header

    sizes: dict[str, int] = {}  # member -> the bytes loading it inflates
    shapes: dict[str, tuple[int, ...]] = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        sizes[name] = info.file_size  # (a member without .npy data is read whole, as bytes)
        if not info.filename.endswith(".npy"):
            continue  # (np.load hands those back as bytes: refused below)
        with archive.open(info) as fh:
            if fh.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
                continue  # (no .npy data: np.load hands it back as bytes, refused below)
            fh.seek(0)
            shape, dtype = read_npy_header(fh)
        if dtype.hasobject:
            sizes[name] = 0
            continue  # (refused unread by allow_pickle=False)
        claimed = math.prod(shape) * dtype.itemsize
        if claimed > info.file_size:
            raise InputError(
                path, name, f"header claims {claimed:,} bytes, the member holds {info.file_size:,}"
            )
        sizes[name], shapes[name] = claimed, shape
    if refused := _oversize(sizes, shapes):
        largest, total, rule = refused
        raise InputError(path, largest, f"the arrays inflate to {total:,} bytes{rule}")


def _oversize(
    sizes: dict[str, int], shapes: dict[str, tuple[int, ...]]
) -> tuple[str | None, int, str] | None:
    """Whether arrays inflating to ``sizes`` bytes (by name) with these ``shapes`` are too large
    to load: the one rule of :func:`load_recording`,
    :meth:`~warehouse.recorder.EpisodeRecorder.save` (before writing them) and
    :func:`~warehouse.recorder.check_recording_fits` (before a run). ``None`` when they fit,
    else the largest array, the total and the rule broken (``"; at most ... bytes are read"``,
    ``", more than ... holds (...)"``)."""
    total = sum(sizes.values())
    largest = max(sizes, key=sizes.__getitem__, default=None)
    if total > MAX_RECORDING_BYTES:
        return largest, total, f"; at most {MAX_RECORDING_BYTES:,} bytes are read"
    limit, what = _size_bound(shapes)
    if total > limit:
        return largest, total, f", more than {what} holds ({limit:,})"
    return None


def _size_bound(shapes: dict[str, tuple[int, ...]]) -> tuple[int, str]:
    """The most a recording's arrays inflate to (8 bytes an entry, the widest dtype), from its
    steps ``T`` and robots ``N`` (``pos``: ``(T+1, N)``), floor nodes ``n`` and actions ``A``
    (``floor_nbr``: ``(n, A)``) and grid cells (``floor_cell_of``), as the headers claim; and
    what that is, in words. Per frame: every per-robot array with the preferences, the closed
    nodes and the closure schedule's sets, an order per robot and room for 40 more; once: the
    floor, the order book (``orders_*``: ``(M,)``; arrivals need not keep pace with the robots)
    and ``meta_json`` (4 bytes a character: the nodes, the robots' counters, the floor's
    text)."""

    def dims(name: str) -> tuple[int, int]:
        shape = shapes.get(name, ())
        return (shape[0], shape[1]) if len(shape) == 2 else (0, 0)

    def len_of(name: str) -> int:
        shape = shapes.get(name, ())
        return shape[0] if len(shape) == 1 else 0

    frames, robots = dims("pos")
    nodes, actions = dims("floor_nbr")
    cells = math.prod(dims("floor_cell_of"))
    orders = max((len_of(f"orders_{k}") for k in _ORDER_FIELDS), default=0)
    per_frame = robots * (actions + 22) + 2 * nodes * (actions + 1) + 256
    entries = (frames + 1) * per_frame + nodes * (3 * actions + 8) + cells + 6 * orders
    text = 4 * (64 * nodes + 32 * robots + 4 * cells)
    what = (
        f"a recording of {max(frames - 1, 0)} steps, {robots} robots, {nodes} nodes and "
        f"{orders} orders"
    )
    return 8 * entries + text + _FIXED_BYTES, what


def load_recording(path: str | Path) -> Recording:
    """Read a recording written by :meth:`~warehouse.recorder.EpisodeRecorder.save`.

    Raises :class:`InputError` for unreadable, foreign or inconsistent files.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, None, "is a folder, expected a .npz recording")
    if not path.exists():
        raise InputError(path, None, "no such file")
    try:
        if not zipfile.is_zipfile(path):  # np.load would try it as a pickle or a .npy array
            raise InputError(path, None, "not a readable .npz recording (not a zip archive)")
        with zipfile.ZipFile(path) as archive:
            _check_member_sizes(path, archive)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        why = "pickled data is refused" if "pickle" in str(exc) else str(exc)
        raise InputError(path, None, f"not a readable .npz recording ({why})") from None
    if "meta_json" not in arrays:
        raise InputError(path, "meta_json", "missing: not a warehouse recording")
    for name, value in arrays.items():  # (np.load hands back a member that is no .npy as bytes)
        if not isinstance(value, np.ndarray):
            raise InputError(path, name, "not a numpy array")
    meta_json = arrays.pop("meta_json")
    if meta_json.shape != () or meta_json.dtype.kind != "U":
        raise InputError(path, "meta_json", "expected one JSON text")
    doc = loads_json_strict(str(meta_json), f"{display_path(path)}: meta_json")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(path, "meta_json.format", f"expected {FORMAT!r}")
    rec = Recording(arrays=arrays, doc=doc, source=path)
    from .recording_checks import check_recording  # (it reads this module's layout)

    check_recording(rec, path)
    return rec


# ---------------------------------------------------------------------------------- KPIs
def kpis_from_recording(rec: Recording, frame: int | None = None) -> dict[str, Any]:
    """The KPIs of :func:`warehouse.kpis.compute_kpis` at ``frame`` (default: the last),
    recomputed from the log with the same functions."""
    from .kpis import compute_kpis

    k = rec.steps if frame is None else frame
    return compute_kpis(rec.frame_sim(k))


#: What :mod:`warehouse.recorder` defines and this module still names (looked up on first use:
#: the recorder imports this module's layout and size rule).
_RECORDER_NAMES = frozenset({"EpisodeRecorder", "check_recording_fits"})


def __getattr__(name: str) -> Any:
    """``EpisodeRecorder`` and ``check_recording_fits``, from :mod:`warehouse.recorder`."""
    if name in _RECORDER_NAMES:
        from . import recorder

        return getattr(recorder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMAT",
    "EpisodeRecorder",
    "Recording",
    "kpis_from_recording",
    "load_recording",
]
