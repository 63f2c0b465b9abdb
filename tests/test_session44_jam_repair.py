"""The ``pibt_lacam`` collision mode (forty-fourth session, docs/results_swap.md part 6):
``pibt_swap`` plus a windowed LaCAM search that repairs jams. A hand-built station cycle the
swap never breaks and the repair does; the mode is ``pibt_swap``, bit for bit, until its first
search; the same seed gives the same run; and the shield's contract (only allowed,
conflict-free joint moves, inputs untouched, the same answer when called again) while its
plans are followed, on the random floors of ``tests/test_fuzz_invariants.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from swap_scenes import at, first_arrivals
from test_audit_swap_room import station_cycle_case
from test_fuzz_invariants import _rollout
from test_pibt import check_safe
from test_pibt_swap import MiniSim

import warehouse
from agents import RuleBasedNavigator
from hierarchy import GreedyDispatcher
from warehouse import shield as shields
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis
from warehouse.shield import make_shield
from warehouse.shield.pibt_lacam import PIBTLaCAMShield
from warehouse.shield.pibt_swap import PIBTSwapShield
from warehouse.validate import validate_trajectory

SPURS_NARROW = Path(__file__).parents[1] / "docs" / "results_swap" / "spurs_narrow.yaml"


class ClockSim(MiniSim):
    """:class:`MiniSim` with a clock (``t``) and ``since_progress`` kept as the simulation
    keeps it: steps since the robot last came closer to its target than ever before."""

    def __init__(self, base: MiniSim) -> None:
        self.__dict__.update(base.__dict__)
        self.t = 0
        self.best = self._dist()

    def _dist(self) -> np.ndarray:
        target, slot = self._targets
        d = self.dist.table[np.maximum(slot, 0), self.state.pos].astype(np.int64)
        return np.where(target >= 0, d, 0)

    def target_distance(self, nodes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Steps from ``nodes`` (one row per robot of ``rows``) to those robots' targets (0
        without a target), as the stall rescue reads them."""
        target, slot = self._targets
        d = self.dist.table[np.maximum(slot[rows], 0)[:, None], nodes]
        return np.where((target[rows] >= 0)[:, None], d, 0)

    def step(self, shield):  # type: ignore[no-untyped-def]
        out = super().step(shield)
        d = self._dist()
        better = d < self.best
        self.best = np.minimum(self.best, d)
        s = self.state
        s.since_progress = np.where(better, 0, s.since_progress + 1).astype(np.int32)
        self.t += 1
        return out


def test_the_station_cycle_is_repaired():
    """The two-step station cycle of ``spurs_narrow`` seed 0 (tests/test_audit_swap_room.py):
    under ``pibt_swap`` neither the robot bound for the station nor the one pulled out of it
    ever arrives; under ``pibt_lacam`` (a jam after 8 steps without progress) both do, each
    step safe and allowed (``first_arrivals`` checks), and the shield counts one plan."""
    f, base = station_cycle_case()
    sim = ClockSim(base)
    first = first_arrivals(sim, PIBTSwapShield(), 80)
    assert (first[:2] < 0).all(), first
    f, base = station_cycle_case()
    sim = ClockSim(base)
    shield = PIBTLaCAMShield(jam_steps=8)
    first = first_arrivals(sim, shield, 80)
    assert (first[:2] > 0).all(), first
    assert shield.plans >= 1 and shield.planned_steps >= 2
    assert sim.state.pos[3] == at(f, 4, 1)  # the busy robot never moved


def _run(mode: str, seed: int, steps: int, **shield_args: int):
    env = warehouse.make_env(SPURS_NARROW, collisions=mode)
    sim = env.sim
    for k, v in shield_args.items():
        setattr(sim.shield, k, v)
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(seed)
    traj = [sim.state.pos.copy()]
    first = -1
    for _ in range(steps):
        fleet.step()
        traj.append(sim.state.pos.copy())
        if first < 0 and getattr(sim.shield, "repairs", 0) > 0:
            first = sim.t
    return sim, np.stack(traj), first


@pytest.fixture(scope="module")
def narrow_runs():
    """The rule-based fleet on ``spurs_narrow``, seed 1 (gridlocked under ``pibt_swap``), 1,000
    steps, under ``pibt_swap`` and twice under ``pibt_lacam``."""
    return _run("pibt_swap", 1, 1000), _run("pibt_lacam", 1, 1000), _run("pibt_lacam", 1, 1000)


def test_the_repair_frees_a_gridlock_of_spurs_narrow(narrow_runs):
    (swap, _, _), (lacam, traj, _), _ = narrow_runs
    k_swap, k_lacam = compute_kpis(swap), compute_kpis(lacam)
    assert k_swap["jammed_robots"] >= 8  # a quarter of the fleet: the run's gridlock warning
    assert k_lacam["jammed_robots"] < 8
    assert k_lacam["deliveries"] > k_swap["deliveries"] + 50
    assert lacam.incidents == 0
    assert validate_trajectory(lacam.floor.graph, traj, lacam.floor.nodes) == []
    assert lacam.shield.plans >= 1


def test_the_mode_is_pibt_swap_until_its_first_search(narrow_runs):
    (_, swap_traj, _), (_, lacam_traj, first), _ = narrow_runs
    assert first > 200  # no search before a robot went 200 steps without progress
    np.testing.assert_array_equal(swap_traj[:first], lacam_traj[:first])
    assert not np.array_equal(swap_traj, lacam_traj)


def test_same_seed_same_run(narrow_runs):
    _, (a, traj_a, _), (b, traj_b, _) = narrow_runs
    np.testing.assert_array_equal(traj_a, traj_b)
    counts = ("repairs", "plans", "planned_steps", "search_iterations", "dropped")
    assert [getattr(a.shield, c) for c in counts] == [getattr(b.shield, c) for c in counts]


def test_pibt_lacam_is_a_collision_mode():
    shield = make_shield("pibt_lacam")
    assert isinstance(shield, PIBTLaCAMShield) and shield.name == "pibt_lacam"
    assert isinstance(shield, PIBTSwapShield)


def _contract(sim, acts, pref) -> None:  # type: ignore[no-untyped-def]
    """The shield as the step calls it: allowed and conflict-free, inputs untouched, the same
    answer when called again at the same step."""
    shield = sim.shield
    mask = sim.action_mask()
    p_in, m_in = acts.copy(), mask.copy()
    pr_in = None if pref is None else pref.copy()
    legal = np.where(mask[np.arange(acts.size), np.clip(acts, 0, mask.shape[1] - 1)]
                     & (acts >= 0) & (acts < mask.shape[1]), acts, 0)  # fmt: skip
    before = shield.planned_steps
    out = np.asarray(shield(sim, p_in, pr_in, m_in))
    _contract.followed += int(shield.planned_steps > before)  # a plan's step was followed
    assert (p_in == acts).all() and (m_in == mask).all()
    assert pref is None or np.array_equal(pr_in, pref, equal_nan=True)
    check_safe(sim.floor, sim.state.pos, out, mask)
    again = np.asarray(shield(sim, legal.copy(), pref, mask.copy()))
    assert (again == out).all()


def test_the_contract_while_plans_are_followed(monkeypatch):
    """Random floors, fleets, faults and proposals (tests/test_fuzz_invariants.py) with a
    repair that fires after 3 steps without progress: every step checked there (no collision,
    the physics' invariants) and every shield call here; plans were followed in some cases."""
    monkeypatch.setitem(
        shields.SHIELDS, "pibt_lacam", lambda: PIBTLaCAMShield(jam_steps=3, cooldown=1, radius=3)
    )
    _contract.followed = 0
    for seed in range(16):
        _rollout(seed, "pibt_lacam", steps=40, hook=_contract)
    assert _contract.followed >= 20, _contract.followed
