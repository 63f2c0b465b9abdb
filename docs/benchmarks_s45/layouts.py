"""Session 45: ``NavigatorNet.scores`` with the row-major weight copies against the transposed
views, alternated in one process (``cql.json``; thread CPU time on one thread, wall on more).

    python docs/benchmarks_s45/layouts.py THREADS ROBOTS[,ROBOTS...] ROUNDS
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

import agents.networks as N
from agents.checkpoint import load_network


def main() -> None:
    th = int(sys.argv[1])
    torch.set_num_threads(th)
    net = load_network("agents/weights/cql.json")[0].eval()
    inf = net._inference()
    clock = time.thread_time if th == 1 else time.perf_counter
    rows = inf.enc_w, inf.first_rows, inf.torsos_rows
    views = inf.enc_wt, inf.first, inf.torsos
    for n in [int(a) for a in sys.argv[2].split(",")]:
        x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (n, 502)).astype(np.float32))
        ws = N.Workspace()
        res: dict[str, list[float]] = {"views": [], "rowmajor": []}
        reps = max(3, 30000 // n)
        with torch.inference_mode():
            for _ in range(int(sys.argv[3])):
                for k in res:
                    inf.enc_w, inf.first_rows, inf.torsos_rows = views if k == "views" else rows
                    net.scores(x, ws)
                    c0 = clock()
                    for _ in range(reps):
                        net.scores(x, ws)
                    res[k].append((clock() - c0) / reps * 1e3)
        inf.enc_w, inf.first_rows, inf.torsos_rows = rows
        text = " ".join(f"{k} {np.mean(v):.3f} ± {np.std(v):.3f} ms" for k, v in res.items())
        print(th, n, text, f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
