"""Dispatchers, navigators and shields of other packages, registered through entry points."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from entry_point_helpers import installed_parts

import warehouse.plugins as plugins
from hierarchy import DISPATCHERS
from warehouse.errors import InputError
from warehouse.shield import SHIELDS, register_shield

PARTS = {
    plugins.DISPATCHER_GROUP: [("closest_order", "plugin_example:ClosestOrder")],
    plugins.NAVIGATOR_GROUP: [("dawdler", "plugin_example:Dawdler")],
    plugins.SHIELD_GROUP: [("loaded_first", "plugin_example:LoadedFirst")],
}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[str, str]]]]:
    """The example package's entry points (tests/entry_point_helpers.py)."""
    yield from installed_parts(monkeypatch, {g: list(points) for g, points in PARTS.items()})


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


def test_an_installed_shield_is_a_collision_mode(installed, tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(["list"], capsys)
    assert code == 0, err
    modes = "physical, block, pibt, pibt_swap, pibt_lacam, loaded_first"
    assert f"collision modes (--collisions): {modes}" in " ".join(out.split())  # (wrapped)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nlayout: {type: generator}\nfleet: {robots: 30}\n"
                        "physics: {collisions: loaded_first}\n", "utf-8")  # fmt: skip
    code, out, err = run_cli(["validate", str(scenario)], capsys)
    assert code == 0 and out.startswith("OK s.yaml"), err
    code, _, err = run_cli(["run", str(scenario), "--policy", "random", "--seeds", "0",
                            "--steps", "200", "--out", str(tmp_path / "r")], capsys)  # fmt: skip
    assert code == 0, err
    run = json.loads((tmp_path / "r" / "report.json").read_text())["runs"][0]
    assert run["collisions"] == "loaded_first"
    kpis = {k: v["mean"] for k, v in run["kpis"].items()}
    # it resolved the random moves' conflicts and let none through (the physics counts those)
    assert kpis["shield_interventions"] > 0 and kpis["collisions"] == 0


def test_unknown_collision_mode_in_a_file_names_the_field(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("physics: {collisions: loaded_first}\n", "utf-8")  # not installed here
    code, out, err = run_cli(["validate", str(scenario)], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == (
        f"error: {scenario}: physics.collisions: expected a collision mode: physical, block, "
        "pibt, pibt_swap, pibt_lacam, got 'loaded_first'"
    )


class PassThrough:
    """A shield that changes nothing."""

    name = "pass_through"
    needs_mask = False

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        return actions


def test_a_shield_cannot_hide_a_collision() -> None:
    """Whatever a shield returns goes through the physics: a pass-through shield's run is the
    ``physical`` run, step for step, with the same collisions counted."""
    from agents import make_navigator
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation

    register_shield("pass_through", PassThrough)
    try:
        sc, _ = load_scenario("small")
        floor = build_floor(sc)
        runs = []
        for mode in ("physical", "pass_through"):
            config = sc.sim_config().model_copy(update={"physics": sc.physics.model_copy(
                update={"collisions": mode})})  # fmt: skip
            sim, nav = Simulation(floor, config), make_navigator("random")
            sim.reset(seed=3)
            nav.reset(3)
            trace = []
            for _ in range(60):
                actions, prefs = nav.act(sim, None, sim.action_mask())
                sim.step(actions, prefs)
                trace.append(sim.state.pos.copy())
            runs.append((np.stack(trace), sim.state.collisions.sum()))
        (a, hits_a), (b, hits_b) = runs
        assert np.array_equal(a, b) and hits_a == hits_b > 0
    finally:
        SHIELDS.pop("pass_through", None)


def test_a_really_installed_package_is_found(tmp_path: Path) -> None:
    """No monkeypatching: a distribution's metadata on the path, as ``pip install`` leaves it,
    read by a fresh interpreter. Importing the package's config must not load plugins that
    import it back (a circular import)."""
    import os
    import subprocess
    import sys

    info = tmp_path / "demo_fleet-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-fleet\nVersion: 0.1\n")
    sections = [
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in points)
        for group, points in PARTS.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(sections))
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(tests)])}
    script = (
        "import warehouse.config\n"
        "from warehouse.cli.main import main\n"
        f"main(['run', 'tiny', '--policy', 'random', '--dispatcher', 'closest_order', "
        f"'--collisions', 'loaded_first', '--seeds', '0', '--steps', '40', "
        f"'--out', {str(tmp_path / 'r')!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "r" / "report.json").read_text())["runs"][0]
    assert (run["dispatcher"], run["collisions"]) == ("closest_order", "loaded_first")
