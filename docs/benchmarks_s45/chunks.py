"""Session 45: the whole network over the 10,000 rows at once against 2-16 equal row chunks
(one thread, thread CPU ms over 30 alternated blocks; ``cql.json``). Asserts the same bits.

    python docs/benchmarks_s45/chunks.py
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch

from agents.checkpoint import load_network
from agents.networks import Workspace


def main() -> None:
    torch.set_num_threads(1)
    net = load_network("agents/weights/cql.json")[0].eval()
    inf = net._inference()
    n = 10000
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (n, 502)).astype(np.float32))
    out = torch.empty(n, 5)
    wss: dict[tuple[int, int], Workspace] = {}
    ws = Workspace()

    def chunked(parts: int) -> torch.Tensor:
        bounds = np.linspace(0, n, parts + 1).astype(int)
        for i, (a, b) in enumerate(itertools.pairwise(bounds)):
            out[a:b] = inf.scores(x[a:b], wss.setdefault((parts, i), Workspace()))
        return out

    calls = {"whole": lambda: inf.scores(x, ws)}
    calls.update({f"{p} chunks": (lambda p=p: chunked(p)) for p in (2, 4, 8, 16)})
    with torch.inference_mode():
        ref = net.scores(x).clone()
        for name, f in calls.items():
            assert torch.equal(f(), ref), name
        res: dict[str, list[float]] = {k: [] for k in calls}
        for _ in range(30):
            for name, f in calls.items():
                f()
                c0 = time.thread_time()
                for _ in range(3):
                    f()
                res[name].append((time.thread_time() - c0) / 3 * 1e3)
    for name, v in res.items():
        print(f"{name}: median {np.median(v):.2f} ms, mean {np.mean(v):.2f} ± {np.std(v):.2f}")


if __name__ == "__main__":
    main()
