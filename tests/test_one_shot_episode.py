"""One-shot episodes that end when solved (``episode.stop_when_solved``): the env terminates
every agent, ``warehouse run``, the Mesa model and sweeps stop at that step, with correct KPIs,
time series, recordings and reruns; and the loose ends of the one-shot KPIs (``sweep --target``
on a one-shot KPI of a lifelong sweep)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import mesa.batchrunner
import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli
from pettingzoo.test import parallel_api_test

import warehouse
from scenarios import load_scenario
from warehouse.kpis import compute_kpis
from warehouse.model import WarehouseModel
from warehouse.recording import load_recording
from warehouse.runner import prepare, run_experiment

#: a 5 × 6 MovingAI map with six obstacles: rows 0, 2 and 4 are open lanes
OPEN = "type octile\nheight 5\nwidth 6\nmap\n......\n.@@.@.\n......\n.@..@.\n......\n"
#: robot 0 drives 4 steps, robot 1 starts on its goal, robot 2 drives 3 steps: solved at step 4
THREE_STARTS = [[0, 0], [2, 2], [4, 5]]
THREE_GOALS = [[0, 4], [2, 2], [4, 2]]
WAIT, RIGHT, LEFT = 0, 2, 4  #: grid action indices (warehouse.floor.kinds)


def _plan(t: int) -> dict[str, int]:
    """Step ``t`` (0-based) of the hand-made solution: robot 0 east 4 steps, robot 2 west 3."""
    return {"robot_0": RIGHT, "robot_1": WAIT, "robot_2": LEFT if t < 3 else WAIT}


def _scenario(
    folder: Path,
    *,
    stop: bool = True,
    steps: int = 20,
    starts: list[list[int]] = THREE_STARTS,
    goals: list[list[int]] = THREE_GOALS,
    grid: str = OPEN,
    extra: str = "",
) -> Path:
    (folder / "m.map").write_text(grid)
    path = folder / "s.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {json.dumps(starts)}}}\n"
        f"tasks: {{mode: goal_visit, goals: {json.dumps(goals)}, assignment: one_shot}}\n"
        f"episode: {{steps: {steps}, seeds: [0, 1], collect_every: 3, "
        f"stop_when_solved: {str(stop).lower()}}}\n"
        "policies: {dispatcher: greedy, navigator: rule_based}\n" + extra
    )
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


# --- the setting ------------------------------------------------------------------------------


def test_stop_when_solved_is_off_by_default_and_refused_outside_one_shot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    sc, _ = load_scenario("small")
    assert sc.episode.stop_when_solved is False
    fails_cleanly(
        ["run", "small", "--set", "episode.stop_when_solved=true", "--steps", "5"],
        tmp_path,
        capsys,
        "--set episode.stop_when_solved: needs tasks.assignment: one_shot",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: {mode: goal_visit}\nepisode: {steps: 5, stop_when_solved: true}\n")
    line = fails_cleanly(["run", "bad.yaml"], tmp_path, capsys, "bad.yaml: episode")
    assert "stop_when_solved: needs tasks.assignment: one_shot" in line
    fails_cleanly(
        ["sweep", "bad.yaml", "--set", "fleet.robots=2,3"], tmp_path, capsys, "bad.yaml: episode"
    )


# --- the env ----------------------------------------------------------------------------------


def test_env_terminates_every_agent_at_the_step_the_instance_is_solved(tmp_path: Path) -> None:
    """Robots 0 and 2 drive east/west along their lanes by hand: solved after step 4 (robot 2's
    3 steps, robot 0's 4): every agent terminates then, not truncated, and ``agents`` empties;
    another step is an error. Without the setting nobody terminates."""
    for stop in (True, False):
        env = warehouse.make_env(str(_scenario(tmp_path, stop=stop)))
        env.reset(seed=0)
        ends = []
        for t in range(4):
            _, _, terms, truncs, _ = env.step(_plan(t))
            ends.append((set(terms.values()), set(truncs.values())))
        assert ends[:3] == [({False}, {False})] * 3
        assert env.sim.solved() is True and compute_kpis(env.sim)["makespan"] == 4
        assert ends[3] == ({stop}, {False})
        assert env.terminated is stop and not env.truncated
        if stop:
            assert env.agents == []
            with pytest.raises(RuntimeError, match="reset"):
                env.step({})
            env.reset(seed=0)  # the next episode
            assert env.agents == env.possible_agents and not env.terminated
        else:
            assert env.agents == env.possible_agents


def test_env_ends_solved_at_the_same_step_as_a_truncation(tmp_path: Path) -> None:
    """Solved at the episode's last step: terminated and truncated both."""
    env = warehouse.make_env(str(_scenario(tmp_path, steps=4)))
    env.reset(seed=0)
    for t in range(4):
        _, _, terms, truncs, _ = env.step(_plan(t))
    assert all(terms.values()) and all(truncs.values()) and env.agents == []


def test_parallel_api_test_on_an_episode_that_ends_solved(tmp_path: Path) -> None:
    """PettingZoo's own check, on a corridor where random moves soon solve the instance (robot 0
    one cell from its goal, robot 1 on its goal at the dead end): the episodes end terminated
    before their 200 steps."""
    path = _scenario(
        tmp_path,
        steps=200,
        starts=[[0, 0], [0, 2]],
        goals=[[0, 1], [0, 2]],
        grid="type octile\nheight 1\nwidth 3\nmap\n...\n",
    )
    env = warehouse.make_env(str(path))
    parallel_api_test(env, num_cycles=300)
    assert env.agents == [] and env.terminated and env.sim.t < 200


def test_stop_when_solved_needs_no_extra_draws(tmp_path: Path) -> None:
    """The same seed gives the same trajectory with and without the setting, up to the stop:
    ending an episode draws nothing and changes nothing before it."""
    envs = [warehouse.make_env(str(_scenario(tmp_path, stop=stop, steps=4))) for stop in (1, 0)]
    for env in envs:
        env.reset(seed=3)
    for t in range(4):
        outs = [env.step(_plan(t)) for env in envs]
        for agent in envs[0].possible_agents:
            np.testing.assert_array_equal(
                outs[0][0][agent]["observation"], outs[1][0][agent]["observation"]
            )
        assert outs[0][1] == outs[1][1]
        assert outs[0][2]["robot_0"] is (t == 3) and not outs[1][2]["robot_0"]
    assert envs[0].sim.rng_states() == envs[1].sim.rng_states()


# --- the Mesa model, warehouse run and sweep -----------------------------------------------------


def test_model_stops_at_the_solved_step_with_kpis_over_the_steps_run(tmp_path: Path) -> None:
    """The model stops at step 4 (the makespan); every KPI is the one a run of exactly 4 steps
    gives (the KPIs that divide by the steps or hours count the steps run), and the time series
    ends with that step."""
    path = _scenario(tmp_path)
    stopped = WarehouseModel(str(path), seed=0, collect_every=3)
    kpis = stopped.run()
    assert not stopped.running and stopped.sim.t == 4
    assert kpis["solved"] == 1 and kpis["makespan"] == 4 and kpis["steps"] == 4
    assert kpis["throughput_per_step"] == pytest.approx(3 / 4)
    assert kpis["throughput_per_hour"] == pytest.approx(3 * 3600 / 4)
    four = WarehouseModel(str(_scenario(tmp_path, stop=False, steps=4)), seed=0)
    assert four.run() == kpis
    assert stopped.series()["step"].tolist() == [3, 4]
    assert len(stopped.datacollector.model_vars["step"]) == 4  # entry i is step i + 1


def test_run_stops_each_seed_when_solved_and_its_rerun_and_recording_reproduce_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse run``: each seed's kpis.csv rows end at the solved step, the report's KPIs
    count the steps run, the recording holds exactly those steps (its last frame gives the
    run's KPIs), and running the written scenario.yaml again reproduces every file bit for bit;
    the recording of the rerun equals the first."""
    monkeypatch.chdir(tmp_path)
    path = _scenario(tmp_path)
    code, _, err = run_cli(["run", str(path), "--out", "a", "--record", "a.npz"], capsys)
    assert code == 0, err
    rows = _rows(tmp_path / "a" / "kpis.csv")
    assert [(r["seed"], r["step"]) for r in rows] == [
        ("0", "3"),
        ("0", "4"),
        ("1", "3"),
        ("1", "4"),
    ]
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    (policy,) = report["runs"]
    per_seed = {name: kpi["per_seed"] for name, kpi in policy["kpis"].items()}
    assert per_seed["steps"] == per_seed["makespan"] == [4, 4] and per_seed["solved"] == [1, 1]
    rec = load_recording(tmp_path / "a.npz")
    assert rec.steps == 4
    last = compute_kpis(rec.frame_sim(rec.steps))
    assert last == WarehouseModel(str(path), seed=0).run()  # the run of seed 0, exactly
    code, _, err = run_cli(["run", "a/scenario.yaml", "--out", "b", "--record", "b.npz"], capsys)
    assert code == 0, err
    for name in ("kpis.csv", "robots.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    again = json.loads((tmp_path / "b" / "report.json").read_text())
    assert again["runs"] == report["runs"]
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if key != "meta_json":
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_run_progress_counts_every_episode_in_full(tmp_path: Path) -> None:
    """The progress bar's total (policies × seeds × steps) is reached by a run whose episodes
    stop early."""
    exp = prepare(str(_scenario(tmp_path)), policies=["rule_based"])
    done: list[int] = []
    results = run_experiment(exp, progress=done.append)
    assert [r.kpis["steps"] for r in results.runs] == [4, 4]
    assert sum(done) == 2 * 20


def test_sweep_stops_each_run_when_solved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _scenario(tmp_path)
    argv = ["sweep", str(path), "--set", "physics.collisions=pibt,block", "--out", "o"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    rows = _rows(tmp_path / "o" / "sweep.csv")
    assert len(rows) == 4
    assert {(r["steps"], r["makespan"], r["solved"]) for r in rows} == {("4", "4", "1")}


# --- loose ends of the one-shot KPIs -------------------------------------------------------------


def test_sweep_target_on_a_one_shot_kpi_of_a_lifelong_sweep_is_refused_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    def no_runs(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sweep ran")

    monkeypatch.setattr(mesa.batchrunner, "batch_run", no_runs)
    for kpi in ("solved", "makespan", "sum_of_costs_lb"):
        fails_cleanly(
            ["sweep", "tiny", "--set", "fleet.robots=2,3", "--target", f"{kpi}>=0.9"],
            tmp_path,
            capsys,
            f"--target: {kpi} is undefined unless tasks.assignment is one_shot",
        )


def test_plots_of_a_run_whose_seeds_stop_at_different_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deliveries.png: a seed that stopped keeps its deliveries to the end (the mean does not
    drop when it ends); congestion.png: occupancy over the steps the seeds ran, so a robot that
    never moves stands on its cell a share 1 of the steps."""
    import pandas as pd

    from warehouse import plots

    figures: list[object] = []
    monkeypatch.setattr(plots, "save_figure_atomic", lambda fig, path: figures.append(fig))
    series = pd.DataFrame(
        {
            "policy": ["p"] * 4,
            "seed": [0, 0, 1, 1],
            "step": [3, 4, 3, 6],
            "deliveries": [2, 3, 1, 2],
        }
    )
    plots.plot_deliveries(series, tmp_path / "d.png")
    (line,) = figures[0].axes[0].lines  # type: ignore[attr-defined]
    assert line.get_xdata().tolist() == [0, 3, 4, 6]
    assert line.get_ydata().tolist() == [0.0, 1.5, 2.0, 2.5]  # seed 0 keeps its 3 at step 6
    path = _scenario(tmp_path)
    exp = prepare(str(path), policies=["rule_based"])
    results = run_experiment(exp)
    plots.plot_congestion(results.visits, exp, tmp_path / "c.png")
    image = figures[1].axes[0].images[0].get_array()  # type: ignore[attr-defined]
    start = exp.floor.pos.tolist().index([2, 2])  # robot 1 starts on its goal, never moves
    row, col = exp.floor.pos[start]
    assert image[row, col] == pytest.approx(1.0)
    assert float(image.max()) == pytest.approx(1.0)


def test_one_shot_utilization_and_waits_leave_out_the_steps_a_goal_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A robot holding its goal has done its task: its steps count neither as busy
    (``utilization``) nor as waits, as they count not as blocked. Robots 0 and 2 drive 4 and 3
    steps, robot 1 starts on its goal; 10 steps run: utilization 7 / 30, no waits. The
    recording's rebuilt counters agree (loading checks them against the run's)."""
    monkeypatch.chdir(tmp_path)
    path = _scenario(tmp_path, stop=False, steps=10)
    code, _, err = run_cli(
        ["run", str(path), "--seeds", "0", "--out", "o", "--record", "r.npz"], capsys
    )
    assert code == 0, err
    last = [r for r in _rows(tmp_path / "o" / "robots.csv") if r["step"] == "10"]
    assert [int(r["busy_steps"]) for r in last] == [4, 0, 3]
    assert [int(r["waits"]) for r in last] == [0, 0, 0]
    kpis = _rows(tmp_path / "o" / "kpis.csv")[-1]
    assert float(kpis["utilization"]) == pytest.approx(7 / 30)
    rec = load_recording(tmp_path / "r.npz")
    frame = rec.frame_sim(rec.steps)
    assert frame.state.busy_steps.tolist() == [4, 0, 3] and frame.state.waits.tolist() == [0] * 3
    assert compute_kpis(frame)["utilization"] == pytest.approx(7 / 30)
