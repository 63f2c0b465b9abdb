"""Audit of the dispatch layer around scheduled closures: the decision clock after a robot was
shut in, pairs a robot reaches only through closed cells, and anticipation counting a robot
bound for a closed station."""

from __future__ import annotations

import numpy as np
from sim_helpers import place, wait
from test_closures_enclosed import pocket_floor

from hierarchy.anticipation import finishing_robots
from hierarchy.dispatchers import FIFODispatcher, GreedyDispatcher, assign_nearest
from hierarchy.features import FeatureConfig, candidate_set
from hierarchy.hungarian import HungarianDispatcher, assignment_costs
from hierarchy.smdp import DecisionClock, NoDispatch
from hierarchy.swaps import TaskSwaps
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

PERIOD = 1000  #: long enough that the period never fires in these scenes


# ------------------------------------------------------------------ the decision clock


def test_the_clock_fires_when_a_robot_idle_at_the_last_decision_is_no_longer_shut_in() -> None:
    """Robot 0 waits idle in the pocket at the decision at 0; closed cells shut it in from 2 s to
    10 s. Let out at 10 with the corridor's order open, it is available again, as a repaired
    robot is: a decision is due then, not a period later."""
    sim = pocket_floor([{"cells": [[1, 3], [1, 5]], "start_s": 2, "end_s": 10}], robots=1)
    f = sim.floor
    place(sim, (2, 3))
    sim.orders.add(np.array([f.cell_of[0, 6]]), np.array([f.cell_of[0, 0]]), step=0)
    clock = DecisionClock(PERIOD)
    assert clock.due(sim)
    clock.mark(sim)  # robot 0 chose to wait
    fired, shut = [], []
    for _ in range(14):
        wait(sim)
        if sim.shut_in is not None and sim.shut_in[sim.state.pos[0]]:
            shut.append(sim.t)
        if clock.due(sim):
            fired.append(sim.t)
            clock.mark(sim)
    assert shut == list(range(2, 10)) and fired == [10]


# ------------------------------------------------------------------ pairs cut off by closures


def stuck_robot() -> Simulation:
    """The pocket floor with (1, 3), (1, 5) and (2, 3) closed from 1 s to 30 s and robot 0 on
    (2, 3): its only way out of the closed cells leads into the pocket, which the closures cut
    off, so it reaches the corridor's pick (0, 6) only once they reopen. It is not shut in (it
    stands on a closed cell), so it is idle; one order is open, at (0, 6)."""
    cells = [[1, 3], [1, 5], [2, 3]]
    sim = pocket_floor([{"cells": cells, "start_s": 1, "end_s": 30}], robots=2)
    f = sim.floor
    place(sim, (2, 3), (0, 1))
    sim.orders.add(np.array([f.cell_of[0, 4]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([1]), np.array([0]))  # robot 1 is busy
    sim.orders.add(np.array([f.cell_of[0, 6]]), np.array([f.cell_of[0, 0]]), step=0)
    wait(sim)
    pick = f.cell_of[0, 6]
    assert sim.idle_robots().tolist() == [0] and sim.dispatchable_orders().tolist() == [1]
    assert not sim.dist.reaches(np.array([pick]), sim.state.pos[:1])[0]
    assert sim.dist.lookup(np.array([pick]), sim.state.pos[:1])[0] < np.iinfo(np.uint16).max
    return sim


def test_assign_nearest_hands_out_no_pair_the_closures_cut_off() -> None:
    sim = stuck_robot()
    assign_nearest(sim, np.array([0], np.int32), np.array([1], np.int32))
    assert sim.state.order[0] == -1 and sim.orders.robot[1] == -1
    GreedyDispatcher().dispatch(sim)
    assert sim.state.order[0] == -1 and sim.orders.robot[1] == -1


def test_fifo_gives_the_order_to_no_robot_the_closures_cut_off_from_it() -> None:
    sim = stuck_robot()
    FIFODispatcher().dispatch(sim)
    assert sim.state.order[0] == -1 and sim.orders.robot[1] == -1


def test_fifo_passes_over_a_cut_off_robot_to_the_next_idle_longest() -> None:
    """Robot 1 hands its order back, so both orders are open and both robots idle, robot 0
    (stuck) the longer: the oldest order goes to robot 1, the other stays open."""
    sim = stuck_robot()
    sim.release_orders(np.array([1]))
    sim.state.since_goal[:] = [50, 0]
    FIFODispatcher().dispatch(sim)
    assert sim.state.order.tolist() == [-1, 0] and sim.orders.robot[1] == -1


def test_hungarian_assigns_no_pair_the_closures_cut_off() -> None:
    sim = stuck_robot()
    cost = assignment_costs(sim, np.array([0], np.int32), np.array([1], np.int32))
    assert np.isinf(cost).all()
    assert HungarianDispatcher().decide(sim)[0].size == 0


def test_ppo_candidates_leave_out_pairs_the_closures_cut_off() -> None:
    sim = stuck_robot()
    _, top, d = candidate_set(sim, np.array([0], np.int32), FeatureConfig())
    assert np.isinf(d).all() and (top == -1).all()


def test_the_stuck_robot_gets_the_order_once_the_cells_reopen() -> None:
    sim = stuck_robot()
    while sim.t < 30:
        wait(sim)
    GreedyDispatcher().dispatch(sim)
    assert sim.state.order[0] == 1


# ------------------------------------------------------------------ anticipation


def station_hall() -> Simulation:
    """A 3 × 9 aisle hall (1 s steps, no arrivals) with a station at (1, 0) closed from 1 s to
    100 s, a pick at (0, 8); robot 0 carries an order to the station from (1, 6)."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 0], grid[0, 8] = NodeKind.STATION, NodeKind.PICK
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate(
            {"closures": [{"cells": [[1, 0]], "start_s": 1, "end_s": 100}]}
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    c = sim.floor.cell_of
    place(sim, (1, 6))
    sim.orders.add(np.array([c[0, 8]]), np.array([c[1, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    sim.state.phase[0] = Phase.TO_DROP
    sim.state.task_goal[0] = c[1, 0]
    sim.state_changed()
    return sim


def test_a_robot_carrying_to_a_closed_station_is_not_coming() -> None:
    """Anticipation holds orders for robots about to be free; one bound for a station closed
    for the next 99 s is not, however steadily it drives there."""
    sim = station_hall()
    assert finishing_robots(sim)[0].tolist() == [0]  # before the closure: coming
    wait(sim)
    assert sim.t == 1 and sim.held_until(np.array([sim.floor.cell_of[1, 0]]))[0] > sim.t
    assert finishing_robots(sim)[0].size == 0


# ------------------------------------------------------------------ task swaps


def test_swaps_are_solved_again_when_a_robot_is_let_out_of_a_pocket() -> None:
    """Robot 0 is given the corridor's order at 3 s while broken down for 100 steps; robot 1 is
    shut in the pocket then. Let out at 10 s it becomes available, 5 steps from the pick: the
    matching is solved again then and robot 1 takes the order over, not a period later."""
    sim = pocket_floor([{"cells": [[1, 3], [1, 5]], "start_s": 2, "end_s": 10}], robots=2)
    f = sim.floor
    place(sim, (0, 1), (2, 3))
    sim.orders.add(np.array([f.cell_of[0, 6]]), np.array([f.cell_of[0, 0]]), step=0)
    swaps = TaskSwaps(NoDispatch(), period=PERIOD)
    swaps.reset(0)
    taken = None
    for _ in range(14):
        if sim.t == 3:
            assert sim.idle_robots().tolist() == [0]  # robot 1 is shut in
            sim.assign(np.array([0]), np.array([0]))
            sim.state.broken[0] = 100
        swaps.dispatch(sim)
        if taken is None and sim.state.order[1] == 0:
            taken = sim.t
        wait(sim)
    assert taken == 10 and sim.state.order[0] == -1
