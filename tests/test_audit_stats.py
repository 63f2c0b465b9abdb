"""Audit of the statistics users read off the reports: the ``±`` of ``warehouse run`` and
``report.json``, the paired differences of ``run`` and ``compare``, the confidence bounds of
``sweep --target`` and the ratios of ``hierarchy.evaluate``'s summary.md, each checked against
scipy's own Student-t computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hierarchy.evaluate_summary import summarize as evaluate_summary
from warehouse.kpi_targets import Target, decide, judge, summary_lines
from warehouse.report import paired_rows, summarize


def _half_width(values: list[float], confidence: float = 0.95) -> float:
    """scipy's Student-t interval of the mean of ``values``, as a half-width."""
    x = np.asarray(values, dtype=float)
    low, high = stats.t.interval(confidence, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    return float(high - low) / 2


# ------------------------------------------------------------ report.json, the printed table
@pytest.mark.parametrize(
    "values",
    [[801, 815, 821], [0.25, 0.5], [1.0, 2.0, 4.0, 8.0, 16.0, 3.0, 5.0, 7.0, 11.0, 13.0]],
)
def test_run_ci95_is_scipys_student_t_half_width(values: list[float]) -> None:
    """``ci95``: half-width of the two-sided 95 % Student-t interval (sample s.d., n − 1 degrees
    of freedom), not the normal 1.96 nor the population s.d.: with 2–10 seeds they differ by
    up to 6.5×."""
    got = summarize(values)
    assert got["mean"] == pytest.approx(np.mean(values), abs=1e-6)
    assert got["ci95"] == pytest.approx(_half_width(values), abs=2e-6)
    normal = 1.96 * float(np.std(values)) / math.sqrt(len(values))
    assert got["ci95"] > normal * 1.1  # (the t quantile and ddof 1 both widen it)


def test_run_ci95_ignores_undefined_seeds_and_needs_two() -> None:
    """An undefined seed (``None``, NaN) leaves the mean and interval; one value left: no
    interval; equal values: a zero-width one."""
    got = summarize([10.0, None, float("nan"), 14.0, 18.0])
    assert got["per_seed"] == [10.0, None, None, 14.0, 18.0]
    assert got["mean"] == 14.0
    assert got["ci95"] == pytest.approx(_half_width([10, 14, 18]), abs=2e-6)
    assert summarize([5.0, None])["ci95"] is None
    assert summarize([7, 7, 7]) == {"mean": 7.0, "ci95": 0.0, "per_seed": [7, 7, 7]}


def test_paired_difference_is_scipys_paired_t_interval() -> None:
    """``paired``: the mean per-seed difference with the interval of a paired t-test (scipy's
    ``ttest_rel``), and the ratio of the means over the same seeds; a seed where either side
    is undefined is left out of all three."""
    mine = [812.0, 790.0, 845.0, None, 830.0]
    theirs = [800.0, 795.0, 820.0, 810.0, 805.0]
    row = paired_rows(
        {"deliveries": summarize(mine)}, {"deliveries": summarize(theirs)}, ["deliveries"]
    )["deliveries"]
    a = np.array([812.0, 790.0, 845.0, 830.0])
    b = np.array([800.0, 795.0, 820.0, 805.0])
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert row["diff"] == pytest.approx((a - b).mean())
    assert row["ci95"] == pytest.approx((ci.high - ci.low) / 2, abs=2e-6)
    assert row["ratio"] == pytest.approx(a.mean() / b.mean(), abs=1e-6)


# ------------------------------------------------------------------ hierarchy.evaluate
def _row(config: str, seed: int, deliveries: int, energy: float | None = 4.0) -> dict:
    return {"scenario": "s", "seen_in_training": False, "config": config, "seed": seed,
            "deliveries": deliveries, "throughput_per_hour": deliveries * 9.0,
            "collisions": 0, "energy_per_delivery_wh": energy, "oldest_open_order_s": 10.0,
            "robots": 10, "steps": 100}  # fmt: skip


def _ratio_cells(text: str, label: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith(f"| {label}"))
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_summary_ratio_is_over_the_seeds_its_paired_difference_uses() -> None:
    """The target ratio and the paired difference beside it read the same seeds, those both
    configs define (as ``report.json``'s ``paired``): merged rows where one config ran seed 3
    alone (a hard seed) gave the ratio 1.35 next to a difference of +2.0 ± 2.5, which is 1.2."""
    hb, hh = "hierarchical (pibt)", "hungarian + NAV (pibt)"
    rows = [_row(hb, 0, 10), _row(hb, 1, 12), _row(hb, 2, 14), _row(hb, 3, 99)]
    rows += [_row(hh, 0, 9), _row(hh, 1, 10), _row(hh, 2, 11)]
    cells = _ratio_cells(evaluate_summary(rows, "x"), "throughput ppo / hungarian, same NAV")
    assert cells == [f"{36 / 30:.3f}", "+2.0 ± 2.5"]


def test_summary_energy_ratio_leaves_out_seeds_one_config_did_not_define() -> None:
    """Energy per delivery is undefined on a seed without deliveries: that seed leaves the
    ratio of both configs, as it leaves their paired difference."""
    hp, rp = "hierarchical (physical)", "rule_based (physical)"
    rows = [_row(hp, 0, 10, 6.0), _row(hp, 1, 0, None), _row(hp, 2, 10, 6.0)]
    rows += [_row(rp, 0, 10, 4.0), _row(rp, 1, 10, 9.0), _row(rp, 2, 10, 4.0)]
    label = "energy per delivery hierarchical / rule_based (physical; target < 1)"
    assert _ratio_cells(evaluate_summary(rows, "x"), label) == ["1.500", "+2.0 ± 0.0"]


# ------------------------------------------------------------------ sweep --target
def test_target_bound_is_the_end_of_the_run_tables_interval() -> None:
    """One target: the bound is the end of the two-sided 95 % Student-t interval (the table's
    ``±``), a one-sided 97.5 % bound, checked against scipy."""
    values = [524.0, 531.0, 517.0]
    row = judge(Target("throughput_per_hour", ">=", 500.0), values)
    low, _ = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert row["bound"] == pytest.approx(low, abs=2e-6)
    assert row["bound"] == pytest.approx(stats.t.ppf(0.025, 2) * stats.sem(values) + 524, abs=1e-5)
    assert decide([({}, {"throughput_per_hour": values})], [Target("throughput_per_hour",
                  ">=", 500.0)])["meets"] == [{}]  # fmt: skip


def test_three_targets_hold_together_with_95_percent_confidence() -> None:
    """ "Meets every target with 95 % confidence": each bound, the end of a two-sided 95 %
    interval, is wrong with probability 2.5 %, so two targets hold together with 95 %
    confidence (Bonferroni) but three only with 92.5 %. From three targets on each bound is the
    one-sided 1 − 0.05/k Student-t bound (scipy), so all hold together with 95 %; with one or
    two it stays the table's interval."""
    values = [506.0, 512.0, 509.0]  # mean 509, 95 % CI [501.5, 516.5]
    low = Target("throughput_per_hour", ">=", 501.0)
    kpis = {"throughput_per_hour": values, "deliveries": values, "energy_kwh": values}
    others = [Target("deliveries", ">=", 0.0), Target("energy_kwh", "<=", 1e9)]
    two = decide([({}, kpis)], [low, others[0]])
    assert two["settings"][0]["targets"][0]["bound"] == pytest.approx(
        np.mean(values) - _half_width(values), abs=2e-6
    )
    assert two["meets"] == [{}]
    three = decide([({}, kpis)], [low, *others])
    row = three["settings"][0]["targets"][0]
    assert row["ci95"] == pytest.approx(_half_width(values), abs=2e-6)  # (the table's ±)
    joint = float(stats.t.ppf(1 - 0.05 / 3, 2)) * float(stats.sem(values))
    assert row["bound"] == pytest.approx(np.mean(values) - joint, abs=2e-6)
    assert row["bound"] < 501.0 and row["verdict"] == "mean_only"
    assert three["meets"] == [] and three["mean_only"] == [{}]
    lines = summary_lines(three, [low, *others])
    assert "one-sided 98.3% bound (Bonferroni) so that all 3 hold together" in lines[0]
    assert "throughput_per_hour: mean 509, 95% joint lower bound 500 < 501" in "\n".join(lines)
    assert "95% lower bound 502 ≥ 501" in "\n".join(summary_lines(two, [low, others[0]]))
