"""Random one-shot MAPF instances: ``tasks.assignment: one_shot`` without ``tasks.goals`` draws at
each reset a different goal cell per robot from the episode's goal stream (the starts placed by
``fleet.start``, or ``fleet.start_cells``): same seed, same instance; another seed, another;
more robots than goal cells is a one-line error; every other run draws what it drew before;
``warehouse run`` and ``warehouse sweep`` over ``fleet.robots`` run them."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

from scenarios import load_scenario
from scenarios.load import build_floor
from warehouse.core import Simulation
from warehouse.core.state import Phase
from warehouse.kpis import ONE_SHOT_KPIS, compute_kpis

#: a 5 × 6 MovingAI map with five obstacles: 25 free cells, rows 0, 2 and 4 open lanes
OPEN = "type octile\nheight 5\nwidth 6\nmap\n......\n.@@.@.\n......\n.@..@.\n......\n"
FREE = 25
#: a POGEMA map: 15 cells, two start-only (``@``) and one goal-only (``$``): 14 starts, 13 goals
START_ONLY = ".@.@.\n.....\n....$\n"


def _scenario(folder: Path, robots: int = 6, fleet_extra: str = "", tasks_extra: str = "") -> Path:
    (folder / "m.map").write_text(OPEN)
    path = folder / "s.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{robots: {robots}{fleet_extra}}}\n"
        f"tasks: {{mode: goal_visit, assignment: one_shot{tasks_extra}}}\n"
    )
    return path


def _sim(path: Path) -> Simulation:
    sc, src = load_scenario(path)
    return Simulation(build_floor(sc, src), sc.sim_config())


def _instance(sim: Simulation, seed: int | None) -> tuple[list[int], list[int]]:
    sim.reset(seed=seed)
    assert sim.one_shot_goals is not None
    return sim.state.pos.tolist(), sim.one_shot_goals.tolist()


# --- the draw ----------------------------------------------------------------------------------


@pytest.mark.parametrize("robots", [1, 6, FREE])
def test_every_robot_gets_a_different_goal_cell(robots: int, tmp_path: Path) -> None:
    sim = _sim(_scenario(tmp_path, robots))
    assert sim.random_one_shot and sim.one_shot_goals is None  # drawn at reset
    for seed in range(5):
        _, goals = _instance(sim, seed)
        assert len(goals) == robots and len(set(goals)) == robots
        assert sim.floor.goal_ok[goals].all()
        s = sim.state
        assert s.task_goal.tolist() == goals and (s.phase == Phase.TO_GOAL).all()
        assert sim.sum_of_costs_lb == int(sim.dist.lookup(s.task_goal, s.pos).sum())
    if robots == FREE:  # every goal cell, each once
        assert sorted(goals) == np.flatnonzero(sim.floor.goal_ok).tolist()


def test_same_seed_same_instance_other_seeds_others(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    a, b = _sim(path), _sim(path)
    instances = [_instance(a, seed) for seed in range(6)]
    assert [_instance(b, seed) for seed in range(6)] == instances  # another simulation
    assert _instance(a, 2) == instances[2]  # the same one, reset again
    assert len({json.dumps(goals) for _, goals in instances}) == 6
    assert len({json.dumps(starts) for starts, _ in instances}) == 6  # fleet.start: random
    # a seedless reset continues the stream as in any run: reset(seed) then seedless resets repeat
    a.reset(seed=7)
    follow = [_instance(a, None) for _ in range(2)]
    a.reset(seed=7)
    assert [_instance(a, None) for _ in range(2)] == follow


def test_fixed_starts_keep_their_cells_and_draw_the_goals(tmp_path: Path) -> None:
    starts = [[0, 0], [2, 2], [4, 5]]
    path = _scenario(tmp_path, 3, fleet_extra=f", start_cells: {json.dumps(starts)}")
    sim = _sim(path)
    nodes = [int(sim.floor.cell_of[r, c]) for r, c in starts]
    drawn = {json.dumps(_instance(sim, seed)[1]) for seed in range(4)}
    assert all(_instance(sim, seed)[0] == nodes for seed in range(4))
    assert len(drawn) == 4


def test_the_goals_come_from_the_goal_stream_only(tmp_path: Path) -> None:
    """The starts are the first robots of a permutation of the start cells (``rng_start``), the
    goals those of a permutation of the goal cells (``rng_goals``,
    :func:`~warehouse.core.simulation.nested_goals`): instances nest across fleet sizes. The
    order and fault streams are left alone."""
    from warehouse.core.simulation import nested_goals

    sim = _sim(_scenario(tmp_path))
    lifelong = _sim(_lifelong(tmp_path))
    sim.reset(seed=11)
    lifelong.reset(seed=11)
    streams = np.random.default_rng(11).spawn(4)
    starts = streams[3].permutation(np.flatnonzero(sim.floor.start_ok).astype(np.int32))[:6]
    assert sim.state.pos.tolist() == starts.tolist()
    cells = np.flatnonzero(sim.floor.goal_ok).astype(np.int32)
    assert sim.one_shot_goals is not None
    expected = nested_goals(streams[1].permutation(cells), starts)
    assert sim.one_shot_goals.tolist() == expected.tolist()
    for name in ("rng_orders", "rng_faults", "rng_battery"):
        assert sim.rng_states()[name] == lifelong.rng_states()[name], name


def _lifelong(folder: Path) -> Path:
    """The same floor and fleet, lifelong goal_visit (random goals on arrival)."""
    path = folder / "lifelong.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\nfleet: {robots: 6}\ntasks: {mode: goal_visit}\n"
    )
    return path


# --- errors ------------------------------------------------------------------------------------


def test_more_robots_than_goal_cells_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.txt").write_text(START_ONLY)
    argv = ["run", "q.txt", "--set", "tasks.mode=goal_visit", "--set", "tasks.assignment=one_shot"]
    argv += ["--policy", "rule_based", "--steps", "5", "--seeds", "0", "--out", "o"]
    line = fails_cleanly([*argv, "--robots", "14"], tmp_path, capsys, "--robots: must be ≤ goal")
    assert "goal cells (13) in a random one-shot instance" in line
    (tmp_path / "q.yaml").write_text(
        "layout: {type: file, path: q.txt}\nfleet: {robots: 14}\n"
        "tasks: {mode: goal_visit, assignment: one_shot}\n"
    )
    argv_file = ["run", "q.yaml", *argv[6:]]
    fails_cleanly(argv_file, tmp_path, capsys, "q.yaml: fleet.robots: must be ≤ goal cells (13)")
    code, _, err = run_cli([*argv, "--robots", "13"], capsys)  # every goal cell taken
    assert code == 0, err


def test_one_shot_without_goals_needs_goal_visit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _scenario(tmp_path)
    argv = ["run", "s.yaml", "--policy", "rule_based", "--steps", "5", "--seeds", "0"]
    line = fails_cleanly([*argv, "--tasks", "pickup_delivery", "--out", "o"], tmp_path, capsys, "")
    assert "tasks.mode" in line and "goal_visit" in line, line
    line = fails_cleanly(
        [*argv, "--set", "tasks.reveal=2", "--out", "o"], tmp_path, capsys, "--set tasks.reveal"
    )
    assert "does not apply under tasks.assignment one_shot" in line
    line = fails_cleanly(
        [*argv, "--set", "tasks.assignment=roundrobin", "--out", "o"], tmp_path, capsys, ""
    )
    assert "tasks.goals" in line  # the other assignments hand out a fixed sequence


def test_simulation_refuses_more_robots_than_goal_cells(tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_text(START_ONLY)
    (tmp_path / "q.yaml").write_text(
        "layout: {type: file, path: q.txt}\nfleet: {robots: 13}\n"
        "tasks: {mode: goal_visit, assignment: one_shot}\n"
    )
    sc, src = load_scenario(tmp_path / "q.yaml")
    floor, config = build_floor(sc, src), sc.sim_config()
    Simulation(floor, config).reset(seed=0)
    more = config.model_copy(update={"fleet": config.fleet.model_copy(update={"robots": 14})})
    with pytest.raises(ValueError, match=r"^fleet.robots: must be ≤ goal cells \(13\)"):
        Simulation(floor, more)


# --- runs: bit for bit, KPIs, recordings ------------------------------------------------------


def _digest(folder: Path) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("kpis.csv", "robots.csv")
    )


def test_runs_repeat_bit_for_bit_and_record_their_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from warehouse.recording import kpis_from_recording, load_recording

    monkeypatch.chdir(tmp_path)
    _scenario(tmp_path)
    argv = ["run", "s.yaml", "--policy", "rule_based", "--collisions", "pibt", "--steps", "30"]
    for out in ("a", "b"):
        code, text, err = run_cli([*argv, "--seeds", "0..2", "--out", out], capsys)
        assert code == 0, err
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert all(name in text for name in ONE_SHOT_KPIS)
    report = json.loads((tmp_path / "a" / "report.json").read_text())["runs"][0]["kpis"]
    lbs = report["sum_of_costs_lb"]["per_seed"]
    assert len(set(lbs)) == 3 and all(lb > 0 for lb in lbs)  # three instances
    assert all(v in (0, 1) for v in report["solved"]["per_seed"])
    code, _, err = run_cli([*argv, "--seeds", "1", "--out", "c", "--record", "r.npz"], capsys)
    assert code == 0, err
    live = json.loads((tmp_path / "c" / "report.json").read_text())["runs"][0]["kpis"]
    assert live["sum_of_costs_lb"]["per_seed"] == [lbs[1]]  # seed 1 alone: the same instance
    recording = load_recording(tmp_path / "r.npz")
    rebuilt = kpis_from_recording(recording)
    for name in (*ONE_SHOT_KPIS, "deliveries", "blocked_share"):  # (report.json: rounded)
        assert rebuilt[name] == pytest.approx(live[name]["per_seed"][0], abs=1e-6), name
    sim = _sim(tmp_path / "s.yaml")
    sim.reset(seed=1)
    frame = recording.frame_sim(3)
    assert frame.one_shot_goals is not None and sim.one_shot_goals is not None
    assert frame.one_shot_goals.tolist() == sim.one_shot_goals.tolist()


def test_kpis_are_those_of_a_one_shot_run(tmp_path: Path) -> None:
    sim = _sim(_scenario(tmp_path))
    sim.reset(seed=0)
    kpis = compute_kpis(sim)
    assert kpis["sum_of_costs_lb"] == sim.sum_of_costs_lb
    on_goal = int((sim.state.pos == sim.one_shot_goals).sum())
    assert kpis["on_goal_share"] == on_goal / 6


def test_env_and_mesa_model_draw_the_instance_of_their_seed(tmp_path: Path) -> None:
    """The PettingZoo env and the Mesa model drive the same core: the same seed, the same
    instance as a bare simulation; the env's observations stay in their spaces."""
    import warehouse
    from warehouse.model import WarehouseModel

    path = _scenario(tmp_path)
    sim = _sim(path)
    expected = _instance(sim, 4)
    env = warehouse.make_env(str(path), steps=5)
    obs, _ = env.reset(seed=4)
    assert (env.sim.state.pos.tolist(), env.sim.one_shot_goals.tolist()) == expected
    for agent, o in obs.items():
        assert env.observation_space(agent).contains(o), agent
    model = WarehouseModel(str(path), policy="rule_based", steps=5, seed=4)
    assert model.sim.one_shot_goals is not None
    assert (model.sim.state.pos.tolist(), model.sim.one_shot_goals.tolist()) == expected
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["sum_of_costs_lb"].iloc[-1] == sim.sum_of_costs_lb


# --- other runs draw what they drew before ----------------------------------------------------

#: sha256 of kpis.csv and robots.csv written by the code before random one-shot instances
#: existed (commit c610fb4)
_BEFORE = {
    "small": (
        "cae060041f7ff96c967815cc6f728ecbd1409f5bcc1765cc7fa6e7951132494e",
        "8713ca6cf813dc9fb48e653b926236ca032403a3ca8f16454585bf0441e9a16b",
    ),
    "goal_visit": (
        "d441e4c6a6e5a959965cf8ffee07f972ea6c68c27e305e8c38ab66f04bb26bee",
        "54004a3cd56ce436c84e7f23f8651c006642336dd82338629f3e1166322ddbee",
    ),
}


@pytest.mark.parametrize(("scenario", "steps"), [("small", "200"), ("goal_visit", "100")])
def test_other_runs_write_what_they_wrote_before(
    scenario: str,
    steps: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["run", scenario, "--steps", steps, "--seeds", "0", "--policy", "rule_based"]
    code, _, err = run_cli([*argv, "--out", "o"], capsys)
    assert code == 0, err
    assert _digest(tmp_path / "o") == _BEFORE[scenario]


# --- the sweep ---------------------------------------------------------------------------------


def test_sweep_over_fleet_size_runs_the_instances_run_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse sweep --set fleet.robots=...``: one random instance per robot count and seed,
    the same ``warehouse run --robots N --seeds S`` runs; the table shows the success rate, its
    paired differences, makespan, sum of costs and its ratio to the lower bound."""
    monkeypatch.chdir(tmp_path)
    _scenario(tmp_path)
    common = ["--policy", "rule_based", "--steps", "25", "--seeds", "0..1"]
    argv = ["sweep", "s.yaml", "--set", "fleet.robots=2,12,24", *common, "--out", "w"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    with (tmp_path / "w" / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["fleet.robots"], r["seed"]) for r in rows] == [
        (n, s) for n in ("2", "12", "24") for s in ("0", "1")
    ]
    assert all(r["solved"] in ("0", "1") and r["sum_of_costs_lb"] for r in rows)
    for header in ("solved", "Δ prev", "on goal", "makespan", "SoC/LB", "success rate"):
        assert header in out, header
    assert "deliv." not in out and "backlog" not in out
    # row (12 robots, seed 1) is the instance `warehouse run --robots 12 --seeds 1` runs
    code, _, err = run_cli(["run", "s.yaml", *common[:4], "--robots", "12", "--seeds", "1",
                            "--out", "r"], capsys)  # fmt: skip
    assert code == 0, err
    live = json.loads((tmp_path / "r" / "report.json").read_text())["runs"][0]["kpis"]
    (row,) = [r for r in rows if (r["fleet.robots"], r["seed"]) == ("12", "1")]
    for name in ("sum_of_costs_lb", "on_goal_share", "deliveries", "distance_m"):
        assert float(row[name]) == pytest.approx(live[name]["per_seed"][0], abs=1e-6), name
    with (tmp_path / "w" / "paired.csv").open() as f:
        paired = {(r["fleet.robots"], r["kpi"]) for r in csv.DictReader(f)}
    assert ("24", "solved") in paired and ("12", "makespan") in paired


def test_sweep_table_of_lifelong_runs_keeps_its_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.map").write_text(OPEN)
    _lifelong(tmp_path)
    argv = ["sweep", "lifelong.yaml", "--set", "fleet.robots=2,4", "--policy", "rule_based"]
    code, out, err = run_cli([*argv, "--steps", "10", "--seeds", "0", "--out", "w"], capsys)
    assert code == 0, err
    assert "deliv." in out and "backlog" in out and "SoC/LB" not in out


@pytest.mark.parametrize("seed", range(6))
def test_instances_nest_across_fleet_sizes_and_no_goal_is_its_robot_s_start(
    tmp_path: Path, seed: int
) -> None:
    """As the first n agents of a MovingAI ``.scen`` file: the instance of n robots is the first
    n robots of the instance of more, seed by seed, so a sweep over ``fleet.robots`` adds robots
    to one instance. No robot draws its own start as its goal (it would count as solved from
    step 0)."""
    drawn = {}
    for n in (2, 5, 9):
        (tmp_path / str(n)).mkdir()
        sim = _sim(_scenario(tmp_path / str(n), n))
        sim.reset(seed=seed)
        assert sim.one_shot_goals is not None
        goals, starts = sim.one_shot_goals.tolist(), sim.state.pos.tolist()
        assert len(set(goals)) == n and len(set(starts)) == n
        assert all(g != s for g, s in zip(goals, starts, strict=True))
        drawn[n] = list(zip(starts, goals, strict=True))
    assert drawn[5][:2] == drawn[2] and drawn[9][:5] == drawn[5]


def test_a_robot_keeps_its_start_as_goal_only_when_no_other_cell_is_left() -> None:
    from warehouse.core.simulation import nested_goals

    order = np.array([4, 7, 2], dtype=np.int32)
    assert nested_goals(order, np.array([4, 7, 2])).tolist() == [7, 4, 2]
    assert nested_goals(order, np.array([7, 4])).tolist() == [4, 7]
    assert nested_goals(order, np.array([4, 9, 1])).tolist() == [7, 4, 2]
