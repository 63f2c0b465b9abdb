"""Audit of the ``guided`` navigator (agents/guided.py, agents/guided_paths.py): its flow
bookkeeping over a whole lifelong run, the front-ends that run it, and the warning a run under a
collision mode without a PIBT shield gets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, run_cli
from test_guided import expected_flow, room_fleet

from agents.guided import GuidedNavigator


def pibt_warnings(err: str) -> list[str]:
    """The lines of ``err`` that warn about a navigator needing a PIBT shield."""
    return [line for line in err.splitlines() if "leaves them to a PIBT shield" in line]


# ---------------------------------------------------------------- flow bookkeeping


@pytest.mark.parametrize("collisions", ["pibt", "block"])
def test_the_flow_equals_the_live_paths_flow_at_every_step(collisions: str) -> None:
    """Property over a random lifelong run: after every step the kept flow equals the flow
    recounted from the live guide paths (never negative), every path is a chain of the floor's
    moves with the actions it records, and with every target gone the flow is back at zero."""
    nav = GuidedNavigator()
    fleet, sim = room_fleet(nav, 40, collisions)
    f = sim.floor
    for t in range(120):
        fleet.step()
        flow = expected_flow(nav, sim)
        assert np.array_equal(nav.flow, flow), t
        assert np.array_equal(nav.vflow, flow.sum(axis=1)), t
        assert nav.flow.min() >= 0 and nav.vflow.min() >= 0
        for i in range(sim.n_robots):
            path = nav.path(i)
            if path.size:
                s = int(nav.g_start[i])
                acts = nav.pool_acts[s : s + path.size - 1]
                assert np.array_equal(f.nbr[path[:-1], acts], path[1:]), (t, i)
                assert f.mask[path[:-1], acts].all(), (t, i)
    assert int(sim.state.deliveries.sum()) > 0
    robots = np.arange(sim.n_robots)
    sim.set_waypoints(robots, np.full(sim.n_robots, -1))
    sim.state.task_goal[:] = -1
    sim.state_changed()
    nav.act(sim, None, sim.action_mask())
    assert not nav.flow.any() and not nav.vflow.any()


# ---------------------------------------------------------------- block mode warning


def test_run_warns_once_when_guided_runs_without_a_pibt_shield(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse run MAP --policy guided`` under the default ``block`` mode jams the floor
    (docs/results_guidance.md): the run says so up front, naming the setting to change; under
    ``pibt``, and for the rule-based fleet under ``block``, it says nothing."""
    argv = ["run", str(TINY), "--steps", "5", "--seeds", "0,1"]
    code, _, err = run_cli([*argv, "--policy", "guided", "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    lines = pibt_warnings(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("warning: guided: ")
    assert "physics.collisions=block" in lines[0] and "--collisions pibt" in lines[0]
    for extra, out in ((["--policy", "guided", "--collisions", "pibt"], "b"),
                       (["--policy", "rule_based"], "c")):  # fmt: skip
        code, _, err = run_cli([*argv, *extra, "--out", str(tmp_path / out)], capsys)
        assert code == 0, err
        assert pibt_warnings(err) == [], err


def test_run_warns_under_physical_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", str(TINY), "--steps", "3", "--seeds", "0", "--policy", "guided"]
    code, _, err = run_cli([*argv, "--collisions", "physical", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    lines = pibt_warnings(err)
    assert len(lines) == 1 and "physics.collisions=physical" in lines[0], err


def test_sweep_warns_for_the_modes_without_a_pibt_shield(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep over ``physics.collisions`` warns once for ``block`` (not for each seed or
    robot count, not for ``pibt``), naming the ``--set`` to change."""
    argv = ["sweep", str(TINY), "--policy", "guided", "--steps", "3", "--seeds", "0,1",
            "--set", "physics.collisions=block,pibt", "--set", "fleet.robots=4,6",
            "--out", str(tmp_path / "s")]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    lines = pibt_warnings(err)
    assert len(lines) == 1, err
    assert "physics.collisions=block" in lines[0]
    assert "--set physics.collisions=pibt" in lines[0]


def test_view_warns_when_guided_runs_without_a_pibt_shield(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    argv = ["view", str(TINY), "--policy", "guided", "--frames", "1"]
    code, _, err = run_cli([*argv, "--headless-frames", str(tmp_path / "a")], capsys)
    assert code == 0, err
    lines = pibt_warnings(err)
    assert len(lines) == 1 and "--set physics.collisions=pibt" in lines[0], err
    sets = ["--set", "physics.collisions=pibt"]
    code, _, err = run_cli([*argv, *sets, "--headless-frames", str(tmp_path / "b")], capsys)
    assert code == 0, err
    assert pibt_warnings(err) == [], err


# ---------------------------------------------------------------- front-ends, determinism


def test_a_scenario_file_with_weights_and_closures_runs_and_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario naming ``policies.navigator: guided`` with ``navigator_args``, breakdowns,
    random and scheduled closures, on a transposed floor: the navigator gets the weights, the
    scheduled closures replan the fleet, and the same seed in a worker process (``--jobs 2``)
    gives the same KPIs as in this one."""
    import json

    from scenarios import load_scenario
    from warehouse.policies import build_policy, resolve_policy

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 3, block_length: 4, "
        "transpose: true}\n"
        "fleet: {robots: 12}\ntasks: {mode: goal_visit}\nphysics: {collisions: pibt}\n"
        "policies: {navigator: guided, navigator_args: {guided: {vertex_weight: 0.2, "
        "contraflow_weight: 2}}}\n"
        "faults: {breakdown_prob: 0.01, breakdown_steps: 5, closure_prob: 0.05, "
        "closure_steps: 10, closures: [{area: {from: [3, 0], to: [3, 4]}, start_s: 5, "
        "end_s: 25}]}\n"
        "episode: {steps: 40, seeds: [0, 1]}\n"
    )
    sc, src = load_scenario(scenario)
    _, nav = build_policy(resolve_policy(None, sc, source=src), sc, src)
    assert isinstance(nav, GuidedNavigator)
    assert (nav.vertex_weight, nav.contraflow_weight) == (0.2, 2.0)
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        code, _, err = run_cli(["run", str(scenario), "--jobs", jobs, "--out", str(out)], capsys)
        assert code == 0, err
        assert pibt_warnings(err) == []
        reports.append(json.loads((out / "report.json").read_text()))
    runs = [r["runs"][0] for r in reports]
    assert runs[0]["kpis"] == runs[1]["kpis"]
    assert runs[0]["navigator_stats"] == runs[1]["navigator_stats"]
    stats = runs[0]["navigator_stats"]
    assert all(s["refreshes"] == 2 for s in stats)  # the closure begins and ends
    assert all(s["searches"] > 12 for s in stats)


def _line_floor(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A corridor of ``n`` nodes: ``nbr`` (WAIT, west, east; the node itself where no move),
    every move open, nothing closed."""
    nbr = np.empty((n, 3), dtype=np.int64)
    for v in range(n):
        nbr[v] = (v, max(v - 1, 0), min(v + 1, n - 1))
    mopen = np.ones((n, 3), dtype=np.bool_)
    mopen[0, 1] = mopen[n - 1, 2] = False
    return nbr, mopen, np.zeros(n, dtype=np.bool_)


@pytest.mark.parametrize("room", [8, 3])
def test_a_rejoined_path_that_would_not_fit_the_output_is_searched_afresh(room: int) -> None:
    """``reconnect`` writes the way back onto the path and the rest of it into ``out_*``: a
    joined path longer than those arrays (rejoins can lengthen a path) returns -1 (the caller
    searches afresh) instead of writing past their end."""
    from agents.guided_paths import reconnect

    n = 8
    nbr, mopen, closed = _line_floor(n)
    path = np.array([2, 3, 4, 5], dtype=np.int32)  # the guide path, east along the corridor
    acts = np.array([2, 2, 2, 0], dtype=np.int8)
    depth, par = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    par_act, state = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int8)
    queue = np.empty(n, dtype=np.int64)
    out_nodes = np.full(room, -7, dtype=np.int32)
    out_acts = np.zeros(room, dtype=np.int8)
    length = reconnect(
        0, 0, path, acts, 0, path.size - 1, nbr, mopen, closed, depth, par, par_act, state, queue,
        out_nodes, out_acts,
    )  # fmt: skip
    if room >= 6:  # two moves back onto node 2, then 2..5
        assert length == 6
        assert out_nodes[:6].tolist() == [0, 1, 2, 3, 4, 5]
    else:
        assert length == -1
        assert (out_nodes == -7).all()  # nothing written
    assert np.isinf(depth).all() and (state == 0).all()  # scratch left as found
