"""Where the public benchmark maps (MovingAI, LoRR, RHCR, POGEMA) are: the folder the
environment variable :data:`MAPS_VARIABLE` names, else :data:`SHARED_MAPS`, ``../shared/maps``
beside the checkout. ``python -m hierarchy.evaluate`` (``--maps``'s default) and the tests read
them from there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The folder of the public benchmark maps beside the checkout (outside the repository).
SHARED_MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
#: The environment variable naming another folder of those maps; set but empty counts as not set.
MAPS_VARIABLE = "WAREHOUSE_MAPS"


def named_maps_folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder :data:`MAPS_VARIABLE` names in ``environ`` (default: ``os.environ``), or
    ``None`` where it is not set or empty. Whether that folder exists is the caller's check (each
    reports it its own way)."""
    given = (os.environ if environ is None else environ).get(MAPS_VARIABLE)
    return Path(given) if given else None


def maps_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The folder of the public benchmark maps: :func:`named_maps_folder`, else
    :data:`SHARED_MAPS`."""
    return named_maps_folder(environ) or SHARED_MAPS
