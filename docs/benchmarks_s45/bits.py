"""Session 45: the inference path against the plain path, bit for bit, at every row count 1-299
and selected ones up to 16,384, for the shipped networks and two built ones, with random and
0/1 observations; prints the (network, rows) pairs that differ. A third argument sets
``agents.networks.LARGE_ROWS`` (1: the row-major weights at every row count).

    python docs/benchmarks_s45/bits.py THREADS [SEED [LARGE_ROWS]]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import agents.networks
from agents.checkpoint import load_network
from agents.networks import NavigatorNet, NetworkConfig, Workspace

LARGE = (300, 383, 511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 5000)
SIZES = [*range(1, 300), *LARGE, 9999, 10000, 10001, 10003, 16384]


def main() -> None:
    torch.set_num_threads(int(sys.argv[1]))
    if len(sys.argv) > 3:
        agents.networks.LARGE_ROWS = int(sys.argv[3])
    weights = sorted(Path("agents/weights").glob("*.json"))
    nets = [(p.stem, load_network(p)[0].eval()) for p in weights]
    torch.manual_seed(0)
    cfg = NetworkConfig(heads=2, members=3, intent=True, hidden=(32, 16))
    nets.append(("deep", NavigatorNet(cfg).eval()))
    nets.append(("single", NavigatorNet(NetworkConfig(heads=1, members=1)).eval()))
    rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    bad = []
    for name, net in nets:
        ws = Workspace()
        shape = (max(SIZES), net.cfg.obs_dim)
        x1 = torch.from_numpy(rng.random(shape, dtype=np.float32) * 2 - 0.5)
        x2 = torch.from_numpy((rng.random(shape) < 0.2).astype(np.float32))
        with torch.inference_mode():
            for xx in (x1, x2):
                for n in SIZES:
                    if not torch.equal(net.scores(xx[:n]), net.scores(xx[:n], ws)):
                        bad.append((name, n))
    print("threads", torch.get_num_threads(), "differ:", sorted(set(bad)))


if __name__ == "__main__":
    main()
