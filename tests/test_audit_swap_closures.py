"""Audit (h10): the ``pibt_swap`` shield's swap rules under closures. The ways on ("room to step
aside", dead ends) must be counted on the moves the move rule allows now, not on the floor's
static moves: a closed cell is no room to step aside, and a corridor a closure turned into a
dead end is one."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from swap_scenes import E, N, S, at, first_arrivals, grid_floor, shielded_step

from warehouse.core.kernels import action_mask_kernel
from warehouse.floor.distances import DistanceCache
from warehouse.shield.pibt import PIBTShield
from warehouse.shield.pibt_swap import PIBTSwapShield


class ClosedSim:
    """The parts of a Simulation the shields read, with fixed targets, scheduled-closed cells
    (a real :class:`DistanceCache` with ``set_closed``: distances, ``mask``, ``leave``; with
    ``scheduled=False`` random ones: ``closed_until`` alone) and a greedy shortest-path
    navigator, stepped by hand. ``closed=()`` is a run without closures (``closures_possible``
    false)."""

    def __init__(self, floor, pos, target, since_goal, closed=(), scheduled=True):
        self.floor = floor
        n = len(pos)
        self.dist = DistanceCache(floor)
        closed = np.asarray(closed, dtype=np.int64)
        self.closures_possible = bool(closed.size)
        if scheduled:  # random closures only raise closed_until
            self.dist.set_closed(closed)
        self.t = 0
        self.closed_until = np.zeros(floor.n_nodes, dtype=np.int64)
        self.closed_until[closed] = 10**9
        target = np.asarray(target, dtype=np.int32)
        slot = self.dist.slots(target).astype(np.int64)
        self._targets = (target, slot)
        self.state = SimpleNamespace(
            pos=np.asarray(pos, dtype=np.int32),
            target=target,
            since_goal=np.asarray(since_goal, dtype=np.int32),
            since_progress=np.zeros(n, np.int32),
        )

    def target_slots(self):
        return self._targets

    def mask(self) -> np.ndarray:
        """The move rule's action mask (:func:`action_mask_kernel`)."""
        n = self.state.pos.size
        out = np.empty((n, self.floor.n_actions), dtype=bool)
        zeros = np.zeros(n, np.int32)
        action_mask_kernel(
            self.state.pos, self.dist.mask, self.floor.nbr, zeros, zeros, self.closed_until,
            self.t, self.closures_possible, self.dist.leave, out,
        )  # fmt: skip
        return out

    def greedy(self):
        """Proposals and preferences: the move that gets closest to the target, WAIT last."""
        _, slot = self._targets
        d = self.dist.table[slot[:, None], self.floor.nbr[self.state.pos]]
        score = -d.astype(np.float64)
        score[:, 0] -= 0.5
        score = np.where(self.mask(), score, -np.inf)
        return score.argmax(axis=1), score

    def step(self, shield):
        actions, prefs = self.greedy()
        mask = self.mask()
        out = shielded_step(self, shield, actions, prefs, mask)
        self.t += 1
        return out


#: a three-cell spur below (0, 1) with a side pocket at (2, 2): with the pocket open a robot in
#: the spur can step aside; with it closed the spur is a dead end
POCKET = [".....", "#.###", "#..##", "#.###"]


def pocket_case(closed: bool):
    f = grid_floor(POCKET)
    mouth, deep, out = at(f, 0, 1), at(f, 3, 1), at(f, 0, 4)
    # robot 0 (higher priority) heads for the spur's end, robot 1 inside heads out east
    shut = [at(f, 2, 2)] if closed else []
    return f, ClosedSim(f, [mouth, at(f, 1, 1)], [deep, out], [10, 0], closed=shut)


def test_a_spur_a_closure_made_a_dead_end_is_passed_with_the_swap():
    """The pocket is closed: robot 1 has nowhere to step aside. Plain PIBT locks; the swap
    shield must see the dead end and get both robots through (before the fix the closed pocket
    counted as a way on, so no swap was ever required and the two shuffled for good)."""
    f, sim = pocket_case(closed=True)
    first = first_arrivals(sim, PIBTShield(), 60)
    assert first[0] < 0 or first[1] < 0, first  # plain PIBT does not get both through

    f, sim = pocket_case(closed=True)
    first = first_arrivals(sim, PIBTSwapShield(), 40)
    assert (first > 0).all(), first
    assert not (sim.state.pos == at(f, 2, 2)).any()  # nobody entered the closed pocket


def test_the_open_pocket_still_lets_the_robot_step_aside():
    """Without the closure the same scene needs no swap: both get through as before."""
    _, sim = pocket_case(closed=False)
    first = first_arrivals(sim, PIBTSwapShield(), 40)
    assert (first > 0).all(), first


@pytest.mark.parametrize("scheduled", [True, False])
def test_the_swap_counts_the_moves_the_move_rule_allows(scheduled: bool):
    """The moves the swap rules count out of every node are those the action mask gives a
    robot standing there: no move into a closed cell, random or scheduled, except outward
    through a scheduled closure (``dist.leave``)."""
    f = grid_floor(["......", ".#..#.", "......", "..#..."])
    block = [(0, 2), (0, 3), (1, 2), (1, 3), (2, 2), (2, 3)]  # (1, 2..3): two steps out
    shut = [at(f, r, c) for r, c in block] + [at(f, 3, 5)]
    every = np.arange(f.n_nodes)
    sim = ClosedSim(f, every, every, np.zeros(f.n_nodes), closed=shut, scheduled=scheduled)
    assert (sim.dist.leave[shut] > 0).all() == scheduled
    moves, outdeg = PIBTSwapShield()._moves(sim)
    np.testing.assert_array_equal(moves[:, 1:], sim.mask()[:, 1:])
    own = every[:, None]
    np.testing.assert_array_equal(outdeg, (moves[:, 1:] & (f.nbr[:, 1:] != own)).sum(axis=1))
    assert not moves[at(f, 0, 1), E]  # into a closed cell from outside
    # outward through a closed cell from deep inside a scheduled closure, never inward
    assert moves[at(f, 1, 2), N] == scheduled
    assert not moves[at(f, 0, 2), S]


def test_without_closures_the_swap_reads_the_floors_moves():
    f, sim = pocket_case(closed=False)
    moves, outdeg = PIBTSwapShield()._moves(sim)
    assert moves is f.mask
    own = np.arange(f.n_nodes)[:, None]
    np.testing.assert_array_equal(outdeg, (f.mask[:, 1:] & (f.nbr[:, 1:] != own)).sum(axis=1))


def test_a_reused_shield_follows_closures_that_open_and_close():
    """The shield keeps the open moves between steps: they must follow every change of the
    closed cells (random ones change ``closed_until`` alone) and of the scheduled set."""
    f, sim = pocket_case(closed=True)
    shield = PIBTSwapShield()
    pocket, side = at(f, 2, 2), at(f, 2, 1)
    assert not shield._moves(sim)[0][side, E]
    sim.t = 10**9  # the closure is over; the distances reopen too
    sim.dist.set_closed(np.zeros(0, np.int64))
    moves, outdeg = shield._moves(sim)
    assert moves is f.mask and outdeg[side] == 3
    sim.closed_until[pocket] = sim.t + 5  # a random closure of the same cell
    moves, outdeg = shield._moves(sim)
    assert not moves[side, E] and outdeg[side] == 2
    sim.closed_until[pocket] = 0
    assert shield._moves(sim)[0][side, E]
