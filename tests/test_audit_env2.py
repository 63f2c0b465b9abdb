"""Second audit of the PettingZoo env (warehouse/env.py, ``warehouse.make_env``) as an RL
researcher uses it: errors in the settings given to ``make_env``, the documented reward and
cost terms, and the env beside the fleet that ``warehouse run`` drives."""

from __future__ import annotations

from pathlib import Path

import pytest

import warehouse
from warehouse.errors import InputError

DOCS = Path(__file__).resolve().parents[1] / "docs"
BATTERY = str(DOCS / "results_battery" / "small_battery.yaml")


# ------------------------------------------------------------------------------ make_env errors
@pytest.mark.parametrize(
    ("target", "overrides", "expected"),
    [
        ("small", {"robots": 100_000}, "fleet.robots: must be ≤ free cells (383)"),
        ("small", {"fleet.robots": 100_000}, "fleet.robots: must be ≤ free cells (383)"),
        (BATTERY, {"robots": 100_000}, "fleet.robots: must be ≤ free cells (383)"),
        (
            "small",
            {"faults.closures": [{"cells": [[40, 3]], "start_s": 0}]},
            "faults.closures[0].cells[0]: (40, 3) is not a floor cell: outside the floor "
            "(rows 0..12, cols 0..58)",
        ),
        (
            "small",
            {"policies.dispatcher": "random", "policies.order_pool": 8},
            "policies.order_pool: no dispatcher of this run has an order pool (random); those "
            "that do: greedy, hungarian, ppo",
        ),
    ],
)
def test_a_bad_make_env_setting_is_named_not_the_scenario_file(target, overrides, expected):
    """A value given to ``make_env`` that the floor (or the dispatcher) refuses is named as the
    caller gave it, as ``apply_overrides`` names the ones the schema refuses and ``warehouse
    run`` names ``--robots``: the file named before holds no such value."""
    with pytest.raises(InputError) as info:
        warehouse.make_env(target, **overrides)
    assert info.value.one_line() == expected


def test_a_bad_setting_of_the_file_itself_still_names_the_file(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("fleet: {robots: 100000}\n")
    with pytest.raises(InputError) as info:
        warehouse.make_env(bad)
    assert info.value.one_line() == f"{bad}: fleet.robots: must be ≤ free cells (251)"
    with pytest.raises(InputError) as info:  # a setting the caller gave is not blamed for it
        warehouse.make_env(bad, steps=10)
    assert info.value.one_line() == f"{bad}: fleet.robots: must be ≤ free cells (251)"


# ------------------------------------------------------------------------------ scratch_a2c
@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        ("-1", "error: --seed: expected a whole number from 0 to 2**64 - 1, got -1"),
        (str(2**64), f"error: --seed: expected a whole number from 0 to 2**64 - 1, got {2**64}"),
    ],
)
def test_scratch_a2c_refuses_a_seed_it_cannot_use_in_one_line(seed, expected, capsys):
    """A negative seed was a ``ValueError`` traceback from the env's reset (exit 1), one past
    torch's 64 bits a ``RuntimeError`` from ``torch.manual_seed``."""
    from agents.scratch_a2c import main

    with pytest.raises(SystemExit) as exc:
        main(["--scenario", "tiny", "--updates", "1", "--steps", "2", "--seed", seed])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == expected


def _trained_envs(monkeypatch) -> list:
    """The envs ``scratch_a2c.train`` makes, as it makes them."""
    made: list = []
    make_env = warehouse.make_env

    def recording(*args, **kwargs):
        made.append(make_env(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(warehouse, "make_env", recording)
    return made


def test_scratch_a2c_keeps_the_scenario_files_progress_shaping(monkeypatch, tmp_path):
    """Without ``--progress`` the scenario's own ``reward.progress`` trains (it was set to 0,
    silently: a file written for shaping trained on the sparse reward); given, it wins."""
    from agents.scratch_a2c import main, train

    shaped = tmp_path / "shaped.yaml"
    shaped.write_text("layout: {shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
                      "fleet: {robots: 4}\nreward: {progress: 2.5}\n")  # fmt: skip
    made = _trained_envs(monkeypatch)
    main(["--scenario", str(shaped), "--updates", "1", "--steps", "3"])
    train(str(shaped), updates=1, steps=3, log=lambda _: None)
    train(str(shaped), updates=1, steps=3, progress=0.0, log=lambda _: None)
    train("tiny", updates=1, steps=3, log=lambda _: None)
    progress = [env.scenario.reward.progress for env in made]
    assert progress == [2.5, 2.5, 0.0, 0.0]
    assert [env.max_steps for env in made] == [3] * 4


def test_scratch_a2c_holds_out_a_seed_no_update_trained_on():
    from agents.scratch_a2c import held_out_seed

    assert held_out_seed(0, 250) == 10_000  # (the README's held-out figure: unchanged)
    for seed, updates in [(0, 9_999), (0, 10_000), (7, 20_000), (3, 1)]:
        trained = {seed, *range(seed + 1, seed + 1 + updates)}  # the first reset and updates
        assert held_out_seed(seed, updates) not in trained


# ------------------------------------------------------------------------------ reward and cost
def test_collision_reward_and_cost_charge_the_robot_whose_move_failed_as_documented():
    """A robot that runs into one standing still is charged (−50, cost 1); the one it hits,
    though part of the incident, is not (``reward.collision``'s own description). The env's
    docstring and the README said "per collision the robot took part in"."""
    from sim_helpers import place

    import warehouse.env as env_module

    env = warehouse.make_env("tiny", robots=2, collisions="physical", **{"tasks.arrival_rate": 0})
    env.reset(seed=0)
    cells = {tuple(map(int, p)) for p in env.floor.pos}
    row, col = min((r, c) for r, c in cells if (r, c + 1) in cells)
    place(env.sim, (row, col), (row, col + 1))
    _, rewards, _, _, infos = env.step({"robot_0": 2, "robot_1": 0})  # east, into robot_1
    assert infos["robot_0"]["incidents"] == 1
    assert rewards == {"robot_0": -50.0, "robot_1": 0.0}
    assert {a: i["cost"] for a, i in infos.items()} == {"robot_0": 1.0, "robot_1": 0.0}
    doc = " ".join((env_module.__doc__ or "").split())
    assert "took part in" not in doc
    assert "a robot standing still that another runs into is not charged" in doc
