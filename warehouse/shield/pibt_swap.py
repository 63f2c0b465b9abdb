"""PIBT with the swap manoeuvre: the ``pibt_swap`` collision mode.

Plain PIBT (:mod:`warehouse.shield.pibt`) never lets two robots pass each other where the floor
leaves no room to step aside: in a dead end (a station or pick cell with one neighbour) or a
corridor, a higher-priority robot that wants in and the robot inside that wants out both wait,
their priorities grow at the same rate, and they lock for good. LaCAM* (Okumura, "Improving
LaCAM for Scalable Eventually Optimal Multi-Agent Pathfinding", IJCAI 2023) adds a *swap* to
PIBT: when robot ``i``'s best node is held by an unplanned robot ``j``, the two must exchange
places (*swap required*) and there is room behind ``i`` to do it (*swap possible*), ``i``
reverses its candidates (it backs away instead of pushing ``j`` deeper) and, once it has moved,
*pulls* ``j`` into the node it vacated. A few steps later the corridor opens onto a junction,
one robot steps aside, and the other passes.

This shield is :class:`~warehouse.shield.pibt.PIBTShield` (same candidates, priorities, stall
rescue and minimal intervention: robots whose proposals do not conflict keep their moves) with
the swap added (:func:`~warehouse.shield.pibt.pibt_search` with ``swap=True``; the rules in
:mod:`warehouse.shield.swap_rules`). The adaptation to this project's floors:

* **Swap required** (``i`` pushes, ``j`` would be pulled; ``D(r, v)`` is robot ``r``'s
  distance from ``v`` to its own target, ``sim.dist.table[slot, v]``): while ``i`` wants to go
  through ``j``'s node, walk on from ``j`` away from ``i``; a node with two or more ways on
  means ``j`` can be pushed aside (no swap). Only a walk that ends with no way on (a dead end,
  or ways held by robots that may only WAIT) can require a swap: there a swap is required when
  ``j`` wants to come back towards ``i`` (``D(j, behind) < D(j, ahead)``; a robot without a
  target has no distance and never objects). A walk that stops because ``i``'s own way stops
  (its target, or its path leaving the line) while the line goes on requires none: ``j`` can be
  pushed on. LaCAM* swaps there too, for a pusher that will stand on its goal for good; here a
  robot leaves its pick after ``tasks.pick_time`` steps, and those swaps cost the learned
  navigator 3 % on ``small_peak`` (docs/results_swap.md, part 3). A pusher without a target
  never swaps.
* **Swap possible**: walk back from ``i`` away from ``j`` (the pull ``i`` would lead); it is
  possible at the first node with two or more ways on, impossible at a dead end.
* **Neighbours** are the moves out of a node that the move rule allows now
  (:meth:`~warehouse.core.Simulation.action_mask` for a robot there: one-way aisles count only
  their allowed direction; closed edges, ``sim.dist.mask``, and moves into closed cells,
  random or scheduled, do not count, except a scheduled-closed cell a robot inside may step
  onto on its way out, ``sim.dist.leave``): a closed cell is no room to step aside, and a
  corridor a closure ends is a dead end. Without closures they are the floor's moves
  (``floor.mask``/``floor.nbr``). A way on is not counted when a robot that may
  only WAIT (busy, broken) stands there, or a robot stands on its target in a cell with a
  single way out (LaCAM's rule). The pull itself must be a move ``j``'s action mask allows
  (``j``'s node to ``i``'s): a swap that needs a reverse move the floor forbids is not possible.
* **Candidates under a swap**: ``i``'s moves away in reversed preference order (LaCAM reverses
  the candidate list), then WAIT, then its proposed move. ``j`` is pulled only when ``i``
  actually left its node for another one than ``j``'s and no one else reserved it; robots that
  may only WAIT are never planned, so never pushed or pulled.
* **Pushed robots** start no swap when their own first candidate is WAIT, although a push
  takes WAIT away (LaCAM* also starts none for a pushed agent whose best is to stay). A pushed
  robot can never pull (its pusher takes the node the pull needs), so its swap would only
  reorder its candidates. Both orders tried in the thirty-fifth session (rule-based fleet,
  seeds 0-4, 3,600 steps) gridlock more often than no swap (1 of 5 seeds on ``spurs_narrow``,
  0 on ``spurs``): LaCAM*'s reversed order 4 of 5 on ``spurs_narrow``, the robot's other moves
  first in preference order 3 of 5 on ``spurs``.

* **Commitment** (a swap over several steps): LaCAM* plans every agent at every step, so its
  swap goes on, step after step, until the corridor opens onto a junction where one robot
  steps aside. This shield passes proposals that do not conflict, so a navigator that sends the
  pulled robot back (the rule-based navigator's idle robot, pushed ahead of the robot that
  wants its node) undid a swap the next step: a two-step shuttle between the dead end and the
  cell before it, the rescued robot never arriving (``tests/test_audit_dead_end_shuttle.py``).
  So a pull made by a stalled robot (the stall rescue's, :mod:`warehouse.shield.pibt`) commits
  the pair: while the leader stays stalled with the same target, neither robot may only WAIT,
  the pulled robot has no target of its own (the idle robot the yield rule sends back; one
  driving to a target of its own is left to PIBT, as holding it could bar it from its own way
  for good) and stands on a neighbour of the leader, closer to the leader's target, a
  step at which the pulled robot proposes to drive back towards that target plans the two
  although their proposals do not conflict (with the robots driving into their nodes, as
  behind a failed move), and whenever the pulled robot is planned (so, or pushed) it is barred
  from every move that brings it closer to the leader's target: the leader, rescued, swaps
  again, pushes it aside, or waits, but never pushes it back in (barring only its proposals
  let a pulled robot that waited be pushed straight back in by its leader, a shuttle for good:
  ``tests/test_audit_commitment.py``). At other steps both keep their moves. A new pull by the
  leader replaces its commitment. Commitments live on the shield from one step to the next of
  the same episode (the same ``sim.state``, clock ``sim.t + 1``): a reset, or a call at another
  step, finds none, and the calls of one step see the same commitments. Swaps by robots that are not
  stalled commit nothing. (Stalled: as the rescue sees it, a navigator's hint included,
  :meth:`~warehouse.shield.pibt.PIBTShield.stalled`.) Planning the pulled robot at every step
  instead (ranked away from the leader's target) or letting it be pushed back gridlocked
  ``spurs_narrow`` on other seeds (``tests/test_audit_dead_end_shuttle.py``, docstring).

The shield counts what its swap did since it was made, for measurements: ``swaps``, the pulls
(robot-steps at which a robot pulled another into the node it left), and ``commitments``, those
made by stalled robots (each commits its pair). Reading them changes no run.

LaCAM*'s second rule ("clear" from one step ahead) is not used here (the ``lacam``
navigator's generator uses it: ``hold``, :func:`~warehouse.shield.swap_rules.swap_agent`). No
RNG is used: the same inputs (and the same commitments) give the same joint move.
"""

from __future__ import annotations

import numpy as np

from warehouse.core.kernels import action_mask_kernel
from warehouse.core.state import Phase

from .pibt import PIBTShield, pibt_search

#: commitments: ``(state, t, leaders, followers, goals)``, each leader's follower and target
_Commits = tuple[object, int, np.ndarray, np.ndarray, np.ndarray]


class PIBTSwapShield(PIBTShield):
    """Collision shield of the ``pibt_swap`` mode: PIBT plus LaCAM*'s swap (module docstring)."""

    name = "pibt_swap"

    def __init__(self, *, stall_steps: int = 16) -> None:
        super().__init__(stall_steps=stall_steps)
        self._floor = None
        self._outdeg = np.zeros(0, np.int64)
        # the open moves under the closures last seen: (dist.mask, dist.leave, closed, moves,
        # outdeg), reused while none of them changes
        self._open: tuple | None = None
        # swap commitments (module docstring, *Commitment*): those that hold at the step
        # being planned, those made for the next step, and the ones this call found valid
        self._commits: _Commits | None = None
        self._next: _Commits | None = None
        self._active: _Commits | None = None
        #: pulls made since the shield was made: robot-steps at which a robot pulled another
        #: into the node it left (the search's ``pulled``; a count for measurements)
        self.swaps = 0
        #: of those, the pulls made by stalled robots: each commits its pair (*Commitment*)
        self.commitments = 0

    def _moves(self, sim) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
        """``(fmask, outdeg)``: the moves out of each node that the move rule allows a robot
        there now (``(n_nodes, A)`` bool) and their count per node, WAIT and self-moves left
        out (module docstring, *Neighbours*). The floor's own while nothing is closed."""
        floor = sim.floor
        if self._floor is not floor:
            self._outdeg = _out_degree(floor, floor.mask)
            self._floor = floor
            self._open = None
        if not sim.closures_possible:
            return floor.mask, self._outdeg
        dist = sim.dist
        closed = sim.closed_until > sim.t
        if dist.mask is floor.mask and not closed.any():
            return floor.mask, self._outdeg
        cached = self._open
        if (
            cached is not None
            and cached[0] is dist.mask
            and cached[1] is dist.leave
            and np.array_equal(cached[2], closed)
        ):
            return cached[3], cached[4]
        # the move rule itself (one physics): the action mask of a free robot on every node
        n = floor.n_nodes  # (the dtypes of FleetState's pos, broken and phase)
        moves = np.empty((n, floor.n_actions), dtype=bool)
        action_mask_kernel(
            np.arange(n, dtype=np.int32), dist.mask, floor.nbr, np.zeros(n, np.int32),
            np.full(n, Phase.IDLE, np.int8), sim.closed_until, sim.t, True, dist.leave, moves,
        )  # fmt: skip
        outdeg = _out_degree(floor, moves)
        self._open = (dist.mask, dist.leave, closed, moves, outdeg)
        return moves, outdeg

    def _held(self, sim, pos, actions, mask, frozen, rescued):  # type: ignore[no-untyped-def]
        """The commitments that hold now (module docstring, *Commitment*): the pairs whose
        follower proposes to drive back towards its leader's target are planned (both), and
        every follower is barred from the moves that bring it closer to that target, whether
        planned so or pushed. None while no commitment holds."""
        s, t = sim.state, getattr(sim, "t", None)  # (no clock: a bare scene, no commitments)
        nxt = self._next
        if nxt is not None and nxt[0] is s and nxt[1] == t:  # the first call of this step
            self._commits = nxt
        self._next = self._active = None
        c = self._commits
        if c is None or t is None or c[0] is not s or c[1] != t:  # another episode's or step's
            return None
        lead, follow, goal = c[2], c[3], c[4]
        target, slot = sim.target_slots()
        ok = self.stalled(sim)[lead] & (target[lead] == goal) & ~frozen[lead] & ~frozen[follow]
        pl, pf = pos[lead], pos[follow]
        nbr = sim.floor.nbr
        ok &= (nbr[pl, 1:] == pf[:, None]).any(axis=1)  # neighbours
        table = sim.dist.table
        row = slot[lead]
        ok &= table[row, pf] < table[row, pl]  # the follower still stands ahead of its leader
        ok &= target[follow] < 0  # an idle robot with nowhere to go (one with a target: PIBT's)
        if not ok.any():
            return None
        lead, follow, goal, row = lead[ok], follow[ok], goal[ok], row[ok]
        self._active = (s, t, lead, follow, goal)
        self._next = (s, t + 1, lead, follow, goal)  # they go on (:meth:`_commit` adds new ones)
        pf = pos[follow]
        here = table[row, pf]
        back = table[row, nbr[pf, actions[follow]]] < here  # the follower would drive back
        # every follower, planned for whatever reason (held, pushed), is barred from the moves
        # back: one that waited and was pushed by its leader went straight back in
        followers, first = np.unique(follow, return_index=True)  # one leader each: the lowest id
        keep = table[row[first][:, None], nbr[pos[followers]]] >= here[first][:, None]
        return np.union1d(lead[back], follow[back]), followers, keep

    def _plan(self, sim, pos, cand, mask, nxt, act, roots, frozen):  # type: ignore[no-untyped-def]
        floor = sim.floor
        fmask, outdeg = self._moves(sim)
        target, slot = sim.target_slots()
        sc = self.scratch(floor.n_nodes, pos.size)
        pulled = np.full(pos.size, -1, dtype=np.int64)
        pibt_search(
            pos,
            floor.nbr,
            cand,
            mask,
            nxt,
            act,
            roots,
            sc.occ,
            sc.res,
            True,
            fmask,
            outdeg,
            np.asarray(slot, dtype=np.int64),
            sim.dist.table,
            np.asarray(target, dtype=np.int64),
            np.asarray(frozen, dtype=np.bool_),
            pulled,
        )
        self.swaps += int(np.count_nonzero(pulled >= 0))
        self._commit(sim, pulled, target, frozen)

    def _commit(self, sim, pulled, target, frozen) -> None:  # type: ignore[no-untyped-def]
        """The commitments for the next step: the pulls made now by stalled robots, and the
        commitments that held now (a leader's new pull replaces its old one)."""
        s, t = sim.state, getattr(sim, "t", None)
        if self.stall_steps <= 0 or t is None:
            return
        if self._active is None and pulled.max(initial=-1) < 0:
            return  # no pull and no commitment: nothing to carry (the common case, ~1 µs)
        stalled = self.stalled(sim) & (target >= 0) & ~frozen
        lead = np.flatnonzero(stalled & (pulled >= 0))
        follow = pulled[lead]
        self.commitments += lead.size
        if self._active is not None:
            old = self._active
            keep = ~np.isin(old[2], lead)
            lead = np.concatenate([lead, old[2][keep]])
            follow = np.concatenate([follow, old[3][keep]])
        if lead.size == 0:
            return
        order = np.argsort(lead, kind="stable")
        lead, follow = lead[order], follow[order]
        self._next = (s, t + 1, lead, follow, np.asarray(target, dtype=np.int64)[lead])


def _out_degree(floor, moves: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per node: the moves ``moves`` allows out of it to another node (int64)."""
    own = np.arange(floor.n_nodes)[:, None]
    return (moves[:, 1:] & (floor.nbr[:, 1:] != own)).sum(axis=1).astype(np.int64)
