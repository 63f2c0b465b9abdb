"""README prose claims about behaviour (not its commands, not the KPI table) that no other test
checks: defaults stated in prose, keywords said to be refused, what the Mesa model leaves alone,
how long the kernel cache keeps a folder."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
import typer

from warehouse.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def _params(command: str, args: tuple[str, ...] = ()) -> dict[str, Any]:
    """``warehouse COMMAND ARGS``'s parameters as parsed, every other one at its default."""
    from warehouse.cli.main import _register_commands, app

    _register_commands()
    group = typer.main.get_command(app)
    sub = group.commands[command]  # type: ignore[attr-defined]
    return dict(sub.make_context(command, list(args)).params)


@pytest.mark.parametrize(
    ("command", "name", "default", "claim"),
    [
        ("run", "target", "small", "map file; default `small`)"),
        ("view", "size", "1280x800", "`--size` is the window's, default 1280x800"),
        ("view", "frames", 10, "`--frames` PNG frames (default 10)"),
        ("view", "every", 1, "`--every` steps apart (default 1)"),
        ("replay", "start", 0, "from frame `--start` (default 0)"),
        ("replay", "size", "1280x800", "the other options as in `view`"),
        ("replay", "frames", 10, "the other options as in `view`"),
        ("bench", "robots", "10,100,1000,5000", "warehouse bench [--robots 10,100,1000,5000]"),
        ("bench", "steps", 200, "[--steps 200]"),
        ("train-navigator", "scenarios", "tiny,small,one_way_aisles",
         "(default `tiny,small,one_way_aisles`"),
    ],
)  # fmt: skip
def test_the_defaults_the_readme_states_are_the_commands(
    command: str, name: str, default: Any, claim: str
) -> None:
    """README, command reference: each default said in prose is the option's default."""
    assert claim in " ".join(README.split()), claim  # the claim is still in the README
    # (what each needs given: replay's FILE, train-navigator's --algo, --steps, --out)
    args = {
        "replay": ("run.npz",),
        "train-navigator": ("--algo", "ppo", "--steps", "1", "--out", "r"),
    }.get(command, ())
    assert _params(command, args)[name] == default


#: README, "A part's settings": "one the run sets itself (`checkpoint`, `seed`, `lookahead`,
#: `anticipate`, `device`) ... is a one-line error"
_SETS_ITSELF = re.compile(r"one the run sets itself \(([^)]*)\)")


def test_the_keywords_the_run_sets_itself_are_the_ones_it_refuses() -> None:
    from warehouse.policies import _RESERVED_ARGS

    found = _SETS_ITSELF.search(" ".join(README.split()))
    assert found is not None
    named = set(re.findall(r"`(\w+)`", found.group(1)))
    assert named == set(_RESERVED_ARGS)


@pytest.mark.parametrize("key", ["checkpoint", "seed", "lookahead", "anticipate", "device"])
def test_a_keyword_the_run_sets_itself_is_refused_in_part_args(key: str) -> None:
    """``policies.dispatcher_args.hungarian.KEY`` is refused, naming the field, even where the
    factory takes the keyword (``lookahead``, ``anticipate``)."""
    from warehouse.runner import prepare

    with pytest.raises(InputError) as info:
        prepare(
            "tiny",
            policies=["hungarian+rule_based"],
            sets=[f"policies.dispatcher_args.hungarian.{key}=1"],
        )
    assert f"policies.dispatcher_args.hungarian.{key}" in str(info.value)
    assert "set by" in str(info.value)


def test_the_order_pool_default_is_four_for_every_pooled_dispatcher() -> None:
    """Settings table, ``policies.order_pool``: "Default: each dispatcher's own (4)"."""
    import json

    from hierarchy import make_dispatcher
    from warehouse.policies import POOLED_DISPATCHERS

    assert "Default: each dispatcher's own (4)" in README
    assert POOLED_DISPATCHERS == {"greedy", "hungarian", "ppo"}
    assert make_dispatcher("greedy").lookahead == 4
    assert make_dispatcher("hungarian").lookahead == 4
    # the PPO dispatcher's pool is its checkpoint's (the shipped one's)
    shipped = json.loads((ROOT / "hierarchy/weights/ppo_dispatcher.json").read_text("utf-8"))
    assert shipped["features"]["lookahead"] == 4


def test_kernel_cache_folders_unused_for_two_weeks_are_removed(tmp_path: Path) -> None:
    """Benchmarks: "Folders unused for two weeks are removed" (and younger ones are kept)."""
    from warehouse import jit_cache

    assert "Folders unused for two weeks are removed." in README
    keep, old, young = (tmp_path / (c * 16) for c in "abc")
    for folder, days in ((keep, 30.0), (old, 14.5), (young, 13.5)):
        folder.mkdir()
        stamp = time.time() - days * 86400
        os.utime(folder, (stamp, stamp))
    assert jit_cache.prune(tmp_path, keep) == [old]


def test_the_mesa_model_never_draws_from_mesas_generators() -> None:
    """Command reference: each Mesa step is one fleet step, robots and stations are Mesa agents,
    and Mesa's own generators are never used by the model."""
    from warehouse.model import RobotAgent, StationAgent, WarehouseModel

    model = WarehouseModel("tiny", seed=0, policy="rule_based", steps=40, robots=4)
    py_state, np_state = model.random.getstate(), model.rng.bit_generator.state
    t = model.sim.t
    model.step()
    assert model.sim.t == t + 1
    model.run()
    assert model.random.getstate() == py_state
    assert model.rng.bit_generator.state == np_state
    assert len(model.agents_by_type[RobotAgent]) == 4
    assert len(model.agents_by_type[StationAgent]) == model.sim.floor.stations.size
