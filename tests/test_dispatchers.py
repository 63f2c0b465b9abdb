"""Classical dispatchers: greedy nearest robot, FIFO, random; the compiled greedy matcher."""

from __future__ import annotations

import numpy as np
import pytest

from hierarchy.dispatchers import (
    FIFODispatcher,
    GreedyDispatcher,
    RandomDispatcher,
    greedy_match,
    make_dispatcher,
)
from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

# One corridor: station at the west end, picks at columns 3 and 9.
ROW = [NodeKind.STATION] + [NodeKind.AISLE] * 9
ROW[3] = ROW[9] = NodeKind.PICK


def corridor(robots: int, cols: list[int]) -> Simulation:
    cfg = SimConfig(fleet=FleetConfig(robots=robots), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(np.array([ROW], np.int8))), cfg)
    sim.reset(seed=0)
    sim.state.pos = np.array([sim.floor.cell_of[0, c] for c in cols], np.int32)
    return sim


def add_orders(sim: Simulation, pick_cols: list[int]) -> None:
    f = sim.floor
    picks = np.array([f.cell_of[0, c] for c in pick_cols])
    sim.orders.add(picks, np.full(len(pick_cols), f.cell_of[0, 0]), step=sim.t)


def test_greedy_match_takes_cheapest_unused_column_oldest_row_first():
    cost = np.array([[5, 1, 9], [1, 2, 9], [4, 8, 3], [1, 1, 1]], dtype=np.int64)
    assert greedy_match(cost).tolist() == [1, 0, 2, -1]
    assert greedy_match(np.zeros((2, 0), np.int64)).tolist() == [-1, -1]


def test_greedy_assigns_the_nearest_idle_robot():
    sim = corridor(2, [1, 8])
    add_orders(sim, [9, 3])  # order 0 at column 9 (oldest), order 1 at column 3
    GreedyDispatcher().dispatch(sim)
    assert sim.state.order.tolist() == [1, 0]  # robot 1 (col 8) takes the column-9 order
    assert (sim.state.phase == Phase.TO_PICK).all() and sim.open_orders().size == 0


def test_greedy_leaves_orders_when_nobody_is_idle():
    sim = corridor(1, [1])
    add_orders(sim, [3, 9])
    GreedyDispatcher().dispatch(sim)
    assert sim.state.order.tolist() == [0] and sim.open_orders().tolist() == [1]
    sim.state.broken[:] = 3
    GreedyDispatcher().dispatch(sim)  # broken-down robots are not idle either
    assert sim.open_orders().tolist() == [1]


def test_fifo_gives_the_oldest_order_to_the_longest_idle_robot():
    sim = corridor(3, [1, 5, 8])
    sim.state.since_goal[:] = [3, 9, 9]
    add_orders(sim, [9, 3])
    FIFODispatcher().dispatch(sim)
    # Robots 1 and 2 idled longest (tie: lowest id first); order 0 is the oldest.
    assert sim.state.order.tolist() == [-1, 0, 1]


def test_random_dispatcher_uses_its_own_seeded_rng():
    def run(seed):
        sim = corridor(4, [1, 2, 5, 8])
        add_orders(sim, [3, 9, 3])
        d = RandomDispatcher()
        d.reset(seed)
        state = sim.rng_states()
        d.dispatch(sim)
        assert sim.rng_states() == state  # never the simulation's generators
        assert (sim.state.order >= 0).sum() == 3
        return sim.state.order.tolist()

    assert run(1) == run(1)
    assert len({tuple(run(s)) for s in range(8)}) > 1


def test_make_dispatcher():
    assert make_dispatcher("greedy").name == "greedy"
    assert make_dispatcher("fifo").name == "fifo"
    with pytest.raises(ValueError, match="unknown dispatcher"):
        make_dispatcher("nope")


def test_the_ppo_dispatcher_takes_any_seed_the_simulation_takes() -> None:
    """``seed * 7919 + 0xD15`` overflowed torch's seed for seeds above about 1.2e15 (after the
    simulation had already reset); ordinary seeds keep their streams."""
    import torch

    from hierarchy.ppo_dispatcher import PPODispatcher

    d = make_dispatcher("ppo")
    assert isinstance(d, PPODispatcher)
    d.reset(2**70)
    d.reset(5)
    assert torch.equal(
        d.gen.get_state(), torch.Generator().manual_seed(5 * 7919 + 0xD15).get_state()
    )


def test_greedy_order_pool_changes_nothing_without_anticipation() -> None:
    """Greedy gives the oldest orders out first, one per idle robot: the oldest R of any pool
    of at least R orders are the same orders (the settings table says so)."""
    from agents import make_navigator
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.fleet import Fleet

    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 1.5}, src)  # orders queue
    runs = []
    for pool in (1, 16):
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        fleet = Fleet(sim, GreedyDispatcher(lookahead=pool), make_navigator("rule_based"))
        fleet.reset(3)
        fleet.run(150)
        assert sim.open_orders().size > sim.n_robots  # a backlog deeper than the fleet
        runs.append((sim.state.pos.copy(), sim.state.order.copy(), sim.orders.count))
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))
