"""Composing policies from parts and installing parts from other packages: names, part arguments,
and the one-line errors of parts that cannot run."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli
from entry_point_helpers import installed_parts

import warehouse.plugins as plugins
from agents import NAVIGATORS, RuleBasedNavigator
from scenarios import load_scenario
from warehouse.errors import InputError
from warehouse.model import WarehouseModel
from warehouse.policies import resolve_policy, scenario_policy

NAV = plugins.NAVIGATOR_GROUP
DISP = plugins.DISPATCHER_GROUP


class Exploding:
    """A navigator whose constructor fails (a missing resource, a bug)."""

    name, needs_observation = "exploding", False

    def __init__(self, **kwargs: Any) -> None:
        raise RuntimeError("no licence file")


class Actionless:
    """A navigator without ``act``."""

    name, needs_observation = "actionless", False

    def reset(self, seed: int | None) -> None:
        pass


class Idle:
    """A dispatcher without ``dispatch``."""

    name = "idle"

    def reset(self, seed: int | None) -> None:
        pass


class Short:
    """A navigator that answers for three robots only."""

    name, needs_observation = "short", False

    def reset(self, seed: int | None) -> None:
        pass

    def act(self, sim: Any, obs: Any, mask: np.ndarray) -> tuple[np.ndarray, None]:
        return np.zeros(3, dtype=np.int64), None


class Weighted(RuleBasedNavigator):
    """A navigator that reads its settings from a checkpoint of its own."""

    name = "weighted"

    def __init__(self, *, checkpoint: str | None = None) -> None:
        super().__init__()
        self.checkpoint = checkpoint


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[str, str]]]]:
    """No installed parts until a test adds some (tests/entry_point_helpers.py)."""
    yield from installed_parts(monkeypatch, {NAV: [], DISP: []})


def _run(tmp_path: Path, *args: str) -> list[str]:
    return ["run", "tiny", "--seeds", "0", "--steps", "5", "--out", str(tmp_path / "o"), *args]


def test_a_navigator_named_like_a_preset_is_not_labelled_as_the_preset(tmp_path, capsys) -> None:
    """``greedy+random`` (greedy dispatcher, random moves) is not the preset ``random`` (random
    dispatcher too): it used to get its label, and a run of both was refused as a repeat."""
    sc, _ = load_scenario("tiny")
    assert resolve_policy("greedy+random", sc).name == "greedy+random"
    assert resolve_policy("random", sc).name == "random"
    file_policy = sc.model_copy(
        update={"policies": sc.policies.model_copy(update={"navigator": "random"})}
    )
    assert scenario_policy(file_policy).name == "greedy+random"
    code, _, err = run_cli(_run(tmp_path, "--policy", "random,greedy+random"), capsys)
    assert code == 0, err


def test_the_presets_parts_under_another_shield_are_not_the_preset() -> None:
    """``hierarchical`` is PPO + cql_tuned + PIBT: ``ppo+cql_tuned`` on a floor without PIBT
    runs something else and was labelled ``hierarchical`` (and refused next to it)."""
    sc, _ = load_scenario("tiny")  # physics.collisions: block
    assert resolve_policy("ppo+cql_tuned", sc).name == "ppo+cql_tuned"
    pibt = sc.model_copy(update={"physics": sc.physics.model_copy(update={"collisions": "pibt"})})
    assert resolve_policy("ppo+cql_tuned", pibt).name == "hierarchical"  # what it runs there
    shielded = sc.model_copy(
        update={"policies": sc.policies.model_copy(
            update={"dispatcher": "ppo", "navigator": "cql_tuned", "shield": "pibt"})}
    )  # fmt: skip
    assert scenario_policy(shielded).name == "hierarchical"


def test_the_python_api_names_a_policy_after_the_parts_it_runs() -> None:
    model = WarehouseModel("tiny", policy="rule_based", dispatcher="fifo", steps=5)
    assert model.policy.name == "rule_based:fifo+rule_based"  # as `warehouse run` labels it
    assert WarehouseModel("tiny", dispatcher="greedy", steps=5).policy.name == "rule_based"


@pytest.mark.parametrize(
    ("point", "message"),
    [
        # `--policy hierarchical` would always mean the preset: the navigator is unreachable
        (("hierarchical", "plugin_example:Dawdler"), "already taken (a built-in policy)"),
        # `--policy fast,safe` would be two policies
        (("fast,safe", "plugin_example:Dawdler"), "letters, digits, '_', '.' and '-' only"),
    ],
)
def test_a_navigator_name_no_policy_could_reach_is_refused(
    installed, point, message, capsys
) -> None:
    installed[NAV].append(point)
    code, out, err = run_cli(["list"], capsys)
    assert code == 2 and out == "" and "Traceback" not in err, err
    assert err.strip().splitlines() == [err.strip()]
    assert f"entry point {NAV}:{point[0]}" in err and message in err


@pytest.mark.parametrize(
    ("group", "point", "policy", "message"),
    [
        (NAV, ("exploding", "test_audit_parts:Exploding"), "exploding",
         f"entry point {NAV}:exploding: the navigator 'exploding' failed to build: "
         "RuntimeError: no licence file"),
        (NAV, ("actionless", "test_audit_parts:Actionless"), "actionless",
         f"entry point {NAV}:actionless: the navigator 'actionless' built a Actionless without "
         "act(sim, obs, mask)"),
        (DISP, ("idle", "test_audit_parts:Idle"), "idle+rule_based",
         f"entry point {DISP}:idle: the dispatcher 'idle' built a Idle without dispatch(sim)"),
        (NAV, ("short", "test_audit_parts:Short"), "short",
         "navigator 'short': returned actions of shape (3,), expected (6,)"),
    ],
)  # fmt: skip
def test_an_installed_part_that_cannot_run_is_one_line_and_exit_2(
    installed, group, point, policy, message, tmp_path: Path, capsys
) -> None:
    installed[group].append(point)
    fails_cleanly(_run(tmp_path, "--policy", policy), tmp_path, capsys, message)


class ShortShield:
    """A shield that answers for one robot fewer than the fleet."""

    name, needs_mask = "short_shield", False

    def __call__(self, sim: Any, actions: np.ndarray, preferences: Any, mask: Any) -> np.ndarray:
        return actions[:-1]


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (("exploding", "test_audit_parts:Exploding"),
         f"entry point {plugins.SHIELD_GROUP}:exploding: the shield 'exploding' failed to build: "
         "RuntimeError: no licence file"),
        (("short_shield", "test_audit_parts:ShortShield"),
         "shield 'short_shield': returned actions of shape (5,), expected (6,)"),
    ],
)  # fmt: skip
def test_an_installed_shield_that_cannot_run_is_one_line_and_exit_2(
    installed, point, message, tmp_path: Path, capsys
) -> None:
    installed[plugins.SHIELD_GROUP] = [point]
    argv = _run(tmp_path, "--policy", "rule_based", "--collisions", point[0])
    fails_cleanly(argv, tmp_path, capsys, message)


def test_a_wrong_decision_is_an_input_error_and_a_value_error(monkeypatch) -> None:
    """From a script: actions of another type than integers, or not a pair, are refused naming
    the navigator (not a ``TypeError`` of the simulation), and survive a process pool."""

    class Floats(RuleBasedNavigator):
        name = "floats"

        def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
            actions, prefs = super().act(sim, obs, mask)
            return actions.astype(np.float64), prefs

    class Single(RuleBasedNavigator):
        name = "single"

        def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
            return super().act(sim, obs, mask)[0]

    for cls, message in ((Floats, "dtype float64, expected integers"), (Single, "a pair")):
        monkeypatch.setitem(NAVIGATORS, cls.name, cls)
        with pytest.raises(InputError, match=message) as caught:
            WarehouseModel("tiny", policy=cls.name, steps=3).run()
        assert isinstance(caught.value, ValueError)
        again = pickle.loads(pickle.dumps(caught.value))
        assert type(again) is type(caught.value) and str(again) == str(caught.value)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("dispatcher_args.hungarian.with_delivery=3",
         "takes with_delivery as bool, got 3"),  # was silently true
        ("dispatcher_args.hungarian.age_weight=abc",
         "takes age_weight as float, got 'abc'"),  # was a traceback in the first step
        ("dispatcher_args.ppo.deterministic=maybe",
         "takes deterministic as bool, got 'maybe'"),  # was silently deterministic
    ],
)  # fmt: skip
def test_a_part_argument_of_the_wrong_type_is_one_line(
    setting, expected, tmp_path: Path, capsys
) -> None:
    dispatcher = setting.split(".")[1]
    field = f"policies.{setting.partition('=')[0]}"
    fails_cleanly(
        _run(tmp_path, "--policy", f"{dispatcher}+rule_based", "--set", f"policies.{setting}"),
        tmp_path,
        capsys,
        f"--set {field}: the dispatcher {dispatcher!r} {expected}",
    )


def test_an_installed_navigators_argument_is_checked_against_its_signature(
    installed, tmp_path: Path, capsys
) -> None:
    installed[NAV].append(("dawdler", "plugin_example:Dawdler"))  # p: float = 0.2
    fails_cleanly(
        _run(tmp_path, "--policy", "dawdler", "--set", "policies.navigator_args.dawdler.p=abc"),
        tmp_path,
        capsys,
        "--set policies.navigator_args.dawdler.p: the navigator 'dawdler' takes p as float, "
        "got 'abc'",
    )
    # a whole number where a float is asked is fine, and reaches the part
    model = WarehouseModel(
        "tiny", policy="dawdler", steps=5, **{"policies.navigator_args": {"dawdler": {"p": 1}}}
    )
    assert model.fleet.navigator.p == 1


def test_an_unannotated_keyword_takes_the_type_of_its_default(monkeypatch) -> None:
    seen: list[Any] = []

    def factory(*, boldness=0.5, careful=False, **_):  # type: ignore[no-untyped-def]
        seen.append((boldness, careful))
        return RuleBasedNavigator()

    monkeypatch.setitem(NAVIGATORS, "bold", factory)
    args = "policies.navigator_args"
    WarehouseModel("tiny", policy="bold", steps=3, **{args: {"bold": {"boldness": 2}}})
    assert seen == [(2, False)]
    for key, value in (("boldness", "high"), ("careful", 1)):
        with pytest.raises(InputError, match=f"{args}.bold.{key}: the navigator 'bold' takes"):
            WarehouseModel("tiny", policy="bold", steps=3, **{args: {"bold": {key: value}}})


def test_an_installed_part_with_a_checkpoint_keyword_gets_the_scenarios_checkpoint(
    installed, tmp_path: Path
) -> None:
    """``policies.navigator_args.NAME.checkpoint`` is refused as set by
    ``policies.navigator_checkpoint``, which used to refuse every part but the built-in
    networks: such a part could get its checkpoint neither way."""
    installed[NAV].append(("weighted", "test_audit_parts:Weighted"))
    weights = tmp_path / "w.json"
    weights.write_text("{}", "utf-8")
    setting = {"policies.navigator_checkpoint": str(weights)}
    model = WarehouseModel("tiny", policy="weighted", steps=3, **setting)
    assert Path(model.fleet.navigator.checkpoint) == weights
    with pytest.raises(InputError, match="no navigator of this run loads a checkpoint"):
        WarehouseModel("tiny", policy="rule_based", steps=3, **setting)
