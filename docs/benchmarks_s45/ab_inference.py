"""Session 45: this tree's ``NetworkScorer`` call against the session's start, alternated in one
process (``cql.json``, synthetic observations as ``python -m agents.batched`` makes them).

The start (``c4adbf9``) is rebuilt here from the same derived weights: its ``_Inference.scores``
(transposed weight views, one stacked window product) and its torch tail (``masked_fill_``,
``argmax``, copies). Both must give the same bits; then each is timed in blocks, alternated.
One thread: thread CPU time; two threads: wall time.

    python docs/benchmarks_s45/ab_inference.py THREADS ROBOTS ROUNDS
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

from agents.learned import DEFAULT_WEIGHTS, load_learned_navigator
from agents.networks import N_FEATURES, Workspace, _addmm


def main() -> None:
    threads, n, rounds = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)
    pol = load_learned_navigator(None, str(DEFAULT_WEIGHTS / "cql.json"), device="cpu")
    scorer = pol.scorer
    net = scorer.net  # type: ignore[attr-defined]
    inf = net._inference()
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (n, net.cfg.obs_dim)).astype(np.float32)
    mask = rng.random((n, net.cfg.n_actions)) < 0.7
    mask[:, 0] = True
    base_ws = Workspace()

    def base_scores(x: torch.Tensor) -> torch.Tensor:
        """``_Inference.scores`` as it was at the session's start."""
        d, b = inf.width, inf.base
        feats = x[:, b : b + N_FEATURES]
        enc = _addmm(inf.enc_bias, x, inf.enc_wt, base_ws, "enc").relu_()
        total = None
        for k, (first, rest) in enumerate(zip(inf.first, inf.torsos, strict=True)):
            bias, we, wf = first
            z = _addmm(bias, enc[:, k * d : (k + 1) * d], we, base_ws, f"m{k}.h0").addmm_(feats, wf)
            z = z.relu_()
            for i, (bias, wt) in enumerate(rest[:-1], start=1):
                z = _addmm(bias, z, wt, base_ws, f"m{k}.h{i}").relu_()
            bias, wt = rest[-1]
            out = _addmm(bias, z, wt, base_ws, f"m{k}.scores")
            total = out if total is None else total.add_(out)
        assert total is not None
        return total.div_(inf.members) if inf.members > 1 else total

    def base_call() -> tuple[np.ndarray, np.ndarray]:
        """``NetworkScorer.__call__`` as it was (CPU, no lane-view robots)."""
        assert obs.shape[1] == net.cfg.obs_dim and scorer.lane_view.robots(None) is None
        with torch.inference_mode():
            net._inference()  # the kept weights' check, as NavigatorNet.scores does
            x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
            m = torch.from_numpy(np.ascontiguousarray(mask, dtype=bool))
            s = base_scores(x).masked_fill_(~m, -torch.inf)
            a = s.argmax(dim=1)
            return s.cpu().numpy().copy(), a.cpu().numpy().astype(np.int64)

    def new_call() -> tuple[np.ndarray, np.ndarray]:
        return scorer(None, obs, mask)  # type: ignore[return-value]

    (bs, ba), (ns, na) = base_call(), new_call()
    assert np.array_equal(bs.view(np.int32), ns.view(np.int32)) and np.array_equal(ba, na)
    clock = time.thread_time if threads == 1 else time.perf_counter
    times: dict[str, list[float]] = {"base": [], "new": []}
    reps = max(3, 30_000 // n)
    for _ in range(rounds):
        for name, call in (("base", base_call), ("new", new_call)):
            call()
            t0 = clock()
            for _ in range(reps):
                call()
            times[name].append((clock() - t0) / reps * 1e3)
    for name, ms in times.items():
        v = np.array(ms)
        rate = n / v / 1e3
        print(
            f"threads={threads} robots={n} {name}: ms/call {v.mean():.3f} ± {v.std():.3f}; "
            f"M decisions/s {rate.mean():.3f} ± {rate.std():.3f}"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
