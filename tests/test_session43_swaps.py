"""The ``pibt_swap`` shield counts its swaps (forty-third session, docs/results_swap.md, part 5).

``PIBTSwapShield.swaps`` counts the pulls (robot-steps at which a robot pulled another into the
node it left) and ``commitments`` those made by stalled robots. Where a swap must fire (a dead
end) the counts are exact; on an open floor where the run equals plain PIBT's they are 0.
"""

from __future__ import annotations

import numpy as np
from swap_scenes import N
from test_audit_dead_end_shuttle import LANE, arrivals, scene
from test_pibt_swap import spur_case

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.policies import build_policy, resolve_policy
from warehouse.shield.pibt_swap import PIBTSwapShield


def test_one_pull_at_a_dead_end_counts_one_swap_and_no_commitment():
    """Robot 0 waits at the mouth of a one-cell spur, robot 1 leaves it: the first step robot 0
    backs off and pulls robot 1 out (one swap). Neither is stalled, so nothing commits; the
    next steps pass without another pull."""
    _, sim = spur_case()
    shield = PIBTSwapShield()
    assert (shield.swaps, shield.commitments) == (0, 0)
    out = sim.step(shield)
    assert out[1] == N  # robot 1 pulled out of the station
    assert (shield.swaps, shield.commitments) == (1, 0)
    for _ in range(9):
        sim.step(shield)
    assert (shield.swaps, shield.commitments) == (1, 0)


def test_a_pull_by_a_stalled_robot_counts_as_a_commitment():
    """A stalled robot 0 pulls idle robot 1 out of the dead end (one swap, one commitment); the
    next step the commitment replans the pair and robot 0 pulls again (two of each)."""
    sim = scene(LANE, "pibt_swap", [(0, 4), (0, 5), (0, 2)], (0, 5), (0, 5))
    f, s = sim.floor, sim.state
    s.waypoint[1:] = -1  # robots 1 and 2 idle, without a target
    sim.state_changed()
    s.since_progress[0] = 20  # robot 0 stalled: rescued
    shield = sim.shield
    assert isinstance(shield, PIBTSwapShield)
    sim.step(np.zeros(3, np.int64))
    assert s.pos.tolist() == [f.cell_of[0, 3], f.cell_of[0, 4], f.cell_of[0, 2]]
    assert (shield.swaps, shield.commitments) == (1, 1)
    sim.step(np.full(3, 2, np.int64))  # all propose east: robot 1 back in, but committed
    assert s.pos.tolist() == [f.cell_of[0, 2], f.cell_of[0, 3], f.cell_of[0, 1]]
    assert (shield.swaps, shield.commitments) == (2, 2)


def test_the_rescued_robot_swaps_the_parked_robot_out_cell_by_cell():
    """The dead-end shuttle scene (``tests/test_audit_dead_end_shuttle.py``): the parked robot
    is pushed into robot 0's dead end, and robot 0, rescued, pulls it back out four times, one
    cell each, to the pocket's junction; every pull is a stalled robot's, so each commits."""
    sim = scene(LANE, "pibt_swap", [(0, 0), (0, 1)], (0, 5), (0, 3))
    first, _ = arrivals(sim, 60)
    assert first[0] > 0
    assert (sim.shield.swaps, sim.shield.commitments) == (4, 4)  # type: ignore[union-attr]


def _run(collisions: str, steps: int = 300) -> tuple[np.ndarray, object, int]:
    """The built-in ``goal_visit`` floor (two-lane aisles, no dead end) with 200 ``guided``
    robots: every step's positions, the shield and the steps at which it planned."""
    sc, src = load_scenario("goal_visit")
    sc = apply_overrides(sc, {"fleet.robots": 200}, src)
    spec = resolve_policy("guided", sc, collisions=collisions, source=src)
    sim = Simulation(build_floor(sc, src), sc.sim_config(spec.collisions_for(sc)))
    shield = sim.shield
    planned = [0]
    plan = shield._plan  # type: ignore[union-attr]

    def counted(*args: object) -> None:
        planned[0] += 1
        plan(*args)

    shield._plan = counted  # type: ignore[union-attr]
    dispatcher, navigator = build_policy(spec, sc, src, sim.floor)
    fleet = Fleet(sim, dispatcher, navigator)
    fleet.reset(0)
    trail = []
    for _ in range(steps):
        fleet.step()
        trail.append(sim.state.pos.copy())
    return np.array(trail), shield, planned[0]


def test_no_swap_on_an_open_floor_where_the_run_equals_pibts():
    """200 ``guided`` robots on the two-lane ``goal_visit`` floor for 300 steps: the shield
    plans conflicts at most steps, yet ``pibt_swap`` gives the run of ``pibt`` and counts no
    swap."""
    swap_trail, shield, planned = _run("pibt_swap")
    pibt_trail, _, _ = _run("pibt")
    assert np.array_equal(swap_trail, pibt_trail)
    assert (swap_trail[1:] != swap_trail[:-1]).any()
    assert planned >= 250  # (300 of 300 when written)
    assert isinstance(shield, PIBTSwapShield)
    assert (shield.swaps, shield.commitments) == (0, 0)
