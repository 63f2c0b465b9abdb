"""Rule-based navigation: shortest paths on the floor graph, a few local traffic rules.

:class:`RuleBasedNavigator` is the baseline a learned navigator must beat. Each step, for the
whole fleet at once (one compiled pass, robots taken in id order):

1. **follow the shortest path**: a robot with a target wants a neighbour one step closer to it
   (distances from :class:`~warehouse.floor.DistanceCache`), preferring a free one when several
   are equally short (free = no robot on it and not already wanted by a lower id; ties: lowest
   action index). Robots without a target, at their target or busy (picking, dropping, broken
   down) wait.
2. **escape** (deadlock and livelock rule): a robot that has waited ``patience`` steps in a row
   while having a target, or has not come closer to its target for ``8 × patience`` steps
   (``state.since_progress``: it is shuffling back and forth), moves with probability 1/2 per
   step to a uniformly random free neighbour, drawn from the navigator's own RNG.
3. **yield**: when two robots want each other's nodes (head-on in a single-lane aisle), the
   one whose *train* (itself and the robots queued behind it) holds the higher lowest id
   yields, unless the other holds the right of way (below) or only one of the two is on an
   errand (an order, a charger): then the idle one, driving to a sub-goal such as a parking
   spot, yields (else a robot parked in a one-lane aisle that made way for a loaded robot and
   is sent back to its spot turns it back, over and over); an idle robot standing on a node
   a robot wants yields too (in a one-shot MAPF run, ``tasks.assignment: one_shot``, so does a
   robot standing on its goal, which never counts as waiting for the escape rule, and a robot
   that reached its goal once gives way to one that has not, as an idle one does). A yielding
   robot moves to the free neighbour closest to its own target (in a one-shot run one that is
   not a step ahead of the robot it makes way for, when there is one: else a robot on its goal
   at a junction steps back into the aisle the other robot wants to drive down, is driven
   ahead of it, and the two shuttle there for good, ``tests/test_one_shot_liveness.py``), else
   follows a neighbour that is leaving, else pushes back a robot heading into it (which then
   yields in turn), else waits. When the loser's side is boxed in (a dead end), the winner's
   side backs off instead and the boxed-in robot holds the right of way for ``2 × patience``
   steps so that it gets past. Yielders and winners go first: any other robot
   that wants the node a yielder or a winner moves to waits.

   With ``clear_idle`` (the ``rule_based_push`` navigator) a yielding robot boxed in by idle
   robots shifts them instead of waiting: along the shortest chain of idle robots that ends at
   a free node (at most :data:`_CLEAR_SEARCH` nodes searched), every robot moves one node
   (:func:`_clear_path`). Without it an idle robot yields only onto a free neighbour, so idle
   robots packed around a station, where they finished their last order, can wall it off: the
   slow jams of the ``rule_based`` fleet on arrival-capped floors such as ``medium``
   (docs/results_sessions.md, sixteenth session).
   Three opt-in options (all on in the ``rule_based_unlock`` navigator, and with ``clear_idle``
   in ``rule_based_push_unlock``) undo deadlocks between robots with orders on saturated
   floors, where robots heading both ways fill a two-cell pick row and the plain rules wait
   forever (docs/results_sessions.md, twenty-first session):

   * ``strict_follow``: a yielding robot follows a neighbour only when that neighbour's
     chain of wanted nodes ends at a free node (:func:`_leaves`), not at a waiting, busy or
     head-on robot, nor back at the yielder's own node. Otherwise the follow is a false
     success: the yielder never moves, and the winner's side never backs off.
   * ``rotate``: robots on a cycle of three or more wanted nodes (each wants the node of the
     next; two-cell pick rows make them in 2 × 2 squares) reserve their nodes, so that others
     wanting them wait and the cycle turns (:func:`_reserve_cycles`). Without it a lower id
     queued behind a robot of the cycle wins that node under the ``block`` priority, and
     nothing moves.
   * ``retry_push`` (on in both unlock navigators since the twenty-fifth session): a yielding
     robot whose push chain ends with a robot that cannot move pushes back its next robot
     heading into it instead (a depth-first search over the push chains). Without it only the
     first one (lowest action index) is tried: in a packed two-cell pick row the push into the
     other lane fails, the push along the lane towards a free cell is never tried, and the
     row stays packed (``medium_peak`` seed 4, docs/results_unlock/retry_push.md).

4. **wait when the next node is taken**: the joint plan goes through the ``block`` priority of
   :func:`warehouse.core.physics.resolve_block`; moves it would stop become WAIT, so the plan
   is conflict-free.

The preference scores (negative distance to target, ``-inf`` for masked actions, see
:func:`distance_preferences`) rank every action for shields such as PIBT.
"""

from __future__ import annotations

import numba
import numpy as np

from warehouse.core import Simulation
from warehouse.core.kernels import any_at_least, resolve_block_kernel
from warehouse.core.state import Charge, Phase
from warehouse.floor import UNREACHABLE

_FAR = np.float32(1e6)
_IDLE, _NO_CHARGE = int(Phase.IDLE), int(Charge.NONE)  # plain ints for the compiled pass
#: Most nodes :func:`_clear_path` searches for a free node behind idle robots.
_CLEAR_SEARCH = 64
_WAIT_PENALTY = np.float32(1e-3)
#: Most robots :func:`_leaves` follows along a chain of wanted nodes.
_FOLLOW_DEPTH = 32
# bits of the navigator's ``mode`` (the options that change its rules)
_CLEAR_IDLE, _STRICT_FOLLOW, _ROTATE, _RETRY_PUSH = 1, 2, 4, 8
#: set per call in one-shot MAPF runs (``tasks.assignment: one_shot``): a robot standing on its
#: target holds it, neither waiting (no escape) nor in the way (it yields as an idle one does)
_HOLD_GOAL = 16


def distance_preferences(sim: Simulation, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, A)`` distance-to-target of every action's node and preference scores from it.

    Robots without a target prefer WAIT (distance 0 for WAIT, 1 for moves); unreachable nodes
    count as 1e6 steps. Scores are ``-distance``, minus 1e-3 for WAIT (so moving wins ties), and
    ``-inf`` for masked actions.
    """
    f, s = sim.floor, sim.state
    cand = f.nbr[s.pos]  # (N, A)
    dist = sim.target_distance(cand).astype(np.float32)
    dist[dist >= UNREACHABLE] = _FAR
    no_target = s.target < 0
    dist[no_target] = 1.0
    dist[no_target, 0] = 0.0
    scores = -dist - _WAIT_PENALTY * (np.arange(f.n_actions) == 0)
    scores = np.where(mask, scores, -np.inf).astype(np.float32)
    return dist, scores


# _clear_path and _leaves take the arrays they read one by one (not ``scene``) and are inlined
# into _yield: called with the tuple, they left more reference counting of the arrays in every
# call of _yield (35 increfs in its compiled code against 23), which cost the plain rules, whose
# branches never call them, about 11 µs a step at 1,000 robots (since commit
# 0c4ac22); tests/test_audit_speed2.py pins the plans bit for bit
@numba.njit(cache=True, inline="always")
def _clear_path(
    r, avoid, pos, slot, nbr, mask, frozen, act, want, occ, claimed, yielding, bfs
):  # pragma: no cover - compiled
    """Robot ``r`` makes room by shifting idle robots towards the nearest free node.

    Breadth-first search from ``r``'s node through nodes held by idle robots that are free to
    move (no target, not frozen, not already moving) to a free, unclaimed node, at most
    :data:`_CLEAR_SEARCH` nodes; ``avoid`` is never entered. When one is found, every robot on
    the path moves one node along it (``r`` first) and the free node is claimed. Returns
    whether a path was found.
    """
    parent, via, queue = bfs
    n_act = nbr.shape[1]
    start = pos[r]
    parent[start] = start
    queue[0] = start
    head, tail, goal = 0, 1, -1
    while head < tail and goal < 0 and tail < _CLEAR_SEARCH:
        x = queue[head]
        head += 1
        mover = r if x == start else occ[x]
        for a in range(1, n_act):
            if not mask[mover, a]:
                continue
            u = nbr[x, a]
            if u == avoid or parent[u] >= 0:
                continue
            k = occ[u]
            if k < 0:
                if claimed[u]:
                    continue
                parent[u], via[u] = x, a
                goal = u
                break
            if slot[k] >= 0 or frozen[k] or yielding[k] or act[k] != 0:
                continue
            parent[u], via[u] = x, a
            queue[tail] = u
            tail += 1
            if tail >= _CLEAR_SEARCH:
                break
    if goal >= 0:
        claimed[goal] = True
        u = goal
        while u != start:  # walk back: the robot on parent[u] moves to u
            x = parent[u]
            mover = r if x == start else occ[x]
            act[mover], want[mover] = via[u], u
            yielding[mover] = True
            u = x
    for i in range(tail):  # reset the scratch
        parent[queue[i]] = -1
    if goal >= 0:
        parent[goal] = -1
    return goal >= 0


@numba.njit(cache=True, inline="always")
def _leaves(k, home, pos, frozen, act, want, occ):  # pragma: no cover - compiled
    """Whether robot ``k``'s move can go through: its chain of wanted nodes (``k`` wants the
    node of a robot that wants the node of ...) ends at a free node, not at a robot that waits,
    is frozen or is in a head-on pair, nor back at ``home`` (the follower's node, which the
    robot it makes way for is to take). At most :data:`_FOLLOW_DEPTH` robots are looked at.
    """
    cur = k
    for _ in range(_FOLLOW_DEPTH):
        if frozen[cur] or act[cur] == 0 or want[cur] == pos[cur]:
            return False
        w = want[cur]
        if w == home:
            return False  # back to the follower's node, which the robot it makes way for takes
        j = occ[w]
        if j < 0:
            return True
        if want[j] == pos[cur]:
            return False  # head-on: neither moves
        cur = j
    return False


@numba.njit(cache=True)
def _reserve_cycles(pos, act, want, occ, resv):  # pragma: no cover - compiled
    """Robots on a cycle of wanted nodes (each wants the node of the next, three or more) go
    first: unless a yielder or a winner has reserved one of its nodes, every robot of the cycle
    reserves the node it wants, so that the others wanting them wait and the cycle turns.

    Each robot wants at most one node, so every walk along "wants the node of" ends at a
    free node, at a waiting robot, at a robot seen before, or closes a cycle; every robot is
    walked over once.
    """
    n = pos.size
    seen = np.full(n, -1, np.int32)  # the walk that reached the robot
    for s0 in range(n):
        if seen[s0] >= 0 or act[s0] == 0:
            continue
        cur = s0
        while True:
            seen[cur] = s0
            nx = occ[want[cur]]
            if nx < 0 or act[nx] == 0:
                break
            if seen[nx] == s0:  # a cycle: nx -> ... -> cur -> nx
                length, c = 1, nx
                while c != cur:
                    c = occ[want[c]]
                    length += 1
                if length >= 3:
                    free, c = True, nx
                    for _ in range(length):
                        free = free and resv[want[c]] < 0
                        c = occ[want[c]]
                    for _ in range(length if free else 0):
                        resv[want[c]] = c
                        c = occ[want[c]]
                break
            if seen[nx] >= 0:
                break  # joins an earlier walk
            cur = nx


@numba.njit(cache=True)
def _yield(y, avoid, scene):  # pragma: no cover - compiled
    """Robot ``y`` gets out of the way of the robot on node ``avoid`` (rule 3).

    Pushing chains are followed iteratively. Returns False (and leaves the whole chain waiting)
    when the chain ends with a robot that cannot move. With ``retry_push`` a robot whose push
    chain ends so tries its next pushable neighbour (a depth-first search; the robots of a
    failed chain wait and are not pushed again). ``scene`` holds the navigator's arrays (see
    :func:`_navigate`); ``chain`` among them is robot-sized scratch: the robots of the chain
    and the push each of them makes.
    """
    pos, slot, table, nbr, mask, frozen, act, want, occ, claimed, yielding, chain, bfs, mode = scene
    n_act = nbr.shape[1]
    chain[0, 0] = y
    length = 1
    r, av = y, avoid
    first = 1  # the first action whose push is tried (later ones after a backtrack)
    while True:
        yielding[r] = True
        p = pos[r]
        best_a, best_d = -1, 1 << 40
        # _HOLD_GOAL: the robot made way for, whose way on from ``p`` a free node is not taken
        o = occ[av] if (mode & _HOLD_GOAL) != 0 else -1
        so = slot[o] if o >= 0 else -1
        follow_a, push_a, push_k = -1, -1, -1
        for a in range(1, n_act):
            if not mask[r, a]:
                continue
            u = nbr[p, a]
            if u == av:
                continue
            k = occ[u]
            if k < 0:
                if claimed[u]:
                    continue
                d = 0 if slot[r] < 0 else np.int64(table[slot[r], u])
                if so >= 0 and table[so, u] < table[so, p]:
                    d += 1 << 32  # ahead of the robot made way for: only when nothing else
                if d < best_d:
                    best_a, best_d = a, d
            elif want[k] != u and want[k] != p:
                if follow_a < 0 and (
                    (mode & _STRICT_FOLLOW) == 0 or _leaves(k, p, pos, frozen, act, want, occ)
                ):
                    follow_a = a
            elif want[k] == p and not frozen[k] and not yielding[k] and push_a < 0 and a >= first:
                push_a, push_k = a, k
        if best_a >= 0:
            u = nbr[p, best_a]
            claimed[u] = True
            act[r], want[r] = best_a, u
            return True
        if follow_a >= 0:
            act[r], want[r] = follow_a, nbr[p, follow_a]
            return True
        if (
            push_a < 0
            and (mode & _CLEAR_IDLE) != 0
            and _clear_path(
                r, av, pos, slot, nbr, mask, frozen, act, want, occ, claimed, yielding, bfs
            )
        ):
            return True  # idle robots in the way made room
        if push_a < 0 and (mode & _RETRY_PUSH) != 0 and length > 1:
            # r cannot make room: it waits, and the robot that pushed it tries its next push
            act[r], want[r] = 0, pos[r]
            length -= 1
            r = chain[0, length - 1]
            first = chain[1, length - 1] + 1
            av = avoid if length == 1 else pos[chain[0, length - 2]]
            continue
        if push_a < 0:
            for c in chain[0, :length]:  # nobody in the chain can make room
                act[c], want[c] = 0, pos[c]
            return False
        act[r], want[r] = push_a, nbr[p, push_a]
        chain[1, length - 1] = push_a
        chain[0, length] = push_k
        length += 1
        r, av, first = push_k, p, 1


@numba.njit(cache=True)
def _navigate(
    pos,
    slot,
    table,
    nbr,
    mask,
    waited,
    since_progress,
    boost,
    patience,
    boost_steps,
    noise,
    bfs,
    mode,
    occ,
    claimed,
    resv,
    head,
    nxt,
    stop,
    act,
    want,
    prefs,
    phase,
    charge,
):  # pragma: no cover - compiled
    n = pos.size
    n_act = nbr.shape[1]
    far = np.float32(1e6)
    penalty = np.float32(1e-3)
    ninf = np.float32(-np.inf)
    frozen = np.zeros(n, np.bool_)  # no move allowed: busy, broken down or boxed in by closures
    for i in range(n):
        occ[pos[i]] = i
        frozen[i] = True
        for a in range(1, n_act):
            if mask[i, a]:
                frozen[i] = False
                break
    yielding = np.zeros(n, np.bool_)
    holding = np.zeros(n, np.bool_)  # _HOLD_GOAL: on its target, holding it
    chain = np.empty((2, n), np.int32)  # _yield's pushing chains (robots, their pushes)
    # everything _yield reads and writes, passed as one tuple
    scene = (
        pos, slot, table, nbr, mask, frozen, act, want, occ, claimed, yielding, chain, bfs, mode
    )  # fmt: skip
    # Rule 1: shortest-path intentions (and the preference scores).
    for i in range(n):
        p = pos[i]
        s = slot[i]
        act[i], want[i] = 0, p
        if s < 0:
            for a in range(n_act):
                prefs[i, a] = (-penalty if a == 0 else np.float32(-1.0)) if mask[i, a] else ninf
            continue
        d0 = np.int64(table[s, p])
        holding[i] = (mode & _HOLD_GOAL) != 0 and d0 == 0
        best_a, best_rank = -1, 3
        for a in range(n_act):
            u = nbr[p, a]
            d = np.int64(table[s, u])
            df = far if d >= 65535 else np.float32(d)
            if not mask[i, a]:
                prefs[i, a] = ninf
                continue
            prefs[i, a] = -df - penalty if a == 0 else -df
            if a == 0 or frozen[i] or d0 >= 65535 or d != d0 - 1:
                continue
            rank = 2 if occ[u] >= 0 else (1 if claimed[u] else 0)
            if rank < best_rank:
                best_a, best_rank = a, rank
        if best_a >= 0:
            u = nbr[p, best_a]
            act[i], want[i] = best_a, u
            claimed[u] = True
    # Rule 2: patient robots back off at random.
    for i in range(n):
        stalled = waited[i] >= patience or since_progress[i] >= 8 * patience
        if slot[i] < 0 or frozen[i] or not stalled or noise[i] >= 0.5:
            continue
        p = pos[i]
        free = 0
        for a in range(1, n_act):
            if mask[i, a] and occ[nbr[p, a]] < 0:
                free += 1
        if free == 0:
            continue
        pick = min(int(noise[i] * 2.0 * free), free - 1)
        for a in range(1, n_act):
            u = nbr[p, a]
            if mask[i, a] and occ[u] < 0:
                if pick == 0:
                    act[i], want[i] = a, u
                    claimed[u] = True
                    break
                pick -= 1
    # Rule 3: head-on pairs and idle robots in the way yield. A pair is decided by the lowest id
    # in each robot's train (itself and the robots queued behind it), so a long train is never
    # turned back by a short one and the decision stays the same from step to step.
    train = np.arange(n)
    for k in range(n):  # ids ascending: every robot is lowered at most once
        cur, m = k, train[k]
        while act[cur] != 0:
            r = occ[want[cur]]
            if r < 0 or want[r] == pos[cur] or train[r] <= m:
                break
            train[r] = m
            cur = r
    for i in range(n):
        if act[i] == 0:
            continue
        j = occ[want[i]]
        if j < 0 or frozen[j] or yielding[j]:
            continue
        if slot[j] < 0 or holding[j]:
            if resv[pos[j]] < 0:
                resv[pos[j]] = i
            _yield(j, pos[i], scene)
        elif want[j] == pos[i]:
            # a robot on an errand (an order, a charger) goes before an idle one driving to a
            # sub-goal (a parking spot, a zone): an idle robot that made way for a loaded one
            # and is sent back past it must not turn it back
            idle_i = phase[i] == _IDLE and charge[i] == _NO_CHARGE
            idle_j = phase[j] == _IDLE and charge[j] == _NO_CHARGE
            key_i = (0 if boost[i] > 0 else 1, 1 if idle_i else 0, train[i], i)
            key_j = (0 if boost[j] > 0 else 1, 1 if idle_j else 0, train[j], j)
            y, other = (j, i) if key_j > key_i else (i, j)
            if yielding[y]:
                continue
            y_act = act[y]
            if _yield(y, pos[other], scene):
                if resv[pos[y]] < 0:
                    resv[pos[y]] = other
            elif not yielding[other] and _yield(other, pos[y], scene):
                # the loser is boxed in: the winner's side backs off instead
                if resv[pos[other]] < 0:
                    resv[pos[other]] = y
                act[y], want[y] = y_act, pos[other]
                boost[y] = boost_steps  # it keeps the right of way until it gets past
    # Yielders and the winners of head-on pairs go first: others wanting their node wait.
    for i in range(n):
        if yielding[i] and act[i] != 0 and resv[want[i]] < 0:
            resv[want[i]] = i
    if (mode & _ROTATE) != 0:
        _reserve_cycles(pos, act, want, occ, resv)
    for i in range(n):
        if act[i] != 0 and resv[want[i]] >= 0 and resv[want[i]] != i:
            act[i], want[i] = 0, pos[i]
    for i in range(n):
        for a in range(n_act):
            resv[nbr[pos[i], a]] = -1
    # Rule 4: conflicting moves wait (block priority), so the plan is conflict-free.
    resolve_block_kernel(pos, want, occ_reset(pos, occ), head, nxt, stop)
    for i in range(n):
        if stop[i]:
            act[i] = 0
        for a in range(n_act):
            claimed[nbr[pos[i], a]] = False
        if slot[i] >= 0 and not frozen[i] and act[i] == 0 and not holding[i]:
            waited[i] += 1
        else:
            waited[i] = 0
        if boost[i] > 0:
            boost[i] -= 1
    for i in range(n):
        if waited[i] >= patience:
            return True  # the next call needs noise for the escape rule
    return False


@numba.njit(cache=True)
def occ_reset(pos, occ):  # pragma: no cover - compiled
    """Clear the occupant scratch (all -1) and return it."""
    for i in range(pos.size):
        occ[pos[i]] = -1
    return occ


class RuleBasedNavigator:
    """Shortest-path follower with local traffic rules (see module docstring)."""

    name = "rule_based"
    needs_observation = False

    def __init__(
        self,
        *,
        patience: int = 8,
        clear_idle: bool = False,
        strict_follow: bool = False,
        rotate: bool = False,
        retry_push: bool = False,
        seed: int | None = None,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience: expected a whole number of steps ≥ 1, got {patience!r}")
        self.patience = patience
        self.clear_idle = clear_idle
        self.strict_follow = strict_follow
        self.rotate = rotate
        self.retry_push = retry_push
        self.mode = (
            _CLEAR_IDLE * clear_idle
            + _STRICT_FOLLOW * strict_follow
            + _ROTATE * rotate
            + _RETRY_PUSH * retry_push
        )
        # the registered names (rule_based, _push, _unlock, _push_unlock); the unlock rules
        # alone or in part (ablations) are named after them
        parts = ["rule_based"] + ["push"] * clear_idle
        if strict_follow and rotate and retry_push:
            parts.append("unlock")
        else:
            parts += ["strict_follow"] * strict_follow + ["rotate"] * rotate
            parts += ["retry_push"] * retry_push
        self.name = "_".join(parts)
        self.rng = np.random.default_rng(seed)
        self._waited = np.zeros(0, dtype=np.int32)
        self._scratch_key: tuple[int, int] | None = None

    def reset(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(None if seed is None else [seed, 0x5EED])
        self._waited = np.zeros(0, dtype=np.int32)

    def _scratch(self, n_nodes: int, n: int) -> None:
        if self._scratch_key == (n_nodes, n):
            return
        self._scratch_key = (n_nodes, n)
        self._occ = np.full(n_nodes, -1, dtype=np.int32)
        self._head = np.full(n_nodes, -1, dtype=np.int32)
        self._claimed = np.zeros(n_nodes, dtype=bool)
        self._resv = np.full(n_nodes, -1, dtype=np.int32)
        self._nxt = np.full(n, -1, dtype=np.int32)
        self._stop = np.zeros(n, dtype=bool)
        self._want = np.zeros(n, dtype=np.int32)
        # _clear_path's breadth-first scratch (parent, action, queue); empty without clear_idle
        m = n_nodes if self.clear_idle else 0
        self._bfs = (
            np.full(m, -1, dtype=np.int32),
            np.zeros(m, dtype=np.int32),
            np.empty(min(m, _CLEAR_SEARCH), dtype=np.int32),
        )

    def act(self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        f, s = sim.floor, sim.state
        n = s.n
        self._scratch(f.n_nodes, n)
        if self._waited.size != n:
            self._waited = np.zeros(n, dtype=np.int32)
            self._boost = np.zeros(n, dtype=np.int32)
            self._no_noise = np.ones(n)
            self._need_noise = False
        _, slot = sim.target_slots()
        phase, hold = s.phase, getattr(sim, "one_shot_goals", None) is not None
        if hold:  # one-shot MAPF: a robot that reached its goal once gives way as an idle one
            phase = np.where(s.arrived, np.int8(_IDLE), s.phase).astype(s.phase.dtype)
        stalled = self._need_noise or any_at_least(s.since_progress, 8 * self.patience)
        noise = self.rng.random(n) if stalled else self._no_noise
        actions = np.empty(n, dtype=np.int64)
        prefs = np.empty((n, f.n_actions), dtype=np.float32)
        self._need_noise = _navigate(
            s.pos,
            slot,
            sim.dist.table,
            f.nbr,
            np.ascontiguousarray(mask, dtype=bool),
            self._waited,
            s.since_progress,
            self._boost,
            self.patience,
            2 * self.patience,
            noise,
            self._bfs,
            self.mode | (_HOLD_GOAL if hold else 0),
            self._occ,
            self._claimed,
            self._resv,
            self._head,
            self._nxt,
            self._stop,
            actions,
            self._want,
            prefs,
            phase,
            s.charge,
        )
        return actions, prefs


class RandomNavigator:
    """Uniformly random allowed moves (a sanity baseline)."""

    name = "random"
    needs_observation = False

    def __init__(self, *, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(None if seed is None else [seed, 0xACE])

    def act(self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        scores = np.where(mask, self.rng.random(mask.shape), -np.inf).astype(np.float32)
        return scores.argmax(axis=1).astype(np.int64), scores
