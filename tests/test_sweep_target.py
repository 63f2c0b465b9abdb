"""``warehouse sweep --target KPI>=VALUE``: the parse, the decision rule on hand-made per-seed
numbers, the command end to end on ``tiny``, and bad targets refused before anything runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import fails_cleanly
from cli_helpers import run_cli as cli

from warehouse.errors import InputError
from warehouse.kpi_targets import Target, decide, judge, parse_target, summary_lines
from warehouse.kpis import KPI_NAMES

T975_2 = 4.302652729911275  # Student t, 97.5 % quantile, 2 degrees of freedom (3 seeds)


# ---------------------------------------------------------------------------- the parse
@pytest.mark.parametrize(
    ("text", "kpi", "op", "value"),
    [
        ("throughput_per_hour>=400", "throughput_per_hour", ">=", 400.0),
        (" cycle_time_p95 <= 600 ", "cycle_time_p95", "<=", 600.0),
        ("collisions<=0", "collisions", "<=", 0.0),
        ("utilization>=0.85", "utilization", ">=", 0.85),
        ("energy_kwh<=1.5e3", "energy_kwh", "<=", 1500.0),
        ("blocked_share>=-0", "blocked_share", ">=", 0.0),
    ],
)
def test_parse_target(text, kpi, op, value) -> None:
    target = parse_target(text)
    assert (target.kpi, target.op, target.value) == (kpi, op, value)
    assert parse_target(target.text) == target  # the text written to target.json reads back


def test_every_kpi_of_kpi_names_is_a_target_and_the_list_is_not_fixed() -> None:
    for name in KPI_NAMES:
        assert parse_target(f"{name}>=1").kpi == name
    # a KPI added to the list is accepted through it, not through a copy of today's list
    assert parse_target("new_kpi<=2", kpis=[*KPI_NAMES, "new_kpi"]).kpi == "new_kpi"
    with pytest.raises(InputError, match="unknown KPI 'new_kpi'"):
        parse_target("new_kpi<=2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo>=1", "unknown KPI 'foo'"),
        ("throughput_per_hour=>400", "expected KPI>=VALUE or KPI<=VALUE"),
        ("throughput_per_hour>400", "the operators are >= and <="),
        ("throughput_per_hour==400", "the operators are >= and <="),
        ("throughput_per_hour>=abc", "expected a number after >="),
        ("throughput_per_hour>=inf", "expected a finite number"),
        ("throughput_per_hour>=nan", "expected a finite number"),
        ("throughput_per_hour>=", "expected KPI>=VALUE"),
        ("throughput_per_hour>=400 500", "expected KPI>=VALUE"),
        ("", "expected KPI>=VALUE"),
    ],
)
def test_parse_target_refuses(text, message) -> None:
    with pytest.raises(InputError) as caught:
        parse_target(text)
    assert caught.value.field == "--target"
    assert message in caught.value.message


# ------------------------------------------------------------------- the decision rule
def test_judge_meets_with_confidence() -> None:
    row = judge(Target("throughput_per_hour", ">=", 500.0), [520, 530, 525])
    half = T975_2 * 5.0 / math.sqrt(3)  # sd of 520, 525, 530 is 5
    assert row["mean"] == 525 and row["ci95"] == pytest.approx(half, abs=1e-6)
    assert row["bound"] == pytest.approx(525 - half, abs=1e-6)  # 512.6 ≥ 500
    assert row["verdict"] == "meets" and row["every_seed"] and row["seeds_met"] == 3


def test_judge_in_the_mean_only_and_fails() -> None:
    target = Target("throughput_per_hour", ">=", 500.0)
    spread = judge(target, [480, 560, 520])  # mean 520, bound 520 − 99.4
    assert spread["verdict"] == "mean_only" and spread["bound"] < 500 < spread["mean"]
    assert spread["seeds_met"] == 2 and not spread["every_seed"]
    low = judge(target, [480, 490, 500])
    assert low["verdict"] == "fails" and low["seeds_met"] == 1


def test_judge_upper_targets_use_the_upper_bound() -> None:
    target = Target("cycle_time_p95", "<=", 600.0)
    tight = judge(target, [540, 550, 560])
    assert tight["bound"] == pytest.approx(550 + T975_2 * 10 / math.sqrt(3), abs=1e-6)
    assert tight["verdict"] == "meets"  # 574.8 ≤ 600
    wide = judge(target, [400, 550, 700])  # mean 550 ≤ 600, upper bound 922.6
    assert wide["verdict"] == "mean_only" and wide["bound"] > 600
    assert judge(target, [650, 640, 660])["verdict"] == "fails"


def test_judge_ties_count_as_on_the_targets_side() -> None:
    """``>=`` and ``<=`` include the target: a bound or a mean equal to it is on its side."""
    assert judge(Target("collisions", "<=", 0.0), [0, 0, 0])["verdict"] == "meets"
    assert judge(Target("deliveries", ">=", 500.0), [500, 500])["verdict"] == "meets"
    assert judge(Target("cycle_time_p95", "<=", 600.0), [600, 600])["verdict"] == "meets"
    # the mean on the target, the seeds around it: in the mean only
    assert judge(Target("deliveries", ">=", 500.0), [490, 510])["verdict"] == "mean_only"
    assert judge(Target("cycle_time_p95", "<=", 600.0), [590, 610])["verdict"] == "mean_only"
    # just over an upper target: fails
    assert judge(Target("cycle_time_p95", "<=", 600.0), [600, 601])["verdict"] == "fails"
    # 0.1 + 0.2 is the 0.3 a user typed (values are rounded as in report.json)
    row = judge(Target("utilization", ">=", 0.3), [0.1 + 0.2, 0.1 + 0.2])
    assert row["verdict"] == "meets" and row["every_seed"]


def test_judge_one_seed_or_an_undefined_seed_never_meets_with_confidence() -> None:
    target = Target("cycle_time_p95", "<=", 600.0)
    one = judge(target, [100])
    assert one["ci95"] is None and one["bound"] is None and one["verdict"] == "mean_only"
    # a seed that delivered nothing (None) misses the target on that seed
    partly = judge(target, [100, None, 110])
    assert partly["verdict"] == "mean_only" and partly["seeds_met"] == 2
    assert not partly["every_seed"] and partly["bound"] is not None and partly["bound"] <= 600
    assert judge(target, [None, None])["verdict"] == "fails"


def _sweep(per_robots: dict[int, list[float]], kpi: str = "throughput_per_hour"):
    return [({"fleet.robots": n}, {kpi: values}) for n, values in per_robots.items()]


def test_decide_takes_the_numerically_smallest_that_meets() -> None:
    target = Target("throughput_per_hour", ">=", 500.0)
    # typed out of order: 40, 10, 30, 20
    settings = _sweep(
        {40: [700, 710, 705], 10: [300, 310, 305], 30: [600, 610, 605], 20: [480, 560, 520]}
    )
    result = decide(settings, [target])
    assert result["order"] == "numeric"
    assert [s["setting"]["fleet.robots"] for s in result["settings"]] == [10, 20, 30, 40]
    assert [s["verdict"] for s in result["settings"]] == ["fails", "mean_only", "meets", "meets"]
    assert result["smallest"] == {"fleet.robots": 30}
    assert result["smallest_in_mean"] == {"fleet.robots": 20}
    assert result["meets"] == [{"fleet.robots": 30}, {"fleet.robots": 40}]
    assert result["larger_may_meet"] is None  # something meets
    lines = summary_lines(result, [target])
    assert "smallest fleet.robots that meets it: 30" in lines
    assert "fleet.robots = 20 meets it in the mean but not with 95% confidence" in lines
    assert any(
        line.startswith("  throughput_per_hour: mean 605, 95% lower bound") for line in lines
    )
    json.dumps(result, allow_nan=False)  # target.json holds it as it is


def test_decide_says_when_a_larger_value_misses_again() -> None:
    """A fleet past saturation: 4 robots meet the target, 6 jam and do not."""
    target = Target("throughput_per_hour", ">=", 500.0)
    result = decide(_sweep({2: [300] * 3, 4: [600, 610, 605], 6: [450, 520, 480]}), [target])
    assert result["smallest"] == {"fleet.robots": 4} and result["meets"] == [{"fleet.robots": 4}]
    assert "but fleet.robots = 6 above it misses it, even in the mean" in summary_lines(
        result, [target]
    )
    # a larger value whose interval is only too wide is not called a miss
    wide = decide(_sweep({2: [300] * 3, 4: [600, 610, 605], 6: [700, 380, 690]}), [target])
    assert wide["smallest"] == {"fleet.robots": 4}
    lines = summary_lines(wide, [target])
    assert (
        "but fleet.robots = 6 above it meets it in the mean only, not with 95% confidence" in lines
    )
    assert not any("misses" in line for line in lines)


def test_decide_every_target_must_hold() -> None:
    fast = Target("throughput_per_hour", ">=", 500.0)
    quick = Target("cycle_time_p95", "<=", 300.0)
    settings = [
        ({"fleet.robots": 2}, {"throughput_per_hour": [600] * 3, "cycle_time_p95": [400] * 3}),
        (
            {"fleet.robots": 4},
            {"throughput_per_hour": [600] * 3, "cycle_time_p95": [250, 350, 290]},
        ),
        ({"fleet.robots": 6}, {"throughput_per_hour": [600] * 3, "cycle_time_p95": [200] * 3}),
    ]
    result = decide(settings, [fast, quick])
    assert [s["verdict"] for s in result["settings"]] == ["fails", "mean_only", "meets"]
    assert result["smallest"] == {"fleet.robots": 6}
    assert result["smallest_in_mean"] == {"fleet.robots": 4}
    lines = summary_lines(result, [fast, quick])
    assert "smallest fleet.robots that meets every target: 6" in lines
    assert "(all must hold)" in lines[0]


def test_decide_when_none_meets_reads_the_trend() -> None:
    high = Target("throughput_per_hour", ">=", 900.0)
    rising = decide(_sweep({2: [300, 310, 305], 4: [500, 510, 505], 6: [700, 710, 705]}), [high])
    assert rising["smallest"] is None and rising["smallest_in_mean"] is None
    assert rising["meets"] == [] and rising["mean_only"] == []
    assert rising["larger_may_meet"] is True
    assert rising["trend"] == [
        {
            "kpi": "throughput_per_hour",
            "from": 505.0,
            "to": 705.0,
            "diff": 200.0,
            "ci95": 0.0,
            "towards": True,
        }
    ]
    lines = summary_lines(rising, [high])
    assert "no swept fleet.robots meets it, not even in the mean; the largest, 6:" in lines
    assert lines[-1] == (
        "a larger fleet.robots may meet it: throughput_per_hour rose from 505 at 4 to 705 at 6 "
        "(paired by seed: +200 ± 0)"
    )
    # a saturated fleet: throughput falls from 4 to 6 robots
    falling = decide(_sweep({2: [300] * 2, 4: [505] * 2, 6: [480] * 2}), [high])
    assert falling["larger_may_meet"] is False
    assert summary_lines(falling, [high])[-1].startswith(
        "no clear trend towards a larger fleet.robots: throughput_per_hour fell from 505"
    )
    # demand-bound: the mean rises, but the paired step's 95 % CI includes no change
    # (steps 20, -20, 60: mean 20, CI ± 99.4)
    flat = decide(_sweep({4: [500, 600, 700], 6: [520, 580, 760]}), [high])
    assert flat["trend"][0]["diff"] == 20 and flat["trend"][0]["ci95"] > 20
    assert flat["larger_may_meet"] is False
    assert summary_lines(flat, [high])[-1].startswith(
        "no clear trend towards a larger fleet.robots: throughput_per_hour rose from 600 at 4"
    )
    # one seed: nothing to pair with confidence
    one = decide(_sweep({4: [500], 6: [700]}), [high])
    assert one["larger_may_meet"] is None and one["trend"][0]["towards"] is None
    # no deliveries at 2 robots: no trend to read
    fast = Target("cycle_time_p95", "<=", 100.0)
    unknown = decide(_sweep({2: [None, None], 4: [300, 310]}, "cycle_time_p95"), [fast])
    assert unknown["larger_may_meet"] is None and unknown["trend"][0]["towards"] is None
    assert summary_lines(unknown, [fast])[-1] == (
        "the trend cannot be read: cycle_time_p95 went from undefined at 2 to 305 at 4 "
        "(paired by seed: —)"
    )
    # an upper target: falling is towards it
    down = decide(_sweep({2: [400] * 2, 4: [300] * 2}, "cycle_time_p95"), [fast])
    assert down["larger_may_meet"] is True


def test_decide_in_the_mean_only_is_not_a_meet() -> None:
    target = Target("throughput_per_hour", ">=", 500.0)
    result = decide(_sweep({2: [300, 310, 305], 4: [450, 600, 525]}), [target])
    assert result["smallest"] is None and result["smallest_in_mean"] == {"fleet.robots": 4}
    assert result["larger_may_meet"] is None  # the largest meets in the mean: more seeds
    lines = summary_lines(result, [target])
    assert lines[1] == (
        "no swept fleet.robots meets it with 95% confidence; fleet.robots = 4 meets it in the "
        "mean only (more seeds may tell):"
    )


def test_decide_without_a_numeric_key_judges_every_setting() -> None:
    target = Target("collisions", "<=", 0.0)
    modes = [
        ({"physics.collisions": "physical"}, {"collisions": [2, 3, 1]}),
        ({"physics.collisions": "block"}, {"collisions": [0, 0, 0]}),
    ]
    result = decide(modes, [target])
    assert result["order"] == "sweep" and result["smallest"] is None
    assert result["meets"] == [{"physics.collisions": "block"}]
    lines = summary_lines(result, [target])
    assert "(a non-numeric swept key: every setting judged, none called smallest)" in lines
    assert "physics.collisions=block meets it" in lines
    grid = [
        ({"fleet.robots": n, "tasks.arrival_rate": r}, {"collisions": [0, 0] if n < 4 else [1, 0]})
        for n in (2, 4)
        for r in (0.1, 0.3)
    ]
    result = decide(grid, [target])
    assert result["order"] == "sweep" and result["keys"] == ["fleet.robots", "tasks.arrival_rate"]
    assert result["meets"] == [g[0] for g in grid[:2]] and result["mean_only"] == []
    assert summary_lines(result, [target])[1].startswith("(several swept keys")


# ------------------------------------------------------------------- the command, end to end
def test_sweep_target_end_to_end(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sized"
    argv = ["sweep", "tiny", "--set", "robots=6,2,4", "--seeds", "0..2", "--steps", "300"]
    goals = ["--target", "throughput_per_hour>=500", "--target", "cycle_time_p95 <= 300"]
    code, printed, err = cli([*argv, *goals, "--out", str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["paired.csv", "sweep.csv", "target.json"]
    answer = json.loads((out / "target.json").read_text())
    assert answer["targets"][1] == {
        "kpi": "cycle_time_p95", "op": "<=", "value": 300.0, "text": "cycle_time_p95<=300"
    }  # fmt: skip
    assert answer["order"] == "numeric" and answer["seeds"] == [0, 1, 2]
    assert [s["setting"]["fleet.robots"] for s in answer["settings"]] == [2, 4, 6]
    # the same answer from sweep.csv's numbers
    table = pd.read_csv(out / "sweep.csv")
    settings = [
        ({"fleet.robots": int(n)}, {k: runs.sort_values("seed")[k].tolist() for k in KPI_NAMES})
        for n, runs in table.groupby("fleet.robots")
    ]
    targets = [parse_target("throughput_per_hour>=500"), parse_target("cycle_time_p95<=300")]
    expected = decide(settings, targets)
    for key in ("smallest", "smallest_in_mean", "meets", "mean_only", "settings"):
        assert answer[key] == expected[key], key
    smallest = answer["smallest"]["fleet.robots"]
    assert smallest == 4  # 2 robots deliver ~284 an hour on tiny, 4 robots ~524
    assert f"smallest fleet.robots that meets every target: {smallest}" in printed
    assert "wrote sweep.csv, paired.csv and target.json" in printed
    assert "95% lower bound" in printed and "95% upper bound" in printed


def test_sweep_target_none_meets(tmp_path: Path, capsys) -> None:
    out = tmp_path / "short"
    argv = ["sweep", "tiny", "--set", "robots=2,4", "--seeds", "0..2", "--steps", "200"]
    code, printed, err = cli([*argv, "--target", "deliveries>=1000", "--out", str(out)], capsys)
    assert code == 0, err
    answer = json.loads((out / "target.json").read_text())
    assert answer["smallest"] is None and answer["meets"] == [] and answer["mean_only"] == []
    assert answer["larger_may_meet"] is True  # 4 robots deliver more than 2 on every seed
    table = pd.read_csv(out / "sweep.csv").set_index(["fleet.robots", "seed"])["deliveries"]
    steps = [table[4, s] - table[2, s] for s in (0, 1, 2)]
    assert answer["trend"][0]["diff"] == pytest.approx(sum(steps) / 3)
    assert "no swept fleet.robots meets it, not even in the mean" in printed
    assert "a larger fleet.robots may meet it: deliveries rose" in printed


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["tiny", "--target", "foo>=1"], "--target: unknown KPI 'foo'"),
        (["tiny", "--target", "throughput_per_hour=>400"], "--target: expected KPI>=VALUE"),
        (["tiny", "--target", "throughput_per_hour>=fast"], "--target: expected a number"),
        (
            ["goal_visit", "--target", "cycle_time_p95<=600"],
            "--target: cycle_time_p95 is undefined in goal_visit mode",
        ),
        (
            [
                "tiny",
                "--set",
                "tasks.mode=pickup_delivery,goal_visit",
                "--target",
                "handling_share<=1",
            ],
            "--target: handling_share is undefined in goal_visit mode",
        ),
        (  # known before the runs: it used to be refused after them ("nothing delivered?")
            ["tiny", "--target", "min_soc>=0.2"],
            "--target: min_soc is undefined without the battery model",
        ),
        (  # one swept value turns the battery off
            [
                "tiny",
                "--set",
                "battery.capacity_wh=500,null",
                "--set",
                "battery.auto_chargers=2",
                "--target",
                "battery_depletions<=0",
            ],
            "--target: battery_depletions is undefined without the battery model",
        ),
        # known only once the runs are done: nothing delivered in 3 steps, still nothing written
        (
            ["tiny", "--target", "cycle_time_p50<=60"],
            "--target: cycle_time_p50 is undefined on every run of this sweep",
        ),
    ],
)
def test_sweep_refuses_bad_targets(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # the default output folder would be runs/ here
    fails_cleanly(["sweep", *argv, "--steps", "3", "--seeds", "0..1"], tmp_path, capsys, expected)
    assert list(tmp_path.iterdir()) == []
