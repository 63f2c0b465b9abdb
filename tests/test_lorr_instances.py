"""Fixed lifelong-MAPF instances: explicit starts (``fleet.start_cells``), a fixed goal sequence
(``tasks.goals``, ``tasks.assignment``, ``tasks.reveal``) and League of Robot Runners problem
files (``warehouse run problem.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli
from sim_helpers import place, wait

from scenarios import load_scenario
from scenarios.load import build_floor
from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.core.state import Phase
from warehouse.floor import compile_floor
from warehouse.floor.formats import parse_movingai

#: a 3 × 4 MovingAI map, one obstacle at (1, 1) (linearized cell 5)
MAP = "type octile\nheight 3\nwidth 4\nmap\n....\n.@..\n....\n"
WIDTH = 4


def _floor(text: str = MAP):
    return compile_floor(parse_movingai(text))


def _sim(goals, starts, assignment="greedy", reveal=1, robots=None) -> Simulation:
    fleet = {"start_cells": starts} if robots is None else {"start_cells": starts, "robots": robots}
    cfg = SimConfig(
        fleet=FleetConfig(**fleet),
        tasks=TasksConfig(mode="goal_visit", goals=goals, assignment=assignment, reveal=reveal),
    )
    sim = Simulation(_floor(), cfg)
    sim.reset(seed=0)
    return sim


def _goal_cells(sim: Simulation) -> list[tuple[int, int] | None]:
    """Each robot's goal as (row, col), None for an idle robot."""
    out: list[tuple[int, int] | None] = []
    for node in sim.state.task_goal:
        out.append(None if node < 0 else tuple(int(v) for v in sim.floor.pos[node]))
    return out


G = [(0, 3), (2, 3), (2, 0), (0, 2), (2, 2), (1, 3), (1, 2)]
STARTS = [(0, 0), (1, 0), (2, 1)]


def test_greedy_hands_out_in_order_ties_by_robot_id() -> None:
    sim = _sim(G, STARTS)
    assert _goal_cells(sim) == [G[0], G[1], G[2]]  # robot i holds task i
    # robots 0 and 2 reach their goals in the same step: 0 takes task 3, 2 takes task 4
    place(sim, G[0], (1, 0), G[2])
    wait(sim)
    assert _goal_cells(sim) == [G[3], G[1], G[4]]
    place(sim, (0, 0), G[1], (2, 1))
    wait(sim)
    assert _goal_cells(sim) == [G[3], G[5], G[4]]
    place(sim, G[3], (1, 0), G[4])  # task 6 to robot 0; none left for robot 2
    wait(sim)
    assert _goal_cells(sim) == [G[6], G[5], None]
    assert sim.state.phase[2] == Phase.IDLE
    assert sim.state.deliveries.tolist() == [2, 1, 2]
    wait(sim)  # an idle robot on its old goal reaches nothing more
    assert sim.state.deliveries.tolist() == [2, 1, 2]


def test_greedy_reveal_holds_several_goals() -> None:
    sim = _sim(G[:6], STARTS[:2], reveal=2)
    assert _goal_cells(sim) == [G[0], G[2]]  # robot 0 holds tasks 0, 1; robot 1 tasks 2, 3
    place(sim, G[0], (1, 0))
    wait(sim)
    assert _goal_cells(sim) == [G[1], G[2]]  # its own next task, and it takes task 4
    place(sim, (0, 0), G[2])
    wait(sim)
    assert _goal_cells(sim) == [G[1], G[3]]  # ... robot 1 takes task 5
    place(sim, G[1], (1, 0))
    wait(sim)
    assert _goal_cells(sim) == [G[4], G[3]]
    assert sim._goal_queue is not None and sim._goal_queue.state()["held"].tolist() == [
        [4, -1],
        [3, 5],
    ]


@pytest.mark.parametrize(
    ("assignment", "robot0", "robot1"),
    [
        ("roundrobin", [G[0], G[2], G[1]], [G[1], G[0], G[2]]),  # i, i+N, … modulo 3
        ("roundrobin_fixed", [G[0], G[2], None], [G[1], None, None]),
    ],
)
def test_roundrobin(assignment: str, robot0: list, robot1: list) -> None:
    sim = _sim(G[:3], STARTS[:2], assignment=assignment)
    seen0, seen1 = [_goal_cells(sim)[0]], [_goal_cells(sim)[1]]
    for _ in range(2):
        g0, g1 = _goal_cells(sim)
        place(sim, g0 or (0, 0), g1 or (1, 0))
        wait(sim)
        seen0.append(_goal_cells(sim)[0])
        seen1.append(_goal_cells(sim)[1])
    assert seen0 == robot0 and seen1 == robot1


def test_fixed_instance_draws_nothing_and_ignores_the_seed() -> None:
    sim = _sim(G, STARTS)
    first = (sim.state.pos.copy(), sim.state.task_goal.copy())
    sim.reset(seed=7)
    assert np.array_equal(sim.state.pos, first[0])
    assert np.array_equal(sim.state.task_goal, first[1])
    assert [tuple(int(v) for v in sim.floor.pos[p]) for p in sim.state.pos] == STARTS
    fresh = np.random.default_rng(7).spawn(4)  # orders, goals, faults, start: none drawn
    assert sim.rng_states()["rng_goals"] == fresh[1].bit_generator.state
    assert sim.rng_states()["rng_start"] == fresh[3].bit_generator.state


def test_new_settings_at_default_leave_dumps_unchanged() -> None:
    """A scenario that does not use them is written as before they existed (scenario.yaml,
    reports, recordings), and loads back the same."""
    dumped = SimConfig().model_dump()
    assert "start_cells" not in dumped["fleet"]
    assert not {"goals", "assignment", "reveal"} & set(dumped["tasks"])
    cfg = SimConfig(fleet=FleetConfig(start_cells=[(0, 0)]))
    assert cfg.fleet.robots == 1 and SimConfig(**cfg.model_dump()) == cfg


def _problem(
    folder: Path,
    *,
    agents: str = "2\n0\n3\n",
    tasks: str = "4\n11\n8\n2\n6\n",
    **keys: object,
) -> Path:
    (folder / "maps").mkdir(exist_ok=True)
    (folder / "maps" / "m.map").write_text(MAP)
    (folder / "a.agents").write_text(agents)
    (folder / "t.tasks").write_text(tasks)
    data = {
        "mapFile": "maps/m.map",
        "agentFile": "a.agents",
        "taskFile": "t.tasks",
        "teamSize": 2,
        "numTasksReveal": 1,
        "taskAssignmentStrategy": "greedy",
        **keys,
    }
    data = {k: v for k, v in data.items() if v is not None}
    path = folder / "p.json"
    path.write_text(json.dumps(data))
    return path


def test_problem_file_reads_as_a_fixed_instance(tmp_path: Path) -> None:
    sc, src = load_scenario(_problem(tmp_path, numTasksReveal=2))
    assert sc.fleet.robots == 2 and sc.fleet.start_cells == ((0, 0), (0, 3))
    assert sc.tasks.mode == "goal_visit" and sc.tasks.goals == ((2, 3), (2, 0), (0, 2), (1, 2))
    assert (sc.tasks.assignment, sc.tasks.reveal) == ("greedy", 2)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=3)
    assert _goal_cells(sim) == [(2, 3), (0, 2)]


def test_run_problem_file_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path)
    argv = ["run", "p.json", "--policy", "rule_based", "--steps", "30", "--seeds", "0,1"]
    code, _, err = run_cli([*argv, "--out", "out"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    # four tasks, all reachable in 30 steps; then both robots wait idle, on every seed alike
    assert report["runs"][0]["kpis"]["deliveries"]["per_seed"] == [4, 4]
    again, _ = load_scenario(tmp_path / "out" / "scenario.yaml")  # the run folder reruns it
    assert again.tasks.goals == ((2, 3), (2, 0), (0, 2), (1, 2))


BAD_PROBLEMS = [
    ({"agents": "2\n0\n5\n"}, "a.agents: line 3: cell 5 (row 1, col 1) is an obstacle"),
    ({"agents": "2\n0\n12\n"}, "a.agents: line 3: cell 12 is off the map"),
    ({"agents": "2\n3\n3\n"}, "a.agents: line 3: start (0, 3) is also robot 0's"),
    ({"agents": "3\n0\n3\n"}, "a.agents: line 1: the count says 3 but 2 line(s) follow"),
    ({"tasks": "2\n11\nx7\n"}, "t.tasks: line 3: expected a linearized task cell"),
    ({"tasks": "2\n11\n2,6\n"}, "t.tasks: line 3: a task of 2 errands"),
    ({"taskFile": "tasks/none.tasks"}, "p.json: taskFile: tasks 'tasks/none.tasks' not found"),
    ({"teamSize": 3}, "p.json: teamSize: is 3 but agentFile 'a.agents' lists 2 starts"),
    ({"taskAssignmentStrategy": "fifo"}, "p.json: taskAssignmentStrategy: expected one of"),
    ({"numTasksReveal": 1.5}, "p.json: numTasksReveal: expected a whole number"),
    ({"delayConfig": {}}, "p.json: delayConfig: not read by this reader"),
    ({"mapFile": "../m.map"}, "p.json: mapFile: '../m.map' leaves the problem file's folder"),
]


@pytest.mark.parametrize(("change", "expected"), BAD_PROBLEMS)
def test_bad_problem_files_are_one_line_errors(
    change: dict,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    files = {k: change.pop(k) for k in ("agents", "tasks") if k in change}
    _problem(tmp_path, **files, **change)
    fails_cleanly(["run", "p.json", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)


BAD_SCENARIOS = [
    (
        "fleet: {robots: 3, start_cells: [[0, 0], [0, 3]]}\n",
        "s.yaml: fleet.robots: is 3 but fleet.start_cells gives 2 start cells",
    ),
    ("fleet: {start_cells: [[1, 1]]}\n", "s.yaml: fleet.start_cells[0]: (1, 1) is not a floor"),
    ("fleet: {start_cells: [[0, 9]]}\n", "s.yaml: fleet.start_cells[0]: (0, 9) is not a floor"),
    ("fleet: {start_cells: [[0, 0], [0, 0]]}\n", "s.yaml: fleet.start_cells[1]: (0, 0) given"),
    (
        "fleet: {robots: 2}\ntasks: {mode: goal_visit, goals: [[0, 0], [3, 0]]}\n",
        "s.yaml: tasks.goals[1]: (3, 0) is not a floor cell: outside the floor",
    ),
    ("tasks: {goals: [[0, 0]]}\n", "s.yaml: tasks.goals: needs tasks.mode: goal_visit"),
    ("tasks: {mode: goal_visit, assignment: roundrobin}\n", "s.yaml: tasks.assignment: needs"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_SCENARIOS)
def test_bad_fixed_settings_are_one_line_errors(
    body: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.map").write_text(MAP)
    (tmp_path / "s.yaml").write_text("layout: {type: file, path: m.map}\n" + body)
    fails_cleanly(["run", "s.yaml", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)


def test_robots_option_disagreeing_with_the_starts_names_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path)
    argv = ["run", "p.json", "--robots", "3", "--steps", "5", "--out", "out"]
    fails_cleanly(argv, tmp_path, capsys, "--robots: is 3 but fleet.start_cells gives 2")


def test_lorr_warehouse_small_instance(shared_maps: Path, tmp_path: Path) -> None:
    """A generated instance on LoRR's own warehouse_small.map: every start and goal lands on
    the cell its linearized index names, and two seeds run the same."""
    text = (shared_maps / "lorr" / "warehouse_small.map").read_text()
    (tmp_path / "w.map").write_text(text)
    floor = compile_floor(parse_movingai(text))
    width = floor.shape[1]
    free = [int(r) * width + int(c) for r, c in floor.pos[np.flatnonzero(floor.start_ok)]]
    starts, tasks = free[:: len(free) // 8][:8], free[3 :: len(free) // 40][:40]
    (tmp_path / "w.agents").write_text("\n".join(map(str, [len(starts), *starts])) + "\n")
    (tmp_path / "w.tasks").write_text("\n".join(map(str, [len(tasks), *tasks])) + "\n")
    problem = {
        "mapFile": "w.map",
        "agentFile": "w.agents",
        "taskFile": "w.tasks",
        "teamSize": 8,
        "numTasksReveal": 1,
        "taskAssignmentStrategy": "roundrobin",
    }
    (tmp_path / "w.json").write_text(json.dumps(problem))
    sc, src = load_scenario(tmp_path / "w.json")
    assert [r * width + c for r, c in sc.fleet.start_cells] == starts
    assert [r * width + c for r, c in sc.tasks.goals] == tasks
    runs = []
    for seed in (0, 1):
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        sim.reset(seed=seed)
        goals = [sim.state.task_goal.copy()]
        for _ in range(5):
            wait(sim)
        runs.append((sim.state.pos.copy(), goals[0]))
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    nodes = [floor.cell_of[divmod(t, width)] for t in tasks[:8]]
    assert runs[0][1].tolist() == nodes  # robot i starts toward task i
