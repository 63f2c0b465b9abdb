"""Rendering and recording speed benchmarks (a script, not a test).

``python -m visualize.bench`` measures

* frames per second of ``render_mode="rgb_array"`` at 1,000 robots with every overlay on
  (heatmap, planned paths, sub-goals, flashes, a selected robot with its inspector, HUD);
* the slowdown of a fleet run when every step is recorded with
  :class:`~warehouse.recorder.EpisodeRecorder`.

Results are written up in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

#: The 1,000-robot floor of the benchmark (generator layout, ~5,600 cells).
BIG_LAYOUT = {
    "layout.shelf_rows": 20,
    "layout.shelf_cols": 10,
    "layout.block_length": 10,
    "layout.station_walls": ["west", "east"],
    "fleet.robots": 1000,
    "tasks.arrival_rate": 5.0,
}


def _fleet(scenario: str, overrides: dict[str, Any], seed: int) -> Any:
    from agents import make_navigator
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.policies import scenario_dispatcher

    sc, src = load_scenario(scenario)
    sc = apply_overrides(sc, overrides, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(
        sim,
        scenario_dispatcher(sc.policies.dispatcher, sc, src, strict=True),
        make_navigator(sc.policies.navigator),
    )
    fleet.reset(seed)
    return fleet


def bench_render(*, frames: int = 60, warmup: int = 20, seed: int = 0) -> dict[str, float]:
    """Render ``frames`` frames of a 1,000-robot run, all overlays on; time the drawing only."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from .draw import Renderer
    from .env_render import canvas_size
    from .frame import Congestion, frame_from_sim
    from .inspector import inspect_robot

    fleet = _fleet("small", BIG_LAYOUT, seed)
    sim = fleet.sim
    renderer = Renderer(sim.floor, canvas_size(sim.floor.shape))
    ov = renderer.overlays
    ov.heatmap = ov.paths = ov.subgoals = ov.flashes = True
    heat = Congestion(sim.floor.n_nodes)
    draw_s = cpu_s = 0.0
    for i in range(warmup + frames):
        last = fleet.step()
        t0, c0 = time.perf_counter(), time.process_time()
        frame = frame_from_sim(sim, last, label="bench")
        h = heat.update(frame)
        ins = inspect_robot(frame, 0)
        renderer.draw(frame, heat=h, selected=0, inspection=ins)
        img = renderer.rgb_array()
        if i >= warmup:
            draw_s += time.perf_counter() - t0
            cpu_s += time.process_time() - c0
    assert img.shape[2] == 3
    return {
        "robots": float(sim.n_robots),
        "width": float(img.shape[1]),
        "height": float(img.shape[0]),
        "cell_px": float(renderer.view.cell),
        "ms_per_frame": 1000.0 * draw_s / frames,
        "fps": frames / draw_s,
        "cpu_ms_per_frame": 1000.0 * cpu_s / frames,
        "fps_cpu_time": frames / cpu_s,
    }


def bench_recording(*, steps: int = 300, seed: int = 0, robots: int = 1000) -> dict[str, float]:
    """Steps per CPU second of a fleet run without and with an :class:`EpisodeRecorder`
    (CPU time of this process, so other load on the machine does not skew the ratio)."""
    from warehouse.recorder import EpisodeRecorder

    overrides = {**BIG_LAYOUT, "fleet.robots": robots}
    timings: dict[bool, list[float]] = {}
    for record in (False, True, False, True):  # interleaved to spread machine noise
        fleet = _fleet("small", overrides, seed)
        rec = EpisodeRecorder(fleet.sim, meta={"bench": True}) if record else None
        c0 = time.process_time()
        for _ in range(steps):
            st = fleet.step()
            if rec is not None:
                rec.capture(fleet.sim, st)
        timings.setdefault(record, []).append(time.process_time() - c0)
    plain, recorded = min(timings[False]), min(timings[True])
    return {
        "robots": float(robots),
        "steps": float(steps),
        "plain_steps_per_s": steps / plain,
        "recorded_steps_per_s": steps / recorded,
        "slowdown_pct": 100.0 * (recorded / plain - 1.0),
    }


def _positive(text: str) -> int:
    """An argparse type: an integer ≥ 1 (a rate over zero frames or steps divides by zero)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def machine_line() -> str:
    """``machine: cpu=…, cores=…, python=…, numpy=…, numba=…, …, pygame-ce=…``: what the figures
    ran on."""
    from importlib.metadata import PackageNotFoundError, version

    from warehouse.bench import machine_info

    info = machine_info()
    for dist in ("pygame-ce", "pygame"):
        try:
            info[dist] = version(dist)
            break
        except PackageNotFoundError:
            continue
    return "machine: " + ", ".join(f"{k}={v}" for k, v in info.items())


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import OneLineParser

    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=_positive, default=60, help="timed frames (≥ 1)")
    p.add_argument("--steps", type=_positive, default=300, help="timed fleet steps (≥ 1)")
    args = p.parse_args(argv)
    print(machine_line())
    r = bench_render(frames=args.frames)
    print("render:", {k: round(v, 2) for k, v in r.items()})
    r = bench_recording(steps=args.steps)
    print("recording:", {k: round(v, 2) for k, v in r.items()})


if __name__ == "__main__":
    from warehouse.interrupt import run_main

    run_main(main)
