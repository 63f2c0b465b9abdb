"""Learned navigators (``cql``, ``bc``): a checkpoint's network behind a :class:`BatchedPolicy`.

``make_navigator("cql")`` loads the shipped weights ``agents/weights/cql.{json,safetensors}``
(produced by ``agents/make_weights.py``); ``checkpoint=`` points at any training or weights
checkpoint instead, ``device=`` forces ``cpu`` or ``cuda`` (default: CUDA when available).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from warehouse.errors import InputError

if TYPE_CHECKING:  # torch is imported only when a learned navigator is built
    from .batched import BatchedPolicy

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights"


def load_learned_navigator(
    algo: str | None,
    checkpoint: str | Path | None = None,
    *,
    device: str | None = None,
) -> BatchedPolicy:
    """A :class:`BatchedPolicy` over the network of ``checkpoint`` (default: shipped weights).

    ``algo`` (``"cql"``/``"bc"``, or ``None`` for any) must match the checkpoint's algorithm.
    """
    from .batched import BatchedPolicy, NetworkScorer
    from .checkpoint import load_network, resolve

    if checkpoint is None:
        if algo is None:
            raise ValueError("give an algorithm or a checkpoint")
        checkpoint = DEFAULT_WEIGHTS / f"{algo}.json"
    net, meta = load_network(checkpoint)
    if algo is not None and meta["algo"] != algo:
        raise InputError(
            resolve(checkpoint).with_suffix(".json"),
            "algo",
            f"checkpoint holds a {meta['algo']!r} network, expected {algo!r}",
        )
    scorer = NetworkScorer(net, device=device, source=resolve(checkpoint).with_suffix(".json"))
    # The policy carries the observation layout it was trained on (Fleet builds its observer
    # from ``policy.observation``).
    return BatchedPolicy(scorer, name=algo or meta["algo"], observation=net.cfg.observation)


def cql_navigator(*, checkpoint: str | Path | None = None, device: str | None = None, **_: object):
    return load_learned_navigator("cql", checkpoint, device=device)


def bc_navigator(*, checkpoint: str | Path | None = None, device: str | None = None, **_: object):
    return load_learned_navigator("bc", checkpoint, device=device)
