"""Audit of the fixed lifelong-MAPF instances (``fleet.start_cells``, ``tasks.goals``) and League
of Robot Runners problem files: overrides of the new settings, the problem reader's bad input and
size limits, the goal queue's memory and the step result of a robot whose sequence ran out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli
from sim_helpers import place, wait

from scenarios import load_scenario
from scenarios.load import apply_overrides
from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.core.fixed_tasks import GoalQueue
from warehouse.core.state import Phase
from warehouse.errors import InputError
from warehouse.floor import compile_floor
from warehouse.floor.formats import parse_movingai

#: a 3 × 4 MovingAI map, one obstacle at (1, 1) (linearized cell 5)
MAP = "type octile\nheight 3\nwidth 4\nmap\n....\n.@..\n....\n"


def _problem(
    folder: Path,
    *,
    agents: str = "2\n0\n3\n",
    tasks: str = "4\n11\n8\n2\n6\n",
    raw: dict[str, str] | None = None,
    **keys: object,
) -> Path:
    """A problem file ``p.json`` on :data:`MAP`; ``raw`` gives keys as JSON text (NaN, 1e300)."""
    (folder / "m.map").write_text(MAP)
    (folder / "a.agents").write_text(agents)
    (folder / "t.tasks").write_text(tasks)
    data: dict[str, object] = {
        "mapFile": "m.map",
        "agentFile": "a.agents",
        "taskFile": "t.tasks",
        "teamSize": 2,
        "numTasksReveal": 1,
        "taskAssignmentStrategy": "greedy",
        **keys,
    }
    text = json.dumps({k: v for k, v in data.items() if k not in (raw or {})})
    for key, value in (raw or {}).items():
        text = text[:-1] + f', "{key}": {value}}}'
    path = folder / "p.json"
    path.write_text(text)
    return path


# --- --set of the new settings --------------------------------------------------------------


def test_set_assignment_and_reveal_on_a_problem_file(tmp_path: Path) -> None:
    """``--set tasks.assignment=roundrobin`` was "unknown setting": the override machinery
    listed the settings of the scenario as dumped, which leaves these out at their default."""
    sc, src = load_scenario(_problem(tmp_path))
    changed = apply_overrides(sc, {"tasks.assignment": "roundrobin", "tasks.reveal": 2}, src)
    assert (changed.tasks.assignment, changed.tasks.reveal) == ("roundrobin", 2)
    assert changed.tasks.goals == sc.tasks.goals and changed.fleet == sc.fleet


def test_set_start_cells_and_goals_on_a_map(tmp_path: Path) -> None:
    """A map file becomes a fixed instance by ``--set``: the robots follow the start cells."""
    (tmp_path / "m.map").write_text(MAP)
    sc, src = load_scenario(tmp_path / "m.map")
    changed = apply_overrides(
        sc,
        {
            "fleet.start_cells": [[0, 0], [2, 3]],
            "tasks": "goal_visit",
            "tasks.goals": [[0, 3], [2, 0]],
        },
        src,
    )
    assert changed.fleet.robots == 2 and changed.fleet.start_cells == ((0, 0), (2, 3))
    assert changed.tasks.goals == ((0, 3), (2, 0))


def test_cli_set_assignment_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path, tasks="3\n11\n8\n2\n")
    argv = ["run", "p.json", "--policy", "rule_based", "--steps", "40", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--set", "tasks.assignment=roundrobin", "--out", "o"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    # roundrobin repeats the sequence: more goals reached than the three of the file
    assert report["runs"][0]["kpis"]["deliveries"]["per_seed"][0] > 3
    again, _ = load_scenario(tmp_path / "o" / "scenario.yaml")
    assert again.tasks.assignment == "roundrobin"


def test_tasks_option_against_a_problem_file_names_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--tasks pickup_delivery`` on a problem file was blamed on the file's ``tasks.goals``."""
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path)
    argv = ["run", "p.json", "--tasks", "pickup_delivery", "--steps", "5", "--out", "out"]
    fails_cleanly(argv, tmp_path, capsys, "--tasks: tasks.goals")


# --- the problem reader's bad input ---------------------------------------------------------

BAD_REVEAL = [
    ("NaN", "p.json: numTasksReveal: expected a whole number"),
    ("Infinity", "p.json: numTasksReveal: expected a whole number"),
    ("-Infinity", "p.json: numTasksReveal: expected a whole number"),
    ("1e300", "p.json: numTasksReveal: expected a whole number ≥ 1 and ≤ 10000000"),
    ("null", "p.json: numTasksReveal: expected a whole number ≥ 1 (2023 format), got null"),
    ("1" + "0" * 400, "p.json: numTasksReveal: expected a whole number ≥ 1 and ≤ 10000000"),
    ("true", "p.json: numTasksReveal: expected a whole number ≥ 1 (2023 format), got true"),
]


@pytest.mark.parametrize(("value", "expected"), BAD_REVEAL)
def test_bad_num_tasks_reveal_is_a_one_line_error(
    value: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """NaN and ±Infinity (which the JSON reader takes) were a ValueError / OverflowError
    traceback; 1e300 was blamed on ``tasks.reveal``, a key the file does not have."""
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path, raw={"numTasksReveal": value})
    fails_cleanly(["run", "p.json", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)


def test_too_many_tasks_is_refused_before_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task file of more lines than the reader takes is one line naming the limit (a 10
    million line file took minutes and gigabytes before failing or running)."""
    from warehouse.floor.formats import lorr

    monkeypatch.setattr(lorr, "MAX_LINES", 5)
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path, tasks="6\n" + "11\n" * 6)
    expected = "t.tasks: line 1: 6 lines follow the count; agent and task files are limited to 5"
    fails_cleanly(["run", "p.json", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)
    _problem(tmp_path, tasks="6\n11\n")
    expected = "t.tasks: line 1: the count is 6; agent and task files are limited to 5"
    fails_cleanly(["run", "p.json", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)


def test_goal_sequence_length_is_capped_in_scenarios() -> None:
    from warehouse.config import MAX_GOALS

    with pytest.raises(ValueError, match="at most"):
        TasksConfig(mode="goal_visit", goals=[(0, 0)] * (MAX_GOALS + 1))


# --- the goal queue --------------------------------------------------------------------------


def test_reveal_beyond_the_sequence_holds_no_more_than_the_sequence() -> None:
    """``reveal`` of ten million made the queue hold ten million slots per robot (80 MB a
    robot: a 100-robot fleet asked for 8 GB); no robot can hold more goals than there are."""
    goals = np.arange(4, dtype=np.int32)
    queue = GoalQueue(goals, 3, "greedy", 10_000_000)
    queue.reset()
    assert queue.held.shape == (3, 4)
    assert queue.held.tolist() == [[0, 1, 2, 3], [-1] * 4, [-1] * 4]
    assert queue.current(np.arange(3)).tolist() == [0, -1, -1]
    for expected in (1, 2, 3, -1):
        queue.advance(np.array([0]))
        assert int(queue.current(np.array([0]))[0]) == expected


def _sim(goals: list, starts: list) -> Simulation:
    cfg = SimConfig(
        fleet=FleetConfig(start_cells=starts),
        tasks=TasksConfig(mode="goal_visit", goals=goals),
    )
    sim = Simulation(compile_floor(parse_movingai(MAP)), cfg)
    sim.reset(seed=0)
    return sim


def test_robot_whose_sequence_runs_out_became_idle() -> None:
    """``StepResult.became_idle`` ("finished its task this step") stayed False for a robot that
    reached its last goal and went idle."""
    sim = _sim([(0, 3), (2, 3), (2, 0)], [(0, 0), (2, 1)])
    place(sim, (0, 3), (2, 1))  # robot 0 reaches task 0 and takes task 2; robot 1 on the way
    res = sim.step(np.zeros(2, dtype=np.int64))
    assert res.delivered.tolist() == [True, False] and res.became_idle.tolist() == [False, False]
    place(sim, (2, 0), (2, 3))  # both reach their last goals: none is left
    res = sim.step(np.zeros(2, dtype=np.int64))
    assert sim.state.phase.tolist() == [Phase.IDLE, Phase.IDLE]
    assert res.delivered.tolist() == [True, True]
    assert res.became_idle.tolist() == [True, True]
    wait(sim)
    assert sim.state.deliveries.tolist() == [2, 1]


def test_reveal_times_robots_beyond_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Robots × goals held is the queue's size: past its limit a one-line error, not a
    MemoryError (or the kernel's out-of-memory kill) when the episode starts."""
    from warehouse.core import fixed_tasks

    monkeypatch.setattr(fixed_tasks, "MAX_HELD", 5)
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path, numTasksReveal=3)
    expected = "p.json: tasks.reveal: 3 goals held by each of 2 robots is too many (at most 5"
    fails_cleanly(["run", "p.json", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)
    code, _, err = run_cli(["validate", "p.json"], capsys)
    assert code == 2 and expected in err


def test_goal_on_own_cell_and_repeated_goal_are_reached_one_a_step() -> None:
    """As LoRR's start kit (``BaseSystem::move`` pops at most the front task a step): a goal on
    the robot's cell is reached at the next step, the same cell twice takes two steps."""
    sim = _sim([(0, 0), (0, 0), (2, 3)], [(0, 0)])
    assert sim.state.task_goal.tolist() == [sim.floor.cell_of[0, 0]]  # no arrival at reset
    assert sim.state.deliveries.tolist() == [0]
    for reached in (1, 2):
        wait(sim)
        assert sim.state.deliveries.tolist() == [reached]
    assert tuple(int(v) for v in sim.floor.pos[sim.state.task_goal[0]]) == (2, 3)


@pytest.mark.parametrize(
    ("team", "expected"),
    [
        (2.0, None),  # a whole float is a count, as numTasksReveal's 3.0 is
        (1.5, "p.json: teamSize: expected a whole number ≥ 1, got 1.5"),
        ("2", 'p.json: teamSize: expected a whole number ≥ 1, got "2"'),
        (True, "p.json: teamSize: expected a whole number ≥ 1, got true"),
        (0, "p.json: teamSize: expected a whole number ≥ 1, got 0"),
    ],
)
def test_team_size_is_read_as_a_count_like_num_tasks_reveal(
    tmp_path: Path, team: object, expected: str | None
) -> None:
    """``teamSize: 2.0`` was refused while ``numTasksReveal: 3.0`` was accepted: both are
    counts now, read by one rule."""
    path = _problem(tmp_path, teamSize=team)
    if expected is None:
        sc, _ = load_scenario(path)
        assert sc.fleet.robots == 2
        return
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert exc.value.one_line().endswith(expected)
