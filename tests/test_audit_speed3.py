"""Audit (h7): the array API's hot path (``warehouse bench --api array``) runs no import
statement: a function-level ``from .kernels import ...`` resolves its relative name through
importlib's Python code at every call (``OrderBook.add_arrivals`` did, once per step)."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import warehouse
from agents import RuleBasedNavigator
from warehouse.bench import make_bench_env


def _importlib_calls(env: Any, steps: int) -> list[tuple[str, str]]:
    """The importlib functions (and their callers) entered while the rule-based navigator and
    the array API advance ``env`` by ``steps`` steps, after 20 warm-up steps."""
    nav = RuleBasedNavigator()
    nav.reset(0)
    sim = env.sim
    obs, mask = env.reset_arrays(0)
    for _ in range(20):
        actions, prefs = nav.act(sim, obs, mask)
        obs, mask, _ = env.step_arrays(actions, prefs)
    seen: list[tuple[str, str]] = []

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith("<frozen importlib"):
            caller = frame.f_back.f_code.co_qualname if frame.f_back is not None else "?"
            seen.append((frame.f_code.co_name, caller))

    sys.setprofile(hook)
    try:
        for _ in range(steps):
            actions, prefs = nav.act(sim, obs, mask)
            obs, mask, _ = env.step_arrays(actions, prefs)
    finally:
        sys.setprofile(None)
    return seen


def test_bench_steps_run_no_import_statement() -> None:
    env = make_bench_env(10)
    before = env.sim.orders.count
    assert _importlib_calls(env, 5) == []
    assert env.sim.orders.count > before  # orders arrived in the steps watched


def test_one_shot_steps_run_no_import_statement() -> None:
    env = warehouse.make_env(
        "tiny", robots=5, **{"tasks.mode": "goal_visit", "tasks.assignment": "one_shot"}
    )
    assert _importlib_calls(env, 5) == []
    assert env.sim.holding_goal() is not None  # (a one-shot run)
