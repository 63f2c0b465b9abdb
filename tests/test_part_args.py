"""``policies.navigator_args`` / ``policies.dispatcher_args``: keyword arguments of the parts,
by name, from a scenario file, ``--set`` or a sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import fails_cleanly, run_cli

from agents import NAVIGATORS, RuleBasedNavigator
from warehouse.model import WarehouseModel

ARGS = "policies.navigator_args"


def _model(**overrides):  # type: ignore[no-untyped-def]
    return WarehouseModel("small", seed=0, policy="rule_based", steps=300, robots=60, **overrides)


def test_the_rule_based_navigator_gets_its_patience_and_drives_differently() -> None:
    default, impatient = _model(), _model(**{ARGS: {"rule_based": {"patience": 1}}})
    assert default.fleet.navigator.patience == 8 and impatient.fleet.navigator.patience == 1
    assert default.run() != impatient.run()  # the escape rule fires sooner
    # the default patience given explicitly is the default fleet, step for step
    same = _model(**{f"{ARGS}.rule_based.patience": 8})
    assert same.run() == _model().run()


def test_a_script_registered_navigator_gets_its_named_keyword(monkeypatch) -> None:
    seen: list[float] = []

    def factory(*, boldness: float = 0.0, **_: object) -> RuleBasedNavigator:
        seen.append(boldness)
        return RuleBasedNavigator()

    monkeypatch.setitem(NAVIGATORS, "bold", factory)
    WarehouseModel("tiny", seed=0, policy="bold", steps=5, **{ARGS: {"bold": {"boldness": 0.5}}})
    assert seen == [0.5]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        # every one names the --set it came from, not the built-in scenario file
        ("rule_based.nope=2", f"--set {ARGS}.rule_based.nope: the navigator 'rule_based' has no"),
        ("rule_based.patience=0", f"--set {ARGS}.rule_based.patience: expected a whole number"),
        ("rule_based.patience=.nan", f"--set {ARGS}.rule_based.patience: expected a finite"),
        ("rule_based.checkpoint=x", f"--set {ARGS}.rule_based.checkpoint: set by policies.navig"),
        ("cql.temperature=2", f"--set {ARGS}.cql.temperature: no policy of this run has the navi"),
        ("rule_based=3", f"--set {ARGS}.rule_based: expected a mapping"),
    ],
)
def test_bad_part_args_are_one_line(setting, expected, tmp_path: Path, capsys) -> None:
    argv = ["run", "tiny", "--policy", "rule_based", "--steps", "5", "--out", str(tmp_path / "o")]
    fails_cleanly([*argv, "--set", f"{ARGS}.{setting}"], tmp_path, capsys, expected)


def test_dispatcher_args_and_a_sweep_over_navigator_args(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    code, text, err = run_cli(
        ["sweep", "tiny", "--set", f"{ARGS}.rule_based.patience=1,8", "--seeds", "0..1",
         "--steps", "60", "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "patience" in text and (out / "sweep.csv").is_file()
    expected = "--set policies.dispatcher_args.fifo.x: no policy of this run has the dispatcher"
    fails_cleanly(
        ["run", "tiny", "--set", "policies.dispatcher_args.fifo.x=1", "--out", str(tmp_path / "d")],
        tmp_path, capsys, expected,
    )  # fmt: skip
    fails_cleanly(
        ["run", "tiny", "--policy", "random", "--set", "policies.dispatcher_args.random.seed=1",
         "--out", str(tmp_path / "r")],
        tmp_path, capsys, "--set policies.dispatcher_args.random.seed: set by the run's seeds",
    )  # fmt: skip


def test_dispatcher_args_reach_the_built_in_dispatchers() -> None:
    args = {"hungarian": {"with_delivery": True, "age_weight": 0.5}}
    model = WarehouseModel(
        "tiny", seed=0, policy="rule_based", dispatcher="hungarian", steps=5,
        **{"policies.dispatcher_args": args},
    )  # fmt: skip
    dispatcher = model.fleet.dispatcher
    assert dispatcher.with_delivery is True and dispatcher.age_weight == 0.5
