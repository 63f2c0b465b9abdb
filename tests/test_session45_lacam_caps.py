"""The caps of the ``pibt_lacam`` jam repair for dense floors (forty-fifth session,
docs/results_swap.md part 6, "Caps for dense floors"): a window with more robots than
``max_agents`` is not searched, a plan is followed for at most ``max_follow`` steps and bars
only the nodes of those steps to the other robots, and search calls that start no plan back
off (16, 32, 64, ... steps). Each on the hand-built station cycle of
``tests/test_audit_swap_room.py``, where the repair otherwise plans."""

from __future__ import annotations

import numpy as np
from swap_scenes import first_arrivals
from test_audit_swap_room import station_cycle_case
from test_session44_jam_repair import ClockSim

from warehouse.shield.pibt_lacam import MAX_AGENTS, MAX_BACKOFF, MAX_FOLLOW, PIBTLaCAMShield
from warehouse.shield.pibt_swap import PIBTSwapShield


def _cycle() -> ClockSim:
    _, base = station_cycle_case()
    return ClockSim(base)


def _trajectory(shield, steps: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    sim = _cycle()
    traj = [sim.state.pos.copy()]
    for _ in range(steps):
        sim.step(shield)
        traj.append(sim.state.pos.copy())
    return np.stack(traj)


def test_the_defaults():
    shield = PIBTLaCAMShield()
    assert (shield.max_agents, shield.max_follow, shield.max_backoff) == (
        MAX_AGENTS, MAX_FOLLOW, MAX_BACKOFF,
    )  # fmt: skip
    assert MAX_AGENTS >= 30  # the whole fleet of spurs_narrow fits a window


def test_a_window_over_max_agents_is_not_searched():
    """The cycle's window holds three robots that may move (the busy one is an obstacle):
    with ``max_agents=3`` the repair plans and both robots of the cycle arrive; with
    ``max_agents=2`` it searches nothing, counts the crowded windows, and the run is
    ``pibt_swap``'s, position for position, neither robot arriving."""
    ok = PIBTLaCAMShield(jam_steps=8, max_agents=3)
    first = first_arrivals(_cycle(), ok, 80)
    assert (first[:2] > 0).all(), first
    assert ok.plans >= 1 and ok.crowded == 0
    capped = PIBTLaCAMShield(jam_steps=8, max_agents=2)
    traj = _trajectory(capped, 80)
    assert capped.repairs == 0 and capped.plans == 0 and capped.crowded >= 2
    np.testing.assert_array_equal(traj, _trajectory(PIBTSwapShield(), 80))
    first = first_arrivals(_cycle(), PIBTLaCAMShield(jam_steps=8, max_agents=2), 80)
    assert (first[:2] < 0).all(), first


class _Spy(PIBTLaCAMShield):
    """Records each step's plan in force and the nodes it barred to the other robots."""

    def __init__(self, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[int, int, np.ndarray, np.ndarray]] = []

    def _step_of_plan(self, sim, t, mask):  # type: ignore[no-untyped-def]
        out = super()._step_of_plan(sim, t, mask)
        if out is not None:
            _, t0, _, plan = self._plan_in_force
            self.seen.append((t, t0, plan, np.flatnonzero(out[2])))
        return out


def test_a_plan_is_followed_for_at_most_max_follow_steps():
    """Uncapped, the cycle's first plan is longer than one step; with ``max_follow=1`` every
    plan in force is cut to one step (counted), followed at most one step after its search,
    and bars only that step's nodes."""
    full = _Spy(jam_steps=8, max_follow=10**6)
    _trajectory(full, 40)
    assert full.seen and full.seen[0][2].shape[0] > 2 and full.cut == 0
    capped = _Spy(jam_steps=8, max_follow=1)
    _trajectory(capped, 40)
    assert capped.seen and capped.cut >= 1
    for t, t0, plan, barred in capped.seen:
        assert plan.shape[0] <= 2 and t == t0
        np.testing.assert_array_equal(barred, np.unique(plan[1]))
    assert capped.planned_steps == len(capped.seen)


def test_search_calls_without_a_plan_back_off():
    """A search budget of one iteration finds no plan: the calls come 16 steps apart without
    the back-off, and 16, 32, 64, ... steps apart (up to ``cooldown * 2**max_backoff``) with
    it."""

    def calls(**kwargs: int) -> list[int]:
        shield = PIBTLaCAMShield(jam_steps=8, node_budget=1, **kwargs)
        sim, out, before = _cycle(), [], 0
        for _ in range(300):
            sim.step(shield)
            if shield.repairs > before:
                out.append(sim.t - 1)
                before = shield.repairs
        assert shield.plans == 0
        return out

    flat = calls(max_backoff=0)
    assert np.diff(flat).tolist() == [16] * (len(flat) - 1) and len(flat) >= 15
    steps = calls()
    assert np.diff(steps).tolist() == [16, 32, 64, 128]
    steps = calls(max_backoff=2)
    assert np.diff(steps).tolist()[:4] == [16, 32, 64, 64]
