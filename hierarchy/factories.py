"""Factories of the dispatchers this package adds to :data:`hierarchy.DISPATCHERS`.

The learned one imports torch lazily, so importing :mod:`hierarchy` stays light.
"""

from __future__ import annotations

from typing import Any


def hungarian_factory(
    *,
    lookahead: int = 4,
    with_delivery: bool = False,
    age_weight: float = 0.0,
    anticipate: bool = False,
) -> Any:
    """The Hungarian dispatcher; its keywords are what ``policies.dispatcher_args.hungarian``
    may set (:class:`~hierarchy.hungarian.HungarianDispatcher`)."""
    from .hungarian import HungarianDispatcher

    return HungarianDispatcher(
        lookahead=lookahead, with_delivery=with_delivery, age_weight=age_weight,
        anticipate=anticipate,
    )  # fmt: skip


def ppo_factory(
    checkpoint: Any = None,
    *,
    lookahead: int | None = None,
    deterministic: bool = True,
    anticipate: bool = False,
) -> Any:
    """The PPO dispatcher with the shipped weights (``checkpoint=`` for another policy);
    ``deterministic=False`` samples its decisions instead of taking the most likely one."""
    from .ppo_dispatcher import make_ppo_dispatcher

    return make_ppo_dispatcher(
        checkpoint, lookahead=lookahead, deterministic=deterministic, anticipate=anticipate
    )
