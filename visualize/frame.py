"""What the renderer draws: a read-only snapshot of one simulation frame.

A :class:`Frame` is built either from a live :class:`~warehouse.core.Simulation` (with the last
:class:`~warehouse.fleet.FleetStep` or :class:`~warehouse.core.StepResult`) or from frame ``k``
of a :class:`~warehouse.recording.Recording`, so the viewer, ``env.render()`` and the replay
draw with the same code. Building a frame only reads the simulation (arrays are copied); it
never touches its RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warehouse.core import state
from warehouse.core.state import Phase, station_queue_counts
from warehouse.floor import UNREACHABLE, CompiledFloor


@dataclass(frozen=True)
class StepInfo:
    """The decision that led to the frame (per-robot arrays; ``None`` when unknown)."""

    actions: np.ndarray  #: executed actions (after the shield)
    proposed: np.ndarray | None = None  #: navigator actions before the shield
    preferences: np.ndarray | None = None  #: (N, A) navigator scores
    mask: np.ndarray | None = None  #: (N, A) action mask at decision time
    intervened: np.ndarray | None = None
    collided: np.ndarray | None = None

    @classmethod
    def from_fleet_step(cls, step: Any) -> StepInfo:
        """From a :class:`~warehouse.fleet.FleetStep` or a bare ``StepResult``."""
        result = getattr(step, "result", step)
        return cls(
            actions=np.asarray(result.actions),
            proposed=getattr(step, "proposed", None),
            preferences=getattr(step, "preferences", None),
            mask=getattr(step, "mask", None),
            intervened=np.asarray(result.intervened),
            collided=np.asarray(result.collided),
        )


@dataclass(eq=False)
class Frame:
    """One frame: the fleet state plus what the HUD and inspector show."""

    floor: CompiledFloor
    sim: Any  #: the simulation, or a recording's stand-in (read only)
    t: int
    seconds: float
    pos: np.ndarray
    phase: np.ndarray
    broken: np.ndarray
    order: np.ndarray
    task_goal: np.ndarray
    waypoint: np.ndarray
    timer: np.ndarray
    since_progress: np.ndarray  #: steps with a task and no progress (stuck, jammed robots)
    open_picks: np.ndarray  #: pick node of every open order
    closed: np.ndarray  #: closed node ids (faults)
    kpis: dict[str, Any]
    step: StepInfo | None = None
    label: str = ""  #: e.g. the scenario and policy, shown in the HUD
    #: the battery model (``battery``): charger nodes, charge (Wh) and
    #: :class:`~warehouse.core.state.Charge` per robot, capacity; empty / None while it is off
    chargers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    soc_wh: np.ndarray | None = None
    charge: np.ndarray | None = None
    capacity_wh: float | None = None
    #: ``(m, 2)`` int64 moves ``(from, to)`` closed edges take away now
    #: (``faults.closures[].edges``); empty while none is closed
    closed_edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    #: open node ids the scheduled closures cut off from the rest of the floor now (orders there
    #: held, robots there shut in: ``Simulation.shut_in``); empty while none is
    cut_off: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: the observation layout (``ObservationConfig``) the robots' navigator reads: a learned
    #: one brings its own (``Fleet.observer``); None: the scenario's ``observation`` section
    observation: Any = None

    @property
    def observation_config(self) -> Any:
        """The observation layout the inspector shows (:attr:`observation`, else the
        scenario's)."""
        return self.sim.config.observation if self.observation is None else self.observation

    @property
    def battery(self) -> bool:
        """Whether the battery model is on (the frame has a charge per robot)."""
        return self.soc_wh is not None and self.charge is not None and bool(self.capacity_wh)

    @property
    def soc(self) -> np.ndarray:
        """State of charge per robot, a fraction of capacity (battery on only)."""
        assert self.soc_wh is not None and self.capacity_wh
        return self.soc_wh / self.capacity_wh

    @property
    def n_robots(self) -> int:
        return int(self.pos.shape[0])

    @property
    def carrying(self) -> np.ndarray:
        return (self.phase == Phase.TO_DROP) | (self.phase == Phase.DROPPING)

    def stalled(self) -> tuple[np.ndarray, np.ndarray]:
        """``(stuck, jammed)`` bool per robot: no progress for ``physics.stuck_after`` steps, and
        for ``physics.jam_after`` (the rule of the ``stuck_robots`` and ``jammed_robots`` KPIs,
        :func:`warehouse.kpis.stalled`)."""
        from warehouse import kpis

        return kpis.stalled(self.since_progress, self.sim.config.physics)

    @property
    def shown_phase(self) -> np.ndarray:
        """The phase a robot is drawn in: its own, but a robot holding its one-shot goal
        (:func:`warehouse.core.state.holding_goal`; one-shot runs only) shows as idle, its task
        done, so the robots still driving stand out."""
        if self.kpis.get("solved") is None:  # (not a one-shot run)
            return self.phase
        held = state.holding_goal(self.pos, self.task_goal, self.waypoint, self.phase)
        return np.where(held, Phase.IDLE, self.phase).astype(self.phase.dtype)

    @property
    def target(self) -> np.ndarray:
        """Where each robot drives (the core's rule, :func:`warehouse.core.state.drive_target`)."""
        return state.drive_target(self.waypoint, self.task_goal)

    @property
    def dist(self) -> Any:
        return self.sim.dist

    def station_queues(self) -> np.ndarray:
        """Robots carrying an order to each station (indexed like ``floor.stations``; the core's
        count, :func:`~warehouse.core.state.station_queue_counts`, of this frame's state)."""
        return station_queue_counts(self.floor.stations, self.task_goal, self.carrying)


def closed_moves(floor: CompiledFloor, mask: np.ndarray) -> np.ndarray:
    """``(m, 2)`` int64 moves ``(from, to)`` of ``floor`` that ``mask`` (a move mask such as
    ``DistanceCache.mask``) takes away; empty when it is the floor's own."""
    if mask is floor.mask or mask.shape != floor.mask.shape:
        return np.zeros((0, 2), dtype=np.int64)
    gone = floor.mask & ~mask
    gone[:, 0] = False  # (WAIT)
    rows, slots = np.nonzero(gone)
    return np.stack([rows, floor.nbr[rows, slots]], axis=1).astype(np.int64)


def frame_from_sim(
    sim: Any, last: Any = None, *, label: str = "", observation: Any = None
) -> Frame:
    """Snapshot of a live simulation; ``last`` is the last FleetStep / StepResult (or None);
    ``observation``: the layout the navigator reads (:attr:`Frame.observation`)."""
    from warehouse.kpis import compute_kpis

    s = sim.state
    ob = sim.orders
    battery: Any = getattr(sim, "battery", None)
    on = battery is not None
    return Frame(
        floor=sim.floor,
        sim=sim,
        t=int(sim.t),
        seconds=float(sim.seconds),
        pos=s.pos.copy(),
        phase=s.phase.copy(),
        broken=s.broken.copy(),
        order=s.order.copy(),
        task_goal=s.task_goal.copy(),
        waypoint=s.waypoint.copy(),
        timer=s.timer.copy(),
        since_progress=s.since_progress.copy(),
        open_picks=ob.pick[ob.open_ids].copy(),
        closed=np.asarray(sim.closed_nodes()),
        kpis=compute_kpis(sim),
        step=None if last is None else StepInfo.from_fleet_step(last),
        label=label,
        chargers=battery.chargers.copy() if on else np.zeros(0, dtype=np.int64),
        soc_wh=s.soc_wh.copy() if on else None,
        charge=s.charge.copy() if on else None,
        capacity_wh=float(battery.capacity) if on else None,
        closed_edges=closed_moves(sim.floor, sim.dist.mask),
        cut_off=cut_off_nodes(sim),
        observation=observation,
    )


def cut_off_nodes(sim: Any) -> np.ndarray:
    """Node ids the scheduled closures cut off now (``Simulation.shut_in``), int64."""
    shut = getattr(sim, "shut_in", None)
    return np.zeros(0, dtype=np.int64) if shut is None else np.flatnonzero(shut)


def recorded_chargers(rec: Any) -> np.ndarray | None:
    """The charger nodes of a recording made with the battery model on (None: off)."""
    if "battery_soc" not in rec.arrays:
        return None
    from warehouse.core.battery import resolve_chargers

    return resolve_chargers(rec.floor, rec.config)


def frame_from_recording(
    rec: Any, k: int, *, label: str = "", chargers: np.ndarray | None = None
) -> Frame:
    """Frame ``k`` of a :class:`~warehouse.recording.Recording` (``chargers``: those of
    :func:`recorded_chargers`, when the caller keeps them; found here otherwise)."""
    from warehouse.kpis import compute_kpis

    sim = rec.frame_sim(k)
    s, ob = sim.state, sim.orders
    step = None
    if k > 0:
        a = rec.arrays
        step = StepInfo(
            actions=a["actions"][k - 1].astype(np.int64),
            proposed=a["proposed"][k - 1].astype(np.int64),
            preferences=a["preferences"][k - 1] if rec.has_preferences else None,
            mask=None,
            intervened=a["intervened"][k - 1],
            collided=a["collided"][k - 1],
        )
    frame = Frame(
        floor=sim.floor,
        sim=sim,
        t=int(k),
        seconds=float(sim.seconds),
        pos=s.pos,
        phase=s.phase,
        broken=s.broken,
        order=s.order,
        task_goal=s.task_goal,
        waypoint=s.waypoint,
        timer=s.timer,
        since_progress=s.since_progress,
        open_picks=ob.pick[ob.open_ids],
        closed=rec.closed_at(k),
        kpis=compute_kpis(sim),
        step=step,
        label=label,
        closed_edges=rec.closed_moves_at(k),
        cut_off=rec.cut_off_at(k),
    )
    if "battery_soc" in rec.arrays:  # frame_sim's state holds the logged charge
        found = recorded_chargers(rec) if chargers is None else chargers
        frame.chargers = np.zeros(0, dtype=np.int64) if found is None else found
        frame.soc_wh, frame.charge = s.soc_wh, s.charge
        frame.capacity_wh = float(rec.config.battery.capacity_wh)
    return frame


# ---------------------------------------------------------------------------------- paths
def plan_paths(
    floor: CompiledFloor,
    dist: Any,
    pos: np.ndarray,
    target: np.ndarray,
    length: int,
    *,
    sim: Any = None,
) -> np.ndarray:
    """Planned routes ``(len(pos), length + 1)`` of node ids, following strictly decreasing
    distance-to-target on the floor (the rule-based plan); a route that has arrived (or has no
    target / no path) repeats its last node. ``target`` < 0 means no target.

    Each move is one the move rule allows: ``sim``'s (:meth:`Simulation.move_mask`, the live
    simulation or a recording's frame; closed edges and closed cells), so a route goes around a
    closure as the robot does; without ``sim``, the floor's moves less closed edges
    (``dist.mask``)."""
    pos = np.asarray(pos, dtype=np.int32)
    target = np.asarray(target, dtype=np.int32)
    out = np.empty((pos.size, length + 1), dtype=np.int32)
    out[:, 0] = pos
    has = target >= 0
    if not has.any():
        out[:] = pos[:, None]
        return out
    slots = np.zeros(pos.size, dtype=np.int64)
    slots[has] = dist.slots(target[has])
    table = dist.table
    cur = pos.copy()
    nbr, mask = floor.nbr, dist.mask
    rows = np.arange(cur.size)
    for i in range(1, length + 1):
        cand = nbr[cur]  # (k, A)
        d = table[slots[:, None], cand].astype(np.int64)
        allowed = mask[cur] if sim is None else sim.move_mask(cur)
        d = np.where(allowed, d, UNREACHABLE + 1)
        best = d.argmin(axis=1)
        here = table[slots, cur].astype(np.int64)
        go = has & (d[rows, best] < here)
        cur = np.where(go, cand[rows, best], cur).astype(np.int32)
        out[:, i] = cur
    return out


def path_cells(floor: CompiledFloor, route: np.ndarray) -> np.ndarray:
    """Cells of a single route with repeated trailing nodes removed: ``(k, 2)``."""
    route = np.asarray(route)
    keep = np.ones(route.size, dtype=bool)
    keep[1:] = route[1:] != route[:-1]
    return floor.pos[route[keep]]


# ---------------------------------------------------------------------------------- heat
class Congestion:
    """Congestion heat per node: exponentially decayed count of robots that waited there
    (had a target and did not move). Fed one frame at a time; a jump resets it (a replay
    rebuilds it from the log: :meth:`rebuild`)."""

    #: memory for the heat arrays :meth:`rebuild` keeps (every ``_every``-th frame of a log;
    #: 8 to 200 of them)
    MARK_BYTES = 32 * 2**20

    def __init__(self, n_nodes: int, *, decay: float = 0.95) -> None:
        self.decay = decay
        self.heat = np.zeros(n_nodes, dtype=np.float64)
        self._t: int | None = None
        self._pos: np.ndarray | None = None
        self._log: np.ndarray | None = None  #: the positions :attr:`_marks` belong to
        self._marks: list[np.ndarray] = []  #: heat at frames 0, _every, 2·_every, ...
        self._every = 1

    def update(self, frame: Frame) -> np.ndarray:
        if self._t is not None and frame.t == self._t:
            return self.heat
        if self._t is None or frame.t != self._t + 1 or self._pos is None:
            self.heat[:] = 0.0
        else:
            waiting = (frame.pos == self._pos) & (frame.target >= 0)
            self.heat *= self.decay
            self.heat += np.bincount(frame.pos[waiting], minlength=self.heat.size)
        self._t, self._pos = frame.t, frame.pos.copy()
        return self.heat

    def rebuild(self, positions: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
        """Heat at frame ``k`` from logged ``positions``/``targets`` (T+1, N) (replay seeks):
        bit for bit what :meth:`update` gives fed frames 0..k in order (the live run's), so a
        frame looks the same however the timeline reached it. The heat of every ``_every``-th
        frame is kept (:data:`MARK_BYTES`), so a seek replays fewer steps than that from the
        nearest one at or before ``k`` once the log was played up to there."""
        if self._log is not positions:
            self._log, self._marks = positions, [np.zeros_like(self.heat)]
            marks = int(np.clip(self.MARK_BYTES // max(self.heat.nbytes, 1), 8, 200))
            self._every = max(1, -(-(positions.shape[0] - 1) // marks))
        every = self._every
        start = min(k // every, len(self._marks) - 1) * every
        self.heat[:] = self._marks[start // every]
        for j in range(start + 1, k + 1):  # the same operations in the same order as update()
            waiting = (positions[j] == positions[j - 1]) & (targets[j] >= 0)
            self.heat *= self.decay
            self.heat += np.bincount(positions[j][waiting], minlength=self.heat.size)
            if j % every == 0 and j // every == len(self._marks):
                self._marks.append(self.heat.copy())
        self._t, self._pos = k, positions[k].copy()
        return self.heat
