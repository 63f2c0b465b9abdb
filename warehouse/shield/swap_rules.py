"""The swap rules of LaCAM*'s PIBT (Okumura, IJCAI 2023), compiled: when must two robots
exchange places, is there room to, and the pull that follows. The search that uses them is
:func:`warehouse.shield.pibt.pibt_search` (``swap=True``); the rules and their adaptation to
this project's floors are described in :mod:`warehouse.shield.pibt_swap`.
"""

from __future__ import annotations

import numba


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
    """``(count, last)``: the open moves (``fmask``: the floor's, less closures) out of ``v``
    to another node than ``came_from`` that are usable (:func:`_no_way`), and the last such
    node."""
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
    pusher,
    puller,
    v_pusher,
    v_puller,
    slot,
    table,
    fnbr,
    fmask,
    occ,
    target,
    frozen,
    outdeg,
    hold=False,
):  # pragma: no cover - compiled
    """Must ``pusher`` (at ``v_pusher``) and ``puller`` (at ``v_puller``) exchange places?
    (:mod:`warehouse.shield.pibt_swap`). Only where the walk ahead of the pusher ends with no
    way on: where it ends because the pusher's own way stops (its target, or its path leaving
    the line) while the line goes on, the puller can be pushed on instead (LaCAM* swaps there
    too, for a pusher that stays on its goal for good; here a robot leaves its target within
    ``pick_time`` steps). With ``hold`` (robots hold their goals for good: the ``lacam``
    navigator's one-shot plans) LaCAM*'s rule: a walk that ends at the pusher's target
    requires the swap too."""
    sp = slot[pusher]
    if sp < 0:
        return False
    sq = slot[puller]
    for _ in range(fnbr.shape[0]):  # the distance falls at every node: bounded anyway
        if not table[sp, v_puller] < table[sp, v_pusher]:
            if hold:
                break  # LaCAM*: swap when the walk ends at the pusher's target (below)
            return False  # the line goes on past the pusher's way: push the puller on
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


@numba.njit(cache=True, inline="always")
def _move_into(j, u, p, nbr, allowed):  # pragma: no cover - compiled
    """``j``'s allowed move from ``u`` into ``p`` (-1: none)."""
    for a in range(1, nbr.shape[1]):
        if allowed[j, a] and nbr[u, a] == p:
            return a
    return -1


@numba.njit(cache=True)
def _clear_for(
    i, p, v, nbr, allowed, slot, table, fmask, occ, target, frozen, outdeg
):  # pragma: no cover - compiled
    """LaCAM*'s *clear* case (its ``swap_possible_and_required``, after Push and Swap):
    ``(k, action)`` for a robot ``k`` next to ``i`` (at ``p``, heading for ``v``) that will
    need to pass ``i`` on the line ahead (:func:`swap_required` of ``k`` pushing ``i`` one
    step on, from ``p`` to ``v``) where there is room for ``i`` to step aside behind ``p``
    (:func:`swap_possible`), with ``k``'s move into ``p``; ``(-1, -1)`` for none. ``i`` then
    moves away from ``v`` and ``k`` passes."""
    for a in range(1, nbr.shape[1]):
        u = nbr[p, a]
        if u == p or u == v:
            continue
        k = occ[u]
        if k < 0 or k == i:
            continue
        back = _move_into(k, u, p, nbr, allowed)
        if back < 0:
            continue
        if swap_required(
            k, i, p, v, slot, table, nbr, fmask, occ, target, frozen, outdeg, True
        ) and swap_possible(v, p, nbr, fmask, occ, target, frozen, outdeg):
            return k, back
    return -1, -1


@numba.njit(cache=True)
def swap_agent(
    i,
    pos,
    nbr,
    cand,
    allowed,
    nxt,
    occ,
    slot,
    table,
    fmask,
    target,
    frozen,
    outdeg,
    order,
    hold=False,
):  # pragma: no cover - compiled
    """Set ``order[i]`` (``i``'s candidates) and return ``(j, action)``: the robot ``i`` will
    pull and ``j``'s move into ``i``'s node, or ``(-1, 0)`` without a swap. ``hold`` (the
    ``lacam`` navigator): LaCAM*'s rules, :func:`swap_required`'s and, when the robot on
    ``i``'s best node needs no swap, the clear rule (:func:`_clear_for`)."""
    n_act = cand.shape[1]
    for c in range(n_act):
        order[i, c] = cand[i, c]
    p = pos[i]
    first = -1
    for c in range(n_act):
        if allowed[i, cand[i, c]]:
            first = cand[i, c]
            break
    if first <= 0:  # WAIT first: no swap, pushed or not (pibt_swap, *Pushed robots*)
        return -1, 0
    v = nbr[p, first]
    if v == p:
        return -1, 0
    j = occ[v]
    back = -1
    if j >= 0 and j != i and nxt[j] < 0:
        back = _move_into(j, v, p, nbr, allowed)  # j's move into i's node
        if back >= 0 and not (
            swap_required(i, j, p, v, slot, table, nbr, fmask, occ, target, frozen, outdeg, hold)
            and swap_possible(v, p, nbr, fmask, occ, target, frozen, outdeg)
        ):
            back = -1
    if back < 0 and hold:  # LaCAM*'s clear operation: make way for a robot behind
        j, back = _clear_for(i, p, v, nbr, allowed, slot, table, fmask, occ, target, frozen,
                             outdeg)  # fmt: skip
    if back < 0:
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


@numba.njit(cache=True, inline="always")
def pull_partner(i, pos, nxt, act, res, pull, pull_act):  # pragma: no cover - compiled
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
