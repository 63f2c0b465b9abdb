"""PettingZoo ParallelEnv over the simulation core: one agent per robot.

=============  ===================================================================================
agents         ``robot_0 … robot_{N-1}``; all act every step. Lifelong: nobody terminates; every
               agent is truncated after ``episode.steps`` steps (then ``agents`` is empty).
               A one-shot MAPF instance with ``episode.stop_when_solved`` terminates every
               agent at the first step after which every robot stands on its goal
               (:meth:`Simulation.solved <warehouse.core.Simulation.solved>`; truncated too if
               that is step ``episode.steps``); ``agents`` is empty then, and a ``step`` after
               the episode ended (either way) is an error: ``reset`` starts the next one.
actions        ``Discrete(A)``. Grid floors: ``A = 5``, 0 wait, 1 north, 2 east, 3 south, 4 west.
               Other floors: 0 wait, ``1..A-1`` the neighbour slots of
               :mod:`warehouse.floor.compiled`. A masked or out-of-range action is refused (the
               robot waits); the scenario's collision mode (``physical``, ``block``, ``pibt``)
               then applies (:mod:`warehouse.core.physics`): ``policies.shield`` when the
               scenario names one, else ``physics.collisions``, as for ``warehouse run``. An
               action is one integer (an int, a numpy or torch scalar, a one-element array);
               ``2.7`` or ``[1, 2]`` is an error.
               ``step`` takes a dict of agent -> action; an agent left out of the dict waits (0),
               an unknown agent is an error.
observation    ``{"observation": Box(-1, 1, (4·(2r+1)² + 12,), float32),
               "action_mask": Box(0, 1, (A,), int8)}``, ``r`` = ``observation.radius``; with
               ``observation.intent``, ``(10·(2r+1)² + 12,)`` (:mod:`warehouse.core.observe`).
               The observation is a fresh array every step; the action mask is a read-only
               array (one of a few cached ones, one per mask pattern, up to 16 actions). Layout
               below; :mod:`warehouse.core.observe` is the reference.
reward         per robot, the scenario's ``reward`` section; default −1 per metre travelled,
               +100 per delivered order (goal_visit: per goal reached), −50 on a step the
               robot's own move fails in a collision (``collided``; a robot standing still that
               another runs into is not charged), + ``per_step`` (default 0), + ``progress``
               (default 0) per shortest-path step closer to the robot's target (shaping for
               learners trained from scratch).
infos          per robot, flat: ``cost`` (safety cost, 1.0 on a step the collision reward
               charges the robot) and the fleet's counters of the step: ``incidents`` (collision
               incidents), ``new_orders`` (orders that arrived) and ``step`` (the step count).
               Each agent has a dict of its own (wrappers may add keys per agent). The per-robot
               arrays of the step (``moved_m``, ``delivered``, ``collided``, ``intervened``: the
               shield changed the action, ``refused``: the action was masked or out of range,
               ...) are in ``env.last_result``
               (:class:`~warehouse.core.StepResult`); kept out of the dicts for speed. The
               step that ends the episode adds ``metrics`` to every agent's dict (a copy
               each): in a one-shot run (solved or truncated) :meth:`episode_metrics`, in a
               lifelong one (truncated) :meth:`lifelong_metrics`.
state()        the occupancy grid ``(H, W)`` float32: 1 robot, 2 robot carrying an order
               (``state_space``). With ``state="channels"``, ``(5, H, W)`` float32 for a
               centralized critic: robots; robots carrying an order; how many robots head for
               the cell (their current target); open orders waiting at the cell's shelf; cells a
               robot cannot enter now (no node, or closed). ``observation_spaces`` and
               ``action_spaces`` map every agent to its space.
reset()        ``seed``: a non-negative integer, or ``None`` (continue the last seed's stream);
               ``options`` is accepted (PettingZoo's API) and read by nothing.
render()       ``render_mode`` ``"rgb_array"`` (a frame) or ``"human"`` (a window, drawn on every
               reset and step): needs pygame-ce (the ``render`` extra), checked when the env is
               made. Rendering draws nothing from the simulation's RNG
               (:mod:`visualize.env_render`).
=============  ===================================================================================

Observation vector, in order (``K = (2r+1)²`` window cells, row-major, north up, me centre):

============  ====================================================================================
``[0, K)``    obstacle: 1 where no traversable node is (shelf, wall, outside) or the cell is closed
``[K, 2K)``   another robot stands there (my own cell is 0)
``[2K, 3K)``  that robot carries an order
``[3K, 4K)``  cost-to-go: (steps from the cell to my target − steps from my cell) / 2r, clipped to
              [-1, 1]; 1 for obstacles and cells with no path; all 0 when I have no target
``4K + 0, 1`` target row / column offset ÷ max(H, W), clipped (0 without target)
``4K + 2``    steps to target ÷ (H + W), clipped to 1 (1 if unreachable, 0 without target)
``4K + 3…8``  phase one-hot: idle, to_pick, picking, to_drop, dropping, to_goal
``4K + 9``    broken down
``4K + 10``   work timer ÷ max(pick_time, drop_time), clipped to 1
``4K + 11``   has a dispatcher waypoint
============  ====================================================================================

Sub-goals: without a dispatcher attached the env's greedy dispatcher assigns orders after every
step. A dispatcher (or a training loop) can take over with :meth:`WarehouseEnv.set_dispatcher` and
drive :meth:`Simulation.assign` / :meth:`Simulation.set_waypoints` on ``env.sim``. The fleet of
``warehouse run`` dispatches at the start of each step instead, so the two give the same
trajectory, but KPIs read from ``env.sim`` after a step already count that step's new
assignments (``stuck_robots`` and ``oldest_open_order_s`` can differ from the run's last row).

Beneath the dict API sits the array API used by training, benchmarks and the Mesa runner:
:meth:`reset_arrays` and :meth:`step_arrays`; the dict API is a view over it. The array API
never ends an episode (a lifelong floor runs on); :attr:`WarehouseEnv.truncated` says when the
scenario's ``episode.steps`` are done, where the dict API truncates every agent, and
:attr:`WarehouseEnv.terminated` when a one-shot instance with ``episode.stop_when_solved`` is
solved, where it terminates every agent.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from . import kpis
from .core import Observer, Simulation, StepResult
from .fleet import run_dispatcher
from .floor import CompiledFloor

_MAX_CACHED_ACTIONS = 16  # action masks are cached per pattern up to this many actions
_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
_BOOLS = frozenset({bool, np.bool_})


def env_scenario(
    scenario: Any,
    source: Any = None,
    picked: Collection[str] = (),
    caller: str = "make_env",
) -> Any:
    """``scenario`` as the env runs it. Where its ``policies.run`` lists policies (a run
    folder's ``scenario.yaml``), the env runs them as ``warehouse run`` runs them: their
    dispatcher as ``policies.dispatcher`` and the collision mode they run under
    (``rule_based/pibt``: pibt) as ``policies.shield``, not the file's own; the list itself is
    left out of the result, which says what runs (so a second call changes nothing).
    ``picked``: the dotted settings the caller gave explicitly (:func:`warehouse.make_env`'s
    keywords), which win over the list. Listed policies that differ in their dispatcher (or
    mode) where nothing picks it: a one-line ``ValueError`` (an unknown name: the
    :class:`~warehouse.errors.InputError` naming the file's ``policies.run``); so is a
    ``physics.collisions`` picked where the list sets the mode. A scenario that lists none is
    returned as it is."""
    from .errors import display_path
    from .runner import listed_policies

    specs = listed_policies(scenario, source)
    if not specs:
        return scenario
    given = set(picked)
    where = f"{display_path(source)}'s policies.run" if source is not None else "policies.run"
    names = ", ".join(spec.name for spec in specs)
    how = "" if caller == "make_env" else "make_env(..., "  # (only make_env takes keywords)
    update: dict[str, Any] = {"run": None}
    if "policies.dispatcher" not in given:
        dispatchers = sorted({spec.dispatcher for spec in specs})
        if len(dispatchers) > 1:
            raise ValueError(
                f"{caller}: {where} ({names}) runs the dispatchers {', '.join(dispatchers)}, "
                f"and the env runs one: pick it with {how}dispatcher=NAME{')' if how else ''}"
            )
        update["dispatcher"] = dispatchers[0]
    own = {spec.collisions for spec in specs} - {None}
    if own and not given & {"physics.collisions", "policies.shield"}:
        modes = sorted({spec.collisions_for(scenario) for spec in specs})
        if len(modes) > 1:
            raise ValueError(
                f"{caller}: {where} ({names}) runs under the collision modes "
                f"{', '.join(modes)}, and the env runs one: pick it with "
                f"{how}collisions=MODE{')' if how else ''}"
            )
        update["shield"] = modes[0]
    elif own and "policies.shield" not in given:  # (physics.collisions alone: ignored)
        raise ValueError(
            f"{caller}: physics.collisions has no effect in the env: {where} ({names}) sets "
            "its collision mode; use collisions="
        )
    policies = scenario.policies.model_copy(update=update)
    return scenario.model_copy(update={"policies": policies})


class WarehouseEnv(ParallelEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "warehouse_v0",
        "render_modes": ["human", "rgb_array"],
        "render_fps": 10,
    }

    def __init__(
        self,
        floor: CompiledFloor,
        scenario: Any,
        *,
        render_mode: str | None = None,
        dispatcher: Any | None = None,
        source: Any = None,
        state: str = "grid",
    ) -> None:
        """``source``: the scenario's file, if any; relative paths in it (the dispatcher's
        ``policies.dispatcher_checkpoint``) count from its folder, as in ``warehouse run``.
        ``state``: ``"grid"`` or ``"channels"`` (what :meth:`state` returns). A scenario whose
        ``policies.run`` lists policies runs their dispatcher and collision mode
        (:func:`env_scenario`, the rule :func:`warehouse.make_env` follows too)."""
        from .policies import scenario_dispatcher  # the default sub-goal source

        # the parts of the policies a file's policies.run lists (a run folder's scenario.yaml),
        # as make_env runs them; a dispatcher given here is no choice of the list's
        picked = ("policies.dispatcher",) if dispatcher is not None else ()
        scenario = env_scenario(scenario, source, picked, caller="WarehouseEnv")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        if render_mode is not None:  # fail here, not in the middle of a (human mode) step
            from visualize.backend import require_pygame

            require_pygame()
        self.render_mode = render_mode
        self.scenario = scenario
        self.floor = floor
        # the collision mode the scenario's fleet runs under (policies.shield, else physics)
        self.sim = Simulation(floor, scenario.sim_config(scenario.policies.shield))
        self.observer = Observer(self.sim)
        self.max_steps = int(scenario.episode.steps)
        #: end the episode when the one-shot instance is solved (``episode.stop_when_solved``)
        self.stop_when_solved = bool(scenario.episode.stop_when_solved)
        self.dispatcher = dispatcher or scenario_dispatcher(
            scenario.policies.dispatcher, scenario, source, strict=True
        )
        n = self.sim.n_robots
        self.possible_agents = [f"robot_{i}" for i in range(n)]
        self._agent_index = {a: i for i, a in enumerate(self.possible_agents)}
        # Constant per-agent flags: copying a template dict is ~10× cheaper than rebuilding it.
        self._flags = {v: dict.fromkeys(self.possible_agents, v) for v in (False, True)}
        self.agents: list[str] = []
        self._was_reset = False  # (step, render and state need a reset first)
        self._obs_space = spaces.Dict(
            {
                "observation": spaces.Box(-1.0, 1.0, (self.observer.size,), np.float32),
                "action_mask": spaces.Box(0, 1, (floor.n_actions,), np.int8),
            }
        )
        self._act_space = spaces.Discrete(floor.n_actions)
        self.observation_spaces = dict.fromkeys(self.possible_agents, self._obs_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, self._act_space)
        if state not in ("grid", "channels"):
            raise ValueError(f"state must be 'grid' or 'channels', got {state!r}")
        self._state_kind = state
        if state == "grid":
            self.state_space = spaces.Box(0.0, 2.0, floor.shape, np.float32)
        else:
            h, w = floor.shape
            high = np.ones((5, h, w), np.float32)
            high[2] = self.sim.n_robots
            high[3] = scenario.tasks.max_open_orders
            self.state_space = spaces.Box(np.zeros_like(high), high, dtype=np.float32)
        self.last_result: StepResult | None = None
        self._viewer: Any = None
        self._mask_bits = 1 << np.arange(floor.n_actions, dtype=np.int64)
        patterns = 1 << min(floor.n_actions, _MAX_CACHED_ACTIONS)
        self._mask_table: list[Any] = [None] * patterns  # mask pattern -> read-only int8 row
        self._mask_known = np.zeros(patterns, dtype=bool)

    # -- spaces (the same object every call) -----------------------------------------------
    def observation_space(self, agent: str) -> spaces.Dict:
        if agent not in self._agent_index:
            raise KeyError(self._no_agent(agent))
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Discrete:
        if agent not in self._agent_index:
            raise KeyError(self._no_agent(agent))
        return self._act_space

    def _no_agent(self, agent: Any) -> str:
        return f"no agent {agent!r} (agents: robot_0 … robot_{self.sim.n_robots - 1})"

    # -- array API ------------------------------------------------------------------------
    @property
    def truncated(self) -> bool:
        """Whether the scenario's ``episode.steps`` steps have been taken since the reset."""
        return self.sim.t >= self.max_steps

    @property
    def terminated(self) -> bool:
        """Whether the episode ended solved: ``episode.stop_when_solved`` and every robot on its
        one-shot goal now (:meth:`Simulation.solved <warehouse.core.Simulation.solved>`), after
        a step (an instance whose robots all start on their goals ends after its first step,
        as the dict API, the Mesa model and ``warehouse run`` end it)."""
        return self.stop_when_solved and self.sim.t > 0 and bool(self.sim.solved())

    def episode_metrics(self) -> dict[str, Any] | None:
        """A one-shot instance's metrics now (POGEMA's, the KPIs of :mod:`warehouse.kpis`):
        ``solved`` (bool: every robot on its goal, CSR), ``on_goal_share`` (ISR), ``makespan``
        and ``sum_of_costs`` (``None`` unless solved), ``sum_of_costs_lb`` (``None`` when a goal
        is unreachable) and ``steps``; ``None`` outside one-shot runs. The dict API puts them in
        every agent's infos (``metrics``) at the step that ends the episode."""
        solved = kpis.solved(self.sim)
        if solved is None:
            return None
        return {
            "solved": bool(solved),
            "on_goal_share": kpis.on_goal_share(self.sim),
            "makespan": kpis.makespan(self.sim),
            "sum_of_costs": kpis.sum_of_costs(self.sim),
            "sum_of_costs_lb": kpis.sum_of_costs_lb(self.sim),
            "steps": self.sim.t,
        }

    def lifelong_metrics(self) -> dict[str, Any] | None:
        """A lifelong episode's metrics now (the KPIs of :mod:`warehouse.kpis`):
        ``throughput_per_step`` (deliveries per step, POGEMA's lifelong metric, its average
        throughput), ``deliveries``, ``collisions`` (incidents) and ``steps``; ``None`` in
        one-shot runs (:meth:`episode_metrics`). The dict API puts them in every agent's infos
        (``metrics``) at the episode's last step."""
        if self.sim.one_shot_goals is not None:
            return None
        return {
            "throughput_per_step": kpis.throughput_per_step(self.sim),
            "deliveries": kpis.deliveries(self.sim),
            "collisions": kpis.collisions(self.sim),
            "steps": self.sim.t,
        }

    def set_dispatcher(self, dispatcher: Any | None) -> None:
        """Attach the dispatcher called after every step (``None``: nobody assigns orders)."""
        self.dispatcher = dispatcher

    def reset_arrays(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reset; return ``(observations (N, D) float32, action_mask (N, A) bool)``."""
        self.sim.reset(seed)
        self._was_reset = True
        if self._viewer is not None:  # its congestion heat belongs to the episode before
            self._viewer.new_episode()
        if self.dispatcher is not None:
            self.dispatcher.reset(self.sim.seed)  # a seedless reset: the seed the sim drew
            run_dispatcher(self.dispatcher, self.sim)
        self.last_result = None
        return self.observer(), self.sim.action_mask()

    def step_arrays(
        self, actions: np.ndarray, preferences: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, StepResult]:
        """Step with an int array of actions; return ``(obs, mask, result)``."""
        result = self._advance(actions, preferences)
        pending = self.observer.start()  # helper threads, if any, fill rows during the mask
        try:
            mask = self.sim.action_mask()
        finally:
            obs = pending.result()
        return obs, mask, result

    def _advance(self, actions: np.ndarray, preferences: np.ndarray | None) -> StepResult:
        self._require_reset("step()")
        result = self.sim.step(actions, preferences)
        if self.dispatcher is not None:
            run_dispatcher(self.dispatcher, self.sim)
        self.last_result = result
        return result

    # -- PettingZoo API -------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None):  # type: ignore[override]
        obs, mask = self.reset_arrays(seed)
        self.agents = list(self.possible_agents)
        counters = {"cost": 0.0, "incidents": 0, "new_orders": 0, "step": self.sim.t}
        infos = {a: counters.copy() for a in self.agents}
        if self.render_mode == "human":
            self.render()
        return self._obs_dict(obs, self._mask_rows(mask)), infos

    def _require_reset(self, what: str) -> None:
        if not self._was_reset:
            raise RuntimeError(f"{what} called before reset()")

    def step(self, actions: dict[str, Any]):  # type: ignore[override]
        self._require_reset("step()")
        if not self.agents:
            raise RuntimeError("step() called after the episode ended; call reset()")
        if not isinstance(actions, Mapping):
            raise TypeError(
                f"step(): actions must be a dict of agent -> action, got {type(actions).__name__}"
            )
        n = self.sim.n_robots
        if len(actions) == n and list(actions) == self.possible_agents:  # the common case
            a = self._action_array(actions, n)
        else:  # missing agents wait
            a = np.zeros(n, dtype=np.int64)
            if actions:
                index = self._agent_index
                unknown = [k for k in actions if k not in index]
                if unknown:
                    raise KeyError(f"step(): {self._no_agent(unknown[0])}")
                idx = np.fromiter((index[k] for k in actions), dtype=np.int64, count=len(actions))
                a[idx] = self._action_array(actions, len(actions))
        res = self._advance(a, None)
        mask = self.sim.action_mask()
        # Helper threads (warehouse.core.threads), when there are any, fill the observation
        # rows while this thread builds the dicts (of views of the rows-to-be).
        pending = self.observer.start(caller_share=0.0)
        try:
            agents = self.agents
            truncated = self.sim.t >= self.max_steps
            terminated = self.terminated
            rewards = dict(zip(agents, res.reward.tolist(), strict=True))
            # agents == possible_agents while the episode runs (all end together)
            terms = self._flags[terminated].copy()
            truncs = self._flags[truncated].copy()
            infos = self._infos(res)
            out = self._obs_dict(pending.buffer, self._mask_rows(mask))
        finally:
            pending.result()
        if truncated or terminated:
            metrics = self.episode_metrics() or self.lifelong_metrics()
            if metrics is not None:  # the episode's metrics, a dict per agent
                for info in infos.values():
                    info["metrics"] = metrics.copy()
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return out, rewards, terms, truncs, infos

    @staticmethod
    def _action_array(actions: dict[str, Any], count: int) -> np.ndarray:
        """The dict's actions as int64: ints, numpy or torch scalars, one-element arrays. A
        float (2.7), a bool (never an action index) or anything else is refused, not
        truncated; a whole number out of range is refused by the move rule (the robot waits)."""
        values = list(actions.values())
        try:
            arr = np.array(values)
        except (TypeError, ValueError):  # ragged
            arr = None
        if (
            arr is not None
            and arr.dtype.kind in "iu"
            and arr.size == count
            and not _BOOLS.intersection(map(type, values))  # (numpy reads [0, True] as ints)
        ):
            return arr.reshape(count).astype(np.int64, copy=False)
        out = np.empty(count, dtype=np.int64)  # a mix of forms, or a value that is no action
        for i, (agent, value) in enumerate(actions.items()):
            if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
                out[i] = -1  # a whole number beyond int64: out of range, refused like -1
                continue
            v = np.asarray(value)
            if v.size != 1 or v.dtype.kind not in "iu":
                raise ValueError(
                    f"step(): the action of {agent!r} must be one integer, got {value!r}"
                )
            out[i] = v.reshape(())
        return out

    def _infos(self, res: StepResult) -> dict[str, dict[str, Any]]:
        """Flat per-agent infos, a dict per agent."""
        counters = {"incidents": res.incidents, "new_orders": res.new_orders, "step": self.sim.t}
        template = {"cost": 0.0, **counters}
        infos = {a: template.copy() for a in self.agents}
        hit = np.flatnonzero(res.cost)
        if hit.size:
            agents = self.agents
            for i, c in zip(hit.tolist(), res.cost[hit].tolist(), strict=True):
                infos[agents[i]]["cost"] = c
        return infos

    def _mask_rows(self, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        """One cached read-only int8 array per distinct mask pattern, listed per robot (floors
        with more than 16 actions: fresh read-only views of the step's mask)."""
        if self._mask_bits.size > _MAX_CACHED_ACTIONS:
            rows = mask.view(np.int8)
            rows.flags.writeable = False  # (read-only like the cached rows)
            return tuple(rows)
        codes = mask.astype(np.int64) @ self._mask_bits
        if not self._mask_known[codes].all():
            for code in np.unique(codes[~self._mask_known[codes]]).tolist():
                row = ((code & self._mask_bits) > 0).astype(np.int8)
                row.flags.writeable = False
                self._mask_table[code] = row
                self._mask_known[code] = True
        if codes.size == 1:
            return (self._mask_table[int(codes[0])],)
        return operator.itemgetter(*codes.tolist())(self._mask_table)

    def _obs_dict(
        self, obs: np.ndarray, mask_rows: tuple[np.ndarray, ...]
    ) -> dict[str, dict[str, np.ndarray]]:
        return {
            a: {"observation": o, "action_mask": k}
            for a, o, k in zip(self.possible_agents, list(obs), mask_rows, strict=True)
        }

    def render(self):  # type: ignore[override]
        if self.render_mode is None:
            return None
        self._require_reset("render()")
        from visualize import render_env  # lazy: pygame is an optional extra

        return render_env(self)

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

    def state(self) -> np.ndarray:
        """Global state: the occupancy grid (1 robot, 2 carrying robot), float32 ``(H, W)``; with
        ``state="channels"`` the five channels of the module docstring, ``(5, H, W)``."""
        self._require_reset("state()")
        s, f = self.sim.state, self.floor
        if self._state_kind == "grid":
            grid = np.zeros(f.shape, dtype=np.float32)
            grid[f.pos[s.pos, 0], f.pos[s.pos, 1]] = 1.0 + s.carrying
            return grid
        h, w = f.shape
        cells = h * w
        cell = f.pos[:, 0] * w + f.pos[:, 1]  # node -> flat cell
        out = np.zeros((5, cells), dtype=np.float32)
        out[0] = np.bincount(cell[s.pos], minlength=cells)
        out[1] = np.bincount(cell[s.pos], weights=s.carrying, minlength=cells)
        target = s.target
        out[2] = np.bincount(cell[target[target >= 0]], minlength=cells)
        open_ids = self.sim.open_orders()
        out[3] = np.bincount(cell[self.sim.orders.pick[open_ids]], minlength=cells)
        out[4] = 1.0
        out[4, cell] = 0.0
        out[4, cell[self.sim.closed_nodes()]] = 1.0
        return out.reshape(5, h, w)
