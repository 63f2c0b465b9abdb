"""Task flow of the simulation core: orders, work timers, deliveries, goals, faults, RNG."""

from __future__ import annotations

import numpy as np
import pytest

from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Observer, Phase, Simulation
from warehouse.errors import InputError
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.kpis import cycle_times_s

W, N, E, S, WEST = 0, 1, 2, 3, 4

# A corridor: station at the west end, pick location at the east end.
CORRIDOR = np.array([[NodeKind.STATION] + [NodeKind.AISLE] * 4 + [NodeKind.PICK]], np.int8)


def corridor_sim(*, pick_time=3, drop_time=2, step_seconds=2.0, **kw) -> Simulation:
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=pick_time, drop_time=drop_time, **kw),
        physics=PhysicsConfig(step_seconds=step_seconds),
    )
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    sim.state.pos[:] = sim.floor.cell_of[0, 2]
    return sim


@pytest.mark.parametrize(("pick_time", "drop_time"), [(3, 2), (1, 1), (0, 0), (5, 0)])
def test_pickup_delivery_counts_work_exactly(pick_time, drop_time):
    sim = corridor_sim(pick_time=pick_time, drop_time=drop_time)
    f, s, ob = sim.floor, sim.state, sim.orders
    pick, station = f.cell_of[0, 5], f.cell_of[0, 0]
    ob.add(np.array([pick]), np.array([station]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    assert s.phase[0] == Phase.TO_PICK and s.task_goal[0] == pick and ob.open_ids.size == 0
    phases, delivered_at = [], None
    for _ in range(40):
        goal = s.target[0]
        a = W if goal < 0 else (E if f.pos[goal, 1] > f.pos[s.pos[0], 1] else WEST)
        if goal >= 0 and goal == s.pos[0]:
            a = W
        res = sim.step(np.array([a]))
        phases.append(int(s.phase[0]))
        if res.delivered[0]:
            delivered_at = sim.t
            assert res.became_idle[0] and res.reward[0] == pytest.approx(100.0 - res.moved_m[0])
            break
    assert phases.count(Phase.PICKING) == pick_time
    assert phases.count(Phase.DROPPING) == drop_time
    # 3 steps east, pick_time, 5 steps west, drop_time (zero times fall through).
    assert delivered_at == 3 + pick_time + 5 + drop_time
    assert ob.delivered[0] == delivered_at and s.deliveries[0] == 1
    assert s.phase[0] == Phase.IDLE and s.order[0] == -1 and s.task_goal[0] == -1
    np.testing.assert_array_equal(cycle_times_s(sim), [delivered_at * 2.0])


def test_work_freezes_the_robot():
    sim = corridor_sim(pick_time=4)
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[0, 3]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    sim.step(np.array([E]))  # arrives at the pick location
    assert sim.state.phase[0] == Phase.PICKING
    assert sim.action_mask()[0].tolist() == [True, False, False, False, False]
    sim.step(np.array([E]))
    assert sim.floor.pos[sim.state.pos[0]].tolist() == [0, 3]


def test_waypoint_is_visited_before_the_task_goal():
    sim = corridor_sim()
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[0, 5]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[0, 0]]))
    assert sim.state.target[0] == f.cell_of[0, 0]
    res = sim.step(np.array([WEST]))
    assert not res.reached_waypoint[0]
    res = sim.step(np.array([WEST]))
    assert res.reached_waypoint[0] and sim.state.waypoint[0] == -1
    assert sim.state.target[0] == f.cell_of[0, 5] and sim.state.since_goal[0] == 0


def test_assign_rejects_bad_pairs():
    sim = corridor_sim()
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[0, 5]] * 2), np.array([f.cell_of[0, 0]] * 2), step=0)
    with pytest.raises(ValueError, match="open"):
        sim.assign(np.array([0]), np.array([5]))
    sim.assign(np.array([0]), np.array([1]))
    assert sim.open_orders().tolist() == [0]
    with pytest.raises(ValueError, match="idle"):
        sim.assign(np.array([0]), np.array([0]))
    with pytest.raises(ValueError, match="out of range"):
        sim.assign(np.array([7]), np.array([0]))
    with pytest.raises(ValueError, match="out of range"):
        sim.assign(np.array([-1]), np.array([0]))
    assert sim.open_orders().tolist() == [0]  # nothing half-applied


def test_assign_rejects_repeated_robots_and_orders():
    cfg = SimConfig(fleet=FleetConfig(robots=2))
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[0, 5]] * 2), np.array([f.cell_of[0, 0]] * 2), step=0)
    with pytest.raises(ValueError, match="one to one"):
        sim.assign(np.array([0, 0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="one robot only"):
        sim.assign(np.array([0, 1]), np.array([1, 1]))
    assert sim.open_orders().tolist() == [0, 1]  # nothing half-applied
    sim.assign(np.array([1, 0]), np.array([0, 1]))  # the scratch was left clean
    assert sim.state.order.tolist() == [1, 0]


def test_cached_targets_follow_every_change():
    """target_slots() is cached per step; assign, waypoints, steps and direct state edits
    (with state_changed) must all show through, and slots must point at the right rows."""
    cfg = SimConfig(fleet=FleetConfig(robots=2))
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    f = sim.floor

    def check(expected):
        target, slot = sim.target_slots()
        assert target.tolist() == expected
        for t, s in zip(target.tolist(), slot.tolist(), strict=True):
            assert (s < 0) if t < 0 else (sim.dist.table[s, t] == 0)
        assert not target.flags.writeable and not slot.flags.writeable

    check([-1, -1])
    sim.orders.add(np.array([f.cell_of[0, 5]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([1]), np.array([0]))
    check([-1, f.cell_of[0, 5]])
    sim.set_waypoints(np.array([1]), np.array([f.cell_of[0, 3]]))
    check([-1, f.cell_of[0, 3]])
    sim.state.task_goal[0] = f.cell_of[0, 4]
    sim.state_changed()
    check([f.cell_of[0, 4], f.cell_of[0, 3]])
    sim.step(np.zeros(2, dtype=np.int64))
    check([f.cell_of[0, 4], f.cell_of[0, 3]])


def test_goal_visit_draws_a_new_goal_on_arrival():
    cfg = SimConfig(fleet=FleetConfig(robots=1), tasks=TasksConfig(mode="goal_visit"))
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=3)
    s, f = sim.state, sim.floor
    goal = int(s.task_goal[0])
    assert s.phase[0] == Phase.TO_GOAL and goal != s.pos[0]
    # Stand next to the goal and step onto it.
    col = int(f.pos[goal, 1])
    s.pos[:] = f.cell_of[0, col - 1] if col > 0 else f.cell_of[0, col + 1]
    res = sim.step(np.array([E if col > 0 else WEST]))
    assert res.delivered[0] and s.deliveries[0] == 1
    assert s.phase[0] == Phase.TO_GOAL and s.task_goal[0] != s.pos[0]


def test_orders_arrive_by_poisson_rate_and_backlog_cap():
    cfg = SimConfig(fleet=FleetConfig(robots=1), tasks=TasksConfig(arrival_rate=2.0))
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    total = sum(sim.step(np.zeros(1, np.int64)).new_orders for _ in range(500))
    assert total == sim.orders.count and 900 < total < 1100  # mean 2 per step
    cfg = SimConfig(
        fleet=FleetConfig(robots=1), tasks=TasksConfig(arrival_rate=2.0, max_open_orders=5)
    )
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    for _ in range(50):
        sim.step(np.zeros(1, np.int64))
    assert sim.orders.open_ids.size == 5 and sim.orders.lost > 50


def _fault_sim(**faults) -> Simulation:
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig(**faults),
    )
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    sim.state.pos[:] = sim.floor.cell_of[0, 1]
    return sim


def test_breakdown_stops_a_robot_for_n_steps():
    sim = _fault_sim(breakdown_prob=1.0, breakdown_steps=4)
    sim.step(np.array([E]))  # moves, then breaks down at the end of the step
    assert sim.state.broken[0] == 4
    sim.config = sim.config.model_copy(
        update={"faults": FaultsConfig(breakdown_prob=0.0, breakdown_steps=4)}
    )
    cols = []
    for _ in range(6):
        assert sim.action_mask()[0, 1:].any() == (sim.state.broken[0] == 0)
        sim.step(np.array([E]))
        cols.append(int(sim.floor.pos[sim.state.pos[0], 1]))
    assert cols == [2, 2, 2, 2, 3, 4]  # exactly 4 steps without moving


def test_closed_cells_are_masked_and_observed():
    sim = _fault_sim(closure_prob=1.0, closure_steps=1000)
    sim.step(np.array([W]))
    closed = sim.closed_nodes()
    assert closed.size == 1 and sim.floor.kind[closed[0]] == NodeKind.AISLE
    col = int(sim.floor.pos[closed[0], 1])
    sim.state.pos[:] = sim.floor.cell_of[0, col - 1]
    assert not sim.action_mask()[0, E]
    obs = Observer(sim)()
    side = 2 * sim.config.observation.radius + 1
    window = obs[0, : side * side].reshape(side, side)
    assert window[side // 2, side // 2 + 1] == 1.0  # the closed cell east of me is an obstacle
    before = sim.state.pos.copy()
    sim.step(np.array([E]))
    assert (sim.state.pos == before).all()


def test_observation_channels_on_a_hand_placed_fleet():
    sim = corridor_sim()
    f = sim.floor
    cfg = sim.config.model_copy(update={"fleet": FleetConfig(robots=2)})
    sim = Simulation(f, cfg)
    sim.reset(seed=0)
    sim.state.pos = np.array([f.cell_of[0, 2], f.cell_of[0, 4]], np.int32)
    sim.orders.add(np.array([f.cell_of[0, 5]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    obs = Observer(sim)()
    r = sim.config.observation.radius
    side, k = 2 * r + 1, (2 * r + 1) ** 2
    ch = obs[:, : 4 * k].reshape(2, 4, side, side)
    c = r
    assert obs.dtype == np.float32 and obs.shape == (2, 4 * k + 12)
    assert ch[0, 0, c, c + 1] == 0 and ch[0, 0, c - 1, c] == 1  # aisle east, wall north
    assert ch[0, 1, c, c + 2] == 1 and ch[0, 1, c, c] == 0  # the other robot, not me
    assert ch[1, 1, c, c - 2] == 1
    # Cost-to-go toward the pick location (3 steps east): east cells are closer.
    assert ch[0, 3, c, c + 1] == pytest.approx(-1 / (2 * r))
    assert ch[0, 3, c, c - 1] == pytest.approx(1 / (2 * r))
    assert (ch[1, 3] == 0).all()  # robot 1 has no target
    feats = obs[0, 4 * k :]
    assert feats[1] == pytest.approx(3 / 6) and feats[0] == 0  # target 3 columns east
    assert feats[3 + Phase.TO_PICK] == 1 and feats[3:9].sum() == 1
    assert obs[1, 4 * k + 3 + Phase.IDLE] == 1
    assert (np.abs(obs) <= 1).all()


def test_reset_reseeds_and_streams_are_independent():
    def run(sim, seed):
        sim.reset(seed=seed)
        for _ in range(100):
            sim.step(np.zeros(1, np.int64))
        return sim.orders.arrival[: sim.orders.count].tolist()

    def make(**faults):
        cfg = SimConfig(
            fleet=FleetConfig(robots=1),
            tasks=TasksConfig(arrival_rate=1.0),
            faults=FaultsConfig(**faults),
        )
        return Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)

    sim = make()
    first = run(sim, 11)
    assert len(first) > 50
    # A reset of the used simulation starts the streams again; another seed, other arrivals.
    assert run(sim, 11) == first
    assert run(sim, 12) != first
    # Switching faults on does not change when orders arrive.
    assert run(make(breakdown_prob=0.3, closure_prob=0.3), 11) == first


def test_step_before_reset_raises():
    floor = compile_floor(graph_from_grid(CORRIDOR))
    sim = Simulation(floor, SimConfig(fleet=FleetConfig(robots=1)))
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(np.zeros(1, np.int64))


def test_target_slots_survive_the_distance_cache_growing(monkeypatch):
    """More distinct targets than the cache's first 64 rows: rows are computed, the table grows,
    and every robot's slot points at its own target's row (LRU stamps on the live arrays).

    The kernel runs as plain Python here, so a write into a stale (smaller) array raises
    IndexError instead of silently corrupting memory."""
    import warehouse.core.simulation as simulation

    monkeypatch.setattr(simulation, "target_slots_kernel", simulation.target_slots_kernel.py_func)
    row = [NodeKind.STATION] + [NodeKind.AISLE] * 118 + [NodeKind.PICK]
    floor = compile_floor(graph_from_grid(np.array([row, [NodeKind.AISLE] * 120], np.int8)))
    cfg = SimConfig(fleet=FleetConfig(robots=150), tasks=TasksConfig(mode="goal_visit"))
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    target, slot = sim.target_slots()
    assert np.unique(target).size > 64 and sim.dist.table.shape[0] > 64
    assert (sim.dist.table[slot, target] == 0).all()
    assert (sim.dist.goal_in_slot[slot] == target).all()
    assert (sim.dist.last_used[slot] == sim.dist._clock).all()


def test_step_legality_and_action_mask_apply_one_rule():
    """``move_targets_kernel`` (the step) and ``action_mask_kernel`` write the move rule twice
    for speed; on a fleet with breakdowns, closed cells and robots at work they must agree on
    every robot and action."""
    from warehouse.core.kernels import move_targets_kernel

    cfg = SimConfig(
        fleet=FleetConfig(robots=8),
        tasks=TasksConfig(arrival_rate=2.0, pick_time=4, drop_time=4),
        faults=FaultsConfig(breakdown_prob=0.05, breakdown_steps=5, closure_prob=0.3),
    )
    grid = np.full((3, 6), NodeKind.AISLE, np.int8)
    grid[:, 0], grid[:, -1], grid[1, 2] = NodeKind.STATION, NodeKind.PICK, NodeKind.BLOCKED
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=1)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(60):
        mask = sim.action_mask()
        inputs = sim._move_rule_inputs()
        for a in range(sim.floor.n_actions):
            actions = np.full(sim.n_robots, a, dtype=np.int64)
            legal = np.empty(sim.n_robots, np.int64)
            target = np.empty(sim.n_robots, np.int32)
            move_targets_kernel(actions, *inputs, legal, target)
            np.testing.assert_array_equal(legal == a, mask[:, a] | (a == 0))
            checked += int((~mask[:, a]).sum())
        sim.step(np.where(mask.any(axis=1), rng.integers(0, sim.floor.n_actions, sim.n_robots), 0))
    assert checked > 100  # plenty of masked moves were compared, not only open floor


def test_only_steps_count_steps_without_progress():
    """``since_progress`` counts steps: assigning one robot an order (or a waypoint) restarts
    that robot's count and leaves every other robot's alone."""
    grid = np.full((3, 6), NodeKind.AISLE, np.int8)
    grid[0, 0], grid[2, 5] = NodeKind.STATION, NodeKind.PICK
    cfg = SimConfig(fleet=FleetConfig(robots=3), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f, s, ob = sim.floor, sim.state, sim.orders
    s.pos[:] = [f.cell_of[1, 1], f.cell_of[1, 3], f.cell_of[0, 5]]
    sim.state_changed()
    ob.add(np.full(3, f.cell_of[2, 5]), np.full(3, f.cell_of[0, 0]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    for _ in range(5):  # robot 0 waits with a task: five steps without progress
        sim.step(np.zeros(3, np.int64))
    assert s.since_progress.tolist() == [5, 0, 0]
    sim.assign(np.array([1]), np.array([1]))  # not a step: robot 0 keeps its count
    assert s.since_progress.tolist() == [5, 0, 0]
    assert s.best_dist[1] == sim.dist.lookup(np.array([f.cell_of[2, 5]]), s.pos[1:2])[0]
    sim.set_waypoints(np.array([2]), np.array([f.cell_of[0, 4]]))
    assert s.since_progress.tolist() == [5, 0, 0]
    sim.step(np.zeros(3, np.int64))
    # robot 2 has only a waypoint, no task: it counts too (it drives to a target)
    assert s.since_progress.tolist() == [6, 1, 1]
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[1, 0]]))
    assert s.since_progress.tolist() == [0, 1, 1]


def test_the_loaded_leg_measures_progress_towards_the_station():
    """Finishing a pick gives the robot a new target (the station) and restarts its progress
    measure: driving steadily to the station is progress, never "stuck". (Before the twelfth
    session the measure kept the distance to the shelf, 0, and counted every loaded step.)"""
    grid = np.full((1, 8), NodeKind.AISLE, np.int8)
    grid[0, 0], grid[0, 2] = NodeKind.STATION, NodeKind.PICK
    cfg = SimConfig(fleet=FleetConfig(robots=1), tasks=TasksConfig(arrival_rate=0.0, pick_time=1))
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[0, 7]]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 2]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    west = int(np.flatnonzero(f.nbr[f.cell_of[0, 1]] == f.cell_of[0, 0])[0])  # the W action
    seen = []
    while s.phase[0] != Phase.IDLE:
        sim.step(np.full(1, west if s.phase[0] in (Phase.TO_PICK, Phase.TO_DROP) else 0))
        seen.append((int(s.phase[0]), int(s.since_progress[0])))
        assert len(seen) < 20
    assert (int(Phase.TO_DROP), 0) in seen  # the loaded leg was driven ...
    assert all(sp == 0 for _, sp in seen)  # ... and every step of it was progress
    sim.step(np.zeros(1, np.int64))  # idle: nothing to make progress on
    assert s.since_progress[0] == 0


def test_a_shield_that_returns_an_action_out_of_range_is_refused():
    class BadShield:
        name = "bad"
        needs_mask = False

        def __call__(self, sim, actions, preferences, mask):
            return np.full_like(actions, sim.floor.n_actions)

    sim = corridor_sim()
    sim.shield = BadShield()
    with pytest.raises(ValueError, match="shield 'bad': returned an action out of range"):
        sim.step(np.array([E]))


def test_a_shield_that_returns_too_few_actions_is_refused():
    """(The compiled kernel would read past the end of what it returned.)"""

    class ShortShield:
        name = "short"
        needs_mask = False

        def __call__(self, sim, actions, preferences, mask):
            return actions[:-1]

    sim = corridor_sim()
    sim.shield = ShortShield()
    with pytest.raises(InputError, match=r"shield 'short': returned actions of shape \(0,\)"):
        sim.step(np.array([E]))


def test_shield_changes_update_the_moves_that_reach_the_floor():
    class EastShield:  # turns every WAIT into a move east
        name = "east"
        needs_mask = False

        def __call__(self, sim, actions, preferences, mask):
            return np.where(actions == W, E, actions)

    sim = corridor_sim()
    sim.shield = EastShield()
    start = int(sim.floor.pos[sim.state.pos[0], 1])
    result = sim.step(np.array([W]))
    assert result.intervened.tolist() == [True] and result.actions.tolist() == [E]
    assert int(sim.floor.pos[sim.state.pos[0], 1]) == start + 1
    assert sim.state.interventions[0] == 1


def test_step_refuses_actions_it_would_have_to_guess():
    """A wrong count or a float array is an error, not a reshape failure or a silent 2.7 → 2."""
    import warehouse

    env = warehouse.make_env("tiny")
    env.reset_arrays(seed=0)
    n = env.sim.n_robots
    with pytest.raises(
        ValueError, match=rf"expected {n} actions, one per robot, got .*\({n - 1},\)"
    ):
        env.sim.step(np.zeros(n - 1, np.int64))
    with pytest.raises(TypeError, match="actions must be integers, got dtype float64"):
        env.sim.step(np.full(n, 2.7))
    env.sim.step(np.zeros((n, 1), np.int32))  # any integer dtype and shape of n elements
    assert env.sim.t == 1


def test_a_navigator_returning_the_wrong_shapes_is_named():
    from agents import RuleBasedNavigator
    from warehouse.fleet import Fleet

    class Short(RuleBasedNavigator):
        def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
            actions, prefs = super().act(sim, obs, mask)
            return (actions[:-1], prefs) if self.cut == "actions" else (actions, prefs[:, :2])

    import warehouse

    env = warehouse.make_env("tiny")
    for cut, what in (("actions", "actions of shape"), ("prefs", "preferences of shape")):
        nav = Short()
        nav.name, nav.cut = "short", cut
        fleet = Fleet(env.sim, None, nav)
        fleet.reset(0)
        with pytest.raises(ValueError, match=f"navigator 'short': returned {what}"):
            fleet.step()


def test_step_result_marks_the_refused_actions():
    """``refused``: exactly the actions the mask forbids or that are out of range."""
    import warehouse

    env = warehouse.make_env("small", robots=40)
    _, mask = env.reset_arrays(seed=5)
    rng = np.random.default_rng(5)
    seen = 0
    for _ in range(30):
        acts = rng.integers(-1, 7, env.sim.n_robots)
        _, next_mask, res = env.step_arrays(acts)
        in_range = (acts >= 0) & (acts < mask.shape[1])
        allowed = np.zeros(acts.size, bool)
        allowed[in_range] = mask[np.flatnonzero(in_range), acts[in_range]]
        expected = ~allowed & (acts != 0)
        assert np.array_equal(res.refused, expected)
        seen += int(expected.sum())
        mask = next_mask
    assert seen > 100
