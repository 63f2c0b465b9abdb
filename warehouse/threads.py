"""torch's intra-op thread count, set for a block and given back after it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int = 1, *, only_if_loaded: bool = False) -> Iterator[None]:
    """Run the block with torch on ``n`` intra-op threads, then give the caller's count back.

    ``n`` ≤ 0 leaves the count as it is. With ``only_if_loaded`` it does nothing when torch is
    not imported yet, so that a run of rule-based policies never imports it.

    Simulation runs use one thread: learned policies decide for one fleet per step (tens to a
    few thousand robots), where torch's threads cost more than they save (a 30-robot
    hierarchical run was 6× slower with two threads on a busy 2-core machine).
    """
    if n <= 0 or (only_if_loaded and "torch" not in sys.modules):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
