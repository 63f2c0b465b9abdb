"""The high level of the hierarchy: dispatchers that assign orders and set sub-goals."""

from .dispatchers import (
    DISPATCHERS,
    Dispatcher,
    FIFODispatcher,
    GreedyDispatcher,
    RandomDispatcher,
    make_dispatcher,
)

__all__ = [
    "DISPATCHERS",
    "Dispatcher",
    "FIFODispatcher",
    "GreedyDispatcher",
    "RandomDispatcher",
    "make_dispatcher",
]
