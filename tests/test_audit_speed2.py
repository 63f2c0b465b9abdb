"""The rule-based navigators' plans pinned bit for bit (speed work on the compiled pass must
not change a single action or preference score).

The hashes were recorded at commit ``875606f`` (before any speed rewrite of
``agents/rule_based.py``): sha256 of every step's actions and preference scores over
``_STEPS`` steps from ``reset_arrays(0)``, the navigator reset with seed 0. They cover the
environment too, so a deliberate change of the simulation or of the navigator's rules
re-records them (run this file's ``_hash`` on the new code and check the change was meant).
"""

from __future__ import annotations

import hashlib

import pytest

import warehouse
from agents.registry import make_navigator
from warehouse.bench import make_bench_env

_NAMES = ("rule_based", "rule_based_push", "rule_based_unlock", "rule_based_push_unlock")
_STEPS = {"small": 300, "medium": 300, 10: 300, 100: 300, 1000: 150}
_RECORDED = {
    ("small", "rule_based"): "de9aae080dce4901",
    ("small", "rule_based_push"): "fc28f54b42e7f11c",
    ("small", "rule_based_unlock"): "649c43c929e91382",
    ("small", "rule_based_push_unlock"): "fc28f54b42e7f11c",
    ("medium", "rule_based"): "bb7f9329e4372c0d",
    ("medium", "rule_based_push"): "60ef1e377d3d7d5f",
    ("medium", "rule_based_unlock"): "9fc66c2ff57db175",
    ("medium", "rule_based_push_unlock"): "5618d8091c23c19a",
    (10, "rule_based"): "d283ab6c98eddb9a",
    (10, "rule_based_push"): "257878e0c59a5370",
    (10, "rule_based_unlock"): "0fcf2bd991f9a8b3",
    (10, "rule_based_push_unlock"): "1a3c08786f25eed9",
    (100, "rule_based"): "65aa78ac2c55fb5e",
    (100, "rule_based_push"): "ca24e987f9e992a2",
    (100, "rule_based_unlock"): "17a3f7a7dcd95d0f",
    (100, "rule_based_push_unlock"): "d523b07eddaf273b",
    (1000, "rule_based"): "1a90b3660204430a",
    (1000, "rule_based_push"): "1a8ae13baa38f5a7",
}


def _hash(floor: str | int, name: str) -> str:
    """sha256 (16 hex digits) of the navigator's actions and preferences, step by step."""
    env = warehouse.make_env(floor) if isinstance(floor, str) else make_bench_env(floor)
    nav = make_navigator(name)
    nav.reset(0)
    obs, mask = env.reset_arrays(0)
    h = hashlib.sha256()
    for _ in range(_STEPS[floor]):
        actions, prefs = nav.act(env.sim, obs, mask)
        h.update(actions.tobytes())
        h.update(prefs.tobytes())
        obs, mask, _ = env.step_arrays(actions, prefs)
    return h.hexdigest()[:16]


@pytest.mark.parametrize(("floor", "name"), list(_RECORDED), ids=str)
def test_rule_based_plans_are_the_recorded_ones(floor: str | int, name: str) -> None:
    assert _hash(floor, name) == _RECORDED[floor, name]
