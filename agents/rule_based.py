"""Rule-based navigation: shortest paths on the floor graph, fully vectorized.

:class:`RuleBasedNavigator` moves each robot to a neighbour on a shortest path to its target
(preferring a free one when several are equally short) and waits when every such neighbour is
taken. A robot that has made no progress for ``patience`` steps side-steps to a random free
neighbour, which breaks the face-to-face deadlocks of single-lane aisles. Its preference scores
(negative distance to target) rank every action for the PIBT shield.
"""

from __future__ import annotations

import numpy as np

from warehouse.core import Simulation
from warehouse.floor import UNREACHABLE

from .base import masked_argmax


def distance_preferences(sim: Simulation, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, A)`` distance-to-target of every action's node and preference scores from it.

    Robots without a target prefer WAIT. Masked actions score ``-inf``.
    """
    f, s = sim.floor, sim.state
    cand = f.nbr[s.pos]  # (N, A)
    dist = sim.target_distance(cand).astype(np.float32)
    dist[dist >= UNREACHABLE] = np.float32(1e6)
    no_target = s.target < 0
    dist[no_target] = 1.0
    dist[no_target, 0] = 0.0
    # Tie-break: between equal distances prefer moving over waiting (progress) deterministically.
    scores = -dist - np.float32(1e-3) * (np.arange(f.n_actions) == 0)
    scores = np.where(mask, scores, -np.inf).astype(np.float32)
    return dist, scores


class RuleBasedNavigator:
    """Shortest-path follower that waits when its next node is taken (see module docstring)."""

    name = "rule_based"
    needs_observation = False

    def __init__(self, *, patience: int = 8, seed: int | None = None) -> None:
        self.patience = patience
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(None if seed is None else [seed, 0x5EED])

    def act(self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        f, s = sim.floor, sim.state
        n = s.n
        dist, scores = distance_preferences(sim, mask)
        cand = f.nbr[s.pos]
        best = np.where(mask, dist, np.inf).min(axis=1, keepdims=True)
        on_path = mask & (dist == best)
        # Pass 1 ignores other robots; robots whose best move is to stay hold their node.
        first = masked_argmax(scores, on_path)
        holding = np.zeros(f.n_nodes, dtype=bool)
        holding[s.pos[first == 0]] = True
        # Pass 2: avoid nodes held by robots that stay; following a robot that leaves is fine.
        taken = holding[cand]
        taken[:, 0] = False
        free_on_path = on_path & ~taken
        actions = masked_argmax(scores, free_on_path)
        blocked = ~free_on_path.any(axis=1)
        actions[blocked] = 0
        # Deadlock escape: stuck robots take a random free allowed move.
        stuck = blocked & (s.since_progress >= self.patience) & (s.target >= 0)
        if stuck.any():
            occupied = np.zeros(f.n_nodes, dtype=bool)
            occupied[s.pos] = True
            free = mask & ~occupied[cand]
            free[:, 0] = False
            noise = self.rng.random((n, f.n_actions))
            pick = np.where(free, noise, -1.0).argmax(axis=1)
            go = stuck & free.any(axis=1)
            actions[go] = pick[go]
        return actions.astype(np.int64), scores


class RandomNavigator:
    """Uniformly random allowed moves (a sanity baseline)."""

    name = "random"
    needs_observation = False

    def __init__(self, *, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(None if seed is None else [seed, 0xACE])

    def act(self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        scores = np.where(mask, self.rng.random(mask.shape), -np.inf).astype(np.float32)
        return scores.argmax(axis=1).astype(np.int64), scores
