"""Q-ensembles: independently trained navigator networks averaged into one checkpoint.

Networks of one recipe trained with different seeds differ enough that one may meet a target
and the next miss it (docs/results.md, "DAgger-style rounds"). Averaging their Q-values removes
much of that luck. :func:`build_ensemble` writes one ordinary ``weights`` checkpoint (safetensors +
JSON) whose network has ``members`` = K (:class:`~agents.networks.NavigatorNet`): every
navigator, ``warehouse run``, batched inference and fine-tuning load it like any other::

    warehouse ensemble runs/a/model.json runs/b/model.json --out runs/ens/model
    warehouse run faults --policy cql_sampled \\
        --set policies.navigator_checkpoint=runs/ens/model.json

The members must share algorithm, network shape and observation layout. A member that is itself
an ensemble (a fine-tuned Q-ensemble, say) brings its own members, so the result averages
every network with the same weight when the given checkpoints have the same number of members.
The JSON records each given checkpoint's path, weights sha256 and member count under
``extra.ensemble``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from warehouse.errors import InputError

from .checkpoint import algorithms, load_network, resolve, save_checkpoint


def build_ensemble(
    paths: list[str | Path], out: str | Path, *, extra: dict[str, Any] | None = None
) -> Path:
    """Write the ensemble of the networks in ``paths`` to ``out`` (a checkpoint stem);
    ``extra`` adds keys to the JSON's ``extra`` (how the members were made, say)."""
    from .checkpoint import _config

    if len(paths) < 2:
        raise InputError(None, "members", "an ensemble needs at least two checkpoints")
    loaded = [load_network(p) for p in paths]
    first_meta = loaded[0][1]
    first_cfg = _config(first_meta, resolve(paths[0]).with_suffix(".json"))
    single = replace(loaded[0][0].cfg, members=1)
    for path, (net, meta) in zip(paths, loaded, strict=True):
        source = resolve(path).with_suffix(".json")
        if meta["algo"] != first_meta["algo"]:
            first = first_meta["algo"]
            raise InputError(source, "algo", f"{meta['algo']!r}, the first member is {first!r}")
        if replace(net.cfg, members=1) != single:
            raise InputError(source, "config.network", "differs from the first member's")
    plain = [m for net, _ in loaded for m in (net.members if net.cfg.members > 1 else [net])]
    cfg = replace(first_cfg, network=replace(first_cfg.network, members=len(plain)))
    _, algo_cls = algorithms()[first_meta["algo"]]
    algo: Any = algo_cls(cfg, device="cpu")
    for member, net in zip(algo.net.members, plain, strict=True):
        member.load_state_dict(net.state_dict())
    members = [
        {
            "checkpoint": str(resolve(p).with_suffix(".json")),
            "weights_sha256": m["weights_sha256"],
            "members": net.cfg.members,
        }
        for p, (net, m) in zip(paths, loaded, strict=True)
    ]
    extra = {**(extra or {}), "ensemble": members}
    data_ids = {m.get("extra", {}).get("data_id") for _, m in loaded}
    if len(data_ids) == 1 and None not in data_ids:  # trained on the same data: say which
        extra["data_id"] = data_ids.pop()
    return save_checkpoint(out, algo, step=0, training=False, extra=extra)
