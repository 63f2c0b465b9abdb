"""The high level of the hierarchy: dispatchers that assign orders and set sub-goals.

Classical dispatchers live in :mod:`.dispatchers` and :mod:`.hungarian`; the learned PPO
dispatcher in :mod:`.ppo_dispatcher` (features :mod:`.features`, network :mod:`.network`,
semi-Markov layer :mod:`.smdp`, PPO :mod:`.ppo`, training :mod:`.train`, seed ensembles
:mod:`.ensemble`), shadow mode in
:mod:`.shadow`. Wrappers around any dispatcher: the starvation guard (:mod:`.guard`), task
swaps (:mod:`.swaps`) and parking for idle robots (:mod:`.parking`). Importing this package
does not import torch.
"""

import warehouse  # noqa: F401  (first: it points numba's cache at these sources)

from .dispatchers import (
    CHECKPOINT_DISPATCHERS,
    DISPATCHERS,
    Dispatcher,
    FIFODispatcher,
    GreedyDispatcher,
    RandomDispatcher,
    make_dispatcher,
)
from .hungarian import HungarianDispatcher

__all__ = [
    "CHECKPOINT_DISPATCHERS",
    "DISPATCHERS",
    "Dispatcher",
    "FIFODispatcher",
    "GreedyDispatcher",
    "HungarianDispatcher",
    "RandomDispatcher",
    "make_dispatcher",
]
