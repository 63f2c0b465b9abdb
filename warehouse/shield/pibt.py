"""PIBT safety shield: Priority Inheritance with Backtracking over ranked preferences.

The shield follows CS-PIBT (Veerapaneni et al., ICAPS 2024, "Improving Learnt Local MAPF
Policies with Heuristic Search"): each robot's candidate moves are its proposed action first,
then the rest of its allowed actions by preference, and PIBT (Okumura et al., AIJ 2022,
"Priority Inheritance with Backtracking for Iterative Multi-agent Path Finding") turns them into
one joint move with no vertex or swap conflict under the rules of
:mod:`warehouse.core.physics`.

Minimal intervention. When :func:`~warehouse.core.physics.resolve_physical` finds no failing
move, the proposal passes unchanged. Otherwise only two groups are planned by PIBT: the robots
whose move would fail (conflicts plus the cascade of robots following them) and the robots that
proposed WAIT (they may be pushed aside). Every other robot keeps its move: its target node is
reserved. Robots that may only WAIT (busy, broken) are never pushed. The planned robots are
visited in decreasing priority; a robot that proposed WAIT and was not pushed by a
higher-priority one keeps waiting, so only conflicting robots and the robots they push change.
(The ``pibt_swap`` shield also plans the pair of a swap a stalled robot committed to,
:mod:`warehouse.shield.pibt_swap`, *Commitment*.)

Priorities. ``priority = since_goal + ε_id`` with ``since_goal`` the steps since the robot last
reached its sub-goal or goal and ``ε_id ∈ [0, 1)`` a fixed golden-ratio hash of the robot id, so
a robot that keeps losing gains priority every step until it wins (no RNG is used). Robots with
no target (idle) rank below all others.

Candidates. Only actions the mask allows are ever taken (a proposed action it forbids becomes
WAIT). With ``preferences`` (``(N, A)``, higher is better) the order is: proposed action, then
the other allowed actions by score (ties by action index; ``-inf`` or NaN scores last). Without
preferences the other actions are ranked by ``sim.target_distance`` of their node (WAIT last
among equals).

Stall rescue (liveness). A learned navigator's preferences carry no guarantee that a robot ever
gets closer to its target: whole groups can wait for each other or shuffle in place, and a
minimal-intervention shield would let them. So a robot that has a target, may move, and has not
come closer to it for ``stall_steps`` steps (``state.since_progress``, default 16) has its
proposal and preferences replaced by shortest-path ones for that step (its best allowed move,
then the rest by distance, WAIT last among equals) and is planned by PIBT with the others, where
it may push waiting robots aside. Stalled robots also hold the highest priorities (they have
gone longest without reaching a goal), which is the setting of PIBT's reachability argument.
``stall_steps=0`` switches the rescue off.

A navigator may shape the rescue (opt-in, :meth:`PIBTShield.stall_hint`): before a step it
hands the shield its own per-robot stall test (the ``guided`` navigator's: no progress along
its guide path either). For that step a robot is rescued only when both tests say it stalled,
or when it has not come closer to its target by the plain distance for ``BACKSTOP ×
stall_steps`` steps (the liveness backstop: a bad hint cannot keep a robot from the rescue for
good). So a hint can only delay a rescue, never add one. Without a hint for the step (every
other navigator) the rescue is the plain one above, bit for bit.

The recursion runs in :func:`pibt_search`, a numba function with an explicit stack; the
``pibt_swap`` shield runs the same search with the swap (:mod:`warehouse.shield.pibt_swap`).
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.physics import PhysicsScratch
from .swap_rules import pull_partner, swap_agent

_GOLDEN = 0.6180339887498949


def tie_break(n: int) -> np.ndarray:
    """Deterministic per-robot fractions in ``[0, 1)`` (golden-ratio sequence of the ids)."""
    return np.mod(np.arange(n, dtype=np.float64) * _GOLDEN, 1.0)


def priorities(state) -> np.ndarray:  # type: ignore[no-untyped-def]
    """PIBT priority of each robot: ``since_goal + ε_id``; robots without a target come last."""
    prio = np.asarray(state.since_goal, dtype=np.float64) + tie_break(state.pos.size)
    target = getattr(state, "target", None)
    if target is not None:
        prio[np.asarray(target) < 0] -= 1e9
    return prio


@numba.njit(cache=True)
def pibt_plan(
    pos: np.ndarray,
    nbr: np.ndarray,
    cand: np.ndarray,
    allowed: np.ndarray,
    nxt: np.ndarray,
    act: np.ndarray,
    roots: np.ndarray,
    occ: np.ndarray,
    res: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Plan the unplanned robots in place, without the swap (:func:`pibt_search`)."""
    no_nodes = np.zeros((0, 0), np.bool_)
    no_robots = np.zeros(0, np.int64)
    pibt_search(
        pos, nbr, cand, allowed, nxt, act, roots, occ, res, False, no_nodes, no_robots, no_robots,
        np.zeros((0, 0), np.uint16), no_robots, np.zeros(0, np.bool_), no_robots,
    )  # fmt: skip


@numba.njit(cache=True)
def pibt_search(
    pos: np.ndarray,
    nbr: np.ndarray,
    cand: np.ndarray,
    allowed: np.ndarray,
    nxt: np.ndarray,
    act: np.ndarray,
    roots: np.ndarray,
    occ: np.ndarray,
    res: np.ndarray,
    swap: bool,
    fmask: np.ndarray,
    outdeg: np.ndarray,
    slot: np.ndarray,
    table: np.ndarray,
    target: np.ndarray,
    frozen: np.ndarray,
    pulled: np.ndarray,
    hold: bool = False,
) -> None:  # pragma: no cover - compiled
    """Plan the unplanned robots in place.

    ``pos`` (N,) node ids; ``nbr`` (n_nodes, A); ``cand`` (N, A) actions in order of preference;
    ``allowed`` (N, A) bool; ``nxt`` (N,) next node, ``-1`` for robots still to plan (fixed
    robots carry their target); ``act`` (N,) action, filled for planned robots; ``roots`` robot
    ids in decreasing priority. Unplanned robots that no root pushes end up waiting. ``occ`` and
    ``res`` are node-sized int64 scratch (:class:`PIBTScratch`), all -1 on entry and on exit:
    the search only writes at the robots' nodes and their neighbours, and clears those.

    With ``swap`` (the ``pibt_swap`` shield, :mod:`warehouse.shield.pibt_swap`) a robot whose
    best move needs a swap (:func:`~warehouse.shield.swap_rules.swap_agent`) takes its
    candidates in the swap's order and, once it has moved, pulls its partner
    (:func:`~warehouse.shield.swap_rules.pull_partner`). The swap reads ``fmask`` (n_nodes, A)
    the moves open now (the floor's, less closures), ``outdeg`` (n_nodes,) their count out of
    each node, ``slot`` (N,) each robot's row of the distance ``table`` (-1: no target),
    ``target`` (N,) each robot's target node (-1: none) and ``frozen`` (N,) the robots that may
    only WAIT; without ``swap`` they are not read. With ``swap`` it writes ``pulled`` (N,): the
    robot each robot pulled into the node it left (-1: none). ``hold`` (robots hold their
    goals for good: the ``lacam`` navigator) selects LaCAM*'s own rules: its swap-required
    rule (:func:`~warehouse.shield.swap_rules.swap_required`) and its clear rule
    (:func:`~warehouse.shield.swap_rules.swap_agent`). numba compiles the swap rules
    into this function; its cache folder follows every kernel source
    (:mod:`warehouse.jit_cache`), so a change to :mod:`warehouse.shield.swap_rules` alone
    reaches it.
    """
    n = pos.shape[0]
    n_act = cand.shape[1]
    # occ: robot on each node now; res: robot that will be on each node next
    for i in range(n):
        occ[pos[i]] = i
        if nxt[i] >= 0:
            res[nxt[i]] = i
    ptr = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    stack = np.empty(n, np.int64)
    order = np.empty_like(cand) if swap else cand  # each robot's candidates as tried
    seen = np.zeros(n, np.bool_)  # swap checked (once per robot and step)
    pull = np.full(n, -1, np.int64)  # robot each robot pulls on success (-1: none)
    pull_act = np.zeros(n, np.int64)
    for r in roots:
        if nxt[r] >= 0:
            continue  # already pushed by an earlier root
        stack[0] = r
        sp = 1
        parent[r] = -1
        ptr[r] = 0
        ret = -1  # -1: no child answered; 1: child valid; 0: child invalid
        while sp > 0:
            i = stack[sp - 1]
            if ret == 1:  # the child moved away: i keeps its tentative move
                sp -= 1
                if swap:
                    pull_partner(i, pos, nxt, act, res, pull, pull_act)
                continue
            ret = -1
            if swap and not seen[i]:
                seen[i] = True
                j, back = swap_agent(
                    i, pos, nbr, cand, allowed, nxt, occ, slot, table, fmask, target, frozen,
                    outdeg, order, hold,
                )  # fmt: skip
                pull[i] = j
                pull_act[i] = back
            pushed = False
            done = False
            p = pos[i]
            while ptr[i] < n_act:
                a = order[i, ptr[i]]
                ptr[i] += 1
                if not allowed[i, a]:
                    continue
                v = nbr[p, a]
                if res[v] >= 0:
                    continue  # someone ends there
                k = occ[v]
                if k >= 0 and k != i and nxt[k] >= 0 and nxt[k] == p:
                    continue  # swap with a planned robot
                par = parent[i]
                if par >= 0 and v == pos[par]:
                    continue  # swap with the robot pushing us
                res[v] = i
                nxt[i] = v
                act[i] = a
                if k >= 0 and k != i and nxt[k] < 0:
                    parent[k] = i  # push the robot standing there (priority inheritance)
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
                if swap:
                    pull_partner(i, pos, nxt, act, res, pull, pull_act)
                ret = 1
            else:  # no candidate left: stay; a pusher backtracks to its next candidate
                if nxt[i] >= 0 and res[nxt[i]] == i:
                    res[nxt[i]] = -1
                nxt[i] = p
                act[i] = 0
                res[p] = i
                ret = 0
    if swap:
        for i in range(n):
            j = pull[i]
            pulled[i] = j if j >= 0 and nxt[j] == pos[i] and nxt[i] != pos[i] else -1
    for i in range(n):  # every write above was at a robot's node or a neighbour of it
        p = pos[i]
        occ[p] = -1
        for a in range(n_act):
            res[nbr[p, a]] = -1


class PIBTScratch:
    """Node-sized work arrays of one shield, reused from step to step: the conflict check's
    (:class:`~warehouse.core.physics.PhysicsScratch`) and :func:`pibt_search`'s ``occ`` and
    ``res`` (all -1 between calls). Rebuilt when the floor or the fleet size changes."""

    def __init__(self, n_nodes: int, n_robots: int) -> None:
        self.physics = PhysicsScratch(n_nodes, n_robots)
        self.occ = np.full(n_nodes, -1, dtype=np.int64)
        self.res = np.full(n_nodes, -1, dtype=np.int64)
        self.n_robots = n_robots

    def fits(self, n_nodes: int, n_robots: int) -> bool:
        return self.occ.size == n_nodes and self.n_robots == n_robots


class PIBTShield:
    """Collision shield of the ``pibt`` mode (see module docstring)."""

    name = "pibt"
    needs_mask = True

    #: a robot that has not come closer to its target by the plain distance for this many
    #: times ``stall_steps`` steps is rescued whatever a navigator's hint says (the backstop)
    BACKSTOP = 3

    def __init__(self, *, stall_steps: int = 16) -> None:
        self.stall_steps = stall_steps  #: steps without progress before the rescue (0: off)
        self._scratch: PIBTScratch | None = None
        #: a navigator's stall test for one step: ``(state, t, stalled)`` (:meth:`stall_hint`)
        self._hint: tuple[object, object, np.ndarray] | None = None
        #: robot-steps rescued since the shield was made (a count for measurements)
        self.rescues = 0

    def stall_hint(self, sim, stalled: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        """A navigator's own stall test for the step about to be shielded (opt-in, module
        docstring): ``stalled`` (N,) bool, the robots it calls stalled. It holds for this
        step of this episode only (``sim.state`` and ``sim.t``); at that step a robot is
        rescued when it is stalled both by the plain distance and by ``stalled``, or by the
        plain distance for ``BACKSTOP × stall_steps`` steps."""
        stalled = np.array(stalled, dtype=bool).reshape(-1)
        if stalled.size != sim.state.pos.size:
            n = sim.state.pos.size
            raise ValueError(f"stall_hint: expected {n} flags, one per robot, got {stalled.size}")
        self._hint = (sim.state, getattr(sim, "t", None), stalled)

    def stalled(self, sim) -> np.ndarray:  # type: ignore[no-untyped-def]
        """(N,) bool: the robots whose stall the rescue answers at this step, before the
        target and WAIT-only filters: ``since_progress ≥ stall_steps`` (at least 1), narrowed
        by a navigator's hint for this step (:meth:`stall_hint`) up to the backstop."""
        since = np.asarray(sim.state.since_progress)
        stall = max(self.stall_steps, 1)
        plain = since >= stall
        h = self._hint
        if h is None or h[0] is not sim.state or h[1] != getattr(sim, "t", None):
            return plain
        return (plain & h[2]) | (since >= self.BACKSTOP * stall)

    def scratch(self, n_nodes: int, n_robots: int) -> PIBTScratch:
        """This shield's work arrays for a floor of ``n_nodes`` and ``n_robots`` robots."""
        if self._scratch is None or not self._scratch.fits(n_nodes, n_robots):
            self._scratch = PIBTScratch(n_nodes, n_robots)
        return self._scratch

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        nbr = sim.floor.nbr
        pos32 = np.ascontiguousarray(sim.state.pos, dtype=np.int32)
        pos = pos32.astype(np.int64)
        n, n_act = pos.size, nbr.shape[1]
        scratch = self.scratch(nbr.shape[0], n)
        mask = np.asarray(mask, dtype=bool).copy()
        mask[:, 0] = True
        actions = np.asarray(actions, dtype=np.int64).reshape(n)
        ok = (actions >= 0) & (actions < n_act)
        ok[ok] &= mask[np.flatnonzero(ok), actions[ok]]
        actions = np.where(ok, actions, 0)
        frozen = ~mask[:, 1:].any(axis=1)
        actions, rescued = self._rescue(sim, actions, mask, frozen)
        target = nbr[pos, actions].astype(np.int32, copy=False)
        failed = scratch.physics.resolve(pos32, target).failed
        held = self._held(sim, pos, actions, mask, frozen, rescued)
        forced = held is not None and held[0].size > 0
        if not failed.any() and not forced:
            return actions

        if forced:  # planned as if their moves failed: with the robots following
            stay = target.copy()
            stay[held[0]] = pos32[held[0]]
            failed = failed | scratch.physics.resolve(pos32, stay).failed
            failed[held[0]] = True
        staying = target == pos
        plan = failed | (staying & ~frozen)  # roots and pushable robots
        nxt = np.where(plan, -1, target).astype(np.int64)
        act = actions.copy()
        roots = np.flatnonzero(plan)
        roots = roots[np.argsort(-priorities(sim.state)[roots], kind="stable")]

        idx = np.flatnonzero(plan)
        key = self._scores(sim, preferences, idx, pos)
        if rescued is not None:  # stalled robots rank by their shortest-path scores
            stalled, score = rescued
            at = np.searchsorted(idx, stalled)
            planned = (at < idx.size) & (idx[np.minimum(at, idx.size - 1)] == stalled)
            key[at[planned]] = _finite(score[planned])
        key[np.arange(idx.size), actions[idx]] = np.inf
        if held is not None:  # followers may not take their barred moves
            _, followers, keep = held
            mask[followers] &= keep
        cand = np.zeros((n, n_act), dtype=np.int64)
        cand[idx] = np.argsort(-key, axis=1, kind="stable")
        self._plan(sim, pos, cand, mask, nxt, act, roots.astype(np.int64), frozen)
        return act

    def _held(self, sim, pos, actions, mask, frozen, rescued):  # type: ignore[no-untyped-def]
        """Robots to plan although their proposals do not conflict, and robots whose moves are
        restricted whenever they are planned (held or pushed): ``(robots, followers, keep)``
        with ``followers`` allowed only the moves of the ``(k, A)`` bool ``keep`` (``robots``
        may be empty), or None. Plain PIBT has neither (the swap shield's commitments,
        :mod:`~warehouse.shield.pibt_swap`)."""
        return None

    def _plan(self, sim, pos, cand, mask, nxt, act, roots, frozen):  # type: ignore[no-untyped-def]
        """Run PIBT over the unplanned robots (``nxt == -1``), in place (:func:`pibt_plan`)."""
        nbr = sim.floor.nbr
        sc = self.scratch(nbr.shape[0], pos.size)
        pibt_plan(pos, nbr, cand, mask, nxt, act, roots, sc.occ, sc.res)

    def _rescue(self, sim, actions, mask, frozen):  # type: ignore[no-untyped-def]
        """Shortest-path proposals for stalled robots (module docstring): the new actions and
        ``(stalled robots, their (k, A) scores)`` (None when no robot stalled). Distances are
        looked up for the stalled robots only."""
        s = sim.state
        if self.stall_steps <= 0:
            return actions, None
        stalled = self.stalled(sim) & (s.target >= 0) & ~frozen
        if not stalled.any():
            return actions, None
        idx = np.flatnonzero(stalled)
        self.rescues += idx.size
        dist = _target_distance(sim, idx).astype(np.float64)  # (k, A)
        dist[:, 0] += 0.5  # WAIT last among equally short moves
        score = np.where(mask[idx], -dist, -np.inf)
        actions = actions.copy()
        actions[idx] = score.argmax(axis=1)
        return actions, (idx, score)

    @staticmethod
    def _scores(sim, preferences, idx: np.ndarray, pos: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Finite ranking scores for robots ``idx`` (higher first)."""
        if preferences is not None:
            pref = np.asarray(preferences, dtype=np.float64).reshape(pos.size, -1)[idx]
            return _finite(pref)
        dist = _target_distance(sim, idx).astype(np.float64)
        dist[:, 0] += 0.5  # WAIT last among equals
        return -dist


def _finite(scores: np.ndarray) -> np.ndarray:
    """``scores`` with NaN and ``-inf`` ranked last and ``+inf`` first, all finite."""
    big = np.finfo(np.float64).max / 4
    return np.nan_to_num(scores, nan=-big, posinf=big, neginf=-big)


def _target_distance(sim, rows: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``sim.target_distance(sim.floor.nbr[sim.state.pos])[rows]``, looked up for ``rows`` only:
    steps from each neighbour of those robots to their target (0 without a target)."""
    return sim.target_distance(sim.floor.nbr[sim.state.pos[rows]], rows=rows)
