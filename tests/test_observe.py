"""The compiled observation against a plain-Python reading of its documented layout.

The row kernel is compiled once per window size (the side is a compile-time constant), so the
comparison runs for several radii, on a rule-based fleet at work (orders, carried loads,
waypoints, breakdowns, closed cells).
"""

from __future__ import annotations

import numpy as np
import pytest

import warehouse
from agents import RuleBasedNavigator
from warehouse.core import Observer, Phase
from warehouse.floor import UNREACHABLE


def reference_observation(sim, radius: int) -> np.ndarray:
    """The layout of :mod:`warehouse.core.observe`, cell by cell."""
    f, s = sim.floor, sim.state
    side = 2 * radius + 1
    k = side * side
    height, width = f.shape
    closed = set(sim.closed_nodes().tolist())
    at = {int(node): i for i, node in enumerate(s.pos)}
    target, slot = sim.target_slots()
    cfg = sim.config.tasks
    work = max(cfg.pick_time, cfg.drop_time, 1)
    out = np.zeros((s.n, 4 * k + 12), np.float32)
    for i in range(s.n):
        r0, c0 = (int(x) for x in f.pos[s.pos[i]])
        d0 = int(sim.dist.table[slot[i], s.pos[i]]) if slot[i] >= 0 else 0
        for dr in range(side):
            for dc in range(side):
                r, c = r0 + dr - radius, c0 + dc - radius
                cell = dr * side + dc
                node = int(f.cell_of[r, c]) if 0 <= r < height and 0 <= c < width else -1
                out[i, cell] = 1.0 if node < 0 or node in closed else 0.0
                j = at.get(node, -1)
                if j >= 0 and j != i:
                    out[i, k + cell] = 1.0
                    out[i, 2 * k + cell] = float(s.phase[j] in (Phase.TO_DROP, Phase.DROPPING))
                if slot[i] >= 0:
                    d = int(sim.dist.table[slot[i], node]) if node >= 0 else UNREACHABLE
                    if d >= UNREACHABLE:
                        value = 1.0
                    else:
                        value = np.clip(np.float32(d - d0) / np.float32(2 * radius), -1, 1)
                    out[i, 3 * k + cell] = value
        feats = out[i, 4 * k :]
        if slot[i] >= 0:
            tr, tc = (int(x) for x in f.pos[target[i]])
            size = np.float32(max(height, width))
            feats[0] = np.clip(np.float32(tr - r0) / size, -1, 1)
            feats[1] = np.clip(np.float32(tc - c0) / size, -1, 1)
            diam = np.float32(height + width)
            feats[2] = 1.0 if d0 >= UNREACHABLE else min(np.float32(d0) / diam, 1.0)
        feats[3 + s.phase[i]] = 1.0
        feats[9] = float(s.broken[i] > 0)
        feats[10] = min(np.float32(s.timer[i]) / np.float32(work), 1.0)
        feats[11] = float(s.waypoint[i] >= 0)
    return out


@pytest.mark.parametrize("radius", [1, 2, 3, 5])
def test_compiled_observation_equals_the_documented_layout(radius):
    env = warehouse.make_env(
        "faults",
        **{"observation.radius": radius, "faults.closure_prob": 0.2, "faults.breakdown_prob": 0.02},
    )
    sim = env.sim
    env.reset(seed=5)
    nav = RuleBasedNavigator(seed=0)
    seen_carrying = seen_closed = seen_broken = seen_waypoint = False
    for t in range(150):
        actions, _ = nav.act(sim, None, sim.action_mask())
        env.step_arrays(actions)
        if t == 40:  # some robots detour through a waypoint
            robots = np.flatnonzero(sim.state.phase == Phase.TO_PICK)[:3]
            sim.set_waypoints(robots, sim.floor.stations[: robots.size])
        seen_closed |= sim.closed_nodes().size > 0
        seen_broken |= bool((sim.state.broken > 0).any())
        seen_waypoint |= bool((sim.state.waypoint >= 0).any())
        obs = Observer(sim)()
        np.testing.assert_array_equal(obs, reference_observation(sim, radius))
        k = (2 * radius + 1) ** 2
        seen_carrying |= bool(obs[:, 2 * k : 3 * k].any())
    assert seen_carrying and seen_closed and seen_broken and seen_waypoint
