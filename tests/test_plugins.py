"""Dispatchers and navigators of other packages, registered through entry points."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from cli_helpers import run_cli

import warehouse.plugins as plugins
from agents import NAVIGATORS
from hierarchy import DISPATCHERS
from warehouse.errors import InputError

PARTS = {
    plugins.DISPATCHER_GROUP: [("closest_order", "plugin_example:ClosestOrder")],
    plugins.NAVIGATOR_GROUP: [("dawdler", "plugin_example:Dawdler")],
}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[str, str]]]]:
    """Entry points as an installed package would declare them; the registries and the
    loader's once-per-process flag are restored afterwards."""
    parts = {group: list(points) for group, points in PARTS.items()}

    def entry_points(*, group: str) -> list[EntryPoint]:
        return [EntryPoint(name, value, group) for name, value in parts.get(group, [])]

    monkeypatch.setattr(plugins, "entry_points", entry_points)
    monkeypatch.setattr(plugins, "_loaded", False)
    before = dict(DISPATCHERS), dict(NAVIGATORS)
    yield parts
    for registry, saved in zip((DISPATCHERS, NAVIGATORS), before, strict=True):
        registry.clear()
        registry.update(saved)


def test_installed_parts_run_from_the_command_line(installed, tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(["list"], capsys)
    assert code == 0, err
    assert "closest_order" in out and "dawdler" in out
    argv = ["run", "small", "--policy", "rule_based", "--dispatcher", "closest_order",
            "--navigator", "dawdler", "--seeds", "0", "--steps", "150", "--out"]  # fmt: skip
    code, _, err = run_cli([*argv, str(tmp_path / "a")], capsys)
    assert code == 0, err
    run = json.loads((tmp_path / "a" / "report.json").read_text())["runs"][0]
    assert (run["dispatcher"], run["navigator"]) == ("closest_order", "dawdler")
    assert run["kpis"]["deliveries"]["mean"] > 0
    # the navigator's own generator is seeded by the run: the same seed, the same report
    code, _, err = run_cli([*argv, str(tmp_path / "b")], capsys)
    again = json.loads((tmp_path / "b" / "report.json").read_text())["runs"][0]
    assert code == 0 and again["kpis"] == run["kpis"]


def test_the_python_api_sees_them_too(installed) -> None:
    from warehouse.model import WarehouseModel

    model = WarehouseModel("tiny", seed=0, dispatcher="closest_order", navigator="dawdler",
                           steps=100)  # fmt: skip
    assert type(model.fleet.dispatcher).__name__ == "ClosestOrder"
    assert model.run()["deliveries"] > 0


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (("greedy", "plugin_example:ClosestOrder"), "the name 'greedy' is already taken"),
        (("gone", "no_such_package.module:Thing"), "cannot load 'no_such_package.module:Thing'"),
        (("flag", "plugin_example:__doc__"), "is not callable"),
    ],
)
def test_a_bad_entry_point_is_one_line_and_exit_2(installed, point, message, capsys) -> None:
    installed[plugins.DISPATCHER_GROUP].append(point)
    code, out, err = run_cli(["list"], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    where = f"entry point {plugins.DISPATCHER_GROUP}:{point[0]}"
    assert err.strip().splitlines() == [err.strip()] and where in err and message in err
    assert DISPATCHERS["greedy"].__name__ == "GreedyDispatcher"  # no built-in replaced
    with pytest.raises(InputError, match=message):
        plugins.load_plugins()  # the Python API reports it the same way
