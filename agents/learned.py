"""Learned navigators (``cql``, ``bc``, the fine-tuned ``cql_pibt`` / ``cql_physical`` and the
hierarchy's ``cql_tuned``): checkpoint networks behind :class:`BatchedPolicy`.

``make_navigator("cql")`` loads the shipped weights ``agents/weights/cql.{json,safetensors}``
(produced by ``agents/make_weights.py``); ``checkpoint=`` points at any training or weights
checkpoint instead, ``device=`` forces ``cpu`` or ``cuda`` (default: CUDA when available).
``lane_view=False`` (``policies.navigator_args.NAME.lane_view``) turns off the lane-aligned
view (:mod:`agents.lane_view`): robots in long north-south single lanes are then decided in the
floor's own frame, which the networks were not trained for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from warehouse.errors import InputError
from warehouse.shield import PIBT_MODES

if TYPE_CHECKING:  # torch is imported only when a learned navigator is built
    from .batched import BatchedPolicy

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights"


def load_learned_navigator(
    algo: str | None,
    checkpoint: str | Path | None = None,
    *,
    device: str | None = None,
    lane_view: bool = True,
) -> BatchedPolicy:
    """A :class:`BatchedPolicy` over the network of ``checkpoint`` (default: shipped weights).

    ``algo`` (``"cql"``/``"bc"``, or ``None`` for any) must match the checkpoint's algorithm.
    ``lane_view``: decide robots in long north-south single lanes in the mirrored frame.
    """
    from .batched import BatchedPolicy, NetworkScorer
    from .checkpoint import load_network, resolve
    from .lane_view import LaneView

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
    view = LaneView(net.cfg.observation) if lane_view else None
    source = resolve(checkpoint).with_suffix(".json")
    scorer = NetworkScorer(net, device=device, source=source, lane_view=view)
    # The policy carries the observation layout it was trained on (Fleet builds its observer
    # from ``policy.observation``).
    return BatchedPolicy(scorer, name=algo or meta["algo"], observation=net.cfg.observation)


def cql_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    lane_view: bool = True,
    **_: object,
):
    return load_learned_navigator("cql", checkpoint, device=device, lane_view=lane_view)


def cql_pibt_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    lane_view: bool = True,
    **_: object,
):
    """The CQL network fine-tuned online with PPO under the PIBT shield, run greedily
    (``agents/weights/cql_pibt.*``; docs/results_finetune.md)."""
    path = checkpoint or DEFAULT_WEIGHTS / "cql_pibt.json"
    return load_learned_navigator("cql", path, device=device, lane_view=lane_view)


class ModeMatchedNavigator:
    """One navigator per collision mode, chosen at every call from the floor's shield.

    A network fine-tuned under one collision mode is worse than the frozen one in another
    (docs/results_finetune.md), so the hierarchy's navigator (``cql_tuned``) runs the network
    tuned for the mode at hand. All networks must read the same observation layout (the fleet
    builds one observer).
    """

    needs_observation = True

    def __init__(self, by_mode: dict[str, Any], default: Any, *, name: str):
        layouts = {repr(p.observation) for p in (*by_mode.values(), default)}
        if len(layouts) != 1:
            raise ValueError(f"{name}: the networks read different observations: {layouts}")
        self.by_mode, self.default, self.name = by_mode, default, name
        self.observation = default.observation

    def policy_for(self, mode: str) -> Any:
        """The navigator used under collision mode ``mode`` (a shield name or ``physical``)."""
        return self.by_mode.get(mode, self.default)

    def reset(self, seed: int | None) -> None:
        policies = {id(p): p for p in (*self.by_mode.values(), self.default)}  # shared: once
        for policy in policies.values():
            policy.reset(seed)

    def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
        mode = getattr(sim.shield, "name", "physical") if sim is not None else "physical"
        return self.policy_for(mode).act(sim, obs, mask)


def cql_physical_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    lane_view: bool = True,
    **_: object,
):
    """The CQL network fine-tuned online with PPO without a shield (``physical``), sampling
    its moves from softmax(Q) as PPO trained it (``agents/weights/cql_physical.*``)."""
    from .finetune_nav import finetuned_navigator

    path = checkpoint or DEFAULT_WEIGHTS / "cql_physical.json"
    policy = finetuned_navigator(checkpoint=path, device=device, lane_view=lane_view)
    policy.name = "cql_physical"
    return policy


def cql_tuned_navigator(
    *, device: str | None = None, lane_view: bool = True, **_: object
) -> ModeMatchedNavigator:
    """The network fine-tuned for the floor's collision mode: ``cql_pibt`` under the PIBT
    shields (``pibt``, ``pibt_swap``, which is PIBT plus the swap manoeuvre, and ``pibt_lacam``),
    ``cql_physical`` without a shield, the offline ``cql`` network otherwise."""
    pibt = cql_pibt_navigator(device=device, lane_view=lane_view)
    return ModeMatchedNavigator(
        {
            **dict.fromkeys(PIBT_MODES, pibt),
            "physical": cql_physical_navigator(device=device, lane_view=lane_view),
        },
        cql_navigator(device=device, lane_view=lane_view),
        name="cql_tuned",
    )


def bc_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    lane_view: bool = True,
    **_: object,
):
    return load_learned_navigator("bc", checkpoint, device=device, lane_view=lane_view)
