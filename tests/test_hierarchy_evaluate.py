"""``hierarchy.evaluate``: the evaluation runner behind docs/results.md part 2."""

from __future__ import annotations

import hierarchy.evaluate as ev
from scenarios import apply_overrides, build_floor, load_scenario


def _scenario(overrides: dict):
    sc, src = load_scenario("small")
    return apply_overrides(sc, overrides, src), src


def test_floor_cache_keys_on_the_whole_scenario() -> None:
    """A repeated scenario reuses its compiled floor; an override that changes the layout gets
    its own floor instead of the one compiled first for the same scenario name."""
    ev._FLOORS.clear()
    plain, src = _scenario({})
    first = ev._floor(plain, src, build_floor)
    assert ev._floor(_scenario({})[0], src, build_floor) is first
    bigger = ev._floor(_scenario({"layout.shelf_rows": 5})[0], src, build_floor)
    assert bigger.n_nodes > first.n_nodes


def test_run_one_is_deterministic_and_uses_its_overrides() -> None:
    a = ev.run_one("small", "greedy", "rule_based", "block", 0, 60, {})
    assert ev.run_one("small", "greedy", "rule_based", "block", 0, 60, {}) == a
    more_robots = ev.run_one("small", "greedy", "rule_based", "block", 0, 60, {"robots": 40})
    assert (a["robots"], more_robots["robots"]) == (30, 40)
