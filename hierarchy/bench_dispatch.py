"""Time the dispatch layer: milliseconds per step spent deciding, with and without task swaps.

``python -m hierarchy.bench_dispatch [--scenarios medium_peak,large] [--steps 400]`` runs each
dispatcher (greedy, Hungarian, PPO) over the rule-based navigator under the ``block`` shield,
with and without :class:`~hierarchy.swaps.TaskSwaps`, and prints the mean and 95th-percentile
wall time of one ``dispatch`` call per step (every step calls it; most steps decide nothing),
after a short untimed run of the same setting. ``--park-idle S`` adds parking
(:mod:`hierarchy.parking`) to every row; ``medium`` is the floor with idle robots to park.
``--network 16,192,1200`` times instead the shipped dispatcher network's logits for that many
deciding robots (all slots valid), member after member and with the members stacked
(:class:`~hierarchy.network._Stacked`), alternating the two, CPU time on one thread.
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

#: name → (scenario, overrides): saturated floors, so dispatchers and swaps have work every step
FLOORS: dict[str, tuple[str, dict[str, Any]]] = {
    "small_peak": ("small", {"tasks.arrival_rate": 1.0}),
    "medium_peak": ("medium", {"tasks.arrival_rate": 2.0}),
    "large": ("large", {}),
    "medium": ("medium", {}),  # arrival-capped: a third of the fleet idle (parking has work)
}


class _Timed:
    """Wraps a dispatcher and records the wall time of every ``dispatch`` call."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.seconds: list[float] = []

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)

    def dispatch(self, sim: Any) -> None:
        t0 = time.perf_counter()
        self.inner.dispatch(sim)
        self.seconds.append(time.perf_counter() - t0)


def _scenario(floor: str, swaps: bool, park: float | None, anticipate: bool) -> tuple[Any, Any]:
    """The scenario of ``floor`` under the ``block`` shield with the given dispatch settings
    (``--park-idle``, ``--anticipate``: named as the flags when wrong)."""
    from scenarios import apply_overrides, load_scenario

    target, overrides = FLOORS[floor]
    sc, src = load_scenario(target)
    extra = {"physics.collisions": "block", "policies.task_swaps": swaps}
    extra |= {"policies.park_idle": park, "policies.anticipate": anticipate}
    names = {"policies.park_idle": "--park-idle", "policies.anticipate": "--anticipate"}
    return apply_overrides(sc, {**overrides, **extra}, src, names), src


def time_dispatch(
    floor: str,
    dispatcher: str,
    swaps: bool,
    steps: int,
    seed: int,
    park: float | None = None,
    anticipate: bool = False,
) -> np.ndarray:
    """Seconds per ``dispatch`` call over one run (``park``: ``policies.park_idle``;
    ``anticipate``: ``policies.anticipate``, pooled dispatchers only)."""
    from agents import make_navigator
    from scenarios import build_floor
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.policies import scenario_dispatcher
    from warehouse.threads import torch_threads

    sc, src = _scenario(floor, swaps, park, anticipate)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    timed = _Timed(scenario_dispatcher(dispatcher, sc, src))
    fleet = Fleet(sim, timed, make_navigator("rule_based"))
    with torch_threads(1):  # one fleet's decisions per step, as in a run
        fleet.reset(seed)
        fleet.run(steps)
    return np.array(timed.seconds)


def time_network(
    robots: int, rounds: int = 5, calls: int | None = None, seed: int = 0
) -> tuple[float, float]:
    """Fastest CPU seconds per ``logits`` call of the shipped dispatcher for ``robots``
    deciding robots, over ``rounds`` alternating rounds of ``calls`` calls (default: about
    5,000 robots' worth): (member after member, stacked)."""
    import torch

    from warehouse.threads import torch_threads

    from .checkpoint import load_policy
    from .network import ScorerEnsemble, encoder_input, valid_prefix
    from .ppo_dispatcher import DEFAULT_WEIGHTS

    net, features, _, _ = load_policy(DEFAULT_WEIGHTS)
    if not isinstance(net, ScorerEnsemble):  # pragma: no cover (the shipped one is)
        raise TypeError("the shipped dispatcher is not an ensemble")
    net.eval()
    g = torch.Generator().manual_seed(seed)
    k = features.slots
    cand = torch.randn(robots, k, net.cfg.n_cand, generator=g)
    glob = torch.randn(1, net.cfg.n_global, generator=g).expand(robots, -1)
    mask = torch.ones(robots, k + 1, dtype=torch.bool)

    def members() -> None:
        x, prefix = encoder_input(cand, glob), valid_prefix(mask)
        torch.stack([m.infer(x, glob, mask, prefix) for m in net.scorers()]).mean(dim=0)

    def stacked() -> None:
        net._stacked().logits(cand, glob, mask, valid_prefix(mask))

    calls = calls or max(3, 5_000 // robots)
    best = [float("inf"), float("inf")]
    with torch_threads(1), torch.no_grad():
        for _ in range(rounds):
            for i, f in enumerate((members, stacked)):
                f()  # warm
                c0 = time.process_time()
                for _ in range(calls):
                    f()
                best[i] = min(best[i], (time.process_time() - c0) / calls)
    return best[0], best[1]


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (one-line usage errors, exit code 2)."""
    from warehouse.cli.checks import OneLineParser

    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default=",".join(FLOORS), help=f"Of: {', '.join(FLOORS)}.")
    p.add_argument("--dispatchers", default="greedy,hungarian,ppo")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--park-idle", type=float, default=None, help="Parking after S seconds idle.")
    p.add_argument("--anticipate", action="store_true", help="Anticipation (pooled dispatchers).")
    p.add_argument("--network", default=None, help="Robot counts: time the network instead.")
    return p


def main(argv: list[str] | None = None) -> None:
    from hierarchy import DISPATCHERS
    from warehouse.cli.checks import name_list
    from warehouse.errors import InputError
    from warehouse.policies import scenario_dispatcher

    p = parser()
    args = p.parse_args(argv)
    if args.network is not None:
        try:
            counts = [int(c) for c in name_list(args.network, "--network")]
        except (InputError, ValueError):
            p.error(f"--network: expected whole numbers ≥ 1, got {args.network!r}")
        if min(counts) < 1:
            p.error(f"--network: expected whole numbers ≥ 1, got {args.network!r}")
        print("| robots | member after member, µs | stacked, µs | stacked / members |")
        print("|---:|---:|---:|---:|")
        for robots in counts:
            members, stacked = time_network(robots)
            ratio = stacked / members
            print(f"| {robots} | {members * 1e6:.0f} | {stacked * 1e6:.0f} | {ratio:.2f} |")
        return
    try:
        floors = name_list(args.scenarios, "--scenarios")
        dispatchers = name_list(args.dispatchers, "--dispatchers")
    except InputError as exc:
        p.error(exc.one_line())
    if bad := [f for f in floors if f not in FLOORS]:
        p.error(f"--scenarios: unknown {', '.join(bad)} (known: {', '.join(FLOORS)})")
    if bad := [d for d in dispatchers if d not in DISPATCHERS]:
        p.error(f"--dispatchers: unknown {', '.join(bad)} (known: {', '.join(DISPATCHERS)})")
    for flag, value, low in (("--steps", args.steps, 1), ("--seed", args.seed, 0)):
        if value < low:
            p.error(f"{flag}: expected a whole number ≥ {low}, got {value}")
    try:  # a bad --park-idle, or --anticipate with a dispatcher without an order pool
        for floor in floors:
            sc, src = _scenario(floor, True, args.park_idle, args.anticipate)
            for name in dispatchers:
                scenario_dispatcher(name, sc, src, strict=True)
    except InputError as exc:
        if exc.field == "policies.anticipate":  # the flag set it, not the floor's file
            exc = InputError(None, "--anticipate", exc.message)
        p.error(exc.one_line())
    if args.park_idle is not None:
        print(f"Parking after {args.park_idle:g} s idle in every row.\n")
    if args.anticipate:
        print("Anticipation in every row.\n")
    print("| floor | dispatcher | swaps | ms per step, mean | ms per step, p95 |")
    print("|---|---|---|---:|---:|")
    for floor in floors:
        for name in dispatchers:
            for swaps in (False, True):
                opts = (args.park_idle, args.anticipate)
                time_dispatch(floor, name, swaps, 20, args.seed, *opts)  # warm up: compile, caches
                s = time_dispatch(floor, name, swaps, args.steps, args.seed, *opts) * 1000
                on = "on" if swaps else "off"
                print(f"| {floor} | {name} | {on} | {s.mean():.3f} | {np.percentile(s, 95):.3f} |")


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
