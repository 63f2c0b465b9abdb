"""``warehouse view`` (live run in the visual debugger) and ``warehouse replay`` (a recording).

Both open a pygame window; ``--headless-frames DIR`` renders ``--frames`` PNG frames to ``DIR``
instead, with SDL's dummy video driver (no display needed: tests, CI, README screenshots).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from warehouse.errors import InputError

from .cmd_run import SetOpt

HeadlessOpt = Annotated[
    Path | None,
    typer.Option(
        "--headless-frames",
        help="Render PNG frames into this folder instead of opening a window.",
    ),
]
FramesOpt = Annotated[int, typer.Option("--frames", min=1, help="Frames with --headless-frames.")]
EveryOpt = Annotated[
    int, typer.Option("--every", min=1, help="Steps between frames with --headless-frames.")
]
SelectOpt = Annotated[
    int | None, typer.Option("--select", help="Open the inspector on this robot id.")
]
ZoomOpt = Annotated[
    int,
    typer.Option(
        "--zoom",
        min=0,
        help="Zoom in N mouse-wheel steps at the start, around the --select robot (else the "
        "middle of the floor). Headless frames keep the selected robot in view.",
    ),
]
OverlayOpt = Annotated[
    str,
    typer.Option(
        "--overlays",
        help="Overlays switched on at start: letters of h, p, g, b (b: robots by charge).",
    ),
]
SizeOpt = Annotated[str, typer.Option("--size", help="Window size WIDTHxHEIGHT in pixels.")]


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(None, "--size", f"expected WIDTHxHEIGHT, got {text!r}") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise InputError(None, "--size", "between 320x240 and 8192x8192")
    return w, h


def _check_frame_options(ctx: typer.Context, headless: Path | None) -> None:
    """``--frames`` and ``--every`` only say what ``--headless-frames`` renders: in a window
    they would be silently ignored."""
    from .checks import given

    if headless is None:
        for name in ("frames", "every"):
            if given(ctx, name):
                raise InputError(None, f"--{name}", "only with --headless-frames DIR")


def _require_display(headless: Path | None) -> None:
    if headless is not None:
        from .checks import writable_out_folder

        writable_out_folder(headless, "--headless-frames")
        if headless.is_dir() and (old := sorted(headless.glob("frame_*.png"))):
            raise InputError(
                headless,
                "--headless-frames",
                f"already holds {old[0].name} of an earlier run; choose another folder",
            )
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        return
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("SDL_VIDEODRIVER")
    ):
        raise InputError(
            None, "display", "no display found: use --headless-frames DIR, or run under Xvfb"
        )


def _setup(viewer: Any, select: int | None, overlays: str, zoom: int = 0) -> None:
    ov = viewer.renderer.overlays
    for letter in overlays:
        if letter not in "hpgb":
            raise InputError(None, "--overlays", f"unknown overlay {letter!r} (use h, p, g, b)")
    ov.heatmap, ov.paths, ov.subgoals = "h" in overlays, "p" in overlays, "g" in overlays
    ov.battery = "b" in overlays
    if select is not None:
        n = viewer.source.frame().n_robots
        if not 0 <= select < n:
            raise InputError(None, "--select", f"robot id must be in 0..{n - 1}")
        viewer.select(select, fit=True)
    if zoom:
        viewer.zoom_in(zoom)


def _finish(viewer: Any, headless: Path | None, frames: int, every: int) -> None:
    if headless is None:
        viewer.run()
        return
    if headless.exists() and not headless.is_dir():
        raise InputError(headless, "--headless-frames", "exists and is not a folder")
    last = _last_step(viewer.source)
    note = ""
    if last is not None:
        available = max(0, last - viewer.source.t) // every + 1
        if frames > available:  # frames past the end would all show the last step
            frames, note = available, f" (the run ends at step {last})"
    existed = headless.exists()
    try:
        paths = viewer.run_headless(frames, headless, steps_per_frame=every)
    except BaseException:  # no partial frame folder is left behind
        if not existed:
            shutil.rmtree(headless, ignore_errors=True)
        raise
    typer.echo(f"wrote {len(paths)} frame(s) to {headless}{note}")


def _last_step(source: Any) -> int | None:
    """The last step a viewer source can show (None: a live run without a step limit)."""
    if getattr(source, "replay", False):
        return int(source.n_frames) - 1
    max_steps = int(getattr(source, "max_steps", 0))
    return max_steps if max_steps > 0 else None


def _load_viewer_module() -> Any:
    try:
        from visualize import viewer
        from visualize.backend import require_pygame

        require_pygame()
    except ImportError as exc:
        raise InputError(None, "pygame", str(exc)) from None
    return viewer


def view(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="Built-in scenario name, scenario YAML file, map file, League of Robot Runners "
            "problem .json or MovingAI .scen file."
        ),
    ] = "small",
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="Policy name, as `run --policy` takes it (default: the scenario's: the one its "
            "policies.run lists, else its dispatcher and navigator).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the run.")] = 0,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="Stop after N steps (default: scenario's).")
    ] = None,
    robots: Annotated[int | None, typer.Option("--robots", min=1, help="Fleet size.")] = None,
    headless_frames: HeadlessOpt = None,
    frames: FramesOpt = 10,
    every: EveryOpt = 1,
    select: SelectOpt = None,
    zoom: ZoomOpt = 0,
    overlays: OverlayOpt = "",
    size: SizeOpt = "1280x800",
    sets: SetOpt = None,
) -> None:
    """Watch a live run: pause, step, click robots to inspect them (press ? for help).

    --set changes any scenario setting, as in `warehouse run` (e.g. --set policies.park_idle=5
    --set 'layout.parking_walls=[north,south]').
    """
    from scenarios import parse_assignment

    from .checks import READ_BY_ONE_COMMAND, check_set_keys, episode_steps, one_policy

    policy = None if policy is None else one_policy(policy, "--policy")
    episode_steps(steps)
    _check_frame_options(ctx, headless_frames)
    check_set_keys(sets, {"--robots": robots, "--steps": steps}, unused=READ_BY_ONE_COMMAND)
    overrides: dict[str, Any] = dict(parse_assignment(text) for text in sets or ())
    names = {key: f"--set {key}" for key in overrides}  # a bad value's error names its option
    if robots is not None:
        overrides["fleet.robots"], names["fleet.robots"] = robots, "--robots"
    _require_display(headless_frames)
    viewer_mod = _load_viewer_module()
    try:
        viewer = viewer_mod.live_viewer(
            target,
            policy=policy,
            seed=seed,
            steps=steps,
            overrides=overrides,
            names=names,
            on_note=lambda note: typer.echo(f"warning: {note}", err=True),
            size=_size(size),
            headless=headless_frames is not None,
            out_dir=headless_frames or Path("."),
        )
    except ValueError as exc:  # e.g. more robots than start cells
        raise InputError(None, target, str(exc)) from None
    _setup(viewer, select, overlays, zoom)
    _finish(viewer, headless_frames, frames, every)


def replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Recording written by `warehouse run --record`.")],
    start: Annotated[int, typer.Option("--start", min=0, help="First frame shown.")] = 0,
    headless_frames: HeadlessOpt = None,
    frames: FramesOpt = 10,
    every: EveryOpt = 1,
    select: SelectOpt = None,
    zoom: ZoomOpt = 0,
    overlays: OverlayOpt = "",
    size: SizeOpt = "1280x800",
) -> None:
    """Replay a recorded run with a timeline (←/→ step, click or drag the timeline to scrub)."""
    from warehouse.recording import load_recording

    _check_frame_options(ctx, headless_frames)
    rec = load_recording(file)
    if start >= rec.n_frames:
        raise InputError(file, "--start", f"the recording has frames 0..{rec.n_frames - 1}")
    _require_display(headless_frames)
    _load_viewer_module()
    from visualize.replay import replay_viewer

    viewer = replay_viewer(
        rec,
        start=start,
        size=_size(size),
        headless=headless_frames is not None,
        out_dir=headless_frames or Path("."),
    )
    _setup(viewer, select, overlays, zoom)
    _finish(viewer, headless_frames, frames, every)


def register(app: typer.Typer) -> None:
    app.command("view")(view)
    app.command("replay")(replay)
