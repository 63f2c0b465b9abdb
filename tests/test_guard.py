"""The order pool and the starvation guard (``policies.order_pool``, ``policies.max_order_age``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from hierarchy.dispatchers import FIFODispatcher, GreedyDispatcher
from hierarchy.guard import AgeGuard, overdue_orders
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.policies import PolicySpec, check_checkpoints_used, scenario_dispatcher


def _backlog(overrides: dict | None = None) -> tuple[Simulation, object]:
    """``small`` at a high arrival rate after 60 idle steps: a queue of aging orders."""
    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 2.0, **(overrides or {})}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=0)
    for _ in range(60):
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))
    return sim, sc


class _Recorder:
    """A dispatcher that only records which robots were idle when it was called."""

    name = "recorder"

    def reset(self, seed: int | None) -> None:
        self.seen: list[np.ndarray] = []

    def dispatch(self, sim: Simulation) -> None:
        self.seen.append(sim.idle_robots().copy())


def test_overdue_orders_are_served_first_then_the_dispatcher_decides() -> None:
    sim, _ = _backlog()
    limit = 30.0  # seconds (1 s per step)
    old = overdue_orders(sim, limit)
    ages = (sim.t - sim.orders.arrival[old]) * sim.config.physics.step_seconds
    assert old.size > 0 and (ages > limit).all()
    assert set(old) <= set(sim.open_orders())
    idle_before = sim.idle_robots()
    picks = sim.orders.pick[old[0]]
    nearest = idle_before[np.argmin(sim.dist.lookup(np.full(idle_before.size, picks),
                                                    sim.state.pos[idle_before]))]  # fmt: skip
    inner = _Recorder()
    inner.reset(0)
    guard = AgeGuard(inner, limit)
    assert guard.name == "recorder"
    guard.dispatch(sim)
    served = min(idle_before.size, old.size)
    # every assigned order is overdue, and the wrapped dispatcher saw the robots left idle
    assigned = sim.state.order[idle_before]
    assert (assigned >= 0).sum() == served
    assert set(assigned[assigned >= 0]) == set(old[:served])  # the oldest overdue orders
    assert sim.state.order[nearest] == old[0]  # the oldest went to the nearest idle robot
    assert inner.seen[0].size == idle_before.size - served


def test_without_overdue_orders_the_guard_changes_nothing() -> None:
    a, _ = _backlog()
    b, _ = _backlog()
    GreedyDispatcher().dispatch(a)
    AgeGuard(GreedyDispatcher(), 1e9).dispatch(b)
    np.testing.assert_array_equal(a.state.order, b.state.order)
    with pytest.raises(ValueError, match="max_age_s must be > 0"):
        AgeGuard(FIFODispatcher(), 0.0)


def test_scenario_settings_reach_the_dispatcher() -> None:
    _, sc = _backlog({"policies.order_pool": 16, "policies.max_order_age": 120})
    d = scenario_dispatcher("greedy", sc)
    assert isinstance(d, AgeGuard) and d.max_age_s == 120.0 and d.inner.lookahead == 16
    assert isinstance(scenario_dispatcher("fifo", sc), AgeGuard)  # the guard wraps any
    _, plain = _backlog()
    assert isinstance(scenario_dispatcher("greedy", plain), GreedyDispatcher)
    assert scenario_dispatcher("greedy", plain).lookahead == 4


def test_a_pool_no_dispatcher_has_is_refused() -> None:
    _, sc = _backlog({"policies.order_pool": 16})
    with pytest.raises(InputError, match=r"policies\.order_pool"):
        check_checkpoints_used([PolicySpec("random", "random", "random")], sc)
    with pytest.raises(InputError, match=r"policies\.order_pool"):
        scenario_dispatcher("fifo", sc, strict=True)
    check_checkpoints_used([PolicySpec("random", "random", "random"),
                            PolicySpec("rule_based", "greedy", "rule_based")], sc)  # fmt: skip


def test_warehouse_run_applies_the_guard(tmp_path: Path, capsys) -> None:
    """Through the run command: with a large pool the Hungarian dispatcher leaves old orders
    waiting, and the guard serves them first (the oldest waiting order is younger, at some
    throughput); a pool with no pooled dispatcher is a one-line error."""
    base = ["run", "small", "--policy", "rule_based", "--dispatcher", "hungarian", "--seeds", "0",
            "--steps", "300", "--set", "tasks.arrival_rate=1.0",
            "--set", "policies.order_pool=64"]  # fmt: skip
    kpis = {}
    for name, extra in (("off", []), ("on", ["--set", "policies.max_order_age=100"])):
        code, _, err = run_cli([*base, *extra, "--out", str(tmp_path / name)], capsys)
        assert code == 0, err
        report = json.loads((tmp_path / name / "report.json").read_text())
        kpis[name] = report["runs"][0]["kpis"]
    oldest = {k: v["oldest_open_order_s"]["mean"] for k, v in kpis.items()}
    assert oldest["on"] < oldest["off"] - 30
    code, _, err = run_cli(
        ["run", "small", "--policy", "random", "--seeds", "0", "--steps", "5",
         "--set", "policies.order_pool=8", "--out", str(tmp_path / "bad")], capsys
    )  # fmt: skip
    assert code == 2 and "policies.order_pool: no dispatcher of this run has an order pool" in err
    assert not (tmp_path / "bad").exists()


def test_the_env_uses_the_scenario_dispatch_settings() -> None:
    """The PettingZoo env's sub-goal dispatcher honours the settings too; a pool its dispatcher
    lacks is refused (one dispatcher: nothing else could use it)."""
    import warehouse

    env = warehouse.make_env("tiny", **{"policies.max_order_age": 50, "policies.order_pool": 8})
    assert isinstance(env.dispatcher, AgeGuard) and env.dispatcher.inner.lookahead == 8
    with pytest.raises(InputError, match=r"policies\.order_pool"):
        warehouse.make_env("tiny", **{"policies.dispatcher": "fifo", "policies.order_pool": 8})
