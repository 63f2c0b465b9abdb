"""``hierarchy.fairness``: the best dispatch setting per floor under an order-age budget."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hierarchy.fairness import BASELINE, CANDIDATE, best_under_budget, load_rows, main, table


def _rows(config: str, floor: str, deliveries: list[float], oldest: list[float]) -> dict:
    return {(floor, config): [
        {"deliveries": d, "oldest_open_order_s": o} for d, o in zip(deliveries, oldest, strict=True)
    ]}  # fmt: skip


def test_the_budget_is_the_baselines_oldest_waiting_order() -> None:
    """The setting that delivers most is skipped when its orders wait longer than the
    baseline's; a floor where every setting does has no choice; means are over seeds."""
    base = _rows(BASELINE[0], "a", [100, 100], [200, 220]) | _rows(BASELINE[0], "b", [50], [10])
    settings = {
        "deep": _rows(CANDIDATE, "a", [140, 140], [300, 300]) | _rows(CANDIDATE, "b", [60], [20]),
        "fair": _rows(CANDIDATE, "a", [120, 122], [205, 215]) | _rows(CANDIDATE, "b", [55], [11]),
        "slow": _rows(CANDIDATE, "a", [101, 101], [100, 100]),
    }
    a, b = best_under_budget(settings, base, ("a", "b", "absent"))
    assert (a.floor, a.budget_s, a.setting, a.oldest_s) == ("a", 210, "fair", 210)
    assert a.ratio == pytest.approx(1.21)
    assert (a.best_setting, a.best_ratio) == ("deep", 1.4)
    assert b.setting is None and math.isnan(b.ratio) and b.best_setting == "deep"
    text = table([a, b])
    assert "| a | 210 s | 1.210 (fair, 210 s) | 1.400 (deep, 300 s) |" in text
    assert "| b | 10 s | none |" in text


@pytest.mark.parametrize("horizon", ["400", "hour"])
def test_committed_folders_give_one_row_per_saturated_floor(horizon: str, capsys) -> None:
    if not (Path(__file__).resolve().parents[1] / "docs" / "results_hierarchy").is_dir():
        pytest.skip("no committed evaluation folders")
    main(["--horizon", horizon])
    out = capsys.readouterr().out
    floors = [x for x in out.splitlines() if x.startswith("| ") and not x.startswith("| floor")]
    assert len(floors) == 8
    met = sum(float(x.split(" | ")[2].split()[0]) >= 1.22 for x in floors if "| none |" not in x)
    assert f"within the budget on {met} of 8 floors" in out


def test_a_missing_folder_is_a_one_line_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        load_rows(("nowhere",), root=tmp_path)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nowhere" in err[0]
