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
* **Neighbours** are the floor's moves out of a node (``floor.mask``/``floor.nbr``: one-way
  aisles count only their allowed direction). A way on is not counted when a robot that may
  only WAIT (busy, broken) stands there, or a robot stands on its target in a cell with a
  single way out (LaCAM's rule). The pull itself must be a move ``j``'s action mask allows
  (``j``'s node to ``i``'s): a swap that needs a reverse move the floor forbids is not possible.
* **Candidates under a swap**: ``i``'s moves away in reversed preference order (LaCAM reverses
  the candidate list), then WAIT, then its proposed move. ``j`` is pulled only when ``i``
  actually left its node for another one than ``j``'s and no one else reserved it; robots that
  may only WAIT are never planned, so never pushed or pulled.

LaCAM*'s second rule ("clear" from one step ahead) is not used. No RNG is used: the same inputs
give the same joint move.
"""

from __future__ import annotations

import numpy as np

from .pibt import PIBTShield, pibt_search


class PIBTSwapShield(PIBTShield):
    """Collision shield of the ``pibt_swap`` mode: PIBT plus LaCAM*'s swap (module docstring)."""

    name = "pibt_swap"

    def __init__(self, *, stall_steps: int = 16) -> None:
        super().__init__(stall_steps=stall_steps)
        self._floor = None
        self._outdeg = np.zeros(0, np.int64)

    def _plan(self, sim, pos, cand, mask, nxt, act, roots, frozen):  # type: ignore[no-untyped-def]
        floor = sim.floor
        if self._floor is not floor:
            own = np.arange(floor.n_nodes)[:, None]
            moves = floor.mask[:, 1:] & (floor.nbr[:, 1:] != own)
            self._outdeg = moves.sum(axis=1).astype(np.int64)
            self._floor = floor
        target, slot = sim.target_slots()
        sc = self.scratch(floor.n_nodes, pos.size)
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
            floor.mask,
            self._outdeg,
            np.asarray(slot, dtype=np.int64),
            sim.dist.table,
            np.asarray(target, dtype=np.int64),
            np.asarray(frozen, dtype=np.bool_),
        )
