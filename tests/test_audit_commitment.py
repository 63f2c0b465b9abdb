"""Audit (h10) of the swap commitment of the ``pibt_swap`` shield
(``warehouse/shield/pibt_swap.py``, *Commitment*): a pull made by a stalled robot commits the
pair, and the pulled robot is never sent back towards its leader's target while the commitment
holds.

* The pulled robot proposing WAIT and pushed by its leader went straight back into the dead end
  (the commitment barred its moves back only at steps where it *proposed* one): the shield
  itself shuttled the pair for good, the leader never arriving.
* Random small floors with dead ends, mostly idle robots without targets, a low ``stall_steps``
  (so that commitments hold at many steps), one-way aisles, breakdowns, random and scheduled
  closures: every joint move is checked against the move rule and the core's conflict rules.
* The same seed gives the same run with commitments in force, in a fresh simulation and in one
  reset from another episode.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from test_pibt import check_safe

from agents import RuleBasedNavigator
from hierarchy import GreedyDispatcher
from warehouse.config import (
    ClosureConfig,
    FaultsConfig,
    FleetConfig,
    PhysicsConfig,
    SimConfig,
    TasksConfig,
)
from warehouse.core import Phase, Simulation
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.shield.pibt_swap import PIBTSwapShield

#: a one-cell dead end (0, 1) above a junction (1, 1) of a three-cell aisle
NOOK = ["#.#", "..."]


def grid_sim(
    rows: list[str], robots: int, faults: FaultsConfig | None = None, **dirs: dict
) -> Simulation:
    """A ``goal_visit`` simulation under ``pibt_swap`` on a grid (``#`` blocked), reset at 0."""
    kinds = np.array(
        [[NodeKind.BLOCKED if ch == "#" else NodeKind.AISLE for ch in r] for r in rows],
        dtype=np.int8,
    )
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions="pibt_swap"),
        faults=faults or FaultsConfig(),
    )
    sim = Simulation(compile_floor(graph_from_grid(kinds, **dirs)), cfg)
    sim.reset(seed=0)
    return sim


def nook_scene() -> Simulation:
    """Robot 0 at the junction (1, 1), stalled, with a task to the dead end (0, 1), where robot 1
    stands idle without a target."""
    sim = grid_sim(NOOK, 2)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[1, 1], f.cell_of[0, 1]]
    s.phase[:] = Phase.IDLE
    s.task_goal[:] = -1
    s.waypoint[:] = -1
    s.phase[0], s.task_goal[0] = Phase.TO_GOAL, f.cell_of[0, 1]
    sim.state_changed()
    sim._reset_progress(np.array([0]))
    s.since_progress[0] = 20  # stalled: rescued by the shield
    return sim


def test_a_pulled_robot_that_waits_is_not_pushed_back_into_the_dead_end():
    """Every robot proposes WAIT. Robot 0 (rescued) backs off west and pulls robot 1 out to the
    junction; the next step it pushes robot 1 on, and robot 1 must not be pushed back north into
    the dead end (its leader's target) but east: robot 0 then arrives. Before the fix the
    commitment barred robot 1's moves back only at steps where it proposed one, so the push
    sent it back in and the pair shuttled between the two positions for good."""
    sim = nook_scene()
    f, s = sim.floor, sim.state
    sim.step(np.zeros(2, np.int64))
    assert s.pos.tolist() == [f.cell_of[1, 0], f.cell_of[1, 1]]  # the swap: backed off, pulled
    sim.step(np.zeros(2, np.int64))
    assert s.pos.tolist() == [f.cell_of[1, 1], f.cell_of[1, 2]]  # pushed aside, not back in
    arrived = [sim.step(np.zeros(2, np.int64)).delivered[0] for _ in range(4)]
    assert arrived[0] and sim.incidents == 0, arrived


# ---------------------------------------------------------------- random floors with dead ends
def random_floor(rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """Rows of a small grid with blocked cells (many dead ends) and one-way rows and columns."""
    while True:
        h, w = int(rng.integers(2, 6)), int(rng.integers(3, 8))
        rows = ["".join("#" if rng.random() < 0.35 else "." for _ in range(w)) for _ in range(h)]
        rows[0] = "." + rows[0][1:]
        pick = [0, 0, 0, 1, -1]
        dirs = {
            "row_directions": {r: d for r in range(h) if (d := pick[rng.integers(5)])},
            "col_directions": {c: d for c in range(w) if (d := pick[rng.integers(5)])},
        }
        kinds = np.array(
            [[NodeKind.BLOCKED if ch == "#" else NodeKind.AISLE for ch in r] for r in rows],
            dtype=np.int8,
        )
        try:
            floor = compile_floor(graph_from_grid(kinds, **dirs))
        except InputError:  # a floor the rules refuse
            continue
        if floor.start_ok.sum() >= 3:
            return rows, dirs, floor


def random_run(seed: int, steps: int = 40) -> tuple[int, int]:
    """One random fleet (about 60 % idle robots without a target, the rest with goals; the
    rule-based navigator, its proposals partly replaced by random allowed moves) stepped
    ``steps`` times under ``pibt_swap`` with a low ``stall_steps``; every shield answer is
    checked (allowed, no vertex or swap conflict, robots that may only WAIT wait). Returns the
    calls that held a committed pair and those with a commitment in force."""
    rng = np.random.default_rng(seed)
    rows, dirs, floor = random_floor(rng)
    closures = []
    for _ in range(int(rng.integers(0, 3))):
        r, c = (int(x) for x in floor.pos[int(rng.integers(floor.n_nodes))])
        start = float(rng.integers(0, 30))
        closures.append(ClosureConfig(cells=((r, c),), start_s=start, end_s=start + 8.0))
    faults = FaultsConfig(
        breakdown_prob=float(rng.choice([0.0, 0.02])),
        closure_prob=float(rng.choice([0.0, 0.05])),
        closure_steps=5,
        closures=tuple(closures),
    )
    n = int(rng.integers(2, min(int(floor.start_ok.sum()), 8) + 1))
    sim = grid_sim(rows, n, faults, **dirs)
    s = sim.state
    idle = np.flatnonzero(rng.random(n) < 0.6)
    s.phase[idle], s.task_goal[idle], s.waypoint[idle] = Phase.IDLE, -1, -1
    sim.state_changed()
    shield = sim.shield
    assert isinstance(shield, PIBTSwapShield)
    shield.stall_steps = int(rng.integers(1, 5))
    counts = [0, 0]
    held_of = shield._held

    def held(*args):  # type: ignore[no-untyped-def]
        out = held_of(*args)
        counts[0] += out is not None and out[0].size > 0
        counts[1] += shield._active is not None
        return out

    def checked(sim_, actions, preferences, mask):  # type: ignore[no-untyped-def]
        out = PIBTSwapShield.__call__(shield, sim_, actions, preferences, mask)
        check_safe(sim_.floor, sim_.state.pos, out, mask)
        assert (out[~mask[:, 1:].any(axis=1)] == 0).all()  # robots that may only WAIT wait
        return out

    shield._held = held  # type: ignore[method-assign]
    sim.shield = checked  # type: ignore[assignment]
    nav = RuleBasedNavigator()
    nav.reset(seed)
    noise = float(rng.choice([0.0, 0.2, 0.5]))
    for _ in range(steps):
        mask = sim.action_mask()
        actions, prefs = nav.act(sim, None, mask)
        for i in np.flatnonzero(rng.random(n) < noise):
            actions[i] = rng.choice(np.flatnonzero(mask[i]))
        sim.step(actions, prefs)
    assert sim.incidents == 0
    return counts[0], counts[1]


def test_random_floors_with_commitments_in_force_stay_safe():
    """300 random fleets, 40 steps each: every joint move is safe and allowed, and the
    commitments hold (plan a pair) at many steps, so the held plans are what is checked."""
    held = active = fleets = 0
    for seed in range(300):
        h, a = random_run(seed)
        held += h
        active += a
        fleets += h > 0
    assert held >= 100 and active >= held and fleets >= 30, (held, active, fleets)


# ---------------------------------------------------------------- determinism
SPURS_NARROW = "docs/results_swap/spurs_narrow.yaml"


def fleet_run(sim: Simulation, seed: int, steps: int) -> tuple[str, int]:
    """The rule-based fleet's trajectory (a hash) over ``steps`` and the calls that found a
    commitment in force."""
    shield = sim.shield
    assert isinstance(shield, PIBTSwapShield)
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(seed)
    digest = hashlib.sha256()
    active = 0
    for _ in range(steps):
        fleet.step()
        active += shield._active is not None
        digest.update(sim.state.pos.tobytes())
    return digest.hexdigest(), active


def test_the_same_seed_gives_the_same_run_with_commitments_in_force():
    """``spurs_narrow``, rule-based fleet, seed 0, 1,200 steps (commitments in force at 10
    steps, 31 on seed 1): the same trajectory twice, and again in a simulation reset after
    another seed's episode (a commitment left from it does not carry over)."""
    import warehouse

    root = Path(__file__).resolve().parents[1]
    sim = warehouse.make_env(root / SPURS_NARROW, collisions="pibt_swap").sim
    first, active = fleet_run(sim, 0, 1200)
    assert active > 0
    fresh = warehouse.make_env(root / SPURS_NARROW, collisions="pibt_swap").sim
    assert fleet_run(fresh, 0, 1200)[0] == first
    other, other_active = fleet_run(sim, 1, 1200)
    assert other != first and other_active > 0
    assert fleet_run(sim, 0, 1200)[0] == first
