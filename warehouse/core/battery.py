"""The battery and charging model (``battery``; off unless ``battery.capacity_wh`` is set).

Every robot has a charge (``FleetState.soc_wh``). Each step it drops by the energy the robot
used, by the figures :func:`warehouse.kpis.energy_kwh` sums: ``physics.energy_wh_per_metre``
per metre moved plus ``physics.idle_power_w`` × ``physics.step_seconds`` (every robot, every
step, charging or not), so the fleet's energy use equals its loss of charge plus what the
chargers gave (``charged_wh``), until a robot runs flat.

A robot's battery state (``FleetState.charge``, :class:`~.state.Charge`) sits beside its phase:

* a robot with no task (``IDLE``), not broken down, whose charge is below
  ``recharge_below`` × capacity as a step ends is ``QUEUED``;
* queued robots are given free chargers, first come first served (ties: lower id): the nearest
  charger (by the fleet's distances) that no robot claims and none stands on. A queued robot
  standing on a free charger takes it at once. A robot given a charger drives to it as to a
  waypoint (``TO_CHARGER``; its steps without getting closer count in ``since_progress`` as a
  robot's with a task do, so shields' stall rescue moves it);
* the others wait where they stand (under PIBT they rank lowest and are pushed aside; a
  parking sub-goal they had stays), or, with ``waiting_cells``, at a waiting cell
  (:meth:`Battery.waiting_cells`): an aisle or parking cell that is not a charger, not beside
  a charger, station or pick location, and not a thoroughfare
  (:func:`~warehouse.floor.checks.thoroughfares`, the test of the chargers' floor note). A
  queued robot standing on a waiting cell no other robot holds waits there; the others take
  the first free one near their nearest charger (in queue order), else near the next charger,
  and drive there as to a waypoint (their stalled steps count as above). Pushed off it onto
  another waiting cell nobody holds, a robot waits there; pushed elsewhere, it is sent back,
  until a charger frees. With no free waiting cell it waits where it stands until one frees
  (docs/results_battery.md measures both);
* opportunity charging (``opportunity_below``, off by default): a robot with no task and a
  charge below that fraction (not below ``recharge_below``) is given a charger left free once
  the queued robots have theirs, lowest charge first, nearest charger first; it never queues.
  With ``interruptible`` (off by default) such robots give way to orders
  (:meth:`Battery.interrupt`, after the step's closures, before new orders arrive): while more
  orders are dispatchable than robots are idle, as many robots on opportunity business
  (charging on or driving to their charger, at or above ``recharge_below``; highest charge
  first, ties: lower id) give up their charger, those on it stepping off as a robot charged
  full does (below); an interrupted robot takes no opportunity charger again until it is given
  an order (charging below ``recharge_below`` is never held back). Opportunity chargers then
  go only to the idle robots beyond the dispatchable orders, so none is taken while orders
  wait. A robot given its charger from the queue is never interrupted, whatever its charge;
* on its charger it is ``CHARGING``: it cannot move, and each step adds ``charge_w`` ×
  ``step_seconds`` (it still draws ``idle_power_w``). The step its charge reaches ``charge_to``
  × capacity (1.0: full) it is ``NONE`` again and steps off its charger: its waypoint is the
  nearest free aisle or parking cell that is not a charger nor a transit node (by the steps
  from the charger) and that no scheduled closure closes now (one that closes later, while
  the robot is still on the charger, gets it the next free one), so the charger frees for
  the next in line; it is available to dispatchers from then on (an order drops that
  waypoint).
  Until it has left the charger cell (or is given an order) its steps without getting closer
  count in ``since_progress`` as for ``TO_CHARGER``, so the stall rescue moves it off even
  when its navigator keeps it waiting. Any other idle robot found on a charger (pushed there
  by PIBT, or started there) steps off the same way when another robot claims that charger
  or while robots queue;
* a robot whose charge reaches 0 (with a task or not) is ``DEPLETED``: it stops where it
  stands, keeps its task and draws nothing more; ``rescue_s`` seconds later its battery is
  swapped (full charge) and it carries on (``rescue_s: null``: never).

Scheduled closures (``faults.closures``, :mod:`.closures`): a charger inside an active one, or
one the closures cut off from the rest of the floor (:attr:`Battery.cut`, the simulation's
``shut_in``), is not handed out (to queued robots nor for opportunity charging) and is again
from the step it reopens (:meth:`Battery.give_chargers` runs again at each closure event);
exit and waiting cells there are not chosen either. When a closure begins over a charger or
cuts it off (:meth:`Battery.close_chargers`, called by :func:`~.closures.closure_duties`), the
robot driving to it and the robot charging on it lose it, as does a robot shut in on its way
to any charger (shut-in robots are given no charger nor waiting cell until the cut ends):
below ``recharge_below`` they are queued again, keeping their place in the queue (when they
queued; for an opportunity charger, when it was given), and are given an open charger as the
queue's order allows, in the same step; otherwise they are available again (``NONE``). A
robot that stops charging keeps the charge it has and, standing inside the closure, is
evacuated as an idle robot is; a queued one (with ``waiting_cells``) gives up a waiting cell
the closure covers. Queued robots inside a closure with nowhere outside to go (no waiting cell
held) are evacuated too (:func:`~.closures.robots_to_evacuate`).

Robots queued, driving to or at a charger and depleted ones are not
:meth:`~warehouse.core.Simulation.idle_robots`, nor are robots that start below
``recharge_below`` (they queue as the first step ends), so no dispatcher gives them an order, and
:meth:`~warehouse.core.Simulation.set_waypoints` leaves their sub-goals alone. Charging and
depleted robots are frozen for the move rule as broken-down ones are (shields do not push them).

Vectorized over the fleet; the greedy choices that must go robot by robot (chargers to the
queue, first come first served; exit cells to robots stepping off; waiting cells to queued
robots) are compiled (:func:`_greedy_chargers`, :func:`_first_free_exits`,
:func:`_first_free_waits`).

Chargers are cells ``[row, col]`` as ``faults.closures`` gives them
(:mod:`.closure_entries`): aisle, parking or other free cells, not shelves, walls, pick
locations or stations. When
``battery.chargers`` lists none they are the floor's charger marks
(:attr:`~warehouse.floor.CompiledFloor.charger`: ``C`` in an ASCII drawing, ``charger: true``
graph nodes), in node order; a list replaces the marks (they are not added to it), and so
do chargers placed by ``battery.auto_chargers`` (:mod:`warehouse.floor.chargers`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np

from ..errors import InputError
from ..floor.distances import UNREACHABLE
from .closure_entries import node_at_cell, node_label, step_at
from .state import Charge, FleetState, Phase

if TYPE_CHECKING:
    from ..config import SimConfig
    from ..floor import CompiledFloor, DistanceCache

_NONE, _QUEUED, _TO = int(Charge.NONE), int(Charge.QUEUED), int(Charge.TO_CHARGER)
_CHARGING, _DEPLETED = int(Charge.CHARGING), int(Charge.DEPLETED)
_NEVER = int(np.iinfo(np.int64).max)
#: :meth:`Battery.stopped_steps` of a depleted robot never rescued (``rescue_s: null``): large,
#: yet exact in sums of float64 costs
STOPPED_CAP = 10**9
#: waiting cells kept per charger, and the nearest cells searched for them
_WAITS, _WAIT_SEARCH = 16, 48


#: why a charger may not sit on a transit node of a long edge (``physics.speed_m_s``)
_TRANSIT = (
    "of a long edge (physics.speed_m_s): robots only pass through it, and a charging robot "
    "would block the edge; put the charger on a waypoint"
)


def resolve_chargers(
    floor: CompiledFloor, config: SimConfig, source: str | Path | None = None
) -> np.ndarray:
    """The charger nodes (int64, in the order given) of ``battery.chargers`` on ``floor``, or
    the floor's charger marks (in node order) when it lists none. Raises :class:`InputError`
    naming the field for a cell off the floor, on a shelf or wall, on a pick location or
    station, or given twice, for no charger at all, and for settings the model cannot run."""
    from ..floor import NodeKind

    b = config.battery
    if b.capacity_wh is None:
        return np.zeros(0, dtype=np.int64)
    if config.tasks.mode != "pickup_delivery":
        exc = InputError(
            source,
            "battery.capacity_wh",
            "the battery model needs tasks.mode pickup_delivery (goal_visit robots always have "
            "a goal, so none would ever go charging)",
        )
        exc.depends_on = ("tasks.mode",)  # type: ignore[attr-defined]  # (--tasks named)
        raise exc
    idle_w = config.physics.idle_power_w
    if b.charge_w <= idle_w:
        raise InputError(
            source,
            "battery.charge_w",
            f"{b.charge_w:g} W does not exceed physics.idle_power_w ({idle_w:g} W), which a "
            "charging robot still draws: it would never fill up",
        )
    if b.auto_chargers is not None:
        from ..floor.chargers import place_chargers

        try:
            return place_chargers(floor, b.auto_chargers)
        except ValueError as exc:
            raise InputError(source, "battery.auto_chargers", str(exc)) from None
    if not b.chargers:
        drawn = np.flatnonzero(floor.charger).astype(np.int64)
        if drawn.size == 0:
            raise InputError(
                source,
                "battery.chargers",
                "the battery model (capacity_wh) needs at least one charger cell: list them "
                "here, mark them on the floor (C in an ASCII drawing) or set "
                "battery.auto_chargers",
            )
        bad = drawn[np.isin(floor.kind[drawn], (int(NodeKind.PICK), int(NodeKind.STATION)))]
        if bad.size:
            raise InputError(
                source,
                "layout",
                f"the charger at {node_label(floor, int(bad[0]))} is a pick location or station: "
                "a charging robot would block it",
            )
        if (bad := drawn[floor.transit[drawn]]).size:
            where = f"the charger at {node_label(floor, int(bad[0]))} is a transit node"
            raise InputError(source, "layout", f"{where} {_TRANSIT}")
        return drawn
    nodes: list[int] = []
    seen: dict[int, int] = {}
    for j, cell in enumerate(b.chargers):
        field = f"battery.chargers[{j}]"
        node = node_at_cell(floor, cell, source, field)
        kind = int(floor.kind[node])
        if kind in (int(NodeKind.PICK), int(NodeKind.STATION)):
            what = "a pick location" if kind == int(NodeKind.PICK) else "a station"
            raise InputError(
                source, field, f"({cell[0]}, {cell[1]}) is {what}: a charging robot would block it"
            )
        if floor.transit[node]:
            where = f"({cell[0]}, {cell[1]}) is the transit node {floor.nodes[node]}"
            raise InputError(source, field, f"{where} {_TRANSIT}")
        if node in seen:
            raise InputError(source, field, f"the same cell as battery.chargers[{seen[node]}]")
        seen[node] = j
        nodes.append(node)
    return np.asarray(nodes, dtype=np.int64)


def describe_battery(
    floor: CompiledFloor, config: SimConfig, source: str | Path | None = None
) -> list[str]:
    """Lines for ``warehouse validate``: the battery settings and the charger cells (with the
    battery off, a line on the floor's drawn chargers, which then go unused)."""
    b, p = config.battery, config.physics
    drawn = int(np.count_nonzero(floor.charger))
    if b.capacity_wh is None:
        if not drawn:
            return []
        return [
            f"the floor marks {drawn} charger{'s' if drawn != 1 else ''}, unused: the battery "
            "model is off (battery.capacity_wh)"
        ]
    nodes = resolve_chargers(floor, config, source)
    cells = [node_label(floor, int(v)) for v in nodes]
    shown = ", ".join(cells[:6]) + (", …" if len(cells) > 6 else "")
    if b.auto_chargers is not None:
        where = " (placed automatically, battery.auto_chargers" + (
            f"; the floor's {drawn} drawn are not used)" if drawn else ")"
        )
    elif not b.chargers:
        where = " (drawn on the floor)"
    elif drawn:
        where = f" (battery.chargers; the floor's {drawn} drawn are not used)"
    else:
        where = ""
    idle_h = b.capacity_wh / p.idle_power_w if p.idle_power_w > 0 else math.inf
    fill_h = b.capacity_wh / (b.charge_w - p.idle_power_w)
    rescue = "never" if b.rescue_s is None else f"after {b.rescue_s:g} s"
    policy = f"recharge below {b.recharge_below:.0%}"
    if b.opportunity_below is not None:
        policy += f" (below {b.opportunity_below:.0%} when a charger is free)"
    if b.charge_to < 1.0:
        policy += f" to {b.charge_to:.0%}"
    if b.waiting_cells:
        policy += " (queued at waiting cells)"
    return [
        f"{b.capacity_wh:g} Wh per robot, {policy}, "
        f"{b.charge_w:g} W chargers (empty to full in {fill_h * 60:.0f} min; standing idle "
        f"a full battery lasts {idle_h * 60:.0f} min); depleted robots rescued {rescue}",
        f"{len(cells)} charger{'s' if len(cells) != 1 else ''}{where}: {shown}",
    ]


class Battery:
    """The per-step battery rule of one simulation (see the module docstring)."""

    def __init__(self, floor: CompiledFloor, config: SimConfig) -> None:
        b, p = config.battery, config.physics
        assert b.capacity_wh is not None
        self.chargers = resolve_chargers(floor, config)
        self.capacity = float(b.capacity_wh)
        self.threshold = float(b.recharge_below) * self.capacity
        #: opportunity charging below this (Wh; None: off), and where charging stops
        self.opportunity = (
            None if b.opportunity_below is None else float(b.opportunity_below) * self.capacity
        )
        self.stop_wh = float(b.charge_to) * self.capacity
        self.use_waits = bool(b.waiting_cells)  #: queued robots go to waiting cells
        self.interruptible = bool(b.interruptible)  #: opportunity charging gives way to orders
        dt_h = p.step_seconds / 3600.0
        self.idle_wh = float(p.idle_power_w) * dt_h  #: drawn by every robot every step
        self.wh_per_m = float(p.energy_wh_per_metre)
        self.charge_wh = float(b.charge_w) * dt_h  #: put in per charging step
        rescue = b.rescue_s
        self.rescue_steps = _NEVER if rescue is None else max(1, step_at(rescue, p.step_seconds))
        self.initial = (float(b.initial_soc), b.initial_soc_min)
        self.n_nodes = floor.n_nodes
        self.floor = floor
        from ..floor import NodeKind

        self.kind = floor.kind
        self.aisle, self.parking = int(NodeKind.AISLE), int(NodeKind.PARKING)
        #: per charger (row of ``chargers``): the nearest cells to step off to (-1 padded)
        self._exits: np.ndarray | None = None
        #: per charger: its waiting cells, nearest first (-1 padded; :meth:`waiting_cells`)
        self._waits: np.ndarray | None = None
        self._wait_mask: np.ndarray | None = None
        self._charger_row = np.full(floor.n_nodes, -1, dtype=np.int64)
        self._charger_row[self.chargers] = np.arange(self.chargers.size)
        self.is_charger = np.zeros(floor.n_nodes, dtype=bool)
        self.is_charger[self.chargers] = True
        from ..floor.checks import one_way_moves

        #: the floor has one-way moves: steps from a charger differ from steps to it
        self.one_way = bool(one_way_moves(floor)[0].size)
        #: per node, cut off from the rest of the floor by closed edges and cells now (the
        #: simulation's ``shut_in``, kept in step by it); None while no closure cuts any off
        self.cut: np.ndarray | None = None

    def shut(self, dist: DistanceCache) -> np.ndarray:
        """Bool per node: closed by a scheduled closure now (``dist.closed``) or cut off from
        the rest of the floor by the closures (:attr:`cut`). Chargers, exit and waiting cells
        there are not handed out, and robots lose those that become so."""
        return dist.closed if self.cut is None else dist.closed | self.cut

    def reset(self, s: FleetState, rng: np.random.Generator) -> None:
        """Starting charge (drawn from ``rng``, the battery's own stream, only for a range)."""
        n = s.pos.size
        high, low = self.initial
        soc = np.full(n, high) if low is None else rng.uniform(low, high, size=n)
        s.soc_wh[:] = soc * self.capacity
        s.soc_min_wh[:] = s.soc_wh
        #: per robot: the charger node it claims (-1 none), when it queued, when it is rescued
        self.claim = np.full(n, -1, dtype=np.int64)
        self.queued_at = np.zeros(n, dtype=np.int64)
        self.rescue_at = np.full(n, _NEVER, dtype=np.int64)
        #: per robot: the charger it is stepping off (full, idle, not yet off the cell; -1 none)
        self.off_from = np.full(n, -1, dtype=np.int64)
        #: per robot: the waiting cell it holds while queued (-1 none)
        self.wait_at = np.full(n, -1, dtype=np.int64)
        #: per robot: its charger (claimed) was given for opportunity charging, not from the queue
        self.by_chance = np.zeros(n, dtype=bool)
        #: per robot: interrupted (``interruptible``): no opportunity charging until it is given
        #: an order or goes charging again (queued below ``recharge_below``)
        self.held = np.zeros(n, dtype=bool)
        self.t = 0  #: the clock of the last :meth:`step`
        self._ids = np.arange(n)
        # exit and waiting cells are chosen by distances, which closures change: each episode
        # chooses them afresh (at its first need), so no episode depends on the one before
        self._exits = self._waits = self._wait_mask = None

    def frozen(self, s: FleetState) -> np.ndarray:
        """``broken`` as the move rule reads it: charging and depleted robots count as broken."""
        stop = (s.charge == _CHARGING) | (s.charge == _DEPLETED)
        return np.where(stop & (s.broken == 0), 1, s.broken).astype(s.broken.dtype)

    def stopped_steps(self, s: FleetState, t: int) -> np.ndarray:
        """Per robot (int64), the steps from the clock ``t`` until a depleted robot moves again
        (``rescue_s``), 0 for the others; at most :data:`STOPPED_CAP` (one never rescued counts
        as that). Task swaps count them as they count a breakdown's repair time."""
        left = np.minimum(self.rescue_at - t, STOPPED_CAP)
        return np.where(s.charge == _DEPLETED, np.maximum(left, 0), 0).astype(np.int64)

    def progress_phase(self, s: FleetState) -> np.ndarray:
        """``phase`` as the progress count reads it: a robot driving to its charger, and one
        stepping off its charger (charged full, still on the charger cell, idle, with the
        waypoint it was given or a later one), counts its steps without getting closer as a
        robot with a task does (``since_progress``), so the shields' stall rescue (PIBT) moves
        it when its navigator keeps it waiting. (Before the progress kernel counted every idle
        robot with a waypoint, an ``IDLE`` robot's count stayed 0: without this, a robot on its
        way to a charger that its navigator parks in a lane, the highest-priority robot there,
        was never moved, and a full robot whose navigator waits stood on its charger, the next
        in line queued behind it. These robots have a waypoint, so the kernel's own rule now
        covers them too.) A queued robot driving to its waiting cell counts the same way."""
        busy = (s.charge == _TO) | (self.off_from >= 0)
        if self.use_waits:
            busy |= (s.charge == _QUEUED) & (s.waypoint >= 0)
        return np.where(busy, np.int8(Phase.TO_PICK), s.phase).astype(s.phase.dtype)

    def step(self, s: FleetState, moved_m: np.ndarray, t: int, dist: DistanceCache) -> np.ndarray:
        """Apply one step (``t``: the clock after it). Returns the robots given a charger as
        their new waypoint (their progress restarts)."""
        self.t = t
        began = s.charge.copy()  # the state as the step began
        if self.interruptible:  # given an order: it may charge by opportunity again
            self.held &= s.phase == Phase.IDLE
        off = self.off_from >= 0
        if off.any():  # off the charger, given an order, or no waypoint left: done stepping off
            done = off & ((s.pos != self.off_from) | (s.phase != Phase.IDLE) | (s.waypoint < 0))
            self.off_from[done] = -1
        s.charge_steps += (began == _QUEUED) | (began == _TO) | (began == _CHARGING)
        alive = began != _DEPLETED
        s.soc_wh -= np.where(alive, moved_m.astype(np.float64) * self.wh_per_m + self.idle_wh, 0.0)
        charging = began == _CHARGING
        if charging.any():
            s.soc_wh[charging] += self.charge_wh
            s.charged_wh[charging] += self.charge_wh
            full = charging & (s.soc_wh >= self.stop_wh)
            over = charging & (s.soc_wh >= self.capacity)
            s.charged_wh[over] -= s.soc_wh[over] - self.capacity  # what did not fit
            s.soc_wh[over] = self.capacity
            s.charge[full] = _NONE
            self.claim[full] = -1
        dead = alive & (s.soc_wh <= 0.0)
        if dead.any():
            s.soc_wh[dead] = 0.0
            s.set_waypoint(dead & (began == _TO), -1)  # its charger goes to the next in line
            waiting = dead & (self.wait_at >= 0)
            s.set_waypoint(waiting & (s.waypoint == self.wait_at), -1)
            self.wait_at[waiting] = -1
            s.charge[dead] = _DEPLETED
            s.depletions += dead
            self.claim[dead] = -1
            self.rescue_at[dead] = min(t + self.rescue_steps, _NEVER)  # (_NEVER: never)
        np.minimum(s.soc_min_wh, s.soc_wh, out=s.soc_min_wh)
        back = (s.charge == _DEPLETED) & (self.rescue_at <= t)
        if back.any():
            s.soc_wh[back] = self.capacity
            s.charge[back] = _NONE
            self.rescue_at[back] = _NEVER
        arrived = (s.charge == _TO) & (s.pos == self.claim)
        s.charge[arrived] = _CHARGING
        s.set_waypoint(arrived, -1)
        self.queue_needy(s, t)
        # idle robots on a charger step off it when they just filled up, when another robot
        # claims it (PIBT may push an idle robot onto it) or while robots queue for one
        stay = (s.charge == _NONE) & (s.phase == Phase.IDLE) & (s.broken == 0)
        stay &= self.is_charger[s.pos] & (self.off_from < 0)
        if stay.any():
            claimed = np.zeros(self.n_nodes, dtype=bool)
            claimed[self.claim[self.claim >= 0]] = True
            queue = bool(np.any(s.charge == _QUEUED))
            stay &= (charging & (s.charge == _NONE)) | claimed[s.pos] | queue
            left = self._step_off(s, np.flatnonzero(stay), dist)
        else:
            left = np.zeros(0, dtype=np.int64)
        return np.concatenate([left, self.give_chargers(s, dist, t)])

    def queue_needy(self, s: FleetState, t: int) -> bool:
        """Queue the robots with no task, not broken down and no battery business whose
        charge is below ``recharge_below`` (``t``: the clock). Part of :meth:`step`; the
        simulation calls it again once the step's faults and closure duties are done, for the
        robots they made idle and available (a breakdown repaired, an order handed back), so no
        dispatcher sees a robot that must charge. Returns whether any robot was queued."""
        needy = (s.charge == _NONE) & (s.phase == Phase.IDLE) & (s.broken == 0)
        needy &= s.soc_wh < self.threshold
        if not needy.any():
            return False
        s.charge[needy] = _QUEUED
        self.queued_at[needy] = t
        self.held[needy] = False  # (the hold never delays this)
        return True

    def give_chargers(self, s: FleetState, dist: DistanceCache, t: int) -> np.ndarray:
        """Hand free chargers to the queue (first come first served), waiting cells to the
        queued robots left without one (``waiting_cells``) and opportunity chargers (``t``: the
        clock; with ``interruptible`` :meth:`interrupt` hands out the opportunity chargers). The
        last part of :meth:`step`; the simulation calls it again after a scheduled closure
        begins or ends, so a robot whose charger closed gets an open one, and a charger that
        reopens is handed out, in the same step. Returns the robots given a new waypoint."""
        sent = [np.zeros(0, dtype=np.int64)]
        queued = np.flatnonzero(s.charge == _QUEUED)
        if queued.size:
            queued = queued[np.lexsort((queued, self.queued_at[queued]))]
            from_queue = self._hand_out(s, dist, queued)
            self.by_chance[from_queue] = False
            sent.append(from_queue)
            if self.use_waits:
                sent.append(self._wait(s, dist))
        if self.opportunity is not None and not self.interruptible:
            sent.append(self._by_chance(s, dist, t, s.pos.size))
        return np.concatenate(sent)

    def _by_chance(self, s: FleetState, dist: DistanceCache, t: int, most: int) -> np.ndarray:
        """Opportunity chargers left free by the queue to at most ``most`` idle robots below
        ``opportunity_below`` (not stepping off a charger, not :attr:`held`), lowest charge
        first (ties: lower id). Returns those given one."""
        low = (s.charge == _NONE) & (s.phase == Phase.IDLE) & (s.broken == 0)
        low &= (s.soc_wh < self.opportunity) & (self.off_from < 0) & ~self.held
        if most <= 0 or not low.any():
            return np.zeros(0, dtype=np.int64)
        chance = np.flatnonzero(low)
        chance = chance[np.lexsort((chance, s.soc_wh[chance]))][:most]  # lowest charge first
        given = self._hand_out(s, dist, chance)
        self.queued_at[given] = t  # its place, should its charger close (queued again)
        self.by_chance[given] = True
        return given

    def interrupt(self, s: FleetState, waiting: int, dist: DistanceCache) -> np.ndarray:
        """``interruptible``, once a step after the queue has its chargers (``waiting``: the
        dispatchable orders less the idle robots). While orders wait (``waiting`` > 0), up to
        that many robots on opportunity business at or above ``recharge_below``, charging on or
        driving to their charger, give it up, highest charge first (ties: lower id): those on
        it step off as robots charged full do, and all are :attr:`held` (no opportunity
        charging until they are given an order), so one that no dispatcher takes does not go
        straight back. Otherwise opportunity chargers go to at most ``-waiting`` idle robots
        (those no order waits for), so opportunity charging never starts while orders wait.
        Returns the robots whose waypoint changed."""
        if waiting <= 0:
            if self.opportunity is None:
                return np.zeros(0, dtype=np.int64)
            return self._by_chance(s, dist, self.t, -waiting)
        able = (s.charge == _CHARGING) | (s.charge == _TO)
        able &= self.by_chance & (s.soc_wh >= self.threshold)
        if not able.any():
            return np.zeros(0, dtype=np.int64)
        robots = np.flatnonzero(able)
        robots = robots[np.lexsort((robots, -s.soc_wh[robots]))][:waiting]
        driving = robots[s.charge[robots] == _TO]
        on = robots[s.charge[robots] == _CHARGING]
        s.set_waypoint(driving, -1)  # (its charger was its waypoint)
        s.charge[robots] = _NONE
        self.claim[robots] = -1
        self.by_chance[robots] = False
        self.held[robots] = True
        return np.concatenate([driving.astype(np.int64), self._step_off(s, on, dist)])

    def _step_off(self, s: FleetState, robots: np.ndarray, dist: DistanceCache) -> np.ndarray:
        """Robots just charged full get the nearest free aisle or parking cell (in steps from
        the charger: on a one-way floor, forward) that is not a charger, not a transit node of
        a long edge (``physics.speed_m_s``: no robot is sent to one) and not closed by a
        scheduled closure as their waypoint, so the charger frees for the next in line (an idle
        robot would otherwise stand on it until it gets an order). Returns those that got one."""
        if robots.size == 0:
            return np.zeros(0, dtype=np.int64)
        if self._exits is None:
            kind = self.kind
            ok = (kind == self.aisle) | (kind == self.parking)
            ok &= ~self.floor.transit
            ok[self.chargers] = False
            cand = np.flatnonzero(ok)
            if self.one_way:  # the robot drives from its charger: steps that way round
                steps = self._steps_from(self.chargers, dist)[:, cand]
            else:  # (the same both ways)
                steps = dist.lookup(self.chargers[:, None], cand[None, :]).astype(np.int64)
            order = np.argsort(steps, axis=1, kind="stable")[:, :16]
            near = steps[np.arange(order.shape[0])[:, None], order] < UNREACHABLE
            self._exits = np.where(near, cand[order], -1).astype(np.int64)
        taken = self.shut(dist).copy()  # never into a scheduled closure (nor a cut-off part)
        taken[s.pos] = True
        taken[s.waypoint[s.waypoint >= 0]] = True
        taken[self.wait_at[self.wait_at >= 0]] = True
        rows = self._charger_row[s.pos[robots]]
        exit_to = _first_free_exits(rows, self._exits, taken)
        sent = robots[exit_to >= 0]
        s.set_waypoint(sent, exit_to[exit_to >= 0])
        self.off_from[sent] = s.pos[sent]
        return sent.astype(np.int64)

    def _steps_from(self, sources: np.ndarray, dist: DistanceCache) -> np.ndarray:
        """``(len(sources), n_nodes)`` int64 steps from each of ``sources`` to every node over
        the moves the fleet may take now (``dist.mask``, never into a closed node), as the
        fleet's distances count them the other way round; ``UNREACHABLE`` where none leads."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import shortest_path

        f, n = self.floor, self.n_nodes
        src = np.repeat(np.arange(n), f.nbr.shape[1])
        dst = f.nbr.ravel().astype(np.int64)
        keep = dist.mask.ravel() & (src != dst) & ~dist.closed[dst]
        graph = csr_matrix(
            (np.ones(int(keep.sum()), np.int8), (src[keep], dst[keep])), shape=(n, n)
        )
        steps = shortest_path(graph, directed=True, unweighted=True, indices=sources)
        steps = np.atleast_2d(steps)
        return np.where(np.isfinite(steps), steps, UNREACHABLE).astype(np.int64)

    def _hand_out(self, s: FleetState, dist: DistanceCache, robots: np.ndarray) -> np.ndarray:
        """Give free chargers to ``robots`` (queued ones first come first served, or opportunity
        chargers lowest charge first), in that order, each the nearest free one; a robot
        standing on a free charger takes it at once. Returns the robots given one."""
        none = np.zeros(0, dtype=np.int64)
        chargers = self.chargers
        # a charger a scheduled closure closes or the closures cut off now is not handed out
        taken = self.shut(dist).copy()
        taken[self.claim[self.claim >= 0]] = True
        if self.cut is not None:  # robots shut in by the closures wait (their place is kept)
            robots = robots[~self.cut[s.pos[robots]]]
        standing = np.full(self.n_nodes, -1, dtype=np.int64)
        standing[s.pos] = np.arange(s.pos.size)
        on = standing[chargers]
        # a robot standing on an unclaimed charger takes it at once
        wants = np.zeros(s.pos.size, dtype=bool)
        wants[robots] = True
        mine = (on >= 0) & ~taken[chargers] & wants[np.maximum(on, 0)]
        at_once = on[mine]  # each stands on its own charger: no two want the same one
        self.claim[at_once] = chargers[mine]
        s.charge[at_once] = _CHARGING
        s.set_waypoint(at_once, -1)
        taken[chargers[mine]] = True
        given = [at_once.astype(np.int64)]
        free = chargers[~taken[chargers] & (on < 0)]
        self.wait_at[at_once] = -1
        rest = robots[s.charge[robots] != _CHARGING]
        if free.size and rest.size:
            steps = dist.lookup(free[None, :], s.pos[rest][:, None]).astype(np.int64)
            pick = _greedy_chargers(steps)
            sent, to = rest[pick >= 0], free[pick[pick >= 0]]
            self.claim[sent] = to
            s.charge[sent] = _TO
            s.set_waypoint(sent, to)
            self.wait_at[sent] = -1
            given.append(sent.astype(np.int64))
        out = np.concatenate(given)
        return out if out.size else none

    def close_chargers(self, s: FleetState, dist: DistanceCache) -> np.ndarray:
        """While a scheduled closure lasts (``dist.closed``, after the step's closures apply;
        a cell the closures cut off from the rest of the floor, :attr:`cut`, counts as
        closed): robots driving to or charging on a charger it closes lose it (below
        ``recharge_below`` queued again in their old place, else available), as do robots it
        shuts in on their way to one, queued robots give up a waiting cell it closes (and the
        waypoint to it), and a robot stepping off a charger towards a cell it closes is given
        the next free exit. Returns the robots whose waypoint changed."""
        closed = self.shut(dist)
        lost = ((s.charge == _TO) | (s.charge == _CHARGING)) & (self.claim >= 0)
        lost &= closed[np.maximum(self.claim, 0)]
        if self.cut is not None:  # shut in by the closures on its way: it cannot get there
            lost |= (s.charge == _TO) & (self.claim >= 0) & self.cut[s.pos]
        driving = lost & (s.charge == _TO)
        s.set_waypoint(driving, -1)  # (the charger was its waypoint)
        low = s.soc_wh < self.threshold
        s.charge[lost & low] = _QUEUED  # its place: queued_at, kept
        s.charge[lost & ~low] = _NONE
        self.claim[lost] = -1
        gone = (s.charge == _QUEUED) & (self.wait_at >= 0)
        gone &= closed[np.maximum(self.wait_at, 0)]
        s.set_waypoint(gone & (s.waypoint == self.wait_at), -1)
        self.wait_at[gone] = -1
        # a robot stepping off a charger towards a cell closed since: the next free exit
        off = (self.off_from >= 0) & (s.waypoint >= 0)
        off &= closed[np.maximum(s.waypoint, 0)]
        if off.any():
            again = np.flatnonzero(off)
            s.set_waypoint(again, -1)
            self.off_from[again] = -1
            self._step_off(s, again, dist)  # (none free: retried while the charger is wanted)
        return np.flatnonzero(driving | gone | off)

    def waiting_cells(self, dist: DistanceCache) -> np.ndarray:
        """Per charger (rows of :attr:`chargers`): up to 16 cells where robots queued for it
        wait, nearest first (-1 padded): aisle or parking cells, not transit nodes, not
        chargers, not beside a charger, station or pick location, not thoroughfares
        (:func:`~warehouse.floor.checks.thoroughfares`), among the 48 nearest such cells
        without the last test. Computed once."""
        if self._waits is None:
            from ..floor import NodeKind
            from ..floor.checks import beside, thoroughfares

            floor, kind = self.floor, self.kind
            ok = (kind == self.aisle) | (kind == self.parking)
            if floor.transit.size == self.n_nodes:
                ok &= ~floor.transit
            served = (kind == int(NodeKind.PICK)) | (kind == int(NodeKind.STATION))
            served[self.chargers] = True
            ok &= ~served & ~beside(floor, served)
            cand = np.flatnonzero(ok)
            waits = np.full((self.chargers.size, _WAITS), -1, dtype=np.int64)
            if cand.size:
                steps = dist.lookup(self.chargers[:, None], cand[None, :]).astype(np.int64)
                order = np.argsort(steps, axis=1, kind="stable")[:, :_WAIT_SEARCH]
                near = steps[np.arange(order.shape[0])[:, None], order] < UNREACHABLE
                rows = np.where(near, cand[order], -1)
                seen = np.unique(rows[rows >= 0])
                ok[thoroughfares(floor, seen)] = False
                keep = (rows >= 0) & ok[np.maximum(rows, 0)]
                # each row's kept cells, in order, to the front
                front = np.argsort(~keep, axis=1, kind="stable")[:, :_WAITS]
                picked = np.take_along_axis(rows, front, axis=1)
                kept = np.take_along_axis(keep, front, axis=1)
                waits[:, : picked.shape[1]] = np.where(kept, picked, -1)
            self._waits = waits
        return self._waits

    def _wait(self, s: FleetState, dist: DistanceCache) -> np.ndarray:
        """Queued robots without a waiting cell get one (in queue order): the one they stand
        on, when it is a waiting cell no other robot holds, else the first free one near the
        nearest charger. One pushed off its waiting cell onto another that no robot holds
        waits there instead; pushed elsewhere, it is sent back. Returns the robots given a new
        waypoint."""
        queued = s.charge == _QUEUED
        is_wait = self._is_wait(dist)
        held = queued & (self.wait_at >= 0)
        holder = np.full(self.n_nodes, -1, dtype=np.int64)
        holder[self.wait_at[held]] = np.flatnonzero(held)
        # on a waiting cell nobody else holds (just queued, or pushed there, not on its way
        # to its own): wait there
        here = queued & is_wait[s.pos] & ((holder[s.pos] < 0) | (holder[s.pos] == self._ids))
        here &= ~self.shut(dist)[s.pos] & ((self.wait_at < 0) | (s.waypoint != self.wait_at))
        if here.any():
            self.wait_at[here] = s.pos[here]
        new = queued & (self.wait_at < 0)
        if self.cut is not None:  # shut in by the closures: it waits where it stands
            new &= ~self.cut[s.pos]
        if new.any():
            robots = np.flatnonzero(new)
            robots = robots[np.lexsort((robots, self.queued_at[robots]))]
            steps = dist.lookup(self.chargers[None, :], s.pos[robots][:, None]).astype(np.int64)
            order = np.argsort(steps, axis=1, kind="stable")
            reach = np.take_along_axis(steps, order, axis=1) < UNREACHABLE
            order = np.where(reach, order, -1)
            taken = np.zeros(self.n_nodes, dtype=bool)
            taken[s.pos] = True
            mine = np.zeros(s.pos.size, dtype=bool)
            mine[robots] = True
            taken[s.waypoint[(s.waypoint >= 0) & ~mine]] = True
            taken[self.wait_at[self.wait_at >= 0]] = True
            taken |= self.shut(dist)  # scheduled closures active now, cut-off parts
            cell = _first_free_waits(order, self.waiting_cells(dist), taken)
            got = cell >= 0
            self.wait_at[robots[got]] = cell[got]
        held = queued & (self.wait_at >= 0)
        there = held & (s.pos == self.wait_at)
        s.set_waypoint(there, -1)  # it waits there (a parking sub-goal it had is dropped)
        back = held & ~there & (s.waypoint != self.wait_at)
        if not back.any():
            return np.zeros(0, dtype=np.int64)
        robots = np.flatnonzero(back)
        s.set_waypoint(robots, self.wait_at[robots])
        return robots.astype(np.int64)

    def _is_wait(self, dist: DistanceCache) -> np.ndarray:
        """Bool per node: a waiting cell of some charger (:meth:`waiting_cells`)."""
        waits = self.waiting_cells(dist)
        if self._wait_mask is None:
            self._wait_mask = np.zeros(self.n_nodes, dtype=bool)
            self._wait_mask[waits[waits >= 0]] = True
        return self._wait_mask


@numba.njit(cache=True)
def _greedy_chargers(steps: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Free chargers to queued robots in queue order (rows of ``steps``: each robot's steps to
    each free charger): each takes the nearest charger not yet taken (ties: the first), until
    none is left; one that reaches none waits. Returns each robot's charger column (-1)."""
    n, m = steps.shape
    pick = np.full(n, -1, np.int64)
    left = np.ones(m, np.bool_)
    remaining = m
    for i in range(n):
        if remaining == 0:
            break
        best, best_steps = -1, UNREACHABLE
        for j in range(m):
            if left[j] and steps[i, j] < best_steps:
                best, best_steps = j, steps[i, j]
        if best >= 0:
            left[best] = False
            remaining -= 1
            pick[i] = best
    return pick


@numba.njit(cache=True)
def _take_first_free(cells: np.ndarray, taken: np.ndarray) -> int:  # pragma: no cover - compiled
    """The first of ``cells`` (-1 padded) not ``taken``, then taken; -1 when none is free."""
    for e in cells:
        if e < 0:
            break
        if not taken[e]:
            taken[e] = True
            return e
    return -1


@numba.njit(cache=True)
def _first_free_exits(rows: np.ndarray, exits: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """For each robot (``rows``: its charger's row of ``exits``, -1 none), in order, the first
    exit cell not ``taken`` (then taken); -1 when none is free."""
    out = np.full(rows.size, -1, np.int64)
    for i in range(rows.size):
        if rows[i] >= 0:
            out[i] = _take_first_free(exits[rows[i]], taken)
    return out


@numba.njit(cache=True)
def _first_free_waits(
    order: np.ndarray, waits: np.ndarray, taken: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Waiting cells for queued robots, in queue order (``order``: each one's chargers nearest
    first, -1 unreachable; ``waits``: each charger's waiting cells, nearest first, -1 padded):
    the first cell not ``taken`` (then taken), charger by charger. Returns each one's cell
    (-1: none free)."""
    out = np.full(order.shape[0], -1, np.int64)
    for i in range(order.shape[0]):
        for c in order[i]:
            if c < 0:
                break
            out[i] = _take_first_free(waits[c], taken)
            if out[i] >= 0:
                break
    return out


__all__ = ["Battery", "describe_battery", "resolve_chargers"]
