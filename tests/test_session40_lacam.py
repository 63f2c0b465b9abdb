"""Session 40, h2: the ``lacam`` navigator's searches (a floor change ends the wait after failed
searches; plainly unsolvable instances are not searched), its statistics in ``report.json``,
one-shot episodes that stop when solved (``warehouse shadow``, ``steps`` of the outputs) and
the env's metrics of lifelong episodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import TINY, run_cli

from agents.lacam import LaCAMNavigator
from scenarios import load_scenario
from scenarios.load import apply_overrides, build_floor
from warehouse.core import Simulation
from warehouse.fleet import Fleet

#: tests/test_lacam.py's one-lane aisle (row 1) between two junctions (columns 0 and 8), each
#: with a dead-end pocket above and below
AISLE = "type octile\nheight 3\nwidth 9\nmap\n.@@@@@@@.\n.........\n.@@@@@@@.\n"
#: the four pockets of :data:`AISLE`: closed, no two robots in the row can pass each other
POCKETS = "[[0, 0], [2, 0], [0, 8], [2, 8]]"


def _scenario(folder: Path, drawing: str, starts: str, goals: str, extra: str = "") -> Any:
    """A one-shot scenario on ``drawing`` (start and goal cells as YAML lists)."""
    (folder / "m.map").write_text(drawing)
    (folder / "s.yaml").write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {starts}}}\n"
        f"tasks: {{mode: goal_visit, goals: {goals}, assignment: one_shot}}\n" + extra
    )
    return load_scenario(folder / "s.yaml")


def _lacam_fleet(sc: Any, src: Path, nav: LaCAMNavigator | None = None, seed: int = 0) -> Fleet:
    fleet = Fleet(Simulation(build_floor(sc, src), sc.sim_config()), None, nav or LaCAMNavigator())
    fleet.reset(seed)
    return fleet


def _search_steps(fleet: Fleet, steps: int) -> list[int]:
    """The clocks of the steps at which the navigator searched, over ``steps`` steps."""
    nav, out = fleet.navigator, []
    for _ in range(steps):
        before, t = nav.stats["searches"], fleet.sim.t
        fleet.step()
        if nav.stats["searches"] > before:
            out.append(t)
    return out


# --- lead 1: a floor change ends the back-off -------------------------------------------


def test_a_lifted_closure_makes_the_next_step_search(tmp_path: Path) -> None:
    """Two robots that must pass each other in the aisle while its pockets are closed: no plan
    exists, every search fails and the waits double (searches at 0, 2, 6, 14, 30). The
    closure lifts at step 33: the navigator searches at once (it waited until 62), finds the
    plan and the instance is solved; a floor that does not change keeps the back-off."""
    closure = f"faults: {{closures: [{{cells: {POCKETS}, start_s: 0, end_s: 33}}]}}\n"
    sc, src = _scenario(tmp_path, AISLE, "[[1, 4], [1, 5]]", "[[1, 5], [1, 4]]", closure)
    fleet = _lacam_fleet(sc, src)
    searched = _search_steps(fleet, 34)
    assert searched == [0, 2, 6, 14, 30, 33]
    assert fleet.navigator.stats["found"]
    assert fleet.run(20, stop_when_solved=True) < 20 and fleet.sim.solved()


def test_one_search_per_floor_change_at_most(tmp_path: Path) -> None:
    """A closure that starts and lifts elsewhere (a pocket the robots never need) while the
    instance stays unsolvable adds one search per change, not one per step."""
    extra = (
        "faults: {closures: ["
        f"{{cells: {POCKETS}, start_s: 0}}, "
        "{cells: [[1, 0]], start_s: 9, end_s: 11}]}\n"
    )
    sc, src = _scenario(tmp_path, AISLE, "[[1, 4], [1, 5]]", "[[1, 5], [1, 4]]", extra)
    fleet = _lacam_fleet(sc, src)
    assert _search_steps(fleet, 40) == [0, 2, 6, 9, 11]  # then 11 + 32


# --- lead 2: plainly unsolvable instances are not searched ------------------------------


def test_a_goal_cut_off_by_a_closure_is_not_searched_until_it_lifts(tmp_path: Path) -> None:
    """The aisle closed at (1, 3) between robot 0 and its goal: no plan exists while it lasts.
    No search burns its budget on it (each due one is counted as ``unsolvable``); the fleet
    keeps taking the generator's steps, and the first step after the lift searches and finds
    the plan."""
    closure = "faults: {closures: [{cells: [[1, 3]], start_s: 0, end_s: 5}]}\n"
    sc, src = _scenario(tmp_path, AISLE, "[[1, 1], [1, 8]]", "[[1, 6], [0, 8]]", closure)
    fleet = _lacam_fleet(sc, src, LaCAMNavigator(node_budget=500))
    assert _search_steps(fleet, 6) == [5]
    st = fleet.navigator.stats
    assert st["unsolvable"] == 5 and st["fallback_steps"] == 5 and st["expanded"] < 500
    assert st["found"] and fleet.run(30, stop_when_solved=True) < 30


def test_a_robot_held_off_its_goal_is_not_searched_around(tmp_path: Path) -> None:
    """A robot broken down off its goal stays where it is in every configuration the search
    makes: no plan exists until it may move again, and none is searched for until then."""
    sc, src = _scenario(tmp_path, AISLE, "[[1, 1], [1, 7]]", "[[1, 6], [1, 2]]")
    fleet = _lacam_fleet(sc, src, LaCAMNavigator(node_budget=500))
    fleet.sim.state.broken[0] = 3  # held for three steps
    assert _search_steps(fleet, 4) == [3]
    st = fleet.navigator.stats
    assert st["unsolvable"] == 3 and st["searches"] == 1 and st["found"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_solvable_instance_is_skipped(seed: int, tmp_path: Path) -> None:
    """Random instances on an open floor, some robots starting on their goals: every first
    step searches and finds a plan; nothing is called unsolvable."""
    (tmp_path / "m.map").write_text(
        "type octile\nheight 6\nwidth 7\nmap\n.......\n.@@.@@.\n.......\n.@.@.@.\n"
        ".......\n...@...\n"
    )
    sc, src = load_scenario(tmp_path / "m.map")
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 20}
    fleet = _lacam_fleet(apply_overrides(sc, over, src), src, seed=seed)
    fleet.step()
    st = fleet.navigator.stats
    assert st["searches"] == 1 and st["found"] and st["unsolvable"] == 0


# --- lead 3: the navigator's statistics in report.json ----------------------------------

ONE_SHOT = ["--set", "tasks.mode=goal_visit", "--set", "tasks.assignment=one_shot"]


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """``warehouse run TINY ARGS`` into ``tmp_path/out``; its report.json."""
    code, out, err = run_cli(["run", str(TINY), "--out", str(tmp_path / "out"), *args], capsys)
    assert code == 0, (out, err)
    return json.loads((tmp_path / "out" / "report.json").read_text())


def test_report_json_carries_lacams_counts_per_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run of ``lacam`` beside ``rule_based``: the lacam run holds its navigator's counts, one
    dict per seed (those of an episode run alone on that seed), the rule-based run no such key;
    the file is byte-identical run again (no time in it but ``created``)."""
    args = ["--policy", "lacam,rule_based", "--seeds", "0,1", "--steps", "30", "--robots", "4"]
    report = _run(tmp_path, capsys, *args, *ONE_SHOT)
    lacam, rule = report["runs"]
    assert "navigator_stats" not in rule
    stats = lacam["navigator_stats"]
    assert len(stats) == 2
    sc, src = load_scenario(TINY)
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 4}
    sc = apply_overrides(sc, over, src)
    for seed, counts in zip([0, 1], stats, strict=True):
        fleet = _lacam_fleet(sc, src, seed=seed)
        fleet.run(30)
        assert counts == fleet.navigator.stats
        assert counts["searches"] >= 1 and counts["found"] is True
    again = tmp_path / "again"
    code, _, err = run_cli(["run", str(TINY), "--out", str(again), *args, *ONE_SHOT], capsys)
    assert code == 0, err
    texts = [(d / "report.json").read_text() for d in (tmp_path / "out", again)]
    strip = [[line for line in t.splitlines() if '"created"' not in line] for t in texts]
    assert strip[0] == strip[1]


def test_a_run_without_navigator_counts_gains_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _run(tmp_path, capsys, "--policy", "rule_based", "--seeds", "0", "--steps", "5")
    assert all("navigator_stats" not in run for run in report["runs"])


# --- lead 5: warehouse shadow stops at the solving step -------------------------------

STOP = [*ONE_SHOT, "--set", "episode.stop_when_solved=true"]


def test_shadow_stops_when_solved_like_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under ``episode.stop_when_solved`` the shadowed episode ends at the step ``warehouse run``
    ends it (its KPI ``steps``), not after the step limit; shadow.json's ``steps`` and the
    decisions count those steps, and the printed line says the limit was not reached."""
    common = ["--robots", "4", "--steps", "60", *STOP]
    report = _run(tmp_path, capsys, "--policy", "lacam", "--seeds", "3", *common)
    solved_at = report["runs"][0]["kpis"]["steps"]["per_seed"][0]
    assert report["runs"][0]["kpis"]["solved"]["per_seed"] == [1] and solved_at < 60
    out_dir = tmp_path / "shadow"
    argv = ["shadow", str(TINY), "--incumbent", "lacam", "--candidate", "rule_based",
            "--seed", "3", "--out", str(out_dir), *common]  # fmt: skip
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    doc = json.loads((out_dir / "shadow.json").read_text())
    assert doc["steps"] == solved_at
    assert doc["navigation"]["decisions"] <= 4 * solved_at
    assert f"{solved_at} steps (solved; at most 60)" in out


# --- lead 6: steps of the outputs of a run that stops when solved -------------------------


def test_a_run_stopped_when_solved_says_so_in_report_and_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``steps`` stays the run's limit in report.json and in a recording's meta (the step limit
    the run was given: a rerun of RUN/scenario.yaml repeats it bit for bit); both say
    ``stop_when_solved``, and the steps run are the KPI ``steps`` and the recording's frames."""
    from warehouse.recording import load_recording

    rec = tmp_path / "rec.npz"
    args = ["--policy", "lacam", "--seeds", "3", "--robots", "4", "--steps", "60", *STOP]
    report = _run(tmp_path, capsys, *args, "--record", str(rec))
    ran = report["runs"][0]["kpis"]["steps"]["per_seed"][0]
    assert ran < 60 and report["steps"] == 60 and report["stop_when_solved"] is True
    recording = load_recording(rec)
    assert recording.steps == ran
    assert recording.meta["steps"] == 60 and recording.meta["stop_when_solved"] is True
    again = tmp_path / "again"
    rerun = ["run", str(tmp_path / "out" / "scenario.yaml"), "--policy", "lacam", "--seeds", "3"]
    rerun += ["--out", str(again)]
    code, _, err = run_cli(rerun, capsys)
    assert code == 0, err
    second = json.loads((again / "report.json").read_text())
    assert second["runs"] == report["runs"]


def test_a_recording_of_an_ordinary_run_keeps_its_meta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from warehouse.recording import load_recording

    rec = tmp_path / "rec.npz"
    _run(tmp_path, capsys, "--policy", "rule_based", "--seeds", "0", "--steps", "5",
         "--record", str(rec))  # fmt: skip
    assert load_recording(rec).meta == {
        "scenario": "tiny", "policy": "rule_based", "seed": 0, "steps": 5,
    }  # fmt: skip


# --- lead 7: the env's metrics of a lifelong episode ----------------------------------------

STEP_KEYS = {"cost", "incidents", "new_orders", "step"}  #: the infos of a step


def test_a_lifelong_episodes_last_step_carries_its_metrics() -> None:
    """A lifelong episode's last step (truncation) adds ``metrics`` to every agent's infos (a
    copy each): POGEMA's lifelong metric, the average throughput (deliveries per step), with the
    deliveries, collision incidents and steps, as the run's KPIs count them; the other steps'
    infos are unchanged, and ``env.lifelong_metrics()`` gives the same dict."""
    import warehouse
    from agents import make_navigator
    from warehouse.kpis import compute_kpis

    env = warehouse.make_env("small", robots=8, steps=120)
    env.reset(seed=1)
    nav = make_navigator("rule_based")  # drives the env's robots to the orders it assigns
    nav.reset(1)
    while env.agents:
        moves, _ = nav.act(env.sim, None, env.sim.action_mask())
        acts = dict(zip(env.agents, moves.tolist(), strict=True))
        _, _, terms, truncs, infos = env.step(acts)
        if env.agents:
            assert all(set(i) == STEP_KEYS for i in infos.values())
    assert all(truncs.values()) and not any(terms.values())
    kpis = compute_kpis(env.sim)
    expected = {
        "throughput_per_step": kpis["throughput_per_step"],
        "deliveries": kpis["deliveries"],
        "collisions": kpis["collisions"],
        "steps": 120,
    }
    assert all(info["metrics"] == expected for info in infos.values())
    assert len({id(info["metrics"]) for info in infos.values()}) == len(infos)
    assert env.lifelong_metrics() == expected and env.episode_metrics() is None
    assert expected["deliveries"] > 0
    assert expected["throughput_per_step"] == expected["deliveries"] / 120


def test_one_shot_episodes_keep_their_metrics_and_have_no_lifelong_ones() -> None:
    import warehouse

    env = warehouse.make_env("tiny", robots=3, steps=2, **{"tasks.mode": "goal_visit",
                             "tasks.assignment": "one_shot"})  # fmt: skip
    env.reset(seed=0)
    while env.agents:
        *_, infos = env.step({})
    assert set(infos["robot_0"]["metrics"]) == {
        "solved", "on_goal_share", "makespan", "sum_of_costs", "sum_of_costs_lb", "steps",
    }  # fmt: skip
    assert env.lifelong_metrics() is None


def test_parallel_api_test_on_a_lifelong_env() -> None:
    from pettingzoo.test import parallel_api_test

    import warehouse

    parallel_api_test(warehouse.make_env("tiny", robots=3, steps=30), num_cycles=60)


# --- lead 4: the distance rows are read in place ------------------------------------------

ROOM = "type octile\nheight 6\nwidth 7\nmap\n.......\n.@@.@@.\n.......\n.@.@.@.\n.......\n...@...\n"


def _room_fleet(folder: Path, small_cache: bool) -> Fleet:
    """10 robots on a random one-shot instance of an open room; ``small_cache``: a distance
    cache of 16 rows (the goals' 10 and 6 more), so rows asked for between steps evict them."""
    from warehouse.floor.distances import DistanceCache

    (folder / "m.map").write_text(ROOM)
    sc, src = load_scenario(folder / "m.map")
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 10}
    sc = apply_overrides(sc, over, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    if small_cache:
        sim.dist = DistanceCache(sim.floor, max_bytes=0, min_rows=10)
        assert sim.dist.capacity == 16
    fleet = Fleet(sim, None, LaCAMNavigator())
    fleet.reset(4)
    return fleet


def test_the_plan_reads_the_simulations_rows_without_a_copy(tmp_path: Path) -> None:
    """The navigator keeps no robots × nodes table of its own (a copy of the cache's rows:
    155 MB at 2,000 robots on warehouse-20-40-10-2-1), and rows the cache evicts between steps
    (other goals asked for) change nothing: the same actions and plans as with a cache that
    holds every row."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, evicting = _room_fleet(tmp_path / "a", False), _room_fleet(tmp_path / "b", True)
    n = plain.sim.floor.n_nodes
    goals = set(np.asarray(plain.sim.one_shot_goals).tolist())
    others = np.array([v for v in range(n) if v not in goals][:12], dtype=np.int64)
    assert np.array_equal(plain.sim.one_shot_goals, evicting.sim.one_shot_goals)
    computed = evicting.sim.dist.computed
    for t in range(25):
        a, b = plain.step(), evicting.step()
        assert np.array_equal(a.proposed, b.proposed), t
        assert np.array_equal(a.preferences, b.preferences), t
        evicting.sim.dist.slots(others[:6])  # fill the cache, then evict goal rows
        evicting.sim.dist.slots(others[6:])
    assert evicting.sim.dist.computed - computed > 25  # rows were evicted and computed again
    assert [p.tobytes() for _, p in plain.navigator.plans] == [
        p.tobytes() for _, p in evicting.navigator.plans
    ]
    for value in vars(plain.navigator).values():
        if isinstance(value, np.ndarray):
            assert value.size < plain.sim.n_robots * n, value.shape


# --- agents/bench_lacam: a bad --out is refused before the benchmark ----------------------


@pytest.mark.parametrize("where", ["missing/x.json", "taken.json"])
def test_bench_lacam_refuses_a_bad_out_in_one_line_before_running(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --out in a folder that does not exist (a traceback after the whole benchmark) or a
    file already there (silently replaced) is a one-line error (no usage lines), exit 2,
    nothing written."""
    from agents import bench_lacam

    (tmp_path / "taken.json").write_text("{}")
    out = tmp_path / where
    with pytest.raises(SystemExit) as exc:
        bench_lacam.main(["tiny", "--robots", "2", "--seeds", "0", "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {out}: --out: "), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.json"]
    assert (tmp_path / "taken.json").read_text() == "{}"
