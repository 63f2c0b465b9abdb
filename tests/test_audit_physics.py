"""Audit of the movement rules, the shields, travel time and the distance tables: cases the
fuzz (tests/test_fuzz_invariants.py) and the per-module tests do not reach."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.errors import InputError, PartError
from warehouse.floor import UNREACHABLE, DistanceCache, NodeKind, compile_floor, graph_from_grid
from warehouse.floor.transit import split_long_edges


# ---------------------------------------------------------------- distances beyond uint16
def _line_floor(n: int):
    """A two-way line of ``n`` aisle nodes folded into rows of 4,000 (a waypoint graph)."""
    g = nx.Graph(name="line")
    for i in range(n):
        row, col = divmod(i, 4000)
        g.add_node(i, pos=(2 * row, col if row % 2 == 0 else 3999 - col), kind="aisle")
    g.add_edges_from((i, i + 1) for i in range(n - 1))
    return compile_floor(g)


def test_a_path_longer_than_the_distance_table_holds_is_refused_not_wrapped():
    """Regression: distances are uint16, and a breadth-first search past 65,534 steps wrapped
    round: a node 65,536 steps from the goal read 0 (on the goal), one 69,999 away 4,463. A
    long edge split by physics.speed_m_s (up to a million transit nodes) makes such paths."""
    f = _line_floor(UNREACHABLE + 10)
    with pytest.raises(InputError, match="65,534 steps"):
        DistanceCache(f).row(f.index_of(0))
    # one node less than the limit still fits, every distance exact
    f = _line_floor(UNREACHABLE)
    row = DistanceCache(f).row(f.index_of(0))
    ids = np.array([f.index_of(i) for i in range(f.n_nodes)])
    assert (row[ids] == np.arange(f.n_nodes)).all()


# ---------------------------------------------------------------- what a shield may return
WAIT, N, E, S, W = range(5)
#: station, two aisle cells, a pick location with a way on east, two aisle cells
_CORRIDOR = np.array([[NodeKind.STATION] + [NodeKind.AISLE] * 2 + [NodeKind.PICK]
                      + [NodeKind.AISLE] * 2], np.int8)  # fmt: skip


class _AlwaysEast:
    """A faulty shield: every robot drives east, whatever the action mask says."""

    name = "always_east"
    needs_mask = False

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        return np.full_like(actions, E)


def _corridor(**faults) -> Simulation:
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig(**faults),
    )
    sim = Simulation(compile_floor(graph_from_grid(_CORRIDOR)), cfg)
    sim.reset(seed=0)
    sim.state.pos[:] = sim.floor.cell_of[0, 1]
    return sim


@pytest.mark.parametrize("why", ["broken", "picking", "closed"])
def test_a_shield_that_returns_a_move_the_mask_forbids_is_refused(why: str) -> None:
    """Regression: the core checked a shield's actions for range only, so a faulty shield (an
    installed package's) moved a broken-down robot, drove a robot away from the shelf it was
    picking at (its order then 'picked' elsewhere), or entered a closed cell: the move rule
    held for navigators and not for shields. Now such a shield is named, as for an action out
    of range, and nothing moves."""
    sim = _corridor(closure_prob=1e-12 if why == "closed" else 0.0)
    f, s = sim.floor, sim.state
    if why == "broken":
        s.broken[0] = 3
    elif why == "picking":
        sim.orders.add(np.array([f.cell_of[0, 3]]), np.array([f.cell_of[0, 0]]), 0)
        sim.assign(np.array([0]), np.array([0]))
        s.pos[:] = f.cell_of[0, 2]
        sim.step(np.array([E]))  # onto the pick: picking starts
        assert s.phase[0] == Phase.PICKING and s.timer[0] > 0
    else:
        sim.closed_until[f.cell_of[0, 2]] = 10**6
    assert not sim.action_mask()[0, E] and f.mask[s.pos[0], E]
    sim.shield = _AlwaysEast()
    before = s.pos.copy()
    with pytest.raises(PartError, match=r"shield 'always_east': returned a move the action "):
        sim.step(np.array([WAIT]))
    assert (s.pos == before).all()


# ---------------------------------------------------------------- shields on split long edges
def _split_floor(rng: np.random.Generator):
    """A random waypoint graph (one-way and two-way edges, dead ends) whose edges of 1–4 m are
    split at 1 m per step into chains of transit nodes."""
    while True:
        n = int(rng.integers(3, 9))
        directed = bool(rng.random() < 0.5)
        g = nx.DiGraph(name="split") if directed else nx.Graph(name="split")
        g.graph["format"] = "json"
        cells = rng.permutation(100)[:n]
        for i in range(n):
            kind = ["pick", "station"][i] if i < 2 else "aisle"
            g.add_node(i, pos=(int(cells[i] // 10) * 3, int(cells[i] % 10) * 3), kind=kind)
        ring = rng.permutation(n)
        for a, b in zip(ring, np.roll(ring, -1), strict=True):
            g.add_edge(int(a), int(b), length=float(rng.integers(1, 5)))
        for _ in range(int(rng.integers(0, n))):
            a, b = (int(x) for x in rng.integers(0, n, 2))
            if a != b and not g.has_edge(a, b):
                g.add_edge(a, b, length=float(rng.integers(1, 5)))
                if directed and rng.random() < 0.5:
                    g.add_edge(b, a, length=float(rng.integers(1, 5)))
        try:
            floor = compile_floor(split_long_edges(g, 1.0, 1.0))
        except InputError:
            continue
        if floor.transit.any() and floor.picks.size and floor.stations.size:
            return floor


@pytest.mark.parametrize("mode", ["block", "pibt", "pibt_swap", "pibt_lacam"])
@pytest.mark.parametrize("seed", range(6))
def test_shields_keep_robots_on_transit_chains_apart(seed: int, mode: str) -> None:
    """Fleets packed onto floors of long edges (robots start on transit nodes too), random
    and shortest-path proposals: every move is an edge of the split floor, nobody collides, and
    robots end on distinct nodes with no swap; the metres credited add up to the edges'."""
    rng = np.random.default_rng(seed)
    floor = _split_floor(rng)
    robots = max(1, min(int(floor.n_nodes * 0.6), int(floor.start_ok.sum()), 12))
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions=mode),
    )
    sim = Simulation(floor, cfg)
    sim.reset(seed=seed)
    s = sim.state
    s.pos[:] = rng.permutation(floor.n_nodes)[:robots]  # on transit nodes as well
    sim.state_changed()
    metres = np.zeros(robots)
    for _ in range(25):
        d = sim.target_distance(floor.nbr[s.pos]).astype(np.float64)
        d += rng.random(d.shape)
        d[~floor.mask[s.pos]] = np.inf
        acts = np.argmin(d, axis=1)
        noisy = rng.random(robots) < 0.3
        acts[noisy] = rng.integers(0, floor.n_actions, int(noisy.sum()))
        before = s.pos.copy()
        res = sim.step(acts.astype(np.int64))
        after = s.pos
        assert res.incidents == 0 and not res.collided.any()
        assert np.unique(after).size == robots
        moved = np.flatnonzero(after != before)
        for i in moved:
            assert floor.mask[before[i], res.actions[i]]
            assert floor.nbr[before[i], res.actions[i]] == after[i]
            metres[i] += floor.length[before[i], res.actions[i]]
            j = np.flatnonzero(before == after[i])
            assert j.size == 0 or after[j[0]] != before[i], "a swap"
    assert np.allclose(s.distance_m, metres)


# ---------------------------------------------------------------- order arrivals
def _arrivals(rate: float, step_seconds: float, steps: int, **tasks) -> Simulation:
    kinds = np.array([[NodeKind.STATION] * 3, [NodeKind.AISLE] * 3, [NodeKind.PICK] * 3], np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=rate, **tasks),
        physics=PhysicsConfig(step_seconds=step_seconds),
    )
    sim = Simulation(compile_floor(graph_from_grid(kinds)), cfg)
    sim.reset(seed=4)
    for _ in range(steps):
        other = {k: v for k, v in sim.rng_states().items() if k != "rng_orders"}
        sim.step(np.zeros(1, np.int64))
        assert {k: v for k, v in sim.rng_states().items() if k != "rng_orders"} == other
    return sim


def test_arrivals_are_poisson_per_second_and_drawn_from_the_order_stream_only():
    """arrival_rate is per second: 1/s at 2 s per step draws exactly what 2/s at 1 s does; the
    picks follow the Zipf popularity, the stations are uniform, and no other stream moves."""
    a = _arrivals(1.0, 2.0, 400, popularity_skew=1.0)
    b = _arrivals(2.0, 1.0, 400, popularity_skew=1.0)
    ob_a, ob_b = a.orders, b.orders
    assert ob_a.count == ob_b.count and 700 < ob_a.count < 900  # mean 2 per step
    for key in ("pick", "station", "arrival"):
        assert (getattr(ob_a, key)[: ob_a.count] == getattr(ob_b, key)[: ob_b.count]).all()
    f = a.floor
    picks = np.bincount(np.searchsorted(f.picks, ob_a.pick[: ob_a.count]), minlength=3)
    share = np.sort(picks)[::-1] / ob_a.count
    assert share == pytest.approx(np.array([1, 1 / 2, 1 / 3]) / (11 / 6), abs=0.05)
    stations = np.bincount(np.searchsorted(f.stations, ob_a.station[: ob_a.count]))
    assert stations.size == 3 and (np.abs(stations / ob_a.count - 1 / 3) < 0.05).all()


# ---------------------------------------------------------------- a navigator's decision
def test_preferences_that_are_not_numbers_name_the_navigator():
    """Regression: check_decision checked the preferences' shape only, so scores that are not
    numbers (a list holding None, strings) reached Simulation.step and failed there with a
    plain ValueError naming no part (a traceback from the CLI)."""
    import warehouse
    from agents import RuleBasedNavigator
    from warehouse.fleet import Fleet

    class NoneScores(RuleBasedNavigator):
        def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
            actions, prefs = super().act(sim, obs, mask)
            prefs = prefs.astype(object)
            prefs[0, 0] = None
            return actions, prefs

    env = warehouse.make_env("tiny")
    nav = NoneScores()
    nav.name = "none_scores"
    fleet = Fleet(env.sim, None, nav)
    fleet.reset(0)
    with pytest.raises(PartError, match=r"navigator 'none_scores': returned preferences of dtype"):
        fleet.step()
    assert env.sim.t == 0
