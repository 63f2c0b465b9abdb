"""Compiled parts of the ``guided`` navigator (:mod:`agents.guided`): guide paths, their traffic
flow, and the guide heuristic.

Everything here works on arrays only (numba, ``cache=True``); the navigator calls three kernels a
step, each one loop over the fleet:

* :func:`track`: where each robot stands on its guide path, the flow of the edges it has passed
  taken out, and which robots need a new guide path;
* :func:`plan_paths`: a guide path for each of those robots, in id order, by a spatial A* (no
  time dimension) whose edge costs grow with the flow the other guide paths put on the floor
  (:func:`astar`); the old path's flow is taken out before and the new one's added after;
* :func:`guide_scores`: each robot's preference scores (minus the guide heuristic) and its
  proposal (the best of them).

**Flow.** ``flow[v, a]`` counts the guide paths that still have to take the move ``a`` out of
node ``v``; ``vflow[v]`` is their sum over ``a`` (the paths still to pass through ``v``). Only
the part of a path ahead of its robot counts: the edges a robot has passed are taken out as it
goes (:func:`track`).

**Edge cost** of the move ``v -a-> u`` in a guide path's search:
``1 + vertex_weight * vflow[u] + contraflow_weight * (flow[v, a] + 1) * flow[u, rev[v, a]]``,
``rev[v, a]`` the move back from ``u`` to ``v``: a path is pushed off nodes many paths cross
and, above all, off edges paths already take the other way (contraflow; the product makes a
lane that carries traffic both ways cost more the more it carries), as in Chen, Harabor, Li and
Stuckey, "Traffic Flow Optimisation for Lifelong Multi-Agent Path Finding" (AAAI 2024). The
search's heuristic is the simulation's distance row of the goal (unit steps, a lower bound of
every cost, consistent), so the search is an exact least-cost search; the opt-in
``suboptimality`` w > 1 multiplies it by w (weighted A*: a path at most w times the least cost,
with fewer expansions, as the congestion costs make the plain distance a loose bound).

**Guide heuristic.** A robot at index ``k`` of its path ``P`` (``L`` moves long) ranks each node
``u`` it may step to by ``h(u) = min_j (δ(u, P[j]) + L - j)`` over the path nodes ``j`` in the
window ``[k - 2, k + 3]``, ``δ`` 0 on the node, 1 one allowed move away; the steps to go along the
path from the nearest path node, as the paper's distance-to-path heuristic, evaluated near the
robot only (no per-robot table of the whole floor: 10,000 robots on a 70,000-node floor). A node
two or more moves from every window node gets ``L - k + 2``. A robot standing two or more moves
away from its path (pushed aside by a shield) rejoins it nearby (:func:`reconnect`) or gets a
new one from where it stands; so does a robot off its path that a stall rescue moved
(:func:`track`).
"""

from __future__ import annotations

import numba
import numpy as np

#: distance rows' mark of "no path" (:data:`warehouse.floor.UNREACHABLE`)
_UNREACHABLE = 65535
#: path nodes before / after the robot's index that the heuristic and the tracking look at
BACK, AHEAD = 2, 3
#: path nodes ahead of the robot's index that a robot off its path may rejoin, and the most
#: moves it may take to get there (:func:`reconnect`)
REJOIN, REJOIN_DEPTH = 12, 4
#: ``need`` codes of :func:`track`: why a robot gets a new guide path
NEED_NONE, NEED_TARGET, NEED_OFF = 0, 1, 2
#: buckets of :func:`astar`'s open list per unit of f (a power of two: ``f * 16`` is exact)
BUCKET_SCALE = 16.0
#: buckets ahead of the current one that :func:`astar` keeps in its ring (a power of two; 1,024
#: units of f), farther entries wait in an overflow list
RING = 1 << 14
#: the last bucket: f past ``2**56`` (weights that large) all go there, still in order
BUCKET_TOP = float(2**60)


@numba.njit(cache=True)
def reverse_moves(nbr, mask):  # pragma: no cover - compiled
    """``(n_nodes, A)`` int8: the action leading back from ``nbr[v, a]`` to ``v`` (-1 where ``a``
    is WAIT, not allowed, or no move leads back)."""
    n, n_act = nbr.shape
    rev = np.full((n, n_act), -1, np.int8)
    for v in range(n):
        for a in range(1, n_act):
            u = nbr[v, a]
            if not mask[v, a] or u == v:
                continue
            for b in range(1, n_act):
                if nbr[u, b] == v and mask[u, b]:
                    rev[v, a] = b
                    break
    return rev


@numba.njit(cache=True, inline="always")
def _add_flow(nodes, acts, start, first, last, sign, flow, vflow):  # pragma: no cover - compiled
    """Add ``sign`` to the flow of the path edges ``first .. last - 1`` (``nodes``/``acts`` the
    pool, ``start`` the path's offset in it)."""
    for j in range(first, last):
        v = nodes[start + j]
        flow[v, acts[start + j]] += sign
        vflow[v] += sign


@numba.njit(cache=True)
def track(
    pos,
    target,
    g_target,
    g_start,
    g_len,
    g_k,
    g_from,
    g_fail,
    pool_nodes,
    pool_acts,
    flow,
    vflow,
    nbr,
    mopen,
    need,
    since_progress,
    stall,
    g_best,
    g_tbest,
    t,
    guide_stall,
    backstop,
):  # pragma: no cover - compiled
    """Locate every robot on its guide path and say who needs a new one.

    A robot whose target changed (or that has none any more) loses its path (its remaining flow
    is taken out); ``need[i]`` becomes :data:`NEED_TARGET` when it has a target. A robot with a
    path is looked for in the window of its index: on a path node its index moves there and the
    flow of the edges behind it is taken out. Off the path, a robot that has not come closer to
    its target for ``stall`` steps (``since_progress``; 0: never) searches a new path from where
    it stands (:data:`NEED_TARGET`): a PIBT shield's stall rescue, which moves such a robot by
    the plain shortest distance, has taken it off, and pulled back onto its old path it would
    stall again. Otherwise one move from a path node it keeps the nearest such index; farther
    away it needs a new path (:data:`NEED_OFF`). A robot whose last search failed (``g_fail``
    its node then, :func:`plan_paths`) searches again once it stands on another node: between
    two changes of the floor's distances (after which the navigator plans every path anew)
    whether a search finds a path depends on where it starts only, and a robot deep inside
    closed cells, whose search cannot leave them, gets a path once it has stepped out.

    Guide progress: ``g_best[i]`` is the fewest steps to go along its path robot ``i`` has
    stood at (on a path node ``L - k``, one move from one ``L - k + 1``), ``g_tbest[i]`` the
    step ``t`` it last got fewer. With ``guide_stall`` the rescue follows the guide
    (:meth:`agents.guided.GuidedNavigator.stalled`), and a robot counts as moved by it when it
    has not come closer by the plain distance for ``stall`` steps and not along its path
    either, or by the plain distance for ``backstop`` steps. Returns how many need one."""
    n = pos.size
    n_act = nbr.shape[1]
    count = 0
    for i in range(n):
        need[i] = NEED_NONE
        if target[i] != g_target[i]:
            if g_len[i] > 0:
                _add_flow(pool_nodes, pool_acts, g_start[i], g_from[i], g_len[i] - 1, -1,
                          flow, vflow)  # fmt: skip
            g_len[i] = 0
            g_target[i] = target[i]
            g_fail[i] = -1
            if target[i] >= 0:
                need[i] = NEED_TARGET
                count += 1
            continue
        if target[i] < 0:
            continue
        if g_len[i] <= 0:  # its search failed: the distance fallback
            if g_fail[i] >= 0 and pos[i] != g_fail[i]:
                need[i] = NEED_TARGET  # it stands elsewhere now: search again
                count += 1
            continue
        p = pos[i]
        s = g_start[i]
        last = g_len[i] - 1
        k = g_k[i]
        lo, hi = max(0, k - BACK), min(last, k + AHEAD)
        found = -1
        for j in range(k, hi + 1):  # forward first: a robot that moved on
            if pool_nodes[s + j] == p:
                found = j
                break
        if found < 0:
            for j in range(k - 1, lo - 1, -1):
                if pool_nodes[s + j] == p:
                    found = j
                    break
        rescued = stall > 0 and since_progress[i] >= stall
        if rescued and guide_stall:
            rescued = t - g_tbest[i] >= stall or since_progress[i] >= backstop
        if found < 0 and rescued:
            need[i] = NEED_TARGET  # a stall rescue moved it off its path: search from here
            count += 1
            continue
        off = 0
        if found < 0:  # one allowed move from a window node?
            for j in range(hi, lo - 1, -1):
                q = pool_nodes[s + j]
                for a in range(1, n_act):
                    if mopen[p, a] and nbr[p, a] == q:
                        found = j
                        break
                if found >= 0:
                    break
            if found < 0:
                need[i] = NEED_OFF
                count += 1
                continue
            off = 1
        if last - found + off < g_best[i]:
            g_best[i] = last - found + off
            g_tbest[i] = t
        g_k[i] = found
        if found > g_from[i]:
            _add_flow(pool_nodes, pool_acts, s, g_from[i], found, -1, flow, vflow)
            g_from[i] = found
    return count


@numba.njit(cache=True, inline="always")
def _before(f1, g1, n1, f2, g2, n2):  # pragma: no cover - compiled
    """A* order: lower f, then higher g (nearer the goal), then lower node id."""
    if f1 != f2:
        return f1 < f2
    if g1 != g2:
        return g1 > g2
    return n1 < n2


@numba.njit(cache=True)
def successors(nbr, mopen, closed):  # pragma: no cover - compiled
    """``(n_nodes, A)`` int32: the node each move leads to, -1 where the searches may not take
    it (WAIT, a move ``mopen`` does not allow, one onto the node itself or into a closed node).
    One table read per move instead of four in the searches' inner loops."""
    n, n_act = nbr.shape
    succ = np.full((n, n_act), -1, np.int32)
    for v in range(n):
        for a in range(1, n_act):
            u = nbr[v, a]
            if mopen[v, a] and u != v and not closed[u]:
                succ[v, a] = u
    return succ


@numba.njit(cache=True, inline="always")
def _file_entry(e, bk, cur, ring, mask, heads, enext, over, over_min):  # pragma: no cover
    """File bucket entry ``e`` (bucket ``bk``) in the ring when ``bk`` is within its reach of
    the current bucket ``cur``, else at the head of the overflow list ``over``: the new
    ``(over, over_min, 1 if filed in the ring else 0)``."""
    if bk < cur + ring:
        enext[e] = heads[bk & mask]
        heads[bk & mask] = e
        return over, over_min, 1
    enext[e] = over
    return e, min(over_min, bk), 0


@numba.njit(cache=True, inline="always")
def _heap_push(hf, hg, hn, size, f, g, u):  # pragma: no cover - compiled
    """Push ``(f, g, u)`` onto the binary heap ``hf``/``hg``/``hn`` of ``size`` entries
    (:func:`_before` order); returns the new size."""
    i = size
    while i > 0:
        pi = (i - 1) >> 1
        if _before(f, g, u, hf[pi], hg[pi], hn[pi]):
            hf[i], hg[i], hn[i] = hf[pi], hg[pi], hn[pi]
            i = pi
        else:
            break
    hf[i], hg[i], hn[i] = f, g, u
    return size + 1


@numba.njit(cache=True)
def astar(
    start,
    goal,
    row,
    far,
    succ,
    closed,
    flow,
    vflow,
    rev,
    wv,
    wc,
    wh,
    scratch,
    out_nodes,
    out_acts,
):  # pragma: no cover - compiled
    """Least-cost path from ``start`` to ``goal`` (``row``: its distance row, ``row[v]`` the
    unit steps from ``v`` to it) under the flow costs (module docstring), by A* with the
    heuristic ``wh * row[v]``: ``wh`` 1 is an exact least-cost search, ``wh`` > 1 weighted A*
    (a path at most ``wh`` times the least cost, found with fewer expansions).

    Moves are those of ``succ`` (:func:`successors`: the floor's, less closed edges and moves
    into closed nodes); nor are nodes entered that reach the goal only through closures
    (``row[v] > far``). Writes the path's nodes (start first, goal last) and the action out of
    each (``out_acts[j]`` from node ``j`` to ``j + 1``) and returns its node count, or -1 when
    the goal cannot be reached (at once when it is closed: never entered). ``scratch`` is
    :func:`search_scratch`'s, left as found.

    **Open list.** Entries leave it in the order (lower f, higher g, lower node id), a strict
    total order, so the result does not depend on how the list is kept. It is a bucket queue:
    an entry goes to bucket ``int(min(f * BUCKET_SCALE, BUCKET_TOP))`` (monotone in f, so
    every entry of a lower bucket comes first); the buckets ahead of the current one are linked
    lists in a ring of ``heads.size`` buckets (a power of two; farther ones wait in an overflow
    list), and the entries of the current bucket, and any pushed at or below it, are ordered
    exactly in a small binary heap. It does the pops of the binary heap of the whole list it
    replaced, in the same order, in about 0.6 times the time (docs/results_guidance.md)."""
    gsc, par, par_act, state, touched, hf, hg, hn, ef, eg, en, enext, heads = scratch
    if row[start] > far or (goal != start and closed[goal]):
        return -1
    n_act = succ.shape[1]
    mask = heads.size - 1
    ring = heads.size
    nothing = np.int64(1) << 62
    ntouch = 0
    gsc[start] = 0.0
    par[start] = -1
    touched[ntouch] = start
    ntouch += 1
    state[start] = 1
    f0 = wh * row[start]
    cur = np.int64(min(f0 * BUCKET_SCALE, BUCKET_TOP))  # the current bucket
    hf[0], hg[0], hn[0] = f0, 0.0, start
    size = 1  # entries in the heap
    nent = 0  # entries written to ef/eg/en/enext
    nring = 0  # entries in the ring's buckets
    over = -1  # the overflow list (buckets at or past cur + ring)
    over_min = nothing  # its lowest bucket
    goal_found = -1
    while True:
        if size == 0:  # the next bucket with entries into the heap
            if nring == 0 and over < 0:
                break
            while True:
                if nring == 0:
                    cur = over_min - 1  # the ring is empty: on to the overflow's first
                cur += 1
                if over_min < cur + ring:  # overflow entries now in the ring's reach
                    e = over
                    over, over_min = -1, nothing
                    while e >= 0:
                        nxt = enext[e]
                        bk = np.int64(min(ef[e] * BUCKET_SCALE, BUCKET_TOP))
                        over, over_min, added = _file_entry(
                            e, bk, cur, ring, mask, heads, enext, over, over_min
                        )
                        nring += added
                        e = nxt
                e = heads[cur & mask]
                if e >= 0:
                    heads[cur & mask] = -1
                    while e >= 0:
                        size = _heap_push(hf, hg, hn, size, ef[e], eg[e], en[e])
                        nring -= 1
                        e = enext[e]
                    break
        g0, v = hg[0], hn[0]  # pop the heap's first (written out: a helper ran slower)
        size -= 1
        if size > 0:
            lf, lg, ln = hf[size], hg[size], hn[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and _before(hf[c + 1], hg[c + 1], hn[c + 1], hf[c], hg[c], hn[c]):
                    c += 1
                if _before(hf[c], hg[c], hn[c], lf, lg, ln):
                    hf[i], hg[i], hn[i] = hf[c], hg[c], hn[c]
                    i = c
                else:
                    break
            hf[i], hg[i], hn[i] = lf, lg, ln
        if state[v] == 2 or g0 > gsc[v]:
            continue  # a stale entry
        state[v] = 2
        if row[v] == 0:  # (the goal: the one node at distance 0)
            goal_found = v
            break
        for a in range(1, n_act):
            u = succ[v, a]
            if u < 0 or state[u] == 2:
                continue
            hu = row[u]
            if hu > far:
                continue
            cost = 1.0 + wv * vflow[u]
            b = rev[v, a]
            if b >= 0:
                cost += wc * (flow[v, a] + 1) * flow[u, b]
            g = g0 + cost
            if g >= gsc[u]:
                continue
            if state[u] == 0:
                touched[ntouch] = u
                ntouch += 1
                state[u] = 1
            gsc[u] = g
            par[u] = v
            par_act[u] = a
            f = g + wh * hu  # (lazy: an entry of u already listed goes stale)
            bk = np.int64(min(f * BUCKET_SCALE, BUCKET_TOP))
            if bk <= cur:
                size = _heap_push(hf, hg, hn, size, f, g, u)
                continue
            e = nent
            nent += 1
            ef[e], eg[e], en[e] = f, g, u
            over, over_min, added = _file_entry(
                e, bk, cur, ring, mask, heads, enext, over, over_min
            )
            nring += added
    if nring > 0:
        heads[:] = -1
    length = -1
    if goal_found >= 0:
        length = 0
        v = goal_found
        while v >= 0:
            length += 1
            v = par[v]
        out_acts[length - 1] = 0
        _write_back(goal_found, length - 1, par, par_act, out_nodes, out_acts)
    _clear(touched, ntouch, gsc, par, par_act, state)
    return length


def search_scratch(n_nodes: int, n_actions: int) -> tuple[np.ndarray, ...]:
    """Scratch of :func:`astar` and :func:`reconnect` for a floor of ``n_nodes`` nodes and
    ``n_actions`` actions: ``gsc``, ``par``, ``par_act``, ``state`` (node-sized, ``inf``/-1/
    -1/0), ``touched`` (node-sized), the heap ``hf``/``hg``/``hn`` and the bucket entries
    ``ef``/``eg``/``en``/``enext`` (``n_nodes * n_actions + 1`` each: at most one entry per move
    and the start), and ``heads``, the ring of :data:`RING` buckets (all -1)."""
    cap = n_nodes * n_actions + 1
    return (
        np.full(n_nodes, np.inf),
        np.full(n_nodes, -1, dtype=np.int32),
        np.full(n_nodes, -1, dtype=np.int8),
        np.zeros(n_nodes, dtype=np.int8),
        np.empty(n_nodes, dtype=np.int32),
        np.empty(cap),
        np.empty(cap),
        np.empty(cap, dtype=np.int32),
        np.empty(cap),
        np.empty(cap),
        np.empty(cap, dtype=np.int32),
        np.empty(cap, dtype=np.int32),
        np.full(RING, -1, dtype=np.int32),
    )


@numba.njit(cache=True)
def _write_back(v, j, par, par_act, out_nodes, out_acts):  # pragma: no cover - compiled
    """Write the search tree's way to ``v`` (``par``/``par_act``) into ``out_*``, ``v`` at index
    ``j`` and its ancestors before it; the move into each node goes to the entry before it."""
    while v >= 0:
        out_nodes[j] = v
        if j > 0:
            out_acts[j - 1] = par_act[v]
        v = par[v]
        j -= 1


@numba.njit(cache=True)
def _clear(nodes, count, cost, par, par_act, state):  # pragma: no cover - compiled
    """Leave a search's scratch as found: the first ``count`` of ``nodes`` back to ``inf``, -1,
    -1 and 0."""
    for t in range(count):
        v = nodes[t]
        cost[v] = np.inf
        par[v] = -1
        par_act[v] = -1
        state[v] = 0


@numba.njit(cache=True)
def reconnect(
    p,
    k,
    pool_nodes,
    pool_acts,
    s,
    last,
    nbr,
    mopen,
    closed,
    depth,
    par,
    par_act,
    state,
    queue,
    out_nodes,
    out_acts,
):  # pragma: no cover - compiled
    """A robot on ``p`` off its path (``pool_*[s : s + last + 1]``, index ``k``): the path from
    ``p`` back onto it and on along it, written to ``out_nodes``/``out_acts``; returns its node
    count, or -1 when no path node of ``[k - BACK, k + REJOIN]`` lies within
    :data:`REJOIN_DEPTH` moves, or when the joined path would not fit ``out_*`` (the caller
    searches a new path). Of the path nodes in reach the
    one with the fewest steps to go (moves there + steps along the path from there) is taken.
    ``depth``, ``par``, ``par_act``, ``state`` are :func:`astar`'s scratch (left as found),
    ``queue`` node-sized."""
    n_act = nbr.shape[1]
    lo, hi = max(0, k - BACK), min(last, k + REJOIN)
    head, tail = 0, 1
    queue[0] = p
    state[p] = 1
    depth[p] = 0.0
    par[p] = -1
    best, best_v, best_j = np.inf, -1, -1
    while head < tail:
        v = queue[head]
        head += 1
        d = depth[v]
        for j in range(hi, lo - 1, -1):
            if pool_nodes[s + j] == v:
                if d + last - j < best:
                    best, best_v, best_j = d + last - j, v, j
                break
        if d >= REJOIN_DEPTH:
            continue
        for a in range(1, n_act):
            if not mopen[v, a]:
                continue
            u = nbr[v, a]
            if u == v or closed[u] or state[u] != 0:
                continue
            state[u] = 1
            depth[u] = d + 1.0
            par[u] = v
            par_act[u] = a
            queue[tail] = u
            tail += 1
    length = -1
    # a rejoined path longer than the output arrays (rejoins may lengthen it): search afresh
    if best_v >= 0 and int(depth[best_v]) + 1 + last - best_j <= out_nodes.size:
        m = int(depth[best_v])  # moves onto the path
        length = m + 1 + last - best_j
        _write_back(best_v, m, par, par_act, out_nodes, out_acts)  # the way onto the path
        for j in range(best_j, last + 1):  # then along the path
            out_nodes[m + j - best_j] = pool_nodes[s + j]
            out_acts[m + j - best_j] = pool_acts[s + j]
    _clear(queue, tail, depth, par, par_act, state)
    return length


@numba.njit(cache=True)
def plan_paths(
    order,
    first,
    need,
    pos,
    slot,
    table,
    far,
    g_start,
    g_len,
    g_k,
    g_from,
    pool_nodes,
    pool_acts,
    pool_used,
    g_target,
    g_fail,
    flow,
    vflow,
    nbr,
    mopen,
    closed,
    succ,
    rev,
    wv,
    wc,
    wh,
    scratch,
    out_nodes,
    out_acts,
    counts,
):  # pragma: no cover - compiled
    """Give the robots ``order[first:]`` new guide paths, one after the other (each search sees
    the flow of the paths planned before it). A robot off its path (``need`` :data:`NEED_OFF`)
    rejoins it when it can (:func:`reconnect`, ``counts[0]`` counts them); the others, and
    those that cannot, search one (:func:`astar`, ``counts[1]``). A robot's old path's
    remaining flow is taken out first; its new path is written at ``pool_used[0]`` and its flow
    added. A robot whose goal cannot be reached gets none (``g_len`` 0: the navigator falls
    back to plain distances; ``counts[2]``) and ``g_fail[i]`` becomes the node it searched from
    (:func:`track` has it search again once it stands elsewhere); a found path sets it to -1.
    ``wv``, ``wc`` are the cost weights, ``wh`` the heuristic's (:func:`astar`).

    Returns the position in ``order`` where it stopped: ``order.size`` when all are done, less
    when the pool has no room for a path as long as ``out_nodes`` (the longest a search or a
    rejoin writes): the caller grows the pool and calls again from there. It stops before it
    touches that robot, so no search or rejoin is done twice."""
    gsc, par, par_act, state, touched = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    room = pool_nodes.size - out_nodes.size
    for t in range(first, order.size):
        if pool_used[0] > room:
            return t  # maybe no room: the caller grows the pool
        i = order[t]
        length = -1
        if need[i] == NEED_OFF and g_len[i] > 0:
            length = reconnect(
                pos[i], g_k[i], pool_nodes, pool_acts, g_start[i], g_len[i] - 1, nbr, mopen,
                closed, gsc, par, par_act, state, touched, out_nodes, out_acts,
            )  # fmt: skip
        if g_len[i] > 0:
            _add_flow(pool_nodes, pool_acts, g_start[i], g_from[i], g_len[i] - 1, -1, flow, vflow)
            g_len[i] = 0
        if length > 0:
            counts[0] += 1
        else:
            s = slot[i]
            counts[1] += 1
            length = astar(
                pos[i], g_target[i], table[s], far[s], succ, closed, flow, vflow, rev, wv, wc, wh,
                scratch, out_nodes, out_acts,
            )  # fmt: skip
            if length <= 0:
                counts[2] += 1
                g_fail[i] = pos[i]
                continue
        at = pool_used[0]
        for j in range(length):
            pool_nodes[at + j] = out_nodes[j]
            pool_acts[at + j] = out_acts[j]
        pool_used[0] = at + length
        g_start[i], g_len[i], g_k[i], g_from[i] = at, length, 0, 0
        g_fail[i] = -1
        _add_flow(pool_nodes, pool_acts, at, 0, length - 1, 1, flow, vflow)
    return order.size


@numba.njit(cache=True)
def compact(g_start, g_len, pool_nodes, pool_acts, new_nodes, new_acts):  # pragma: no cover
    """Copy the live paths into ``new_nodes``/``new_acts`` (robot order), moving ``g_start``;
    returns the entries used."""
    at = 0
    for i in range(g_start.size):
        if g_len[i] <= 0:
            continue
        s = g_start[i]
        for j in range(g_len[i]):
            new_nodes[at + j] = pool_nodes[s + j]
            new_acts[at + j] = pool_acts[s + j]
        g_start[i] = at
        at += g_len[i]
    return at


@numba.njit(cache=True)
def guide_scores(
    pos, target, slot, table, g_start, g_len, g_k, pool_nodes, nbr, mopen, mask, act, prefs
):  # pragma: no cover - compiled
    """Each robot's ``(A,)`` preference scores and proposal (module docstring).

    Robots with a guide path: ``-h(u)`` of each allowed action's node ``u`` (WAIT 1e-3 lower, so
    a move wins a tie); robots with a target but no guide path: minus the distance to the target
    (``1e6`` when unreachable), as :func:`agents.rule_based.distance_preferences`; robots
    without a target: WAIT ``-1e-3``, moves ``-1``. Masked actions ``-inf``. The proposal is the
    best allowed action (lowest index among equals)."""
    n = pos.size
    n_act = nbr.shape[1]
    ninf = np.float32(-np.inf)
    penalty = np.float32(1e-3)
    for i in range(n):
        p = pos[i]
        best_a = 0
        best = ninf
        has_path = target[i] >= 0 and g_len[i] > 0
        s = g_start[i]
        last = g_len[i] - 1
        k = g_k[i]
        lo, hi = max(0, k - BACK), min(last, k + AHEAD)
        for a in range(n_act):
            if not mask[i, a]:
                prefs[i, a] = ninf
                continue
            u = nbr[p, a]
            if target[i] < 0:
                sc = -penalty if a == 0 else np.float32(-1.0)
            elif has_path:
                h = last - k + 2
                for j in range(lo, hi + 1):
                    q = pool_nodes[s + j]
                    togo = last - j
                    if u == q:
                        if togo < h:
                            h = togo
                        continue
                    if togo + 1 >= h:
                        continue
                    for b in range(1, n_act):
                        if mopen[u, b] and nbr[u, b] == q:
                            h = togo + 1
                            break
                sc = -np.float32(h) - (penalty if a == 0 else np.float32(0.0))
            else:
                d = table[slot[i], u]
                df = np.float32(1e6) if d >= _UNREACHABLE else np.float32(d)
                sc = -df - (penalty if a == 0 else np.float32(0.0))
            prefs[i, a] = sc
            if sc > best:
                best, best_a = sc, a
        act[i] = best_a
