"""Egocentric observations for the whole fleet in one vectorized pass.

Each robot sees a ``(2r+1) × (2r+1)`` window centred on itself (north up) with four channels,
followed by task features. Flattened, channel-major, float32 in ``[-1, 1]``:

=========  ==================================================================================
channel    meaning
=========  ==================================================================================
0          obstacle: 1 where there is no traversable node (shelf, wall, outside, closed cell)
1          another robot stands there
2          that robot carries an order
3          cost-to-go: (steps from the cell to my target − steps from my cell) / 2r, clipped
           to [-1, 1]; 1 for obstacles and cells with no path; 0 everywhere without a target
=========  ==================================================================================

Task features (``N_FEATURES`` = 12), after the window:

==  ================================================================================
0   target row offset / floor size (0 without target)
1   target column offset / floor size
2   steps to target / (height + width), clipped to 1
3-8 phase one-hot: idle, to_pick, picking, to_drop, dropping, to_goal
9   broken down
10  work timer / max(pick_time, drop_time)
11  has a dispatcher waypoint
==  ================================================================================
"""

from __future__ import annotations

import numpy as np

from ..floor import UNREACHABLE
from .simulation import Simulation
from .state import N_PHASES

N_CHANNELS = 4
N_FEATURES = 12
CHANNEL_NAMES = ("obstacle", "robot", "carrying", "cost_to_go")


def observation_size(radius: int) -> int:
    return N_CHANNELS * (2 * radius + 1) ** 2 + N_FEATURES


class Observer:
    """Builds observations for a :class:`Simulation` (window tables cached per floor)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.radius = int(sim.config.observation.radius)
        f = sim.floor
        r = self.radius
        side = 2 * r + 1
        self.side = side
        pad = np.pad(f.cell_of, r, constant_values=-1)
        dr, dc = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        rows = f.pos[:, 0][:, None] + dr.ravel()[None, :]
        cols = f.pos[:, 1][:, None] + dc.ravel()[None, :]
        #: (n_nodes, K) node id at every window cell around every node, -1 where none.
        self.window = pad[rows, cols].astype(np.int32)
        self.center = (side * side) // 2
        height, width = f.shape
        self._size = float(max(height, width))
        self._diam = float(height + width)
        self.size = observation_size(r)

    def __call__(self) -> np.ndarray:
        sim, s = self.sim, self.sim.state
        f = sim.floor
        n, k = s.n, self.side * self.side
        win = self.window[s.pos]  # (N, K), -1 = none
        out = np.empty((n, N_CHANNELS * k + N_FEATURES), dtype=np.float32)

        blocked = np.ones(f.n_nodes + 1, dtype=np.float32)  # last entry: the -1 sentinel
        blocked[:-1] = 0.0
        closed = sim.closed_nodes()
        blocked[closed] = 1.0
        occ = np.zeros(f.n_nodes + 1, dtype=np.float32)
        occ[s.pos] = 1.0
        carry = np.zeros(f.n_nodes + 1, dtype=np.float32)
        carry[s.pos[s.carrying]] = 1.0
        out[:, 0:k] = blocked[win]
        robots = occ[win]
        robots[:, self.center] = 0.0
        out[:, k : 2 * k] = robots
        carried = carry[win]
        carried[:, self.center] = 0.0
        out[:, 2 * k : 3 * k] = carried

        target = s.target
        has = target >= 0
        ctg = np.zeros((n, k), dtype=np.float32)
        feats = np.zeros((n, N_FEATURES), dtype=np.float32)
        if has.any():
            tg = target[has]
            w = win[has]
            slots = sim.dist.slots(tg)
            d = sim.dist.table[slots[:, None], np.maximum(w, 0)].astype(np.float32)
            d0 = d[:, self.center : self.center + 1]
            rel = np.clip((d - d0) / (2 * self.radius), -1.0, 1.0)
            bad = (w < 0) | (d >= UNREACHABLE)
            ctg[has] = np.where(bad, 1.0, rel)
            delta = (f.pos[tg] - f.pos[s.pos[has]]).astype(np.float32)
            feats[has, 0:2] = np.clip(delta / self._size, -1.0, 1.0)
            steps = d0[:, 0]
            feats[has, 2] = np.where(steps >= UNREACHABLE, 1.0, np.minimum(steps / self._diam, 1.0))
        out[:, 3 * k : 4 * k] = ctg
        feats[np.arange(n), 3 + s.phase.astype(np.int64)] = 1.0
        feats[:, 3 + N_PHASES] = s.broken > 0
        tasks = sim.config.tasks
        feats[:, 10] = np.minimum(s.timer / max(tasks.pick_time, tasks.drop_time, 1), 1.0)
        feats[:, 11] = s.waypoint >= 0
        out[:, 4 * k :] = feats
        return out
