"""KPIs recomputed by hand on a tiny scripted run match the report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import agents.registry
import hierarchy.dispatchers
from warehouse import policies
from warehouse.kpis import KPI_NAMES
from warehouse.report import build_report, summarize
from warehouse.runner import prepare, run_experiment

# Row 0: station, three aisle cells, pick location; row 1: free aisle for side-stepping.
SCENARIO = """\
name: scripted
layout:
  type: ascii
  map: |
    S...p
    .....
fleet: {robots: 2, start: spread}
tasks: {arrival_rate: 0.0, pick_time: 1, drop_time: 1}
physics: {collisions: physical, step_seconds: 2.0, cell_size: 1.5}
episode: {steps: 10, seeds: [0, 1], collect_every: 1}
"""
WAIT, N, E, S, W = range(5)


class ScriptedDispatcher:
    """One order at t=0 (pick (0,4) → station (0,0)), given to robot 1."""

    name = "scripted"

    def reset(self, seed):
        pass

    def dispatch(self, sim):
        if sim.t == 0:
            f = sim.floor
            pick, station = f.cell_of[0, 4], f.cell_of[0, 0]
            assert f.picks.tolist() == [pick] and f.stations.tolist() == [station]
            ids = sim.orders.add(np.array([pick], np.int32), np.array([station], np.int32), 0)
            sim.assign(np.array([1]), ids)


class ScriptedNavigator:
    """Robot 0 leaves the station southwards at step 3; robot 1 goes N then W×4."""

    name = "scripted"
    needs_observation = False

    def reset(self, seed):
        pass

    def act(self, sim, obs, mask):
        t = sim.t  # steps done before this one
        actions = np.zeros(sim.n_robots, dtype=np.int64)
        if t == 2:
            actions[0] = S
        if t == 0:
            actions[1] = N
        if 2 <= t <= 5:
            actions[1] = W
        return actions, np.zeros(mask.shape, np.float32)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(agents.registry.NAVIGATORS, "scripted", lambda **kw: ScriptedNavigator())
    monkeypatch.setitem(hierarchy.dispatchers.DISPATCHERS, "scripted", ScriptedDispatcher)
    monkeypatch.setitem(policies.PRESETS, "scripted", ("scripted", "scripted", None))
    path = tmp_path / "scripted.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_hand_computed_kpis_match_the_report(scripted: Path) -> None:
    exp = prepare(scripted, policies=["scripted"])
    results = run_experiment(exp)
    report = build_report(results)
    k = report["runs"][0]["kpis"]

    # By hand. Robot 0 starts on the station (0,0), robot 1 on (1,4) ("spread" start).
    # Step 1: robot 1 moves N onto the pick location and starts picking (1 step).
    # Step 2: picking done, it now carries the order. Step 3: robot 0 steps S out of the way.
    # Steps 3-6: robot 1 moves W four cells onto the station and starts dropping.
    # Step 7: dropped, delivered; the order arrived at step 0 → cycle time 7 steps × 2 s.
    steps, robots, step_s, cell_m = 10, 2, 2.0, 1.5
    moves = 1 + 1 + 4
    busy = 7  # robot 1 spends steps 1..7 on its task (the drop of step 7 included)
    distance = moves * cell_m
    hand = {
        "deliveries": 1,
        "throughput_per_step": 1 / steps,
        "throughput_per_hour": 1 * 3600 / (steps * step_s),
        "collisions": 0,
        "collisions_per_1k_robot_steps": 0.0,
        "shield_interventions": 0,
        "cycle_time_p50": 7 * step_s,
        "cycle_time_p95": 7 * step_s,
        "utilization": busy / (robots * steps),
        # By what each robot does during a step: robot 1 drives to the pick in step 1, picks in
        # step 2, carries in steps 3-6 and drops in step 7; robot 0 never has a task. No step
        # begun driving ends without a move.
        "empty_travel_share": 1 / (robots * steps),
        "loaded_travel_share": 4 / (robots * steps),
        "handling_share": 2 / (robots * steps),
        "blocked_share": 0.0,
        "breakdowns": 0,  # faults off
        "breakdown_share": 0.0,
        "charging_share": None,  # no battery model
        "battery_depletions": None,
        "min_soc": None,
        "distance_m": distance,
        "energy_kwh": (distance * 0.08 + robots * steps * step_s * 60.0 / 3600.0) / 1000.0,
        "stuck_robots": 0,
        "stuck_robot_share": 0.0,  # never 30 steps without progress
        "jammed_robots": 0,
        "oldest_open_order_s": 0.0,  # the one order was assigned at once
        "orders_arrived": 1,  # the scripted one (arrival_rate 0: no others)
        "orders_lost": 0,
        "solved": None,  # not a one-shot MAPF run (tasks.assignment: one_shot)
        "on_goal_share": None,
        "makespan": None,
        "sum_of_costs": None,
        "sum_of_costs_lb": None,
        "steps": steps,
        "robots": robots,
    }
    assert set(hand) == set(KPI_NAMES)
    for name, value in hand.items():
        assert k[name]["per_seed"] == [pytest.approx(value, abs=1e-6)] * 2, name
        assert k[name]["mean"] == pytest.approx(value, abs=1e-6), name
        assert k[name]["ci95"] == (None if value is None else 0.0), name
    # The DataCollector series: the delivery shows up at step 7 and stays.
    series = results.runs[0].series.set_index("step")
    assert series.loc[:6, "deliveries"].eq(0).all()
    assert series.loc[7:, "deliveries"].eq(1).all()


def _backlog_run(cap: int) -> tuple[dict, int, int]:
    """Orders arrive on ``tiny`` and nobody serves them; returns the KPIs, the orders created
    and the first step after which an order had arrived."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.kpis import compute_kpis

    sc, src = load_scenario("tiny")
    sets = {"tasks.arrival_rate": 0.4, "tasks.max_open_orders": cap, "physics.step_seconds": 2.0}
    sc = apply_overrides(sc, sets, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(3)
    first = None
    for k in range(1, 41):
        res = sim.step(np.zeros(sim.n_robots, np.int64))
        if first is None and res.new_orders:
            first = k
    assert first is not None
    return compute_kpis(sim), sim.orders.count, first


def test_report_flags_the_seeds_that_end_gridlocked(
    scripted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seed whose share of jammed robots reaches GRIDLOCK_SHARE is named in the report and in
    one warning line; a seed just under it is not, nor one whose robots are merely stuck."""
    import warehouse.report as report_mod

    results = run_experiment(prepare(scripted, policies=["scripted"]))
    assert build_report(results)["runs"][0]["gridlocked_seeds"] == []  # nobody stuck
    assert report_mod.gridlock_warnings(build_report(results)) == []

    monkeypatch.setattr(report_mod, "GRIDLOCK_SHARE", 0.75)  # 2 robots: 2 jammed count, 1 not
    by_seed = {r.seed: r for r in results.runs}
    by_seed[0].kpis["jammed_robots"] = 1
    by_seed[1].kpis["jammed_robots"] = 2
    report = build_report(results)
    assert report["runs"][0]["gridlocked_seeds"] == [1]
    (line,) = report_mod.gridlock_warnings(report)
    assert line.startswith("warning: scripted (physical) ended gridlocked on 1 of 2 seeds (1): ")
    assert "--collisions pibt" in line
    assert "rule_based_push_unlock" not in line  # the scripted navigator is not rule-based

    by_seed[0].kpis["jammed_robots"] = 2
    assert build_report(results)["runs"][0]["gridlocked_seeds"] == [0, 1]
    for r in results.runs:  # stuck (traffic) without being jammed: no verdict
        r.kpis["stuck_robots"], r.kpis["jammed_robots"] = 2, 0
    assert build_report(results)["runs"][0]["gridlocked_seeds"] == []


def test_stuck_and_jammed_robots_count_steps_without_progress() -> None:
    """``stuck_robots`` counts robots with no progress for ``physics.stuck_after`` steps,
    ``jammed_robots`` for ``physics.jam_after``; both follow the scenario's settings."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.kpis import compute_kpis

    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"physics.stuck_after": 5, "physics.jam_after": 50}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(0)
    sim.state.since_progress[:4] = [4, 5, 49, 50]
    k = compute_kpis(sim)
    assert (k["stuck_robots"], k["jammed_robots"]) == (3, 1)


def test_backlog_kpis_count_the_waiting_and_the_lost_orders() -> None:
    free, created, first = _backlog_run(10_000)
    capped, kept, first_capped = _backlog_run(5)
    # Nobody is dispatched, so the first order still waits after 40 steps of 2 s.
    assert free["oldest_open_order_s"] == capped["oldest_open_order_s"] == (40 - first) * 2.0
    assert first_capped == first
    # The cap drops every arrival beyond 5 open orders; the arrival stream is the same.
    assert created > 5 and kept == 5
    assert free["orders_lost"] == 0 and capped["orders_lost"] == created - 5
    assert capped["deliveries"] == free["deliveries"] == 0


def test_backlog_kpis_are_none_without_orders() -> None:
    from warehouse.model import WarehouseModel

    k = WarehouseModel("tiny", seed=0, steps=20, tasks="goal_visit").run()
    assert k["oldest_open_order_s"] is None and k["orders_lost"] == 0


def test_summary_statistics_by_hand() -> None:
    s = summarize([1, 2, 3])
    assert s["mean"] == 2.0
    # sd = 1, t(0.975, 2) = 4.302653 → half-width 4.302653 / sqrt(3)
    assert s["ci95"] == pytest.approx(4.302653 / math.sqrt(3), abs=1e-6)
    assert s["per_seed"] == [1, 2, 3]
    single = summarize([5.5])
    assert single == {"mean": 5.5, "ci95": None, "per_seed": [5.5]}
    gaps = summarize([None, 10.0, 20.0])
    assert gaps["mean"] == 15.0 and gaps["per_seed"] == [None, 10.0, 20.0]
    assert summarize([None, None]) == {"mean": None, "ci95": None, "per_seed": [None, None]}


def test_time_shares_count_what_robots_do_during_each_step() -> None:
    """A robot given an order and told to wait is blocked while it should be driving; the shares
    follow the phase each step began in, and goal_visit has no order shares."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.kpis import compute_kpis

    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 0.0}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(0)
    n, f = sim.n_robots, sim.floor
    far = f.picks[np.argmax(sim.dist.lookup(f.picks, np.full(f.picks.size, sim.state.pos[0])))]
    ids = sim.orders.add(np.array([far], np.int32), f.stations[:1].astype(np.int32), 0)
    sim.assign(np.array([0]), ids)
    for _ in range(3):
        sim.step(np.zeros(n, np.int64))  # everyone waits
    k = compute_kpis(sim)
    assert k["empty_travel_share"] == pytest.approx(3 / (3 * n))
    assert k["blocked_share"] == pytest.approx(3 / (3 * n))
    assert k["loaded_travel_share"] == k["handling_share"] == 0.0
    assert sim.state.phase_steps.tolist() == [3 * (n - 1), 3, 0, 0, 0, 0]  # the others idle
    sim.step(sim.action_mask()[:, 1:].argmax(axis=1) + 1)  # robot 0 moves (every robot tries)
    k = compute_kpis(sim)
    assert k["empty_travel_share"] == pytest.approx(4 / (4 * n))
    assert k["blocked_share"] == pytest.approx(3 / (4 * n))

    sc = apply_overrides(sc, {"tasks.mode": "goal_visit"}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(0)
    sim.step(np.zeros(n, np.int64))
    k = compute_kpis(sim)
    assert k["empty_travel_share"] is None and k["handling_share"] is None
    assert k["blocked_share"] == 1.0  # every robot drives to a goal and none moved


def test_gridlock_warning_names_the_fixes_that_apply() -> None:
    """A rule-based fleet that jams under ``block`` is pointed to the PIBT shield and to the
    navigator that undoes both kinds of jam; that navigator itself, only to PIBT; a fleet under
    PIBT to neither, one under ``pibt_swap`` to the jam repair of ``pibt_lacam``."""
    from warehouse.report import gridlock_warnings

    def line(navigator: str, collisions: str) -> str:
        run = {"policy": "p", "navigator": navigator, "collisions": collisions,
               "gridlocked_seeds": [1]}  # fmt: skip
        (text,) = gridlock_warnings({"seeds": [0, 1], "runs": [run]})
        return text

    assert line("rule_based", "block").endswith(
        "the PIBT shield (--collisions pibt) resolves such jams, as does the "
        "rule_based_push_unlock navigator"
    )
    assert line("rule_based_push_unlock", "block").endswith("resolves such jams")
    assert line("rule_based", "pibt").endswith("so its means mix working and jammed runs")
    assert line("rule_based", "pibt_lacam").endswith("so its means mix working and jammed runs")
    assert line("rule_based", "pibt_swap").endswith(
        "the jam repair of --collisions pibt_lacam (exploratory) freed such jams at dead-end "
        "stations (docs/results_swap.md, part 6)"
    )


def test_orders_arrived_counts_the_lost_ones_too() -> None:
    """``orders_arrived`` is the demand: the orders kept plus those the backlog cap dropped."""
    import warehouse
    from warehouse.kpis import orders_arrived, orders_lost

    env = warehouse.make_env("tiny", **{"tasks.arrival_rate": 5.0, "tasks.max_open_orders": 8})
    env.set_dispatcher(None)  # nobody takes orders: the backlog fills and arrivals are lost
    env.reset_arrays(seed=0)
    arrived = 0
    for _ in range(40):
        arrived += env.step_arrays(np.zeros(env.sim.n_robots, np.int64))[2].new_orders
    lost = orders_lost(env.sim)
    assert lost > 0 and env.sim.orders.count == 8
    assert orders_arrived(env.sim) == 8 + lost
    assert arrived == 8  # the step counter counts kept arrivals only


def test_breakdown_kpis_by_hand() -> None:
    """breakdown_prob 1 and breakdown_steps 4: each robot breaks down at the end of step 1, and
    again at the end of steps 5 and 9 (as soon as it works again); it begins steps 2..10 broken
    down. Two robots, 10 steps: 6 breakdowns, 18 of 20 robot-steps lost."""
    from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
    from warehouse.core import Simulation
    from warehouse.floor import NodeKind, compile_floor, graph_from_grid
    from warehouse.kpis import breakdown_share, breakdowns, compute_kpis

    grid = np.array([[NodeKind.STATION] + [NodeKind.AISLE] * 4 + [NodeKind.PICK]], np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig(breakdown_prob=1.0, breakdown_steps=4),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    assert breakdowns(sim) == 0 and breakdown_share(sim) == 0.0  # no step yet
    counts = []
    for _ in range(10):
        sim.step(np.zeros(2, np.int64))
        counts.append(breakdowns(sim))
    assert counts == [2, 2, 2, 2, 4, 4, 4, 4, 6, 6]
    assert breakdown_share(sim) == pytest.approx(18 / 20)
    assert sim.state.breakdowns.tolist() == [3, 3] and sim.state.broken_steps.tolist() == [9, 9]
    k = compute_kpis(sim)
    assert (k["breakdowns"], k["breakdown_share"]) == (6, pytest.approx(0.9))
    sim.reset(seed=0)  # counters start again
    assert breakdowns(sim) == 0 and sim.state.broken_steps.sum() == 0


def test_breakdown_kpis_count_what_the_state_shows() -> None:
    """A seeded fleet with random breakdowns: the KPIs equal counts taken from the broken-down
    timers step by step (a breakdown sets the timer to breakdown_steps from 0 or 1)."""
    import warehouse
    from agents import RuleBasedNavigator
    from hierarchy import GreedyDispatcher
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis

    env = warehouse.make_env("tiny", **{"faults.breakdown_prob": 0.03, "faults.breakdown_steps": 7})
    fleet = Fleet(env.sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(4)
    sim = fleet.sim
    events = lost = 0
    for _ in range(300):
        before = sim.state.broken.copy()
        fleet.step()
        after = sim.state.broken
        lost += int((before > 0).sum())
        events += int(((after == 7) & (before <= 1)).sum())
    k = compute_kpis(sim)
    assert events > 10  # the run did break down
    assert k["breakdowns"] == events
    assert k["breakdown_share"] == pytest.approx(lost / (sim.n_robots * 300))
    assert 0 < k["breakdown_share"] < 1


def test_breakdown_kpis_in_the_report_and_the_model_series(tmp_path: Path) -> None:
    """The report and the Mesa DataCollector carry the new KPIs (the per-robot counters too),
    and an older report without them still compares (they are named as one-sided)."""
    import json

    from warehouse.compare import compare_reports
    from warehouse.model import WarehouseModel
    from warehouse.report import kpi_table, markdown_table

    model = WarehouseModel(
        "tiny", policy="rule_based", seed=1, steps=60, collect_every=10,
        **{"faults.breakdown_prob": 0.05},
    )  # fmt: skip
    final = model.run()
    series = model.series()
    assert series["breakdowns"].iloc[-1] == final["breakdowns"] > 0
    assert series["breakdown_share"].iloc[-1] == final["breakdown_share"] > 0
    assert series["breakdowns"].is_monotonic_increasing
    robots = model.robot_series()
    at_end = robots[robots["step"] == 60]
    assert at_end["breakdowns"].sum() == final["breakdowns"]
    assert at_end["broken_steps"].sum() == pytest.approx(
        final["breakdown_share"] * 60 * len(at_end)
    )

    exp = prepare_faults(tmp_path)
    report = build_report(run_experiment(exp))
    kpis = report["runs"][0]["kpis"]
    assert kpis["breakdowns"]["per_seed"][0] > 0 and 0 < kpis["breakdown_share"]["mean"] < 1
    assert "breakdown_share" in markdown_table(report)
    # every KPI but the battery's (undefined without a battery model) and the one-shot MAPF
    # ones is printed
    battery = {"charging_share", "battery_depletions", "min_soc"}
    one_shot = {"solved", "on_goal_share", "makespan", "sum_of_costs", "sum_of_costs_lb"}
    assert kpi_table(report).row_count == len(KPI_NAMES) - len(battery) - len(one_shot)
    assert not any(f"| {name} |" in markdown_table(report) for name in battery)
    new = tmp_path / "new.json"
    new.write_text(json.dumps(report))
    old = json.loads(new.read_text())
    for name in ("breakdowns", "breakdown_share"):
        del old["runs"][0]["kpis"][name]
    (tmp_path / "old.json").write_text(json.dumps(old))
    result = compare_reports(tmp_path / "old.json", new)
    assert result["not_compared"] == ["breakdown_share", "breakdowns"]
    assert result["pairs"]["rule_based"]["deliveries"]["diff"] == 0.0


def prepare_faults(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "faults.yaml"
    path.write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
        "fleet: {robots: 4}\nfaults: {breakdown_prob: 0.05}\nepisode: {steps: 60, seeds: [0, 1]}\n"
    )
    return prepare(path, policies=["rule_based"])


def test_printed_tables_leave_out_kpis_no_policy_defines() -> None:
    """A KPI undefined for every policy (None: cycle times in goal_visit mode, the battery's
    without a battery model) is not printed; one that a single policy defines is."""
    from warehouse.report import kpi_table, markdown_table, shown_kpis

    def cell(mean):
        return {"mean": mean, "ci95": None if mean is None else 0.0, "per_seed": [mean]}

    runs = [{"policy": p, "kpis": {n: cell(1.0) for n in KPI_NAMES}} for p in ("a", "b")]
    for run in runs:
        run["kpis"]["cycle_time_p50"] = cell(None)
    runs[1]["kpis"]["min_soc"] = cell(None)
    runs[0]["kpis"]["min_soc"] = cell(0.5)
    report = {"scenario": "s", "robots": 2, "steps": 10, "seeds": [0], "runs": runs}
    shown = shown_kpis(report)
    assert "cycle_time_p50" not in shown and "min_soc" in shown
    assert shown == [n for n in KPI_NAMES if n != "cycle_time_p50"]
    assert kpi_table(report).row_count == len(KPI_NAMES) - 1
    assert "| cycle_time_p50 |" not in markdown_table(report)
    assert "| min_soc | 0.5 ± 0 | — |" in markdown_table(report)


def test_stuck_robot_share_is_the_stuck_snapshot_over_every_step(tmp_path: Path) -> None:
    """``stuck_robot_share``: robot-steps that ended stuck (the ``stuck_robots`` rule, counted
    by hand after every step here) over all robot-steps; ``stuck_robots`` stays the last step's
    count. A recording recomputes the share at any frame from its ``since_progress`` frames."""
    import warehouse
    from agents import RuleBasedNavigator
    from hierarchy import GreedyDispatcher
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis
    from warehouse.recording import EpisodeRecorder, kpis_from_recording, load_recording

    env = warehouse.make_env("tiny", **{"physics.stuck_after": 3})
    fleet = Fleet(env.sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(2)
    sim = fleet.sim
    assert compute_kpis(sim)["stuck_robot_share"] == 0.0  # no step yet
    rec = EpisodeRecorder(sim, meta={"seed": 2})
    counts = []
    for _ in range(200):
        rec.capture(sim, fleet.step())
        counts.append(int((sim.state.since_progress >= 3).sum()))
    k = compute_kpis(sim)
    n = sim.n_robots
    assert k["stuck_robot_share"] == pytest.approx(sum(counts) / (n * 200), abs=1e-12)
    assert 0 < k["stuck_robot_share"] < 1 and len(set(counts)) > 2  # stuck some of the time
    assert k["stuck_robots"] == counts[-1]
    assert k["stuck_robot_share"] != pytest.approx(counts[-1] / n)  # not the snapshot
    log = load_recording(rec.save(tmp_path / "r.npz"))
    assert kpis_from_recording(log) == k
    assert kpis_from_recording(log, 120)["stuck_robot_share"] == pytest.approx(
        sum(counts[:120]) / (n * 120), abs=1e-12
    )


def test_results_without_stuck_robot_share_still_compare_and_target(tmp_path: Path, capsys) -> None:
    """A run folder written before the KPI (its report.json without it) compares against a new
    one (``warehouse compare``: named as one-sided, the other KPIs paired), and a sweep target
    may name the new KPI."""
    import json

    from cli_helpers import run_cli

    from warehouse.kpi_targets import parse_target
    from warehouse.report import markdown_table

    report = build_report(run_experiment(prepare_faults(tmp_path)))
    assert "| stuck_robot_share |" in markdown_table(report)
    for name, data in (("new", report), ("old", json.loads(json.dumps(report)))):
        if name == "old":
            for run in data["runs"]:
                del run["kpis"]["stuck_robot_share"]
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(data))
    code, out, err = run_cli(["compare", str(tmp_path / "old"), str(tmp_path / "new")], capsys)
    assert code == 0, err
    assert "not compared (in one report only): stuck_robot_share" in out
    assert "deliveries" in out
    target = parse_target("stuck_robot_share<=0.05")
    assert target.kpi == "stuck_robot_share"


def test_utilization_is_the_sum_of_the_phase_shares() -> None:
    """A robot's time with a task is its time driving empty, driving loaded and at the shelf or
    station, the step that ends its drop included (it was left out before)."""
    from warehouse.kpis import compute_kpis
    from warehouse.model import WarehouseModel

    model = WarehouseModel("small", seed=0, policy="rule_based", steps=400)
    while model.running:
        model.step()
    k = compute_kpis(model.sim)
    assert k["deliveries"] > 50
    shares = k["empty_travel_share"] + k["loaded_travel_share"] + k["handling_share"]
    assert k["utilization"] == pytest.approx(shares, abs=1e-12)
