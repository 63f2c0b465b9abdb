"""Hand-built scenes in the core's tests: put robots where a test wants them, let a step pass."""

from __future__ import annotations

import numpy as np

from warehouse.core import Simulation

WAIT = 0  #: the action index of waiting


def place(sim: Simulation, *cells: tuple[int, int]) -> None:
    """Put robot ``i`` on the cell ``cells[i]`` (row, col)."""
    sim.state.pos[:] = [sim.floor.cell_of[c] for c in cells]
    sim.state_changed()


def wait(sim: Simulation) -> None:
    """One step in which every robot waits."""
    sim.step(np.full(sim.n_robots, WAIT))
