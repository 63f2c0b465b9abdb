"""Hungarian dispatcher: optimal matchings, valid assignments, no side effects in decide()."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hierarchy import DISPATCHERS, GreedyDispatcher, make_dispatcher
from hierarchy.hungarian import HungarianDispatcher, assignment_costs, solve_assignment
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation


def brute_force(cost: np.ndarray) -> float:
    """Minimum total cost over all matchings of min(R, O) finite pairs (maximum cardinality)."""
    r, o = cost.shape
    best_n, best = -1, np.inf
    if r <= o:
        for cols in itertools.permutations(range(o), r):
            vals = cost[np.arange(r), cols]
            n = int(np.isfinite(vals).sum())
            total = vals[np.isfinite(vals)].sum()
            if n > best_n or (n == best_n and total < best):
                best_n, best = n, total
    else:
        return brute_force(cost.T)
    return float(best)


@pytest.mark.parametrize("seed", range(12))
def test_solve_assignment_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    r, o = rng.integers(1, 5), rng.integers(1, 6)
    cost = rng.integers(0, 20, size=(r, o)).astype(float)
    rows, cols = solve_assignment(cost)
    assert rows.size == min(r, o)
    assert np.unique(rows).size == rows.size and np.unique(cols).size == cols.size
    assert cost[rows, cols].sum() == pytest.approx(brute_force(cost))


def test_unreachable_pairs_are_never_assigned() -> None:
    inf = np.inf
    cost = np.array([[inf, 1.0], [inf, 2.0]])
    rows, cols = solve_assignment(cost)
    assert list(zip(rows, cols, strict=True)) == [(0, 1)]  # row 1 can only take column 1


def _sim(arrival: float = 2.0) -> Simulation:
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"arrival_rate": arrival}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(3)
    for _ in range(5):
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))
    return sim


def test_decide_is_pure_and_dispatch_assigns_a_min_cost_matching() -> None:
    sim = _sim()
    robots, orders = sim.idle_robots(), sim.open_orders()
    assert robots.size and orders.size
    phase_before, open_before = sim.state.phase.copy(), sim.open_orders().copy()
    d = HungarianDispatcher()
    r, o = d.decide(sim)
    assert np.array_equal(sim.state.phase, phase_before)
    assert np.array_equal(sim.open_orders(), open_before)
    considered = orders[: d.lookahead * robots.size]
    cost = assignment_costs(sim, robots, considered)
    assert r.size == min(robots.size, considered.size)
    total = cost[np.searchsorted(robots, r), np.searchsorted(considered, o)].sum()
    assert total == pytest.approx(brute_force(cost))
    d.dispatch(sim)
    assert np.array_equal(sim.state.order[r], o)


def test_hungarian_total_travel_not_worse_than_greedy() -> None:
    sim = _sim()
    robots, orders = sim.idle_robots(), sim.open_orders()[: 4 * sim.idle_robots().size]
    cost = assignment_costs(sim, robots, orders)
    r, o = HungarianDispatcher().decide(sim)
    hung = cost[np.searchsorted(robots, r), np.searchsorted(orders, o)].sum()
    GreedyDispatcher().dispatch(sim)
    g = sim.state.order[robots]
    got = g >= 0
    greedy = cost[np.flatnonzero(got), np.searchsorted(orders, g[got])].sum()
    assert r.size == int(got.sum())
    assert hung <= greedy


def test_registered() -> None:
    assert "hungarian" in DISPATCHERS and "ppo" in DISPATCHERS
    assert make_dispatcher("hungarian").name == "hungarian"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [("age_weight", "-5", "age_weight must be a finite number ≥ 0"), ("lookahead", "0", "")],
)
def test_bad_hungarian_arguments_are_refused_before_any_run(
    key: str, value: str, says: str, tmp_path, capsys
) -> None:
    """A negative age weight would favour the newest orders; it used to run silently."""
    from cli_helpers import fails_cleanly

    out = tmp_path / "out"
    argv = ["run", "tiny", "--policy", "hungarian+rule_based", "--seeds", "1", "--steps", "20"]
    argv += ["--set", f"policies.dispatcher_args.hungarian.{key}={value}", "--out", str(out)]
    line = fails_cleanly(argv, tmp_path, capsys, f"--set policies.dispatcher_args.hungarian.{key}")
    assert says in line
    with pytest.raises(ValueError, match=key):
        HungarianDispatcher(**{key: int(value)})
