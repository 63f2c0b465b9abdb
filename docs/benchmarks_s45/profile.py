"""Session 45: where a 10,000-robot ``policy.act`` of ``cql.json`` spends its time (one thread;
torch's profiler, 40 calls; synthetic observations as ``python -m agents.batched`` makes them).

    python docs/benchmarks_s45/profile.py
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from agents.learned import DEFAULT_WEIGHTS, load_learned_navigator


def _cpu(f) -> float:  # type: ignore[no-untyped-def]
    t0 = time.thread_time()
    f()
    return time.thread_time() - t0


def main() -> None:
    torch.set_num_threads(1)
    pol = load_learned_navigator(None, str(DEFAULT_WEIGHTS / "cql.json"), device="cpu")
    n, calls = 10_000, 40
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (n, 502)).astype(np.float32)
    mask = rng.random((n, 5)) < 0.7
    mask[:, 0] = True
    for _ in range(5):
        pol.act(None, obs, mask)
    t0 = time.thread_time()
    for _ in range(calls):
        pol.act(None, obs, mask)
    print(f"CPU ms per call, unprofiled: {(time.thread_time() - t0) / calls * 1e3:.2f}")
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(calls):
            pol.act(None, obs, mask)
    rows = prof.key_averages(group_by_input_shape=True)
    total = sum(r.self_cpu_time_total for r in rows)
    print(f"profiled torch ops: {total / calls / 1e3:.2f} ms per call")
    for r in sorted(rows, key=lambda r: -r.self_cpu_time_total)[:10]:
        share = r.self_cpu_time_total / total
        ms = r.self_cpu_time_total / calls / 1e3
        print(f"{r.key:>18} {ms:6.2f} ms {100 * share:5.1f} %  {r.input_shapes}")

    # MKL's single-precision rate on one large square product, for comparison
    a, b, c = torch.randn(2048, 2048), torch.randn(2048, 2048), torch.empty(2048, 2048)
    torch.mm(a, b, out=c)
    best = min(_cpu(lambda: torch.mm(a, b, out=c)) for _ in range(5))
    print(f"2048^3 product: {2048**3 / best / 1e9:.1f} G multiply-adds per CPU-second")
    window = n * 502 * 128
    x, w, o = torch.randn(n, 502), torch.randn(502, 128), torch.empty(n, 128)
    times = sorted(_cpu(lambda: torch.mm(x, w, out=o)) for _ in range(20))
    print(
        f"window layer: {window / 1e6:.0f} M multiply-adds per call; the product alone "
        f"{window / times[0] / 1e9:.1f} G/s (best of 20), {window / times[10] / 1e9:.1f} (median)"
    )


if __name__ == "__main__":
    main()
