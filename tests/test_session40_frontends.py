"""Session 40, front-ends: ``warehouse compare``'s settings diff, and the Python API's warning
for a navigator that needs a PIBT shield (``guided``) running without one."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cli_helpers import TINY, run_cli

from warehouse.compare import compare_reports
from warehouse.model import WarehouseModel
from warehouse.policies import PibtWarning

SHORT = ["--steps", "3", "--seeds", "0"]


def _run(out: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> Path:
    """``warehouse run TINY ARGV`` (3 steps, seed 0) into ``out``; must exit 0."""
    code, stdout, err = run_cli(["run", str(TINY), *SHORT, *argv, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    return out


# ---------------------------------------------------------------- compare: settings diff


def test_compare_of_two_guided_runs_lists_only_the_weight_they_differ_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both ran ``guided``: the diff named ``policies.navigator null → rule_based`` (and the
    dispatch settings the first scenario.yaml leaves out at their default, as ``null``)."""
    a = _run(tmp_path / "a", capsys, "--policy", "guided", "--collisions", "pibt")
    b = _run(
        tmp_path / "b", capsys, "--policy", "guided", "--collisions", "pibt",
        "--set", "policies.navigator_args.guided.vertex_weight=0.5",
    )  # fmt: skip
    assert compare_reports(a, b)["differ"] == {
        "policies.navigator_args.guided.vertex_weight": [None, 0.5]
    }
    code, out, err = run_cli(["compare", str(a), str(b)], capsys)
    assert code == 0, err
    assert "policies.navigator " not in out and "rule_based" not in out, out


def test_compare_takes_a_left_out_dispatch_setting_at_its_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run of the command's policies leaves ``policies`` out of its scenario.yaml but for
    the parts' settings off their default: the other run's ``task_swaps: true`` is compared
    with ``false``, not ``null``."""
    a = _run(tmp_path / "a", capsys, "--policy", "rule_based_push")
    swaps = ["--set", "policies.task_swaps=true"]
    b = _run(tmp_path / "b", capsys, "--policy", "rule_based_push", *swaps)
    assert compare_reports(a, b)["differ"] == {"policies.task_swaps": [False, True]}


def test_compare_reads_the_parts_each_run_ran_from_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``guided`` chosen in the scenario (``--set``) and with ``--policy``: the same parts, no
    setting differs (``policies.navigator guided → null`` was listed); parts that do differ
    are listed once, from the reports, as ``POLICY.PART``."""
    a = _run(tmp_path / "a", capsys, "--set", "policies.navigator=guided", "--collisions", "pibt")
    b = _run(tmp_path / "b", capsys, "--policy", "guided", "--collisions", "pibt")
    assert compare_reports(a, b)["differ"] == {}
    c = _run(tmp_path / "c", capsys, "--policy", "rule_based_push", "--dispatcher", "fifo")
    assert compare_reports(b, c)["differ"] == {
        "rule_based_push:fifo+rule_based_push vs guided/pibt.dispatcher": ["greedy", "fifo"],
        "rule_based_push:fifo+rule_based_push vs guided/pibt.navigator": [
            "guided",
            "rule_based_push",
        ],
        "rule_based_push:fifo+rule_based_push vs guided/pibt.collisions": ["pibt", "block"],
    }


def test_compare_of_two_lacam_runs_lists_only_the_refinement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_shot = ["--tasks", "goal_visit", "--set", "tasks.assignment=one_shot", "--policy", "lacam"]
    a = _run(tmp_path / "a", capsys, *one_shot)
    refine = ["--set", "policies.navigator_args.lacam.refine=true"]
    b = _run(tmp_path / "b", capsys, *one_shot, *refine)
    assert compare_reports(a, b)["differ"] == {"policies.navigator_args.lacam.refine": [None, True]}


def test_a_nested_part_setting_does_not_name_a_policy() -> None:
    """``--set policies.navigator_args.NAV.KEY=V`` is a part setting, as the whole
    ``policies.navigator_args`` is: the command's default policies still run (it made the
    scenario's ``rule_based`` run alone, and wrote its ``policies`` into scenario.yaml)."""
    from warehouse.runner import prepare

    nested = prepare(TINY, steps=3, sets=["policies.navigator_args.rule_based.patience=4"])
    whole = prepare(TINY, steps=3, sets=["policies.navigator_args={rule_based: {patience: 4}}"])
    assert nested.names_policy is whole.names_policy is False
    assert prepare(TINY, steps=3, sets=["policies.navigator=guided"]).names_policy is True


# ---------------------------------------------------------------- Python API: PIBT warning


@pytest.mark.parametrize("collisions", ["block", "physical"])
def test_the_model_warns_when_guided_runs_without_a_pibt_shield(collisions: str) -> None:
    with pytest.warns(PibtWarning, match=rf"collisions={collisions}.*collisions='pibt'") as got:
        WarehouseModel(TINY, policy="guided", collisions=collisions, steps=3, per_robot=False)
    assert len(got) == 1 and issubclass(got[0].category, UserWarning)
    assert got[0].filename == __file__  # (attributed to the caller)


@pytest.mark.parametrize(
    "kwargs", [{"policy": "guided", "collisions": "pibt"}, {"policy": "rule_based"}, {}]
)
def test_the_model_is_silent_for_a_shielded_guided_and_other_policies(
    kwargs: dict[str, str],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        WarehouseModel(TINY, steps=3, per_robot=False, **kwargs)


def test_the_cli_gives_the_pibt_note_once_in_its_own_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse run`` (in this process and in workers), ``sweep`` and ``bench`` print their
    one line; the models they build raise no Python warning besides (the suite makes one of
    ours an error, so a second message would fail these runs)."""
    runs = [
        ["run", str(TINY), "--policy", "guided", *SHORT, "--out", str(tmp_path / "r")],
        ["run", str(TINY), "--policy", "guided", "--steps", "3", "--seeds", "0,1",
         "--jobs", "2", "--out", str(tmp_path / "j")],
        ["sweep", str(TINY), "--policy", "guided", *SHORT, "--set", "fleet.robots=4,6",
         "--out", str(tmp_path / "s")],
        ["bench", "--scenario", str(TINY), "--policy", "guided", "--steps", "3"],
    ]  # fmt: skip
    for argv in runs:
        code, out, err = run_cli(argv, capsys)
        assert code == 0, (argv, out, err)
        lines = [line for line in err.splitlines() if "PIBT shield" in line]
        assert len(lines) == 1 and lines[0].startswith("warning: guided: "), (argv, err)
        assert "Warning" not in err and "warnings.warn" not in err, (argv, err)
