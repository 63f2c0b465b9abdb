"""The stall rescue that follows the guide (session 41): a navigator's stall hint to the PIBT
shields (:meth:`warehouse.shield.pibt.PIBTShield.stall_hint`) and the ``guided`` navigator's
``guide_rescue`` (on by default). A robot on a guide detour is not pulled off its guide; the
backstop still rescues a robot stalled by the plain distance for ``BACKSTOP × stall_steps``
steps; a hint for another step or episode, and every run without one, leave the rescue as it
was; runs with the setting repeat bit for bit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from test_guided import cells, hand_sim, plan, room_fleet, send
from test_pibt import fake_sim

from agents.guided import GuidedNavigator, guided_navigator
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.shield.pibt import PIBTShield

A, B = NodeKind.AISLE, NodeKind.BLOCKED
WAIT, N, E, S, W = range(5)

#: two one-lane aisles (rows 0 and 2) joined at the end columns 0 and 7
LOOP = np.array([[A] * 8, [A] + [B] * 6 + [A], [A] * 8], np.int8)


def drive(flag: bool, shield: str = "pibt") -> tuple[list, list, int, dict[str, int]]:
    """Robot 1 from (0, 2) to (0, 5) on :data:`LOOP` while robot 0 drives west from (0, 7) to
    (0, 3): with a high contraflow weight robot 1's guide is the detour round the loop (west,
    down, east along row 2, up), 15 moves against 3, and no move of its first 12 brings it
    closer by the plain distance. ``stall_steps`` 5 (backstop 15). Returns robot 1's guide,
    its cells step by step until it arrives, the rescues and the navigator's stats."""
    sim = hand_sim(LOOP, 2, collisions=shield)
    sim.shield.stall_steps = 5  # type: ignore[union-attr]
    send(sim, [(0, 7), (0, 2)], [(0, 3), (0, 5)])
    nav = GuidedNavigator(contraflow_weight=100.0, guide_rescue=flag)
    guide: list = []
    trail: list = []
    for _ in range(40):
        actions, prefs = plan(nav, sim)
        if not guide:
            guide = cells(sim, nav.path(1))
        sim.step(actions, prefs)
        trail.append(tuple(int(x) for x in sim.floor.pos[sim.state.pos[1]]))
        if trail[-1] == (0, 5):
            break
    return guide, trail, sim.shield.rescues, dict(nav.stats)  # type: ignore[union-attr]


@pytest.mark.parametrize("shield", ["pibt", "pibt_swap"])
def test_a_robot_on_a_guide_detour_is_not_pulled_off_its_guide(shield: str) -> None:
    guide, trail, rescues, stats = drive(True, shield)
    assert len(guide) == 16 and guide[3] == (1, 0) and guide[12] == (1, 7)
    assert trail == guide[1:]  # along its guide, move for move, no rescue, no new search
    assert rescues == 0 and stats["searches"] == 2


def test_with_the_setting_off_the_rescue_pulls_it_back_as_before() -> None:
    """The old behaviour (before the forty-first session): after 5 steps the rescue drives
    robot 1 back the way it came, and it arrives later."""
    guide, trail, rescues, stats = drive(False)
    assert trail[:5] == guide[1:6] and trail[5] != guide[6]
    assert rescues > 0 and stats["searches"] > 2 and len(trail) > len(guide) - 1


def _two_robots() -> tuple[SimpleNamespace, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`test_pibt.test_a_stalled_robot_is_rescued_along_its_shortest_path`'s scene:
    robot 0 wants the east end, its navigator proposes WAIT, robot 1 waits in the way."""
    f = compile_floor(graph_from_grid(np.zeros((2, 4), dtype=np.int8)))
    pos = [f.cell_of[0, 1], f.cell_of[0, 2]]
    goal = f.cell_of[0, 3]

    def dist(nodes: np.ndarray) -> np.ndarray:
        return np.array([[abs(3 - f.pos[v, 1]) + f.pos[v, 0] for v in row] for row in nodes])

    sim = fake_sim(f, pos, since_goal=[20, 0], target=[goal, -1], dist=dist)
    sim.t = 7
    mask = f.mask[np.asarray(pos)]
    prefs = np.where(mask, 0.0, -np.inf)
    prefs[:, 0] = 1.0
    return sim, mask, prefs, np.array([WAIT, WAIT])


def test_the_hint_delays_the_rescue_up_to_the_backstop() -> None:
    """(The ``pibt_swap`` shield reads the same test: the detour test above runs under it.)"""
    sim, mask, prefs, waits = _two_robots()
    shield = PIBTShield(stall_steps=16)
    for since, hint, rescued in [
        (16, [False, False], False),  # stalled by distance, not by the hint: no rescue
        (16, [True, False], True),  # stalled by both
        (15, [True, True], False),  # a hint never adds a rescue
        (47, [False, False], False),
        (48, [False, False], True),  # the backstop: 3 × 16 steps
    ]:
        sim.state.since_progress = np.array([since, 0], np.int32)
        shield.stall_hint(sim, np.array(hint))
        out = shield(sim, waits.copy(), prefs, mask).tolist()
        assert out[0] == E if rescued else out == [WAIT, WAIT], (since, hint)


def test_a_hint_for_another_step_or_episode_is_not_read() -> None:
    sim, mask, prefs, waits = _two_robots()
    sim.state.since_progress = np.array([16, 0], np.int32)
    shield = PIBTShield()
    shield.stall_hint(sim, np.array([False, False]))
    assert shield(sim, waits.copy(), prefs, mask).tolist() == [WAIT, WAIT]
    sim.t = 8  # the next step: the plain rescue again
    assert shield(sim, waits.copy(), prefs, mask)[0] == E
    sim.t = 7
    sim.state = SimpleNamespace(**vars(sim.state))  # another episode's state
    assert shield(sim, waits.copy(), prefs, mask)[0] == E
    with pytest.raises(ValueError, match="stall_hint: expected 2 flags"):
        shield.stall_hint(sim, np.array([True]))


def test_other_navigators_and_the_setting_off_give_no_hint() -> None:
    """With the setting off the guided navigator hands the shield nothing, so its runs (and
    every other navigator's) take the plain rescue; the pinned runs of
    tests/test_session40_speed.py check the rest bit for bit. It is on by default."""
    nav = GuidedNavigator(guide_rescue=False)
    fleet, sim = room_fleet(nav, 24, "pibt")
    for _ in range(40):
        fleet.step()
    assert sim.shield._hint is None  # type: ignore[union-attr]
    nav = GuidedNavigator()
    fleet, sim = room_fleet(nav, 24, "pibt")
    fleet.step()
    hint = sim.shield._hint  # type: ignore[union-attr]
    assert hint is not None and hint[0] is sim.state and hint[1] == sim.t - 1


def test_runs_with_the_setting_repeat_and_differ_from_the_plain_rescue() -> None:
    def run(flag: bool) -> tuple[np.ndarray, int]:
        fleet, sim = room_fleet(GuidedNavigator(guide_rescue=flag), 30, "pibt")
        for _ in range(150):
            fleet.step()
        return sim.state.pos.copy(), int(sim.state.deliveries.sum())

    first, again, plain = run(True), run(True), run(False)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    assert not np.array_equal(first[0], plain[0])


def test_the_setting_takes_true_or_false_only() -> None:
    assert guided_navigator(guide_rescue=False).guide_rescue is False
    assert guided_navigator().guide_rescue is True
    with pytest.raises(ValueError, match="guide_rescue: expected true or false, got 'yes'"):
        guided_navigator(guide_rescue="yes")  # type: ignore[arg-type]
