"""Audit (h13): what the swap rules of ``pibt_swap`` count as room to step aside.

``swap_rules._no_way`` counts a way on held by a robot that is not frozen as room, even when
the search has already planned that robot to stay this step. On ``spurs_narrow`` seed 0
(rule-based fleet, docs/results_swap.md part 1) that lets a robot back off from a station's
mouth, pull the station's robot out, and push it back in the next step, for good. The scene
below is that cycle cut down to four robots, pinned as the shield's behaviour now.

Not counting a robot planned to stay as room breaks this scene and seed 0 (576 -> 1,479
deliveries, no gridlock), but gridlocks seed 3 instead (1,755 -> 1,507, 30 robots jammed);
counting every node reserved for the next step as no room gridlocks seed 1 (1,200 -> 1,095).
So the rule was kept (h13's report has the figures)."""

from __future__ import annotations

import numpy as np
from swap_scenes import E, N, S, W, at, first_arrivals, grid_floor
from test_pibt_swap import MiniSim

from warehouse.shield.pibt_swap import PIBTSwapShield

#: a station (2, 0) with a single neighbour (2, 1) off a one-lane column; room at (1, 1) to
#: step aside (north and east)
STATION = ["...", "#..", "..#", "#.#", "#.#"]


def station_cycle_case() -> tuple:
    """The two-step cycle of ``spurs_narrow`` seed 0 from step 1,653: robot 0 (Q) at (1, 1)
    heads for the free station (2, 0); robot 1 (G) at (2, 1), just pulled out of it, heads
    north past Q; robot 2 (R) at (3, 1) heads for (4, 1), where robot 3 is busy (frozen): R
    cannot move and outranks Q, so the search plans it to stay before Q's swap is checked."""
    f = grid_floor(STATION)
    q, g, r, busy = at(f, 1, 1), at(f, 2, 1), at(f, 3, 1), at(f, 4, 1)
    sim = MiniSim(f, [q, g, r, busy], [at(f, 2, 0), at(f, 0, 2), busy, busy], [50, 10, 100, 0])
    sim.frozen[3] = True
    return f, sim


def test_a_robot_planned_to_stay_counts_as_room_and_the_station_cycle_repeats():
    """Q pushes G back into the station (R's node, planned to stay, counts as G's second way
    on, so no swap is required), then backs off and pulls G out again (in the station a swap
    is required, and R's node counts as room behind Q): a two-step cycle, in which neither
    reaches its target, while R and the busy robot never move."""
    f, sim = station_cycle_case()
    start = sim.state.pos.copy()
    out = sim.step(PIBTSwapShield())
    assert out.tolist() == [S, W, 0, 0]
    assert sim.state.pos[:2].tolist() == [at(f, 2, 1), at(f, 2, 0)]
    out = sim.step(PIBTSwapShield())
    assert out.tolist() == [N, E, 0, 0]  # Q backs off north, G is pulled out east
    np.testing.assert_array_equal(sim.state.pos, start)
    _, sim = station_cycle_case()
    first = first_arrivals(sim, PIBTSwapShield(), 40)
    assert (first[:3] < 0).all(), first
