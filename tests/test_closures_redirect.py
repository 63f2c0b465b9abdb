"""``faults.redirect_loaded``: a robot carrying an order to a station a scheduled closure
closes (or cuts off) delivers it to the open station nearest it instead; off, it keeps the
order and waits for its station to reopen."""

from __future__ import annotations

import numpy as np
import pytest

from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

S, A, P, X = NodeKind.STATION, NodeKind.AISLE, NodeKind.PICK, NodeKind.BLOCKED


#: ``S A A P A A A S`` plus a third station (2, 4) below the corridor
CORRIDOR = np.array([[S, A, A, P, A, A, A, S], [X, X, X, X, A, X, X, X],
                     [X, X, X, X, S, X, X, X]], np.int8)  # fmt: skip


def corridor_sim(redirect: bool, closures: list[dict], robots: int = 1, **tasks) -> Simulation:
    """The corridor floor, reset, no order yet (``tasks``: more :class:`TasksConfig` fields)."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1, drop_time=1, **tasks),
        faults=FaultsConfig.model_validate({"closures": closures, "redirect_loaded": redirect}),
    )
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    return sim


def corridor(redirect: bool, closures: list[dict]) -> Simulation:
    """The robot stands at the pick (0, 3) carrying an order to the west station (0, 0)."""
    sim = corridor_sim(redirect, closures)
    f = sim.floor
    sim.state.pos[0] = f.cell_of[0, 3]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 3]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    return sim


def west(sim: Simulation) -> int:
    return int(sim.floor.cell_of[0, 0])


def drive(sim: Simulation, steps: int) -> None:
    """Steps with the robot taking the first move its distance row says gets closer."""
    f, s = sim.floor, sim.state
    for _ in range(steps):
        target, _slot = sim.target_slots()
        if target[0] < 0:  # delivered: nothing to do
            sim.step(np.zeros(1, dtype=np.int64))
            continue
        mask = sim.action_mask()[0]
        here = s.pos[0]
        best, act = sim.dist.lookup(np.array([target[0]]), np.array([here]))[0], 0
        for a in np.flatnonzero(mask):
            d = sim.dist.lookup(np.array([target[0]]), np.array([f.nbr[here, a]]))[0]
            if d < best:
                best, act = d, int(a)
        sim.step(np.array([act]))


@pytest.mark.parametrize("redirect", [False, True])
def test_a_loaded_robot_whose_station_closes_goes_to_the_nearest_open_one(redirect) -> None:
    sim = corridor(redirect, [{"cells": [[0, 0]], "start_s": 2, "end_s": 60}])
    drive(sim, 4)  # picks (1 step), then the station closes at clock 2
    s, ob, f = sim.state, sim.orders, sim.floor
    assert s.phase[0] in (Phase.TO_DROP, Phase.DROPPING)
    # the south station (2, 4) is 3 steps from the pick, the east one (0, 7) 4
    want = int(f.cell_of[2, 4]) if redirect else west(sim)
    assert s.task_goal[0] == want and ob.station[0] == want
    drive(sim, 20)
    assert (ob.delivered[0] >= 0) == redirect  # off: waits until 60 s
    if redirect:
        assert s.deliveries[0] == 1 and sim.t < 60


def test_a_robot_shut_in_keeps_its_station() -> None:
    """The pick's stretch (0, 2..3) cut off by its two closed neighbours (0, 1) and (0, 4):
    the robot cannot reach any station, so nothing changes."""
    closures = [{"cells": [[0, 0], [0, 1], [0, 4]], "start_s": 2, "end_s": 60}]
    sim = corridor(True, closures)
    drive(sim, 6)
    s = sim.state
    assert sim.shut_in is not None and sim.shut_in[s.pos[0]]
    assert s.task_goal[0] == west(sim) and sim.orders.station[0] == west(sim)


def test_with_a_station_limit_each_open_station_takes_only_the_robots_it_has_room_for() -> None:
    """Two robots carry orders to the west station when it closes; ``tasks.station_limit: 1``:
    both are nearest the south station, which has room for one: the nearer takes it, the other
    the east station, and no open station ever has two orders in progress."""
    closures = [{"cells": [[0, 0]], "start_s": 1, "end_s": 60}]
    sim = corridor_sim(True, closures, robots=2, station_limit=1)
    f, s = sim.floor, sim.state
    sim.orders.add(np.array([f.cell_of[0, 3], f.cell_of[0, 3]]), np.full(2, west(sim)), step=0)
    sim.assign(np.array([0, 1]), np.array([0, 1]))
    s.pos[:] = [f.cell_of[0, 3], f.cell_of[0, 2]]  # both loaded: 3 and 4 steps from the south
    s.phase[:] = Phase.TO_DROP
    s.task_goal[:] = west(sim)
    sim.state_changed()
    south, east = int(f.cell_of[2, 4]), int(f.cell_of[0, 7])
    others = np.searchsorted(f.stations, [south, east])
    for _ in range(3):
        sim.step(np.zeros(2, dtype=np.int64))
        assert sim.orders_in_progress()[others].max() <= 1
    assert s.task_goal.tolist() == [south, east]
    assert sim.orders.station[:2].tolist() == [south, east]


def open_order(closures: list[dict], redirect: bool) -> Simulation:
    """The corridor floor, one idle robot at (0, 5) and an open order from the pick (0, 3) to
    the west station (0, 0)."""
    sim = corridor_sim(redirect, closures)
    f = sim.floor
    sim.state.pos[0] = f.cell_of[0, 5]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 3]]), np.array([west(sim)]), step=0)
    return sim


@pytest.mark.parametrize("redirect", [False, True])
def test_an_order_for_a_closed_station_is_held_only_without_redirect(redirect) -> None:
    """With the setting on, the order's station does not hold it while another station is
    open: it is dispatched, picked and delivered to the nearest open station."""
    sim = open_order([{"cells": [[0, 0]], "start_s": 0, "end_s": 60}], redirect)
    assert sim.dispatchable_orders().tolist() == ([0] if redirect else [])
    if not redirect:
        return
    sim.assign(np.array([0]), np.array([0]))
    drive(sim, 12)
    south = int(sim.floor.cell_of[2, 4])
    assert sim.orders.station[0] == south and sim.orders.delivered[0] >= 0 and sim.t < 60


def test_with_every_station_closed_the_order_is_held_until_the_first_reopens() -> None:
    """All three stations closed, the west one until 20 s, the others until 40 s: held even
    with the setting on, and dispatchable (``open_since`` 20) from 20 s."""
    from warehouse.core.closures import open_since

    closures = [
        {"cells": [[0, 0]], "start_s": 0, "end_s": 20},
        {"cells": [[0, 7], [2, 4]], "start_s": 0, "end_s": 40},
    ]
    sim = open_order(closures, True)
    seen = []
    for _ in range(25):
        seen.append(sim.dispatchable_orders().size)
        sim.step(np.zeros(1, dtype=np.int64))
    assert seen[:20] == [0] * 20 and seen[20:] == [1] * 5
    assert open_since(sim, np.array([0])).tolist() == [20]


@pytest.mark.parametrize("redirect", [False, True])
def test_a_robot_driving_to_the_pick_keeps_its_order_when_its_station_closes(redirect) -> None:
    """Off, the order goes back (held); on, the robot keeps it, picks, and delivers it to the
    open station nearest it."""
    sim = open_order([{"cells": [[0, 0]], "start_s": 1, "end_s": 60}], redirect)
    sim.assign(np.array([0]), np.array([0]))
    drive(sim, 2)  # the closure begins at clock 1
    s = sim.state
    assert s.order[0] == (0 if redirect else -1)
    assert (sim.orders.robot[0] == 0) == redirect
    if redirect:
        drive(sim, 12)
        assert sim.orders.delivered[0] >= 0 and sim.orders.station[0] == sim.floor.cell_of[2, 4]


@pytest.mark.parametrize("redirect", [False, True])
def test_the_dispatchers_read_the_drop_to_the_station_the_order_will_reach(redirect) -> None:
    """``drop_steps`` (the PPO dispatcher's feature 1, Hungarian ``with_delivery``), the order
    bound for the east station (0, 7), 4 steps from the pick, closed: with the setting, the 3
    steps to the nearest open station (west or south); without it, the distance to its own."""
    from hierarchy.hungarian import assignment_costs
    from warehouse.core.closures import drop_steps

    sim = open_order([{"cells": [[0, 7]], "start_s": 0, "end_s": 60}], redirect)
    sim.orders.station[0] = sim.floor.cell_of[0, 7]
    pick, station = sim.orders.pick[:1], sim.orders.station[:1]
    got = drop_steps(sim, pick, station)
    assert got.tolist() == [3.0 if redirect else float(sim.dist.lookup(station, pick)[0])]
    assert got[0] >= 4 or redirect
    cost = assignment_costs(sim, np.array([0]), np.array([0]), with_delivery=True)
    assert cost[0, 0] == 2 + got[0]  # (0, 5) → (0, 3), then the drop
