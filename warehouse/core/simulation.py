"""The fleet simulation core: one numpy state, one RNG, one ``step``.

This is the only implementation of the movement and task rules. The PettingZoo env, the Mesa
model, data collection, training, evaluation and the visualizer all drive a :class:`Simulation`
through its array API:

>>> sim = Simulation(floor, SimConfig())
>>> sim.reset(seed=0)
>>> result = sim.step(actions)          # int array, one action per robot

Randomness: :meth:`reset` builds one ``numpy.random.Generator`` from the seed and spawns
independent child streams for order arrivals, goals, faults and start placement, so switching
faults on does not change which orders arrive. Nothing else in the process draws from them.
A reset without a seed continues the stream of the previous reset (it draws the new episode's
seed from it; the first one draws it from the OS), so ``reset(seed=s)`` followed by any number
of seedless resets repeats exactly; :attr:`Simulation.seed` is the seed each episode ran with.

Task rules, applied to every robot after the moves of a step:

* a robot on its dispatcher waypoint clears it (``reached_waypoint``); an idle robot may have one
  too (a parking spot), and an order given to it drops it (:meth:`assign`);
* a robot with no waypoint on its task goal starts work: ``TO_PICK`` → ``PICKING`` for
  ``pick_time`` steps, ``TO_DROP`` → ``DROPPING`` for ``drop_time`` steps; the work timer counts
  down once per step while the robot is not broken down, and a robot at work cannot move;
* picking done → ``TO_DROP`` toward the order's station; dropping done → the order is delivered
  (``orders.delivered`` = the step count after this step), the robot is ``IDLE`` again; zero
  work times fall through within the same step;
* goal_visit: reaching the goal counts as a delivery and a new goal is drawn at once (never the
  robot's own cell when another exists); with a fixed goal sequence (``tasks.goals``) the robot
  takes its next goal by ``tasks.assignment`` instead, or goes idle when none is left
  (:mod:`.fixed_tasks`; no draw). Fixed start cells (``fleet.start_cells``) draw nothing either.
  Under ``tasks.assignment: one_shot`` (one-shot MAPF) robot i's one goal is ``tasks.goals[i]``
  (without them a random instance: at reset each robot draws a different goal cell from the goal
  stream, the starts placed by ``fleet.start`` as in any run): it keeps it as its target after
  arriving (pushed off, it drives back), only its first arrival counts, and
  ``state.goal_since`` records since when each robot has stood on its goal (the KPIs
  ``makespan``, ``sum_of_costs``); a robot standing on its goal is neither blocked, nor stuck,
  nor busy (``utilization``, ``waits``), nor gains PIBT priority (``since_goal`` stays 0).

Then the clock advances, faults are drawn (breakdowns stop a robot for ``breakdown_steps``;
closed aisle and parking cells are masked for ``closure_steps``), the scheduled closures that
begin at the new clock close their cells (``faults.closures``, :mod:`.closures`; no draw) and new
orders arrive.

Closures, random and scheduled, write one array, ``closed_until`` (a node is closed while it
exceeds the clock), and the move rule reads that: no robot moves into a closed cell, except a robot
inside an active scheduled closure stepping onto a closed cell nearer its edge
(:attr:`~warehouse.floor.DistanceCache.leave`). A robot standing on a cell when it closes is not
moved by the closure: it may stay, work (pick, drop) and leave. Random closures draw among the
floor's own aisle and parking nodes, never a transit node of a long edge (``physics.speed_m_s``):
the same draws close the same waypoints as on the unsplit floor, and a robot on a long edge into a
closed waypoint waits at the chain's end. Orders keep their pick cell and station when these close,
and new orders for them still arrive (random closures never close pick cells or stations; scheduled
ones may). An open order whose pick or station is closed is *held*:
:meth:`Simulation.dispatchable_orders` leaves it out, so dispatchers choose among the others and
serve it once its cells reopen; it still counts as open (:meth:`Simulation.open_orders`, the KPIs).
With ``faults.redirect_loaded`` a closed station holds none while another station is open
(:meth:`Simulation.station_held_until`): its robot takes it to the open station nearest it.
While a scheduled closure lasts, after each step's faults (and at reset)
:func:`~.closures.closure_duties` clears it as an operator would: a robot driving to the pick of an
order whose pick or station it closes hands the order back (:meth:`Simulation.release_orders`; the
order is held), and robots inside with nothing to do there (idle, or bound for a closed station,
goal or spot) get the nearest open cell outside as a waypoint; a loaded robot keeps its order and
waits outside. Random closures do neither. With the battery model on, the chargers are handed out
again after the duties of a step at which a scheduled closure begins or ends
(:meth:`~.battery.Battery.give_chargers`), so a robot whose charger closed gets an open one, and
a reopened charger is given, in that step; and a robot that the step's faults or duties made
idle and available (repaired, its order handed back) with a charge below ``recharge_below``
queues then (:meth:`~.battery.Battery.queue_needy`), so no dispatcher gives it an order.

Routing around scheduled closures: while a scheduled closure is active, the distances the fleet
reads (:attr:`Simulation.dist`: navigators, shields, dispatchers, observations, progress) treat
its cells as closed (:meth:`~warehouse.floor.DistanceCache.set_closed`: they can be left, not
entered), so robots take detours. Closed edges (``faults.closures[].edges``) are taken out
of the move mask the move rule reads (``dist.mask``) and out of the distances alike; the pick
locations and stations that closed edges, closed cells or both together cut off from the rest
of the floor are held (:attr:`Simulation.cut_until`), robots shut in there get no orders
(:attr:`Simulation.shut_in`), and chargers there are treated as closed ones (``battery.cut``).
The closed set changes only at the schedule's event times (a closure begins or ends), known at
reset: the cached rows are recomputed then and only then, and the robots whose distance to
their target changed start tracking progress afresh. Random closures (``faults.closure_prob``)
are unannounced obstacles the robots discover on the spot: they do not change distances, and a
run without a schedule never recomputes a row.

The inner loops are numba kernels (:mod:`warehouse.core.kernels`). The core imports neither
gymnasium, torch nor pygame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import SimConfig
from ..errors import InputError, PartError
from ..floor import UNREACHABLE, CompiledFloor, DistanceCache, NodeKind
from ..shield import Shield, make_shield
from .battery import Battery
from .closure_entries import resolve_closures
from .closures import (
    closure_duties,
    closure_events,
    cut_off,
    cut_off_events,
    drop_waypoints,
    route_sets,
)
from .fixed_tasks import GoalQueue, fixed_cells
from .kernels import (
    action_mask_kernel,
    any_at_least,
    assign_kernel,
    bitgen_address,
    check_assign_kernel,
    finish_step_kernel,
    fits_int32,
    idle_kernel,
    move_targets_kernel,
    progress_kernel,
    reset_progress_kernel,
    resolve_and_advance_kernel,
    shield_changes_kernel,
    step_moves_kernel,
    target_slots_kernel,
)
from .physics import PhysicsScratch
from .ranks import rank_within_groups
from .state import Charge, FleetState, OrderBook, Phase, holding_goal, station_queue_counts

_SEED_BOUND = 2**31  #: seeds drawn for seedless resets are below this (any part's seed range)
# Plain ints: enum attribute lookups are slow on the hot path.
_IDLE, _TO_PICK, _TO_GOAL = int(Phase.IDLE), int(Phase.TO_PICK), int(Phase.TO_GOAL)


def check_seed(seed: Any) -> int:
    """``seed`` as an ``int``; TypeError/ValueError unless it is a non-negative whole number."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_preferences(preferences: Any, n: int, n_actions: int) -> np.ndarray:
    """``preferences`` as an array; ValueError unless it holds ``(n, n_actions)`` numbers.
    ``-inf`` and NaN are scores too: no score, ranked last (the PIBT shields)."""
    prefs = np.asarray(preferences)
    if prefs.shape != (n, n_actions) or prefs.dtype.kind not in "biuf":
        raise ValueError(
            f"step: preferences must be ({n}, {n_actions}) numbers, one score per robot and "
            f"action, got an array of shape {prefs.shape} and dtype {prefs.dtype}"
        )
    return prefs


class AssignError(ValueError):
    """An assignment the simulation refuses (:meth:`Simulation.assign`, ``exchange_orders``,
    ``release_orders``): a fleet names the dispatcher that asked for it
    (:func:`warehouse.fleet.run_dispatcher`)."""


def _ids(method: str, kind: str, ids: Any) -> np.ndarray:
    """``ids`` as int32, or an :class:`AssignError`: robot and order ids must be integers
    (``1.9`` is not the robot 1) within int32 (``2**32`` is not the robot 0)."""
    arr = np.asarray(ids)
    if arr.ndim != 1:  # (the compiled checks take lists only)
        raise AssignError(f"{method}: {kind} ids must be a list (1-D), got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise AssignError(f"{method}: {kind} ids must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.int32:  # (the common case: ids from idle_robots, open_orders)
        return arr
    if arr.size and arr.dtype.itemsize >= 4 and not fits_int32(arr):
        raise AssignError(f"{method}: {kind} ids out of range")
    return arr.astype(np.int32, copy=False)


def _shield_name(shield: Shield) -> str:
    """``shield 'name'`` for error messages (a bare function has no ``name``: its repr)."""
    return f"shield {getattr(shield, 'name', shield)!r}"


def _shield_actions(shield: Shield, answer: Any, n: int) -> np.ndarray:
    """A shield's answer as ``(n,)`` int64 actions, or the one-line :class:`PartError` naming
    it: ``None``, a wrong shape or anything but integers (``2.7`` is not the action 2, nor
    ``True`` the action 1) is refused, as the navigator's actions are."""
    if answer is None:
        raise PartError(
            _shield_name(shield), f"returned None, expected an integer array of shape ({n},)"
        )
    shielded = np.asarray(answer)
    if shielded.shape != (n,):  # (the kernel below reads one action per robot)
        raise PartError(
            _shield_name(shield), f"returned actions of shape {shielded.shape}, expected ({n},)"
        )
    if n and shielded.dtype.kind not in "iu":
        raise PartError(
            _shield_name(shield),
            f"returned actions of dtype {shielded.dtype}, expected integers (action indices)",
        )
    return shielded if shielded.dtype == np.int64 else shielded.astype(np.int64)


@dataclass(frozen=True)
class StepResult:
    """What happened in one step (per-robot arrays of length N)."""

    actions: np.ndarray  #: int64 actions executed this step (after masking and the shield)
    reward: np.ndarray  #: float32
    cost: np.ndarray  #: float32 safety cost (1 where the robot's own move failed: ``collided``)
    moved_m: np.ndarray  #: float32 metres travelled this step
    delivered: np.ndarray  #: bool, delivered an order / reached a goal this step
    collided: np.ndarray  #: bool, its move failed by conflict
    intervened: np.ndarray  #: bool, the shield changed its action
    incidents: int  #: collision incidents this step
    reached_waypoint: np.ndarray  #: bool, reached its dispatcher sub-goal this step
    became_idle: np.ndarray  #: bool, finished its task this step
    new_orders: int  #: orders that arrived this step
    #: bool, the action asked for was masked or out of range and became WAIT (before the shield)
    refused: np.ndarray | None = None


class Simulation:
    """Vectorized warehouse fleet (see module docstring)."""

    def __init__(self, floor: CompiledFloor, config: SimConfig | None = None) -> None:
        self.floor = floor
        self.config = config or SimConfig()
        self.n_robots = int(self.config.fleet.robots)
        # every robot's target needs a row at once (target_slots), beyond 512 MiB if it must
        self.dist = DistanceCache(floor, min_rows=self.n_robots + 64)
        self.cell_size = float(self.config.physics.cell_size or floor.cell_size)
        self._length_m = floor.length * (self.cell_size / floor.cell_size)
        self.shield: Shield | None = make_shield(self.config.physics.collisions)
        self._check_floor()
        self.state = FleetState.empty(self.n_robots)
        self.orders = OrderBook()
        self.closed_until = np.zeros(floor.n_nodes, dtype=np.int64)
        #: scheduled closures by the clock they begin at (:meth:`reset` resolves them)
        self._schedule: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._schedule_key: tuple | None = None
        #: the scheduled-closed nodes and the moves closed edges take away, from each clock at
        #: which they change (distances and the move rule: ``dist.set_closed``)
        self._routes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: pick locations and stations the closures cut off, by the clock it begins at
        self._cut_events: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: per node, the clock until which closed edges and cells cut it off from the rest of
        #: the floor (its orders are held, as a closed one's); None when no closure cuts any off
        self.cut_until: np.ndarray | None = None
        #: per node, whether closed edges and cells cut this open node off from the rest of the
        #: floor now (robots there are shut in: no new orders); None while none is cut off
        self.shut_in: np.ndarray | None = None
        self._rerouted: np.ndarray | None = None  # robots whose distance changed this step
        # robots given a new target after this step's moves (marked by _reset_progress while
        # _after_moves): their progress count starts with the next step, not this one
        self._after_moves = False
        self._restarted: np.ndarray | None = None
        self.t = 0
        self.incidents = 0  #: collision incidents so far
        self._dist_now = np.zeros(self.n_robots, dtype=np.int32)
        self._physics = PhysicsScratch(floor.n_nodes, self.n_robots)
        self._seen = np.zeros(self.n_robots, dtype=bool)  # assign() scratch
        self._targets: tuple[np.ndarray, np.ndarray] | None = None  # target_slots() cache
        self._targets_key = (-1, -1)
        closable = (floor.kind == NodeKind.AISLE) | (floor.kind == NodeKind.PARKING)
        # cells that may close: aisles and parking, the floor's own (a long edge split into
        # transit nodes by physics.speed_m_s closes no more often than it did unsplit)
        self._closable = np.flatnonzero(closable & ~floor.transit)
        #: pick and station nodes that may close in this run (:meth:`dispatchable_orders`)
        self._order_cells = np.zeros(0, dtype=np.int64)
        self.seed: int | None = None
        self._seeded = False
        #: the battery model (``battery``; :mod:`.battery`), None while it is off
        self.battery: Battery | None = None
        self._battery_key: tuple | None = None

    # ------------------------------------------------------------------ setup
    def _check_floor(self) -> None:
        f, n = self.floor, self.n_robots
        starts = int(f.start_ok.sum())
        if n > starts:
            raise ValueError(f"fleet.robots: must be ≤ free start cells ({starts})")
        if self.config.tasks.mode == "pickup_delivery":
            if f.picks.size == 0:
                raise ValueError("layout: the floor has no pick locations")
            if f.stations.size == 0:
                raise ValueError("layout: the floor has no stations")
        elif not f.goal_ok.any():
            raise ValueError("layout: the floor has no goal cells")
        try:  # fixed starts and goals (scenario files are checked when loaded: check_fits)
            self._start_cells, goals = fixed_cells(f, self.config)
        except InputError as exc:
            raise ValueError(exc.one_line()) from None
        tasks = self.config.tasks
        #: one-shot MAPF (``tasks.assignment: one_shot``): robot i's one goal, held after arrival
        #: (``tasks.goals[i]``; without them drawn at each reset, None until the first)
        self.one_shot_goals: np.ndarray | None = None
        if goals is not None and tasks.assignment == "one_shot":
            self.one_shot_goals, goals = goals[:n], None
        #: a random one-shot instance (``one_shot`` without ``tasks.goals``): :meth:`reset`
        #: draws each robot a different goal cell from ``rng_goals``
        self.random_one_shot = tasks.assignment == "one_shot" and self.one_shot_goals is None
        self.random_one_shot &= tasks.mode == "goal_visit"
        if self.random_one_shot and n > int(np.count_nonzero(f.goal_ok)):
            raise ValueError(
                f"fleet.robots: must be ≤ goal cells ({int(np.count_nonzero(f.goal_ok))}) in a "
                "random one-shot instance (each robot a different goal)"
            )
        #: the fixed goal sequence and who holds which goal (``tasks.goals``), or None
        self._goal_queue = (
            None if goals is None else GoalQueue(goals, n, tasks.assignment, tasks.reveal)
        )
        #: one-shot: the sum over robots of the steps from start to goal on the open floor
        #: (the sum of costs' lower bound; None when a goal cannot be reached), set by reset
        self.sum_of_costs_lb: int | None = None

    def rng_states(self) -> dict[str, Any]:
        """The state of every generator of the episode (the root and its five streams): equal
        before and after a call means the call drew nothing from the simulation."""
        names = ("rng", "rng_orders", "rng_goals", "rng_faults", "rng_start", "rng_battery")
        return {name: getattr(self, name).bit_generator.state for name in names}

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode. The only place the simulation's RNG is seeded.

        Without ``seed`` the episode's seed is drawn from the previous episode's RNG (from the
        OS on the first reset), as Gymnasium's ``reset()`` continues its stream; :attr:`seed`
        holds it afterwards, so parts seeded alongside (dispatchers, navigators) get it too.
        A seed is a non-negative whole number (a numpy integer too, kept as an ``int``); anything
        else is refused before the episode changes."""
        if seed is not None:
            seed = check_seed(seed)
        if seed is None:
            # The root generator only spawns the child streams (which reads its SeedSequence,
            # not its bit generator), so this draw is independent of every episode's streams.
            root = getattr(self, "rng", None)
            seeder = root if root is not None else np.random.default_rng()
            seed = int(seeder.integers(_SEED_BOUND))
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.rng_orders, self.rng_goals, self.rng_faults, self.rng_start = self.rng.spawn(4)
        # a fifth child: the four above are the same with or without it (SeedSequence.spawn)
        (self.rng_battery,) = self.rng.spawn(1)
        self.state = FleetState.empty(self.n_robots)
        self.orders = OrderBook()
        self.closed_until[:] = 0
        self.t = 0
        self.incidents = 0
        self._targets = None
        self._resolve_schedule()
        if self.cut_until is not None:
            self.cut_until[:] = 0
        self.shut_in = None
        self.dist.set_closed(np.zeros(0, dtype=np.int64))  # (free unless a closure was on)
        self._scheduled_closures()
        f = self.floor
        tasks = self.config.tasks
        # Pick-location popularity: Zipf weights over a seeded random ranking of shelves.
        picks = f.picks
        if picks.size:
            ranks = self.rng_orders.permutation(picks.size) + 1
            w = 1.0 / ranks.astype(np.float64) ** tasks.popularity_skew
            self._pick_cdf = np.cumsum(w / w.sum())
        self._goal_cells = np.flatnonzero(f.goal_ok).astype(np.int32)
        self.state.pos[:] = self._start_positions()
        if self.random_one_shot:  # each robot a different goal cell, not its own start
            order = self.rng_goals.permutation(self._goal_cells)
            self.one_shot_goals = nested_goals(order, self.state.pos)
        if tasks.mode == "goal_visit":
            robots = np.arange(self.n_robots)
            self._new_goals(robots, first=True)
        if self.one_shot_goals is not None:
            self._reset_one_shot()
        self._reset_battery()
        self._seeded = True
        if self.dist.closed_any:  # a scheduled closure from time 0: robots start inside
            closure_duties(self)
        self._reset_progress(np.arange(self.n_robots))

    def _reset_one_shot(self) -> None:
        """One-shot MAPF at reset: who starts on its goal (on it since clock 0) and the sum of
        costs' lower bound, the steps from each start to its goal on the floor without
        closures (a robot that cannot reach its goal makes it None)."""
        s, goals = self.state, self.one_shot_goals
        assert goals is not None
        s.goal_since[:] = np.where(s.pos == goals, 0, -1)
        self.sum_of_costs_lb = one_shot_lower_bound(
            self.floor, self.dist if not self.dist.closed_any else None, s.pos, goals
        )

    def _reset_battery(self) -> None:
        """The battery model of ``battery`` (None while it is off) and the starting charge."""
        b = self.config.battery
        key = (b, self.config.physics, self.config.tasks.mode)
        if key != self._battery_key:
            self.battery = Battery(self.floor, self.config) if b.enabled else None
            self._battery_key = key
        if self.battery is not None:
            self.battery.reset(self.state, self.rng_battery)
            self.battery.cut = self.shut_in  # (closures from time 0)

    def _resolve_schedule(self) -> None:
        """``faults.closures`` as node ids and steps on this floor, once per setting (a run's
        every reset reuses them). Raises :class:`~warehouse.errors.InputError` for a cell not on
        the floor (scenario files are checked when loaded, :func:`scenarios.check_fits`)."""
        fc, dt = self.config.faults, self.config.physics.step_seconds
        key = (fc.closures, dt)
        if key != self._schedule_key:
            closures = resolve_closures(self.floor, fc, dt)
            self._schedule = closure_events(closures)
            self._routes = route_sets(closures)
            self._cut_events = cut_off_events(self.floor, self._routes)
            n = self.floor.n_nodes
            self.cut_until = np.zeros(n, dtype=np.int64) if self._cut_events else None
            self._schedule_key = key
            self._order_cells = self._closable_order_cells()

    def _closable_order_cells(self) -> np.ndarray:
        """The pick and station nodes that random or scheduled closures may close: in effect
        the schedule's, as random closures close aisle and parking cells only."""
        f = self.floor
        nodes = [self._closable, *(event[0] for event in self._schedule.values())]
        nodes += [event[0] for event in self._cut_events.values()]
        may_close = np.unique(np.concatenate(nodes).astype(np.int64))
        return may_close[np.isin(may_close, f.picks) | np.isin(may_close, f.stations)]

    def _scheduled_closures(self) -> None:
        """Close the cells of the scheduled closures that begin at the current clock, and
        route around the scheduled-closed cells when their set changes."""
        event = self._schedule.get(self.t) if self._schedule else None
        if event is not None:
            np.maximum.at(self.closed_until, event[0], event[1])
        cut = self._cut_events.get(self.t) if self._cut_events else None
        if cut is not None and self.cut_until is not None:
            np.maximum.at(self.cut_until, cut[0], cut[1])
        route = self._routes.get(self.t) if self._routes else None
        if route is not None:
            self._reroute(*route)

    def _reroute(self, closed: np.ndarray, moves: np.ndarray) -> None:
        """Distances around ``closed`` (the scheduled-closed nodes from now on) and without
        ``moves`` (those closed edges take away); robots whose distance to their target changed
        start tracking progress afresh."""
        _, before = self._target_and_distance()
        if not self.dist.set_closed(closed, moves):
            return
        shut = None  # open nodes closed cells and edges cut off from the rest of the floor
        if moves.size or closed.size:
            shut = cut_off(self.floor, self.dist.mask, self.dist.closed)
        self.shut_in = shut if shut is not None and shut.any() else None
        if self.battery is not None:  # a cut-off charger is not handed out
            self.battery.cut = self.shut_in
        _, after = self._target_and_distance()
        changed = np.flatnonzero(before != after)
        self._rerouted = changed
        if changed.size:
            self._reset_progress(changed)

    def _start_positions(self) -> np.ndarray:
        """Start nodes: ``fleet.start_cells`` where given (no draw), else by ``fleet.start``."""
        if self._start_cells is not None:
            return self._start_cells.copy()
        f, n = self.floor, self.n_robots
        cand = np.flatnonzero(f.start_ok).astype(np.int32)
        mode = self.config.fleet.start
        if mode == "random" and self.random_one_shot:  # nested: n robots, the first n of n + 1
            return self.rng_start.permutation(cand)[:n].astype(np.int32)
        if mode == "random":
            return self.rng_start.choice(cand, size=n, replace=False).astype(np.int32)
        if mode == "spread":
            idx = np.linspace(0, cand.size - 1, n).round().astype(np.int64)
            return cand[np.unique(idx)] if np.unique(idx).size == n else cand[:n]
        # "stations": fill the cells closest to any station first.
        stations = f.stations if f.stations.size else cand[:1]
        d = self.dist.lookup(stations[:, None], cand[None, :]).min(axis=0)
        order = np.lexsort((self.rng_start.random(cand.size), d))
        return cand[order[:n]]

    # ------------------------------------------------------------------ dispatcher API
    def idle_robots(self) -> np.ndarray:
        """Ids of robots with no task that are not broken down, nor queued for, driving to or
        at a charger, nor depleted, nor below ``recharge_below`` (``battery``: a robot that starts
        so queues as the first step ends), nor shut in by the closures (:attr:`shut_in`): the
        robots a dispatcher may give orders."""
        s = self.state
        busy = s.broken
        if self.shut_in is not None:
            busy = np.where(self.shut_in[s.pos], 1, busy)
        if self.battery is not None:
            # below recharge_below with no battery business yet (only a robot that starts so:
            # after any step it is queued), it queues as the step ends; no order before
            needy = (s.charge != Charge.NONE) | (s.soc_wh < self.battery.threshold)
            return idle_kernel(s.phase, np.where(needy, 1, busy))
        return idle_kernel(s.phase, busy)

    def open_orders(self) -> np.ndarray:
        """Ids of unassigned orders, oldest first."""
        return self.orders.open_ids

    def dispatchable_orders(self) -> np.ndarray:
        """Ids of the open orders a dispatcher may choose now, oldest first: those whose pick
        location and station are open (the others are held until their cells reopen; see the
        module docstring) and, with ``tasks.station_limit``, whose station has room for another
        order in progress (:meth:`_within_station_limit`). :meth:`open_orders` itself, the same
        array, when nothing is held."""
        ids = self._open_cells_orders()
        limit = self.config.tasks.station_limit
        return ids if limit is None or ids.size == 0 else self._within_station_limit(ids, limit)

    def _open_cells_orders(self) -> np.ndarray:
        """The open orders whose pick location and station are open now, oldest first."""
        ids = self.orders.open_ids
        cells = self._order_cells
        if cells.size == 0 or ids.size == 0:
            return ids  # the fast path: no order can be held in this run
        if not any_at_least(self.closed_until[cells], self.t + 1) and (
            self.cut_until is None or not any_at_least(self.cut_until[cells], self.t + 1)
        ):
            return ids
        held = self.orders_on_hold(ids)
        return ids[~held] if held.any() else ids

    def _within_station_limit(self, ids: np.ndarray, limit: int) -> np.ndarray:
        """Of ``ids`` (open orders, oldest first), the oldest ``limit`` − *in progress* of
        each station, *in progress* its orders given to a robot and not yet delivered: however
        many a dispatcher gives out at once, no station gets more than ``limit``."""
        stations = self.floor.stations
        room = np.maximum(limit - self.orders_in_progress(), 0)
        idx = np.searchsorted(stations, self.orders.station[ids])
        rank = rank_within_groups(idx, np.argsort(idx, kind="stable"))  # oldest first
        keep = rank < room[idx]
        return ids if keep.all() else ids[keep]

    def orders_in_progress(self) -> np.ndarray:
        """Per station (indexed like ``floor.stations``), its orders given to a robot and not
        yet delivered."""
        s, stations = self.state, self.floor.stations
        taken = self.orders.station[s.order[s.order >= 0]]
        return np.bincount(np.searchsorted(stations, taken), minlength=stations.size)

    def orders_on_hold(self, orders: np.ndarray) -> np.ndarray:
        """``(len(orders),)`` bool: whose pick location or station is closed now (or cut off
        from the rest of the floor by the closures)."""
        ob, t = self.orders, self.t
        return (self.held_until(ob.pick[orders]) > t) | (
            self.station_held_until(ob.station[orders]) > t
        )

    def station_held_until(self, stations: np.ndarray) -> np.ndarray:
        """Per station node, the clock until which orders for it are held on its account:
        :meth:`held_until`; with ``faults.redirect_loaded`` at most until the first station
        reopens, as the robot that picks such an order takes it to the open station nearest it
        if its own is still closed (:func:`~.closures.redirect_loaded`)."""
        until = self.held_until(stations)
        if not self.config.faults.redirect_loaded:
            return until
        return np.minimum(until, self.held_until(self.floor.stations).min())

    def held_until(self, nodes: np.ndarray) -> np.ndarray:
        """Per node, the clock until which orders for it are held: ``closed_until``, or later
        where the closures cut it off from the rest of the floor (:attr:`cut_until`)."""
        until = self.closed_until[nodes]
        return until if self.cut_until is None else np.maximum(until, self.cut_until[nodes])

    def assign(self, robots: np.ndarray, orders: np.ndarray) -> None:
        """Give each robot ``robots[i]`` the open order ``orders[i]`` (vectorized). A sub-goal the
        idle robot had (a parking spot) is dropped: the robot heads for the pick."""
        robots, orders = _ids("assign", "robot", robots), _ids("assign", "order", orders)
        if robots.size == 0:
            return
        s, ob = self.state, self.orders
        if robots.size != orders.size:
            raise AssignError("assign: robots and orders must pair up one to one")
        code = check_assign_kernel(robots, orders, s.phase, ob.assigned, ob.count, self._seen)
        if code:
            raise AssignError(_ASSIGN_ERRORS[code])
        if self.battery is not None and np.any(s.charge[robots] != Charge.NONE):
            raise AssignError("assign: robots must not be charging (battery)")
        self._targets = None
        ob.open_ids = assign_kernel(
            robots, orders, self.t, s.phase, s.order, s.task_goal, ob.pick, ob.robot,
            ob.assigned, ob.open_ids,
        )  # fmt: skip
        s.set_waypoint(robots, -1)
        self._reset_progress(robots)

    def exchange_orders(self, robots: np.ndarray, orders: np.ndarray) -> None:
        """Task swaps: hand each robot ``robots[i]`` the order ``orders[i]``.

        ``orders`` are orders held by robots still driving to their picks; ``robots`` are such
        robots or idle working ones. A robot that held one of ``orders`` and is not given one
        becomes idle (another robot took its order over). No order is opened or closed, and an
        order keeps the step it was first assigned. Robots that change order drop their sub-goal
        and measure progress afresh."""
        robots = _ids("exchange_orders", "robot", robots)
        orders = _ids("exchange_orders", "order", orders)
        s, ob = self.state, self.orders
        if robots.size != orders.size or any(np.unique(x).size != x.size for x in (robots, orders)):
            raise AssignError("exchange_orders: robots and orders must pair up one to one")
        if robots.size and (robots.min() < 0 or robots.max() >= self.n_robots):
            raise AssignError("exchange_orders: robot ids out of range")
        if orders.size and (orders.min() < 0 or orders.max() >= ob.count):
            raise AssignError("exchange_orders: order ids out of range")
        holders = ob.robot[orders]
        if np.any(holders < 0) or np.any(s.order[np.maximum(holders, 0)] != orders):
            raise AssignError("exchange_orders: orders must be held by robots")
        if np.any(s.phase[holders] != Phase.TO_PICK):
            raise AssignError("exchange_orders: orders must be held by robots driving to the pick")
        phase = s.phase[robots]
        idle_ok = (phase == Phase.IDLE) & (s.broken[robots] == 0)
        if self.battery is not None:
            idle_ok &= s.charge[robots] == Charge.NONE
        if np.any((phase != Phase.TO_PICK) & ~idle_ok):
            raise AssignError("exchange_orders: robots must be idle or driving to their pick")
        if np.any((phase == Phase.TO_PICK) & ~np.isin(s.order[robots], orders)):
            raise AssignError("exchange_orders: a robot driving to its pick must hand its order on")
        changed = s.order[robots] != orders
        released = holders[~np.isin(holders, robots)]
        moved, new = robots[changed], orders[changed]
        if moved.size == 0:
            return
        s.phase[released] = Phase.IDLE
        s.order[released] = -1
        s.task_goal[released] = -1
        s.set_waypoint(released, -1)
        s.phase[moved] = Phase.TO_PICK
        s.order[moved] = new
        s.task_goal[moved] = ob.pick[new]
        s.set_waypoint(moved, -1)
        ob.robot[new] = moved
        self._targets = None
        self._reset_progress(np.concatenate([moved, released]))

    def release_orders(self, robots: np.ndarray) -> None:
        """Robots driving to their picks (``TO_PICK``) hand their orders back: the orders are
        open again (unassigned, in arrival order) and the robots idle, with no sub-goal. The
        simulation does this when a scheduled closure closes an order's pick location or
        station (:func:`~.closures.closure_duties`): the order is then held until they reopen."""
        robots = np.unique(_ids("release_orders", "robot", robots))
        if robots.size == 0:
            return
        s, ob = self.state, self.orders
        if robots.min() < 0 or robots.max() >= self.n_robots:
            raise AssignError("release_orders: robot ids out of range")
        if np.any(s.phase[robots] != Phase.TO_PICK):
            raise AssignError("release_orders: robots must be driving to their pick")
        orders = s.order[robots]
        ob.assigned[orders] = -1
        ob.robot[orders] = -1
        ob.open_ids = np.union1d(ob.open_ids, orders).astype(np.int32)
        s.phase[robots] = Phase.IDLE
        s.order[robots] = -1
        s.task_goal[robots] = -1
        s.set_waypoint(robots, -1)
        self._targets = None
        self._reset_progress(robots)

    def set_waypoints(self, robots: np.ndarray, nodes: np.ndarray) -> None:
        """Route ``robots`` through sub-goal ``nodes`` (-1 clears) before their task goal: one
        node per robot, or one for all (not an evacuation waypoint, ``state.evacuation``). Ids
        that are not integers or lie out of range are an :class:`AssignError`."""
        robots = _ids("set_waypoints", "robot", robots)
        nodes = _ids("set_waypoints", "node", np.asarray(nodes).reshape(-1))
        if nodes.size != robots.size and nodes.size != 1:
            raise AssignError("set_waypoints: robots and nodes must pair up one to one")
        if robots.size and (robots.min() < 0 or robots.max() >= self.n_robots):
            raise AssignError("set_waypoints: robot ids out of range")
        if nodes.size and (nodes.min() < -1 or nodes.max() >= self.floor.n_nodes):
            raise AssignError("set_waypoints: nodes out of range (-1 clears a waypoint)")
        if self.battery is not None:  # a charger (or standing still, depleted) comes first
            keep = self.state.charge[robots] == Charge.NONE
            if not keep.all():
                robots, nodes = robots[keep], np.broadcast_to(nodes, keep.shape)[keep]
        self._targets = None
        self.state.set_waypoint(robots, nodes)
        self._reset_progress(robots)

    def state_changed(self) -> None:
        """Call after writing to :attr:`state` directly (tests, scripted scenes): drops the
        cached per-robot targets so the next query sees the new waypoints and task goals."""
        self._targets = None

    # ------------------------------------------------------------------ queries
    def action_mask(self) -> np.ndarray:
        """``(N, A)`` bool: actions the floor allows each robot now (WAIT always).

        Moves along edges the floor lacks, into closed cells, and every move of a robot that is
        broken down, picking or dropping are masked.
        """
        out = np.empty((self.n_robots, self.floor.n_actions), dtype=bool)
        action_mask_kernel(*self._move_rule_inputs(), out)
        return out

    def move_mask(self, nodes: np.ndarray) -> np.ndarray:
        """``(k, A)`` bool: the actions the move rule (:meth:`action_mask`) allows now from
        each of ``nodes`` to a robot free to move (not broken down, not at work): the floor's
        moves less closed edges and closed cells. The visualizer plans its routes with it."""
        nodes = np.ascontiguousarray(nodes, dtype=self.state.pos.dtype).reshape(-1)
        free = np.zeros(nodes.size, dtype=self.state.broken.dtype)
        idle = np.zeros(nodes.size, dtype=self.state.phase.dtype)
        out = np.empty((nodes.size, self.floor.n_actions), dtype=bool)
        action_mask_kernel(nodes, *self._open_moves(), free, idle, *self._closures(), out)
        return out

    def _move_rule_inputs(self) -> tuple:
        """What the move rule (:func:`~.kernels.move_targets_kernel`,
        :func:`~.kernels.action_mask_kernel`) reads: positions, the floor's
        edges, breakdowns, work phases and closures (a closed cell is entered only by a robot
        inside a scheduled closure moving outward, :attr:`DistanceCache.leave`)."""
        s = self.state
        broken = s.broken if self.battery is None else self.battery.frozen(s)
        return s.pos, *self._open_moves(), broken, s.phase, *self._closures()

    def _open_moves(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, nbr)``: the floor's moves, less those closed edges take away."""
        return self.dist.mask, self.floor.nbr

    def _closures(self) -> tuple[np.ndarray, int, bool, np.ndarray]:
        """``(closed_until, t, closures_possible, leave)``: the closed cells the move rule
        reads (robots inside a scheduled closure may move outward: ``dist.leave``)."""
        return self.closed_until, self.t, self.closures_possible, self.dist.leave

    def target_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """``(target, slot)``: each robot's target node (-1 none) and its row in ``dist.table``
        (-1 none), read-only. Cached until the targets or the distance table change."""
        dist = self.dist
        if self._targets is not None and self._targets_key == (dist.version, self.t):
            return self._targets
        s = self.state
        n = self.n_robots
        target = np.empty(n, dtype=np.int32)
        slot = np.empty(n, dtype=np.int64)
        dist._clock += 1
        if target_slots_kernel(
            s.waypoint, s.task_goal, dist.slot_of, dist.last_used, dist._clock, target, slot
        ):  # some targets have no distance row yet: compute them (the table may grow)
            dist.slots(target[target >= 0])
            target_slots_kernel(
                s.waypoint, s.task_goal, dist.slot_of, dist.last_used, dist._clock, target, slot
            )
        target.flags.writeable = False
        slot.flags.writeable = False
        self._targets = (target, slot)
        self._targets_key = (dist.version, self.t)
        return self._targets

    def target_distance(
        self, nodes: np.ndarray | None = None, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Steps from ``nodes`` (default: each robot's node) to each robot's target.

        Returns an int32 array (``UNREACHABLE`` where there is no path, 0 without target).
        With ``nodes`` of shape ``(N, k)`` it returns distances for k candidate nodes per robot.
        With ``rows`` (robot ids) only those robots are looked up: ``nodes`` then has one row
        per id (default: their nodes).
        """
        s = self.state
        target = s.target if rows is None else s.target[rows]
        if nodes is None:
            nodes = s.pos if rows is None else s.pos[rows]
        has = target >= 0
        out = np.zeros(np.shape(nodes), dtype=np.int32)
        if has.any():
            tg = target[has]
            nd = nodes[has]
            out[has] = self.dist.lookup(tg[:, None] if nd.ndim == 2 else tg, nd)
        return out

    def station_queues(self) -> np.ndarray:
        """Robots heading to or working at each station (indexed like ``floor.stations``)."""
        s = self.state
        return station_queue_counts(self.floor.stations, s.task_goal, s.carrying)

    # ------------------------------------------------------------------ the step
    def step(self, actions: np.ndarray, preferences: np.ndarray | None = None) -> StepResult:
        """Advance one step. ``actions``: int (N,); ``preferences``: optional (N, A) scores
        (higher is better) the shield may use to pick alternatives.

        Order of one step: masked or out-of-range actions become WAIT → the shield (collision
        mode) → :func:`~warehouse.core.physics.resolve_physical` → task progress (arrivals at
        waypoints, shelves and stations, work timers, deliveries, new goals) → the clock → faults
        → order arrivals → counters and the reward.
        """
        if not self._seeded:
            raise RuntimeError("call reset() before step()")
        s, f, cfg = self.state, self.floor, self.config
        n = self.n_robots
        actions = np.asarray(actions)
        if actions.size != n:
            raise ValueError(
                f"step: expected {n} actions, one per robot, got an array of shape {actions.shape}"
            )
        if actions.dtype.kind not in "iu":  # 2.7 would silently become 2
            raise TypeError(f"step: actions must be integers, got dtype {actions.dtype}")
        if preferences is not None:
            preferences = _check_preferences(preferences, n, self.floor.n_actions)
        actions = actions.reshape(n)
        if actions.dtype != np.int64:
            actions = actions.astype(np.int64)
        legal = np.empty(n, dtype=np.int64)
        target = np.empty(n, dtype=np.int32)
        refused = np.empty(n, dtype=bool)  # legal != actions
        pos = s.pos
        step_moves_kernel(actions, *self._move_rule_inputs(), legal, target, refused)
        actions = legal

        # reward.progress: the distance to each robot's target as the step begins
        shaping = cfg.reward.progress != 0.0
        if shaping:
            goal_before, dist_before = self._target_and_distance()

        shield = self.shield
        if shield is not None:
            mask = self.action_mask() if getattr(shield, "needs_mask", True) else None
            # (a copy: a shield that writes its answer into the proposal and returns it must
            # not erase the proposal its changes are measured against)
            answer = shield(self, actions.copy(), preferences, mask)
            shielded = _shield_actions(shield, answer, n)
            intervened = np.empty(n, dtype=bool)
            changed = shield_changes_kernel(pos, f.nbr, actions, shielded, intervened, target)
            if changed < 0:
                raise PartError(_shield_name(shield), "returned an action out of range")
            if changed:
                # the move rule holds for the shield's moves as for the navigator's (a broken or
                # working robot, a closed cell, an edge the floor lacks): one it breaks is named
                allowed = np.empty(n, dtype=np.int64)
                move_targets_kernel(shielded, *self._move_rule_inputs(), allowed, target)
                if (bad := np.flatnonzero(allowed != shielded)).size:
                    i = int(bad[0])
                    raise PartError(
                        _shield_name(shield),
                        f"returned a move the action mask forbids (robot {i}, action "
                        f"{int(shielded[i])}; {bad.size} robot(s) in all)",
                    )
                actions = shielded  # (and ``target`` holds the nodes of its moves)
        else:
            intervened = np.zeros(n, dtype=bool)

        # one-shot: the robots that begin the step holding their goal (their task is done)
        held = self.holding_goal()
        self._targets = None  # tasks and goals change below
        final = np.empty(n, dtype=np.int32)  # the physics' outcome (resolve_physical)
        failed = np.empty(n, dtype=bool)
        moved_m = np.empty(n, dtype=np.float32)
        moved = np.empty(n, dtype=bool)
        delivered = np.empty(n, dtype=bool)
        reached_wp = np.empty(n, dtype=bool)
        became_idle = np.empty(n, dtype=bool)
        reached_goal = np.empty(n, dtype=bool)
        picked = np.empty(n, dtype=bool)
        ob = self.orders
        ph = self._physics
        incidents, goals_reached = resolve_and_advance_kernel(
            pos,
            target,
            ph.occ,
            ph.count,
            ph.head,
            ph.nxt,
            ph.contested,
            final,
            failed,
            actions,
            intervened,
            self._length_m,
            s.distance_m,
            s.moves,
            s.collisions,
            s.interventions,
            s.phase,
            s.timer,
            s.waypoint,
            s.task_goal,
            s.order,
            s.broken if self.battery is None else self.battery.frozen(s),
            s.deliveries,
            ob.station,
            ob.delivered,
            self.t,
            cfg.tasks.pick_time,
            cfg.tasks.drop_time,
            moved_m,
            moved,
            delivered,
            reached_wp,
            became_idle,
            reached_goal,
            picked,
            s.phase_steps,
            s.blocked_steps,
            self.one_shot_goals is not None,
            s.arrived,
        )
        incidents = int(incidents)
        s.pos = final
        self.incidents += incidents
        self._after_moves, self._restarted = True, None
        if goals_reached and self.one_shot_goals is None:
            # goal_visit: a reached goal counts as a delivery, draw a new one (one-shot: the
            # robot holds its goal)
            self._new_goals(np.flatnonzero(reached_goal))
            if self._goal_queue is not None:  # (a fixed sequence run out: the task is done)
                became_idle |= reached_goal & (s.phase == _IDLE)
        self.t += 1
        if self.one_shot_goals is not None:  # on its goal without a break since when
            on = s.pos == self.one_shot_goals
            s.goal_since[:] = np.where(on, np.where(s.goal_since >= 0, s.goal_since, self.t), -1)
        self._rerouted = None
        if self.battery is not None:
            sent = self.battery.step(s, moved_m, self.t, self.dist)
            if sent.size:
                self._targets = None
                self._reset_progress(sent)
        self._faults()
        handed_back = None  # robots a closure made hand their order back after this step's move
        if self.dist.closed_any:  # a scheduled closure lasts: orders given back, robots out
            driving = s.phase == Phase.TO_PICK
            closure_duties(self)
            handed_back = driving & (s.phase == Phase.IDLE)
        elif self._routes and self.t in self._routes:  # the last one ended: waypoints it left
            drop_waypoints(self)
        if self.battery is not None:
            # robots the faults and closure duties made idle (repaired, an order handed back)
            # that must charge queue now; and when a closure began or ended, the chargers it
            # closed or reopened go to the queue now
            queued = self.battery.queue_needy(s, self.t)
            if queued or (self._routes and self.t in self._routes):
                sent = self.battery.give_chargers(s, self.dist, self.t)
                if sent.size:
                    self._targets = None
                    self._reset_progress(sent)
        if self.battery is not None and self.battery.interruptible:
            # orders waiting that no idle robot can take: opportunity charging gives way
            waiting = self.dispatchable_orders().size - self.idle_robots().size
            sent = self.battery.interrupt(s, waiting, self.dist)
            if sent.size:
                self._targets = None
                self._reset_progress(sent)
        new_orders = self._arrivals()

        rw = cfg.reward
        reward = np.empty(n, dtype=np.float32)
        reset = np.empty(n, dtype=bool)
        cost = np.empty(n, dtype=np.float32)  # failed as float32
        target, slot = self.target_slots()
        finish_step_kernel(
            s.phase,
            moved,
            target,
            delivered,
            reached_wp,
            s.busy_steps,
            s.waits,
            s.since_goal,
            moved_m,
            failed,
            became_idle,
            picked,
            float(rw.per_metre),
            float(rw.delivery),
            float(rw.collision),
            float(rw.per_step),
            reward,
            reset,
            cost,
        )
        if handed_back is not None:  # their step began with a task: it counts (as phase_steps)
            s.busy_steps[handed_back] += 1
        if held is not None:  # a step begun holding its goal is no task and no wait (as blocked)
            counted = held & ((s.phase != _IDLE) | delivered)
            s.busy_steps -= counted
            s.waits -= counted & (s.phase != _IDLE) & ~moved & (target >= 0)
        if self._restarted is not None:
            reset |= self._restarted
        self._after_moves, self._restarted = False, None
        progress_phase = s.phase if self.battery is None else self.battery.progress_phase(s)
        if self.one_shot_goals is not None:
            # a robot holding its goal is not driving: it neither stalls nor gains priority
            # (PIBT's priority restarts at the goal), so others may push it off and it returns
            holding = self.holding_goal()
            assert holding is not None  # (a one-shot run)
            progress_phase = np.where(holding, _IDLE, progress_phase).astype(s.phase.dtype)
            s.since_goal[holding] = 0
        progress_kernel(
            slot,
            self.dist.table,
            s.pos,
            progress_phase,
            s.waypoint,
            reset,
            s.best_dist,
            s.since_progress,
            self._dist_now,
            cfg.physics.stuck_after,
            s.stuck_steps,  # (kpis.stuck_robot_share)
        )
        if shaping:
            dist_after = self._dist_now
            same = (target == goal_before) & (goal_before >= 0)
            same &= (dist_before < UNREACHABLE) & (dist_after < UNREACHABLE)
            if self._rerouted is not None:  # distances changed under them (a closure event)
                same[self._rerouted] = False
            closer = (dist_before - dist_after).astype(np.float64) * same
            reward += (rw.progress * closer).astype(np.float32)
        if rw.on_goal != 0.0 and self.one_shot_goals is not None:  # one-shot: holding pays
            reward += np.float32(rw.on_goal) * (s.pos == self.one_shot_goals)
        return StepResult(
            actions=actions,
            reward=reward,
            cost=cost,
            moved_m=moved_m,
            delivered=delivered,
            collided=failed,
            intervened=intervened,
            incidents=incidents,
            reached_waypoint=reached_wp,
            became_idle=became_idle,
            new_orders=new_orders,
            refused=refused,
        )

    def _new_goals(self, robots: np.ndarray, first: bool = False) -> None:
        """Give ``robots`` (ascending ids) their next goal: the next of ``tasks.goals`` by
        ``tasks.assignment`` (a robot with none left goes idle), else a random goal cell.
        ``first``: the episode's first goals (the fixed sequence from its start)."""
        s = self.state
        if self.one_shot_goals is not None:  # one-shot MAPF: robot i's one goal, from the start
            s.phase[robots] = _TO_GOAL
            s.task_goal[robots] = self.one_shot_goals[robots]
            self._targets = None
            return
        queue = self._goal_queue
        if queue is not None:
            queue.reset() if first else queue.advance(robots)
            goals = queue.current(robots)
            s.phase[robots] = np.where(goals >= 0, _TO_GOAL, _IDLE).astype(s.phase.dtype)
            s.task_goal[robots] = goals
            self._targets = None
            return
        cells = self._goal_cells
        goals = cells[self.rng_goals.integers(cells.size, size=robots.size)]
        same = goals == s.pos[robots]  # never "arrive" without moving when there is a choice
        if same.any() and cells.size > 1:
            shift = self.rng_goals.integers(1, cells.size, size=int(same.sum()))
            idx = (np.searchsorted(cells, goals[same]) + shift) % cells.size
            goals[same] = cells[idx]
        s.phase[robots] = _TO_GOAL
        s.task_goal[robots] = goals
        # new targets: drop the cached ones (at reset a closure event at clock 0 has cached
        # them before the first goals were drawn, with the same key, :meth:`target_slots`)
        self._targets = None

    def _arrivals(self) -> int:
        tasks, f = self.config.tasks, self.floor
        if tasks.mode != "pickup_delivery" or tasks.arrival_rate <= 0:
            return 0
        lam = tasks.arrival_rate * self.config.physics.step_seconds
        gen = self.rng_orders
        k = int(gen.poisson(lam))
        if k == 0:
            return 0
        ob = self.orders
        room = tasks.max_open_orders - ob.open_ids.size
        keep = k
        if room < k:  # over the backlog cap: the last ones are lost
            keep = max(room, 0)
            ob.lost += k - keep
        # ``u = gen.random(k)``, ``station_idx = gen.integers(f.stations.size, size=k)`` drawn
        # in the compiled call (numpy's ``integers`` cost ~20 µs a step in its argument
        # handling). The address is looked up at every call (0.2 µs): a replaced or copied
        # generator is never drawn through a stale one, and ``gen`` lives through the call.
        ob.draw_arrivals(bitgen_address(gen), k, self._pick_cdf, f.picks, f.stations, keep, self.t)
        return keep

    def _faults(self) -> None:
        fc, s = self.config.faults, self.state
        if fc.breakdown_prob > 0 or any_at_least(s.broken, 1):
            down = s.broken > 0  # broken down as the step began
            s.broken_steps += down
            s.broken[down] -= 1
        if fc.breakdown_prob > 0:
            fail = (self.rng_faults.random(self.n_robots) < fc.breakdown_prob) & (s.broken == 0)
            s.broken[fail] = fc.breakdown_steps
            s.breakdowns += fail
        if fc.closure_prob > 0 and self.rng_faults.random() < fc.closure_prob:
            cells = self._closable
            if cells.size:
                node = cells[self.rng_faults.integers(cells.size)]
                # never shortens a longer closure (a scheduled one) of the same cell
                self.closed_until[node] = max(self.closed_until[node], self.t + fc.closure_steps)
        self._scheduled_closures()

    @property
    def closures_possible(self) -> bool:
        """Whether cells may close in this run: random closures or a schedule."""
        fc = self.config.faults
        return fc.closure_prob > 0 or bool(fc.closures)

    @property
    def order_closures_possible(self) -> bool:
        """Whether a pick location or station may close in this run (set by :meth:`reset`):
        only then can an order be held (:meth:`dispatchable_orders`)."""
        return self._order_cells.size > 0

    def closed_nodes(self) -> np.ndarray:
        """Node ids closed right now (faults: random and scheduled closures)."""
        return np.flatnonzero(self.closed_until > self.t)

    def _target_and_distance(self) -> tuple[np.ndarray, np.ndarray]:
        """Each robot's target (-1 for none) and its steps to it (0 without target)."""
        target, slot = self.target_slots()
        rows = self.dist.table[np.maximum(slot, 0), self.state.pos]
        return target.copy(), np.where(slot >= 0, rows, 0).astype(np.int64)

    def _reset_progress(self, robots: np.ndarray) -> None:
        """Robots with a new target start tracking their progress afresh: the closest approach
        is where they stand, and no step without progress yet. The other robots keep their
        counts (only :meth:`step` advances ``since_progress``)."""
        s = self.state
        _, slot = self.target_slots()
        robots = np.asarray(robots, dtype=np.int64)
        reset_progress_kernel(robots, slot, self.dist.table, s.pos, s.best_dist, s.since_progress)
        if self._after_moves:  # a new target after this step's moves: the step does not count
            if self._restarted is None:
                self._restarted = np.zeros(self.n_robots, dtype=bool)
            self._restarted[robots] = True

    @property
    def seconds(self) -> float:
        """Simulated time so far."""
        return self.t * self.config.physics.step_seconds

    def holding_goal(self) -> np.ndarray | None:
        """One-shot MAPF (``tasks.assignment: one_shot``): the robots standing on their goal,
        holding it (bool, one per robot); None in every other run."""
        if self.one_shot_goals is None:
            return None
        s = self.state
        return holding_goal(s.pos, s.task_goal, s.waypoint, s.phase)

    def solved(self) -> bool | None:
        """One-shot MAPF (``tasks.assignment: one_shot``): whether every robot stands on its
        goal now; None in every other run. The one rule for a solved instance: the KPI
        ``solved`` and the end of an episode under ``episode.stop_when_solved`` (the env, the
        Mesa model and so ``warehouse run`` and ``sweep``) read it."""
        if self.one_shot_goals is None:
            return None
        return bool((self.state.goal_since >= 0).all())


def nested_goals(order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """A random one-shot instance's goals: robot ``i`` (in id order) takes the first cell of
    ``order`` (a random permutation of the goal cells) that no robot before it took and that is
    not its own start (its start only when no other cell is left). Robot ``i``'s goal depends on
    the robots before it alone, so the instance of ``n`` robots is the first ``n`` robots of the
    instance of more (as the first ``n`` agents of a MovingAI ``.scen`` file) when their starts
    are too. A loop over robots, run once a reset."""
    goals = np.empty(starts.size, dtype=np.int32)
    used = np.zeros(int(order.max(initial=0)) + 1, dtype=bool)
    cells = order.tolist()
    k = 0  # cells[:k] are all taken
    for i, start in enumerate(starts.tolist()):
        while used[cells[k]]:
            k += 1
        j = k  # the first free cell that is not its start (taken ones beyond k are few)
        while j < len(cells) and (used[cells[j]] or cells[j] == start):
            j += 1
        goal = cells[j if j < len(cells) else k]  # else: no cell left but its own start
        goals[i], used[goal] = goal, True
    return goals


def one_shot_lower_bound(
    floor: CompiledFloor, dist: DistanceCache | None, starts: np.ndarray, goals: np.ndarray
) -> int | None:
    """The sum over robots of the steps from ``starts[i]`` to ``goals[i]`` on ``floor`` (one
    distance row per distinct goal, looked up at once); None when a goal cannot be reached.
    ``dist``: a distance cache of the floor without closures to read (None: a fresh one)."""
    if dist is None:
        dist = DistanceCache(floor, min_rows=int(np.unique(goals).size) + 1)
    steps = dist.lookup(goals, starts).astype(np.int64)
    return None if bool((steps >= UNREACHABLE).any()) else int(steps.sum())


_ASSIGN_ERRORS = {
    1: "assign: robots and orders must pair up one to one",
    2: "assign: an order can go to one robot only",
    3: "assign: robots must be idle",
    4: "assign: orders must be open",
    5: "assign: robot ids out of range",
}


__all__ = ["UNREACHABLE", "Simulation", "StepResult"]
