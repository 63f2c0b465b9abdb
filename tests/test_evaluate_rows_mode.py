"""Evaluation rows name the collision mode they ran under (the KPI ``collisions`` is a count)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hierarchy.evaluate as ev
from hierarchy.evaluate_rows import check_row, read_rows


def test_rows_record_their_collision_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "SCENARIOS", [("small", "small", False, {})])
    ev.main(["--out", str(tmp_path / "e"), "--seeds", "1", "--steps", "10", "--scenarios",
             "small", "--configs", "rule_based (block),rule_based (pibt)"])  # fmt: skip
    path = tmp_path / "e" / "results.json"
    rows = json.loads(path.read_text())
    assert [r["collision_mode"] for r in rows] == ["block", "pibt"]
    assert all(isinstance(r["collisions"], int) for r in rows)  # the KPI, a count
    assert read_rows(path) == rows  # (and they merge back in)


def test_a_collision_mode_that_is_not_a_name_is_refused() -> None:
    row = {"scenario": "small", "config": "c", "seed": 0, "seen_in_training": False}
    assert check_row({**row, "collision_mode": "pibt"}) is None
    assert check_row(row) is None  # (rows written before it)
    assert check_row({**row, "collision_mode": 3}) == ("collision_mode", "expected a name, got 3")
