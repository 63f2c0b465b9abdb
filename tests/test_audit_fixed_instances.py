"""Audit of fixed lifelong-MAPF instances (``fleet.start_cells``, ``tasks.goals``, League of Robot
Runners problem files) across the front-ends other than ``warehouse run``: the PettingZoo env,
the Mesa model and ``warehouse sweep``, dispatcher training, and a fleet smaller than the start
list (the first N starts, as LoRR's ``teamSize``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

import warehouse
from scenarios import load_scenario
from scenarios.load import apply_overrides, build_floor
from warehouse.core import Simulation
from warehouse.core.state import Phase
from warehouse.model import WarehouseModel

#: a 5 × 6 MovingAI map with six obstacles
MAP = "type octile\nheight 5\nwidth 6\nmap\n......\n.@@.@.\n......\n.@..@.\n......\n"
WIDTH = 6
STARTS = [(0, 0), (0, 5), (4, 0)]  #: linearized 0, 5, 24
GOALS = [(0, 2), (4, 5), (2, 0), (2, 5), (0, 3), (4, 2)]


def _lin(cells: list[tuple[int, int]]) -> str:
    """An agent or task file: the count, then one linearized cell a line."""
    return "\n".join(map(str, [len(cells), *(r * WIDTH + c for r, c in cells)])) + "\n"


def _problem(
    folder: Path,
    starts: list[tuple[int, int]] = STARTS,
    goals: list[tuple[int, int]] = GOALS,
    **keys: object,
) -> Path:
    """A problem file ``p.json`` on :data:`MAP`."""
    (folder / "m.map").write_text(MAP)
    (folder / "a.agents").write_text(_lin(starts))
    (folder / "t.tasks").write_text(_lin(goals))
    data = {
        "mapFile": "m.map",
        "agentFile": "a.agents",
        "taskFile": "t.tasks",
        "teamSize": len(starts),
        "numTasksReveal": 1,
        "taskAssignmentStrategy": "greedy",
        **keys,
    }
    path = folder / "p.json"
    path.write_text(json.dumps(data))
    return path


def _scenario_file(folder: Path, extra: str = "") -> Path:
    """The same instance as a scenario file ``s.yaml``."""
    (folder / "m.map").write_text(MAP)
    starts, goals = (json.dumps([list(c) for c in cells]) for cells in (STARTS, GOALS))
    path = folder / "s.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {starts}{extra}}}\n"
        f"tasks: {{mode: goal_visit, goals: {goals}}}\n"
    )
    return path


def _cells(sim: Simulation, nodes: np.ndarray) -> list[tuple[int, int] | None]:
    return [None if n < 0 else tuple(int(v) for v in sim.floor.pos[n]) for n in nodes]


# --- fewer robots than start cells: the first N (LoRR's teamSize) ----------------------------


@pytest.mark.parametrize("kind", ["problem", "scenario"])
def test_fewer_robots_take_the_first_start_cells(kind: str, tmp_path: Path) -> None:
    path = _problem(tmp_path) if kind == "problem" else _scenario_file(tmp_path)
    sc, src = load_scenario(path)
    sc = apply_overrides(sc, {"fleet.robots": 2}, src, {"fleet.robots": "--robots"})
    sim = Simulation(build_floor(sc, src, {"fleet.robots": "--robots"}), sc.sim_config())
    for seed in (0, 9):
        sim.reset(seed=seed)
        assert _cells(sim, sim.state.pos) == STARTS[:2]
        assert _cells(sim, sim.state.task_goal) == GOALS[:2]  # robot i holds task i


def test_robots_in_a_scenario_file_below_the_start_count_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``fleet.robots: 2`` beside three starts, through the CLI: two robots, and the run folder's
    ``scenario.yaml`` (all three starts kept) reruns the same fleet."""
    monkeypatch.chdir(tmp_path)
    _scenario_file(tmp_path, ", robots: 2")
    argv = ["run", "s.yaml", "--policy", "rule_based", "--steps", "30", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--out", "out"], capsys)
    assert code == 0, err
    kpis = json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]["kpis"]
    assert kpis["robots"]["per_seed"] == [2]
    again, _ = load_scenario(tmp_path / "out" / "scenario.yaml")
    assert again.fleet.robots == 2 and again.fleet.start_cells == tuple(STARTS)


def test_more_robots_than_start_cells_stays_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path)
    argv = ["sweep", "p.json", "--set", "fleet.robots=2,4", "--steps", "5", "--seeds", "0"]
    fails_cleanly(
        [*argv, "--out", "out"], tmp_path, capsys, "--set fleet.robots: is 4 but fleet.start_cells"
    )


def test_sweep_over_the_fleet_size_of_a_problem_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path)
    argv = ["sweep", "p.json", "--set", "fleet.robots=1,3", "--policy", "rule_based"]
    code, _, err = run_cli([*argv, "--steps", "15", "--seeds", "0", "--out", "out"], capsys)
    assert code == 0, err
    with (tmp_path / "out" / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["fleet.robots"], r["robots"]) for r in rows] == [("1", "1"), ("3", "3")]
    # one robot works the whole sequence alone, more slowly than three
    assert 0 < int(rows[0]["deliveries"]) < int(rows[1]["deliveries"]) == len(GOALS)


def test_clearing_the_start_cells_keeps_the_fleet_size(tmp_path: Path) -> None:
    """``--set fleet.start_cells=[]`` places the same fleet by ``fleet.start`` (it used to fall
    back to the default 20 robots)."""
    sc, src = load_scenario(_problem(tmp_path))
    sc = apply_overrides(sc, {"fleet.start_cells": [], "tasks.goals": []}, src)
    assert (sc.fleet.robots, sc.fleet.start_cells) == (3, ())


# --- dispatcher training randomizes the fleet size -------------------------------------------


def test_dispatcher_training_fleets_on_fixed_starts(tmp_path: Path) -> None:
    """Domain randomization draws fleets of 0.6–1.4 × the scenario's robots: on fixed starts
    (of a pickup-delivery floor) each takes the first of them and none outgrows them (it was a
    traceback)."""
    from hierarchy.train import FloorPool, RandomizeConfig

    (tmp_path / "m.map").write_text(MAP)
    path = tmp_path / "s.yaml"  # (orders to dispatch: goal_visit is refused for training)
    starts = json.dumps([list(c) for c in STARTS])
    path.write_text(f"layout: {{type: file, path: m.map}}\nfleet: {{start_cells: {starts}}}\n")
    pool = FloorPool((str(path),), None)
    rng = np.random.default_rng(0)
    sizes = set()
    for _ in range(12):
        sim = pool.randomized(rng, RandomizeConfig())
        sim.reset(seed=0)
        sizes.add(sim.n_robots)
        assert _cells(sim, sim.state.pos) == STARTS[: sim.n_robots]
    assert sizes == {2, 3}


# --- the PettingZoo env and the Mesa model ---------------------------------------------------


def test_env_of_a_problem_file_every_seed_alike_and_idle_in_its_spaces(tmp_path: Path) -> None:
    """Robots on their own goals reach them at the first step, then the sequence has run out:
    idle robots' observations stay inside the space; every seed gives the same starts/goals."""
    from pettingzoo.test import parallel_api_test

    env = warehouse.make_env(str(_problem(tmp_path, goals=STARTS)), steps=12)
    firsts = []
    for seed in (0, 5):
        env.reset(seed=seed)
        firsts.append((env.sim.state.pos.tolist(), env.sim.state.task_goal.tolist()))
    assert firsts[0] == firsts[1]
    obs, _ = env.reset(seed=0)
    waits = dict.fromkeys(env.agents, 0)
    while env.agents:
        for agent, o in obs.items():
            assert env.observation_space(agent).contains(o), agent
        obs, *_ = env.step(waits)
    assert env.sim.state.deliveries.tolist() == [1, 1, 1]
    assert (env.sim.state.phase == int(Phase.IDLE)).all()
    assert (env.sim.state.task_goal == -1).all()
    parallel_api_test(env, num_cycles=20)


def test_mesa_model_of_a_fixed_instance_counts_each_goal_once(tmp_path: Path) -> None:
    """All six goals reached, then idle: six deliveries on every seed, per robot summing to
    them, and no robot counted as stuck for waiting without a task."""
    runs = []
    for seed in (0, 3):
        model = WarehouseModel(
            str(_problem(tmp_path)),
            policy="rule_based",
            steps=80,
            seed=seed,
            **{"physics.stuck_after": 10},
        )
        kpis = model.run()
        per_robot = sum(r.deliveries for r in model.robots)
        runs.append((kpis["deliveries"], per_robot, kpis["stuck_robots"], kpis["robots"]))
    assert runs == [(len(GOALS), len(GOALS), 0, 3)] * 2
