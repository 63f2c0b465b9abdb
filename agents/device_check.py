"""One prepared check of the learned parts on an accelerator: agreement, speed, training.

``python -m agents.device_check --out DIR`` runs, on the device ``--device`` names (``auto``: the
GPU when there is one), each in a few seconds to a minute:

1. **agreement** — every shipped navigator network scores the same observations on the device
   and on the CPU (random observations, and those of a ``medium`` fleet after 50 steps): the
   share of robots whose chosen action agrees, and the largest score difference. On the CPU the
   device path is the plain path's bit for bit, so both are exact there;
2. **inference** — :func:`agents.batched.benchmark` decisions per second of the hierarchy's
   navigator ensemble (``cql_pibt``) and of ``cql`` at 10 to 100,000 robots;
3. **fleet step** — a whole hierarchical fleet step (PPO dispatcher, navigator ensemble, PIBT)
   on the built-in ``large`` scenario (1,200 robots), as ``warehouse bench --scenario large
   --policy hierarchical`` times it (the navigator where a run puts it: the GPU when there is
   one, whatever ``--device`` says);
4. **training** — offline CQL gradient updates a second (the shipped network's shape, batch
   256 and 4,096, synthetic transitions) on the device and on the CPU.

It writes ``device_check.json`` (every figure, the machine and the versions) and
``device_check.md`` (the tables, ready for docs/benchmarks.md) into ``DIR``, which must not
exist yet. ``--quick`` shrinks every part (a smoke run, as the tests do). Nothing here draws from
a simulation's RNG but the fleets it runs, which are seeded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .batched import BatchedPolicy, NetworkScorer, benchmark, pick_device
from .learned import DEFAULT_WEIGHTS

#: the shipped navigator networks, checked for agreement
NETWORKS = ("cql_pibt", "cql", "cql_physical", "bc")


def _load(name: str, device: torch.device) -> Any:
    from .checkpoint import load_network

    net, _ = load_network(DEFAULT_WEIGHTS / f"{name}.json", device=device)
    return net.eval()


def _fleet_observations(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Observations and masks of a ``medium`` fleet (rule-based, seed 0) after 50 steps, in the
    shipped networks' layout (radius 3, intent channels), repeated up to ``rows``."""
    import warehouse
    from agents import RuleBasedNavigator
    from warehouse.config import ObservationConfig
    from warehouse.core.observe import Observer

    env = warehouse.make_env("medium", collisions="pibt")
    nav = RuleBasedNavigator()
    nav.reset(0)
    obs, mask = env.reset_arrays(0)
    for _ in range(50):
        actions, prefs = nav.act(env.sim, obs, mask)
        obs, mask, _ = env.step_arrays(actions, prefs)
    layout = Observer(env.sim, ObservationConfig(radius=3, intent=True))
    full = layout.start().result()
    mask = env.sim.action_mask()
    reps = -(-rows // full.shape[0])
    return np.tile(full, (reps, 1))[:rows], np.tile(mask, (reps, 1))[:rows]


def agreement(device: torch.device, rows: int) -> list[dict[str, Any]]:
    """Per network and input: device against CPU scores (module docstring, part 1)."""
    rng = np.random.default_rng(0)
    fleet_obs, fleet_mask = _fleet_observations(rows)
    out = []
    for name in NETWORKS:
        cpu = _load(name, torch.device("cpu"))
        here = BatchedPolicy(NetworkScorer(_load(name, device), device=device), name=name)
        dim, n_actions = cpu.cfg.obs_dim, cpu.cfg.n_actions
        random_obs = rng.uniform(-1, 1, (rows, dim)).astype(np.float32)
        random_mask = np.ones((rows, n_actions), dtype=bool)
        for source, obs, mask in (
            ("random", random_obs, random_mask),
            ("medium fleet", fleet_obs, fleet_mask),
        ):
            with torch.inference_mode():
                ref = cpu.scores(torch.from_numpy(obs)).masked_fill(
                    ~torch.from_numpy(mask), -torch.inf
                )
            ref_np = ref.numpy()
            actions, scores = here.act(None, obs, mask)
            finite = np.isfinite(ref_np)
            out.append(
                {
                    "network": name,
                    "observations": source,
                    "rows": rows,
                    "same_action_share": float(np.mean(actions == ref_np.argmax(axis=1))),
                    "max_abs_score_diff": float(np.abs(scores[finite] - ref_np[finite]).max()),
                }
            )
    return out


def inference(device: torch.device, robots: tuple[int, ...], seconds: float) -> list[dict]:
    """Decisions per second of ``cql_pibt`` and ``cql`` on the device (part 2)."""
    out = []
    for name in ("cql_pibt", "cql"):
        net = _load(name, device)
        policy = BatchedPolicy(NetworkScorer(net, device=device), name=name)
        for row in benchmark(
            policy, net.cfg.obs_dim, net.cfg.n_actions, robots, min_seconds=seconds
        ):
            out.append({"network": name, **row})
    return out


def fleet_step(scenario: str, steps: int) -> dict[str, Any]:
    """A hierarchical fleet step on ``scenario``, as a run makes it: the navigator on the GPU
    when there is one, else on the CPU (part 3)."""
    from warehouse.bench import run_policy_bench
    from warehouse.runner import prepare

    exp = prepare(scenario, policies=["hierarchical"], pairs=False)
    result = run_policy_bench(exp, 0, steps, warmup=10)
    return {
        "scenario": result.scenario,
        "navigator_device": str(pick_device(None)),
        "robots": result.robots,
        "steps": result.steps,
        "ms_per_step": result.ms_per_step,
        "cpu_ms_per_step": result.cpu_ms_per_step,
        "agent_steps_per_s": result.agent_steps_per_s,
    }


def training(device: torch.device, batches: tuple[int, ...], updates: int) -> list[dict]:
    """Offline CQL updates a second, the shipped network's shape (part 4)."""
    from .checkpoint import algorithms
    from .networks import Batch, NetworkConfig

    cfg_cls, algo_cls = algorithms()["cql"]
    net = NetworkConfig(radius=3, intent=True, heads=2)
    out = []
    for where in dict.fromkeys((torch.device("cpu"), device)):
        for size in batches:
            torch.manual_seed(0)
            algo = algo_cls(cfg_cls(batch_size=size, network=net), device=where)

            def batch(gen: torch.Generator, size: int = size, where: torch.device = where) -> Batch:
                d, a = net.obs_dim, net.n_actions
                mask = torch.ones(size, a, dtype=torch.bool)
                return Batch(
                    obs=torch.rand(size, d, generator=gen).to(where),
                    action=torch.randint(0, a, (size,), generator=gen).to(where),
                    reward=torch.rand(size, generator=gen).to(where),
                    next_obs=torch.rand(size, d, generator=gen).to(where),
                    terminated=torch.zeros(size, dtype=torch.bool).to(where),
                    mask=mask.to(where),
                    next_mask=mask.to(where),
                )

            gen = torch.Generator().manual_seed(0)
            data = [batch(gen) for _ in range(4)]
            for b in data:  # warm-up (kernels, allocator)
                algo.update(b)
            _sync(where)
            t0 = time.perf_counter()
            for i in range(updates):
                algo.update(data[i % len(data)])
            _sync(where)
            dt = time.perf_counter() - t0
            out.append(
                {
                    "device": str(where),
                    "batch": size,
                    "updates": updates,
                    "updates_per_s": updates / dt,
                    "transitions_per_s": updates * size / dt,
                }
            )
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def machine(device: torch.device) -> dict[str, Any]:
    from warehouse.bench import machine_info

    info: dict[str, Any] = {
        **machine_info(),
        "torch": torch.__version__,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info |= {
            "gpu": props.name,
            "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "capability": f"{props.major}.{props.minor}",
            "cuda": torch.version.cuda,
        }
    return info


def markdown(report: dict[str, Any]) -> str:
    """The report's tables (module docstring)."""
    m = report["machine"]
    lines = [
        f"Machine: {', '.join(f'{k}={v}' for k, v in m.items())}",
        "",
        "| network | observations | rows | same action | max score difference |",
        "|---|---|---:|---:|---:|",
    ]
    for r in report["agreement"]:
        lines.append(
            f"| {r['network']} | {r['observations']} | {r['rows']:,} | "
            f"{r['same_action_share']:.4f} | {r['max_abs_score_diff']:.2e} |"
        )
    lines += ["", "| network | robots | ms a call | decisions / s |", "|---|---:|---:|---:|"]
    for r in report["inference"]:
        lines.append(
            f"| {r['network']} | {r['robots']:,} | {r['ms_per_step']:.3f} | "
            f"{r['decisions_per_s']:,.0f} |"
        )
    f = report["fleet_step"]
    lines += [
        "",
        f"Fleet step, `{f['scenario']}` ({f['robots']:,} robots, hierarchical, navigator on "
        f"{f['navigator_device']}, {f['steps']} steps): {f['ms_per_step']:.2f} ms a step "
        f"({f['cpu_ms_per_step']:.2f} CPU ms), "
        f"{f['agent_steps_per_s']:,.0f} agent-steps/s.",
        "",
        "| training device | batch | updates / s | transitions / s |",
        "|---|---:|---:|---:|",
    ]
    for r in report["training"]:
        lines.append(
            f"| {r['device']} | {r['batch']:,} | {r['updates_per_s']:,.1f} | "
            f"{r['transitions_per_s']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def run(device: str, out: Path, *, quick: bool = False, threads: int = 1) -> dict[str, Any]:
    """Every part on ``device`` with ``threads`` torch CPU threads (runs use one); write the
    report into the new folder ``out``."""
    from warehouse.threads import torch_threads

    with torch_threads(threads):
        return _run(pick_device(device, field="--device"), out, quick)


def _run(dev: torch.device, out: Path, quick: bool) -> dict[str, Any]:
    robots = (10, 100) if quick else (10, 100, 1_000, 10_000, 100_000)
    report = {
        "machine": machine(dev),
        "agreement": agreement(dev, 64 if quick else 4_096),
        "inference": inference(dev, robots, 0.05 if quick else 1.0),
        "fleet_step": fleet_step("tiny" if quick else "large", 5 if quick else 100),
        "training": training(dev, (256,) if quick else (256, 4_096), 3 if quick else 200),
    }
    out.mkdir(parents=True)
    (out / "device_check.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "device_check.md").write_text(markdown(report), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import OneLineParser
    from warehouse.errors import InputError

    ap = OneLineParser(description="Agreement, speed and training of the learned parts on a device")
    ap.add_argument("--out", required=True, help="a new folder for the report")
    ap.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: every part shrunk")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as runs)")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"--threads: expected 1 or more, got {args.threads}")
    out = Path(args.out)
    if out.exists():
        ap.error(f"--out: {out} exists; give a new folder")
    try:
        pick_device(args.device, field="--device")
    except InputError as exc:
        ap.error(exc.one_line())
    report = run(args.device, out, quick=args.quick, threads=args.threads)
    print(markdown(report), end="")
    print(f"wrote {out}/ (device_check.json, device_check.md)")


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
