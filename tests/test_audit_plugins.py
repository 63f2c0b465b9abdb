"""Audit of the extension points: what a script's or a package's dispatcher, navigator or
shield may hand back, and the one-line errors that name it when it breaks the contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import fails_cleanly

from hierarchy import DISPATCHERS
from warehouse.shield import SHIELDS


class _Answer:
    """A shield that returns whatever :attr:`answer` makes of the legal actions."""

    name = "answer"
    needs_mask = False
    answer: Callable[[np.ndarray], Any] = staticmethod(lambda actions: actions)

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        return type(self).answer(actions)


class _Assigns:
    """A dispatcher that gives out orders as :attr:`ids` makes the robot ids."""

    name = "assigns"
    ids: Callable[[np.ndarray], Any] = staticmethod(lambda robots: robots)

    def __init__(self, **kwargs: Any) -> None:
        pass

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Any) -> None:
        robots, orders = sim.idle_robots(), sim.dispatchable_orders()
        n = min(robots.size, orders.size)
        if n:
            sim.assign(type(self).ids(robots[:n]), orders[:n])


@pytest.fixture
def registered() -> Iterator[None]:
    """``answer`` as a collision mode and ``assigns`` as a dispatcher, for one test."""
    SHIELDS["answer"], DISPATCHERS["assigns"] = _Answer, _Assigns
    try:
        yield
    finally:
        SHIELDS.pop("answer", None)
        DISPATCHERS.pop("assigns", None)


def _run(tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "tiny", "--seeds", "0", "--steps", "60", "--out", str(tmp_path / "r"), *extra]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda a: None, "shield 'answer': returned None, expected an integer array of shape (6,)"),
        (lambda a: np.full(a.shape, "1"), "shield 'answer': returned actions of dtype <U1"),
        # 2.7 must not silently become the action 2 (the navigator's floats are refused too)
        (lambda a: a + 0.7, "shield 'answer': returned actions of dtype float64"),
        (lambda a: a > 0, "shield 'answer': returned actions of dtype bool"),
    ],
)
def test_a_shield_answer_a_step_cannot_take_is_one_line_naming_it(
    registered, answer, message, tmp_path: Path, capsys
) -> None:
    _Answer.answer = staticmethod(answer)
    try:
        argv = _run(tmp_path, "--policy", "rule_based", "--collisions", "answer")
        fails_cleanly(argv, tmp_path, capsys, message)
    finally:
        _Answer.answer = staticmethod(lambda actions: actions)


def test_a_shield_may_answer_with_a_list_of_ints(registered, tmp_path: Path, capsys) -> None:
    """A list of Python ints is an integer array: the check refuses only what is wrong."""
    from cli_helpers import run_cli

    _Answer.answer = staticmethod(lambda a: [int(x) for x in a])
    try:
        argv = _run(tmp_path, "--policy", "rule_based", "--collisions", "answer")
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
    finally:
        _Answer.answer = staticmethod(lambda actions: actions)


def test_assign_refuses_robot_ids_that_are_not_integers() -> None:
    """``assign([1.9], ...)`` gave the order to robot 1, silently."""
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation

    sc, _ = load_scenario("tiny")
    sim = Simulation(build_floor(sc), sc.sim_config())
    sim.reset(seed=0)
    while sim.dispatchable_orders().size == 0:
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))
    order = sim.dispatchable_orders()[:1]
    with pytest.raises(ValueError, match="assign: robot ids must be integers, got dtype float64"):
        sim.assign(np.array([1.9]), order)
    with pytest.raises(ValueError, match="assign: order ids must be integers, got dtype float64"):
        sim.assign(np.array([1]), order.astype(np.float64))
    assert (sim.state.order == -1).all()  # nothing was assigned


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (lambda r: r.astype(np.float64), "assign: robot ids must be integers"),
        (lambda r: np.zeros_like(r), "assign: "),  # one robot, several orders
    ],
)
def test_a_dispatcher_s_bad_assignment_is_one_line_naming_it(
    registered, ids, message, tmp_path: Path, capsys
) -> None:
    _Assigns.ids = staticmethod(ids)
    try:
        argv = _run(tmp_path, "--policy", "assigns+rule_based")
        fails_cleanly(argv, tmp_path, capsys, f"dispatcher 'assigns': {message}")
    finally:
        _Assigns.ids = staticmethod(lambda robots: robots)
