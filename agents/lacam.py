"""The ``lacam`` navigator: a complete one-shot MAPF planner (LaCAM with LaCAM*'s PIBT and
swap as its configuration generator; the search is :mod:`agents.lacam_search`).

It runs only in one-shot MAPF runs (``tasks.assignment: one_shot``: each robot one goal,
``sim.one_shot_goals``); elsewhere it is refused before a run starts
(:func:`warehouse.policies.build_policy`) and its :meth:`~LaCAMNavigator.act` raises the same
one-line :class:`~warehouse.errors.InputError`.

* **Plan.** At its first :meth:`~LaCAMNavigator.act` of an episode it searches a plan from the
  robots' nodes to their goals: a sequence of configurations (every robot's node), each one
  step from the last, without vertex or swap conflicts, under the moves the move rule allows
  now (``sim.move_mask``: one-way aisles, closed edges and closed cells). Robots the action
  mask holds to WAIT (broken down) are fixed obstacles of that plan. Distances to each goal
  are the simulation's (:class:`~warehouse.floor.DistanceCache` rows, computed on the reversed
  graph, so directed edges count).
* **Follow.** Each step it returns the actions that move every robot to its node of the next
  configuration; after the last one the robots wait on their goals.
* **Replan.** When the robots are not where the plan expected them (a shield moved one, a
  fault stopped one) or the mask forbids a planned move, it searches again from where they are.
* **Refine.** With ``refine`` (off by default) every search, replans too, spends its whole
  budget after its first solution on LaCAM*'s anytime refinement
  (:mod:`agents.lacam_search`) and the fleet follows the cheapest plan found (least sum of
  loss); :attr:`~LaCAMNavigator.stats` gives the first solution's and the plan's costs.
* **Budget.** The search stops after ``node_budget`` iterations (a count, never a clock: runs
  are bit-reproducible). Without a plan the fleet takes the configuration generator's one-step
  successor (a PIBT step with the swap, LaCAM's priorities: a robot off its goal gains one a
  step), and the navigator searches again after 2, 4, 8, ... steps (doubling after each failed
  search, at most :data:`RETRY_MAX`); a search that succeeds starts the count again. A change
  of the floor the distances route on (a scheduled closure that starts or lifts) ends the
  wait: the next step searches, once per change (random closures, which leave the distances
  alone, do not).
* **Unsolvable now.** A search due on an instance that plainly has no plan (a robot off its
  goal held to WAIT, or standing where a held robot blocks its goal for good, a goal no
  allowed move enters, or a robot whose node does not reach its goal on the floor as it is:
  a one-way floor, a closure cutting it off) is not run: the fleet takes the generator's
  step, ``stats["unsolvable"]`` counts it, and the check runs again at the next step.

Randomness: the generator breaks ties between equally short moves by a stream of the
navigator's own (:func:`~agents.lacam_search.seed_state`), seeded by ``reset(seed)`` (``Fleet``
passes the episode's seed) and never the simulation's streams: the same seed gives the same
plans and actions. :attr:`LaCAMNavigator.stats` says what happened in the episode.

Run it under the ``block`` or ``physical`` collision mode (``block`` is the default): a plan
has no conflicts, so neither changes it. The PIBT shields' stall rescue replaces the moves of a
robot that has not come closer to its goal for ``stall_steps`` steps, which a plan that parks a
robot to let others pass often does: each such step costs a replan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warehouse.core import Simulation
from warehouse.errors import InputError

from .lacam_search import lacam_search, pibt_step, seed_state

#: the longest wait, in steps, between two searches after failed ones
RETRY_MAX = 64
#: the default ``node_budget``: search iterations (one successor generated each)
NODE_BUDGET = 20_000


def one_shot_refusal(name: str, assignment: str) -> str:
    """The message that refuses the one-shot navigator ``name`` under ``assignment``."""
    return (
        f"the navigator {name!r} plans one-shot MAPF instances only (tasks.assignment: "
        f"one_shot), got {assignment!r}"
    )


class LaCAMNavigator:
    """LaCAM planner for one-shot MAPF runs (see module docstring)."""

    name = "lacam"
    needs_observation = False
    #: :func:`warehouse.policies.build_policy` refuses it outside one-shot runs
    one_shot_only = True

    def __init__(
        self, *, node_budget: int = NODE_BUDGET, swap: bool = True, refine: bool = False
    ) -> None:
        if isinstance(node_budget, bool) or not isinstance(node_budget, int | np.integer):
            raise ValueError(f"node_budget: expected a whole number ≥ 1, got {node_budget!r}")
        if node_budget < 1:
            raise ValueError(f"node_budget: expected a whole number ≥ 1, got {node_budget!r}")
        self.node_budget = int(node_budget)
        self.swap = bool(swap)
        if not isinstance(refine, bool | np.bool_):
            raise ValueError(f"refine: expected true or false, got {refine!r}")
        self.refine = bool(refine)
        self.reset(None)

    def reset(self, seed: int | None) -> None:
        """Forget the plan and the statistics, and seed the tie-break stream from ``seed``
        (``None``: seed 0)."""
        self._rng = seed_state(seed)  # the generator's tie-breaks: this navigator's own
        self._plan: np.ndarray | None = None
        self._t0 = 0  # the clock at the plan's first configuration
        self._goals: np.ndarray | None = None
        self._prio: np.ndarray | None = None  # the fallback's PIBT priorities
        self._next_search = 0  # the clock from which a search may run again
        self._failed = 0  # searches in a row that found no plan
        self._floor_key: tuple[int, int] | None = None  # the floor the back-off waits on
        #: what happened this episode: ``searches`` run, ``expanded`` (iterations, all
        #: searches), ``explored`` (configurations, all searches), ``solved`` (searches that
        #: found a plan), ``replans`` (searches after the first), ``fallback_steps`` (steps
        #: taken by the generator without a plan), ``unsolvable`` (searches due but not run:
        #: the instance was plainly unsolvable then, :func:`_plainly_unsolvable`; the check
        #: runs again at the next step), ``plan_length`` (steps of the last plan
        #: found, -1 before one), ``found`` (whether the last search found one); of the last
        #: search that found a plan: ``first_iterations`` (its iterations until its first
        #: solution; the rest refined it), ``first_cost`` and ``cost`` (the sum of loss, the
        #: refinement's objective, of its first solution and of its plan), ``first_sum_of_costs``
        #: and ``sum_of_costs`` (their sums of costs as :func:`warehouse.kpis.sum_of_costs`
        #: counts them: each robot's last arrival), ``first_plan_length`` (the first
        #: solution's steps); without ``refine`` the first solution is the plan; -1 before one
        self.stats: dict[str, Any] = {
            "searches": 0,
            "expanded": 0,
            "explored": 0,
            "solved": 0,
            "replans": 0,
            "fallback_steps": 0,
            "unsolvable": 0,
            "plan_length": -1,
            "found": False,
            "first_iterations": -1,
            "first_plan_length": -1,
            "first_cost": -1,
            "cost": -1,
            "first_sum_of_costs": -1,
            "sum_of_costs": -1,
        }
        #: the plan the fleet follows: ``[(clock, (T + 1, N) configurations)]``, empty before
        #: one is found. Earlier plans are dropped: a run that replans often (under a PIBT
        #: shield, breakdowns, closures) would hold hundreds of them.
        self.plans: list[tuple[int, np.ndarray]] = []

    # ------------------------------------------------------------------ the step
    def act(
        self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        goals = sim.one_shot_goals
        if goals is None:
            raise InputError(
                None, "tasks.assignment", one_shot_refusal(self.name, sim.config.tasks.assignment)
            )
        f = sim.floor
        pos = sim.state.pos.astype(np.int64)
        goals = np.asarray(goals, dtype=np.int64)
        mask = np.asarray(mask, dtype=bool)
        table, slot = _distances(sim, goals)
        if self._goals is None or not np.array_equal(self._goals, goals):
            self._goals = goals.copy()
            self._plan = None
            self._prio = table[slot, pos] / max(pos.size, 1)
        else:
            self._advance_priorities(pos, goals)
        self._notice_floor_change(sim)
        nxt = self._planned(sim.t, pos, goals)
        actions = None if nxt is None else _actions_to(f.nbr, pos, nxt, mask)
        if actions is None and not np.array_equal(pos, goals):
            inputs = _move_inputs(sim, mask)
            if sim.t >= self._next_search:
                if _plainly_unsolvable(sim, pos, goals, inputs[0], inputs[2]):
                    self.stats["unsolvable"] += 1  # no search: it could only fail
                else:
                    nxt = self._search(sim, pos, goals, table, slot, inputs)
                    actions = None if nxt is None else _actions_to(f.nbr, pos, nxt, mask)
            if actions is None:  # no plan: one step of the configuration generator
                actions = self._fallback(sim, pos, goals, mask, table, slot, inputs)
        if actions is None:
            actions = np.zeros(pos.size, dtype=np.int64)
        return actions, _preferences(f.nbr, pos, table, slot, actions, mask)

    def _notice_floor_change(self, sim: Simulation) -> None:
        """A change of the floor the distances route on (a scheduled closure that starts or
        lifts, :attr:`~warehouse.floor.DistanceCache.rebuilds`) ends the wait after failed
        searches: the next search runs now, once per change (a failed one doubles the wait
        as before)."""
        key = (id(sim.dist), int(sim.dist.rebuilds))
        if self._floor_key is not None and key != self._floor_key:
            self._next_search = min(self._next_search, int(sim.t))
        self._floor_key = key

    def _planned(self, t: int, pos: np.ndarray, goals: np.ndarray) -> np.ndarray | None:
        """The plan's next configuration when the robots stand where it expects them now
        (its last one, the goals, once it has ended); None when there is no plan or they do
        not."""
        plan = self._plan
        if plan is None:
            return None
        k = t - self._t0
        if k < 0:
            return None
        k = min(k, plan.shape[0] - 1)
        if not np.array_equal(plan[k], pos):
            return None
        return plan[min(k + 1, plan.shape[0] - 1)]

    def _search(
        self,
        sim: Simulation,
        pos: np.ndarray,
        goals: np.ndarray,
        table: np.ndarray,
        slot: np.ndarray,
        inputs: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray | None:
        """Search a plan from ``pos`` (``table``, ``slot``: :func:`_distances`; ``inputs``:
        :func:`_move_inputs`); its first step, or None (then the next search waits)."""
        f = sim.floor
        moves, outdeg, frozen = inputs
        found, plan, expanded, explored, first, first_expanded, _ = lacam_search(
            pos, goals, f.nbr, moves, outdeg, frozen, table, slot, self.node_budget, self.swap,
            self._rng, self.refine,
        )  # fmt: skip
        st = self.stats
        st["replans"] += st["searches"] > 0
        st["searches"] += 1
        st["expanded"] += int(expanded)
        st["explored"] += int(explored)
        st["found"] = bool(found)
        if not found:
            self._plan = None
            self._failed += 1
            self._next_search = sim.t + min(2**self._failed, RETRY_MAX)
            return None
        st["solved"] += 1
        st["plan_length"] = int(plan.shape[0] - 1)
        st["first_iterations"] = int(first_expanded)
        st["first_plan_length"] = int(first.shape[0] - 1)
        st["first_cost"], st["first_sum_of_costs"] = plan_costs(first, goals)
        st["cost"], st["sum_of_costs"] = plan_costs(plan, goals)
        self._failed = 0
        self._next_search = 0
        self._plan, self._t0 = plan, int(sim.t)
        self.plans = [(int(sim.t), plan)]
        return plan[min(1, plan.shape[0] - 1)]

    def _fallback(
        self,
        sim: Simulation,
        pos: np.ndarray,
        goals: np.ndarray,
        mask: np.ndarray,
        table: np.ndarray,
        slot: np.ndarray,
        inputs: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray | None:
        """The configuration generator's successor of ``pos`` (PIBT with the swap, the
        fallback's priorities; ``inputs``: :func:`_move_inputs`), as actions; None when it has
        none (everyone waits)."""
        f = sim.floor
        moves, outdeg, frozen = inputs
        assert self._prio is not None
        order = np.argsort(-self._prio, kind="stable").astype(np.int32)
        ok, nxt = pibt_step(
            pos, order, goals, f.nbr, moves, outdeg, frozen, table, slot, self.swap, self._rng
        )
        self.stats["fallback_steps"] += 1
        return _actions_to(f.nbr, pos, nxt, mask) if ok else None

    def _advance_priorities(self, pos: np.ndarray, goals: np.ndarray) -> None:
        """LaCAM's priorities, one step on: +1 off the goal, the fraction alone on it."""
        prio = self._prio
        assert prio is not None
        self._prio = np.where(pos != goals, prio + 1.0, prio - np.floor(prio))


def _distances(sim: Simulation, goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The simulation's distance rows, read in place (never copied: a copy of a row per robot
    was robots × nodes uint16, 155 MB at 2,000 robots on warehouse-20-40-10-2-1):
    ``(table, slot)``, row ``slot[i]`` of ``table`` the steps from every node to robot ``i``'s
    goal (:class:`~warehouse.floor.DistanceCache`, computed on the reversed graph, so directed
    edges count). Asked for at every step: a row the cache evicted since (least recently used
    first) is computed again, the same, and the cache holds a row for every robot at once."""
    slot = sim.dist.slots(goals).astype(np.int64)
    return sim.dist.table, slot


def plan_costs(plan: np.ndarray, goals: np.ndarray) -> tuple[int, int]:
    """``(sum of loss, sum of costs)`` of ``plan`` ((T + 1, N) configurations ending on
    ``goals``): the robots not staying on their goals, summed over the steps (LaCAM*'s
    objective, the refinement's), and each robot's last arrival on its goal, summed (as
    :func:`warehouse.kpis.sum_of_costs` counts a run that follows the plan from its start).
    They differ by the steps robots wait on their goals before leaving them again."""
    on = plan == goals[None, :]
    loss = int((~(on[:-1] & on[1:])).sum())
    off = ~on
    last = np.where(off.any(axis=0), plan.shape[0] - np.argmax(off[::-1], axis=0), 0)
    return loss, int(last.sum())


def _move_inputs(sim: Simulation, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the search and its generator read of the move rules now: ``moves`` (n_nodes, A),
    the moves allowed out of each node (WAIT always); ``outdeg`` (n_nodes,), their count to
    other nodes; ``frozen`` (N,), the robots the action mask holds to WAIT."""
    f = sim.floor
    moves = sim.move_mask(np.arange(f.n_nodes))
    moves[:, 0] = True
    own = np.arange(f.n_nodes)[:, None]
    outdeg = np.asarray((moves[:, 1:] & (f.nbr[:, 1:] != own)).sum(axis=1), dtype=np.int64)
    frozen = np.logical_not(mask[:, 1:].any(axis=1))
    return moves, outdeg, frozen


def _plainly_unsolvable(
    sim: Simulation,
    pos: np.ndarray,
    goals: np.ndarray,
    moves: np.ndarray,
    frozen: np.ndarray,
) -> bool:
    """Whether no plan can exist from ``pos`` under the moves allowed now (``moves``,
    ``frozen``: :func:`_move_inputs`), by a look at the distance rows and the moves, without a
    search: a robot off its goal that may only wait, or whose goal a robot that may only wait
    stands on, or that no allowed move enters, or that its node does not reach around the
    closures (:meth:`~warehouse.floor.DistanceCache.reaches`; ``UNREACHABLE``: not at all, as
    on a one-way floor). Each is a configuration the search can never reach (its
    robots that may only wait stay where they are); an instance it might solve is never
    called unsolvable."""
    off = pos != goals
    if (off & frozen).any():
        return True
    held = np.zeros(moves.shape[0], dtype=bool)
    held[pos[frozen]] = True
    if (off & held[goals]).any():
        return True
    nbr = sim.floor.nbr
    own = np.arange(moves.shape[0])[:, None]
    entered = np.zeros(moves.shape[0], dtype=bool)
    entered[nbr[moves & (nbr != own)]] = True
    if (off & ~entered[goals]).any():
        return True
    return not bool(sim.dist.reaches(goals[off], pos[off]).all())


def _actions_to(
    nbr: np.ndarray, pos: np.ndarray, nxt: np.ndarray, mask: np.ndarray
) -> np.ndarray | None:
    """The action taking each robot from ``pos`` to ``nxt`` (WAIT to stay), or None when one
    of them is not an allowed move."""
    hits = (nbr[pos] == nxt[:, None]) & mask
    hits[:, 0] = nxt == pos
    if not hits.any(axis=1).all():
        return None
    return hits.argmax(axis=1).astype(np.int64)


def _preferences(
    nbr: np.ndarray,
    pos: np.ndarray,
    table: np.ndarray,
    slot: np.ndarray,
    actions: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """``(N, A)`` scores: the chosen action first (1), the others by minus the distance of
    their node to the robot's goal (row ``slot[i]`` of ``table``), ``-inf`` where masked (for
    shields that rank moves)."""
    rows = slot[:, None]
    scores = -table[rows, nbr[pos]].astype(np.float32)
    scores[np.arange(pos.size), actions] = 1.0
    return np.where(mask, scores, -np.inf).astype(np.float32)


def lacam_navigator(
    *, node_budget: int = NODE_BUDGET, refine: bool = False, **_: object
) -> LaCAMNavigator:
    """The ``lacam`` navigator; ``node_budget`` (``policies.navigator_args``) is the search's
    iteration limit, ``refine`` spends all of it (LaCAM*'s anytime refinement of the sum of
    loss after the first solution). Other keywords (a caller's ``device=``) are ignored."""
    return LaCAMNavigator(node_budget=node_budget, refine=refine)
