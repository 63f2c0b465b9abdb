"""A small logged dataset to corrupt in tests of the dataset loader."""

from __future__ import annotations

import shutil
from pathlib import Path

from agents.dataset import CollectConfig, collect


def collect_tiny(out: Path) -> Path:
    """Four steps of one ``tiny`` episode, in shards of ten rows, collected into ``out``."""
    collect(CollectConfig(targets=("tiny",), episodes=1, steps=4, shard_size=10), out)
    return out


def copy_dataset(src: Path, dst: Path) -> Path:
    """A copy of the dataset folder ``src`` at ``dst``, to edit."""
    shutil.copytree(src, dst)
    return dst
