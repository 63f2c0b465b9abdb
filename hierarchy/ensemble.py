"""Dispatcher ensembles: PPO policies of one recipe, trained with different seeds, in one file.

A single PPO run's result depends on its seed by about as much as PPO leads the Hungarian
dispatcher (docs/results_sessions.md, fourteenth session). :func:`build_ensemble` writes one
ordinary policy (safetensors + JSON, ``net.members`` = K) whose logits are the mean of its
members' logits
(:class:`~hierarchy.network.ScorerEnsemble`). The ``ppo`` dispatcher, shadow mode and
``warehouse run`` load it like any other policy::

    warehouse ensemble runs/d0/policy.json runs/d1/policy.json --out runs/ens/policy
    warehouse run small_peak --policy hierarchical \\
        --set policies.dispatcher_checkpoint=runs/ens/policy.json

Members must be plain policies with the same network shape, features and decision period. The
JSON lists each member's path and weights sha256 under ``ensemble``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from warehouse.errors import InputError

from .checkpoint import load_policy, policy_stem, save_policy
from .network import CandidateScorer, ScorerEnsemble


def policy_json(path: str | Path) -> Path:
    """The ``.json`` file of a policy given by its JSON, safetensors or stem path."""
    return policy_stem(path).with_suffix(".json")


def build_ensemble(paths: list[str | Path], out: str | Path, **extra: Any) -> Path:
    """Write the ensemble of the dispatcher policies ``paths`` to ``out`` (a stem); returns the
    JSON path. ``extra`` goes into the JSON (e.g. the members' training recipe)."""
    if len(paths) < 2:
        raise InputError(None, "members", "an ensemble needs at least two policies")
    loaded = [load_policy(p) for p in paths]
    first_net, features, period, _ = loaded[0]
    for i, (path, (net, feats, per, _)) in enumerate(zip(paths, loaded, strict=True)):
        source, which = policy_json(path), f"member {i + 1} of {len(paths)}"
        if not isinstance(net, CandidateScorer):
            raise InputError(source, "net.members", f"{which}: members must be plain policies")
        if net.cfg != first_net.cfg:
            raise InputError(source, "net", f"{which} differs from the first member's")
        if feats != features:
            raise InputError(source, "features", f"{which}: differ from the first member's")
        if per != period:
            raise InputError(source, "period", f"{which}: {per}, the first member's is {period}")
    ens = ScorerEnsemble(replace(first_net.cfg, members=len(paths)))
    for member, (net, *_rest) in zip(ens.members, loaded, strict=True):
        member.load_state_dict(net.state_dict())
    members = [
        {"policy": str(policy_json(p)), "sha256": meta["sha256"]}
        for p, (*_rest, meta) in zip(paths, loaded, strict=True)
    ]
    return save_policy(out, ens, features, period, ensemble=members, **extra)
