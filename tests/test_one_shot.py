"""One-shot MAPF (``tasks.assignment: one_shot``): robot i's one goal is ``tasks.goals[i]``, held
after arrival (pushed off, it drives back); ``deliveries`` counts first arrivals; the KPIs
``solved``, ``on_goal_share``, ``makespan``, ``sum_of_costs`` and ``sum_of_costs_lb``; every
front-end (run, env, Mesa model, recordings, sweep, compare); other modes unchanged."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

import warehouse
from scenarios import load_scenario
from scenarios.load import build_floor
from warehouse.core import Simulation
from warehouse.core.state import Phase
from warehouse.kpis import ONE_SHOT_KPIS, compute_kpis
from warehouse.model import WarehouseModel

#: a 5 × 6 MovingAI map with six obstacles: rows 0, 2 and 4 are open lanes
OPEN = "type octile\nheight 5\nwidth 6\nmap\n......\n.@@.@.\n......\n.@..@.\n......\n"
#: a one-lane corridor (row 1) with a pocket above its middle cell (0, 3)
CORRIDOR = "type octile\nheight 2\nwidth 7\nmap\n@@@.@@@\n.......\n"
UP, RIGHT, DOWN, LEFT, WAIT = 1, 2, 3, 4, 0  #: grid action indices (warehouse.floor.kinds)


def _scenario(
    folder: Path,
    starts: list[tuple[int, int]],
    goals: list[tuple[int, int]],
    grid: str = OPEN,
    extra: str = "",
    tasks_extra: str = "",
) -> Path:
    (folder / "m.map").write_text(grid)
    s, g = (json.dumps([list(c) for c in cells]) for cells in (starts, goals))
    path = folder / "s.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {s}{extra}}}\n"
        f"tasks: {{mode: goal_visit, goals: {g}, assignment: one_shot{tasks_extra}}}\n"
    )
    return path


def _sim(path: Path) -> Simulation:
    sc, src = load_scenario(path)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=0)
    return sim


def _one_shot(kpis: dict) -> dict:
    return {name: kpis[name] for name in ("deliveries", *ONE_SHOT_KPIS)}


#: three robots on their own lanes: robot 0 drives 4 steps, robot 1 starts on its goal, robot 2
#: drives 3 steps; makespan 4, sum of costs 4 + 0 + 3, lower bound the same
THREE_STARTS = [(0, 0), (2, 2), (4, 5)]
THREE_GOALS = [(0, 4), (2, 2), (4, 2)]
THREE_KPIS = {
    "deliveries": 3,
    "solved": 1,
    "on_goal_share": 1.0,
    "makespan": 4,
    "sum_of_costs": 7,
    "sum_of_costs_lb": 7,
}


# --- core semantics ----------------------------------------------------------------------------


def test_hand_computed_instance_keeps_its_kpis_after_it_is_solved(tmp_path: Path) -> None:
    """Makespan, sum of costs and lower bound as computed by hand, the same at the step the
    instance is solved and 26 steps later (the rule-based fleet stands still on its goals);
    robot 1, which starts on its goal, is counted once, at step 1."""
    path = _scenario(tmp_path, THREE_STARTS, THREE_GOALS)
    model = WarehouseModel(str(path), policy="rule_based", steps=30, seed=0)
    sim = model.sim
    assert sim.state.goal_since.tolist() == [-1, 0, -1]
    assert _one_shot(compute_kpis(sim))["makespan"] is None  # not solved at the start
    for _ in range(4):
        model.step()
    assert _one_shot(compute_kpis(sim)) == THREE_KPIS
    frozen = sim.state.pos.copy()
    for _ in range(26):
        model.step()
    assert _one_shot(compute_kpis(sim)) == THREE_KPIS
    assert (sim.state.pos == frozen).all()
    assert sim.state.deliveries.tolist() == [1, 1, 1]
    assert (sim.state.phase == int(Phase.TO_GOAL)).all()  # goals held, not dropped
    assert _cells(sim, sim.state.task_goal) == THREE_GOALS
    assert compute_kpis(sim)["stuck_robots"] == 0 and compute_kpis(sim)["blocked_share"] == 0


def _cells(sim: Simulation, nodes: np.ndarray) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in sim.floor.pos[n]) for n in nodes]


def test_pushed_off_and_back_restarts_the_count_and_counts_the_first_arrival_once(
    tmp_path: Path,
) -> None:
    """Robot 0 stands on its goal from the start; stepped off and back by hand, its record
    restarts at its last arrival (sum of costs 2, not 0) and it is not counted again; the
    delivery reward is paid for the first arrival only."""
    path = _scenario(tmp_path, [(0, 0), (4, 0)], [(0, 0), (4, 0)], extra="")
    sim = _sim(path)
    rewards = []
    for a0 in (WAIT, RIGHT, LEFT, WAIT):
        result = sim.step(np.array([a0, WAIT]))
        rewards.append(result.reward.tolist())
    assert sim.state.deliveries.tolist() == [1, 1]
    assert sim.state.goal_since.tolist() == [3, 0]
    kpis = compute_kpis(sim)
    assert (kpis["makespan"], kpis["sum_of_costs"], kpis["sum_of_costs_lb"]) == (3, 3, 0)
    delivery = sim.config.reward.delivery
    assert rewards[0][1] - rewards[1][1] == pytest.approx(delivery)  # step 1 only
    assert rewards[2][0] < delivery / 2  # back on its goal: no second delivery reward


@pytest.mark.parametrize("collisions", ["pibt", "pibt_swap"])
def test_a_robot_pushed_off_its_goal_drives_back(collisions: str, tmp_path: Path) -> None:
    """Robot A's goal lies on robot B's way through a one-lane corridor: A makes way into the
    pocket (off its goal), B passes, A drives back. Sum of costs counts A's last arrival
    (step 4), not its start on the goal; B reaches its goal in 6 steps."""
    path = _scenario(tmp_path, [(1, 3), (1, 0)], [(1, 3), (1, 6)], grid=CORRIDOR)
    model = WarehouseModel(
        str(path), policy="rule_based", steps=20, seed=0, **{"physics.collisions": collisions}
    )
    sim = model.sim
    trace = []
    for _ in range(20):
        model.step()
        trace.append(int(sim.state.goal_since[0]))
    assert -1 in trace  # A was off its goal
    assert trace[-1] == 4
    assert _one_shot(compute_kpis(sim)) == {
        "deliveries": 2,
        "solved": 1,
        "on_goal_share": 1.0,
        "makespan": 6,
        "sum_of_costs": 10,
        "sum_of_costs_lb": 6,
    }


def test_unsolved_run_reports_the_share_on_goal_only(tmp_path: Path) -> None:
    path = _scenario(tmp_path, THREE_STARTS, THREE_GOALS)
    sim = _sim(path)
    sim.step(np.zeros(3, dtype=np.int64))
    kpis = compute_kpis(sim)
    assert (kpis["solved"], kpis["makespan"], kpis["sum_of_costs"]) == (0, None, None)
    assert kpis["on_goal_share"] == pytest.approx(1 / 3)
    assert kpis["sum_of_costs_lb"] == 7


def test_more_goals_than_robots_take_the_first(tmp_path: Path) -> None:
    path = _scenario(tmp_path, THREE_STARTS, [*THREE_GOALS, (0, 5)])
    sim = _sim(path)
    assert _cells(sim, sim.state.task_goal) == THREE_GOALS


def test_other_kpis_are_none_outside_one_shot(tmp_path: Path) -> None:
    path = _scenario(tmp_path, THREE_STARTS, THREE_GOALS)
    text = path.read_text().replace("assignment: one_shot", "assignment: roundrobin_fixed")
    path.write_text(text)
    kpis = compute_kpis(_sim(path))
    assert all(kpis[name] is None for name in ONE_SHOT_KPIS)


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goals", "tasks_extra", "expected"),
    [
        (THREE_GOALS[:2], "", "s.yaml: tasks.goals: gives 2 goals but fleet.robots is 3"),
        (THREE_GOALS, ", reveal: 2", "s.yaml: tasks.reveal: does not apply under"),
    ],
)
def test_bad_one_shot_instances_are_one_line_errors(
    goals: list[tuple[int, int]],
    tasks_extra: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    _scenario(tmp_path, THREE_STARTS, goals, tasks_extra=tasks_extra)
    argv = ["run", "s.yaml", "--policy", "rule_based", "--steps", "5", "--seeds", "0"]
    fails_cleanly([*argv, "--out", "out"], tmp_path, capsys, expected)


def test_one_shot_needs_goal_visit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without tasks.goals one_shot is a random instance (tests/test_one_shot_random.py); it
    still needs goal_visit."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.map").write_text(OPEN)
    (tmp_path / "s.yaml").write_text(
        "layout: {type: file, path: m.map}\nfleet: {robots: 2}\n"
        "tasks: {mode: pickup_delivery, assignment: one_shot}\n"
    )
    argv = ["run", "s.yaml", "--policy", "rule_based", "--steps", "5", "--seeds", "0"]
    line = fails_cleanly([*argv, "--out", "out"], tmp_path, capsys, "s.yaml: tasks.assignment")
    assert "needs tasks.mode: goal_visit" in line


# --- front-ends --------------------------------------------------------------------------------


def test_run_table_report_and_recording_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse run --record``: the table and report.json show the one-shot KPIs, and those
    rebuilt from the recording (every frame's record of who holds its goal, blocked steps that
    leave out robots holding theirs) match the live run's."""
    from warehouse.recording import kpis_from_recording, load_recording

    monkeypatch.chdir(tmp_path)
    _scenario(tmp_path, [(1, 3), (1, 0)], [(1, 3), (1, 6)], grid=CORRIDOR)
    argv = ["run", "s.yaml", "--policy", "rule_based", "--collisions", "pibt", "--steps", "12"]
    code, out, err = run_cli([*argv, "--seeds", "0", "--out", "o", "--record", "r.npz"], capsys)
    assert code == 0, err
    for name in ONE_SHOT_KPIS:
        assert name in out
    live = json.loads((tmp_path / "o" / "report.json").read_text())["runs"][0]["kpis"]
    rebuilt = kpis_from_recording(load_recording(tmp_path / "r.npz"))
    for name in (*ONE_SHOT_KPIS, "deliveries", "blocked_share", "stuck_robot_share"):
        assert rebuilt[name] == live[name]["per_seed"][0], name
    assert (rebuilt["makespan"], rebuilt["sum_of_costs"]) == (6, 10)
    mid = kpis_from_recording(load_recording(tmp_path / "r.npz"), frame=3)
    assert (mid["solved"], mid["on_goal_share"]) == (0, 0.0)  # A in the pocket, B driving


def test_env_observations_stay_in_their_spaces_and_pay_each_arrival_once(tmp_path: Path) -> None:
    path = _scenario(tmp_path, THREE_STARTS, THREE_GOALS)
    env = warehouse.make_env(str(path), steps=12)
    obs, _ = env.reset(seed=0)
    total = dict.fromkeys(env.agents, 0.0)
    right = {"robot_0": RIGHT, "robot_1": WAIT, "robot_2": LEFT}
    while env.agents:
        for agent, o in obs.items():
            assert env.observation_space(agent).contains(o), agent
        held = env.sim.state.goal_since >= 0  # drive to the goal, then hold it
        actions = {a: WAIT if held[i] else right[a] for i, a in enumerate(env.agents)}
        obs, rewards, *_ = env.step(actions)
        for agent, r in rewards.items():
            total[agent] += r
    assert env.sim.state.deliveries.tolist() == [1, 1, 1]
    assert compute_kpis(env.sim)["makespan"] == 4
    delivery = env.sim.config.reward.delivery
    assert all(delivery / 2 < r < 1.5 * delivery for r in total.values()), total


def test_mesa_datacollector_reports_the_one_shot_kpis(tmp_path: Path) -> None:
    path = _scenario(tmp_path, THREE_STARTS, THREE_GOALS)
    model = WarehouseModel(str(path), policy="rule_based", steps=8, seed=0)
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["sum_of_costs"].iloc[-1] == 7 and frame["makespan"].iloc[-1] == 4
    assert frame["solved"].iloc[-1] == 1 and frame["on_goal_share"].iloc[-1] == 1.0
    assert frame["sum_of_costs_lb"].iloc[-1] == 7


def test_sweep_and_compare_carry_the_one_shot_kpis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _scenario(tmp_path, [(1, 3), (1, 0)], [(1, 3), (1, 6)], grid=CORRIDOR)
    argv = ["sweep", "s.yaml", "--set", "physics.collisions=pibt,pibt_swap", "--policy"]
    argv += ["rule_based", "--steps", "12", "--seeds", "0", "--out", "w"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    with (tmp_path / "w" / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["solved"], r["makespan"], r["sum_of_costs"]) for r in rows] == [("1", "6", "10")] * 2
    base = ["run", "s.yaml", "--policy", "rule_based", "--steps", "12", "--seeds", "0"]
    for name, mode in (("a", "pibt"), ("b", "pibt_swap")):
        code, _, err = run_cli([*base, "--collisions", mode, "--out", name], capsys)
        assert code == 0, err
    code, out, err = run_cli(["compare", "a", "b", "--json"], capsys)
    assert code == 0, err
    rows = json.loads(out)["pairs"]
    (pair,) = rows.values()
    assert pair["sum_of_costs"]["diff"] == 0 and pair["makespan"]["diff"] == 0


# --- other modes unchanged ---------------------------------------------------------------------

_NEW_COLUMNS = set(ONE_SHOT_KPIS)
#: sha256 of kpis.csv and robots.csv without the one-shot columns, written by the code before
#: one_shot existed (``warehouse run small --steps 200 --seeds 0 --policy rule_based``, and the
#: roundrobin_fixed instance below, 100 steps under pibt)
_BEFORE = {
    "small": (
        "b9423f49d680085afb07403ad6e3201bdef46e8d237cb06f2e41102ce85500c7",
        "8713ca6cf813dc9fb48e653b926236ca032403a3ca8f16454585bf0441e9a16b",
    ),
    "fixed": (
        "218ba2b7917d524f2e5c711a3eb500fc21711c8901f5b5bdc3a7f20f2bbe07ba",
        "c01d9e173caf2dfeda5d32f9723353b7cfcfdd389cb47047b7a5d9b87169cba4",
    ),
}


def _digest(path: Path) -> str:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, name in enumerate(rows[0]) if name not in _NEW_COLUMNS]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[r[i] for i in keep] for r in rows])
    return hashlib.sha256(out.getvalue().encode()).hexdigest()


@pytest.mark.parametrize("which", ["small", "fixed"])
def test_other_modes_write_what_they_wrote_before(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    if which == "small":
        argv = ["run", "small", "--steps", "200", "--seeds", "0", "--policy", "rule_based"]
    else:
        path = _scenario(tmp_path, THREE_STARTS, [(0, 2), (4, 5), (2, 0), (2, 5), (0, 3), (4, 2)])
        text = path.read_text().replace("one_shot", "roundrobin_fixed")
        path.write_text(text.replace("[[0, 0], [2, 2], [4, 5]]", "[[0, 0], [0, 5], [4, 0]]"))
        argv = ["run", "s.yaml", "--steps", "100", "--seeds", "0", "--policy", "rule_based"]
        argv += ["--collisions", "pibt"]
    code, out, err = run_cli([*argv, "--out", "o"], capsys)
    assert code == 0, err
    assert (_digest(tmp_path / "o" / "kpis.csv"), _digest(tmp_path / "o" / "robots.csv")) == (
        _BEFORE[which]
    )
    for name in ONE_SHOT_KPIS:  # the new columns are empty, the table leaves them out
        assert name not in out
    with (tmp_path / "o" / "kpis.csv").open() as f:
        assert all(row[name] == "" for row in csv.DictReader(f) for name in ONE_SHOT_KPIS)


@pytest.mark.parametrize("policy", ["hierarchical", "cql"])
def test_learned_navigators_hold_their_goals(policy: str, tmp_path: Path) -> None:
    """The networks were trained on lifelong floors, where a robot on its goal gets the next one
    at once: left to them, the hierarchy's robots stepped off their goals for good (the README's
    MovingAI instance: unsolved, 4.5× the rule-based fleet's distance). A robot holding its goal
    now waits unless a shield pushes it (``agents.batched``, ``Simulation.holding_goal``)."""
    path = _scenario(tmp_path, THREE_STARTS, THREE_GOALS)
    model = WarehouseModel(str(path), policy=policy, steps=40, seed=0)
    for _ in range(40):
        model.step()
        if model.sim.t == 10:
            moved = model.sim.state.distance_m.copy()
    kpis = compute_kpis(model.sim)
    assert _one_shot(kpis) == THREE_KPIS
    assert np.array_equal(model.sim.state.distance_m, moved)  # nobody moved once all held
