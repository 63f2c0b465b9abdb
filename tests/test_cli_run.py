"""``warehouse run``, ``list`` and ``validate`` end to end (in-process)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli as cli

from scenarios import builtin_names, load_scenario
from warehouse.cli.main import main
from warehouse.kpis import KPI_NAMES

PNG = b"\x89PNG\r\n\x1a\n"


def strip_timestamps(text: str) -> dict:
    report = json.loads(text)
    report.pop("created")
    return report


@pytest.fixture(scope="module")
def two_policy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "two"
    argv = ["run", "tiny", "--policy", "rule_based,random", "--seeds", "0,1"]
    main_ok([*argv, "--steps", "30", "--out", str(out)])
    return out


def main_ok(argv: list[str]) -> None:
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code


def test_run_writes_report_of_the_documented_shape(two_policy_run: Path) -> None:
    report = json.loads((two_policy_run / "report.json").read_text("utf-8"))
    assert set(report) == {
        "scenario", "seeds", "steps", "robots", "versions", "runs", "paired", "created"
    }  # fmt: skip
    assert report["scenario"] == "tiny"
    assert report["seeds"] == [0, 1] and report["steps"] == 30 and report["robots"] == 6
    assert {"python", "numpy", "mesa"} <= set(report["versions"])
    assert [r["policy"] for r in report["runs"]] == ["rule_based", "random"]
    parts = [(r["dispatcher"], r["navigator"], r["collisions"]) for r in report["runs"]]
    mode = load_scenario("tiny")[0].physics.collisions
    assert parts == [("greedy", "rule_based", mode), ("random", "random", mode)]
    for run in report["runs"]:
        assert set(run) == {
            "policy",
            "dispatcher",
            "navigator",
            "collisions",
            "gridlocked_seeds",
            "kpis",
            "weights",  # the network files its parts loaded: none here
        }
        assert run["weights"] == {}
        assert list(run["kpis"]) == sorted(KPI_NAMES)
        for summary in run["kpis"].values():
            assert set(summary) == {"mean", "ci95", "per_seed"}
            assert len(summary["per_seed"]) == 2
        assert run["kpis"]["steps"]["per_seed"] == [30, 30]


def test_paired_comparison_is_the_per_seed_difference(two_policy_run: Path) -> None:
    """``paired`` compares every other policy with the baseline (rule_based here) seed by seed;
    its interval is that of the differences, not of either policy's values."""
    report = json.loads((two_policy_run / "report.json").read_text("utf-8"))
    paired = report["paired"]
    assert paired["baseline"] == "rule_based" and list(paired["runs"]) == ["random"]
    base, other = (run["kpis"] for run in report["runs"])
    for name in KPI_NAMES:
        row = paired["runs"]["random"][name]
        both = zip(other[name]["per_seed"], base[name]["per_seed"], strict=True)
        pairs = [(a, b) for a, b in both if a is not None and b is not None]
        diffs = [a - b for a, b in pairs]
        if not diffs:
            assert row["diff"] is None
            continue
        assert row["diff"] == pytest.approx(sum(diffs) / len(diffs), abs=1e-6)
        # two seeds: t(0.975, 1) × |d0 − d1| / 2
        assert row["ci95"] == pytest.approx(12.7062 * abs(diffs[0] - diffs[1]) / 2, abs=1e-3)
        if sum(b for _, b in pairs):
            want = sum(a for a, _ in pairs) / sum(b for _, b in pairs)
            assert row["ratio"] == pytest.approx(want, 1e-5)
    assert paired["runs"]["random"]["deliveries"]["diff"] < 0  # random moves deliver less
    from warehouse.report import PAIRED_KPIS, markdown_paired

    lines = markdown_paired(report).splitlines()
    assert lines[0] == "| KPI | random − rule_based |" and len(lines) == 2 + len(PAIRED_KPIS)


def test_paired_ratio_uses_the_seeds_defined_for_both() -> None:
    """A KPI undefined on one policy's seed (a cycle time without deliveries) leaves that seed
    out of the ratio too, as it does of the difference: the ratio compares the same seeds."""
    from warehouse.report import paired_rows

    mine = {"cycle_time_p50": {"mean": 20.0, "ci95": None, "per_seed": [None, 20.0, 20.0]}}
    theirs = {"cycle_time_p50": {"mean": 30.0, "ci95": None, "per_seed": [50.0, 20.0, 20.0]}}
    row = paired_rows(mine, theirs, ["cycle_time_p50"])["cycle_time_p50"]
    assert row["diff"] == 0.0 and row["ratio"] == 1.0  # not 20 / 30
    none = {"cycle_time_p50": {"mean": None, "ci95": None, "per_seed": [None, None, None]}}
    assert paired_rows(none, theirs, ["cycle_time_p50"])["cycle_time_p50"]["ratio"] is None


def test_baseline_flag_picks_the_reference(tmp_path: Path, capsys) -> None:
    argv = ["run", "tiny", "--policy", "rule_based,random", "--seeds", "0,1", "--steps", "30"]
    code, out, err = cli([*argv, "--baseline", "random", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    paired = json.loads((tmp_path / "r" / "report.json").read_text("utf-8"))["paired"]
    assert paired["baseline"] == "random" and list(paired["runs"]) == ["rule_based"]
    assert "each policy − random, paired over seeds 0,1" in out
    code, out, err = cli([*argv, "--baseline", "bc", "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and out == "" and not (tmp_path / "s").exists()
    assert err.strip() == "error: --baseline: 'bc' is not a policy of this run (rule_based, random)"
    # the rule-based fleet is the default baseline wherever it stands and whatever its shield
    argv = ["run", "tiny", "--policy", "random,rule_based", "--collisions", "pibt", "--seeds", "0",
            "--steps", "20", "--out", str(tmp_path / "t")]  # fmt: skip
    code, out, err = cli(argv, capsys)
    assert code == 0, err
    paired = json.loads((tmp_path / "t" / "report.json").read_text("utf-8"))["paired"]
    assert paired["baseline"] == "rule_based/pibt" and list(paired["runs"]) == ["random/pibt"]


def test_kpi_table_in_an_80_column_terminal_loses_nothing(two_policy_run: Path) -> None:
    """Four policies at 80 columns: every KPI name and policy name is shown whole (wrapped,
    never cut to "throughput_p…", which would name two rows alike)."""
    from rich.console import Console

    from warehouse.report import kpi_table, shown_kpis

    report = json.loads((two_policy_run / "report.json").read_text("utf-8"))
    report["runs"] = [
        {**run, "policy": name}
        for run, name in zip(
            report["runs"] * 2, ["rule_based", "hierarchical", "bc", "cql"], strict=True
        )
    ]
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(kpi_table(report))
    text = console.export_text()
    assert "…" not in text
    assert max(map(len, text.splitlines())) <= 80
    names = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert [n for n in names if n] == shown_kpis(report)
    header = "".join(line.replace("┃", " ") for line in text.splitlines() if "┃" in line)
    assert "rule_base" in header and "hierarchi" in header  # folded, not truncated


def test_run_writes_series_csv_and_plots(two_policy_run: Path) -> None:
    series = pd.read_csv(two_policy_run / "kpis.csv")
    assert list(series.columns[:3]) == ["policy", "seed", "step"]
    assert set(KPI_NAMES) <= set(series.columns)
    # tiny collects every 10 steps: 3 rows per (policy, seed)
    assert series.groupby(["policy", "seed"]).size().tolist() == [3, 3, 3, 3]
    for name in ("deliveries.png", "congestion.png"):
        assert (two_policy_run / name).read_bytes().startswith(PNG)
    assert not [p for p in two_policy_run.parent.iterdir() if p.name.startswith(".")]


def test_report_matches_per_robot_counters(two_policy_run: Path) -> None:
    """Recompute KPIs by hand from robots.csv (a separate DataCollector path)."""
    report = json.loads((two_policy_run / "report.json").read_text("utf-8"))
    robots = pd.read_csv(two_policy_run / "robots.csv")
    steps, n = report["steps"], report["robots"]
    for run in report["runs"]:
        final = robots[(robots["policy"] == run["policy"]) & (robots["step"] == steps)]
        for i, seed in enumerate(report["seeds"]):
            r = final[final["seed"] == seed]
            assert len(r) == n
            k = {name: v["per_seed"][i] for name, v in run["kpis"].items()}
            assert k["deliveries"] == r["deliveries"].sum()
            assert k["distance_m"] == pytest.approx(r["distance_m"].sum(), abs=1e-6)
            assert k["utilization"] == pytest.approx(r["busy_steps"].sum() / (n * steps), abs=1e-6)
            assert k["shield_interventions"] == r["interventions"].sum()
            assert k["throughput_per_hour"] == pytest.approx(
                r["deliveries"].sum() * 3600 / steps, abs=1e-6
            )
            energy = (r["distance_m"].sum() * 0.08 + n * steps * 60 / 3600) / 1000
            assert k["energy_kwh"] == pytest.approx(energy, abs=1e-6)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, capsys) -> None:
    texts = []
    for name, seeds in (("a", "3"), ("b", "3"), ("c", "4")):
        code, _, err = cli(
            ["run", "tiny", "--seeds", seeds, "--steps", "60", "--out", str(tmp_path / name)],
            capsys,
        )
        assert code == 0, err
        texts.append((tmp_path / name / "report.json").read_text("utf-8"))
    a, b, c = texts
    strip = lambda t: "\n".join(ln for ln in t.splitlines() if '"created"' not in ln)  # noqa: E731
    assert strip(a) == strip(b)
    assert strip_timestamps(a) == strip_timestamps(b)
    assert strip_timestamps(a)["runs"] != strip_timestamps(c)["runs"]


def test_default_output_folder_under_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(["run", "tiny", "--seeds", "0", "--steps", "10"], capsys)
    assert code == 0, err
    folders = list((tmp_path / "runs").iterdir())
    assert len(folders) == 1 and folders[0].name.endswith("-tiny")
    assert (folders[0] / "report.json").is_file()
    assert "deliveries" in out and "rule_based" in out  # the printed KPI table
    # No --policy and no policies section: the learned hierarchy beside the rule-based fleet.
    report = json.loads((folders[0] / "report.json").read_text("utf-8"))
    assert [r["policy"] for r in report["runs"]] == ["hierarchical", "rule_based"]
    hier = report["runs"][0]
    assert (hier["dispatcher"], hier["navigator"], hier["collisions"]) == (
        "ppo",
        "cql_tuned",
        "pibt",
    )
    assert "hierarchical" in out


def test_a_scenario_that_names_its_policy_runs_only_that(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "mine.yaml"
    scenario.write_text(
        'name: mine\nlayout: {type: ascii, map: "S....p\\n......\\n"}\n'
        "fleet: {robots: 2}\npolicies: {dispatcher: fifo, navigator: rule_based}\n",
        "utf-8",
    )
    out = tmp_path / "o"
    code, _, err = cli(
        ["run", str(scenario), "--seeds", "0", "--steps", "10", "--out", str(out)], capsys
    )
    assert code == 0, err
    report = json.loads((out / "report.json").read_text("utf-8"))
    # labelled by what runs: the fifo dispatcher is not the rule-based fleet's greedy one
    assert [(r["policy"], r["dispatcher"]) for r in report["runs"]] == [("fifo+rule_based", "fifo")]


def test_policy_names_a_dispatcher_and_a_navigator(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    argv = ["run", "tiny", "--seeds", "0", "--steps", "20", "--out", str(out)]
    code, _, err = cli([*argv, "--policy", "hungarian+rule_based,rule_based"], capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text("utf-8"))
    parts = [(r["policy"], r["dispatcher"], r["navigator"]) for r in report["runs"]]
    assert parts == [
        ("hungarian+rule_based", "hungarian", "rule_based"),
        ("rule_based", "greedy", "rule_based"),
    ]
    # the pair of a preset is the preset: given twice, the policies repeat
    code, _, err = cli([*argv, "--policy", "greedy+rule_based,rule_based"], capsys)
    assert code == 2 and "policies repeat" in err, err


@pytest.mark.parametrize(
    "policy, expected",
    [
        ("nope+rule_based", "--policy: 'nope+rule_based': unknown dispatcher 'nope'"),
        ("greedy+nope", "--policy: 'greedy+nope': unknown navigator 'nope'"),
        ("nope", "--policy: unknown policy 'nope'"),
    ],
)
def test_unknown_policy_parts_are_named(policy, expected, tmp_path: Path, capsys) -> None:
    from cli_helpers import fails_cleanly

    fails_cleanly(["run", "tiny", "--policy", policy, "--out", str(tmp_path / "o")], tmp_path,
                  capsys, expected)  # fmt: skip


def test_existing_out_folder_gets_the_files(tmp_path: Path, capsys) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", "utf-8")
    code, _, err = cli(["run", "tiny", "--seeds", "0", "--steps", "10", "--out", str(out)], capsys)
    assert code == 0, err
    assert (out / "notes.txt").read_text("utf-8") == "keep me"
    assert (out / "report.json").is_file()


def test_tasks_and_set_flags(tmp_path: Path, capsys) -> None:
    out = tmp_path / "gv"
    argv = ["run", "tiny", "--tasks", "goal_visit", "--robots", "4", "--seeds", "1"]
    argv += ["--set", "physics.step_seconds=2", "--steps", "20", "--out", str(out)]
    code, _, err = cli(argv, capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["robots"] == 4
    kpis = report["runs"][0]["kpis"]
    deliveries = kpis["deliveries"]["mean"]
    assert kpis["throughput_per_hour"]["mean"] == pytest.approx(deliveries * 3600 / 40)
    assert kpis["cycle_time_p50"]["mean"] is None  # goal_visit has no orders


def test_record_option(tmp_path: Path, capsys) -> None:
    from warehouse.recording import load_recording

    rec = tmp_path / "episode.npz"
    argv = ["run", "tiny", "--seeds", "2,3", "--steps", "12", "--out", str(tmp_path / "o")]
    code, _, err = cli([*argv, "--record", str(rec)], capsys)
    assert code == 0, err
    recording = load_recording(rec)
    assert recording.steps == 12
    assert recording.meta["seed"] == 2


def test_jobs_give_the_same_files_as_one_process(tmp_path: Path, capsys, monkeypatch) -> None:
    """``--jobs 2`` runs the episodes in worker processes (the recorded one here) and writes
    the same report, series and recording as one process."""
    from warehouse import runner
    from warehouse.recording import load_recording

    calls: list[int] = []
    parallel = runner._run_parallel

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[-1])
        return parallel(*args, **kwargs)

    monkeypatch.setattr(runner, "_run_parallel", spy)
    argv = ["run", "tiny", "--policy", "rule_based,random", "--seeds", "0..2", "--steps", "40"]
    outs = []
    for jobs in ("1", "2"):
        out, rec = tmp_path / f"j{jobs}", tmp_path / f"j{jobs}.npz"
        code, _, err = cli([*argv, "--jobs", jobs, "--out", str(out), "--record", str(rec)], capsys)
        assert code == 0, err
        outs.append((out, rec))
    assert calls == [2]
    (one, rec_one), (two, rec_two) = outs
    report_one = strip_timestamps((one / "report.json").read_text("utf-8"))
    assert report_one == strip_timestamps((two / "report.json").read_text("utf-8"))
    assert len(report_one["runs"][1]["kpis"]["deliveries"]["per_seed"]) == 3
    for name in ("kpis.csv", "robots.csv", "scenario.yaml"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    a, b = load_recording(rec_one).arrays, load_recording(rec_two).arrays
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_jobs_must_be_positive(tmp_path: Path, capsys) -> None:
    code, _, err = cli(["run", "tiny", "--jobs", "0", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.count("\n") == 1 and "--jobs" in err, err
    assert not (tmp_path / "o").exists()


def test_list_and_validate(tmp_path: Path, capsys) -> None:
    code, out, _ = cli(["list"], capsys)
    assert code == 0
    for name in builtin_names():
        assert name in out
    # each preset's collision mode: hierarchical runs under PIBT whatever the scenario says
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 4}
    assert rows["hierarchical"].split("│")[4].strip() == "pibt"
    assert rows["rule_based"].split("│")[4].strip() == "scenario"
    code, out, _ = cli(["validate", "small"], capsys)
    assert code == 0 and out.startswith("OK small: small: 30 robots")
    code, out, _ = cli(["validate", "--schema"], capsys)
    assert code == 0 and "| `fleet.robots` | int |" in out


@pytest.mark.parametrize(
    ("drawing", "kinds", "inferred"),
    [
        ("S...p\\n.....\\n", "1 pick location, 1 station)", False),
        ("....p\\n.....\\n", "stations inferred from the map)", True),
    ],
)
def test_validate_counts_picks_and_stations_and_says_what_it_inferred(
    drawing: str, kinds: str, inferred: bool, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "s.yaml"
    cut = "#####\\n..#..\\n"  # two cells under a wall, cut off from the floor
    path.write_text(f'layout: {{type: ascii, map: "{drawing}{cut}"}}\nfleet: {{robots: 2}}\n')
    code, out, err = cli(["validate", str(path)], capsys)
    assert code == 0, err
    first, note = out.splitlines()
    assert kinds in first and ("inferred" in first) == inferred
    assert note == "note: 4 cell(s) cut off from the main floor are treated as blocked"


def test_validate_template_is_a_valid_scenario_of_every_default(tmp_path: Path, capsys) -> None:
    from scenarios.docs import schema_rows
    from scenarios.schema import Scenario

    code, out, err = cli(["validate", "--template"], capsys)
    assert code == 0, err
    path = tmp_path / "mine.yaml"
    path.write_text(out, "utf-8")
    sc, _ = load_scenario(path)
    assert sc == Scenario()
    code, text, err = cli(["validate", str(path)], capsys)
    assert code == 0 and text.startswith("OK mine.yaml: scenario: 20 robots"), err
    # every setting of the generator floor and of the other sections is spelled out
    for key, *_ in schema_rows():
        if "(ascii)" not in key and "(file)" not in key:
            leaf = key.split(" ")[0].rsplit(".", 1)[-1]
            assert f"{leaf}: " in out, key
    code, _, err = cli(["validate", "--template", "small"], capsys)
    assert code == 2 and "--template: give it alone" in err


def test_written_scenario_keeps_a_drawing_as_drawn(tmp_path: Path, capsys) -> None:
    drawing = "S....p\n.##.#.\n......\n"
    path = tmp_path / "s.yaml"
    path.write_text(
        "layout:\n  type: ascii\n  map: |\n"
        + "".join(f"    {row}\n" for row in drawing.split())
        + "fleet: {robots: 2}\n",
        "utf-8",
    )
    out = tmp_path / "o"
    code, _, err = cli(["run", str(path), "--policy", "rule_based", "--steps", "5", "--seeds",
                        "0", "--out", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    text = (out / "scenario.yaml").read_text("utf-8")
    assert "  map: |\n    S....p\n    .##.#.\n    ......\n" in text
    assert load_scenario(out / "scenario.yaml")[0].layout == load_scenario(path)[0].layout


def test_written_scenario_reruns_the_same_policies(tmp_path: Path) -> None:
    """A run of the default policies writes no ``policies`` section, so running the written
    ``scenario.yaml`` compares the same policies again; a scenario that names its policy
    keeps it."""
    import yaml

    out = tmp_path / "default"
    main_ok(["run", "tiny", "--seeds", "0", "--steps", "5", "--out", str(out)])
    written = yaml.safe_load((out / "scenario.yaml").read_text("utf-8"))
    assert "policies" not in written
    again = tmp_path / "again"
    main_ok(["run", str(out / "scenario.yaml"), "--steps", "5", "--out", str(again)])
    first = json.loads((out / "report.json").read_text("utf-8"))
    second = json.loads((again / "report.json").read_text("utf-8"))
    assert [r["policy"] for r in second["runs"]] == [r["policy"] for r in first["runs"]]
    assert first["runs"] == second["runs"]  # and the same numbers

    named = tmp_path / "named"
    argv = ["run", "tiny", "--seeds", "0", "--steps", "5", "--out", str(named)]
    main_ok([*argv, "--set", "policies.dispatcher=fifo"])
    kept = yaml.safe_load((named / "scenario.yaml").read_text("utf-8"))
    assert kept["policies"]["dispatcher"] == "fifo"


def test_dispatch_settings_alone_keep_the_default_comparison(tmp_path: Path) -> None:
    """``--set policies.task_swaps=true`` (or a pool, or the guard) says how dispatchers work,
    not which policy runs: the learned hierarchy still runs beside the rule-based fleet, both
    with the setting, and the written ``scenario.yaml`` keeps the setting so a re-run compares
    the same."""
    import yaml

    out = tmp_path / "swaps"
    argv = ["run", "tiny", "--seeds", "0", "--steps", "40", "--out", str(out)]
    main_ok([*argv, "--set", "policies.task_swaps=true", "--set", "policies.order_pool=8"])
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert [r["policy"] for r in report["runs"]] == ["hierarchical", "rule_based"]
    written = yaml.safe_load((out / "scenario.yaml").read_text("utf-8"))
    assert written["policies"] == {"order_pool": 8, "task_swaps": True}
    again = tmp_path / "again"
    main_ok(["run", str(out / "scenario.yaml"), "--out", str(again)])
    assert json.loads((again / "report.json").read_text("utf-8"))["runs"] == report["runs"]
    plain = tmp_path / "plain"
    main_ok([*argv[:-1], str(plain)])
    first = json.loads((plain / "report.json").read_text("utf-8"))["runs"]
    assert first[1]["kpis"] != report["runs"][1]["kpis"]  # the setting reached the run


def test_a_checkpoint_setting_alone_keeps_the_default_comparison(tmp_path: Path, capsys) -> None:
    """``--set policies.dispatcher_checkpoint=FILE`` says which network the learned dispatcher
    loads, not which policy runs: the hierarchy (with FILE) runs beside the rule-based fleet.
    The written ``scenario.yaml`` keeps the setting alone, is a valid scenario (it named the
    greedy dispatcher beside the checkpoint, which ``validate`` and ``run`` refused), and runs
    the same again."""
    import yaml

    from hierarchy.ppo_dispatcher import DEFAULT_WEIGHTS

    out = tmp_path / "ckpt"
    argv = ["run", "tiny", "--seeds", "0", "--steps", "20", "--out", str(out)]
    main_ok([*argv, "--set", f"policies.dispatcher_checkpoint={DEFAULT_WEIGHTS}"])
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert [r["policy"] for r in report["runs"]] == ["hierarchical", "rule_based"]
    written = yaml.safe_load((out / "scenario.yaml").read_text("utf-8"))
    assert written["policies"] == {"dispatcher_checkpoint": str(DEFAULT_WEIGHTS)}
    capsys.readouterr()  # the run's tables
    code, text, err = cli(["validate", str(out / "scenario.yaml")], capsys)
    assert code == 0 and text.startswith("OK scenario.yaml: tiny"), err
    again = tmp_path / "again"
    main_ok(["run", str(out / "scenario.yaml"), "--out", str(again)])
    assert json.loads((again / "report.json").read_text("utf-8"))["runs"] == report["runs"]


def test_written_scenario_of_a_map_floor_loads_from_the_run_folder(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """A scenario file naming its map and checkpoint relative to itself, and a map file given
    as the target: the run folder's ``scenario.yaml`` loads from there (the map copied beside
    it, the checkpoint path made absolute), from any working folder, and runs the same again."""
    import shutil

    import yaml

    from agents.learned import DEFAULT_WEIGHTS

    sc = tmp_path / "sc"
    (sc / "maps").mkdir(parents=True)
    (sc / "nets").mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(DEFAULT_WEIGHTS / f"cql{suffix}", sc / "nets" / f"n{suffix}")
    (sc / "maps" / "m.txt").write_text("S....p\n......\n.p...S\n")
    (sc / "floor.yaml").write_text(
        "layout: {type: file, path: maps/m.txt}\nfleet: {robots: 2}\n"
        "episode: {steps: 20, seeds: [0]}\n"
        "policies: {navigator: cql, navigator_checkpoint: nets/n.json}\n"
    )
    monkeypatch.chdir(tmp_path)
    for target, extra in ((sc / "floor.yaml", []), (sc / "maps" / "m.txt", ["--robots", "2"])):
        out, again = tmp_path / f"o_{target.stem}", tmp_path / f"again_{target.stem}"
        main_ok(["run", str(target), "--steps", "20", "--seeds", "0", "--out", str(out), *extra])
        written = yaml.safe_load((out / "scenario.yaml").read_text("utf-8"))
        assert written["layout"]["path"] == "scenario_map.txt"
        assert (out / "scenario_map.txt").read_text() == (sc / "maps" / "m.txt").read_text()
        if target.suffix == ".yaml":
            net = str((sc / "nets" / "n.json").resolve())
            assert written["policies"]["navigator_checkpoint"] == net
        monkeypatch.chdir(out)  # another working folder
        capsys.readouterr()
        code, text, err = cli(["validate", "scenario.yaml"], capsys)
        assert code == 0 and text.startswith("OK scenario.yaml"), err
        main_ok(["run", "scenario.yaml", "--out", str(again)])
        first = json.loads((out / "report.json").read_text("utf-8"))["runs"]
        second = json.loads((again / "report.json").read_text("utf-8"))["runs"]
        # the same networks, named from another working folder
        for runs, named in ((first, "sc/nets/n.json"), (second, net)):
            for run in runs:
                files = [record.pop("file") for record in run["weights"].values()]
                assert target.suffix != ".yaml" or files == [named]
        assert second == first
        monkeypatch.chdir(tmp_path)


def test_commands_are_registered_once_per_process(capsys) -> None:
    """Each ``main()`` call must not register the commands again: typer rebuilds every
    registered command on each call, so duplicates made every later call slower (the test suite,
    which calls ``main`` hundreds of times, ran several times slower by its end)."""
    from warehouse.cli.main import app

    cli(["list"], capsys)
    names = [c.name for c in app.registered_commands]
    for _ in range(3):
        code, _, err = cli(["list"], capsys)
        assert code == 0, err
    assert [c.name for c in app.registered_commands] == names
    assert len(set(names)) == len(names) and {"run", "compare", "sweep", "view"} <= set(names)


def test_a_run_uses_one_torch_thread_and_gives_the_count_back() -> None:
    """Runs compute with one torch thread (warehouse/runner.py says why) and leave the caller's
    thread count as it was."""
    import torch

    from warehouse.runner import prepare, run_experiment

    seen = []
    exp = prepare("tiny", policies=["cql"], seeds=[0], steps=5)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_experiment(exp, progress=lambda n: seen.append(torch.get_num_threads()))
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_staged_folder_replaces_nothing_written_meanwhile(tmp_path: Path) -> None:
    """A run checks its folder first and publishes at the end: a file another run wrote there
    meanwhile stops the move, the moved files are taken back, and nothing is replaced."""
    from warehouse.errors import InputError
    from warehouse.report import staged_dir

    out = tmp_path / "out"
    with staged_dir(out) as stage:  # a new folder: the staged one becomes it
        (stage / "a.txt").write_text("first")
    assert (out / "a.txt").read_text() == "first"
    with staged_dir(out) as stage:  # an existing folder: new names join it
        (stage / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    with pytest.raises(InputError, match=r"b\.txt was written there meanwhile"):
        with staged_dir(out) as stage:
            (stage / "0.txt").write_text("mine")
            (stage / "b.txt").write_text("mine")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "b.txt").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left
