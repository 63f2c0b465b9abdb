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
the swap added in :func:`pibt_swap_plan`. The adaptation to this project's floors:

* **Swap required** (``i`` pushes, ``j`` would be pulled; ``D(r, v)`` is robot ``r``'s
  distance from ``v`` to its own target, ``sim.dist.table[slot, v]``): while ``i`` wants to go
  through ``j``'s node, walk on from ``j`` away from ``i``; a node with two or more ways on
  means ``j`` can be pushed aside (no swap). Where the walk stops, a swap is required when ``j``
  wants to come back towards ``i`` (``D(j, behind) < D(j, ahead)``; a robot without a target
  has no distance and never objects) and ``i`` wants to go on (it stands on its target or
  ``D(i, ahead) < D(i, behind)``). A pusher without a target never swaps.
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

import numba
import numpy as np

from .pibt import PIBTShield


@numba.njit(cache=True, inline="always")
def _no_way(u, occ, target, frozen, outdeg):  # pragma: no cover - compiled
    """A node a pull or a push cannot use: it holds a robot that may only WAIT, or a robot on
    its own target in a cell with a single way out."""
    k = occ[u]
    if k < 0:
        return False
    return frozen[k] or (outdeg[u] == 1 and target[k] == u)


@numba.njit(cache=True)
def _ways_on(v, came_from, fnbr, fmask, occ, target, frozen, outdeg):  # pragma: no cover
    """``(count, last)``: the floor's moves out of ``v`` to another node than ``came_from``
    that are usable (:func:`_no_way`), and the last such node."""
    count = 0
    last = -1
    for a in range(1, fnbr.shape[1]):
        if not fmask[v, a]:
            continue
        u = fnbr[v, a]
        if u == v or u == came_from or _no_way(u, occ, target, frozen, outdeg):
            continue
        count += 1
        last = u
    return count, last


@numba.njit(cache=True)
def swap_required(
    pusher, puller, v_pusher, v_puller, slot, table, fnbr, fmask, occ, target, frozen, outdeg
):  # pragma: no cover - compiled
    """Must ``pusher`` (at ``v_pusher``) and ``puller`` (at ``v_puller``) exchange places?
    (module docstring)."""
    sp = slot[pusher]
    if sp < 0:
        return False
    sq = slot[puller]
    for _ in range(fnbr.shape[0]):  # the distance falls at every node: bounded anyway
        if not table[sp, v_puller] < table[sp, v_pusher]:
            break
        count, last = _ways_on(v_puller, v_pusher, fnbr, fmask, occ, target, frozen, outdeg)
        if count >= 2:
            return False  # the puller can be pushed aside there
        if count == 0:
            break
        v_pusher, v_puller = v_puller, last
    if sq >= 0 and not table[sq, v_pusher] < table[sq, v_puller]:
        return False  # the puller does not want to come back
    return table[sp, v_pusher] == 0 or table[sp, v_puller] < table[sp, v_pusher]


@numba.njit(cache=True)
def swap_possible(
    v_pusher, v_puller, fnbr, fmask, occ, target, frozen, outdeg
):  # pragma: no cover - compiled
    """Is there room to step aside behind ``v_puller``, walking away from ``v_pusher``?"""
    origin = v_pusher
    for _ in range(fnbr.shape[0]):
        if v_puller == origin:
            return False  # went round a loop
        count, last = _ways_on(v_puller, v_pusher, fnbr, fmask, occ, target, frozen, outdeg)
        if count >= 2:
            return True
        if count == 0:
            return False
        v_pusher, v_puller = v_puller, last
    return False


@numba.njit(cache=True)
def _swap_agent(
    i, pos, nbr, cand, allowed, nxt, occ, slot, table, fmask, target, frozen, outdeg, order
):  # pragma: no cover - compiled
    """Set ``order[i]`` (``i``'s candidates) and return ``(j, action)``: the robot ``i`` will
    pull and ``j``'s move into ``i``'s node, or ``(-1, 0)`` without a swap."""
    n_act = cand.shape[1]
    for c in range(n_act):
        order[i, c] = cand[i, c]
    p = pos[i]
    first = -1
    for c in range(n_act):
        if allowed[i, cand[i, c]]:
            first = cand[i, c]
            break
    if first <= 0:
        return -1, 0
    v = nbr[p, first]
    j = occ[v]
    if v == p or j < 0 or j == i or nxt[j] >= 0:
        return -1, 0
    back = -1  # j's move into i's node
    for a in range(1, n_act):
        if allowed[j, a] and nbr[v, a] == p:
            back = a
            break
    if back < 0:
        return -1, 0
    if not swap_required(i, j, p, v, slot, table, nbr, fmask, occ, target, frozen, outdeg):
        return -1, 0
    if not swap_possible(v, p, nbr, fmask, occ, target, frozen, outdeg):
        return -1, 0
    # moves away in reversed preference order, then WAIT, then the blocked move
    k = 0
    for c in range(n_act - 1, -1, -1):
        a = cand[i, c]
        if a != 0 and a != first:
            order[i, k] = a
            k += 1
    order[i, k] = 0
    order[i, k + 1] = first
    return j, back


@numba.njit(cache=True)
def pibt_swap_plan(
    pos: np.ndarray,
    nbr: np.ndarray,
    cand: np.ndarray,
    allowed: np.ndarray,
    nxt: np.ndarray,
    act: np.ndarray,
    roots: np.ndarray,
    fmask: np.ndarray,
    outdeg: np.ndarray,
    slot: np.ndarray,
    table: np.ndarray,
    target: np.ndarray,
    frozen: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`~warehouse.shield.pibt.pibt_plan` with the swap (module docstring).

    Extra inputs: ``fmask`` (n_nodes, A) the floor's moves; ``outdeg`` (n_nodes,) its moves out
    of each node; ``slot`` (N,) each robot's row of ``table`` (-1: no target); ``table`` the
    distance table; ``target`` (N,) each robot's target node (-1: none); ``frozen`` (N,) robots
    that may only WAIT.
    """
    n = pos.shape[0]
    n_nodes = nbr.shape[0]
    n_act = cand.shape[1]
    occ = np.full(n_nodes, -1, np.int64)
    res = np.full(n_nodes, -1, np.int64)
    for i in range(n):
        occ[pos[i]] = i
        if nxt[i] >= 0:
            res[nxt[i]] = i
    ptr = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    stack = np.empty(n, np.int64)
    order = np.empty_like(cand)
    seen = np.zeros(n, np.bool_)
    pull = np.full(n, -1, np.int64)  # robot each robot pulls on success (-1: none)
    pull_act = np.zeros(n, np.int64)
    for r in roots:
        if nxt[r] >= 0:
            continue
        stack[0] = r
        sp = 1
        parent[r] = -1
        ptr[r] = 0
        ret = -1
        while sp > 0:
            i = stack[sp - 1]
            p = pos[i]
            if ret == 1:  # the child moved away: i keeps its move and pulls its swap partner
                sp -= 1
                _pull(i, pos, nxt, act, res, pull, pull_act)
                continue
            ret = -1
            if not seen[i]:
                seen[i] = True
                j, back = _swap_agent(
                    i, pos, nbr, cand, allowed, nxt, occ, slot, table, fmask, target, frozen,
                    outdeg, order,
                )  # fmt: skip
                pull[i] = j
                pull_act[i] = back
            pushed = False
            done = False
            while ptr[i] < n_act:
                a = order[i, ptr[i]]
                ptr[i] += 1
                if not allowed[i, a]:
                    continue
                v = nbr[p, a]
                if res[v] >= 0:
                    continue
                k = occ[v]
                if k >= 0 and k != i and nxt[k] >= 0 and nxt[k] == p:
                    continue
                par = parent[i]
                if par >= 0 and v == pos[par]:
                    continue
                res[v] = i
                nxt[i] = v
                act[i] = a
                if k >= 0 and k != i and nxt[k] < 0:
                    parent[k] = i
                    ptr[k] = 0
                    stack[sp] = k
                    sp += 1
                    pushed = True
                else:
                    done = True
                break
            if pushed:
                continue
            sp -= 1
            if done:
                _pull(i, pos, nxt, act, res, pull, pull_act)
                ret = 1
            else:
                if nxt[i] >= 0 and res[nxt[i]] == i:
                    res[nxt[i]] = -1
                nxt[i] = p
                act[i] = 0
                res[p] = i
                ret = 0


@numba.njit(cache=True, inline="always")
def _pull(i, pos, nxt, act, res, pull, pull_act):  # pragma: no cover - compiled
    """After ``i`` has secured its move: pull its swap partner into the node it leaves."""
    j = pull[i]
    if j < 0 or nxt[j] >= 0:
        return
    p = pos[i]
    if nxt[i] == p or nxt[i] == pos[j] or res[p] >= 0:
        return
    nxt[j] = p
    act[j] = pull_act[i]
    res[p] = j


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
        pibt_swap_plan(
            pos,
            floor.nbr,
            cand,
            mask,
            nxt,
            act,
            roots,
            floor.mask,
            self._outdeg,
            np.asarray(slot, dtype=np.int64),
            sim.dist.table,
            np.asarray(target, dtype=np.int64),
            np.asarray(frozen, dtype=np.bool_),
        )
