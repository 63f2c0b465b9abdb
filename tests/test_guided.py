"""The ``guided`` navigator (agents/guided.py): traffic-flow guide paths, their flow, the guide
heuristic's preferences, and runs through every front-end."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, fails_cleanly, run_cli

from agents.guided import GuidedNavigator
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

A, B = NodeKind.AISLE, NodeKind.BLOCKED

#: two parallel aisles (rows 0 and 2) between the end columns 0 and 6
TWO_AISLES = np.array([[A] * 7, [A] + [B] * 5 + [A], [A] * 7], np.int8)

#: a small room with racks for the runs (a lifelong and a one-shot one)
ROOM = """type octile
height 8
width 12
map
............
.@@.@@.@@@..
............
.@@@.@@.@@..
............
..@@.@@@.@@.
............
............
"""


def hand_sim(grid: np.ndarray, robots: int, collisions: str = "block", **directions) -> Simulation:
    """A simulation of ``robots`` robots on the grid ``grid`` (their targets: :func:`send`)."""
    floor = compile_floor(graph_from_grid(grid, **directions))
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions=collisions),
    )
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    return sim


def send(sim: Simulation, starts: list[tuple[int, int]], goals: list[tuple[int, int]]) -> None:
    """Put robot ``i`` on ``starts[i]`` and send it to ``goals[i]`` (a waypoint, no task)."""
    c = sim.floor.cell_of
    sim.state.pos[:] = [c[s] for s in starts]
    sim.state.task_goal[:] = -1
    sim.state_changed()
    sim.set_waypoints(np.arange(len(goals)), np.array([c[g] for g in goals]))


def cells(sim: Simulation, path: np.ndarray) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in sim.floor.pos[v]) for v in path]


def plan(nav: GuidedNavigator, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    return nav.act(sim, None, sim.action_mask())


def expected_flow(nav: GuidedNavigator, sim: Simulation) -> np.ndarray:
    """The flow the robots' guide paths should put on the floor, counted from their paths."""
    flow = np.zeros((sim.floor.n_nodes, sim.floor.n_actions), np.int64)
    for i in range(sim.n_robots):
        for v, a in nav.flow_of(i):
            flow[v, a] += 1
    return flow


def test_the_second_robot_takes_the_other_aisle_against_contraflow() -> None:
    sim = hand_sim(TWO_AISLES, 2)
    # robot 0 drives east, robot 1 west; both aisles are 8 moves long
    send(sim, [(1, 0), (1, 6)], [(1, 6), (1, 0)])
    rows = {}
    for weight in (0.0, 1.0):
        nav = GuidedNavigator(vertex_weight=0.0, contraflow_weight=weight)
        plan(nav, sim)
        rows[weight] = [{r for r, _ in cells(sim, nav.path(i))[1:-1]} - {1} for i in range(2)]
        assert all(len(nav.path(i)) == 9 for i in range(2))
    # without the contraflow cost both take the same aisle (the same tie-break) ...
    assert rows[0.0][0] == rows[0.0][1]
    # ... with it the second robot is routed the other way
    assert rows[1.0][0] != rows[1.0][1] and rows[1.0][0] | rows[1.0][1] == {0, 2}


def test_flows_add_up_and_are_removed_when_a_path_is_replaced() -> None:
    sim = hand_sim(TWO_AISLES, 3)
    send(sim, [(1, 0), (1, 6), (0, 3)], [(1, 6), (1, 0), (2, 3)])
    nav = GuidedNavigator()
    plan(nav, sim)
    flow = expected_flow(nav, sim)
    assert flow.sum() == sum(len(nav.path(i)) - 1 for i in range(3)) > 0
    assert np.array_equal(nav.flow, flow)
    assert np.array_equal(nav.vflow, flow.sum(axis=1))
    # robot 2 gets another target: its old path's flow goes, the new one's comes
    old = nav.flow_of(2)
    sim.set_waypoints(np.array([2]), np.array([sim.floor.cell_of[0, 0]]))
    plan(nav, sim)
    assert nav.flow_of(2) != old
    flow = expected_flow(nav, sim)
    assert np.array_equal(nav.flow, flow) and np.array_equal(nav.vflow, flow.sum(axis=1))
    # a robot that moves on along its path takes the flow of the edge it passed out
    step = nav.path(0)[1]
    total = int(nav.flow.sum())
    sim.state.pos[0] = step
    sim.state_changed()
    plan(nav, sim)
    assert int(nav.flow.sum()) == total - 1
    assert np.array_equal(nav.flow, expected_flow(nav, sim))
    # without a target it has no path and no flow
    sim.set_waypoints(np.array([0, 1, 2]), np.full(3, -1))
    sim.state.task_goal[:] = -1
    sim.state_changed()
    plan(nav, sim)
    assert not nav.flow.any() and not nav.vflow.any()


def test_a_directed_floor_is_respected() -> None:
    grid = np.array([[A] * 5, [A, B, B, B, A], [A] * 5], np.int8)
    # row 0 eastbound only, row 2 westbound only: from (0, 4) to (0, 0) round the block
    sim = hand_sim(grid, 1, row_directions={0: 1, 2: -1})
    send(sim, [(0, 4)], [(0, 0)])
    nav = GuidedNavigator()
    actions, prefs = plan(nav, sim)
    path = nav.path(0)
    assert cells(sim, path) == [
        (0, 4),
        (1, 4),
        (2, 4),
        (2, 3),
        (2, 2),
        (2, 1),
        (2, 0),
        (1, 0),
        (0, 0),
    ]
    f = sim.floor
    for v, u in itertools.pairwise(path):
        assert ((f.nbr[v] == u) & f.mask[v]).any()  # every step an allowed move
    assert f.nbr[path[0], actions[0]] == path[1]
    west = 4  # W: not allowed out of (0, 4) on the eastbound row
    assert prefs[0, west] == -np.inf


def test_preferences_mask_and_rank_the_guide_move_first() -> None:
    sim = hand_sim(TWO_AISLES, 2)
    send(sim, [(0, 2), (2, 4)], [(0, 6), (0, 4)])
    nav = GuidedNavigator()
    mask = sim.action_mask()
    mask[1, 1:] = False  # robot 1 may only wait (as when it is busy)
    actions, prefs = nav.act(sim, None, mask)
    assert prefs.dtype == np.float32 and prefs.shape == mask.shape
    assert np.all(prefs[~mask] == -np.inf) and np.all(np.isfinite(prefs[mask]))
    nxt = nav.path(0)[1]
    assert sim.floor.nbr[sim.state.pos[0], actions[0]] == nxt
    assert actions[0] == int(np.argmax(prefs[0]))
    order = np.argsort(-prefs[0], kind="stable")
    assert order[0] == actions[0] and order[1] == 0  # then waiting, then the detours
    assert actions[1] == 0
    # a robot at its target waits; one without a target too
    send(sim, [(0, 6), (2, 4)], [(0, 6), (2, 4)])
    sim.set_waypoints(np.array([1]), np.array([-1]))
    sim.state.task_goal[1] = -1
    sim.state_changed()
    actions, prefs = plan(nav, sim)
    assert actions.tolist() == [0, 0]
    assert int(np.argmax(prefs[0])) == 0 and int(np.argmax(prefs[1])) == 0


def test_a_robot_pushed_off_its_path_rejoins_it() -> None:
    sim = hand_sim(np.full((5, 9), A, np.int8), 1)
    send(sim, [(2, 0)], [(2, 8)])
    nav = GuidedNavigator()
    plan(nav, sim)
    assert cells(sim, nav.path(0))[-1] == (2, 8)
    sim.state.pos[0] = sim.floor.cell_of[4, 1]  # two moves off the path
    sim.state_changed()
    plan(nav, sim)
    assert nav.stats["off_path"] == 1 and nav.stats["rejoined"] == 1
    path = cells(sim, nav.path(0))
    assert path[0] == (4, 1) and path[-1] == (2, 8)
    assert len(path) - 1 == 9  # back on it the shortest way (2 moves) and along it (7)
    assert np.array_equal(nav.flow, expected_flow(nav, sim))


def test_a_robot_a_stall_rescue_moved_off_its_path_searches_from_where_it_stands() -> None:
    """The PIBT shields' stall rescue moves a robot that has not come closer to its target for
    ``stall_steps`` steps by the plain shortest distance: off its guide path, such a robot
    gets a new path from there, not pulled back onto the old one (where it would stall
    again); one move off without a stall it keeps its path. (The plain rescue: ``guide_rescue``
    off; tests/test_session41_guided_rescue.py tests the rescue that follows the guide.)"""
    sim = hand_sim(np.full((5, 9), A, np.int8), 1, collisions="pibt")
    send(sim, [(2, 0)], [(2, 8)])
    nav = GuidedNavigator(guide_rescue=False)
    plan(nav, sim)
    old = nav.path(0)
    off = sim.floor.cell_of[3, 1]  # one move off the path, beside (2, 1)
    assert off not in old
    sim.state.pos[0] = off
    sim.state_changed()
    plan(nav, sim)
    assert np.array_equal(nav.path(0), old) and nav.stats["searches"] == 1
    sim.state.since_progress[0] = sim.shield.stall_steps  # type: ignore[union-attr]
    plan(nav, sim)
    assert nav.stats["searches"] == 2 and nav.stats["rejoined"] == 0
    assert nav.path(0)[0] == off and cells(sim, nav.path(0))[-1] == (2, 8)
    assert np.array_equal(nav.flow, expected_flow(nav, sim))


def test_closures_replan_every_guide_path_round_them() -> None:
    sim = hand_sim(TWO_AISLES, 1)
    send(sim, [(1, 0)], [(1, 6)])
    nav = GuidedNavigator()
    plan(nav, sim)
    row = {r for r, _ in cells(sim, nav.path(0))[1:-1]} - {1}
    closed = 2 - row.pop()  # close the aisle it took
    other = 2 - closed
    sim.dist.set_closed(np.array([sim.floor.cell_of[closed, 3]]))
    plan(nav, sim)
    assert nav.stats["refreshes"] == 1
    assert {r for r, _ in cells(sim, nav.path(0))[1:-1]} - {1} == {other}


def test_a_small_pool_grows_and_keeps_the_same_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    def paths(nav: GuidedNavigator) -> tuple[list[list[int]], np.ndarray]:
        fleet, sim = room_fleet(nav, 12, "pibt")
        for _ in range(15):
            fleet.step()
        return [nav.path(i).tolist() for i in range(12)], sim.state.pos.copy()

    want = paths(GuidedNavigator())
    monkeypatch.setattr(GuidedNavigator, "POOL_PER_ROBOT", 1)
    monkeypatch.setattr(GuidedNavigator, "POOL_MIN", 1)
    small = GuidedNavigator()
    got = paths(small)
    assert small.pool_nodes.size < 2 * 12 * 64  # it really started small and grew
    assert got[0] == want[0] and np.array_equal(got[1], want[1])


def room_fleet(
    nav: object, robots: int, collisions: str, tmp: Path | None = None, **over: object
) -> tuple[Fleet, Simulation]:
    """A lifelong goal_visit fleet of ``robots`` on :data:`ROOM` under ``collisions``."""
    import tempfile

    folder = Path(tempfile.mkdtemp()) if tmp is None else tmp
    (folder / "room.map").write_text(ROOM)
    sc, src = load_scenario(folder / "room.map")
    sc = apply_overrides(
        sc,
        {"tasks.mode": "goal_visit", "fleet.robots": robots, "physics.collisions": collisions,
         **over},
        src,
    )  # fmt: skip
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, None, nav)  # type: ignore[arg-type]
    fleet.reset(7)
    return fleet, sim


def trajectory(collisions: str, tmp: Path) -> tuple[np.ndarray, np.ndarray]:
    fleet, sim = room_fleet(GuidedNavigator(), 30, collisions, tmp)
    trail = []
    for _ in range(60):
        fleet.step()
        trail.append(sim.state.pos.copy())
    return np.array(trail), sim.state.deliveries.copy()


@pytest.mark.parametrize("collisions", ["pibt", "pibt_swap"])
def test_same_seed_same_run(collisions: str, tmp_path: Path) -> None:
    a, b = trajectory(collisions, tmp_path), trajectory(collisions, tmp_path)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].shape == (60, 30) and (a[0][1:] != a[0][:-1]).any()


@pytest.mark.parametrize("collisions", ["pibt", "pibt_swap"])
def test_a_lifelong_run_under_pibt_delivers_without_collisions(collisions: str) -> None:
    fleet, sim = room_fleet(GuidedNavigator(), 30, collisions)
    for _ in range(150):
        fleet.step()
    s = sim.state
    assert int(s.collisions.sum()) == 0
    assert int(s.deliveries.sum()) >= 60  # 30 robots on a 96-cell room deliver
    assert int(s.deliveries.min()) >= 1  # and nobody is stuck for good


def test_a_one_shot_instance_reaches_its_goals() -> None:
    fleet, sim = room_fleet(GuidedNavigator(), 12, "pibt", **{"tasks.assignment": "one_shot"})
    for _ in range(200):
        fleet.step()
        if sim.solved():
            break
    assert sim.solved()
    assert np.array_equal(sim.state.pos, np.asarray(sim.one_shot_goals))


def test_the_policy_runs_through_warehouse_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["run", str(TINY), "--policy", "guided", "--collisions", "pibt", "--steps", "30"]
    code, stdout, err = run_cli([*argv, "--seeds", "0", "--out", str(out)], capsys)
    assert code == 0, err
    assert "guided/pibt" in stdout
    report = (out / "report.json").read_text()
    assert '"navigator": "guided"' in report and '"searches"' in report


def test_a_bad_weight_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(TINY), "--policy", "guided", "--steps", "5", "--out", str(tmp_path / "o")]
    line = fails_cleanly(
        [*argv, "--set", "policies.navigator_args.guided.contraflow_weight=-1"],
        tmp_path,
        capsys,
        "",
    )
    assert "policies.navigator_args.guided" in line and "contraflow_weight" in line
    assert "≥ 0" in line
    line = fails_cleanly(
        [*argv, "--set", "policies.navigator_args.guided.vertex_weight=abc"], tmp_path, capsys, ""
    )
    assert "vertex_weight" in line


def test_the_env_driven_by_the_policy_matches_the_mesa_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PettingZoo env stepped with the navigator that :mod:`warehouse.policies` builds for
    ``guided`` moves the robots as the Mesa model running the policy does (one core)."""
    import warehouse
    from warehouse.model import WarehouseModel
    from warehouse.policies import build_policy, resolve_policy

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 3, block_length: 4}\n"
        "fleet: {robots: 16}\nepisode: {steps: 60}\ntasks: {mode: goal_visit}\n"
        "physics: {collisions: pibt}\npolicies: {navigator: guided}\n"
    )
    monkeypatch.chdir(tmp_path)
    env = warehouse.make_env(scenario)
    model = WarehouseModel(scenario, seed=2, per_robot=False)
    sc, src = load_scenario(scenario)
    _, navigator = build_policy(resolve_policy("guided", sc, source=src), sc, src)
    assert isinstance(navigator, GuidedNavigator)
    navigator.reset(2)
    env.reset_arrays(seed=2)
    moved = 0
    for _ in range(60):
        before = env.sim.state.pos.copy()
        model.step()
        actions, prefs = navigator.act(env.sim, None, env.sim.action_mask())
        env.step_arrays(actions, prefs)
        assert np.array_equal(env.sim.state.pos, model.sim.state.pos)
        moved += int((env.sim.state.pos != before).sum())
    assert moved > 100 and int(model.sim.state.deliveries.sum()) > 0
