"""The simulation core: numpy state, movement rules, tasks, faults, observations.

Imports no gymnasium, torch or pygame.
"""

from .observe import CHANNEL_NAMES, N_CHANNELS, N_FEATURES, Observer, observation_size
from .physics import Resolution, resolve_block, resolve_physical
from .simulation import Simulation, StepResult
from .state import BUSY_PHASES, N_PHASES, FleetState, OrderBook, Phase

__all__ = [
    "BUSY_PHASES",
    "CHANNEL_NAMES",
    "N_CHANNELS",
    "N_FEATURES",
    "N_PHASES",
    "FleetState",
    "Observer",
    "OrderBook",
    "Phase",
    "Resolution",
    "Simulation",
    "StepResult",
    "observation_size",
    "resolve_block",
    "resolve_physical",
]
