"""Thirty-eighth session: findings of the lead engineer's own review."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import fails_cleanly


def test_train_dispatcher_refuses_a_scenario_without_orders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``goal_visit`` has no orders: the dispatcher would make no decision and "train" on
    nothing (it used to run to the end with return 0.0 and write a policy)."""
    line = fails_cleanly(
        ["train-dispatcher", "goal_visit", "--steps", "50", "--out", str(tmp_path / "run")],
        tmp_path,
        capsys,
        "",
    )
    assert "tasks.mode" in line and "goal_visit" in line and "no orders" in line
    # a list with one such scenario is refused as a whole, naming that one
    line = fails_cleanly(
        ["train-dispatcher", "tiny,goal_visit", "--steps", "50", "--out", str(tmp_path / "r")],
        tmp_path,
        capsys,
        "",
    )
    assert "goal_visit" in line and "tasks.mode" in line


def test_the_training_pool_refuses_a_scenario_without_orders() -> None:
    """The same rule for a caller of :func:`hierarchy.train.train` (the pool it builds)."""
    from hierarchy.train import FloorPool
    from warehouse.errors import InputError

    with pytest.raises(InputError, match=r"tasks\.mode"):
        FloorPool(("tiny", "goal_visit"), None)
    assert len(FloorPool(("tiny",), None).entries) == 1


def test_the_mesa_model_names_a_bad_setting_given_to_it_not_the_scenario_file() -> None:
    """``WarehouseModel("small", robots=100000)`` said ``…/small.yaml: fleet.robots: …``,
    though the file holds no such value (``make_env`` and the command line name the setting)."""
    from warehouse.errors import InputError
    from warehouse.model import WarehouseModel

    with pytest.raises(InputError) as caught:
        WarehouseModel("small", robots=100_000)
    assert caught.value.source is None and caught.value.field == "fleet.robots"
    assert str(caught.value).startswith("fleet.robots: must be ≤ free cells")


def test_the_mesa_model_still_names_the_file_for_its_own_bad_setting(tmp_path: Path) -> None:
    from warehouse.errors import InputError
    from warehouse.model import WarehouseModel

    bad = tmp_path / "s.yaml"
    bad.write_text("name: s\nfleet: {robots: 100000}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        WarehouseModel(bad)
    assert str(caught.value.source) == str(bad) and caught.value.field == "fleet.robots"
