"""Session 45: the scorer's tail, torch's ``masked_fill_`` + ``argmax`` + copies against
``agents.batched.masked_argmax`` (median µs per call over 30 blocks; thread CPU on one thread,
wall on two).

    python docs/benchmarks_s45/tail.py THREADS
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from agents.batched import masked_argmax


def main() -> None:
    th = int(sys.argv[1])
    torch.set_num_threads(th)
    clock = time.thread_time if th == 1 else time.perf_counter
    for n in (10, 100, 10000):
        rng = np.random.default_rng(0)
        s = torch.from_numpy(rng.standard_normal((n, 5)).astype(np.float32))
        mask = rng.random((n, 5)) < 0.7
        m = torch.from_numpy(mask)

        def torch_tail(s=s, m=m):  # type: ignore[no-untyped-def]
            t = s.masked_fill(~m, -torch.inf)
            a = t.argmax(dim=1)
            return t.numpy().copy(), a.numpy().astype(np.int64)

        def numba_tail(s=s, mask=mask):  # type: ignore[no-untyped-def]
            return masked_argmax(s.numpy(), mask)

        res: dict[str, list[float]] = {"torch": [], "numba": []}
        reps = max(20, 100000 // n)
        for _ in range(30):
            for name, f in (("torch", torch_tail), ("numba", numba_tail)):
                f()
                c0 = clock()
                for _ in range(reps):
                    f()
                res[name].append((clock() - c0) / reps * 1e6)
        text = ", ".join(f"{k} {np.median(v):.1f} µs" for k, v in res.items())
        print(f"threads={th} robots={n}: {text}")


if __name__ == "__main__":
    main()
