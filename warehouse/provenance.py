"""The network files a policy's parts loaded: the one record of weights that every output keeps
(``warehouse run``'s ``report.json``, ``hierarchy.evaluate``'s result rows, ``shadow.json``).

Per part (``dispatcher``, ``navigator``) that runs a network::

    {"file": "agents/weights/cql_pibt.json",   # the checkpoint JSON it loaded
     "sha256": "...",                          # of its .safetensors weights (full hex digest)
     "json_sha256": "..."}                     # of the JSON

found through what the part itself says it loaded (its ``source``). A part that was given a
``checkpoint=`` but does not say what it loaded (an installed package's, without ``source``)
records the checkpoint it was given instead, ``{"checkpoint", "checkpoint_sha256"}`` (the
digest where it is a file), so nothing it ran is left out. Parts without a network record
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: the parts of a policy, in the order of a ``(dispatcher, navigator)`` pair
PARTS = ("dispatcher", "navigator")


def loaded_weights(
    part: Any, collisions: str, checkpoint: str | Path | None = None
) -> dict[str, str] | None:
    """The record (module docstring) of the network a dispatcher or navigator runs on a floor
    under ``collisions``, found through its wrappers (a starvation guard, task swaps or
    parking: ``inner``; a sampling navigator: ``base``; a batched one: ``scorer``; one network
    per collision mode: ``policy_for``). ``checkpoint``: what the part was given, recorded when
    it names no ``source``; ``None`` for a part that runs no network."""
    from .atomic import sha256_file
    from .errors import display_path

    node, seen = part, set()
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if hasattr(node, "policy_for"):
            node = node.policy_for(collisions)
            continue
        if (source := getattr(node, "source", None)) is not None:
            json_path = Path(source)
            weights = json_path.with_suffix(".safetensors")
            record = {"file": display_path(json_path)}
            if weights.is_file():
                record["sha256"] = sha256_file(weights)
            if json_path.is_file():
                record["json_sha256"] = sha256_file(json_path)
            return record
        node = next(
            (getattr(node, a) for a in ("inner", "base", "scorer") if hasattr(node, a)), None
        )
    if checkpoint is None:
        return None
    given = Path(checkpoint)
    record = {"checkpoint": display_path(given)}
    if given.is_file():
        record["checkpoint_sha256"] = sha256_file(given)
    return record


def parts_weights(
    parts: tuple[Any, Any],
    collisions: str,
    checkpoints: Mapping[str, str | Path] | None = None,
) -> dict[str, dict[str, str]]:
    """:func:`loaded_weights` of a ``(dispatcher, navigator)`` pair, by part (``checkpoints``:
    the ``checkpoint=`` each part was given, by part); parts without a network left out."""
    given = checkpoints or {}
    found = {
        name: loaded_weights(p, collisions, given.get(name))
        for name, p in zip(PARTS, parts, strict=True)
    }
    return {name: w for name, w in found.items() if w is not None}


#: the digests of a record, the one that identifies its network first
DIGEST_KEYS = ("sha256", "checkpoint_sha256", "json_sha256")


def network_file(record: Any) -> str | None:
    """The checkpoint file a ``weights`` record names: the one its part loaded, else the one it
    was given (``None``: no record, or one that names no file). It is as the run's working
    folder saw it, so one network run from two folders is named two ways
    (:func:`same_network`)."""
    if not isinstance(record, Mapping):
        return None
    name = record.get("file") or record.get("checkpoint")
    return name if isinstance(name, str) else None


def network_digest(record: Any) -> str | None:
    """The sha256 that identifies a ``weights`` record's network: of the weights its part
    loaded, else of the checkpoint it was given, else of the JSON it loaded (the first of
    :data:`DIGEST_KEYS` it has); an older ``hierarchy.evaluate`` row's digest text as it is;
    ``None`` for a record without one."""
    if isinstance(record, str):
        return record
    if not isinstance(record, Mapping):
        return None
    return next((d for k in DIGEST_KEYS if isinstance(d := record.get(k), str) and d), None)


def same_network(a: Any, b: Any) -> bool:
    """Whether two ``weights`` records (of one part) say the same network: equal records, or
    records with the same digests that name the file another way (relative to another working
    folder, or through a link)."""
    if a == b:
        return True
    if not (isinstance(a, Mapping) and isinstance(b, Mapping)):
        return False
    digests = [{k: r.get(k) for k in DIGEST_KEYS} for r in (a, b)]
    return network_digest(a) is not None and digests[0] == digests[1]


def given_checkpoints(spec: Any, scenario: Any, source: Path | None) -> dict[str, Path]:
    """The ``checkpoint=`` :func:`warehouse.policies.build_policy` gives each part of ``spec``
    from ``scenario`` (its file ``source``): its ``policies.<part>_checkpoint``, by part."""
    from .policies import checkpoint_kwargs

    names = (spec.dispatcher, spec.navigator)
    return {
        part: path
        for part, name in zip(PARTS, names, strict=True)
        if (path := checkpoint_kwargs(part, name, scenario, source).get("checkpoint"))
    }


def policy_weights(
    spec: Any,
    scenario: Any,
    source: Path | None,
    parts: tuple[Any, Any],
    checkpoints: Mapping[str, str | Path] | None = None,
) -> dict[str, dict[str, str]]:
    """:func:`parts_weights` of the parts :func:`warehouse.policies.build_policy` built for
    ``spec`` from ``scenario`` (its file ``source``), under the policy's collision mode; the
    checkpoints the parts were given are the scenario's (:func:`given_checkpoints`), unless
    ``checkpoints`` says."""
    if checkpoints is None:
        checkpoints = given_checkpoints(spec, scenario, source)
    return parts_weights(parts, spec.collisions_for(scenario), checkpoints)
