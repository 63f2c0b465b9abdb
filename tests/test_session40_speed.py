"""Fortieth session (h3): the array API's step made faster without changing a single result.

The hashes below were recorded at ``e50b494`` (before this session's speed edits): sha256 of
everything a run of the array API hands out or keeps, step by step (the navigator's actions
and preferences, observations, masks, every field of :class:`StepResult`), then the fleet's
state, the order book, the state of every RNG stream and the KPIs at the end. The cases cover
the bench's floor and the features the step skips when they are off (faults, random and
scheduled closures, the battery, progress shaping, the PIBT shield, one-shot MAPF, goal
visits), so a speed edit that changed a draw, a branch or a counter shows up here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest

import warehouse
from agents import RuleBasedNavigator
from warehouse.bench import make_bench_env
from warehouse.kpis import compute_kpis

_CASES: dict[str, tuple[Any, dict[str, Any], int]] = {
    "bench-100": (100, {}, 120),
    "bench-1000": (1000, {}, 30),
    "faults-shaping": (
        "faults",
        {"reward.progress": 0.5, "tasks.max_open_orders": 12, "tasks.arrival_rate": 1.5},
        250,
    ),
    "battery-closures": (
        "small",
        {
            "battery.capacity_wh": 15.0,
            "battery.auto_chargers": 3,
            "battery.initial_soc": 0.3,
            "battery.interruptible": True,
            "battery.opportunity_below": 0.6,
            "faults.closures": [{"cells": [[3, 5], [3, 6]], "start_s": 20, "end_s": 80}],
            "faults.breakdown_prob": 0.01,
        },
        200,
    ),
    "pibt-physical": ("medium", {"collisions": "pibt", "reward.per_step": -0.1}, 120),
    "one-shot": (
        "small",
        {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "reward.on_goal": 0.25},
        150,
    ),
    "goal-visit": ("small", {"tasks.mode": "goal_visit", "reward.progress": 1.0}, 150),
    # random actions, some masked or out of range (refused), without a shield: collisions
    "physical-random": ("faults", {"collisions": "physical", "reward.collision": -3.0}, 150),
}
#: cases driven by random actions (-1 to n_actions, no preferences) instead of the navigator
_RANDOM_ACTIONS = {"physical-random"}

_RECORDED = {
    "bench-100": "0e5b22ea47ef8308",
    "bench-1000": "48b6b6328092465b",
    "faults-shaping": "7ea312cf3c7a61a3",
    "battery-closures": "eee4f760c332596a",
    "pibt-physical": "2ca4c00dc8a8e408",
    "one-shot": "472c9c17e16ae28a",
    "goal-visit": "e63b21c9784853b7",
    "physical-random": "ef1f77f7b07cf210",
}


def _update(h: Any, value: Any) -> None:
    if value is None:
        h.update(b"None")
    elif isinstance(value, np.ndarray):
        h.update(str(value.dtype).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())


def _run_hash(case: str) -> str:
    """sha256 (16 hex digits) of a run of ``case`` through the array API."""
    floor, overrides, steps = _CASES[case]
    if isinstance(floor, int):
        env = make_bench_env(floor)
    else:
        env = warehouse.make_env(floor, **overrides)
    sim = env.sim
    nav = RuleBasedNavigator()
    nav.reset(3)
    obs, mask = env.reset_arrays(3)
    h = hashlib.sha256()
    draw = np.random.default_rng(11)
    for _ in range(steps):
        if case in _RANDOM_ACTIONS:
            actions, prefs = draw.integers(-1, sim.floor.n_actions + 1, sim.n_robots), None
        else:
            actions, prefs = nav.act(sim, obs, mask)
        _update(h, actions)
        _update(h, prefs)
        obs, mask, res = env.step_arrays(actions, prefs)
        _update(h, obs)
        _update(h, mask)
        for name in res.__dataclass_fields__:
            _update(h, getattr(res, name))
    s = sim.state
    for name in sorted(vars(s)):
        _update(h, getattr(s, name))
    ob = sim.orders  # (its arrays' spare room is no result: the first ``count`` rows)
    for name in ("pick", "station", "arrival", "assigned", "robot", "delivered"):
        _update(h, getattr(ob, name)[: ob.count])
    _update(h, (ob.count, ob.lost))
    _update(h, ob.open_ids)
    h.update(json.dumps(sim.rng_states(), sort_keys=True, default=str).encode())
    h.update(json.dumps(compute_kpis(sim), sort_keys=True, default=repr).encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("case", list(_CASES))
def test_runs_are_the_recorded_ones(case: str) -> None:
    assert _run_hash(case) == _RECORDED[case]


# ------------------------------------------------------------------ the order stream's draws


def _generators(seed: int) -> list[np.random.Generator]:
    """Generators in several states: fresh, and holding half of a 64-bit output (numpy's
    32-bit draws keep it in the bit generator's state), on PCG64 and MT19937."""
    fresh = np.random.default_rng(seed)
    half = np.random.default_rng(seed)
    half.integers(7, dtype=np.uint32)  # one 32-bit draw: the other half is kept
    mt = np.random.Generator(np.random.MT19937(seed))
    return [fresh, half, mt]


def _state(gen: np.random.Generator) -> str:
    """The bit generator's state as text (MT19937's holds an array)."""
    return json.dumps(gen.bit_generator.state, sort_keys=True, default=lambda a: a.tolist())


@pytest.mark.parametrize("n", [1, 2, 3, 64, 1000, 2**31 + 12_345, 2**32 - 2])
def test_compiled_draws_are_numpys(n: int) -> None:
    """``uniform_fill`` and ``bounded_fill`` give ``Generator.random(k)`` and
    ``Generator.integers(n, size=k)`` bit for bit and leave the stream where numpy leaves it
    (``n`` near 2**32 takes the rejection branch; ``n == 1`` draws nothing)."""
    import copy

    from warehouse.core.kernels import bitgen_address, bounded_fill, uniform_fill

    for seed in range(4):
        for gen in _generators(seed):
            for k in (0, 1, 7, 40):
                mine = copy.deepcopy(gen)
                u, idx = gen.random(k), gen.integers(n, size=k)
                got_u, got_idx = np.empty(k), np.empty(k, np.int64)
                address = bitgen_address(mine)
                uniform_fill(address, got_u)
                bounded_fill(address, n, got_idx)
                np.testing.assert_array_equal(got_u, u)
                np.testing.assert_array_equal(got_idx, idx)
                assert _state(mine) == _state(gen)


def test_arrivals_follow_a_replaced_order_stream() -> None:
    """The step draws its arrivals from whatever generator ``sim.rng_orders`` is now (the
    address of its bit generator is looked up at each draw): a stream replaced mid-episode is
    the one drawn from, as numpy's ``integers`` would."""
    import copy

    env = warehouse.make_env("small", robots=6, arrival_rate=4.0)
    env.reset(seed=1)
    sim = env.sim
    for _ in range(3):
        env.step({})
    for seed in (5, 6):
        sim.rng_orders = np.random.default_rng(seed)  # the old one may be freed
        for _ in range(4):
            draw = copy.deepcopy(sim.rng_orders)
            k = int(draw.poisson(4.0 * sim.config.physics.step_seconds))
            draw.random(k)
            stations = sim.floor.stations[draw.integers(sim.floor.stations.size, size=k)]
            before = sim.orders.count
            assert sim._arrivals() == k
            np.testing.assert_array_equal(sim.orders.station[before : sim.orders.count], stations)
            assert sim.rng_orders.bit_generator.state == draw.bit_generator.state


def test_a_deep_copied_simulation_draws_from_its_own_streams() -> None:
    """A deep copy of a simulation (``tests/test_audit_dispatch.py`` makes one) draws its
    arrivals from its own copy of the order stream, never through the original's bit
    generator: both then draw the same orders, whichever steps first."""
    import copy

    env = warehouse.make_env("small", robots=6, arrival_rate=4.0)
    env.reset(seed=2)
    sim = env.sim
    twin = copy.deepcopy(sim)
    for _ in range(5):
        twin._arrivals()
    for _ in range(5):
        sim._arrivals()
    assert twin.orders.count == sim.orders.count > 0
    for name in ("pick", "station", "arrival"):
        np.testing.assert_array_equal(getattr(twin.orders, name), getattr(sim.orders, name))
    assert _state(twin.rng_orders) == _state(sim.rng_orders)
