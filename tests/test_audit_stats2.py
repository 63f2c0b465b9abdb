"""Second audit of the evaluation reports: the seeds a summary.md mean covers, the trend claim
of ``sweep --target`` with three targets or more, the networks named by ``warehouse compare``
and by ``hierarchy.evaluate``'s rows (one helper, :mod:`warehouse.provenance`), and runs made
from different working folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from hierarchy.evaluate_rows import check_mergeable
from hierarchy.evaluate_summary import summarize as evaluate_summary
from warehouse.compare import compare_reports
from warehouse.errors import InputError
from warehouse.kpi_targets import Target, decide, summary_lines

SHA_W, SHA_J = "a" * 64, "b" * 64  # a network's weights and JSON digests


def _row(config: str, seed: int, energy: float | None) -> dict[str, Any]:
    return {"scenario": "s", "seen_in_training": False, "config": config, "seed": seed,
            "deliveries": 10, "throughput_per_hour": 90.0, "collisions": 0,
            "energy_per_delivery_wh": energy, "oldest_open_order_s": 10.0, "robots": 10,
            "steps": 100}  # fmt: skip


def _cells(text: str, config: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith(f"| {config} |"))
    return [c.strip() for c in line.strip("|").split("|")]


# ------------------------------------------------------------------ summary.md
def test_summary_cell_says_how_many_seeds_its_mean_covers() -> None:
    """The ``seeds`` column counts the rows of a config, but a KPI undefined on some of them
    (energy per delivery without deliveries) averages fewer: the cell said ``5.0 ± 1.0`` under
    ``3`` seeds for a mean of two. It says ``(2/3 seeds)``, as the run table does; a KPI
    defined on every seed is shown as before."""
    rows = [_row("greedy", 0, 4.0), _row("greedy", 1, None), _row("greedy", 2, 6.0)]
    cells = _cells(evaluate_summary(rows, "x"), "greedy")
    assert cells[1] == "3"
    assert cells[5] == "5.0 ± 1.0 (2/3 seeds)"
    assert cells[2] == "10.0 ± 0.0"  # deliveries: every seed
    none = [_row("greedy", 0, None), _row("greedy", 1, None)]
    assert _cells(evaluate_summary(none, "x"), "greedy")[5] == "n/a"


# ------------------------------------------------------------------ sweep --target trend
def _two_settings(before: dict[str, list[float]], after: dict[str, list[float]]) -> list:
    return [({"fleet.robots": 2}, before), ({"fleet.robots": 4}, after)]


def test_trend_claim_with_three_targets_is_widened_as_the_bounds_are() -> None:
    """With three targets the bounds that decide ``meets`` are Bonferroni-widened so that all
    hold together with 95 % confidence, but "a larger value may meet every target" joined the
    three paired steps each at the unwidened 95 % interval (together 92.5 %). Each step here is
    +25 ± 24.8 (t = 4.33 on 2 degrees of freedom): past 0 alone, not at the joint 1 − 0.05/3
    level (t 5.64); the claim is not made, and the line says the intervals were widened."""
    steps = [15.0, 25.0, 35.0]
    up = [100.0, 200.0, 300.0]
    down = [300.0, 200.0, 100.0]
    before = {"throughput_per_hour": up, "deliveries": up, "energy_kwh": down}
    after = {"throughput_per_hour": [u + s for u, s in zip(up, steps, strict=True)],
             "deliveries": [u + s for u, s in zip(up, steps, strict=True)],
             "energy_kwh": [d - s for d, s in zip(down, steps, strict=True)]}  # fmt: skip
    targets = [Target("throughput_per_hour", ">=", 900.0), Target("deliveries", ">=", 900.0),
               Target("energy_kwh", "<=", 0.0)]  # fmt: skip
    t_step = 25 / (10 / 3**0.5)  # mean step over its standard error
    assert stats.t.ppf(0.975, 2) < t_step < stats.t.ppf(1 - 0.05 / 3, 2)
    result = decide(_two_settings(before, after), targets)
    assert [m["towards"] for m in result["trend"]] == [False, False, False]
    assert result["larger_may_meet"] is False
    line = summary_lines(result, targets)[-1]
    assert line.startswith("no clear trend towards a larger fleet.robots:")
    assert "widened" in line and "3 targets" in line
    # two targets: the interval ends alone hold together with 95 %; the trend is read
    two = decide(_two_settings(before, after), targets[:2])
    assert two["larger_may_meet"] is True
    assert "widened" not in summary_lines(two, targets[:2])[-1]


# ------------------------------------------------------------------ networks: one helper
def _report(folder: Path, weights: dict[str, Any]) -> Path:
    folder.mkdir()
    kpis = {"deliveries": {"mean": 1.5, "ci95": 6.4, "per_seed": [1.0, 2.0]}}
    run = {"policy": "cql", "dispatcher": "greedy", "navigator": "cql", "collisions": "block",
           "kpis": kpis, "weights": weights}  # fmt: skip
    report = {"scenario": "tiny", "seeds": [0, 1], "steps": 3, "robots": 2, "runs": [run]}
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


def test_compare_of_runs_made_from_other_working_folders_sees_the_same_network(
    tmp_path: Path,
) -> None:
    """A record's ``file`` is relative to the run's working folder: the same network run from
    the repository (``agents/weights/cql.json``) and from elsewhere (its absolute path) was
    reported as ``cql.weights.navigator`` differing, though its sha256 is the same. Records of
    the same digests are the same network; other digests still differ."""
    here = {"file": "agents/weights/cql.json", "sha256": SHA_W, "json_sha256": SHA_J}
    there = {**here, "file": "/work/repo/agents/weights/cql.json"}
    a = _report(tmp_path / "a", {"navigator": here})
    differ = compare_reports(a, _report(tmp_path / "b", {"navigator": there}))["differ"]
    assert "cql.weights.navigator" not in differ
    other = {**there, "sha256": "c" * 64}
    differ = compare_reports(a, _report(tmp_path / "c", {"navigator": other}))["differ"]
    assert differ["cql.weights.navigator"] == [here["file"], other["file"]]


def _evaluated(seed: int, weights: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": "small", "config": "greedy + cql frozen (pibt)", "dispatcher": "greedy",
            "navigator": "cql", "steps": 20, "seed": seed, "weights": weights}  # fmt: skip


def test_evaluate_merges_rows_of_the_same_network_run_from_other_folders() -> None:
    """``--merge`` refused rows of the same network (same sha256) measured from another working
    folder: their ``file`` differs. They merge; rows of another network are still refused."""
    here = {"file": "agents/weights/cql.json", "sha256": SHA_W, "json_sha256": SHA_J}
    there = {**here, "file": "/work/repo/agents/weights/cql.json"}
    check_mergeable([("a.json", [_evaluated(0, {"navigator": here})]),
                     ("this run", [_evaluated(1, {"navigator": there})])])  # fmt: skip
    other = {**here, "sha256": "c" * 64}
    with pytest.raises(InputError, match="measured with"):
        check_mergeable([("a.json", [_evaluated(0, {"navigator": here})]),
                         ("this run", [_evaluated(1, {"navigator": other})])])  # fmt: skip


def test_networks_are_named_and_digested_alike_by_compare_and_evaluate(tmp_path: Path) -> None:
    """``compare`` and ``hierarchy.evaluate`` each had their own reading of a record: where the
    weights file could not be hashed (only ``json_sha256``), ``compare`` told two records apart
    by the JSON's digest and ``evaluate``'s refusal said ``?`` for both sides. Both read the
    record through one helper: the refusal names the digests that differ."""
    first = {"file": "nav.json", "json_sha256": SHA_J}
    second = {"file": "nav.json", "json_sha256": "d" * 64}
    with pytest.raises(InputError) as exc:
        check_mergeable([("a.json", [_evaluated(0, {"navigator": first})]),
                         ("this run", [_evaluated(1, {"navigator": second})])])  # fmt: skip
    assert f"navigator nav.json `{'d' * 64}`" in str(exc.value)
    assert f"navigator nav.json `{SHA_J}`" in str(exc.value)
    a = _report(tmp_path / "a", {"navigator": first})
    differ = compare_reports(a, _report(tmp_path / "b", {"navigator": second}))["differ"]
    assert differ["cql.weights.navigator"] == [SHA_J[:12], "d" * 12]


def test_summary_ratios_never_round_onto_a_target_from_the_wrong_side() -> None:
    """A ratio of 0.99997 beside "target ≥ 1.0" was shown as ``1.000`` (it reads as met); the
    summary now adds decimals until the text is on the ratio's side of parity and of the
    targets 1.22 and 0.65, and keeps 3 decimals everywhere else."""
    from hierarchy.evaluate_summary import _ratio

    assert _ratio(99.997, 100.0) == "0.99997"
    assert _ratio(100.04, 100.0) == "1.0004"
    assert _ratio(121.99, 100.0) == "1.2199"
    assert _ratio(65.02, 100.0) == "0.6502"
    assert _ratio(100.0, 100.0) == "1.000"  # an exact tie stays a tie
    assert _ratio(247.4, 100.0) == "2.474"
    assert _ratio(0.0, 0.0) == "0 / 0 (both zero)"


def test_the_run_tables_paired_ratio_never_reads_as_parity_from_the_wrong_side() -> None:
    """``warehouse run``'s paired column: ``-0.1 (×0.99997)``, not ``(×1.000)``."""
    from warehouse.report import format_paired

    assert format_paired({"diff": -0.1, "ci95": 1.6, "ratio": 0.99997}).endswith("(×0.99997)")
    assert format_paired({"diff": 3.67, "ci95": 3.79, "ratio": 1.0081}).endswith("(×1.008)")


def test_compare_with_an_older_report_does_not_list_unrecorded_parts_as_differences(
    tmp_path: Path,
) -> None:
    """An older report records no dispatcher, navigator or collision mode per run: ``compare``
    listed ``cql.dispatcher: None → greedy`` as a difference. Parts are compared where both
    reports record them (as weights and versions are); a real difference is still named."""
    a = _report(tmp_path / "a", {})
    old = tmp_path / "old"
    old.mkdir()
    report = json.loads((a / "report.json").read_text("utf-8"))
    for part in ("dispatcher", "navigator", "collisions"):
        del report["runs"][0][part]
    (old / "report.json").write_text(json.dumps(report), encoding="utf-8")
    differ = compare_reports(old, a)["differ"]
    assert not any(k.startswith("cql.") for k in differ), differ
    report["runs"][0]["dispatcher"] = "hungarian"
    (old / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert compare_reports(old, a)["differ"]["cql.dispatcher"] == ["hungarian", "greedy"]


def test_the_summary_names_one_network_once_whatever_folder_its_rows_came_from() -> None:
    """Rows merged from runs in two working folders name one network's file two ways; the
    summary's weights line listed it twice. It is named once, by the first file name seen; a
    network with other digests is still listed with its row counts."""
    from hierarchy.evaluate_summary import weights_line

    here = {"file": "agents/weights/cql.json", "sha256": SHA_W, "json_sha256": SHA_J}
    there = {**here, "file": "/elsewhere/agents/weights/cql.json"}
    rows = [_evaluated(0, {"navigator": here}), _evaluated(1, {"navigator": there})]
    line = weights_line(rows)
    assert line is not None and line.count("cql.json") == 1 and SHA_W in line, line
    rows.append(_evaluated(2, {"navigator": {**here, "sha256": "c" * 64}}))
    line = weights_line(rows)
    assert line is not None and "(2 rows)" in line and "(1 row)" in line, line
