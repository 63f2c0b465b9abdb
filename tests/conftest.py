"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Public benchmark maps (MovingAI, LoRR, RHCR, POGEMA), outside the repository.
SHARED_MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"


@pytest.fixture(scope="session")
def shared_maps() -> Path:
    """The folder of public benchmark maps; skips the test when it is absent."""
    if not SHARED_MAPS.is_dir():
        pytest.skip(f"public benchmark maps not found at {SHARED_MAPS}")
    return SHARED_MAPS
