"""Plain-numpy state of the fleet and of the order book. No behaviour beyond bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from .kernels import arrivals_kernel, draw_arrivals_kernel, write_orders_kernel


class Phase(IntEnum):
    """What a robot is doing. ``broken`` is a separate timer on top of the phase."""

    IDLE = 0  #: no task
    TO_PICK = 1  #: driving to the order's pick location
    PICKING = 2  #: at the shelf, ``pick_time`` steps
    TO_DROP = 3  #: carrying the order to its station
    DROPPING = 4  #: at the station, ``drop_time`` steps
    TO_GOAL = 5  #: goal_visit mode: driving to the current goal


N_PHASES = len(Phase)


class Charge(IntEnum):
    """A robot's battery state (``FleetState.charge``), beside its :class:`Phase`: a robot
    queued for, driving to or at a charger is ``IDLE`` (no task) and not available to
    dispatchers (:meth:`~warehouse.core.Simulation.idle_robots`). A separate array, so the
    phase codes, observations and features keep their shapes."""

    NONE = 0  #: no battery business (or no battery model)
    QUEUED = 1  #: needs a charger, none free: waits where it is
    TO_CHARGER = 2  #: driving to its charger (its waypoint)
    CHARGING = 3  #: on its charger, charging; it cannot move
    DEPLETED = 4  #: charge reached 0: stopped where it stands until rescued


#: Phases in which the robot stands still doing work (its actions are ignored).
BUSY_PHASES = (Phase.PICKING, Phase.DROPPING)
_TO_DROP, _DROPPING = int(Phase.TO_DROP), int(Phase.DROPPING)  # plain ints for the hot path


@dataclass
class FleetState:
    """Per-robot arrays (length ``N``); node ids index the compiled floor."""

    pos: np.ndarray  #: int32 current node
    phase: np.ndarray  #: int8 :class:`Phase`
    order: np.ndarray  #: int32 order being served, -1 for none
    task_goal: np.ndarray  #: int32 node the task needs next (pick, station or goal), -1 for none
    waypoint: np.ndarray  #: int32 dispatcher sub-goal visited before task_goal, -1 for none
    #: int32 the cell a scheduled closure's evacuation last sent the robot to
    #: (:func:`~.closures.closure_duties`), -1 for none: its waypoint is an evacuation one
    #: while the two are equal (any other sub-goal resets it: :meth:`set_waypoint`)
    evacuation: np.ndarray
    #: int32 the (closed) cell the robot stood on when that evacuation sent it out, -1 for none
    evacuated_from: np.ndarray
    timer: np.ndarray  #: int32 steps left picking / dropping
    broken: np.ndarray  #: int32 steps left broken down (0 = working)
    since_goal: np.ndarray  #: int32 steps since the robot last reached a sub-goal or goal
    since_progress: np.ndarray  #: int32 steps driving to a target and no progress (stuck robots)
    best_dist: np.ndarray  #: int32 closest distance to the current target since it was set
    # Cumulative counters (KPIs are pure functions of these).
    distance_m: np.ndarray  #: float64 metres travelled
    moves: np.ndarray  #: int64 steps in which the robot moved
    deliveries: np.ndarray  #: int64 orders delivered / goals reached
    collisions: np.ndarray  #: int64 steps in which the robot's move failed by collision
    interventions: np.ndarray  #: int64 steps in which the shield changed the robot's action
    busy_steps: np.ndarray  #: int64 steps spent with a task (the step that ends one counts)
    waits: np.ndarray  #: int64 steps spent not moving while having a target
    breakdowns: np.ndarray  #: int64 times the robot broke down
    broken_steps: np.ndarray  #: int64 steps begun broken down
    stuck_steps: np.ndarray  #: int64 steps that ended stuck (``physics.stuck_after``)
    # One-shot MAPF (``tasks.assignment: one_shot``; all False / -1 otherwise).
    arrived: np.ndarray  #: bool reached its goal at least once (its first arrival counted)
    #: int64 the clock since which the robot has stood on its goal without a break, -1 while
    #: it is off it (the one-shot KPIs: ``makespan``, ``sum_of_costs``)
    goal_since: np.ndarray
    # Fleet totals (not per robot) for the time-share KPIs, by the phase each step began in.
    phase_steps: np.ndarray  #: int64 (N_PHASES,) robot-steps begun in each phase
    blocked_steps: np.ndarray  #: int64 (1,) robot-steps begun driving that ended without a move
    # Battery (``battery``, :mod:`.battery`; all zero while the model is off).
    soc_wh: np.ndarray  #: float64 charge left, watt-hours
    charge: np.ndarray  #: int8 :class:`Charge`: queued for, driving to, at a charger; depleted
    soc_min_wh: np.ndarray  #: float64 lowest charge so far
    charge_steps: np.ndarray  #: int64 steps begun queued for, driving to or at a charger
    depletions: np.ndarray  #: int64 times the charge reached 0
    charged_wh: np.ndarray  #: float64 energy taken from chargers

    @classmethod
    def empty(cls, n: int) -> FleetState:
        i32 = lambda v=0: np.full(n, v, dtype=np.int32)  # noqa: E731
        i64 = lambda: np.zeros(n, dtype=np.int64)  # noqa: E731
        return cls(
            pos=i32(),
            phase=np.zeros(n, np.int8),
            order=i32(-1),
            task_goal=i32(-1),
            waypoint=i32(-1),
            evacuation=i32(-1),
            evacuated_from=i32(-1),
            timer=i32(),
            broken=i32(),
            since_goal=i32(),
            since_progress=i32(),
            best_dist=i32(np.iinfo(np.int32).max),
            distance_m=np.zeros(n),
            moves=i64(),
            deliveries=i64(),
            collisions=i64(),
            interventions=i64(),
            busy_steps=i64(),
            waits=i64(),
            breakdowns=i64(),
            broken_steps=i64(),
            stuck_steps=i64(),
            arrived=np.zeros(n, dtype=bool),
            goal_since=np.full(n, -1, dtype=np.int64),
            phase_steps=np.zeros(N_PHASES, dtype=np.int64),
            blocked_steps=np.zeros(1, dtype=np.int64),
            soc_wh=np.zeros(n),
            charge=np.zeros(n, np.int8),
            soc_min_wh=np.zeros(n),
            charge_steps=i64(),
            depletions=i64(),
            charged_wh=np.zeros(n),
        )

    @property
    def n(self) -> int:
        return int(self.pos.shape[0])

    @property
    def carrying(self) -> np.ndarray:
        return (self.phase == _TO_DROP) | (self.phase == _DROPPING)

    def set_waypoint(
        self, robots: np.ndarray, nodes: np.ndarray | int, evacuated_from: np.ndarray | None = None
    ) -> None:
        """Write the waypoints of ``robots`` (``nodes``, -1 clears) together with their
        evacuation mark: an evacuation waypoint when ``evacuated_from`` (the closed cells the
        robots stand on) is given, else none. Every waypoint written outside the move kernel
        goes through here, so no sub-goal is ever taken for a stale evacuation one."""
        self.waypoint[robots] = nodes
        if evacuated_from is None:
            self.evacuation[robots] = -1
            self.evacuated_from[robots] = -1
        else:
            self.evacuation[robots] = nodes
            self.evacuated_from[robots] = evacuated_from

    @property
    def target(self) -> np.ndarray:
        """Where the robot is driving now: its waypoint if any, else its task goal, else -1
        (:func:`drive_target`)."""
        return drive_target(self.waypoint, self.task_goal)


def holding_goal(
    pos: np.ndarray, task_goal: np.ndarray, waypoint: np.ndarray, phase: np.ndarray
) -> np.ndarray:
    """One-shot MAPF: the robots standing on their goal, holding it (no waypoint, driving to the
    goal they stand on); the rule of the move kernel's blocked count, of
    ``Simulation.holding_goal`` and of a recording's rebuilt counters (any array shape)."""
    return (waypoint < 0) & (pos == task_goal) & (phase == Phase.TO_GOAL)


def drive_target(waypoint: np.ndarray, task_goal: np.ndarray) -> np.ndarray:
    """Where each robot drives: its ``waypoint`` if any, else its ``task_goal``, else -1; the
    rule of :attr:`FleetState.target`, on arrays of any shape (a frame, a recording's log)."""
    return np.where(waypoint >= 0, waypoint, task_goal)


def station_queue_counts(
    stations: np.ndarray, task_goal: np.ndarray, carrying: np.ndarray
) -> np.ndarray:
    """Robots carrying an order to each station (indexed like ``stations``, sorted node ids):
    the count :meth:`~warehouse.core.Simulation.station_queues` and the viewer's frames show
    (a goal that is not one of ``stations`` counts nowhere)."""
    goal = task_goal[carrying]
    idx = np.searchsorted(stations, goal)
    at = idx < stations.size
    at[at] = stations[idx[at]] == goal[at]
    return np.bincount(idx[at], minlength=stations.size)


@dataclass
class OrderBook:
    """Growable arrays of every order ever created; ``open_ids`` are the unassigned ones."""

    pick: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    station: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    arrival: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: step created
    assigned: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: step, -1
    robot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  #: -1 if none
    delivered: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: step, -1
    count: int = 0
    lost: int = 0  #: arrivals dropped because the backlog cap was reached
    open_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    def add(self, pick: np.ndarray, station: np.ndarray, step: int) -> np.ndarray:
        """Orders ``pick[j] → station[j]`` created at ``step``, open; returns their ids.
        ``station`` broadcasts to ``pick`` (one station for all); other shapes are a
        ``ValueError`` (the compiled writer reads ``station[j]`` for every ``j``, unchecked)."""
        pick = np.asarray(pick, np.int32).reshape(-1)
        station = np.asarray(station, np.int32)
        if station.shape != pick.shape:
            station = np.ascontiguousarray(np.broadcast_to(station, pick.shape))
        k = int(pick.size)
        self.reserve(k)
        lo = self.count
        self.open_ids = write_orders_kernel(
            pick, station, int(step), lo, self.pick, self.station, self.arrival, self.assigned,
            self.robot, self.delivered, self.open_ids,
        )  # fmt: skip
        self.count = lo + k
        return np.arange(lo, lo + k, dtype=np.int32)

    def add_arrivals(
        self,
        cdf: np.ndarray,
        u: np.ndarray,
        picks: np.ndarray,
        stations: np.ndarray,
        station_idx: np.ndarray,
        keep: int,
        step: int,
    ) -> None:
        """A step's first ``keep`` arrivals, drawn from ``u`` and ``station_idx`` by the rule of
        :func:`~warehouse.core.kernels.arrival_draws_kernel` and added as :meth:`add` adds
        orders, in one compiled call (the simulation's hot path)."""
        self.reserve(keep)
        self.open_ids = arrivals_kernel(
            cdf, u, picks, stations, station_idx, keep, step, self.count, self.pick,
            self.station, self.arrival, self.assigned, self.robot, self.delivered, self.open_ids,
        )  # fmt: skip
        self.count += keep

    def draw_arrivals(
        self,
        bitgen: int,
        k: int,
        cdf: np.ndarray,
        picks: np.ndarray,
        stations: np.ndarray,
        keep: int,
        step: int,
    ) -> None:
        """A step's ``k`` arrivals drawn from the order stream whose ``bitgen_t`` lies at
        ``bitgen`` (:func:`~warehouse.core.kernels.bitgen_address`) as ``u = rng.random(k)``,
        ``station_idx = rng.integers(stations.size, size=k)`` would draw them, the first
        ``keep`` added as :meth:`add_arrivals` adds them, in one compiled call."""
        self.reserve(keep)
        self.open_ids = draw_arrivals_kernel(
            bitgen, k, cdf, picks, stations, keep, step, self.count, self.pick, self.station,
            self.arrival, self.assigned, self.robot, self.delivered, self.open_ids,
        )  # fmt: skip
        self.count += keep

    def reserve(self, k: int) -> None:
        """Make room for ``k`` more orders in the arrays (they grow by doubling)."""
        if self.count + k > self.pick.size:
            self._grow(max(2 * self.pick.size, self.count + k, 256))

    def _grow(self, size: int) -> None:
        for name in ("pick", "station", "arrival", "assigned", "robot", "delivered"):
            old = getattr(self, name)
            new = np.full(size, -1, dtype=old.dtype)
            new[: old.size] = old
            setattr(self, name, new)

    def delivered_ids(self) -> np.ndarray:
        return np.flatnonzero(self.delivered[: self.count] >= 0)
