"""Factories of the dispatchers this package adds to :data:`hierarchy.DISPATCHERS`.

The learned one imports torch lazily, so importing :mod:`hierarchy` stays light.
"""

from __future__ import annotations

from typing import Any


def hungarian_factory(**kw: Any) -> Any:
    from .hungarian import HungarianDispatcher

    return HungarianDispatcher(**kw)


def ppo_factory(**kw: Any) -> Any:
    """The PPO dispatcher with the shipped weights (``checkpoint=`` for another policy)."""
    from .ppo_dispatcher import make_ppo_dispatcher

    return make_ppo_dispatcher(**kw)
