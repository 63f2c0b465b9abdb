"""Session 45: a 10,000-robot step's observation against its decisions (one thread; the
generated floor of ``warehouse bench --robots 10000``; CPU ms, median of 20).

    python docs/benchmarks_s45/step_parts.py
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from agents.learned import DEFAULT_WEIGHTS, load_learned_navigator
from warehouse.bench import make_bench_env
from warehouse.core.observe import N_CHANNELS, N_FEATURES, Observer


def ms(f, reps: int = 20) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(reps):
        t0 = time.thread_time()
        f()
        times.append(time.thread_time() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    torch.set_num_threads(1)
    pol = load_learned_navigator(None, str(DEFAULT_WEIGHTS / "cql.json"), device="cpu")
    env = make_bench_env(10_000)
    env.reset_arrays(0)
    sim = env.sim
    observer = Observer(sim, pol.observation)
    for _ in range(20):
        o, m = observer(), sim.action_mask()
        env.step_arrays(*pol.act(sim, o, m))

    o, m = observer(), sim.action_mask()
    slot = sim.target_slots()[1]
    col0 = N_CHANNELS * observer.side**2 + N_FEATURES
    intent = observer._intent
    assert intent is not None
    copy = ms(lambda: o.copy())
    print(f"robots {sim.n_robots}, load average {os.getloadavg()[0]:.2f}")
    print(f"observation: {ms(observer):.2f} ms")
    print(
        f"  its intent channels: {ms(lambda: intent.fill(sim, slot, o.copy(), col0)) - copy:.2f} ms"
    )
    print(f"policy.act: {ms(lambda: pol.act(sim, o, m)):.2f} ms")
    print(f"window values in {{0, 1}}: {np.isin(o[:, : N_CHANNELS * 49], [0, 1]).mean():.3f}")


if __name__ == "__main__":
    main()
