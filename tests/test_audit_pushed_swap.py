"""Audit of the ``pibt_swap`` shield: a pushed robot whose own first candidate is WAIT starts
no swap (``swap_rules.swap_agent``; the *Pushed robots* note of ``warehouse.shield.pibt_swap``).
A pushed robot cannot pull (its pusher takes its node), so a swap would only reorder its
candidates; both orders tried gridlocked the rule-based fleet more often over an hour. These
tests pin the rule and the safety of the shield with polite (rule-based-like) robots."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from swap_scenes import WAIT, S, W, at, dist_table, first_arrivals, grid_floor, shielded_step

from warehouse.shield.pibt import PIBTShield
from warehouse.shield.pibt_swap import PIBTSwapShield


# ---------------------------------------------------------------- a stand-in for the simulation
class PoliteSim:
    """The parts of a Simulation the shields read, with fixed targets, stepped by hand. Each
    robot proposes the move that gets closest to its target (preferences: minus the distance,
    WAIT last among equals); a *polite* robot proposes WAIT instead when that move's cell is
    held, as the rule-based navigator does, so two polite robots facing each other never
    conflict and the shield never sees them."""

    closures_possible = False

    def __init__(self, floor, pos, target, since_goal, polite):
        self.floor = floor
        n = len(pos)
        target = np.asarray(target, dtype=np.int32)
        self.dist = SimpleNamespace(table=dist_table(floor, target))
        self._targets = (target, np.arange(n, dtype=np.int64))
        self.state = SimpleNamespace(
            pos=np.asarray(pos, dtype=np.int32),
            target=target,
            since_goal=np.asarray(since_goal, dtype=np.int32),
            since_progress=np.zeros(n, np.int32),
        )
        self.polite = np.asarray(polite, dtype=bool)

    def target_slots(self):
        return self._targets

    def proposals(self):
        pos = self.state.pos
        d = self.dist.table[np.arange(pos.size)[:, None], self.floor.nbr[pos]]
        score = np.where(self.floor.mask[pos], -d.astype(np.float64), -np.inf)
        score[:, 0] -= 0.5
        actions = score.argmax(axis=1)
        dest = self.floor.nbr[pos, actions]
        held = np.isin(dest, pos) & (dest != pos) & self.polite
        return np.where(held, WAIT, actions), score

    def step(self, shield):
        actions, prefs = self.proposals()
        mask = self.floor.mask[self.state.pos]
        out = shielded_step(self, shield, actions, prefs, mask)
        return out


# ---------------------------------------------------------------- a two-cell spur off one lane
#: a one-lane aisle (row 0) with two-cell dead-end spurs below columns 1, 3 and 5
LANE = [".......", "#.#.#.#", "#.#.#.#"]


def lane_case(floor, i_at=(0, 3), j_at=(1, 3)):
    """Robot 0 (highest priority, not polite) passes west along the lane through (0, 3), where
    robot 1 waits (politely) to enter the spur below it, whose end (2, 3) is its target;
    robot 2 in the spur leaves it for the lane's east end."""
    pos = [at(floor, 0, 4), at(floor, *i_at), at(floor, *j_at)]
    target = [at(floor, 0, 0), at(floor, 2, 3), at(floor, 0, 6)]
    return PoliteSim(floor, pos, target, [20, 10, 0], polite=[False, True, True])


def test_a_pushed_robot_that_proposed_wait_moves_as_under_plain_pibt():
    """Robot 1, pushed, goes into the spur and pushes robot 2 to its end, as plain PIBT does;
    a swap (backing off west) is not started for a robot whose own first candidate is WAIT."""
    f = grid_floor(LANE)
    sim = lane_case(f)
    actions, _ = sim.proposals()
    assert actions.tolist() == [W, WAIT, WAIT]  # robot 0 runs into robot 1, who waits
    out = sim.step(PIBTSwapShield())
    assert out.tolist() == [W, S, S]
    assert lane_case(f).step(PIBTShield()).tolist() == [W, S, S]


def test_the_pusher_gets_through_and_the_two_polite_robots_lock_in_the_spur():
    """The known cost of the rule: robot 0 passes, robots 1 and 2 (each waiting for the other's
    cell, neither proposing a move) stay in the spur; the shield never sees them. For good only
    here: this stand-in never advances ``since_progress``, and in the simulation the shield's
    stall rescue frees them (``tests/test_audit_polite_lock.py``)."""
    f = grid_floor(LANE)
    sim = lane_case(f)
    first = first_arrivals(sim, PIBTSwapShield(), 60)
    assert first[0] > 0 and (first[1:] < 0).all(), first
    assert sim.state.pos[1:].tolist() == [at(f, 1, 3), at(f, 2, 3)]


def test_a_pushed_robot_on_its_target_does_not_swap():
    """Robot 1 stands on its target at the spur's mouth: pushed, it moves on as under plain
    PIBT (its moves all lead away from its target, so no swap is required)."""
    f = grid_floor(LANE)
    pos = [at(f, 0, 4), at(f, 0, 3), at(f, 1, 3)]
    target = [at(f, 0, 0), at(f, 0, 3), at(f, 0, 6)]

    def sim():
        return PoliteSim(f, pos, target, [20, 10, 0], polite=[False, True, True])

    np.testing.assert_array_equal(sim().step(PIBTSwapShield()), sim().step(PIBTShield()))


def random_polite_fleets(seed: int, count: int, make=None):  # type: ignore[no-untyped-def]
    """``count`` random fleets of 2–5 robots on two small floors with spurs, about 70 % of
    them polite: ``(floor, make(floor, pos, target, since_goal, polite))`` (``make``:
    :class:`PoliteSim` unless given)."""
    make = make or PoliteSim
    rng = np.random.default_rng(seed)
    floors = [grid_floor(LANE), grid_floor(["#.#", "...", "#.#", "#.#"])]
    for k in range(count):
        f = floors[k % 2]
        n = int(rng.integers(2, 6))
        pos = rng.permutation(f.n_nodes)[:n]
        target = rng.integers(0, f.n_nodes, n)
        yield f, make(f, pos, target, rng.integers(0, 20, n), rng.random(n) < 0.7)


def test_random_polite_fleets_stay_safe_and_the_swap_fires():
    """Random small floors with spurs, robots polite or not, four steps each: every joint move
    is safe (checked in ``step``), and the swap (of robots that do not propose WAIT) changes
    some of them against plain PIBT."""
    changed = 0
    for f, sim in random_polite_fleets(seed=5, count=600):
        for _ in range(4):
            actions, prefs = sim.proposals()
            plain = PIBTShield()(sim, actions, prefs, f.mask[sim.state.pos])
            out = sim.step(PIBTSwapShield())
            changed += int(not np.array_equal(out, plain))
    assert changed >= 3, changed
