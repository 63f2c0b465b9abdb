"""PIBT with the swap plus a windowed LaCAM jam repair: the ``pibt_lacam`` collision mode
(exploratory, opt-in).

On dead-end floors a crowd at a station can fall into a cycle that no one-step rule breaks
(docs/results_swap.md, part 1: the station crowd of ``spurs_narrow``). This shield is
:class:`~warehouse.shield.pibt_swap.PIBTSwapShield`, step for step, until a jam is detected;
then it plans the robots near the jam over several steps with the compiled LaCAM search of the
``lacam`` navigator (:func:`agents.lacam_search.lacam_search`) and makes them follow the plan.

* **Jam.** A robot with a target that may move and has not come closer to it for
  ``jam_steps`` steps (``state.since_progress``; 200 by default, below the 300 of
  ``physics.jam_after``). The most stalled one (ties: the lowest id) seeds the repair. At most
  one plan is in force; a new search starts no sooner than ``cooldown`` steps (16) after the
  last one. Until its first search the mode gives the run of ``pibt_swap``, bit for bit.
* **Back-off.** After ``f`` search calls in a row that put no plan in force (no plan within the
  budget, a window too crowded, nothing to plan), the next call waits ``cooldown * 2**min(f - 1,
  max_backoff)`` steps instead of ``cooldown``: 16, 32, 64, ... up to 1,024
  (``MAX_BACKOFF`` = 6). A plan found resets it. So a floor whose jams the search cannot solve
  stops paying for searches.
* **Window.** The nodes within ``radius`` moves (6; either way) of the seed robot, less the
  nodes of robots that may only WAIT (busy, broken). The robots standing in it are the
  instance's agents; every robot outside it is left out of the search, and the window's moves
  out of it are closed (the rest of the floor is an obstacle for the search). When the search
  finds no plan the radius doubles, ``widen`` times at most (2: 12, then 24 moves), and stops
  when the window no longer takes in more robots. A window with more than ``max_agents``
  robots (``MAX_AGENTS`` = 32; the whole fleet of ``spurs_narrow`` is 30) is not searched, nor
  any wider one: the call ends without a plan and PIBT keeps the crowd.
* **Goals.** Agents in decreasing ``since_progress`` (ties: the lowest id) take the free
  window node nearest to their target (``sim.dist``), ties by the fewest moves from where they
  stand, then the node id; a robot without a target takes the free node nearest to it (its
  own when free). Goals are distinct and reachable in the window (distances computed inside
  it). No search runs when every agent is already on its goal, or when an agent is left no
  free node.
* **Search.** :func:`~agents.lacam_search.lacam_search` with LaCAM*'s swap, a fixed
  ``node_budget`` (5,000 iterations a window: a count, never a clock) and a tie-break stream
  seeded by the step (:func:`~agents.lacam_search.seed_state` of ``sim.t``), so runs are
  bit-reproducible.
* **Following the plan.** From the step of the search on, while every agent stands where the
  plan says, may move, and its next node is one its action mask allows and no other robot
  stands on, the agents' masks allow only the plan's move (and WAIT), their proposals are the
  plan's moves, the stall rescue (and so the swap's commitments) leaves them alone, and every
  other robot is barred from the nodes the plan still needs. The joint move then goes through
  the PIBT shield as usual, so only a conflict-free joint move reaches the floor whatever the
  plan says. A plan that stops holding (most often: an agent reached its target and works, so
  may only WAIT) is dropped. A plan longer than ``max_follow`` steps (``MAX_FOLLOW`` = 32) is
  cut to its first ``max_follow`` steps when it is found: after them PIBT takes over, the
  nodes barred to the other robots are only those of the cut plan, and a jam that persists is
  searched again.

Measured in docs/results_swap.md, part 6: on ``spurs_narrow`` it frees the four gridlocked
seeds of the rule-based fleet and changes no run without such a jam. Without the three caps
(forty-fourth session) it hurt dense lifelong floors: on RHCR's kiva its plans (median 103
steps, up to 370 robots, the cells they need barred to everyone else) gridlocked 2 of 5
rule-based runs at 200 robots, and on LoRR warehouse_large its searches, mostly without a plan
within the budget, made runs 5-10x slower. With them ("Caps for dense floors") no kiva run
gridlocks, the paired change of the mean deliveries is small at every size, and the runs cost
about what ``pibt_swap``'s do.

Counters for measurements (reading them changes no run): ``repairs`` searches run (one per
window tried), ``plans`` searches that found a plan, ``planned_steps`` plan steps followed,
``search_iterations`` iterations spent, ``dropped`` plans dropped before their end,
``crowded`` windows not searched for more than ``max_agents`` robots, ``cut`` plans cut to
``max_follow`` steps.
"""

from __future__ import annotations

import numpy as np

from warehouse.floor.distances import UNREACHABLE

from .pibt_swap import PIBTSwapShield

#: the most robots a window may hold; a more crowded one is not searched (PIBT keeps it)
MAX_AGENTS = 32
#: the most steps of a plan followed; then PIBT takes over, and a jam that persists is searched
#: again
MAX_FOLLOW = 32
#: after ``f`` search calls in a row without a plan, the next waits ``cooldown * 2**min(f - 1,
#: MAX_BACKOFF)`` steps
MAX_BACKOFF = 6


class PIBTLaCAMShield(PIBTSwapShield):
    """Collision shield of the ``pibt_lacam`` mode: ``pibt_swap`` plus a windowed LaCAM jam
    repair (module docstring)."""

    name = "pibt_lacam"

    def __init__(
        self,
        *,
        stall_steps: int = 16,
        jam_steps: int = 200,
        radius: int = 6,
        node_budget: int = 5_000,
        cooldown: int = 16,
        widen: int = 2,
        max_agents: int = MAX_AGENTS,
        max_follow: int = MAX_FOLLOW,
        max_backoff: int = MAX_BACKOFF,
    ) -> None:
        super().__init__(stall_steps=stall_steps)
        self.jam_steps = jam_steps
        self.radius = radius
        self.node_budget = node_budget
        self.cooldown = cooldown
        self.widen = widen
        self.max_agents = max_agents
        self.max_follow = max_follow
        self.max_backoff = max_backoff
        #: the plan in force: ``(state, t0, agents, plan)``, plan row ``k`` the agents' nodes at
        #: step ``t0 + k``
        self._plan_in_force: tuple[object, int, np.ndarray, np.ndarray] | None = None
        #: ``(state, step)``: no search before that step of that state's run
        self._next_search: tuple[object, int] | None = None
        self._failures = 0  # search calls in a row (this run) that started no plan
        self._following: np.ndarray | None = None  # agents following the plan at this call
        self.repairs = 0
        self.plans = 0
        self.planned_steps = 0
        self.search_iterations = 0
        self.dropped = 0
        self.crowded = 0
        self.cut = 0

    def stalled(self, sim) -> np.ndarray:  # type: ignore[no-untyped-def]
        """As :meth:`PIBTShield.stalled`, less the robots following a plan at this call."""
        out = super().stalled(sim)
        if self._following is not None:
            out = out.copy()
            out[self._following] = False
        return out

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        t = getattr(sim, "t", None)
        if t is None or mask is None:
            return super().__call__(sim, actions, preferences, mask)
        mask = np.asarray(mask, dtype=bool)
        step = self._step_of_plan(sim, t, mask)
        if step is None:
            self._maybe_search(sim, t, mask)
            step = self._step_of_plan(sim, t, mask)
        if step is None:
            return super().__call__(sim, actions, preferences, mask)
        agents, moves, reserved = step
        mask = mask.copy()
        actions = np.array(actions, dtype=np.int64).reshape(-1).copy()
        keep = mask[agents, moves]
        mask[agents] = False
        mask[agents, 0] = True
        mask[agents, moves] = keep
        actions[agents] = moves
        others = np.ones(mask.shape[0], bool)
        others[agents] = False
        dest = sim.floor.nbr[np.asarray(sim.state.pos)[others]]
        mask[others] &= ~reserved[dest]
        mask[others, 0] = True
        self.planned_steps += 1
        self._following = agents
        try:
            return super().__call__(sim, actions, preferences, mask)
        finally:
            self._following = None

    def _step_of_plan(self, sim, t, mask):  # type: ignore[no-untyped-def]
        """``(agents, their moves, reserved nodes)`` for this step of the plan in force, or
        None (no plan, its end, or it stopped holding: then it is dropped)."""
        p = self._plan_in_force
        if p is None:
            return None
        s, t0, agents, plan = p
        k = t - t0
        if s is not sim.state or k < 0 or k + 1 >= plan.shape[0]:
            self._plan_in_force = None
            return None
        pos = np.asarray(sim.state.pos, dtype=np.int64)
        nbr = sim.floor.nbr
        here, there = plan[k], plan[k + 1]
        ok = np.array_equal(pos[agents], here) and mask[agents, 1:].any(axis=1).all()
        if ok:
            hit = nbr[here] == there[:, None]
            allowed = hit & mask[agents]
            ok = bool(allowed.any(axis=1).all())
        if ok:
            moves = allowed.argmax(axis=1)
            moves[there == here] = 0
            occupied = np.zeros(nbr.shape[0], bool)
            others = np.ones(pos.size, bool)
            others[agents] = False
            occupied[pos[others]] = True
            ok = not occupied[there].any()
        if not ok:
            self.dropped += 1
            self._plan_in_force = None
            return None
        reserved = np.zeros(nbr.shape[0], bool)
        reserved[plan[k + 1 :].ravel()] = True
        return agents, moves, reserved

    def _maybe_search(self, sim, t, mask) -> None:  # type: ignore[no-untyped-def]
        """Detect a jam and, if one is found, search a plan for its window (module docstring)."""
        if self.jam_steps <= 0:
            return
        s = sim.state
        nxt = self._next_search
        if nxt is not None and nxt[0] is s and t < nxt[1]:
            return
        if nxt is None or nxt[0] is not s:
            self._failures = 0  # a new run
        since = np.asarray(s.since_progress)
        target, _ = sim.target_slots()
        target = np.asarray(target, dtype=np.int64)
        free = mask[:, 1:].any(axis=1)
        jammed = (since >= self.jam_steps) & (target >= 0) & free
        if not jammed.any():
            return
        key = np.where(jammed, since, -1)
        seed = int(np.argmax(key))  # the most stalled, the lowest id among equals
        if self._search(sim, t, mask, seed, target):
            self._failures = 0
            wait = self.cooldown
        else:
            wait = self.cooldown << min(self._failures, self.max_backoff)
            self._failures += 1
        self._next_search = (s, int(t) + wait)

    def _search(self, sim, t, mask, seed, target) -> bool:  # type: ignore[no-untyped-def]
        """Search the windows around robot ``seed`` in turn; True when a plan was put in force."""
        from agents.lacam_search import lacam_search, seed_state  # lazy: agents imports us

        s = sim.state
        radius = self.radius
        size = -1
        for _ in range(self.widen + 1):
            win, agents = self._window(sim, seed, mask, radius)
            radius *= 2
            if agents.size < 2 or agents.size == size:
                return False  # nothing to plan, or no wider search would differ
            if agents.size > self.max_agents:
                self.crowded += 1
                return False  # too crowded to plan: PIBT keeps it
            size = agents.size
            inst = self._instance(sim, win, agents, mask, target)
            if inst is None:
                return False
            starts, goals, moves, outdeg, table = inst
            self.repairs += 1
            n = agents.size
            found, plan, expanded, *_ = lacam_search(
                starts, goals, sim.floor.nbr, moves, outdeg, np.zeros(n, np.bool_), table,
                np.arange(n, dtype=np.int64), self.node_budget, True, seed_state(int(t)), False,
            )  # fmt: skip
            self.search_iterations += int(expanded)
            if found and plan.shape[0] >= 2:
                self.plans += 1
                if plan.shape[0] > self.max_follow + 1:
                    self.cut += 1
                    plan = plan[: self.max_follow + 1]
                self._plan_in_force = (s, int(t), agents, plan)
                return True
        return False

    def _window(self, sim, seed, mask, radius):  # type: ignore[no-untyped-def]
        """``(win, agents)``: the window's nodes (bool over the floor's nodes) within
        ``radius`` moves of robot ``seed``, either way, less those of robots that may only
        WAIT, and the robots standing in it."""
        nbr = sim.floor.nbr
        pos = np.asarray(sim.state.pos, dtype=np.int64)
        win = np.zeros(nbr.shape[0], bool)
        win[pos[seed]] = True
        front = np.array([pos[seed]])
        for _ in range(radius):
            nxt = np.unique(nbr[front].ravel())
            nxt = nxt[~win[nxt]]
            if nxt.size == 0:
                break
            win[nxt] = True
            front = nxt
        free = mask[:, 1:].any(axis=1)
        win[pos[~free]] = False  # robots that may only WAIT: obstacles
        return win, np.flatnonzero(win[pos])

    def _instance(self, sim, win, agents, mask, target):  # type: ignore[no-untyped-def]
        """The local one-shot instance of window ``win`` and its ``agents``: ``(starts, goals,
        moves, outdeg, table)``, or None when there is nothing to plan."""
        floor = sim.floor
        nbr = floor.nbr
        n_nodes = nbr.shape[0]
        pos = np.asarray(sim.state.pos, dtype=np.int64)
        fmask, _ = self._moves(sim)
        moves = fmask & win[nbr]
        moves &= win[:, None]
        moves[:, 0] = True
        own = np.arange(n_nodes)[:, None]
        outdeg = (moves[:, 1:] & (nbr[:, 1:] != own)).sum(axis=1).astype(np.int64)
        nodes = np.flatnonzero(win)
        starts = pos[agents]
        # hop distances inside the window from each agent (forward) to every window node
        reach = _bfs_from(starts, nbr, moves, n_nodes)  # (k, n_nodes), UNREACHABLE elsewhere
        _, slot = sim.target_slots()
        slot = np.asarray(slot, dtype=np.int64)
        since = np.asarray(sim.state.since_progress)
        order = np.lexsort((agents, -since[agents]))
        taken = np.zeros(n_nodes, bool)
        goals = starts.copy()
        dtab = sim.dist.table
        for j in order:
            i = agents[j]
            r = reach[j, nodes]
            ok = (r < UNREACHABLE) & ~taken[nodes]
            if target[i] >= 0 and slot[i] >= 0:
                d = dtab[slot[i], nodes].astype(np.int64)
            else:
                d = np.zeros(nodes.size, np.int64)
            cand = np.lexsort((nodes, r, d))
            cand = cand[ok[cand]]
            if cand.size == 0:
                return None  # its own node went to another agent and nothing else is free
            g = nodes[cand[0]]
            goals[j] = g
            taken[g] = True
        if np.array_equal(goals, starts):
            return None
        table = _bfs_to(goals, nbr, moves, n_nodes)
        return starts, goals, moves, outdeg, table


def _bfs_from(starts: np.ndarray, nbr: np.ndarray, moves: np.ndarray, n_nodes: int) -> np.ndarray:
    """``(k, n_nodes)`` uint16: moves from each of ``starts`` to every node (``moves`` only)."""
    out = np.full((starts.size, n_nodes), UNREACHABLE, np.uint16)
    for k, s in enumerate(starts):
        out[k, s] = 0
        front = np.array([s])
        d = 0
        while front.size:
            d += 1
            nxt = nbr[front][moves[front]]
            nxt = np.unique(nxt[out[k, nxt] == UNREACHABLE])
            out[k, nxt] = d
            front = nxt
    return out


def _bfs_to(goals: np.ndarray, nbr: np.ndarray, moves: np.ndarray, n_nodes: int) -> np.ndarray:
    """``(k, n_nodes)`` uint16: moves from every node to each of ``goals`` (``moves`` only)."""
    src, act = np.nonzero(moves)
    dst = nbr[src, act]
    keep = dst != src
    src, dst = src[keep], dst[keep]
    out = np.full((goals.size, n_nodes), UNREACHABLE, np.uint16)
    for k, g in enumerate(goals):
        out[k, g] = 0
        front = np.zeros(n_nodes, bool)
        front[g] = True
        d = 0
        while front.any():
            d += 1
            step = front[dst] & (out[k, src] == UNREACHABLE)
            nxt = np.zeros(n_nodes, bool)
            nxt[src[step]] = True
            out[k, nxt] = d
            front = nxt
    return out
