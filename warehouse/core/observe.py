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

With ``ObservationConfig.intent`` on, ``N_INTENT_CHANNELS`` = 6 more window channels follow the
task features (columns ``4K + 12`` on, ``K = (2r+1)²``): each visible robot's intended move
(row and column step), its priority relative to me, the cells other robots intend to move into,
how long each robot has been stalled and whether its intended move gets through under
the lowest-id-first priority (table in :mod:`.observe_intent`). Columns
``[0, 4K + 12)`` are the same either way, so the full layout is::

    [ window channels 0-3 (4K) | task features (12) | intent channels 0-5 (6K, optional) ]
"""

from __future__ import annotations

import functools

import numpy as np

from ..config import ObservationConfig
from .kernels import observe_rows_kernel, robot_layers_kernel
from .observe_intent import N_INTENT_CHANNELS, IntentChannels
from .simulation import Simulation
from .threads import RowJob, start_rows

N_CHANNELS = 4
N_FEATURES = 12
CHANNEL_NAMES = ("obstacle", "robot", "carrying", "cost_to_go")


def observation_size(radius: int, intent: bool = False) -> int:
    """Length of one robot's observation (module docstring)."""
    channels = N_CHANNELS + (N_INTENT_CHANNELS if intent else 0)
    return channels * (2 * radius + 1) ** 2 + N_FEATURES


class Observer:
    """Builds observations for a :class:`Simulation` (per-floor tables built once).

    ``config`` overrides the scenario's ``observation`` section (a learned navigator brings the
    observation layout it was trained on).
    """

    def __init__(self, sim: Simulation, config: ObservationConfig | None = None) -> None:
        self.sim = sim
        self.config = config if config is not None else sim.config.observation
        self.radius = int(self.config.radius)
        f = sim.floor
        r = self.radius
        side = 2 * r + 1
        self.side = side
        self.center = (side * side) // 2
        height, width = f.shape
        self.size = observation_size(r, self.config.intent)
        tasks = sim.config.tasks
        self._radius2 = np.float32(2 * r)
        self._size = np.float32(max(height, width))
        self._diam = np.float32(height + width)
        self._work = np.float32(max(tasks.pick_time, tasks.drop_time, 1))
        # Kernel inputs: the padded cell grid with the sentinel node n_nodes where no node is.
        self._padded = np.pad(f.cell_of, r, constant_values=-1)
        self._padded[self._padded < 0] = f.n_nodes
        self._padded = self._padded.astype(np.int32)
        # Obstacle values and a robot-code scratch grid in the same padded coordinates.
        self._obst_grid = (self._padded == f.n_nodes).astype(np.float32)
        # Robot and carrying layers (float32 scratch, all zero between calls).
        self._robot_grid = np.zeros((2, *self._padded.shape), dtype=np.float32)
        self._rows_kernel = observe_rows_kernel(side)
        self._intent = (
            IntentChannels(f.n_nodes, self._padded.shape, side) if self.config.intent else None
        )

    @functools.cached_property
    def window(self) -> np.ndarray:
        """``(n_nodes, K)`` node id at every window cell around every node, -1 where none."""
        f, side = self.sim.floor, self.side
        pad = np.pad(f.cell_of, self.radius, constant_values=-1)
        dr, dc = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        rows = f.pos[:, 0][:, None] + dr.ravel()[None, :]
        cols = f.pos[:, 1][:, None] + dc.ravel()[None, :]
        return pad[rows, cols].astype(np.int32)

    def __call__(self) -> np.ndarray:
        """A fresh ``(N, observation_size)`` float32 array (never reused between calls)."""
        return self.start().result()

    def start(self, caller_share: float | None = None) -> PendingObservation:
        """Start building the observation of the current state; with helper threads
        (:mod:`.threads`) their rows are computed while the caller does other work (the
        caller computes ``caller_share`` of the rows in :meth:`PendingObservation.result`).
        The state must not change before ``result`` is called."""
        sim, s = self.sim, self.sim.state
        out = np.empty((s.n, self.size), dtype=np.float32)
        target, slot = sim.target_slots()
        obstacle = self._obst_grid
        if sim.closures_possible:
            closed = sim.closed_nodes()
            if closed.size:
                obstacle = obstacle.copy()
                rc = sim.floor.pos[closed] + self.radius
                obstacle[rc[:, 0], rc[:, 1]] = 1.0
        robot_layers_kernel(s.pos, s.phase, sim.floor.pos, self.radius, self._robot_grid, 1.0)
        try:
            job = start_rows(
                self._rows_kernel,
                s.n,
                s.pos,
                s.phase,
                target,
                slot,
                sim.dist.table,
                self._padded,
                obstacle,
                self._robot_grid,
                s.timer,
                s.broken,
                s.waypoint,
                sim.floor.pos,
                self._radius2,
                self._size,
                self._diam,
                self._work,
                out,
                caller_share=caller_share,
            )
        except BaseException:
            self._clear_layers()
            raise
        return PendingObservation(self, job, out, slot)

    def _clear_layers(self) -> None:
        s = self.sim.state
        robot_layers_kernel(s.pos, s.phase, self.sim.floor.pos, self.radius, self._robot_grid, 0.0)

    def _finish(self, job: RowJob, out: np.ndarray, slot: np.ndarray) -> np.ndarray:
        try:
            job.finish()
        finally:  # the layers are shared scratch: always leave them clear
            self._clear_layers()
        if self._intent is not None:
            self._intent.fill(self.sim, slot, out, N_CHANNELS * self.side * self.side + N_FEATURES)
        return out


class PendingObservation:
    """An observation being built (:meth:`Observer.start`); :meth:`result` completes it."""

    def __init__(self, observer: Observer, job: RowJob, out: np.ndarray, slot: np.ndarray):
        self._observer, self._out, self._slot = observer, out, slot
        self._job: RowJob | None = job
        self._value: np.ndarray | None = None

    @property
    def buffer(self) -> np.ndarray:
        """The array :meth:`result` returns, possibly still being filled: take views of it
        (they see the rows once ``result`` returns), read nothing yet."""
        return self._out

    def result(self) -> np.ndarray:
        """The ``(N, observation_size)`` observation (computed once)."""
        if self._value is None:
            if self._job is None:
                raise RuntimeError("this observation failed to build; call the observer again")
            job, self._job = self._job, None
            self._value = self._observer._finish(job, self._out, self._slot)
        return self._value
