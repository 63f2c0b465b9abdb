"""Audit of the ``lacam`` navigator where it meets the rest of the toolkit (h6): what a run
keeps in memory while the navigator replans."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agents.lacam import LaCAMNavigator
from scenarios import load_scenario
from scenarios.load import apply_overrides, build_floor
from warehouse.core import Simulation
from warehouse.fleet import Fleet

#: a small open floor with a few shelves (tests/test_lacam.py's ROOM)
ROOM = "type octile\nheight 6\nwidth 7\nmap\n.......\n.@@.@@.\n.......\n.@.@.@.\n.......\n...@...\n"


def _held_bytes(obj: object) -> int:
    """Bytes of the numpy arrays an object's attributes hold (directly or in lists, tuples and
    dicts, one level down)."""
    total = 0
    for value in vars(obj).values():
        items = value if isinstance(value, list | tuple) else [value]
        if isinstance(value, dict):
            items = list(value.values())
        for item in items:
            parts = item if isinstance(item, tuple) else (item,)
            total += sum(p.nbytes for p in parts if isinstance(p, np.ndarray))
    return total


def _displace_one(sim: Simulation) -> bool:
    """Move the first robot that has a free neighbour onto it (as a shield's push would);
    False when none has."""
    f, pos = sim.floor, sim.state.pos
    taken = set(pos.tolist())
    for r in range(sim.n_robots):
        for v in f.nbr[pos[r], 1:][f.mask[pos[r], 1:]]:
            if int(v) not in taken:
                pos[r] = int(v)
                sim.state_changed()
                return True
    return False


def test_replanning_does_not_grow_what_the_navigator_holds(tmp_path: Path) -> None:
    """Each time a robot is pushed off the plan the navigator searches again; what it keeps
    must stay about one plan's worth, not one plan per replan (a long run under a PIBT
    shield, breakdowns or closures replans hundreds of times)."""
    (tmp_path / "m.map").write_text(ROOM)
    sc, src = load_scenario(tmp_path / "m.map")
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 10}
    sc = apply_overrides(sc, over, src)
    nav = LaCAMNavigator()
    fleet = Fleet(Simulation(build_floor(sc, src), sc.sim_config()), None, nav)
    fleet.reset(3)
    fleet.step()
    assert nav.stats["searches"] == 1
    one_plan = _held_bytes(nav)
    for _ in range(30):
        assert _displace_one(fleet.sim)
        fleet.step()
    assert nav.stats["replans"] >= 20  # every push cost a search
    assert _held_bytes(nav) <= 3 * one_plan
