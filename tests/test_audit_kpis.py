"""Audit of the KPIs, the Mesa model and the run report: hand counts on tiny hand-built floors,
the statistics and the printed numbers, ``mesa.batch_run``, and ``warehouse run``'s files."""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli, snapshot

from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.kpis import KPI_NAMES, compute_kpis

WAIT, N, E, S, W = range(5)


def corridor_sim(
    robots: int, collisions: str = "physical", step_seconds: float = 1.0
) -> Simulation:
    """A station, four aisle cells and a pick location in one row; no order arrives by itself;
    robots start spread (the first on the station, the last on the pick location)."""
    grid = np.array([[NodeKind.STATION] + [NodeKind.AISLE] * 4 + [NodeKind.PICK]], np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots, start="spread"),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1, drop_time=1),
        physics=PhysicsConfig(collisions=collisions, step_seconds=step_seconds),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    return sim


def cells(sim: Simulation) -> list[list[int]]:
    return sim.floor.pos[sim.state.pos].tolist()


# ---------------------------------------------------------------------- hand counts
def test_collisions_and_their_rate_by_hand_in_physical_mode() -> None:
    """Two robots walk towards each other: they swap places over one edge (one incident), then
    one walks into the other, who stays (one more). ``block`` turns the same moves into waits:
    no collision, one shield intervention per robot whose move it changed."""
    sim = corridor_sim(2, step_seconds=0.5)
    assert cells(sim) == [[0, 0], [0, 5]]
    script = [[E, W], [E, W], [E, W], [WAIT, W]]
    incidents = []
    for actions in script:
        incidents.append(sim.step(np.array(actions)).incidents)
    assert incidents == [0, 0, 1, 1]  # the swap (0,2)↔(0,3), then (0,3) into the waiting robot
    assert cells(sim) == [[0, 2], [0, 3]]
    k = compute_kpis(sim)
    assert k["collisions"] == 2
    assert k["collisions_per_1k_robot_steps"] == pytest.approx(1000 * 2 / (2 * 4))
    assert k["shield_interventions"] == 0
    p = sim.config.physics
    metres = k["distance_m"]
    assert metres == pytest.approx(4 * (p.cell_size or 1.0))  # four moves succeeded
    idle_wh = 2 * 4 * 0.5 * p.idle_power_w / 3600  # robots × steps × step_seconds
    assert k["energy_kwh"] == pytest.approx((metres * p.energy_wh_per_metre + idle_wh) / 1000)

    blocked = corridor_sim(2, collisions="block", step_seconds=0.5)
    for actions in script:
        blocked.step(np.array(actions))
    k = compute_kpis(blocked)
    assert k["collisions"] == 0 and k["collisions_per_1k_robot_steps"] == 0.0
    # the swap: both wait (twice, steps 3 and 4 for robot 1, step 3 for robot 0)
    assert k["shield_interventions"] == 3
    assert cells(blocked) == [[0, 2], [0, 3]]


def test_cycle_times_backlog_and_shares_by_hand_with_two_second_steps() -> None:
    """One robot serves two orders from the pick location at the east end to the station at the
    west end (5 cells): 5 steps out, 1 picking, 5 back, 1 dropping. Order A arrives at 0 and is
    delivered at step 12; order B arrives at step 3, waits for the robot until step 12 and is
    delivered at step 24. Steps of 2 s."""
    sim = corridor_sim(1, step_seconds=2.0)
    f = sim.floor
    pick, station = f.cell_of[0, 5], f.cell_of[0, 0]
    assert cells(sim) == [[0, 0]]
    leg = [E] * 5 + [WAIT] + [W] * 5 + [WAIT]

    def order() -> np.ndarray:
        return sim.orders.add(np.array([pick], np.int32), np.array([station], np.int32), sim.t)

    sim.assign(np.array([0]), order())
    k = compute_kpis(sim)
    assert k["cycle_time_p50"] is None and k["oldest_open_order_s"] == 0.0  # none waits
    oldest = []
    for t, action in enumerate(leg):
        if t == 3:
            b = order()
        sim.step(np.array([action]))
        oldest.append(compute_kpis(sim)["oldest_open_order_s"])
    # B waits from step 3 on: its age at the end of steps 1..12, in seconds
    assert oldest == [0.0] * 3 + [2.0 * (t - 3) for t in range(4, 13)]
    k = compute_kpis(sim)
    assert k["deliveries"] == 1 and k["cycle_time_p50"] == k["cycle_time_p95"] == 24.0
    sim.assign(np.array([0]), b)
    for action in leg:
        sim.step(np.array([action]))
    k = compute_kpis(sim)
    assert sim.t == 24 and k["deliveries"] == 2
    cycles = [12 * 2.0, (24 - 3) * 2.0]  # seconds
    assert k["cycle_time_p50"] == pytest.approx((cycles[0] + cycles[1]) / 2)  # 33 s
    assert k["cycle_time_p95"] == pytest.approx(cycles[0] + 0.95 * (cycles[1] - cycles[0]))
    assert k["oldest_open_order_s"] == 0.0
    assert k["throughput_per_step"] == pytest.approx(2 / 24)
    assert k["throughput_per_hour"] == pytest.approx(2 * 3600 / (24 * 2.0))  # 150 per hour
    assert k["utilization"] == pytest.approx(1.0)  # a task every step, the drops included
    assert k["empty_travel_share"] == pytest.approx(10 / 24)
    assert k["loaded_travel_share"] == pytest.approx(10 / 24)
    assert k["handling_share"] == pytest.approx(4 / 24)
    assert k["blocked_share"] == 0.0 and k["stuck_robots"] == 0
    assert (k["orders_arrived"], k["orders_lost"]) == (2, 0)


def test_a_robot_held_by_a_wall_becomes_stuck_after_stuck_after_steps() -> None:
    """A robot with an order that keeps trying to drive into the floor's edge makes no
    progress: stuck from the ``stuck_after``-th step on, counted in the share every step."""
    sim = corridor_sim(1)
    f = sim.floor
    ids = sim.orders.add(
        np.array([f.cell_of[0, 5]], np.int32), np.array([f.cell_of[0, 0]], np.int32), 0
    )
    sim.assign(np.array([0]), ids)
    after = sim.config.physics.stuck_after
    for _ in range(after + 4):
        sim.step(np.array([W]))  # masked (off the floor): a wait
    k = compute_kpis(sim)
    assert k["stuck_robots"] == 1 and k["jammed_robots"] == 0
    assert k["stuck_robot_share"] == pytest.approx(5 / (after + 4))  # steps after..after+4
    assert k["blocked_share"] == pytest.approx(1.0)  # every step begun driving, no move


def test_a_run_without_deliveries_reports_undefined_cycle_times() -> None:
    from warehouse.report import summarize

    sim = corridor_sim(2)
    sim.step(np.zeros(2, np.int64))
    k = compute_kpis(sim)
    assert k["deliveries"] == 0 and k["throughput_per_hour"] == 0.0
    assert k["cycle_time_p50"] is None and k["cycle_time_p95"] is None
    assert summarize([k["cycle_time_p50"]]) == {"mean": None, "ci95": None, "per_seed": [None]}
    assert set(k) == set(KPI_NAMES)
    json.dumps(k, allow_nan=False)  # no NaN anywhere


# ---------------------------------------------------------------------- statistics, numbers
def test_confidence_interval_is_the_student_t_half_width() -> None:
    from warehouse.report import summarize

    two = summarize([10, 14])
    # sd = 2·√2, t(0.975, 1) = 12.7062047, half-width = t·sd/√2 = 2·t
    assert two["mean"] == 12.0 and two["ci95"] == pytest.approx(2 * 12.7062047, abs=1e-5)
    same = summarize([0.1] * 10)  # identical values: no spread, even with rounding noise
    assert same["mean"] == 0.1 and same["ci95"] == 0.0
    assert summarize([3]) == {"mean": 3.0, "ci95": None, "per_seed": [3]}
    weird = summarize([float("nan"), 1.0, float("inf"), 3.0])
    assert weird["per_seed"] == [None, 1.0, None, 3.0] and weird["mean"] == 2.0
    assert weird["ci95"] == pytest.approx(12.7062047 * math.sqrt(2) / math.sqrt(2), abs=1e-5)
    assert summarize([-0.0, 0.0])["mean"] == 0.0 and str(summarize([-0.0])["mean"]) == "0.0"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (812.3, "812"),
        (1234.5, "1,234"),
        (-1234.5, "-1,234"),
        (2000.0, "2,000"),
        (-3.0, "-3"),
        (0.0, "0"),
        (0.00556, "0.00556"),
        (-0.5, "-0.5"),
        (12.34, "12.3"),
        (1.234, "1.23"),
        # rounding that reaches the next magnitude is shown as that magnitude is
        (999.7, "1,000"),
        (-999.7, "-1,000"),
        (99.96, "100"),
        (9.996, "10.0"),
        (0.99996, "1.00"),
    ],
)
def test_printed_numbers(value: float, text: str) -> None:
    from warehouse.report import format_cell

    assert format_cell({"mean": value, "ci95": None}) == text


def test_printed_cells_and_paired_rows() -> None:
    from warehouse.report import format_cell, format_paired

    assert format_cell({"mean": None, "ci95": None}) == "—"
    assert format_cell({"mean": 1500.0, "ci95": 0.0}) == "1,500 ± 0"
    assert format_cell({"mean": 3.5, "ci95": 12.25}) == "3.50 ± 12.2"
    assert format_paired({"diff": -2454.2, "ci95": 2756.1, "ratio": 0.928}) == (
        "-2,454 ± 2,756 (×0.928)"
    )
    assert format_paired({"diff": 3.67, "ci95": None, "ratio": 1.008}) == "+3.67 (×1.008)"
    assert format_paired({"diff": 0.0, "ci95": 0.0, "ratio": None}) == "0 ± 0"
    assert format_paired({"diff": None, "ci95": None, "ratio": None}) == "—"


def test_target_evidence_never_shows_a_number_equal_to_the_target_it_misses() -> None:
    """A mean or a 95 % bound just beside the target is printed with the digits that tell it
    from the target: "lower bound 400 < 400" said a number was smaller than itself."""
    from warehouse.kpi_targets import decide, parse_target, summary_lines

    t = parse_target("throughput_per_hour>=400")
    result = decide([({"fleet.robots": 10}, {"throughput_per_hour": [399.9, 400.05, 400.1]})], [t])
    (line,) = [x for x in summary_lines(result, [t]) if x.startswith("  ")]
    bound = result["settings"][0]["targets"][0]["bound"]
    assert bound < 400
    assert "mean 400.02, 95% lower bound 399.8 < 400;" in line, line  # not 400, 400 < 400
    t = parse_target("collisions_per_1k_robot_steps<=0.5")
    per_seed = [0.5004, 0.5003, 0.5002]
    result = decide([({"fleet.robots": 10}, {"collisions_per_1k_robot_steps": per_seed})], [t])
    line = summary_lines(result, [t])[-1]
    assert result["settings"][0]["verdict"] == "fails"
    assert "mean 0.5003, " in line, line  # not "mean 0.5" for a mean that misses ≤ 0.5
    # far from the target the usual figures stay
    t = parse_target("deliveries>=100")
    result = decide([({"fleet.robots": 10}, {"deliveries": [400, 420, 410]})], [t])
    assert "mean 410, 95% lower bound 385 ≥ 100" in summary_lines(result, [t])[-1]


# ---------------------------------------------------------------------- the Mesa model
def test_series_last_row_is_the_final_kpis() -> None:
    from warehouse.model import WarehouseModel

    model = WarehouseModel("tiny", seed=1, steps=23, collect_every=10, policy="random",
                           collisions="physical", **{"physics.step_seconds": 1.5})  # fmt: skip
    final = model.run()
    series = model.series()
    assert series["step"].tolist() == [10, 20, 23]
    last = series.iloc[-1]
    for name in KPI_NAMES:
        if final[name] is None:
            assert pd.isna(last[name]), name
        else:
            assert last[name] == pytest.approx(final[name], abs=0), name
    assert final["collisions"] > 0  # physical mode with random moves collides
    assert series["deliveries"].dtype.kind == "i"  # whole numbers stay whole


@pytest.mark.parametrize("collect_every", [1, 7])
@pytest.mark.parametrize("last_only", [False, True])
def test_batch_run_reads_the_last_step_at_any_cadence(collect_every: int, last_only: bool) -> None:
    """``mesa.batch_run`` reads entry ``model.steps - 1`` of the series: the model keeps entry
    ``i`` at step ``i + 1`` whatever ``collect_every`` (it raised IndexError unless 1)."""
    import mesa

    from warehouse.model import WarehouseModel

    rows = mesa.batch_run(
        WarehouseModel,
        parameters={"scenario": "tiny", "seed": [0], "steps": 20, "per_robot": False,
                    "collect_every": collect_every, "last_only": last_only},
        max_steps=20,
        display_progress=False,
    )  # fmt: skip
    (row,) = rows
    final = WarehouseModel("tiny", seed=0, steps=20).run()
    assert row["step"] == 20
    assert {name: row[name] for name in KPI_NAMES} == final
    model = WarehouseModel("tiny", seed=0, steps=20, collect_every=collect_every,
                           last_only=last_only, per_robot=False)  # fmt: skip
    model.run()
    want = [20] if last_only else [*range(collect_every, 20, collect_every), 20]
    assert model.series()["step"].tolist() == want  # the collected rows only
    assert len(model.datacollector.model_vars["step"]) == 20


# ---------------------------------------------------------------------- warehouse run
#: Two policies, two seeds, physical collisions, 1.5 s steps (``--out`` follows).
PHYSICAL_RUN = ["run", "tiny", "--policy", "rule_based,random", "--seeds", "0,1", "--steps", "25",
                "--collisions", "physical", "--set", "physics.step_seconds=1.5"]  # fmt: skip


@pytest.fixture(scope="module")
def physical_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two policies, two seeds, physical collisions, 1.5 s steps; the folder and stdout."""
    from warehouse.cli.main import main

    out = tmp_path_factory.mktemp("kpis") / "run"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exc:
        main([*PHYSICAL_RUN, "--out", str(out)])
    assert exc.value.code in (0, None)
    return out, buf.getvalue()


def test_run_files_agree_with_each_other(physical_run: tuple[Path, str]) -> None:
    """kpis.csv's last rows are report.json's per-seed values; robots.csv's last rows sum to
    them; the per-seed values are those of a model run alone."""
    from warehouse.model import WarehouseModel
    from warehouse.report import DIGITS

    out, _ = physical_run
    report = json.loads((out / "report.json").read_text("utf-8"))
    series = pd.read_csv(out / "kpis.csv")
    robots = pd.read_csv(out / "robots.csv")
    n = report["robots"]
    assert series.groupby(["policy", "seed"]).size().tolist() == [3] * 4  # steps 10, 20, 25
    for run in report["runs"]:
        for i, seed in enumerate(report["seeds"]):
            last = series[(series["policy"] == run["policy"]) & (series["seed"] == seed)].iloc[-1]
            assert last["step"] == 25
            policy = run["policy"].split("/")[0]
            settings = {"collisions": "physical", "physics.step_seconds": 1.5}
            alone = WarehouseModel("tiny", seed=seed, steps=25, policy=policy, **settings).run()
            for name in KPI_NAMES:
                value = run["kpis"][name]["per_seed"][i]
                if value is None:
                    assert pd.isna(last[name]) and alone[name] is None, name
                    continue
                assert value == pytest.approx(round(last[name], DIGITS), abs=1e-12), name
                assert value == pytest.approx(round(alone[name], DIGITS), abs=1e-12), name
            mine = robots[(robots["policy"] == run["policy"]) & (robots["seed"] == seed)]
            end = mine[mine["step"] == 25]
            assert len(end) == n
            assert end["deliveries"].sum() == last["deliveries"]
            assert end["distance_m"].sum() == pytest.approx(last["distance_m"])
            assert end["interventions"].sum() == last["shield_interventions"]
            # a failed move counts on the robot; an incident on the fleet: as many or more
            assert end["collisions"].sum() >= last["collisions"]
    random = report["runs"][1]["kpis"]
    assert sum(random["collisions"]["per_seed"]) > 0
    per_hour = random["throughput_per_hour"]["per_seed"]
    assert per_hour == [pytest.approx(d * 3600 / (25 * 1.5)) for d in
                        random["deliveries"]["per_seed"]]  # fmt: skip


def test_printed_table_is_the_report(physical_run: tuple[Path, str]) -> None:
    from warehouse.report import format_cell, shown_kpis

    out, stdout = physical_run
    report = json.loads((out / "report.json").read_text("utf-8"))
    rows = {}
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.split("│")]
        if len(parts) == 5 and parts[1] in KPI_NAMES:
            rows[parts[1]] = parts[2:4]
    assert list(rows) == shown_kpis(report)
    for name, printed in rows.items():
        assert printed == [format_cell(run["kpis"][name]) for run in report["runs"]], name


def test_same_seeds_same_files(physical_run: tuple[Path, str], tmp_path: Path, capsys) -> None:
    """The whole run folder is reproducible: every file byte for byte, report.json apart from
    its ``created`` line."""
    first, _ = physical_run
    again = tmp_path / "again"
    code, _, err = run_cli([*PHYSICAL_RUN, "--out", str(again)], capsys)
    assert code == 0, err
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        a, b = (first / name).read_bytes(), (again / name).read_bytes()
        if name == "report.json":
            strip = lambda t: [x for x in t.decode().splitlines() if '"created"' not in x]  # noqa: E731
            a, b = strip(a), strip(b)
        assert a == b, name


def _refuse_the_parent(monkeypatch: pytest.MonkeyPatch, parent: Path) -> None:
    """No folder or file can be made in ``parent`` (as in a read-only folder, which root
    ignores)."""

    def refused(real):  # type: ignore[no-untyped-def]
        def make(*args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(kwargs.get("dir") or args[2]).resolve() == parent.resolve():
                raise PermissionError(13, "Permission denied", str(parent / ".partial"))
            return real(*args, **kwargs)

        return make

    monkeypatch.setattr(tempfile, "mkdtemp", refused(tempfile.mkdtemp))
    monkeypatch.setattr(tempfile, "mkstemp", refused(tempfile.mkstemp))


def test_out_in_a_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """An --out whose folder cannot be made: one line, exit 2, no traceback, and nothing left
    behind (not the folders above it that the run had made either)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    _refuse_the_parent(monkeypatch, locked)
    for out in (locked / "run", tmp_path / "new" / "deeper" / "run"):
        if out.parent != locked:
            _refuse_the_parent(monkeypatch, out.parent)
        before = snapshot(tmp_path)
        code, stdout, err = run_cli(
            ["run", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "5",
             "--out", str(out)], capsys,
        )  # fmt: skip
        assert code == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        # (a folder made for the run that then refuses files fails after the runs: the
        # progress bar's line end comes first)
        line = err.strip()
        assert line.startswith("error: ") and "--out" in line and "Permission denied" in line
        assert snapshot(tmp_path) == before and stdout == ""


def test_an_existing_out_folder_in_a_folder_that_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A writable --out folder that exists takes the run's files though the folder above it
    cannot be written (the staging folder goes inside it then, and is gone after)."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    _refuse_the_parent(monkeypatch, tmp_path)
    code, _, err = run_cli(
        ["run", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "5", "--out",
         str(out)], capsys,
    )  # fmt: skip
    assert code == 0, err
    from warehouse.cli.cmd_run import RUN_FILES

    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, "notes.txt"])
    assert (out / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


class _FailingNavigator:
    """Waits, then on its third step returns one action too few (a broken part)."""

    name = "failing"
    needs_observation = False

    def reset(self, seed: int) -> None:
        pass

    def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
        n = sim.n_robots - (sim.t == 2)
        return np.zeros(n, np.int64), None


def test_a_run_that_fails_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A part that breaks during the runs: the one-line error, exit 2, and no output folder,
    staging folder or folder above it made for the run."""
    import agents.registry

    monkeypatch.setitem(agents.registry.NAVIGATORS, "failing", lambda **kw: _FailingNavigator())
    out = tmp_path / "new" / "run"
    before = snapshot(tmp_path)
    code, stdout, err = run_cli(
        ["run", "tiny", "--policy", "greedy+failing", "--seeds", "0", "--steps", "5", "--out",
         str(out)], capsys,
    )  # fmt: skip
    assert code == 2 and stdout == "", err
    assert err.strip() == (
        "error: navigator 'failing': returned actions of shape (5,), expected (6,) (one per robot)"
    )
    assert snapshot(tmp_path) == before


def test_markdown_paired_leaves_out_what_the_printed_table_leaves_out(tmp_path: Path) -> None:
    """goal_visit has no cycle times nor backlog: the printed paired table leaves those rows
    out, and the Markdown one (README samples) did not."""
    from warehouse.report import PAIRED_KPIS, build_report, markdown_paired, paired_table
    from warehouse.runner import prepare, run_experiment

    exp = prepare("tiny", policies=["rule_based", "random"], seeds=[0], steps=5, tasks="goal_visit")
    report = build_report(run_experiment(exp))
    undefined = {"cycle_time_p50", "cycle_time_p95", "oldest_open_order_s"}
    printed = [k for k in PAIRED_KPIS if k not in undefined]
    assert paired_table(report).row_count == len(printed)
    lines = markdown_paired(report).splitlines()
    assert [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]] == printed
