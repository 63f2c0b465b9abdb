"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Public benchmark maps (MovingAI, LoRR, RHCR, POGEMA), outside the repository.
SHARED_MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
#: The environment variable naming another folder of those maps (as ``hierarchy.evaluate``'s
#: ``--maps`` default); set but empty counts as not set.
MAPS_VARIABLE = "WAREHOUSE_MAPS"


def shared_maps_folder() -> Path:
    """The folder of public benchmark maps: ``$WAREHOUSE_MAPS`` where it is set, else
    :data:`SHARED_MAPS`. The test fails where the variable names no folder (it would skip every
    map test unnoticed) and skips where the default folder is absent (a fresh clone)."""
    given = os.environ.get(MAPS_VARIABLE)
    if given:
        folder = Path(given)
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "no such folder"
            pytest.fail(
                f"{MAPS_VARIABLE}={given}: {what} (it names the public benchmark maps; unset it "
                f"to use {SHARED_MAPS})",
                pytrace=False,
            )
        return folder
    if not SHARED_MAPS.is_dir():
        pytest.skip(f"public benchmark maps not found at {SHARED_MAPS} (nor {MAPS_VARIABLE} set)")
    return SHARED_MAPS


@pytest.fixture(scope="session")
def shared_maps() -> Path:
    """The folder of public benchmark maps (:func:`shared_maps_folder`)."""
    return shared_maps_folder()
