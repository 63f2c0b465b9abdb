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


def parking_hall(
    parking: tuple[tuple[int, int], ...], robots: int = 1, battery: object = None
) -> Simulation:
    """A 3 × 9 aisle hall with parking cells at ``parking``, a pick cell at (0, 8) and a station
    at (1, 0); no order arrives. Reset at seed 0 (``battery``: a ``BatteryConfig``)."""
    from warehouse.config import FleetConfig, SimConfig, TasksConfig
    from warehouse.floor import NodeKind, compile_floor, graph_from_grid

    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    for cell in parking:
        grid[cell] = NodeKind.PARKING
    grid[0, 8], grid[1, 0] = NodeKind.PICK, NodeKind.STATION
    extra = {} if battery is None else {"battery": battery}
    cfg = SimConfig(fleet=FleetConfig(robots=robots), tasks=TasksConfig(arrival_rate=0.0), **extra)
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    return sim
