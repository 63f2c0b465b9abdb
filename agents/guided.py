"""The ``guided`` navigator: traffic-flow guide paths for lifelong MAPF at high density.

At high density every robot of the rule-based fleet takes the same shortest aisles and traffic
jams there. Guidance (Chen, Harabor, Li and Stuckey, "Traffic Flow Optimisation for Lifelong
Multi-Agent Path Finding", AAAI 2024) spreads it out:

* **Guide paths.** Each robot gets a *guide path* to its target from a spatial A* (no time
  dimension) whose edge costs grow with the traffic the other robots' guide paths put on the
  floor: vertex congestion (paths through the node) and, above all, contraflow (paths over the
  same edge the other way). A path is planned when the robot's target changes, when it stands
  two or more moves from its path (a shield pushed it aside; it rejoins it nearby when it can),
  when it stands off its path after a PIBT shield's stall rescue moved it (the rescue moves a
  robot that has not come closer to its target for ``stall_steps`` steps by the plain shortest
  distance; pulled back onto its old path it would stall again), for the whole fleet when the
  floor's distances change (a scheduled closure opens or closes: ``sim.dist.rebuilds``), and
  for a robot whose search found no path (it stood deep inside closed cells, say) once it stands
  on another node. The
  flow is kept incrementally: a robot's old path's flow is taken out before it plans, its new
  path's added after, and the edges it has passed are taken out as it goes. The searches run in
  robot id order; at the first step the whole fleet plans, each search seeing the paths of the
  lower ids.
* **Guide heuristic.** Each robot proposes its path's next move and ranks every action by the
  steps to go along its path from the nearest path node (``-inf`` for masked actions), so a PIBT
  shield (``--collisions pibt`` / ``pibt_swap``) ranks the alternatives of conflicting robots by
  the guide, not by the plain shortest distance.
* **Stall rescue that follows the guide** (``guide_rescue``, on by default). A PIBT shield's
  stall rescue moves a robot that has not come closer to its target by the plain distance for
  ``stall_steps`` steps, so it pulls a robot on a long guide detour off its guide. With
  ``guide_rescue`` the navigator hands the shield its own stall test each step
  (:meth:`~warehouse.shield.pibt.PIBTShield.stall_hint`): a robot with a guide path is stalled
  only when it has not come closer along its path either (fewer steps to go than ever on that
  path) for ``stall_steps`` steps; the shield still rescues one that has not come closer by
  the plain distance for ``BACKSTOP × stall_steps`` steps (liveness backstop). A new path (new
  target, or searched after a rescue) starts its count afresh; a robot that rejoined its path
  nearby keeps it. On kiva and LoRR ``warehouse_large`` it delivers more, with fewer searches
  and rescues, than the plain rescue (docs/results_guidance.md, *Stall rescue that follows the
  guide*).

Robots without a target, busy or at their target wait (their best score is WAIT), as with
:class:`~agents.rule_based.RuleBasedNavigator`; a one-shot robot on its goal holds it. A robot
whose goal its search cannot reach (closures) ranks moves by the plain distance
(:func:`~agents.rule_based.distance_preferences`' scores).

The navigator proposes moves that may conflict; run it under a PIBT shield. Under the default
``block`` collision mode conflicting moves just wait: head-on pairs in one-lane aisles wait
until ``physics.stuck_after`` (docs/results_guidance.md); ``run``, ``sweep`` and ``view`` warn
under ``block`` and ``physical`` (:attr:`GuidedNavigator.needs_pibt`).

Settings (``policies.navigator_args.guided``): ``vertex_weight`` (default 0.1) and
``contraflow_weight`` (default 1.0), the weights of the two congestion costs (0 and 0: plain
shortest guide paths); ``suboptimality`` (default 1.0, at least 1), the weight ``w`` of the
search's heuristic: 1 searches least-cost guide paths, more runs weighted A* (a guide path at
most ``w`` times the least cost, searched faster; docs/results_guidance.md measures it);
``guide_rescue`` (default true; false: the plain rescue of the sessions before the
forty-first), the PIBT shields' stall rescue follows the guide
(:meth:`GuidedNavigator.stalled`). The navigator draws no random numbers; the same run gives
the same paths and moves, bit for bit.
The compiled kernels are :mod:`agents.guided_paths`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warehouse.core import Simulation

from .guided_paths import (
    NEED_NONE,
    NEED_OFF,
    NEED_TARGET,
    compact,
    guide_scores,
    plan_paths,
    reverse_moves,
    search_scratch,
    successors,
    track,
)

#: default weight of vertex congestion (per guide path through the node)
VERTEX_WEIGHT = 0.1
#: steps without progress after which a robot off its path searches a new one, when the
#: collision mode has no stall rescue of its own (:class:`~warehouse.shield.pibt.PIBTShield`'s
#: default ``stall_steps``)
STALL_STEPS = 16
#: default weight of contraflow ((paths this way + 1) × paths the other way)
CONTRAFLOW_WEIGHT = 1.0
#: default weight of the guide-path search's heuristic: 1 is an exact least-cost search
SUBOPTIMALITY = 1.0


def _weight(name: str, value: Any, least: float = 0.0) -> float:
    """``value`` as a finite number ≥ ``least``, else the one-line ``ValueError`` naming
    ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name}: expected a number ≥ {least:g}, got {value!r}")
    if not np.isfinite(value) or value < least:
        raise ValueError(f"{name}: expected a number ≥ {least:g}, got {value!r}")
    return float(value)


class GuidedNavigator:
    """Traffic-flow guided navigator (see module docstring)."""

    name = "guided"
    needs_observation = False
    #: it proposes moves that may conflict and leaves them to a PIBT shield: ``run``, ``sweep``
    #: and ``view`` warn under ``block`` and ``physical`` (:func:`warehouse.policies.pibt_note`)
    needs_pibt = True
    #: the path pool's first size: this many entries a robot, at least :attr:`POOL_MIN` (it
    #: grows when full)
    POOL_PER_ROBOT = 64
    POOL_MIN = 1024

    def __init__(
        self,
        *,
        vertex_weight: float = VERTEX_WEIGHT,
        contraflow_weight: float = CONTRAFLOW_WEIGHT,
        suboptimality: float = SUBOPTIMALITY,
        guide_rescue: bool = True,
    ) -> None:
        self.vertex_weight = _weight("vertex_weight", vertex_weight)
        self.contraflow_weight = _weight("contraflow_weight", contraflow_weight)
        self.suboptimality = _weight("suboptimality", suboptimality, least=1.0)
        if not isinstance(guide_rescue, bool | np.bool_):
            raise ValueError(f"guide_rescue: expected true or false, got {guide_rescue!r}")
        self.guide_rescue = bool(guide_rescue)
        self.reset(None)

    def reset(self, seed: int | None) -> None:
        """Forget every guide path and its flow (the navigator draws no random numbers: ``seed``
        changes nothing)."""
        #: what the arrays were built for: the floor and distance cache themselves (compared by
        #: identity: an ``id()`` can be reused once an object is freed), the fleet size and the
        #: distance cache's ``rebuilds``
        self._key: tuple[Any, ...] | None = None
        #: what happened this episode: ``searches`` (guide paths searched: for new targets,
        #: after stall rescues, for robots that could not rejoin), ``off_path`` (times a robot
        #: stood two or more moves off its path), ``rejoined`` (of them, those that rejoined
        #: it nearby instead of a search), ``refreshes`` (whole-fleet replans after the floor's
        #: distances changed), ``unreachable`` (searches that found no path)
        self.stats: dict[str, int] = {
            "searches": 0,
            "off_path": 0,
            "rejoined": 0,
            "refreshes": 0,
            "unreachable": 0,
        }

    # ------------------------------------------------------------------ state
    def _setup(self, sim: Simulation) -> None:
        """(Re)build the per-floor and per-robot arrays: no robot has a guide path."""
        f = sim.floor
        n, n_nodes, n_act = sim.n_robots, f.n_nodes, f.n_actions
        self.g_target = np.full(n, -1, dtype=np.int32)
        self.g_start = np.zeros(n, dtype=np.int64)
        self.g_len = np.zeros(n, dtype=np.int64)
        self.g_k = np.zeros(n, dtype=np.int64)
        self.g_from = np.zeros(n, dtype=np.int64)
        #: per robot: the node its last search failed from (-1: none), :func:`track`
        self.g_fail = np.full(n, -1, dtype=np.int64)
        #: per robot: the fewest steps to go along its path it has stood at, and the step it
        #: last got fewer (:func:`track`; the guide's stall test, :meth:`stalled`)
        self.g_best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.g_tbest = np.zeros(n, dtype=np.int64)
        self.flow = np.zeros((n_nodes, n_act), dtype=np.int32)
        self.vflow = np.zeros(n_nodes, dtype=np.int32)
        cap = max(self.POOL_MIN, self.POOL_PER_ROBOT * n)
        self.pool_nodes = np.empty(cap, dtype=np.int32)
        self.pool_acts = np.empty(cap, dtype=np.int8)
        self.pool_used = np.zeros(1, dtype=np.int64)
        self._need = np.zeros(n, dtype=np.int8)
        mopen = np.ascontiguousarray(sim.dist.mask)
        self._rev = reverse_moves(f.nbr, mopen)
        self._succ = successors(f.nbr, mopen, sim.dist.closed)
        self._scratch = search_scratch(n_nodes, n_act)
        self._out_nodes = np.empty(n_nodes, dtype=np.int32)
        self._out_acts = np.empty(n_nodes, dtype=np.int8)

    def _grow_pool(self, extra: int) -> None:
        """Compact the live paths into a pool with room for ``extra`` more entries."""
        live = int(self.g_len[self.g_len > 0].sum())
        cap = max(2 * (live + extra), self.pool_nodes.size)
        nodes = np.empty(cap, dtype=np.int32)
        acts = np.empty(cap, dtype=np.int8)
        self.pool_used[0] = compact(
            self.g_start, self.g_len, self.pool_nodes, self.pool_acts, nodes, acts
        )
        self.pool_nodes, self.pool_acts = nodes, acts

    def flow_of(self, robot: int) -> list[tuple[int, int]]:
        """The moves ``(node, action)`` whose flow robot ``robot``'s guide path still counts."""
        s, length, first = int(self.g_start[robot]), int(self.g_len[robot]), int(self.g_from[robot])
        if length <= 0:
            return []
        return [
            (int(self.pool_nodes[s + j]), int(self.pool_acts[s + j]))
            for j in range(first, length - 1)
        ]

    def path(self, robot: int) -> np.ndarray:
        """Robot ``robot``'s guide path (node ids, where it was planned from first, its target
        last); empty without one."""
        s, length = int(self.g_start[robot]), int(self.g_len[robot])
        return self.pool_nodes[s : s + max(length, 0)].copy()

    def stalled(self, t: int, stall: int) -> np.ndarray:
        """(N,) bool, the guide's stall test at step ``t`` (the hint ``guide_rescue`` hands a
        PIBT shield): a robot with a guide path is stalled when it has got no fewer steps to go
        along it for ``stall`` steps; one without a path (none needed, or its search failed)
        is left to the plain test."""
        return (self.g_len <= 0) | (t - self.g_tbest >= stall)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ the step
    def act(
        self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        f, s, dist = sim.floor, sim.state, sim.dist
        old = self._key
        if old is None or old[0] is not f or old[1] is not dist or old[2] != sim.n_robots:
            self._setup(sim)
        elif old[3] != dist.rebuilds:  # the floor's distances changed: plan all again
            self._setup(sim)
            self.stats["refreshes"] += 1
        self._key = (f, dist, sim.n_robots, dist.rebuilds)
        target, slot = sim.target_slots()
        # a PIBT shield's stall rescue moves robots stalled this long (its default without one)
        stall = int(getattr(sim.shield, "stall_steps", STALL_STEPS))
        hint = getattr(sim.shield, "stall_hint", None) if self.guide_rescue else None
        backstop = int(getattr(sim.shield, "BACKSTOP", 1)) * max(stall, 1)
        t = int(getattr(sim, "t", 0))
        mopen = np.ascontiguousarray(dist.mask)
        count = track(
            s.pos, target, self.g_target, self.g_start, self.g_len, self.g_k, self.g_from,
            self.g_fail, self.pool_nodes, self.pool_acts, self.flow, self.vflow, f.nbr, mopen,
            self._need, s.since_progress, stall, self.g_best, self.g_tbest, t, hint is not None,
            backstop,
        )  # fmt: skip
        if count:
            order = np.flatnonzero(self._need != NEED_NONE)
            fresh = order[self._need[order] == NEED_TARGET]  # new paths: their count starts
            counts = np.zeros(3, dtype=np.int64)
            off = int(np.count_nonzero(self._need[order] == NEED_OFF))
            first = 0
            while first < order.size:
                first = plan_paths(
                    order, first, self._need, s.pos, slot, dist.table, dist.far, self.g_start,
                    self.g_len, self.g_k, self.g_from, self.pool_nodes, self.pool_acts,
                    self.pool_used, self.g_target, self.g_fail, self.flow, self.vflow, f.nbr,
                    mopen, dist.closed, self._succ, self._rev, self.vertex_weight,
                    self.contraflow_weight, self.suboptimality, self._scratch, self._out_nodes,
                    self._out_acts, counts,
                )  # fmt: skip
                if first < order.size:
                    self._grow_pool(f.n_nodes)
            st = self.stats
            st["off_path"] += off
            st["rejoined"] += int(counts[0])
            st["searches"] += int(counts[1])
            st["unreachable"] += int(counts[2])
            self.g_best[fresh] = np.where(self.g_len[fresh] > 0, self.g_len[fresh] - 1, 0)
            self.g_tbest[fresh] = t
        if hint is not None:
            hint(sim, self.stalled(t, stall))
        actions = np.empty(s.n, dtype=np.int64)
        prefs = np.empty((s.n, f.n_actions), dtype=np.float32)
        guide_scores(
            s.pos, target, slot, dist.table, self.g_start, self.g_len, self.g_k,
            self.pool_nodes, f.nbr, mopen, np.ascontiguousarray(mask, dtype=bool), actions, prefs,
        )  # fmt: skip
        return actions, prefs


def guided_navigator(
    *,
    vertex_weight: float = VERTEX_WEIGHT,
    contraflow_weight: float = CONTRAFLOW_WEIGHT,
    suboptimality: float = SUBOPTIMALITY,
    guide_rescue: bool = True,
    **_: object,
) -> GuidedNavigator:
    """The ``guided`` navigator; ``vertex_weight`` and ``contraflow_weight``
    (``policies.navigator_args``) weigh vertex congestion and contraflow in the guide paths'
    costs, ``suboptimality`` (≥ 1) the search's heuristic (1: exact least-cost guide paths),
    ``guide_rescue`` (default true) lets a PIBT shield's stall rescue follow the guide. Other
    keywords (a caller's ``device=``) are ignored."""
    return GuidedNavigator(
        vertex_weight=vertex_weight,
        contraflow_weight=contraflow_weight,
        suboptimality=suboptimality,
        guide_rescue=guide_rescue,
    )
