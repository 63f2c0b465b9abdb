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
without one. Without ``refine`` it returns the first solution found, not a cheapest one.

With ``refine`` (LaCAM*'s anytime refinement) the search goes on after the first solution
until its budget is spent or its stack empties, and returns the cheapest solution found. The
cost is LaCAM*'s *sum of loss*: a step costs the robots not staying on their goals, so a plan
costs each robot's steps up to its last arrival less the steps it waited on its goal before
leaving it again (the sum of costs, :func:`warehouse.kpis.sum_of_costs`, when no robot does;
never more). Each high-level node keeps its least known cost ``g`` from the start, its
successors (the explored graph's edges) and ``h``, the sum of every robot's steps to its goal.
A successor explored before adds an edge, and a cheaper cost spreads from it through the
explored graph, each improved node taking the improving one as its parent (Dijkstra-style
rewiring); a node whose ``g + h`` cannot beat the best solution is pruned, not expanded or
pushed. A known successor found after the first solution sends the search back to the start
instead, with probability :data:`RESTART_RATE` (lacam2's random restart; without it the
depth-first search stays near the goal, where no shortcut is). Before the first solution the
search runs as without ``refine``; when the stack empties the plan is optimal for the sum of
loss (over the moves the generator and the constraint trees can reach: all of them).

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
#: refine: the chance that a known successor found after the first solution sends the search
#: back to the start instead of to it (lacam2's random restart), from the tie-break stream
RESTART_RATE = 0.01


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
    all -1 on entry and on exit (robot ``i`` reads row ``slot[i]`` of ``table``); ``rng`` the
    tie-break stream's state (:func:`_draw`)."""
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
            keys[a] = ((np.int64(table[slot[i], v]) * 4 + tie) << _TIE_BITS) + bits
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
def make_scratch(n_nodes, slot, n_actions):  # pragma: no cover - compiled
    """The work arrays of :func:`generate`: node-sized ``occ``, ``res``, ``mark`` (all -1),
    the robots' rows of the distance table (``slot``: robot ``i`` reads row ``slot[i]``), and
    robot-sized candidates, allowed moves, actions and pulls."""
    n_robots = slot.shape[0]
    return (
        np.full(n_nodes, -1, np.int64),
        np.full(n_nodes, -1, np.int64),
        np.full(n_nodes, -1, np.int64),
        slot.astype(np.int64),
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
    starts, goals, nbr, moves, outdeg, frozen, table, slot, node_budget, swap, rng, refine
):  # pragma: no cover - compiled
    """Search a plan from ``starts`` to ``goals`` (module docstring; ``refine``: LaCAM*'s
    anytime refinement, its section).

    ``starts``, ``goals`` (N,) int64 node ids; ``nbr`` (n_nodes, A) the floor's move table;
    ``moves`` (n_nodes, A) bool the moves allowed out of each node (WAIT always); ``outdeg``
    (n_nodes,) int64 their count to other nodes; ``frozen`` (N,) robots that may only WAIT;
    ``table`` (rows, n_nodes) uint16 and ``slot`` (N,) int64: row ``slot[i]`` the steps from
    each node to robot ``i``'s goal (the simulation's distance rows, read in place);
    ``node_budget`` the most iterations (one constraint popped and one successor generated
    each); ``rng`` (1,) uint64 the tie-break stream's state, advanced in place. Returns
    ``(found, plan, expanded, explored, first_plan, first_expanded, cost)``: ``plan``
    (T + 1, N) int64, the configurations from ``starts`` to ``goals`` (empty without a
    solution), the iterations run, the configurations explored, the first solution found and
    the iterations run until then (without ``refine``: ``plan`` and ``expanded``; -1 without
    a solution), and ``plan``'s cost by the search (``refine``: its sum of loss; otherwise
    its steps; -1 without a solution)."""
    n = starts.shape[0]
    n_nodes, n_act = nbr.shape
    scratch = make_scratch(n_nodes, slot, n_act)
    mark, res = scratch[2], scratch[1]
    # high-level nodes
    cap = 256
    cfg = np.empty((cap, n), np.int32)
    steps = np.empty((cap, n), np.int32)  # priority: steps off the goal + frac
    order = np.empty((cap, n), np.int32)
    parent = np.empty(cap, np.int64)
    # the cost from the start along the parents (an upper bound): steps, or with ``refine``
    # the sum of loss, kept least over the explored graph by rewiring
    g = np.empty(cap, np.int64)
    hval = np.empty(cap, np.int64)  # refine: the sum of distances to the goals
    e_head = np.empty(cap, np.int64)  # refine: each node's successors (linked through e_next)
    hsh = np.empty(cap, np.uint64)
    head = np.empty(cap, np.int64)  # each node's constraint queue (linked through c_next)
    tail = np.empty(cap, np.int64)
    # constraints (low-level nodes): a root per high-level node (c_parent -1, depth 0)
    c_parent = np.empty(1024, np.int64)
    c_who = np.empty(1024, np.int64)
    c_where = np.empty(1024, np.int64)
    c_depth = np.empty(1024, np.int64)
    c_next = np.empty(1024, np.int64)
    n_c = 0
    # explored configurations: open addressing, -1 empty
    slots = np.full(1024, -1, np.int64)
    stack = np.empty(cap, np.int64)
    # refine: the explored graph's edges (successor, its sum of loss) and the rewiring queue
    ecap = 1024 if refine else 1
    e_to = np.empty(ecap, np.int64)
    e_cost = np.empty(ecap, np.int64)
    e_next = np.empty(ecap, np.int64)
    n_e = 0
    queue = np.empty(ecap, np.int64)
    frac = np.empty(n, np.float64)
    prio = np.empty(n, np.float64)
    for i in range(n):
        x = np.float64(table[slot[i], starts[i]]) / n
        steps[0, i] = np.int32(np.floor(x))
        frac[i] = x - np.floor(x)
        cfg[0, i] = starts[i]
        prio[i] = x
    order[0] = _order(prio)
    parent[0] = -1
    g[0] = 0
    hval[0] = _h(starts, table, slot) if refine else 0
    e_head[0] = -1
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
    first_plan = np.empty((0, n), np.int64)
    first_expanded = -1
    if found >= 0:
        first_plan = _backtrack(found, parent, cfg)
        first_expanded = 0
    pos = np.empty(n, np.int64)
    nxt = np.empty(n, np.int64)
    expanded = 0
    while sp > 0 and (refine or found < 0) and expanded < node_budget:
        s = stack[sp - 1]
        if refine and found >= 0 and g[s] + hval[s] >= g[found]:
            sp -= 1  # it cannot beat the best solution: pruned
            continue
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
                c_parent, c_who, c_where, c_depth, c_next, n_c = _push_constraint(
                    s, c, i, nbr[p, a], d + 1, head, tail,
                    c_parent, c_who, c_where, c_depth, c_next, n_c,
                )  # fmt: skip
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
        loss = _loss(pos, nxt, goals) if refine else 1
        if refine and known >= 0:  # explored before: a successor of ``s``, the costs
            # rewired through the explored graph, and back onto the stack if it may still
            # lead to a cheaper solution (LaCAM*)
            e = e_head[s]
            while e >= 0 and e_to[e] != known:
                e = e_next[e]
            if e < 0:
                e_to, e_cost, e_next, n_e = _add_edge(
                    s, known, loss, e_head, e_to, e_cost, e_next, n_e
                )
            stack, sp, queue = _rewire(
                s, g, hval, parent, e_head, e_to, e_cost, e_next, found, stack, sp, queue
            )
            back = known
            if found >= 0 and np.float64(_draw(rng) >> np.uint64(11)) * 2.0**-53 < RESTART_RATE:
                back = 0  # a random restart: the search goes on from the start
            if found < 0 or g[back] + hval[back] < g[found]:
                if sp == stack.shape[0]:
                    stack = _grow1(stack, 2 * sp)
                stack[sp] = back
                sp += 1
            continue
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
            hval = _grow1(hval, cap)
            e_head = _grow1(e_head, cap)
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
        g[q] = g[s] + loss
        hsh[q] = h
        e_head[q] = -1
        if refine:
            hval[q] = _h(nxt, table, slot)
            e_to, e_cost, e_next, n_e = _add_edge(s, q, loss, e_head, e_to, e_cost, e_next, n_e)
        head[q] = -1  # its constraint tree: the root alone (no robot constrained)
        c_parent, c_who, c_where, c_depth, c_next, n_c = _push_constraint(
            q, -1, -1, -1, 0, head, tail, c_parent, c_who, c_where, c_depth, c_next, n_c
        )
        slots[k] = q
        if 2 * n_h > slots.shape[0]:  # rehash into a table twice the size
            slots = np.full(2 * slots.shape[0], -1, np.int64)
            m = slots.shape[0] - 1
            for r in range(n_h):
                k = np.int64(hsh[r] & np.uint64(m))
                while slots[k] >= 0:
                    k = (k + 1) & m
                slots[k] = r
        if refine and at_goal:  # the first solution (the goal is explored once)
            found = q
            first_plan = _backtrack(found, parent, cfg)
            first_expanded = expanded
            continue  # its f is its g: it would only be pruned
        if refine and found >= 0 and g[q] + hval[q] >= g[found]:
            continue  # explored, but it cannot beat the best solution
        stack[sp] = q
        sp += 1
        if at_goal:
            found = q
    if found < 0:
        empty = np.empty((0, n), np.int64)
        return False, empty, expanded, n_h, empty, -1, -1
    plan = _backtrack(found, parent, cfg)
    if not refine:
        first_plan = plan
        first_expanded = expanded
    return True, plan, expanded, n_h, first_plan, first_expanded, g[found]


@numba.njit(cache=True)
def _backtrack(q, parent, cfg):  # pragma: no cover - compiled
    """The configurations from the start to high-level node ``q`` along the parents, as a
    ``(T + 1, N)`` int64 array."""
    length = 0
    k = q
    while k >= 0:
        length += 1
        k = parent[k]
    plan = np.empty((length, cfg.shape[1]), np.int64)
    k = q
    for t in range(length - 1, -1, -1):
        for i in range(cfg.shape[1]):
            plan[t, i] = cfg[k, i]
        k = parent[k]
    return plan


@numba.njit(cache=True)
def _loss(pos, nxt, goals):  # pragma: no cover - compiled
    """LaCAM*'s sum of loss of the step ``pos`` -> ``nxt``: the robots not staying on their
    goals (one staying on its goal costs nothing, every other robot 1)."""
    cost = 0
    for i in range(pos.shape[0]):
        if pos[i] != goals[i] or nxt[i] != goals[i]:
            cost += 1
    return cost


@numba.njit(cache=True)
def _h(config, table, slot):  # pragma: no cover - compiled
    """The refinement's heuristic: the sum of every robot's steps to its goal (admissible
    for the sum of loss: a robot ``d`` steps away loses at least ``d``)."""
    total = 0
    for i in range(config.shape[0]):
        total += np.int64(table[slot[i], config[i]])
    return total


@numba.njit(cache=True)
def _push_constraint(
    s, parent_c, who, where, depth, head, tail, c_parent, c_who, c_where, c_depth, c_next, n_c
):  # pragma: no cover - compiled
    """Append the constraint "robot ``who`` moves to ``where``" (below ``parent_c``, at
    ``depth``; a root: ``-1``, ``-1``, ``-1``, 0) to high-level node ``s``'s queue (``head``,
    ``tail``, linked through ``c_next``), the pool grown by doubling when full; returns the
    pool's arrays and its new count."""
    if n_c == c_parent.shape[0]:
        c_parent = _grow1(c_parent, 2 * n_c)
        c_who = _grow1(c_who, 2 * n_c)
        c_where = _grow1(c_where, 2 * n_c)
        c_depth = _grow1(c_depth, 2 * n_c)
        c_next = _grow1(c_next, 2 * n_c)
    c_parent[n_c] = parent_c
    c_who[n_c] = who
    c_where[n_c] = where
    c_depth[n_c] = depth
    c_next[n_c] = -1
    if head[s] < 0:
        head[s] = n_c
    else:
        c_next[tail[s]] = n_c
    tail[s] = n_c
    return c_parent, c_who, c_where, c_depth, c_next, n_c + 1


@numba.njit(cache=True)
def _add_edge(s, to, cost, e_head, e_to, e_cost, e_next, n_e):  # pragma: no cover - compiled
    """Add the edge ``s → to`` of cost ``cost`` at the head of ``s``'s list of successors (the
    edge arrays grown by doubling when full); returns the edge arrays and their new count."""
    if n_e == e_to.shape[0]:
        e_to = _grow1(e_to, 2 * n_e)
        e_cost = _grow1(e_cost, 2 * n_e)
        e_next = _grow1(e_next, 2 * n_e)
    e_to[n_e] = to
    e_cost[n_e] = cost
    e_next[n_e] = e_head[s]
    e_head[s] = n_e
    return e_to, e_cost, e_next, n_e + 1


@numba.njit(cache=True)
def _rewire(
    s, g, hval, parent, e_head, e_to, e_cost, e_next, found, stack, sp, queue
):  # pragma: no cover - compiled
    """LaCAM*'s rewiring after a new edge out of ``s``: a cheaper cost spreads breadth-first
    from ``s`` through the explored graph's edges (each improved node takes the improving
    node as its parent), and an improved node that may still beat the best solution
    (``found``, -1 before one) goes back onto the stack. Returns ``(stack, sp, queue)`` (both
    arrays grown when full)."""
    queue[0] = s
    lo = 0
    hi = 1
    while lo < hi:
        u = queue[lo % queue.shape[0]]
        lo += 1
        e = e_head[u]
        while e >= 0:
            v = e_to[e]
            cand = g[u] + e_cost[e]
            if cand < g[v]:
                g[v] = cand
                parent[v] = u
                if hi - lo == queue.shape[0]:  # full: unroll into one twice the size
                    bigger = np.empty(2 * queue.shape[0], np.int64)
                    for k in range(hi - lo):
                        bigger[k] = queue[(lo + k) % queue.shape[0]]
                    hi -= lo
                    lo = 0
                    queue = bigger
                queue[hi % queue.shape[0]] = v
                hi += 1
                if found >= 0 and v != found and cand + hval[v] < g[found]:
                    if sp == stack.shape[0]:
                        stack = _grow1(stack, 2 * sp)
                    stack[sp] = v
                    sp += 1
            e = e_next[e]
    return stack, sp, queue


@numba.njit(cache=True)
def pibt_step(
    pos, order, goals, nbr, moves, outdeg, frozen, table, slot, swap, rng
):  # pragma: no cover - compiled
    """One configuration-generator step from ``pos`` without constraints (the fallback when
    the search finds no plan): ``(valid, nxt)``; ``table``, ``slot`` and ``rng`` as
    :func:`lacam_search`'s."""
    n = pos.shape[0]
    scratch = make_scratch(nbr.shape[0], slot, nbr.shape[1])
    nxt = np.full(n, -1, np.int64)
    ok = generate(pos, nxt, order, goals, nbr, moves, outdeg, frozen, table, swap, scratch, rng)
    return ok, nxt
