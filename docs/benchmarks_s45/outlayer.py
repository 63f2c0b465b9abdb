"""Session 45: layouts of one member's output layer (64 -> 5) at 10,000 rows: the transposed
views (kept), a row-major copy, zero columns to 8 or 16, and the product transposed, ``(A, B)``.
Prints whether each gives the kept layout's bits at several row counts, then median ms
(thread CPU on one thread, wall on two) over 20 alternated blocks.

    python docs/benchmarks_s45/outlayer.py THREADS
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from agents.checkpoint import load_network


def main() -> None:
    th = int(sys.argv[1])
    torch.set_num_threads(th)
    net = load_network("agents/weights/cql.json")[0].eval()
    bias, wt = net._inference().torsos[0][-1]  # (5,), (64, 5) view
    w8, b8 = torch.zeros(64, 8), torch.zeros(8)
    w8[:, :5], b8[:5] = wt, bias
    w16, b16 = torch.zeros(64, 16), torch.zeros(16)
    w16[:, :5], b16[:5] = wt, bias
    wc, wT, bcol = wt.contiguous(), wt.t().contiguous(), bias[:, None].contiguous()
    variants = {
        "views": lambda z: torch.addmm(bias, z, wt),
        "row-major": lambda z: torch.addmm(bias, z, wc),
        "pad 8": lambda z: torch.addmm(b8, z, w8)[:, :5],
        "pad 16": lambda z: torch.addmm(b16, z, w16)[:, :5],
        "transposed": lambda z: torch.addmm(bcol, wT, z.t()).t(),
    }
    rng = np.random.default_rng(0)
    zs = torch.relu(torch.from_numpy(rng.standard_normal((10_003, 64)).astype(np.float32)))
    with torch.inference_mode():
        for name, f in variants.items():
            differ = [
                n
                for n in (16, 17, 100, 1000, 3333, 10_000, 10_001, 10_003)
                if not torch.equal(f(zs[:n]), variants["views"](zs[:n]))
            ]
            print(f"threads={th} {name}: rows that differ from the views: {differ}")
        z = zs[:10_000].contiguous()
        clock = time.thread_time if th == 1 else time.perf_counter
        res: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(20):
            for name, f in variants.items():
                f(z)
                c0 = clock()
                for _ in range(10):
                    f(z)
                res[name].append((clock() - c0) / 10 * 1e3)
    print(", ".join(f"{k} {np.median(v):.3f} ms" for k, v in res.items()))


if __name__ == "__main__":
    main()
