"""Lane-aligned view: a learned navigator sees a long north-south lane as an east-west one.

The shipped navigator networks were trained on floors whose long single-lane aisles all run
east-west; their north-south single lanes are 2-cell connectors. On a floor with long
north-south single lanes the networks wait where they should push on, two robots that meet
both wait, and the fleet delivers half of what the rule-based one does
(docs/results_transfer.md).

The square grid's mirror along its diagonal maps observations and actions exactly: the
observation windows are transposed (rows and columns swap), the target row and column offsets
swap, the intent channels' row and column steps swap, and the actions map N↔W and E↔S. So a
robot standing in a north-south single-lane run of at least ``min_run`` cells is decided in
the mirrored frame, where its lane runs east-west as on the training floors; every other robot
is decided as before. It is one forward pass for the whole fleet (the rows of the mirrored
robots are rewritten in place of their own), and the lane cells are found once per floor.

With ``min_run = 3`` (the default) no cell of any built-in floor, nor of the shared maps the
results use, is in such a run, so their trajectories are unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: an action in the mirrored frame -> the same move on the floor (WAIT, N, E, S, W)
MIRROR = np.array([0, 4, 3, 2, 1], dtype=np.int64)
#: the default shortest north-south single-lane run decided in the mirrored frame
MIN_RUN = 3


def north_south_lanes(floor: Any, min_run: int = MIN_RUN) -> np.ndarray:
    """``(n_nodes,)`` bool: cells of north-south single-lane runs of ``min_run`` cells or more.

    A north-south single-lane cell allows exactly the moves N and S (``floor.mask``). A run is
    a maximal column of such cells, one above the other. Floors that are not grids have none.
    """
    out = np.zeros(floor.n_nodes, dtype=bool)
    if not floor.is_grid or floor.n_nodes == 0:
        return out
    moves = floor.mask[:, 1:5]  # N, E, S, W
    lane = (moves.sum(axis=1) == 2) & moves[:, 0] & moves[:, 2]
    if not lane.any():
        return out
    rows, cols = floor.pos[:, 0].astype(np.int64), floor.pos[:, 1].astype(np.int64)
    height, width = int(rows.max()) + 1, int(cols.max()) + 1
    grid = np.zeros((width, height + 2), dtype=np.int8)  # one column of the floor per row
    grid[cols[lane], rows[lane] + 1] = 1
    edges = np.diff(grid, axis=1)  # +1 where a run starts, -1 after it ends; (col, row) order
    starts, ends = np.argwhere(edges == 1), np.argwhere(edges == -1)
    length = ends[:, 1] - starts[:, 1]
    keep = length >= min_run
    if not keep.any():
        return out
    col = np.repeat(starts[keep, 0], length[keep])
    first = np.repeat(starts[keep, 1], length[keep])
    offset = np.arange(int(length[keep].sum())) - np.repeat(
        np.cumsum(length[keep]) - length[keep], length[keep]
    )
    cells = floor.cell_of[first + offset, col]
    out[cells] = True
    return out


class LaneView:
    """Mirrors the observations and allowed moves of robots in long north-south lanes.

    ``observation`` is the network's :class:`~warehouse.config.ObservationConfig` (window
    radius and whether the intent channels follow the task features).
    """

    def __init__(self, observation: Any, min_run: int = MIN_RUN) -> None:
        if min_run < 1:
            raise ValueError("min_run must be at least 1")
        self.side = 2 * int(observation.radius) + 1
        self.intent = bool(getattr(observation, "intent", False))
        self.min_run = int(min_run)
        self._floor: Any = None
        self._lanes = np.zeros(0, dtype=bool)

    def robots(self, sim: Any) -> np.ndarray | None:
        """Indices of the robots decided in the mirrored frame (None: none)."""
        floor = getattr(sim, "floor", None)
        if floor is None:
            return None
        if floor is not self._floor:
            self._floor, self._lanes = floor, north_south_lanes(floor, self.min_run)
        if not self._lanes.any():
            return None
        sel = np.flatnonzero(self._lanes[sim.state.pos])
        return sel if sel.size else None

    def mirror(self, obs: np.ndarray, mask: np.ndarray, sel: np.ndarray) -> tuple[Any, Any]:
        """Copies of ``obs`` and ``mask`` with the rows ``sel`` in the mirrored frame."""
        s, k = self.side, self.side * self.side
        n = sel.size
        rows = obs[sel]
        view = rows.copy()
        view[:, : 4 * k] = rows[:, : 4 * k].reshape(n, 4, s, s).transpose(0, 1, 3, 2).reshape(n, -1)
        f0 = 4 * k  # task features 0 and 1: target row and column offsets
        view[:, f0], view[:, f0 + 1] = rows[:, f0 + 1], rows[:, f0]
        if self.intent:  # intent channels 0 and 1: intended row and column steps
            i0 = f0 + 12
            w = rows[:, i0:].reshape(n, -1, s, s).transpose(0, 1, 3, 2)
            view[:, i0:] = w[:, [1, 0, *range(2, w.shape[1])]].reshape(n, -1)
        obs_out, mask_out = obs.copy(), mask.copy()
        obs_out[sel] = view
        mask_out[sel] = mask[sel][:, MIRROR]
        return obs_out, mask_out

    @staticmethod
    def unmirror(scores: np.ndarray, actions: np.ndarray, sel: np.ndarray) -> None:
        """Map the rows ``sel`` of ``scores`` and ``actions`` back to the floor's frame, in
        place (the mirror is its own inverse)."""
        scores[sel] = scores[sel][:, MIRROR]
        actions[sel] = MIRROR[actions[sel]]
