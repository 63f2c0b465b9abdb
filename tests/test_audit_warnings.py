"""Our code raises no warnings under today's libraries: no DeprecationWarning, FutureWarning or
PendingDeprecationWarning (a break waiting for the next release), no RuntimeWarning (a numeric
edge case: a division by zero, a NaN cast to an integer) and no UserWarning.

Each path runs with every warning that one of our modules triggers turned into an error (a
warning counts as ours when it is attributed to a module of ours, as a library's deprecation
warning is to its caller); warnings a library raises inside itself (pettingzoo's own
deprecated modules, say) are left to the library. ``pyproject.toml``'s ``filterwarnings`` does
the same for the whole suite."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import given_once, run_cli

import warehouse
from warehouse.model import WarehouseModel

#: the modules whose warnings are ours (a regular expression over the warning's module)
OURS = r"(warehouse|agents|hierarchy|scenarios|visualize)(\.|$)"


@contextlib.contextmanager
def ours_are_errors() -> Iterator[None]:
    """Inside, any warning attributed to one of our modules is raised as an error."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", module=OURS)
        yield


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """``warehouse ARGV`` under :func:`ours_are_errors`; must exit 0; returns its stdout."""
    with ours_are_errors():
        code, out, err = run_cli(argv, capsys)
    assert code == 0, (argv, out, err)
    assert "Traceback" not in out + err and "Warning" not in err, err
    return out


def test_the_suites_filter_makes_a_warning_of_ours_an_error() -> None:
    """pyproject's filterwarnings: a deprecation attributed to a test module of ours fails the
    test (it was only a printed summary line before)."""
    with pytest.raises(DeprecationWarning):
        warnings.warn("pinned", DeprecationWarning, stacklevel=1)


@pytest.mark.parametrize("collisions", ["physical", "block", "pibt", "pibt_swap"])
def test_an_env_episode_with_faults_and_batteries_is_warning_free(collisions: str) -> None:
    overrides = {
        "collisions": collisions,
        "episode.steps": 40,
        "faults.breakdown_prob": 0.05,
        "faults.closure_prob": 0.2,
        "battery.capacity_wh": 2.0,
        "battery.auto_chargers": 2,
    }
    with ours_are_errors():
        env = warehouse.make_env("tiny", **overrides)
        obs, mask = env.reset_arrays(seed=0)
        rng = np.random.default_rng(0)
        steps = 0
        while not env.truncated:
            allowed = [np.flatnonzero(row) for row in mask]
            actions = np.array([rng.choice(a) if a.size else 0 for a in allowed])
            obs, mask, _ = env.step_arrays(actions)
            steps += 1
        assert np.isfinite(obs).all()
        env.close()
    assert steps == 40


def test_the_mesa_model_and_its_series_are_warning_free() -> None:
    with ours_are_errors():
        model = WarehouseModel("tiny", seed=1, steps=25, collect_every=10)
        final = model.run()
        series, robots = model.series(), model.robot_series()
    assert series["step"].tolist() == [10, 20, 25]
    assert len(robots) == 3 * model.sim.n_robots
    assert series.iloc[-1]["deliveries"] == final["deliveries"]


def test_a_one_step_one_robot_run_with_no_orders_is_warning_free(tmp_path: Path, capsys) -> None:
    """Every KPI ratio over nothing (no deliveries, no orders, one robot, one step) and the
    plots of an empty run: no division by zero, no NaN cast."""
    out = tmp_path / "run"
    argv = ["run", "tiny", "--steps", "1", "--robots", "1", "--seeds", "0,1", "--out", str(out)]
    _cli([*argv, "--policy", "rule_based,random", "--set", "tasks.arrival_rate=0"], capsys)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {r["policy"]: r["kpis"]["deliveries"]["per_seed"] for r in report["runs"]} == {
        "rule_based": [0, 0],
        "random": [0, 0],
    }
    assert (out / "congestion.png").stat().st_size and (out / "deliveries.png").stat().st_size


def test_run_record_replay_view_and_shadow_are_warning_free(tmp_path: Path, capsys) -> None:
    run, rec = tmp_path / "run", tmp_path / "rec.npz"
    argv = ["run", "tiny", "--steps", "30", "--seeds", "0", "--out", str(run)]
    _cli([*argv, "--policy", "hierarchical,rule_based", "--record", str(rec)], capsys)
    frames = ["--frames", "2", "--every", "10", "--select", "0", "--overlays", "hpgb"]
    _cli(["replay", str(rec), "--headless-frames", str(tmp_path / "r"), *frames], capsys)
    _cli(["view", "tiny", "--headless-frames", str(tmp_path / "v"), *frames], capsys)
    assert len(list((tmp_path / "r").glob("*.png"))) == len(list((tmp_path / "v").glob("*.png")))
    shadow = ["shadow", "tiny", "--candidate", "hierarchical", "--incumbent", "rule_based"]
    _cli([*shadow, "--steps", "20", "--out", str(tmp_path / "s")], capsys)
    assert (tmp_path / "s" / "divergence.png").is_file()


def test_a_one_seed_sweep_with_a_target_is_warning_free(tmp_path: Path, capsys) -> None:
    """One seed: no confidence interval to compute (n − 1 = 0 degrees of freedom)."""
    argv = ["sweep", "tiny", "--set", "fleet.robots=1,2", "--seeds", "0", "--steps", "10"]
    _cli([*argv, "--target", "deliveries>=100", "--out", str(tmp_path / "w")], capsys)
    assert (tmp_path / "w" / "target.json").is_file()


def test_collect_train_and_fine_tune_are_warning_free(tmp_path: Path, capsys) -> None:
    data, nav = tmp_path / "data", tmp_path / "nav"
    _cli(["collect", "tiny", "--episodes", "1", "--steps", "20", "--out", str(data)], capsys)
    short = ["--eval-every", "5", "--eval-steps", "10", "--no-progress"]
    train = ["train-navigator", "--data", str(data), "--steps", "5", *short]
    _cli([*train, "--algo", "cql", "--augment", "mirror", "--out", str(nav)], capsys)
    _cli(
        [*given_once(train, ["--steps", "10"]), "--algo", "cql", "--resume", "--out", str(nav)],
        capsys,
    )
    ppo = ["train-navigator", "--algo", "ppo", "--init", str(nav / "model.json"), "--steps", "1"]
    ft, disp = tmp_path / "ft", tmp_path / "disp"
    _cli([*ppo, "--rollout-steps", "8", "--scenarios", "tiny", "--out", str(ft)], capsys)
    dispatcher = ["train-dispatcher", "tiny", "--steps", "20", "--envs", "2", "--horizon", "10"]
    evaluation = ["--eval-every", "1", "--eval-seeds", "0", "--eval-steps", "10", "--no-progress"]
    _cli([*dispatcher, *evaluation, "--out", str(disp)], capsys)
    for model in (nav / "model.json", ft / "model.json", disp / "policy.json"):
        assert model.is_file()
