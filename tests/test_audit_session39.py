"""Fixes of the thirty-ninth session's lead engineer (one test per fix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def test_make_weights_fine_tunes_in_spawned_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``agents.make_weights`` built its pool of fine-tuning workers with the platform's default
    start method: ``fork`` on Linux, which copies the parent's torch and numba threads into the
    workers (a DeprecationWarning on Python 3.12+ when threads exist). Its workers are spawned
    now, as the runner's and the evaluation's are."""
    import agents.make_weights as mw

    made: list[dict[str, Any]] = []

    class Pool:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(kwargs)

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def submit(self, *args: Any) -> None:
            raise AssertionError("nothing is left to fine-tune")

        def shutdown(self, **kwargs: Any) -> None:
            return None

    for name in mw.FINETUNED:  # every run already done: the pool starts and runs nothing
        for folder, _ in mw._runs(name):
            (tmp_path / folder).mkdir(parents=True)
            (tmp_path / folder / "model.json").write_text("{}")
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "model.json").write_text("{}")
    monkeypatch.setattr(mw, "ProcessPoolExecutor", Pool)
    mw.finetune_all(tmp_path, tmp_path / "cql.json")
    assert len(made) == 1
    assert made[0]["mp_context"].get_start_method() == "spawn"


#: a 3 × 5 MovingAI map whose cell (2, 3) (linearized 13) is free but walled in: the floor drops
#: it (cut off from the main floor)
_WALLED_IN = "type octile\nheight 3\nwidth 5\nmap\n.....\n@@@@@\n..@.@\n"


@pytest.mark.parametrize(
    ("agents", "tasks", "blamed"),
    [
        ("3\n0\n4\n13\n", "2\n1\n3\n", "a.agents: line 4"),
        ("3\n0\n4\n1\n", "2\n1\n13\n", "t.tasks: line 3"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_lorr_cell_cut_off_from_the_floor_names_its_line(
    command: str,
    agents: str,
    tasks: str,
    blamed: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A League of Robot Runners start or task on a free cell the floor drops (walled in) was
    blamed on the problem file's ``fleet.start_cells[2]`` / ``tasks.goals[1]``, settings the
    user never wrote; the error now names the agent or task file's line, as it does for an
    obstacle and as the MovingAI ``.scen`` reader does."""
    from cli_helpers import fails_cleanly

    (tmp_path / "m.map").write_text(_WALLED_IN)
    (tmp_path / "a.agents").write_text(agents)
    (tmp_path / "t.tasks").write_text(tasks)
    problem = tmp_path / "p.json"
    problem.write_text(
        '{"mapFile": "m.map", "agentFile": "a.agents", "taskFile": "t.tasks", "teamSize": 3}'
    )
    argv = [command, str(problem)]
    if command == "run":
        argv += ["--steps", "5", "--seeds", "0", "--out", str(tmp_path / "out")]
    line = fails_cleanly(argv, tmp_path, capsys, f"{tmp_path / blamed}:")
    assert "cell 13 (row 2, col 3) is cut off from the main floor" in line


def test_report_of_a_run_stopped_when_solved_says_its_steps_are_a_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under ``episode.stop_when_solved`` each seed stops when solved; the table's title said
    "1000 steps" and ``report.json`` ``steps: 1000`` as if every seed had run them. The title
    now says the steps are a limit, and ``report.json`` records the setting (the KPI ``steps``
    says how long each seed ran)."""
    import json

    from cli_helpers import TINY, run_cli

    one_shot = ["--set", "tasks.mode=goal_visit", "--set", "tasks.assignment=one_shot"]
    common = ["run", str(TINY), *one_shot, "--robots", "3", "--seeds", "0,1", "--steps", "300"]
    code, out, _ = run_cli(
        [*common, "--set", "episode.stop_when_solved=true", "--out", str(tmp_path / "a")], capsys
    )
    assert code == 0
    assert "until solved, at most 300 steps" in " ".join(out.split())
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["stop_when_solved"] is True and report["steps"] == 300
    ran = report["runs"][0]["kpis"]["steps"]["per_seed"]
    assert all(s < 300 for s in ran), ran  # both seeds solved before the limit
    code, out, _ = run_cli([*common, "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "until solved" not in out
    assert "stop_when_solved" not in json.loads((tmp_path / "b" / "report.json").read_text())


def _tiny_fleet(**overrides: Any) -> Any:
    """A rule-based fleet on ``tiny`` with ``overrides``, reset on seed 0."""
    from agents import make_navigator
    from hierarchy import make_dispatcher
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet

    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, overrides, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(0)
    return fleet


def test_viewer_hud_shows_a_one_shot_instance_s_own_kpis(tmp_path: Path) -> None:
    """The viewer's HUD showed orders, throughput and cycle times for one-shot MAPF runs, where
    there are none; it now shows robots on their goal, whether (since when) the instance is
    solved and the sum of costs against its bound, live and in a replay alike. Lifelong runs
    keep their line."""
    import numpy as np

    from visualize.draw import kpi_line
    from visualize.frame import frame_from_recording, frame_from_sim
    from warehouse.recording import EpisodeRecorder, load_recording

    one_shot = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 3}
    fleet = _tiny_fleet(**one_shot)
    recorder = EpisodeRecorder(fleet.sim, meta={})
    lines = []
    for _ in range(60):
        recorder.capture(fleet.sim, fleet.step())
        lines.append(kpi_line(frame_from_sim(fleet.sim, fleet.last)))
    first = lines[0]
    assert first.startswith("on goal ") and "not solved" in first and "sum of costs -" in first
    assert "delivered" not in first and "open orders" not in first
    s = fleet.sim.state
    assert np.array_equal(s.pos, fleet.sim.one_shot_goals)  # solved within 60 steps
    assert f"on goal 3/3   solved at step {int(s.goal_since.max())}" in lines[-1]
    assert f"(bound {fleet.sim.sum_of_costs_lb})" in lines[-1]
    recorder.save(tmp_path / "r.npz")
    rec = load_recording(tmp_path / "r.npz")
    assert [kpi_line(frame_from_recording(rec, t)) for t in (1, 60)] == [lines[0], lines[-1]]
    lifelong = _tiny_fleet()
    lifelong.step()
    line = kpi_line(frame_from_sim(lifelong.sim, lifelong.last))
    assert line.startswith("delivered ") and "open orders" in line


@pytest.mark.parametrize("stop", [True, False])
def test_live_viewer_ends_a_run_stopped_when_solved_where_run_ends_it(stop: bool) -> None:
    """``warehouse view`` of a one-shot instance with ``episode.stop_when_solved`` kept stepping
    past the solve (to ``episode.steps``), unlike ``warehouse run`` and the env; it now ends
    there. Without the setting it runs on to the step limit."""
    pytest.importorskip("pygame")
    from visualize.viewer import live_viewer

    overrides = {
        "tasks.mode": "goal_visit",
        "tasks.assignment": "one_shot",
        "fleet.robots": 3,
        "episode.stop_when_solved": stop,
    }
    v = live_viewer("tiny", policy="rule_based", steps=200, overrides=overrides, headless=True)
    taken = 0
    while v.source.advance():
        taken += 1
    sim = v.source.fleet.sim
    assert sim.solved()
    assert taken == (int(sim.state.goal_since.max()) if stop else 200)


def test_bench_lacam_times_the_search_and_records_what_it_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m agents.bench_lacam``: one row per instance in its JSON (plan found, the
    search's iterations at least the plan's length), and a summary row per fleet size; bad
    options are one-line errors, exit 2."""
    import json

    from agents.bench_lacam import main

    out = tmp_path / "b.json"
    main(["tiny", "--robots", "2,4", "--seeds", "0..2", "--out", str(out)])
    data = json.loads(out.read_text())
    assert [(r["robots"], r["seed"]) for r in data["rows"]] == [
        (n, s) for n in (2, 4) for s in range(3)
    ]
    for r in data["rows"]:
        assert r["found"] and r["iterations"] >= r["plan_length"] >= 1
        assert r["first_step_cpu_ms"] > 0
    assert [r["robots"] for r in data["summary"]] == [2, 4]
    assert all(r["found"] == "3/3" for r in data["summary"])
    assert "cpu" in data["machine"]
    capsys.readouterr()
    for argv, said in (
        (["tiny", "--robots", "0"], "--robots: expected whole numbers ≥ 1"),
        (["tiny", "--seeds", "x"], "--seeds"),
        (["tiny", "--robots", "100000"], "fleet.robots"),
        (["nosuch.map"], "nosuch.map"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert said in err and "Traceback" not in err, err


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_signal_during_a_shard_write_waits_for_the_shard(
    signame: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``warehouse collect`` stopped by SIGTERM (or Ctrl-C) while ``np.savez`` wrote a shard
    raised its stop inside the zip writer; closing the half-written zip then failed with
    "can't close the ZIP file while there is an open writing handle", which hid the stop: a
    traceback and exit 1 instead of 143 (seen once in the full suite, in
    ``test_a_terminated_collect_leaves_nothing_behind``). The signal now waits for the shard
    and then stops the command as before."""
    import signal

    import numpy as np

    from agents.dataset import FIELDS, ShardWriter

    signum = getattr(signal, signame)
    real_savez = np.savez

    def savez_hit_by_a_signal(*args: Any, **kwargs: Any) -> None:
        signal.raise_signal(signum)  # arrives while the shard is being written
        real_savez(*args, **kwargs)

    def stop(sig: int, frame: object) -> None:
        raise SystemExit(128 + sig)

    old = signal.signal(signum, stop)
    try:
        monkeypatch.setattr(np, "savez", savez_hit_by_a_signal)
        writer = ShardWriter(tmp_path, obs_dim=3, n_actions=5, shard_size=4)
        rows = {k: np.zeros((4, *writer._row(kind)), dtype=dt) for k, (dt, kind) in FIELDS.items()}
        with pytest.raises(SystemExit) as exc:
            writer.add(**rows)  # fills the shard: flush writes it
    finally:
        signal.signal(signum, old)
    assert exc.value.code == 128 + signum
    with np.load(tmp_path / "shard_00000.npz", allow_pickle=False) as shard:
        assert shard["action"].shape == (4,)  # written whole before the stop


def test_reward_on_goal_pays_each_step_a_robot_ends_on_its_one_shot_goal() -> None:
    """``reward.on_goal`` (default 0): in one-shot runs, a reward per step a robot ends on its
    goal, so a learner is paid for holding it (h9's training run: robots arrived, then drove
    off for free). The same run with and without it differs by exactly that term; elsewhere
    the setting is refused (it would do nothing)."""
    import numpy as np

    import warehouse
    from agents import RuleBasedNavigator

    one_shot = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 3}
    runs = []
    for on_goal in (0.0, 2.5):
        env = warehouse.make_env("tiny", **one_shot, **{"reward.on_goal": on_goal})
        obs, _ = env.reset(seed=4)
        nav = RuleBasedNavigator()
        nav.reset(4)
        rewards, on = [], []
        for _ in range(40):
            mask = np.stack([obs[a]["action_mask"] for a in env.agents]).astype(bool)
            moves, _ = nav.act(env.sim, None, mask)
            obs, r, _, _, _ = env.step(dict(zip(env.agents, moves.tolist(), strict=True)))
            rewards.append([r[a] for a in env.possible_agents])
            on.append((env.sim.state.pos == env.sim.one_shot_goals).tolist())
        runs.append((np.array(rewards, np.float32), np.array(on)))
    (plain, on_plain), (paid, on_paid) = runs
    assert np.array_equal(on_plain, on_paid)  # a reward term changes no move
    assert on_plain.any()  # (some robot stood on its goal: the test has teeth)
    assert np.array_equal(paid - plain, np.float32(2.5) * on_plain)
    from warehouse.errors import InputError

    with pytest.raises(InputError, match=r"reward\.on_goal: needs tasks\.assignment: one_shot"):
        warehouse.make_env("tiny", **{"reward.on_goal": 1.0})


def test_viewer_draws_robots_holding_their_one_shot_goal_as_idle(tmp_path: Path) -> None:
    """In one-shot runs a robot standing on its goal kept its phase ``to_goal`` and was drawn
    in the "to pick" colour, like the robots still driving (h8): a solved instance looked busy.
    It is drawn idle now (its task done), live and in a replay, and the inspector says so;
    lifelong frames draw phases as before."""
    pytest.importorskip("pygame")
    import numpy as np

    from visualize import palette as pal
    from visualize.draw import Renderer
    from visualize.frame import frame_from_recording, frame_from_sim
    from visualize.inspector import inspect_robot
    from warehouse.recording import EpisodeRecorder, load_recording

    one_shot = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 3}
    fleet = _tiny_fleet(**one_shot)
    recorder = EpisodeRecorder(fleet.sim, meta={})
    r = Renderer(fleet.sim.floor, (200, 170))  # small cells: no id labels over the robots
    seen_driving = False
    for t in range(1, 61):
        recorder.capture(fleet.sim, fleet.step())
        frame = frame_from_sim(fleet.sim, fleet.last)
        on_goal = fleet.sim.state.pos == fleet.sim.one_shot_goals
        canvas = r.draw(frame)
        for i in range(3):
            x, y = r.robot_screen_center(frame, i)
            shown = tuple(canvas.get_at((int(x), int(y))))[:3]
            expected = pal.STATE_COLORS[0 if on_goal[i] else 1]  # idle, else driving
            assert shown == expected, (t, i)
            assert inspect_robot(frame, i).state == ("idle" if on_goal[i] else "to_pick")
        seen_driving |= not on_goal.all()
    assert seen_driving and on_goal.all()  # both kinds were drawn
    recorder.save(tmp_path / "r.npz")
    replayed = frame_from_recording(load_recording(tmp_path / "r.npz"), 60)
    assert np.array_equal(replayed.shown_phase, frame.shown_phase)
    lifelong = _tiny_fleet()
    lifelong.step()
    frame = frame_from_sim(lifelong.sim, lifelong.last)
    assert frame.shown_phase is frame.phase
