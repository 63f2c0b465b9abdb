"""Dispatching around scheduled closures: an open order whose pick location or station is closed
is held (``Simulation.dispatchable_orders``) by every dispatcher, served once its cells reopen,
and never a PPO candidate; a robot driving to such an order's pick hands it back; and without
pick or station closures the dispatchers see exactly the open orders, as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import warehouse
from agents import RuleBasedNavigator
from hierarchy import make_dispatcher
from hierarchy.dispatchers import FIFODispatcher, GreedyDispatcher, RandomDispatcher
from hierarchy.features import FeatureConfig, decision_features
from hierarchy.guard import AgeGuard
from hierarchy.hungarian import HungarianDispatcher
from hierarchy.smdp import DecisionClock, NoDispatch
from hierarchy.swaps import TaskSwaps, best_exchange
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

END_S = 20  #: the hall's closure: the east pick and the south station, 0 s to 20 s (1 s steps)


def hall(robots: int = 3, *, start_s: float = 0, end_s: float = END_S) -> Simulation:
    """A 3 × 9 hall: pick locations at the west (1, 0) and east (1, 8) ends, stations at the
    north (0, 4) and south (2, 4) of the middle; the east pick and the south station closed from
    ``start_s`` to ``end_s``. Robots idle around the east end; no orders arrive."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 0] = grid[1, 8] = NodeKind.PICK
    grid[0, 4] = grid[2, 4] = NodeKind.STATION
    closure = {"cells": [[1, 8], [2, 4]], "start_s": start_s, "end_s": end_s}
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate({"closures": [closure]}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    sim.state.pos[:] = f.cell_of[[1, 0, 2][:robots], [7, 7, 7][:robots]]
    sim.state_changed()
    return sim


def hall_orders(sim: Simulation) -> None:
    """Order 0: east pick → north station (its pick is closed); order 1: west pick → south
    station (its station is closed); order 2: west pick → north station (open). 0 is oldest."""
    f = sim.floor
    east, west, north, south = (f.cell_of[r, c] for r, c in ((1, 8), (1, 0), (0, 4), (2, 4)))
    sim.orders.add(np.array([east, west, west]), np.array([north, south, north]), step=0)


def wait(sim: Simulation, steps: int) -> None:
    for _ in range(steps):
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))


DISPATCHERS: dict[str, Callable[[], Any]] = {
    "greedy": GreedyDispatcher,
    "fifo": FIFODispatcher,
    "random": RandomDispatcher,
    "hungarian": HungarianDispatcher,
    "greedy_anticipate": lambda: GreedyDispatcher(anticipate=True),
    "hungarian_anticipate": lambda: HungarianDispatcher(anticipate=True),
    "guard": lambda: AgeGuard(NoDispatch(), max_age_s=1.0),  # only the guard assigns
    "swaps": lambda: TaskSwaps(GreedyDispatcher()),
    "ppo": lambda: make_dispatcher("ppo"),
}


@pytest.mark.parametrize("name", sorted(DISPATCHERS))
def test_each_dispatcher_holds_orders_at_closed_cells_and_serves_them_after(name: str) -> None:
    """Three idle robots, three orders: only the one whose pick and station are open is
    assigned while the closure lasts (the held ones are older, and the closed pick is next to
    the robots); once the cells reopen both held orders go to the robots still idle."""
    sim = hall()
    hall_orders(sim)
    dispatcher = DISPATCHERS[name]()
    dispatcher.reset(0)
    wait(sim, 3)  # the orders are 3 s old: overdue for the guard
    assert sim.open_orders().tolist() == [0, 1, 2]
    assert sim.dispatchable_orders().tolist() == [2]
    assert sim.orders_on_hold(np.arange(3)).tolist() == [True, True, False]
    for _ in range(END_S - 3):
        dispatcher.dispatch(sim)
        assert sim.orders.robot[:2].tolist() == [-1, -1]  # held, however long they wait
        wait(sim, 1)  # WAIT for everyone: the robots stay where they are
    assert sim.orders.robot[2] >= 0  # the open one was served meanwhile
    assert sim.t == END_S and sim.closed_nodes().size == 0
    assert sim.dispatchable_orders().tolist() == [0, 1]
    for _ in range(12):  # the PPO clock decides at most every 10 steps
        dispatcher.dispatch(sim)
        if (sim.orders.robot[:2] >= 0).all():
            break
        wait(sim, 1)
    assert (sim.orders.robot[:3] >= 0).all() and sim.open_orders().size == 0
    assert np.unique(sim.orders.robot[:3]).size == 3


def test_the_decision_clock_waits_while_every_open_order_is_held() -> None:
    sim = hall(robots=1)
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[1, 8]]), np.array([f.cell_of[0, 4]]), step=0)
    clock = DecisionClock(period=10)
    assert sim.idle_robots().size == 1 and sim.open_orders().size == 1
    assert not clock.due(sim)  # an idle robot and an open order, but nothing to choose
    wait(sim, END_S)
    assert clock.due(sim)


def test_ppo_candidates_leave_out_held_orders() -> None:
    """Held orders are in no candidate slot (their slots are masked), but still in the global
    features' backlog: the queue length counts all three open orders."""
    sim = hall()
    hall_orders(sim)
    cfg = FeatureConfig(candidates=4)
    dec = decision_features(sim, sim.idle_robots(), cfg)
    assert (dec.orders[dec.mask[:, :-1]] == 2).all() and (dec.orders[~dec.mask[:, :-1]] == -1).all()
    assert dec.mask[:, 0].all() and not dec.mask[:, 1:-1].any()
    assert dec.glob[0] == pytest.approx(np.log1p(3 / 3))
    wait(sim, END_S)
    dec = decision_features(sim, sim.idle_robots(), cfg)
    assert sorted(set(dec.orders[dec.mask[:, :-1]].tolist())) == [0, 1, 2]


def closing_tiny(**settings: Any) -> Simulation:
    """``tiny`` at a high arrival rate with the west pick locations (cols 3..6) of its first two
    pick rows closed from 30 s to 150 s (and anything in ``settings``). The third row stays
    open: with it closed too the west aisle and its stations would be cut off from the rest,
    and every order held (``test_closures_enclosed``)."""
    half = {"area": {"from": [0, 3], "to": [3, 6]}, "start_s": 30, "end_s": 150}
    env = warehouse.make_env(
        "tiny", **{"tasks.arrival_rate": 0.5, "faults.closures": [half], **settings}
    )
    return env.sim


def guard_assignments(sim: Simulation) -> list[int]:
    """Make ``sim.assign`` and ``sim.exchange_orders`` fail on a held order given to a robot
    that did not hold it; returns the list the held orders seen are appended to."""
    seen: list[int] = []
    assign, exchange = sim.assign, sim.exchange_orders

    def checked_assign(robots: np.ndarray, orders: np.ndarray) -> None:
        held = sim.orders_on_hold(np.asarray(orders, dtype=np.int64))
        assert not held.any(), f"held orders assigned at t={sim.t}"
        seen.append(int(sim.orders_on_hold(sim.open_orders()).sum()))
        assign(robots, orders)

    def checked_exchange(robots: np.ndarray, orders: np.ndarray) -> None:
        orders = np.asarray(orders, dtype=np.int64)
        moved = sim.state.order[np.asarray(robots)] != orders
        assert not sim.orders_on_hold(orders[moved]).any(), f"held order taken over at {sim.t}"
        exchange(robots, orders)

    sim.assign, sim.exchange_orders = checked_assign, checked_exchange  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize(
    ("dispatcher", "settings"),
    [
        ("ppo", {}),
        ("ppo_sampled", {}),
        ("ppo_routes", {}),
        ("greedy", {"policies.task_swaps": True}),
    ],
)
def test_no_held_order_is_ever_chosen_and_all_are_served_after(dispatcher: str, settings) -> None:
    """Over 400 steps of a busy floor (a third of its orders arrive at closed picks), no
    assignment and no task swap hands out a held order, though held orders are there to
    choose; the orders at the closed picks are delivered after they reopen."""
    sim = closing_tiny()
    if dispatcher == "ppo_sampled":
        inner: Any = make_dispatcher("ppo", deterministic=False)
    elif dispatcher == "ppo_routes":
        inner = make_dispatcher("ppo")
        from dataclasses import replace

        inner.features = replace(inner.features, routes=2)
        inner.net = _RouteScorer(inner.net)
    else:
        inner = make_dispatcher(dispatcher)
    if settings.get("policies.task_swaps"):
        inner = TaskSwaps(inner)
    fleet = Fleet(sim, inner, RuleBasedNavigator())
    fleet.reset(3)
    seen = guard_assignments(sim)
    west = (sim.floor.pos[sim.floor.picks, 1] <= 6) & (sim.floor.pos[sim.floor.picks, 0] <= 3)
    closed_picks = sim.floor.picks[west]
    fleet.run(400)
    assert max(seen) >= 5  # the test means something: held orders were there to choose
    ob = sim.orders
    at_closed = np.isin(ob.pick[: ob.count], closed_picks)
    during = at_closed & (ob.arrival[: ob.count] >= 30) & (ob.arrival[: ob.count] < 140)
    assigned = ob.assigned[: ob.count][during]
    # held to the reopening (or still open at the end: the floor is saturated), then served
    assert during.sum() >= 5 and ((assigned >= 150) | (assigned < 0)).all()
    assert (ob.delivered[: ob.count][during] >= 0).mean() > 0.5


class _RouteScorer:
    """Score any number of slots with the shipped network's direct-route features only (the
    shipped dispatcher has no hub routes): exercises the hub slots' mask with held orders."""

    def __init__(self, net: Any) -> None:
        self.net = net

    def eval(self) -> _RouteScorer:
        return self

    def logits(self, cand: Any, glob: Any, mask: Any) -> Any:
        import torch

        scores = cand[..., 0] * -10.0 + cand[..., 12]  # near orders first, hub slots first
        wait = torch.full((scores.shape[0], 1), -1e6)  # WAIT only when nothing else is open
        raw = torch.cat([scores, wait], dim=1)
        return torch.where(mask, raw, torch.tensor(-1e9))


def test_a_robot_hands_back_an_order_whose_pick_closes_and_no_swap_takes_it() -> None:
    """Robot 0 drives to the east pick from the west end; robot 2 idles next to that pick. A
    task swap would hand the order to robot 2 while the pick is open; once it closes robot 0
    hands the order back (it is held: no swap nor dispatcher gives it), and the swap comes
    back when the pick reopens and a dispatcher gives it again."""
    sim = hall(start_s=2)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[1, 1], f.cell_of[0, 0], f.cell_of[1, 7]]
    sim.state_changed()
    hall_orders(sim)
    sim.assign(np.array([0]), np.array([0]))  # the east order, before its pick closes
    robots, orders = best_exchange(sim)
    assert dict(zip(robots.tolist(), orders.tolist(), strict=True)) == {2: 0}
    wait(sim, 2)
    assert f.cell_of[1, 8] in sim.closed_nodes()
    assert s.order.tolist() == [-1, -1, -1] and s.phase[0] == Phase.IDLE  # handed back
    assert 0 in sim.open_orders() and 0 not in sim.dispatchable_orders()
    assert best_exchange(sim)[0].size == 0
    greedy = GreedyDispatcher()
    greedy.dispatch(sim)  # gives the open order 2, never 0
    assert sorted(s.order.tolist()) == [-1, -1, 2]
    swaps = TaskSwaps(NoDispatch())
    swaps.dispatch(sim)
    assert 0 not in s.order and swaps.swaps == 0
    wait(sim, END_S - 2)
    assert sim.closed_nodes().size == 0 and 0 in sim.dispatchable_orders()
    far = int(np.flatnonzero(s.pos == f.cell_of[0, 0])[0])  # robot 1, at the west end
    sim.assign(np.array([far]), np.array([0]))
    robots, orders = best_exchange(sim)
    assert 0 in orders.tolist()  # a robot nearer the east pick may take it over


@pytest.mark.parametrize(
    ("settings", "possible"),
    [
        ({"faults.closure_prob": 0.3, "faults.breakdown_prob": 0.02}, False),  # aisles only
        ({"faults.closures": [{"cells": [[1, 7], [2, 7]], "start_s": 5, "end_s": 80}]}, False),
        ({"faults.closures": [{"area": {"from": [0, 0], "to": [6, 12]}, "start_s": 500}]}, True),
    ],
    ids=["random", "aisle_schedule", "late_schedule"],
)
def test_without_pick_or_station_closures_the_dispatchers_see_the_open_orders(
    settings: dict, possible: bool
) -> None:
    """``dispatchable_orders()`` is ``open_orders()`` itself (the same array, no copy) at every
    step, and the PPO fleet's decisions are those of a fleet that calls ``open_orders()``."""
    env = warehouse.make_env("tiny", **{"tasks.arrival_rate": 0.5, **settings})
    sim = env.sim
    fleet = Fleet(sim, make_dispatcher("ppo"), RuleBasedNavigator())
    fleet.reset(1)
    assert sim.order_closures_possible == possible
    calls = 0
    for _ in range(120):
        assert sim.dispatchable_orders() is sim.open_orders()
        calls += sim.open_orders().size > 0
        fleet.step()
    assert calls > 50
    # the same run with dispatchable_orders() replaced by open_orders(): identical trajectory
    twin_env = warehouse.make_env("tiny", **{"tasks.arrival_rate": 0.5, **settings})
    twin = twin_env.sim
    twin.dispatchable_orders = twin.open_orders  # type: ignore[method-assign]
    twin_fleet = Fleet(twin, make_dispatcher("ppo"), RuleBasedNavigator())
    twin_fleet.reset(1)
    twin_fleet.run(120)
    assert np.array_equal(twin.state.pos, sim.state.pos)
    assert np.array_equal(
        twin.orders.robot[: twin.orders.count], sim.orders.robot[: sim.orders.count]
    )
