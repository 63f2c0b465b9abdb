"""Session 41: every command that runs one policy honours a scenario's ``policies.run``.

A run folder's ``scenario.yaml`` lists the policies the run's flags chose (``policies.run``).
``warehouse sweep``, ``warehouse view``, ``warehouse shadow`` (its incumbent) and
``WarehouseModel`` run the list's one policy, as ``warehouse run`` resolves it (its parts and
its collision mode); a list of several is a one-line error naming the file's ``policies.run``
and the option (or keyword) that picks one; ``--policy`` (``policy=``) wins over the list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_helpers import TINY, fails_cleanly, run_cli

from warehouse.errors import InputError
from warehouse.model import WarehouseModel

#: enough steps for the policies to deliver (so equal KPIs say something)
STEPS = 60


def _run(out: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> Path:
    """``warehouse run tiny FLAGS`` (3 steps, seed 0) into ``out``: its scenario.yaml."""
    argv = ["run", str(TINY), "--steps", "3", "--seeds", "0", *flags, "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, (stdout, err)
    return out / "scenario.yaml"


@pytest.fixture
def guided_pibt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The scenario.yaml of ``warehouse run tiny --policy guided --collisions pibt``: its only
    policy setting is ``policies.run: [guided/pibt]``."""
    path = _run(tmp_path / "guided", capsys, "--policy", "guided", "--collisions", "pibt")
    assert "run: [guided/pibt]" in path.read_text(encoding="utf-8")
    return path


@pytest.fixture
def two_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A scenario.yaml listing two policies (``rule_based, random``)."""
    return _run(tmp_path / "two", capsys, "--policy", "rule_based,random")


def _sweep(
    capsys: pytest.CaptureFixture[str], target: Path | str, out: Path, *flags: str
) -> tuple[pd.DataFrame, str]:
    """``warehouse sweep TARGET --set fleet.robots=4,6`` over seeds 0,1: sweep.csv and stdout."""
    argv = ["sweep", str(target), "--set", "fleet.robots=4,6", "--steps", str(STEPS)]
    code, stdout, err = run_cli([*argv, "--seeds", "0,1", *flags, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    return pd.read_csv(out / "sweep.csv"), stdout


# ------------------------------------------------------------------ the list's one policy runs


def test_a_sweep_of_a_run_folder_runs_its_listed_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], guided_pibt: Path
) -> None:
    """The sweep of the file equals the sweep given the policy and its mode explicitly: rows,
    and the policy and collision mode that sweep.csv and the title name."""
    listed, title = _sweep(capsys, guided_pibt, tmp_path / "listed")
    named, _ = _sweep(capsys, TINY, tmp_path / "named", "--policy", "guided/pibt")
    pd.testing.assert_frame_equal(listed, named)
    assert set(listed["policy"]) == {"guided/pibt"} and set(listed["collision_mode"]) == {"pibt"}
    assert "policy guided/pibt, collisions pibt" in " ".join(title.split())
    assert listed["deliveries"].sum() > 0
    # the same runs as the policy and mode given the way sweep took them before the list
    by_parts, _ = _sweep(
        capsys, TINY, tmp_path / "parts", "--policy", "guided", "--set", "physics.collisions=pibt"
    )
    kpis = [c for c in listed.columns if c != "policy"]
    pd.testing.assert_frame_equal(listed[kpis], by_parts[kpis])


def test_the_model_runs_the_listed_policy(guided_pibt: Path) -> None:
    listed = WarehouseModel(guided_pibt, seed=1, steps=STEPS, per_robot=False)
    assert listed.policy.name == "guided/pibt"
    assert listed.sim.config.physics.collisions == "pibt"
    named = WarehouseModel(
        TINY, seed=1, steps=STEPS, per_robot=False, policy="guided", collisions="pibt"
    )
    kpis = listed.run()
    assert kpis == named.run() and kpis["deliveries"] > 0
    by_name = WarehouseModel(TINY, seed=1, steps=STEPS, per_robot=False, policy="guided/pibt")
    assert by_name.policy == listed.policy and by_name.run() == kpis


def test_the_viewer_runs_the_listed_policy(tmp_path: Path, guided_pibt: Path) -> None:
    """The headless viewer (what ``warehouse view --headless-frames`` renders) of the file steps
    the same fleet as the viewer given the policy."""
    pytest.importorskip("pygame")
    from visualize.viewer import live_viewer

    viewers = [
        live_viewer(str(guided_pibt), seed=0, steps=30, headless=True, out_dir=tmp_path),
        live_viewer(
            str(TINY), policy="guided/pibt", seed=0, steps=30, headless=True, out_dir=tmp_path
        ),
    ]
    for viewer in viewers:
        while viewer.source.advance():
            pass
    listed, named = (viewer.source for viewer in viewers)
    assert listed.label == "tiny | guided/pibt" == named.label
    assert listed.fleet.sim.config.physics.collisions == "pibt"
    assert listed.t == 30 and (listed.fleet.sim.state.pos == named.fleet.sim.state.pos).all()
    assert type(listed.fleet.navigator) is type(named.fleet.navigator)


def test_shadow_drives_the_floor_with_the_listed_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], guided_pibt: Path
) -> None:
    """Without --incumbent, the file's one listed policy drives the floor under its own mode:
    the same shadow as --incumbent guided with --collisions pibt."""
    shadow = ["shadow", "--candidate", "rule_based", "--steps", "30"]
    runs = {}
    for name, target, flags in (
        ("listed", guided_pibt, []),
        ("named", TINY, ["--incumbent", "guided", "--collisions", "pibt"]),
    ):
        out = tmp_path / name
        code, stdout, err = run_cli([*shadow, str(target), *flags, "--out", str(out)], capsys)
        assert code == 0, (stdout, err)
        runs[name] = json.loads((out / "shadow.json").read_text(encoding="utf-8"))
    listed, named = runs["listed"], runs["named"]
    assert listed["incumbent"]["policy"] == "guided/pibt" and listed["collisions"] == "pibt"
    assert listed["incumbent"]["navigator"] == "guided" == named["incumbent"]["navigator"]
    assert listed["navigation"] == named["navigation"] and listed["dispatch"] == named["dispatch"]
    divergences = [(tmp_path / n / "divergences.csv").read_bytes() for n in ("listed", "named")]
    assert divergences[0] == divergences[1]


# ------------------------------------------------------------------ several: pick one


def _one_line(text: str) -> str:
    (line,) = text.strip().splitlines()
    return line


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        (["sweep", "--set", "fleet.robots=4,6"], "--policy"),
        (["view", "--headless-frames", "FRAMES"], "--policy"),
        (["shadow"], "--incumbent"),
    ],
)
def test_a_list_of_several_is_refused_by_a_command_of_one_policy(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    two_listed: Path,
    command: list[str],
    flag: str,
) -> None:
    if command[0] == "view":
        pytest.importorskip("pygame")
    argv = [command[0], str(two_listed), *command[1:]]
    argv = [str(tmp_path / "frames") if a == "FRAMES" else a for a in argv]
    if command[0] != "view":
        argv += ["--out", str(tmp_path / "out")]
    line = fails_cleanly(argv, tmp_path, capsys, f"{two_listed}: policies.run: lists 2")
    assert "(rule_based, random)" in line and f"pick it with {flag}" in line


def test_the_model_refuses_a_list_of_several(two_listed: Path) -> None:
    with pytest.raises(InputError, match=r"policies\.run: lists 2 policies") as err:
        WarehouseModel(two_listed)
    assert err.value.source == str(two_listed) and "policy='rule_based'" in str(err.value)


# ------------------------------------------------------------------ --policy wins


def test_policy_wins_over_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], guided_pibt: Path, two_listed: Path
) -> None:
    """``--policy`` (``policy=``, ``--incumbent``) picks the policy instead of the list, named
    as ``warehouse run --policy`` takes it (``rule_based/pibt``: under pibt)."""
    table, _ = _sweep(capsys, guided_pibt, tmp_path / "sweep", "--policy", "rule_based/pibt")
    assert set(table["policy"]) == {"rule_based/pibt"}
    assert set(table["collision_mode"]) == {"pibt"}
    model = WarehouseModel(two_listed, policy="random/pibt")
    assert model.policy.name == "random/pibt" and model.sim.config.physics.collisions == "pibt"
    assert WarehouseModel(two_listed, policy="random").policy.name == "random"
    argv = ["shadow", str(two_listed), "--incumbent", "random", "--candidate", "rule_based"]
    code, stdout, err = run_cli([*argv, "--steps", "5", "--out", str(tmp_path / "sh")], capsys)
    assert code == 0, (stdout, err)
    shadow: dict[str, Any] = json.loads((tmp_path / "sh" / "shadow.json").read_text())
    assert shadow["incumbent"]["policy"] == "random"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sweep", "FILE", "--set", "navigator=guided,rule_based"], "--set policies.navigator: "),
        (
            ["sweep", "FILE", "--policy", "random", "--set", "policies.run=[a],[b]"],
            "--set policies.run: ",
        ),
        (["shadow", "FILE", "--set", "policies.run=[random]"], "--set policies.run: "),
    ],
)
def test_a_setting_the_list_or_flag_would_ignore_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    guided_pibt: Path,
    argv: list[str],
    expected: str,
) -> None:
    argv = [str(guided_pibt) if a == "FILE" else a for a in argv]
    fails_cleanly([*argv, "--out", str(tmp_path / "out")], tmp_path, capsys, expected)


def test_the_model_refuses_a_navigator_the_list_would_ignore(guided_pibt: Path) -> None:
    with pytest.raises(InputError, match=r"policies\.run \(guided/pibt\) picks the policies"):
        WarehouseModel(guided_pibt, **{"policies.navigator": "rule_based"})
