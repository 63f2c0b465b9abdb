"""Audit of the ``pibt_swap`` shield and robots that propose WAIT (h10).

Two *polite* robots (the rule-based navigator proposes WAIT when the cell of its best move is
held) that face each other in a two-cell dead-end spur never conflict, so the shield does not
plan them, and ``test_audit_pushed_swap`` pins that they stay there. That stand-in never
advances ``since_progress``; the simulation does (``kernels.progress_kernel``), and the shield's
stall rescue (``PIBTShield._rescue``) then plans both from their shortest paths after
``stall_steps`` steps, where the swap lets them pass. These tests pin that the rescue is what
undoes the lock, and fuzz the rescue with polite fleets (the other fuzz tests keep
``since_progress`` at 0, so the rescue never runs there)."""

from __future__ import annotations

import numpy as np
from swap_scenes import WAIT, at, first_arrivals, grid_floor
from test_audit_pushed_swap import LANE, PoliteSim, lane_case, random_polite_fleets

from warehouse.shield.pibt_swap import PIBTSwapShield


class ProgressSim(PoliteSim):
    """:class:`PoliteSim` with the simulation's progress counter: ``since_progress`` goes back
    to 0 when a robot comes closer to its target than ever before (or stands on it), else
    grows by one per step, as ``kernels.progress_kernel`` counts it."""

    def __init__(self, floor, pos, target, since_goal, polite):  # type: ignore[no-untyped-def]
        super().__init__(floor, pos, target, since_goal, polite)
        self.best = self._dist()

    def _dist(self) -> np.ndarray:
        s = self.state
        return self.dist.table[np.arange(s.pos.size), s.pos].astype(np.int64)

    def target_distance(self, nodes, rows):  # type: ignore[no-untyped-def]
        """Steps from ``nodes`` (``(k, A)``) to the targets of robots ``rows``."""
        return self.dist.table[np.asarray(rows)[:, None], nodes]

    def step(self, shield):  # type: ignore[no-untyped-def]
        out = super().step(shield)
        d = self._dist()
        better = (d < self.best) | (d == 0)
        self.best = np.minimum(self.best, d)
        s = self.state
        s.since_progress = np.where(better, 0, s.since_progress + 1).astype(np.int32)
        return out


def progress_case(floor) -> ProgressSim:
    """The lock of ``test_audit_pushed_swap.lane_case`` with the progress counter."""
    base = lane_case(floor)
    s = base.state
    return ProgressSim(floor, s.pos, s.target, s.since_goal, base.polite)


def test_the_stall_rescue_frees_the_two_polite_robots_in_the_spur():
    """With the progress counter the two polite robots of the pinned lock get past each other
    under ``pibt_swap`` once they have stalled for ``stall_steps`` steps (not before: until
    then the shield never sees them), and every robot reaches its target."""
    f = grid_floor(LANE)
    first = first_arrivals(progress_case(f), PIBTSwapShield(), 60)
    assert (first > 0).all(), first
    assert (first[1:] > 16).all(), first  # the rescue, not the navigator, freed them


def test_without_the_rescue_the_polite_robots_stay_locked():
    """``stall_steps=0`` switches the rescue off: the same scene then locks as pinned."""
    f = grid_floor(LANE)
    sim = progress_case(f)
    first = first_arrivals(sim, PIBTSwapShield(stall_steps=0), 60)
    assert first[0] > 0 and (first[1:] < 0).all(), first
    assert sim.state.pos[1:].tolist() == [at(f, 1, 3), at(f, 2, 3)]


def test_random_polite_fleets_under_the_rescue_stay_safe():
    """Random small floors with spurs and polite fleets, long enough for robots to stall:
    every joint move is safe and allowed (checked in ``step``), and the rescue moves robots
    that proposed WAIT."""
    shield = PIBTSwapShield(stall_steps=4)
    rescued_moves = 0
    for _f, sim in random_polite_fleets(seed=10, count=120, make=ProgressSim):
        for _ in range(12):
            actions, _ = sim.proposals()
            stalled = sim.state.since_progress >= shield.stall_steps
            out = sim.step(shield)
            rescued_moves += int(((actions == WAIT) & stalled & (out != WAIT)).sum())
    assert rescued_moves >= 100, rescued_moves
