"""The compiled search of the ``lacam`` navigator (:mod:`agents.lacam`): LaCAM (Okumura, AAAI
2023, "LaCAM: Search-Based Algorithm for Quick Multi-Agent Pathfinding") with the
configuration generator of LaCAM* (Okumura, IJCAI 2023, "Improving LaCAM for Scalable
Eventually Optimal Multi-Agent Pathfinding"): PIBT with the swap technique.

A *configuration* is every robot's node. The high-level search is a depth-first search over
configurations, starting from the robots' nodes, that ends at the goal configuration. Each
high-level node carries a *constraint tree* (the low-level search), explored breadth-first: a
constraint fixes the next node of the first ``depth`` robots in the node's priority order
(robot ``order[0]`` to one of its neighbours or its own node, then ``order[1]``, ...). One
iteration takes the top high-level node ``S``, pops the next constraint of its tree, adds its
children (the next robot in order, each node it may be at next), and asks the configuration
generator for a successor of ``S``'s configuration that obeys the constraint. A new
configuration becomes a new high-level node on top of the stack; one explored before is pushed
again (LaCAM*), so the search comes back to it. A high-level node whose tree is used up leaves
the stack. Since the trees enumerate every successor of every configuration, the search is
complete: with an unlimited budget it finds a solution when there is one and otherwise ends
without one. It is not optimal (the first solution found is returned; LaCAM*'s anytime
refinement is not implemented).

The configuration generator is PIBT (Okumura et al., AIJ 2022) over the robots in the node's
priority order, with LaCAM*'s swap: the shields' compiled search
:func:`warehouse.shield.pibt.pibt_search` with ``swap=True`` and ``hold=True`` (one PIBT in
the project), the constrained robots entering it as already planned. ``hold`` selects
LaCAM*'s rules for robots that stay on their goals for good, its *clear* rule included: a
robot steps aside for a robot next to it that must pass it on the line ahead
(:func:`warehouse.shield.swap_rules.swap_agent`); without it, the two shuttled in and out of
an aisle for good. Its candidates are each robot's allowed moves ranked by the distance of
their node to the robot's goal (ties: a free node, then WAIT, then a node a robot stands on;
then random, as LaCAM's PIBT draws its tie-breakers anew for each successor; then the action
index). A fixed tie-break sent every pushed robot the same way at every visit, so PIBT cycled
and a configuration's successors stayed the same. A successor with a vertex or swap conflict
(PIBT could not make room for a constrained robot) is no successor.

Priorities, as LaCAM's: at the start ``dist(start, goal) / N``; in a successor a robot off its
goal gains 1, a robot on its goal keeps the fraction only. Robots that may only WAIT
(``frozen``) stay where they are in every configuration: fixed obstacles for the search.

Everything is arrays (configurations, priorities, orders, the constraint pool, an open-addressing
hash table of explored configurations), grown by doubling. Its only randomness is the
tie-break stream: splitmix64 over a ``(1,)`` uint64 state of the navigator's own
(:func:`seed_state`, seeded through the navigator's ``reset(seed)``, never the simulation's
streams), advanced in place; the same state gives the same plan. Its budget is a count of
iterations (``node_budget``), never a clock.
"""

from __future__ import annotations

import numba
import numpy as np

from warehouse.shield.pibt import pibt_search

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
#: the sort key of an action the robot may not take (after every allowed one)
_BARRED = np.int64(1) << np.int64(40)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # splitmix64 (Steele et al., 2014)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
#: the random bits of a candidate's sort key (ties of distance and kind broken by them)
_TIE_BITS = np.int64(16)
#: the tag that sets the tie-break stream apart from every other stream of a seed
_TAG = 0x1AC4A7


@numba.njit(cache=True)
def _grow1(a, size):  # pragma: no cover - compiled
    """``a`` (1-D) copied into an array of ``size`` entries."""
    out = np.empty(size, a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def _grow2(a, rows):  # pragma: no cover - compiled
    """``a`` (2-D) copied into an array of ``rows`` rows."""
    out = np.empty((rows, a.shape[1]), a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True, inline="always")
def _draw(rng):  # pragma: no cover - compiled
    """The next 64 bits of the splitmix64 stream whose state is ``rng[0]`` (advanced)."""
    z = rng[0] + _GAMMA
    rng[0] = z
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def seed_state(seed: int | None) -> np.ndarray:
    """The tie-break stream's state for ``seed`` (``None``: seed 0), as ``(1,)`` uint64: the
    navigator's own, derived through :class:`numpy.random.SeedSequence` with a tag of its own
    so that it shares nothing with the simulation's streams."""
    seq = np.random.SeedSequence([0 if seed is None else int(seed), _TAG])
    return seq.generate_state(1, np.uint64)


@numba.njit(cache=True)
def _hash(config):  # pragma: no cover - compiled
    """FNV-1a over a configuration's node ids."""
    h = _FNV_OFFSET
    for k in range(config.shape[0]):
        h = (h ^ np.uint64(config[k])) * _FNV_PRIME
    return h


@numba.njit(cache=True)
def _ancestor(a, b, parent):  # pragma: no cover - compiled
    """Whether high-level node ``a`` lies on ``b``'s chain of parents (``b`` itself too)."""
    while b >= 0:
        if b == a:
            return True
        b = parent[b]
    return False


@numba.njit(cache=True)
def _order(prio):  # pragma: no cover - compiled
    """Robots by decreasing priority (ties: lower id first)."""
    return np.argsort(-prio, kind="mergesort").astype(np.int32)


@numba.njit(cache=True)
def generate(
    pos, nxt, order, goals, nbr, moves, outdeg, frozen, table, swap, scratch, rng
):  # pragma: no cover - compiled
    """The configuration generator: fill ``nxt`` (N,) with every robot's next node, the
    constrained robots' entries given (``-1``: free), by PIBT (with LaCAM*'s swap when
    ``swap``) over ``order``. Returns whether the successor is valid (no vertex or swap
    conflict, every robot planned). ``scratch``: :func:`make_scratch`'s arrays, node-sized ones
    all -1 on entry and on exit; ``rng`` the tie-break stream's state (:func:`_draw`)."""
    occ, res, mark, slot, cand, allowed, act, pulled = scratch
    n = pos.shape[0]
    n_act = nbr.shape[1]
    for i in range(n):
        mark[pos[i]] = i
    keys = np.empty(n_act, np.int64)
    for i in range(n):  # each robot's candidates: allowed moves by distance to its goal
        p = pos[i]
        for a in range(n_act):
            ok = a == 0 or (moves[p, a] and not frozen[i] and nbr[p, a] != p)
            allowed[i, a] = ok
            if not ok:
                keys[a] = _BARRED
                continue
            v = nbr[p, a]
            tie = 1 if a == 0 else (2 if mark[v] >= 0 else 0)
            bits = np.int64(_draw(rng) >> np.uint64(64 - _TIE_BITS))
            keys[a] = ((np.int64(table[i, v]) * 4 + tie) << _TIE_BITS) + bits
        for a in range(n_act):  # insertion sort by key (the same key: by action index)
            cand[i, a] = a
        for a in range(1, n_act):
            c = cand[i, a]
            b = a
            while b > 0 and keys[cand[i, b - 1]] > keys[c]:
                cand[i, b] = cand[i, b - 1]
                b -= 1
            cand[i, b] = c
        act[i] = 0
    roots = order.astype(np.int64)
    pibt_search(
        pos, nbr, cand, allowed, nxt, act, roots, occ, res, swap, moves, outdeg, slot, table,
        goals, frozen, pulled, True,
    )  # fmt: skip
    valid = True
    for i in range(n):  # vertex conflicts (res is all -1 again after the search)
        v = nxt[i]
        if v < 0 or res[v] >= 0:
            valid = False
            break
        res[v] = i
    if valid:
        for i in range(n):  # swap conflicts
            v = nxt[i]
            if v != pos[i]:
                k = mark[v]
                if k >= 0 and nxt[k] == pos[i]:
                    valid = False
                    break
    for i in range(n):
        mark[pos[i]] = -1
        if nxt[i] >= 0:
            res[nxt[i]] = -1
    return valid


@numba.njit(cache=True)
def make_scratch(n_nodes, n_robots, n_actions):  # pragma: no cover - compiled
    """The work arrays of :func:`generate`: node-sized ``occ``, ``res``, ``mark`` (all -1),
    the robots' rows of the distance table (``slot``: robot ``i`` reads row ``i``), and
    robot-sized candidates, allowed moves, actions and pulls."""
    return (
        np.full(n_nodes, -1, np.int64),
        np.full(n_nodes, -1, np.int64),
        np.full(n_nodes, -1, np.int64),
        np.arange(n_robots, dtype=np.int64),
        np.zeros((n_robots, n_actions), np.int64),
        np.zeros((n_robots, n_actions), np.bool_),
        np.zeros(n_robots, np.int64),
        np.full(n_robots, -1, np.int64),
    )


@numba.njit(cache=True)
def _constrain(c, pos, nxt, c_parent, c_who, c_where, res, mark):  # pragma: no cover
    """Write constraint ``c`` (and its ancestors) into ``nxt``; False when two constrained
    robots would end on one node or swap. ``res`` and ``mark`` node-sized, all -1 on entry
    (``mark``: the robot on each node now) and ``res`` all -1 on exit."""
    ok = True
    k = c
    while c_parent[k] >= 0:
        i = c_who[k]
        v = c_where[k]
        if res[v] >= 0:
            ok = False  # vertex conflict
            break
        j = res[pos[i]]
        if j >= 0 and mark[v] == j:
            ok = False  # swap conflict: j comes into i's node from the node i goes to
            break
        res[v] = i
        nxt[i] = v
        k = c_parent[k]
    k = c
    while c_parent[k] >= 0:
        res[c_where[k]] = -1
        k = c_parent[k]
    return ok


@numba.njit(cache=True)
def lacam_search(
    starts, goals, nbr, moves, outdeg, frozen, table, node_budget, swap, rng
):  # pragma: no cover - compiled
    """Search a plan from ``starts`` to ``goals`` (module docstring).

    ``starts``, ``goals`` (N,) int64 node ids; ``nbr`` (n_nodes, A) the floor's move table;
    ``moves`` (n_nodes, A) bool the moves allowed out of each node (WAIT always); ``outdeg``
    (n_nodes,) int64 their count to other nodes; ``frozen`` (N,) robots that may only WAIT;
    ``table`` (N, n_nodes) uint16: row ``i`` the steps from each node to robot ``i``'s goal;
    ``node_budget`` the most iterations (one constraint popped and one successor generated
    each); ``rng`` (1,) uint64 the tie-break stream's state, advanced in place. Returns
    ``(found, plan, expanded, explored)``: ``plan`` (T + 1, N) int64, the
    configurations from ``starts`` to ``goals`` (empty without a solution), the iterations
    run and the configurations explored."""
    n = starts.shape[0]
    n_nodes, n_act = nbr.shape
    scratch = make_scratch(n_nodes, n, n_act)
    mark, res = scratch[2], scratch[1]
    # high-level nodes
    cap = 256
    cfg = np.empty((cap, n), np.int32)
    steps = np.empty((cap, n), np.int32)  # priority: steps off the goal + frac
    order = np.empty((cap, n), np.int32)
    parent = np.empty(cap, np.int64)
    g = np.empty(cap, np.int64)  # steps from the start along the parents (an upper bound)
    hsh = np.empty(cap, np.uint64)
    head = np.empty(cap, np.int64)  # each node's constraint queue (linked through c_next)
    tail = np.empty(cap, np.int64)
    # constraints (low-level nodes): a root per high-level node (c_parent -1, depth 0)
    ccap = 1024
    c_parent = np.empty(ccap, np.int64)
    c_who = np.empty(ccap, np.int64)
    c_where = np.empty(ccap, np.int64)
    c_depth = np.empty(ccap, np.int64)
    c_next = np.empty(ccap, np.int64)
    n_c = 0
    # explored configurations: open addressing, -1 empty
    slots = np.full(1024, -1, np.int64)
    stack = np.empty(cap, np.int64)
    frac = np.empty(n, np.float64)
    prio = np.empty(n, np.float64)
    for i in range(n):
        x = np.float64(table[i, starts[i]]) / n
        steps[0, i] = np.int32(np.floor(x))
        frac[i] = x - np.floor(x)
        cfg[0, i] = starts[i]
        prio[i] = x
    order[0] = _order(prio)
    parent[0] = -1
    g[0] = 0
    hsh[0] = _hash(cfg[0])
    c_parent[0] = -1
    c_depth[0] = 0
    c_next[0] = -1
    n_c = 1
    head[0] = 0
    tail[0] = 0
    slots[hsh[0] & np.uint64(slots.shape[0] - 1)] = 0
    n_h = 1
    stack[0] = 0
    sp = 1
    found = -1
    at_goal = True
    for i in range(n):
        if starts[i] != goals[i]:
            at_goal = False
    if at_goal:
        found = 0
    pos = np.empty(n, np.int64)
    nxt = np.empty(n, np.int64)
    expanded = 0
    while sp > 0 and found < 0 and expanded < node_budget:
        s = stack[sp - 1]
        c = head[s]
        if c < 0:  # its constraint tree is used up
            sp -= 1
            continue
        head[s] = c_next[c]
        expanded += 1
        for i in range(n):
            pos[i] = cfg[s, i]
        d = c_depth[c]
        if d < n:  # the children: the next robot in order, at each node it may take next
            i = order[s, d]
            p = pos[i]
            for a in range(n_act):
                if a > 0 and (frozen[i] or not moves[p, a] or nbr[p, a] == p):
                    continue
                if n_c == ccap:
                    ccap *= 2
                    c_parent = _grow1(c_parent, ccap)
                    c_who = _grow1(c_who, ccap)
                    c_where = _grow1(c_where, ccap)
                    c_depth = _grow1(c_depth, ccap)
                    c_next = _grow1(c_next, ccap)
                c_parent[n_c] = c
                c_who[n_c] = i
                c_where[n_c] = nbr[p, a]
                c_depth[n_c] = d + 1
                c_next[n_c] = -1
                if head[s] < 0:
                    head[s] = n_c
                else:
                    c_next[tail[s]] = n_c
                tail[s] = n_c
                n_c += 1
        for i in range(n):
            nxt[i] = -1
            mark[pos[i]] = i
        ok = _constrain(c, pos, nxt, c_parent, c_who, c_where, res, mark)
        for i in range(n):
            mark[pos[i]] = -1
        if not ok:
            continue
        if not generate(pos, nxt, order[s], goals, nbr, moves, outdeg, frozen, table, swap,
                        scratch, rng):  # fmt: skip
            continue
        h = _hash(nxt)
        m = slots.shape[0] - 1
        k = np.int64(h & np.uint64(m))
        known = -1
        while slots[k] >= 0:
            q = slots[k]
            if hsh[q] == h:
                same = True
                for i in range(n):
                    if cfg[q, i] != nxt[i]:
                        same = False
                        break
                if same:
                    known = q
                    break
            k = (k + 1) & m
        if sp == stack.shape[0]:
            stack = _grow1(stack, 2 * sp)
        if known >= 0:  # explored before: back onto the stack (LaCAM*), and a shorter
            # way to it becomes its parent
            if g[s] + 1 < g[known] and not _ancestor(known, s, parent):
                parent[known] = s
                g[known] = g[s] + 1
            stack[sp] = known
            sp += 1
            continue
        if n_h == cap:
            cap *= 2
            cfg = _grow2(cfg, cap)
            steps = _grow2(steps, cap)
            order = _grow2(order, cap)
            parent = _grow1(parent, cap)
            g = _grow1(g, cap)
            hsh = _grow1(hsh, cap)
            head = _grow1(head, cap)
            tail = _grow1(tail, cap)
        q = n_h
        n_h += 1
        at_goal = True
        for i in range(n):
            cfg[q, i] = nxt[i]
            if nxt[i] == goals[i]:
                steps[q, i] = 0
            else:
                steps[q, i] = steps[s, i] + 1
                at_goal = False
            prio[i] = steps[q, i] + frac[i]
        order[q] = _order(prio)
        parent[q] = s
        g[q] = g[s] + 1
        hsh[q] = h
        if n_c == ccap:
            ccap *= 2
            c_parent = _grow1(c_parent, ccap)
            c_who = _grow1(c_who, ccap)
            c_where = _grow1(c_where, ccap)
            c_depth = _grow1(c_depth, ccap)
            c_next = _grow1(c_next, ccap)
        c_parent[n_c] = -1
        c_depth[n_c] = 0
        c_next[n_c] = -1
        head[q] = n_c
        tail[q] = n_c
        n_c += 1
        slots[k] = q
        if 2 * n_h > slots.shape[0]:  # rehash into a table twice the size
            slots = np.full(2 * slots.shape[0], -1, np.int64)
            m = slots.shape[0] - 1
            for r in range(n_h):
                k = np.int64(hsh[r] & np.uint64(m))
                while slots[k] >= 0:
                    k = (k + 1) & m
                slots[k] = r
        stack[sp] = q
        sp += 1
        if at_goal:
            found = q
    if found < 0:
        return False, np.empty((0, n), np.int64), expanded, n_h
    length = 0
    q = found
    while q >= 0:
        length += 1
        q = parent[q]
    plan = np.empty((length, n), np.int64)
    q = found
    for t in range(length - 1, -1, -1):
        for i in range(n):
            plan[t, i] = cfg[q, i]
        q = parent[q]
    return True, plan, expanded, n_h


@numba.njit(cache=True)
def pibt_step(pos, order, goals, nbr, moves, outdeg, frozen, table, swap, rng):  # pragma: no cover
    """One configuration-generator step from ``pos`` without constraints (the fallback when
    the search finds no plan): ``(valid, nxt)``; ``rng`` as :func:`lacam_search`'s."""
    n = pos.shape[0]
    scratch = make_scratch(nbr.shape[0], n, nbr.shape[1])
    nxt = np.full(n, -1, np.int64)
    ok = generate(pos, nxt, order, goals, nbr, moves, outdeg, frozen, table, swap, scratch, rng)
    return ok, nxt
