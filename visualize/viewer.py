"""The interactive visual debugger: a pygame window on a live fleet run or a recording.

Controls (also on screen with ``?``):

==============  ==========================================================
space           pause / resume
→ / ←           one step forward / back (back: replay only)
``+`` / ``-``   faster / slower (steps per second; also ``=`` and the keypad)
click           inspect the robot under the mouse (empty floor: close)
timeline        click / drag: go to that frame (replay)
h / p / g       congestion heatmap / planned paths / sub-goals and goals
b               robots coloured by state of charge (battery model on)
r               restart the live run with a new seed (the viewer's own counter); replay: frame 0
s               save a PNG screenshot (a new file: never one that exists)
v               start / stop capturing a GIF (MP4 when imageio-ffmpeg is installed), at the
                window's size when it starts
wheel / drag    zoom / pan;  f: fit the floor
?               help overlay;  esc / q: quit
==============  ==========================================================

The viewer drives the simulation only through :class:`~warehouse.fleet.Fleet` (live) and reads
state to draw it; seeds for restarts come from the viewer's own counter, never from the
simulation's RNG, and the fleet steps on one torch thread, as in ``warehouse run``
(:mod:`warehouse.threads`), so a viewed run is the run's. :meth:`Viewer.run_headless` renders
frames to PNG files without a display.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from warehouse.atomic import atomic_path
from warehouse.threads import torch_threads

from .backend import require_imageio, require_pygame
from .draw import PANEL_W, Renderer, Timeline
from .frame import Congestion, Frame, frame_from_sim
from .inspector import RobotInspection, inspect_robot, robot_at_cell

SPEEDS = (1, 2, 5, 10, 20, 30, 60, 120, 240, 600)  #: steps per second
MAX_STEPS_PER_DRAW = 60
MIN_SIZE = (320, 240)  #: the smallest window (its HUD, panel and timeline fit)


def unused_path(path: Path) -> Path:
    """``path``, or ``NAME-2.EXT``, ``NAME-3.EXT`` … when it exists (never replace a file)."""
    k = 1
    candidate = path
    while candidate.exists():
        k += 1
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
    return candidate


def fit_frame(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` (H, W, 3) cropped or padded (black) to ``size`` (W, H): a capture keeps the size it
    started with when the window is resized."""
    w, h = size
    if rgb.shape[:2] == (h, w):
        return rgb
    out = np.zeros((h, w, 3), dtype=np.uint8)
    hh, ww = min(h, rgb.shape[0]), min(w, rgb.shape[1])
    out[:hh, :ww] = rgb[:hh, :ww]
    return out


class LiveSource:
    """A live run: a :class:`~warehouse.fleet.Fleet` stepped by the viewer on one torch thread,
    as ``warehouse run`` steps it (a learned policy's scores, and so its trajectory, depend on
    torch's thread count in their last bits)."""

    replay = False

    def __init__(
        self,
        fleet: Any,
        seed: int | None,
        *,
        label: str = "",
        max_steps: int = 0,
        stop_when_solved: bool = False,
    ):
        self.fleet = fleet
        self.label = label
        self.max_steps = int(max_steps)
        #: end the run when the one-shot instance is solved (``episode.stop_when_solved``)
        self.stop_when_solved = stop_when_solved
        self.floor = fleet.sim.floor
        self.congestion = Congestion(self.floor.n_nodes)
        self.restart(seed)

    @property
    def t(self) -> int:
        return int(self.fleet.sim.t)

    def restart(self, seed: int | None) -> None:
        self.seed = seed
        with torch_threads(1, only_if_loaded=True):
            self.fleet.reset(seed)
        self._frame: Frame | None = None

    def frame(self) -> Frame:
        if self._frame is None or self._frame.t != self.t:
            label = f"{self.label}  seed {self.seed}"
            self._frame = frame_from_sim(
                self.fleet.sim,
                self.fleet.last,
                label=label,
                observation=self.fleet.observer.config,  # (a learned navigator's own layout)
            )
        return self._frame

    def at_end(self) -> bool:
        """After ``max_steps`` steps, or solved under ``episode.stop_when_solved`` (where
        ``warehouse run`` and the env end the episode)."""
        if self.stop_when_solved and self.t > 0 and self.fleet.sim.solved():
            return True
        return self.max_steps > 0 and self.t >= self.max_steps

    def advance(self) -> bool:
        if self.at_end():
            return False
        with torch_threads(1, only_if_loaded=True):
            self.fleet.step()
        self.congestion.update(self.frame())
        return True

    def back(self) -> bool:
        return False

    def heat(self, frame: Frame) -> np.ndarray:
        return self.congestion.update(frame)

    def timeline(self) -> Timeline | None:
        return None


class Viewer:
    """Interactive viewer over a live or replay source (see module docstring); ``size`` is the
    window's, at least :data:`MIN_SIZE`."""

    def __init__(
        self,
        source: Any,
        *,
        size: tuple[int, int] = (1280, 800),
        headless: bool = False,
        out_dir: str | Path = ".",
        speed: int = 10,
        next_seed: int = 1,
    ) -> None:
        self.pg = require_pygame(headless=headless)
        self.source = source
        self.headless = headless
        self.out_dir = Path(out_dir)
        size = (max(int(size[0]), MIN_SIZE[0]), max(int(size[1]), MIN_SIZE[1]))
        self.renderer = Renderer(source.floor, size, timeline=source.replay)
        self.speed_i = int(np.argmin(np.abs(np.asarray(SPEEDS) - speed)))
        self.paused = source.replay
        self.selected: int | None = None
        self.running = True
        self._next_seed = int(next_seed)  #: restarts draw seeds from here, never from the sim
        self._budget = 0.0
        self._capture: Any = None
        #: moves the capture's temporary file under ``_capture_path`` when it closes
        self._capture_publish: contextlib.ExitStack | None = None
        self._capture_path: Path | None = None
        self._captured_t: int | None = None
        self._message_until = 0.0
        self._drag: tuple[int, int] | None = None
        self._dragged = False
        #: what the drag under way does, chosen where it started: "timeline" (scrub, replay),
        #: "map" (pan) or None (started on the HUD or the inspector panel: nothing)
        self._drag_kind: str | None = None
        self._capture_size = (0, 0)  #: (W, H) of the frames of the capture running now

    # -- state ---------------------------------------------------------------------------
    @property
    def speed(self) -> int:
        return SPEEDS[self.speed_i]

    def inspection(self) -> RobotInspection | None:
        if self.selected is None:
            return None
        frame = self.source.frame()
        if not 0 <= self.selected < frame.n_robots:
            self.selected = None
            return None
        return inspect_robot(frame, self.selected)

    def say(self, text: str, seconds: float = 3.0) -> None:
        self.renderer.message = text
        self._message_until = time.monotonic() + seconds

    # -- input ---------------------------------------------------------------------------
    def handle_key(self, key: str) -> None:
        """Apply one key (names as in the module table: ``"space"``, ``"right"``, ``"h"``...)."""
        ov = self.renderer.overlays
        src = self.source
        if key == "space":
            self.paused = not self.paused
        elif key == "right":
            self.paused = True
            src.advance()
        elif key == "left":
            self.paused = True
            if not src.back():
                self.say("at the first frame" if src.replay else "stepping back: replay only")
        elif key in ("+", "=", "kp_plus"):
            self.speed_i = min(self.speed_i + 1, len(SPEEDS) - 1)
        elif key in ("-", "kp_minus"):
            self.speed_i = max(self.speed_i - 1, 0)
        elif key == "h":
            ov.heatmap = not ov.heatmap
        elif key == "p":
            ov.paths = not ov.paths
        elif key == "g":
            ov.subgoals = not ov.subgoals
        elif key == "b":
            ov.battery = not ov.battery
            if ov.battery and not self.source.frame().battery:
                self.say("no battery model in this run (battery.capacity_wh)")
        elif key == "f":
            r = self.renderer
            r.view.fit(r.free_rect() if self.selected is not None else None)
        elif key == "r":
            self.restart()
        elif key == "s":
            self.say(f"screenshot saved: {self.screenshot()}")
        elif key == "v":
            self.toggle_capture()
        elif key == "?":
            ov.help = not ov.help
        elif key in ("escape", "q"):
            self.running = False

    def restart(self) -> None:
        if self.source.replay:
            self.source.seek(0)
            return
        seed = self._next_seed
        self._next_seed += 1
        self.source.restart(seed)
        self.say(f"restarted with seed {seed}")

    def handle_click(self, x: int, y: int) -> int | None:
        """Select the robot under a screen point (or seek on the timeline); returns the robot."""
        r = self.renderer
        if self.source.replay and r.in_timeline(y):
            self.source.seek(r.timeline_frame(x, self.source.n_frames))
            return self.selected
        if self.selected is not None and x >= r.size[0] - PANEL_W and y >= r.map_rect()[1]:
            return self.selected  # a click on the inspector panel
        if not r.view.contains(x, y):
            return self.selected
        row, col = r.view.screen_to_cell(x, y)
        self.select(robot_at_cell(self.source.frame(), row, col))
        return self.selected

    def select(self, robot: int | None, *, fit: bool = False) -> None:
        """Open the inspector on ``robot`` (``None`` closes it); keep the robot in view."""
        self.selected = robot
        if robot is None:
            return
        if fit:
            self.renderer.view.fit(self.renderer.free_rect())
        self.renderer.reveal(self.source.frame(), robot)

    def zoom_in(self, steps: int) -> None:
        """Zoom in ``steps`` wheel steps around the selected robot (else the middle of the map),
        keeping the selected robot in view."""
        r = self.renderer
        if self.selected is not None:
            anchor = r.robot_screen_center(self.source.frame(), self.selected)
        else:
            x, y, w, h = r.free_rect()
            anchor = (x + w // 2, y + h // 2)
        r.view.zoom(steps, anchor)
        if self.selected is not None:
            r.reveal(self.source.frame(), self.selected)

    def handle_event(self, event: Any) -> None:
        pg = self.pg
        if event.type == pg.QUIT:
            self.running = False
        elif event.type == pg.KEYDOWN:
            names = {
                pg.K_SPACE: "space",
                pg.K_RIGHT: "right",
                pg.K_LEFT: "left",
                pg.K_ESCAPE: "escape",
                pg.K_KP_PLUS: "+",
                pg.K_KP_MINUS: "-",
            }
            key = names.get(event.key) or event.unicode or pg.key.name(event.key)
            self.handle_key(key.lower() if key.isalpha() else key)  # (Caps Lock, Shift)
        elif event.type == pg.MOUSEWHEEL:
            at = pg.mouse.get_pos()
            if self.renderer.on_map(at[0], at[1], panel=self.selected is not None):
                self.renderer.view.zoom(int(np.sign(event.y)), at)
        elif event.type == pg.MOUSEBUTTONDOWN and event.button == 1:
            self._drag, self._dragged = event.pos, False
            self._drag_kind = self._drag_target(*event.pos)
        elif event.type == pg.MOUSEMOTION and self._drag is not None:
            dx, dy = event.pos[0] - self._drag[0], event.pos[1] - self._drag[1]
            if self._dragged or abs(dx) + abs(dy) > 4:
                # a drag keeps doing what it started with wherever it wanders (a pan that
                # crosses the timeline scrubs nothing, a scrub that leaves the bar pans nothing)
                if self._drag_kind == "timeline":
                    self.source.seek(
                        self.renderer.timeline_frame(event.pos[0], self.source.n_frames)
                    )
                elif self._drag_kind == "map":
                    self.renderer.view.pan(dx, dy)
                else:  # a drag that starts on the HUD or the panel does nothing
                    self._drag = None
                    return
                self._drag, self._dragged = event.pos, True
        elif event.type == pg.MOUSEBUTTONUP and event.button == 1:
            if self._drag is not None and not self._dragged:
                self.handle_click(*event.pos)
            self._drag = None

    def _drag_target(self, x: int, y: int) -> str | None:
        """What a drag that starts at ``(x, y)`` does (see ``_drag_kind``)."""
        r = self.renderer
        if self.source.replay and r.in_timeline(y):
            return "timeline"
        return "map" if r.on_map(x, y, panel=self.selected is not None) else None

    # -- stepping and drawing ----------------------------------------------------------------
    def update(self, dt: float) -> int:
        """Advance the source by ``speed × dt`` steps unless paused; returns steps taken."""
        if self.paused:
            self._budget = 0.0
            return 0
        self._budget = min(self._budget + dt * self.speed, MAX_STEPS_PER_DRAW)
        taken = 0
        while self._budget >= 1.0:
            self._budget -= 1.0
            if not self.source.advance():
                self.paused = True
                self.say("end of run" if not self.source.replay else "end of recording")
                break
            taken += 1
        return taken

    def draw(self) -> Any:
        r = self.renderer
        frame = self.source.frame()
        if r.message and time.monotonic() > self._message_until:
            r.message = ""
        state = "paused" if self.paused else f"{self.speed} steps/s"
        if self._capture is not None:
            state += "   ● REC"
        r.status = f"{state}   ? help"
        heat = self.source.heat(frame) if r.overlays.heatmap else None
        canvas = r.draw(
            frame,
            heat=heat,
            selected=self.selected,
            inspection=self.inspection(),
            timeline=self.source.timeline(),
        )
        if self._capture is not None and self._captured_t != frame.t:
            try:
                self._capture.append_data(fit_frame(r.rgb_array(), self._capture_size))
            except BaseException as exc:
                self._abort_capture(exc)
                raise
            self._captured_t = frame.t
        return canvas

    def _abort_capture(self, exc: BaseException) -> None:
        """End the capture under way after ``exc``: its temporary file is removed, nothing is
        left under its name."""
        writer, publish = self._capture, self._capture_publish
        self._capture = self._capture_publish = None
        with contextlib.suppress(Exception):
            writer.close()
        if publish is not None:
            publish.__exit__(type(exc), exc, exc.__traceback__)

    # -- outputs ---------------------------------------------------------------------------
    def screenshot(self, path: str | Path | None = None) -> Path:
        """Save the current canvas as PNG (default: ``out_dir/warehouse_<step>.png``, or with
        ``-2``, ``-3`` … when taken: :func:`unused_path`)."""
        if path is None:
            path = unused_path(self.out_dir / f"warehouse_{self.source.t:06d}.png")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.draw()
        # whole or not at all: a failed save leaves nothing under the name (warehouse.atomic);
        # the format follows the name's suffix, not the temporary file's
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            self.pg.image.save(self.renderer.canvas, fh, path.name)
        return path

    def toggle_capture(self) -> Path | None:
        """Start or stop capturing frames to an animation; returns the file when stopped."""
        if self._capture is not None:
            writer, publish = self._capture, self._capture_publish
            self._capture = self._capture_publish = None
            assert publish is not None  # (set with the writer)
            with publish:  # a capture that fails to close leaves nothing under its name
                writer.close()
            path = self._capture_path
            self.say(f"capture saved: {path}")
            return path
        try:
            imageio = require_imageio()
        except ImportError as exc:
            self.say(str(exc), 5.0)
            return None
        kw: dict[str, Any]
        try:
            import imageio_ffmpeg  # noqa: F401

            ext, kw = "mp4", {"fps": 20, "macro_block_size": 1}
        except ImportError:
            ext, kw = "gif", {"duration": 0.05, "loop": 0}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._capture_path = unused_path(self.out_dir / f"warehouse_{self.source.t:06d}.{ext}")
        w, h = self.renderer.size  # every frame at this size (video encoders want even sides)
        self._capture_size = (w - w % 2, h - h % 2)
        # frames go to a temporary file, moved under the name when the capture stops (so an
        # interrupted or failed one never leaves a partial animation there: warehouse.atomic)
        publish = contextlib.ExitStack()
        tmp = publish.enter_context(atomic_path(self._capture_path))
        try:
            self._capture = imageio.get_writer(tmp, format=f".{ext}", mode="I", **kw)
        except BaseException as exc:
            publish.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._capture_publish = publish
        self._captured_t = None
        self.say(f"capturing to {self._capture_path} (v stops)")
        return None

    # -- loops -----------------------------------------------------------------------------
    def run(self) -> None:
        """Open the window and loop until the user quits."""
        pg = self.pg
        pg.display.init()
        window = pg.display.set_mode(self.renderer.size, pg.RESIZABLE)
        pg.display.set_caption("warehouse viewer")
        clock = pg.time.Clock()
        try:
            while self.running:
                for event in pg.event.get():
                    if event.type == pg.VIDEORESIZE:
                        self._resize(event.w, event.h)
                        window = pg.display.get_surface()
                    self.handle_event(event)
                if not self.running:
                    break
                dt = clock.tick(60) / 1000.0
                self.update(dt)
                window.blit(self.draw(), (0, 0))
                pg.display.flip()
                self.renderer.fps = clock.get_fps()
        finally:
            if self._capture is not None:
                self.toggle_capture()
            pg.display.quit()

    def _resize(self, w: int, h: int) -> None:
        r = self.renderer
        r.size = (max(w, MIN_SIZE[0]), max(h, MIN_SIZE[1]))
        r.canvas = self.pg.Surface(r.size)
        r.view.rect = r.map_rect()
        if (w, h) != r.size and self.pg.display.get_init() and self.pg.display.get_surface():
            self.pg.display.set_mode(r.size, self.pg.RESIZABLE)  # no smaller than the canvas

    def run_headless(
        self, frames: int, out_dir: str | Path, *, steps_per_frame: int = 1
    ) -> list[Path]:
        """Advance ``steps_per_frame`` steps per frame and save ``frames`` PNGs to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        t0 = time.perf_counter()
        for i in range(frames):
            if i:
                for _ in range(steps_per_frame):
                    self.source.advance()
            if i and self.selected is not None:  # follow the inspected robot
                self.renderer.reveal(self.source.frame(), self.selected)
            self.renderer.fps = i / max(time.perf_counter() - t0, 1e-9)
            paths.append(self.screenshot(out / f"frame_{i:04d}.png"))
        return paths


def live_viewer(
    scenario: str | Path = "small",
    *,
    policy: str | None = None,
    seed: int = 0,
    steps: int | None = None,
    overrides: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
    on_note: Callable[[str], None] | None = None,
    **viewer_kw: Any,
) -> Viewer:
    """A viewer on a live run of a scenario (built-in name or file) with a named policy (as
    ``warehouse run --policy`` names it; ``None``: the one the scenario's ``policies.run`` lists,
    else its dispatcher and navigator; :func:`warehouse.runner.one_policy_spec`).
    ``names``: the command-line option that set each of ``overrides`` (``--set KEY``,
    ``--robots``), which a bad value's error names instead of the scenario file. ``on_note``
    gets the line of a navigator that needs a PIBT shield the run lacks
    (:func:`warehouse.policies.pibt_note`)."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.errors import InputError
    from warehouse.fleet import Fleet
    from warehouse.policies import (
        SET_PIBT,
        build_policy,
        check_checkpoints_used,
        pibt_note,
    )
    from warehouse.runner import blame_setting, chosen_by, one_policy_spec

    sc, source = load_scenario(scenario)
    sc = apply_overrides(sc, overrides or {}, source, names)
    # named and resolved as by `warehouse run` (without --policy: the one the scenario's
    # policies.run lists, else its dispatcher and navigator)
    spec = one_policy_spec(
        policy,
        sc,
        source,
        overrides=overrides,
        names=names,
        runs="warehouse view runs one policy",
    )
    config = sc.sim_config(spec.collisions_for(sc))
    named = {key: (names or {}).get(key, key) for key in overrides or {}}
    sim = Simulation(build_floor(sc, source, named), config)
    # relative checkpoint paths of a scenario file count from its folder, as in a run; a
    # setting the policy does not use, or refuses, names the option that gave it (as run does)
    try:
        check_checkpoints_used([spec], sc, source)
        dispatcher, navigator = build_policy(spec, sc, source, sim.floor)
    except InputError as exc:
        if exc.field == "policy":  # one that does not fit the floor: named where it was chosen
            raise InputError(
                *chosen_by(policy, sc, source, overrides, names), exc.message
            ) from None
        raise blame_setting(exc, overrides or {}, names or {}, source) from None
    note = pibt_note(spec, navigator, sc, SET_PIBT)  # (policies.shield where it decides)
    if note is not None and on_note is not None:
        on_note(note)
    fleet = Fleet(sim, dispatcher, navigator)
    label = f"{sc.name} | {spec.name}"
    max_steps = sc.episode.steps if steps is None else steps
    stop = bool(sc.episode.stop_when_solved)
    src = LiveSource(fleet, seed, label=label, max_steps=max_steps, stop_when_solved=stop)
    return Viewer(src, next_seed=seed + 1, **viewer_kw)
