"""Audit of three leads in the dispatch layer and the battery: the decision clock after a robot
was busy on someone else's account, FIFO's "idle longest", and robots that start below
``recharge_below``."""

from __future__ import annotations

import numpy as np
from sim_helpers import place, wait

from agents import make_navigator
from hierarchy.dispatchers import FIFODispatcher
from hierarchy.smdp import DecisionClock
from warehouse.config import BatteryConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.state import Charge
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

PERIOD = 1000  #: long enough that the period never fires in these scenes


def hall(robots: int = 1, battery: BatteryConfig | None = None) -> Simulation:
    """A 3 × 9 hall of aisle cells (1 s steps, no arrivals): picks at (1, 3) and (1, 7), a
    station at (1, 5); robot 0 at (1, 4)."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 3] = grid[1, 7] = NodeKind.PICK
    grid[1, 5] = NodeKind.STATION
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        battery=battery or BatteryConfig(),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    place(sim, *[(1, 4), (0, 0), (2, 8)][:robots])
    return sim


def two_orders(sim: Simulation) -> None:
    """Order 0 from the west pick, order 1 from the east pick, both to the station."""
    c = sim.floor.cell_of
    station = c[1, 5]
    sim.orders.add(np.array([c[1, 3], c[1, 7]]), np.array([station, station]), step=sim.t)


# ------------------------------------------------------------------ the decision clock


class _ClockThenStandIn:
    """A clocked dispatcher that always waits, behind a stand-in for the starvation guard (or
    a task swap): at step ``at`` it gives order 0 to robot 0 without the clock knowing."""

    name = "clocked"

    def __init__(self, at: int) -> None:
        self.clock, self.at, self.fired = DecisionClock(PERIOD), at, []

    def reset(self, seed: int | None) -> None:
        self.clock.reset()
        self.fired = []

    def dispatch(self, sim: Simulation) -> None:
        if sim.t == self.at:
            sim.assign(np.array([0]), np.array([0]))
        if self.clock.due(sim):
            self.fired.append(sim.t)
            self.clock.mark(sim)


def test_the_clock_fires_when_a_robot_the_guard_sent_out_is_idle_again() -> None:
    disp = _ClockThenStandIn(at=1)
    sim = hall()
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(0)
    place(sim, (1, 4))
    two_orders(sim)
    done = None
    for _ in range(40):
        fleet.step()
        if done is None and sim.state.deliveries[0] == 1:
            done = sim.t
    assert done is not None and done < 20  # the errand took far less than the period
    assert sim.state.phase[0] == Phase.IDLE and sim.dispatchable_orders().tolist() == [1]
    # idle at the decision at 0, busy on the guard's order, idle again with order 1 open: a
    # new decision is due the step it is idle again, not a period later
    assert disp.fired == [0, done]


def test_the_clock_fires_when_a_robot_idle_at_the_last_decision_is_repaired() -> None:
    sim = hall()
    two_orders(sim)
    clock = DecisionClock(PERIOD)
    assert clock.due(sim)
    clock.mark(sim)  # robot 0 chose to wait
    sim.state.broken[0] = 3
    fired, repaired = [], None
    for _ in range(10):
        wait(sim)
        if repaired is None and 0 in sim.idle_robots():
            repaired = sim.t
        if clock.due(sim):
            fired.append(sim.t)
            clock.mark(sim)
    # "a robot became idle (finished a task, or was repaired)": the repair is the event
    assert repaired is not None and fired == [repaired]


def test_a_robot_that_waited_through_the_interval_still_does_not_fire() -> None:
    sim = hall()
    two_orders(sim)
    clock = DecisionClock(PERIOD)
    assert clock.due(sim)
    clock.mark(sim)
    for _ in range(10):
        wait(sim)
        assert not clock.due(sim)


# ------------------------------------------------------------------ FIFO: idle longest


def test_fifo_idle_longest_counts_from_the_last_task_not_the_last_waypoint() -> None:
    sim = hall(robots=2)  # robot 0 at (1, 4), robot 1 at (0, 0)
    fifo = FIFODispatcher()
    fifo.reset(0)
    sim.state.broken[1] = 5  # robot 1 is out of work until it is repaired
    for t in range(12):
        if t == 8:  # robot 0, idle since the start, reaches a parking sub-goal
            sim.set_waypoints(np.array([0]), np.array([sim.state.pos[0]]))
        fifo.dispatch(sim)  # (no order yet: it only watches)
        wait(sim)
    assert sim.state.since_goal[0] < sim.state.since_goal[1]  # the waypoint reset robot 0's
    assert set(sim.idle_robots().tolist()) == {0, 1}
    c = sim.floor.cell_of
    sim.orders.add(np.array([c[1, 3]]), np.array([c[1, 5]]), step=sim.t)
    fifo.dispatch(sim)
    # robot 0 has been idle since step 0, robot 1 only since its repair at 5
    assert sim.state.order.tolist() == [0, -1]


# ------------------------------------------------------------------ battery at reset


def low_start(**battery: object) -> Simulation:
    """Two robots that start at 20 % charge, recharge below 30 %; one charger at (0, 8)."""
    cfg = BatteryConfig.model_validate(
        {"capacity_wh": 100.0, "initial_soc": 0.2, "recharge_below": 0.3,
         "chargers": [[0, 8]], **battery}
    )  # fmt: skip
    sim = hall(robots=2, battery=cfg)
    sim.reset(seed=0)  # (hall moved the robots after its reset; start as reset places them)
    return sim


def test_robots_that_start_below_recharge_below_get_no_order_before_they_queue() -> None:
    sim = low_start()
    s = sim.state
    assert sim.t == 0 and (s.charge == Charge.NONE).all()  # they queue as the first step ends
    assert sim.idle_robots().size == 0  # ... and no dispatcher sees them before
    two_orders(sim)
    fifo = FIFODispatcher()
    fifo.dispatch(sim)
    assert (s.order == -1).all() and sim.open_orders().tolist() == [0, 1]
    fleet = Fleet(sim, fifo, make_navigator("rule_based"))
    fleet.step()
    # queued at the end of step 0, the first in line given the charger
    assert sorted(s.charge.tolist()) == [Charge.QUEUED, Charge.TO_CHARGER]
    assert (s.order == -1).all()


def test_robots_that_start_above_recharge_below_are_dispatchable_at_once() -> None:
    sim = low_start(initial_soc=0.5, opportunity_below=0.6)
    assert (sim.state.charge == Charge.NONE).all() and sim.idle_robots().tolist() == [0, 1]
