"""The PPO dispatcher scores only the robots whose choice can win an order
(:mod:`hierarchy.winners`): the assignments are those of scoring every deciding robot."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from test_closures_dispatch import _RouteScorer

import warehouse
from agents import RuleBasedNavigator
from hierarchy.features import Decision, resolve_conflicts
from hierarchy.ppo_dispatcher import PPODispatcher
from hierarchy.winners import MIN_ROWS, greedy_choices
from warehouse.fleet import Fleet


def random_decision(rng: np.random.Generator, r: int, k: int, n_orders: int) -> Decision:
    """``r`` deciding robots, each with up to ``k`` of ``n_orders`` orders (some slots masked,
    distances with ties)."""
    orders = np.full((r, k), -1, np.int32)
    dist = np.full((r, k), np.inf)
    for i in range(r):
        n = int(rng.integers(0, min(k, n_orders) + 1))
        orders[i, :n] = rng.choice(n_orders, size=n, replace=False)
        dist[i, :n] = rng.integers(1, 6, size=n)  # few values: many ties
    mask = np.concatenate([orders >= 0, np.ones((r, 1), bool)], axis=1)
    robots = rng.permutation(r * 3)[:r].astype(np.int32)  # ids not in row order
    cand = np.zeros((r, k, 1), np.float32)
    return Decision(robots, orders, mask, cand, np.zeros(1, np.float32), dist)


@pytest.mark.parametrize("seed", range(40))
def test_the_winners_are_those_of_scoring_every_robot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    r = int(rng.integers(1, 200))
    k = int(rng.integers(1, 9))
    d = random_decision(rng, r, k, int(rng.integers(1, 30)))
    # each robot's choice: a valid slot or WAIT, WAIT more or less often
    p_wait = rng.random()
    full = np.where(rng.random(r) < p_wait, k, 0)
    for i in np.flatnonzero(full < k):
        valid = np.flatnonzero(d.mask[i, :k])
        full[i] = rng.choice(valid) if valid.size else k
    asked: list[int] = []

    def best(rows: np.ndarray) -> np.ndarray:
        asked.extend(rows.tolist())
        return full[rows]

    lazy = greedy_choices(d, best)
    want_r, want_o = resolve_conflicts(d, full)
    got_r, got_o = resolve_conflicts(d, lazy)
    assert sorted(zip(got_r.tolist(), got_o.tolist(), strict=True)) == sorted(
        zip(want_r.tolist(), want_o.tolist(), strict=True)
    )
    assert len(asked) == len(set(asked))  # no robot is scored twice
    if r > 2 * MIN_ROWS:  # robots left unscored wait
        assert (lazy[np.setdiff1d(np.arange(r), asked)] == k).all()


def test_few_orders_and_many_robots_score_few_robots() -> None:
    """100 robots, 3 orders, every robot nearest-first chooses its nearest order: the nearest
    rival of each order is scored, not the 100."""
    rng = np.random.default_rng(0)
    r, k = 100, 3
    dist = rng.permutation(r * k).reshape(r, k).astype(float)  # no ties
    orders = np.tile(np.arange(k, dtype=np.int32), (r, 1))
    mask = np.ones((r, k + 1), bool)
    d = Decision(np.arange(r, dtype=np.int32), orders, mask, np.zeros((r, k, 1), np.float32),
                 np.zeros(1, np.float32), dist)  # fmt: skip
    asked: list[int] = []

    def best(rows: np.ndarray) -> np.ndarray:
        asked.extend(rows.tolist())
        return dist[rows].argmin(axis=1)

    lazy = greedy_choices(d, best)
    got = resolve_conflicts(d, lazy)
    assert sorted(zip(*(x.tolist() for x in got), strict=True)) == sorted(
        zip(*(x.tolist() for x in resolve_conflicts(d, dist.argmin(axis=1))), strict=True)
    )
    assert len(asked) <= 3 * k


class _BothWays(PPODispatcher):
    """Dispatches as shipped, and checks each event against scoring every robot."""

    events = 0
    lazy_events = 0

    def _choose(self, sim):  # type: ignore[no-untyped-def]
        decision, choice = super()._choose(sim)
        if choice is not None:
            full = self._probs(decision, np.arange(decision.robots.size)).argmax(axis=1)
            got, want = resolve_conflicts(decision, choice), resolve_conflicts(decision, full)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
            type(self).events += 1
            type(self).lazy_events += decision.robots.size > 2 * 16
        return decision, choice


@pytest.mark.parametrize(
    ("scenario", "threads", "routes"),
    [("medium", 1, False), ("medium", 2, False), ("small", 1, False), ("medium", 1, True)],
)
def test_the_shipped_dispatcher_assigns_as_when_scoring_every_robot(
    scenario, threads, routes
) -> None:
    """``routes``: two hub routes per order, so an order fills three slots of a robot (scored
    by the hand-made scorer of ``test_closures_dispatch``: the shipped network has none)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        env = warehouse.make_env(scenario, collisions="pibt")
        disp = _BothWays.load()
        if routes:
            disp.features = replace(disp.features, routes=2)
            disp.net = _RouteScorer(disp.net)
        _BothWays.events = _BothWays.lazy_events = 0
        fleet = Fleet(env.sim, disp, RuleBasedNavigator())
        fleet.reset(1)
        fleet.run(300)
    finally:
        torch.set_num_threads(before)
    assert _BothWays.events > 50
    if scenario == "medium":  # the test means something: many robots decided at once
        assert _BothWays.lazy_events > 50
