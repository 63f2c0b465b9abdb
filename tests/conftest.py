"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# (the tests import these from here: test_session43_frontends.py)
from warehouse.maps import MAPS_VARIABLE, SHARED_MAPS, maps_folder, named_maps_folder


def shared_maps_folder() -> Path:
    """The folder of public benchmark maps (:func:`warehouse.maps.maps_folder`:
    ``$WAREHOUSE_MAPS`` where it is set, else :data:`SHARED_MAPS`). The test fails where the
    variable names no folder (it would skip every map test unnoticed) and skips where the
    default folder is absent (a fresh clone)."""
    folder = maps_folder()
    if named_maps_folder() is not None:
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "no such folder"
            pytest.fail(
                f"{MAPS_VARIABLE}={os.environ[MAPS_VARIABLE]}: {what} (it names the public "
                f"benchmark maps; unset it to use {SHARED_MAPS})",
                pytrace=False,
            )
        return folder
    if not folder.is_dir():
        pytest.skip(f"public benchmark maps not found at {SHARED_MAPS} (nor {MAPS_VARIABLE} set)")
    return folder


@pytest.fixture(scope="session")
def shared_maps() -> Path:
    """The folder of public benchmark maps (:func:`shared_maps_folder`)."""
    return shared_maps_folder()
