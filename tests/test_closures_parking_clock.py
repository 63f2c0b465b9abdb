"""Parking and the PPO decision clock around scheduled closures (``faults.closures``).

Parking chooses among spots that are open and reachable around the active scheduled closures,
re-matches a robot whose chosen spot such a closure closes or cuts off, and leaves robots parked
on a closing spot to the simulation (which sends them out); random closures are not reacted
to. The decision clock fires on the step a held order becomes dispatchable (its cells reopen),
and nowhere else; without a schedule its decision steps are those of the clock before the event
existed."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from test_closure_routing import cut_graph, floor_digraph
from test_distances import random_floor

from agents import make_navigator
from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.parking import IdleParking, parking_moves
from hierarchy.smdp import DecisionClock
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.floor import DistanceCache, NodeKind, compile_floor, graph_from_grid


def hall(closures: list[dict], robots: int = 2, cells=((1, 1), (1, 8)), **faults) -> Simulation:
    """A 3 × 9 hall of aisle cells (1 s steps), a station at (1, 0), no arrivals; robots at
    ``cells``."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 0] = NodeKind.STATION
    grid[0, 5] = NodeKind.PICK
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate({"closures": closures, **faults}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    sim.state.pos[:] = [sim.floor.cell_of[c] for c in cells[:robots]]
    sim.state.since_goal[:] = 50
    sim.state_changed()
    return sim


def wait(sim: Simulation, steps: int) -> None:
    for _ in range(steps):
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))


def moves(sim: Simulation, spots: np.ndarray) -> dict[int, tuple[int, int] | None]:
    robots, to = parking_moves(sim, 0, spots)
    f = sim.floor
    return {
        int(r): (None if v < 0 else tuple(f.pos[v].tolist()))
        for r, v in zip(robots, to, strict=True)
    }


A, C, B = (0, 2), (2, 3), (2, 6)  #: spots: robot 0 at (1, 1) is 2 steps from A, 3 from C


def spots_of(sim: Simulation, cells=(A, C, B)) -> np.ndarray:
    return np.array([sim.floor.cell_of[c] for c in cells], np.int32)


# ------------------------------------------------------------------ DistanceCache.reaches


@pytest.mark.parametrize("seed", range(6))
def test_reaches_tells_paths_around_the_closed_nodes_from_cut_off_ones(seed: int) -> None:
    _, floor = random_floor(seed)
    g = floor_digraph(floor)
    cache = DistanceCache(floor)
    goals = np.arange(floor.n_nodes)
    nodes = np.arange(floor.n_nodes)
    static = cache.reaches(goals[:, None], nodes[None, :])
    assert np.array_equal(static, cache.lookup(goals[:, None], nodes[None, :]) < 65535)
    closed = np.flatnonzero(np.random.default_rng(seed).random(floor.n_nodes) < 0.3)
    cache.set_closed(closed)
    mask = np.zeros(floor.n_nodes, dtype=bool)
    mask[closed] = True
    for goal in range(floor.n_nodes):
        # the goal's own in-edges stay: a closed goal is still reached from around it; robots
        # inside the closed nodes reach it by moving outward through them
        around = nx.ancestors(cut_graph(g, mask, goal), goal) | {goal}
        want = np.isin(nodes, list(around))
        assert np.array_equal(cache.reaches(np.full(nodes.size, goal), nodes), want), goal


# ------------------------------------------------------------------ parking


def test_idle_robots_park_on_open_spots_while_a_closure_lasts_and_on_any_after() -> None:
    closure = [{"cells": [list(A)], "start_s": 0, "end_s": 10}]
    plain, sim = hall([]), hall(closure)
    assert moves(plain, spots_of(plain)) == {0: A, 1: B}  # without closures, as before
    assert moves(sim, spots_of(sim)) == {0: C, 1: B}  # A is closed: robot 0 takes C
    wait(sim, 9)
    sim.state.since_goal[:] = 50
    assert moves(sim, spots_of(sim)) == {0: C, 1: B}
    wait(sim, 1)  # the closure ends at 10 s
    assert sim.closed_nodes().size == 0
    assert moves(sim, spots_of(sim)) == {0: A, 1: B}


def test_spots_cut_off_by_a_closure_are_not_chosen() -> None:
    """Column 3 closed splits the hall: the west spot W is open but reached from the east only
    through closed cells, so the two robots in the east share the one east spot."""
    wall = [{"cells": [[0, 3], [1, 3], [2, 3]], "start_s": 0, "end_s": 10}]
    cells = ((2, 7), (1, 8))  # robot 0 is next to B
    spots = ((0, 1), B)
    plain, sim = hall([], cells=cells), hall(wall, cells=cells)
    assert moves(plain, spots_of(plain, spots)) == {0: B, 1: (0, 1)}
    assert moves(sim, spots_of(sim, spots)) == {0: B}  # robot 1 waits where it is
    wait(sim, 10)
    sim.state.since_goal[:] = 50
    assert moves(sim, spots_of(sim, spots)) == {0: B, 1: (0, 1)}


def test_a_robot_whose_spot_closes_on_the_way_looks_for_another_one_parked_there_leaves() -> None:
    closure = [{"cells": [list(A), list(B)], "start_s": 3, "end_s": 20}]
    sim = hall(closure, robots=3, cells=((1, 1), (1, 8), B))  # robot 2 parked on B
    f, s = sim.floor, sim.state
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[A]]))  # robot 0 drives to A
    s.since_goal[:] = 50
    assert moves(sim, spots_of(sim)) == {1: C}  # robot 0 keeps A, robot 2 stays on B
    wait(sim, 3)  # A and B close (robots do not move: all WAIT)
    s.since_goal[:] = 50
    # robot 0's spot A closed: the closure event dropped it (the parking code gives another)
    assert s.pos[2] == f.cell_of[B] and s.waypoint[0] == -1
    # robot 2, parked on B as it closed, is sent to the nearest open cell (the simulation's
    # evacuation), not to a spot; robot 0 leaves A for C (robot 1, farther, gets none)
    assert s.waypoint[2] >= 0 and not sim.dist.closed[s.waypoint[2]]
    assert sim.dist.lookup(np.array([s.waypoint[2]]), np.array([s.pos[2]]))[0] == 1
    assert moves(sim, spots_of(sim)) == {0: C}
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[C]]))
    s.waypoint[1] = f.cell_of[A]  # no open spot left for a robot heading to a closed one:
    sim.state_changed()
    assert moves(sim, spots_of(sim)) == {1: None}  # it drops its sub-goal


def test_a_spot_cut_off_on_the_way_is_given_up() -> None:
    wall = [{"cells": [[0, 3], [1, 3], [2, 3]], "start_s": 2, "end_s": 10}]
    sim = hall(wall, robots=1, cells=((1, 8),))
    f = sim.floor
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[0, 1]]))
    sim.state.since_goal[:] = 50
    spots = spots_of(sim, ((0, 1), B))
    assert moves(sim, spots) == {}
    wait(sim, 2)
    sim.state.since_goal[:] = 50
    assert moves(sim, spots) == {0: B}


def test_random_closures_are_not_reacted_to_on_the_way() -> None:
    """A random closure (unannounced) of the spot a robot drives to changes nothing for it."""
    sim = hall([], robots=1)
    f = sim.floor
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[A]]))
    sim.state.since_goal[:] = 50
    sim.closed_until[f.cell_of[A]] = sim.t + 10
    assert moves(sim, spots_of(sim)) == {}


def test_through_the_wrapper_no_robot_parks_on_a_closed_spot_until_it_reopens() -> None:
    """Parking cells drawn on the map, the middle one closed from 0 s to 60 s: three robots
    park on the others and one waits; after the reopening all four park."""
    from warehouse.floor.formats import parse_ascii

    drawing = "S...pp....\n.##.PPP...\nS...pp....\n"
    sc, src = load_scenario("tiny")
    closure = {"cells": [[1, 5]], "start_s": 0, "end_s": 60}
    layout = {"type": "ascii", "map": drawing}
    over = {"layout": layout, "fleet.robots": 3, "tasks.arrival_rate": 0.0,
            "faults.closures": [closure], "policies.park_idle": 0}  # fmt: skip
    sc = apply_overrides(sc, over, src)
    floor = build_floor(sc, src)
    assert np.array_equal(floor.kind, compile_floor(parse_ascii(drawing)).kind)
    sim = Simulation(floor, sc.sim_config())
    fleet = Fleet(sim, IdleParking(GreedyDispatcher(), 0.0), make_navigator("rule_based"))
    fleet.reset(0)
    spots = np.flatnonzero(floor.kind == NodeKind.PARKING)
    middle = floor.cell_of[1, 5]
    for _ in range(59):
        fleet.step()
        assert not (sim.state.waypoint == middle).any()
        assert not (sim.state.pos == middle).any()
    parked = np.isin(sim.state.pos, spots).sum()
    assert parked == 2  # two open spots for three robots
    fleet.run(40)
    assert sorted(sim.state.pos.tolist()) == spots.tolist()


# ------------------------------------------------------------------ the decision clock

END = 20  #: the east pick (1, 8) closed from 0 s to 20 s


def clock_hall(closures: list[dict]) -> Simulation:
    """One idle robot at (1, 4); order 0 from the east pick (closed while the schedule says),
    order 1 from the west pick, both to the station at (1, 0)... (2, 4)."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 0] = grid[1, 8] = NodeKind.PICK
    grid[2, 4] = NodeKind.STATION
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate({"closures": closures}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    sim.state.pos[0] = f.cell_of[1, 4]
    sim.state_changed()
    east, west, south = f.cell_of[1, 8], f.cell_of[1, 0], f.cell_of[2, 4]
    sim.orders.add(np.array([east, west]), np.array([south, south]), step=0)
    return sim


def due_steps(sim: Simulation, clock: DecisionClock, steps: int) -> list[int]:
    """The clocks at which a decision fell due (each time everyone chose to WAIT)."""
    out = []
    for _ in range(steps):
        if clock.due(sim):
            out.append(sim.t)
            clock.mark(sim)
        wait(sim, 1)
    return out


@pytest.mark.parametrize("start", [0, 5])
def test_the_clock_fires_on_the_step_a_held_order_becomes_dispatchable(start: int) -> None:
    sim = clock_hall([{"cells": [[1, 8]], "start_s": start, "end_s": END}])
    assert due_steps(sim, DecisionClock(period=1000), 40) == [0, END]
    assert sim.dispatchable_orders().tolist() == [0, 1]


def test_without_a_reopening_the_clock_does_not_fire() -> None:
    for closures in ([], [{"cells": [[1, 8]], "start_s": 0, "end_s": None}],
                     [{"cells": [[0, 4]], "start_s": 0, "end_s": END}]):  # fmt: skip
        sim = clock_hall(closures)
        assert due_steps(sim, DecisionClock(period=1000), 40) == [0], closures


def test_a_reopening_while_no_robot_is_idle_fires_once_one_is() -> None:
    sim = clock_hall([{"cells": [[1, 8]], "start_s": 0, "end_s": END}])
    clock = DecisionClock(period=1000)
    assert clock.due(sim)
    clock.mark(sim)
    sim.state.broken[0] = END + 5  # no idle robot across the reopening
    fired = due_steps(sim, clock, 40)
    # repaired at END + 5: the repair (a robot becomes idle) fires, as before; nothing earlier
    assert fired and fired[0] > END


class OldClock(DecisionClock):
    """The clock as it was before the reopening event (its ``due`` copied)."""

    def due(self, sim: Simulation) -> bool:
        idle = sim.idle_robots()
        if idle.size == 0 or sim.dispatchable_orders().size == 0:
            return False
        if self._idle is None or sim.t - self._t >= self.period:
            return True
        if sim.orders.count != self._orders:
            return True
        if self._routed is not None and (self._routed & (sim.state.waypoint < 0)).any():
            return True
        return bool((~self._idle[idle]).any())


@pytest.mark.parametrize("closures", [[], [{"cells": [[0, 3]], "start_s": 5, "end_s": 40}]])
def test_without_pick_or_station_closures_the_decision_steps_are_as_before(closures) -> None:
    """A run with arrivals and a greedy dispatcher deciding at the clock's events: the new clock
    and the old one fall due at the same steps (no schedule, or one closing an aisle only)."""
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"faults.closures": closures, "robots": 3}, src)
    fired = []
    for cls in (DecisionClock, OldClock):
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        fleet = Fleet(sim, None, make_navigator("rule_based"))
        fleet.reset(0)
        greedy, clock, steps = GreedyDispatcher(), cls(period=7), []
        for _ in range(300):
            if clock.due(sim):
                steps.append(sim.t)
                greedy.dispatch(sim)
                clock.mark(sim)
            fleet.step()
        fired.append(steps)
    assert fired[0] == fired[1] and len(fired[0]) > 10
