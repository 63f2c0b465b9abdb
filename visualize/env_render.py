"""``env.render()`` for :class:`~warehouse.env.WarehouseEnv`: the viewer's drawing code on the
env's simulation.

``render_mode="rgb_array"`` returns a uint8 ``(H, W, 3)`` frame from an offscreen canvas;
``render_mode="human"`` shows the same canvas in a window (use ``SDL_VIDEODRIVER=dummy`` to run
without a display) and returns ``None``. The renderer is created on the first call, kept on
``env._viewer`` and closed by ``env.close()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import require_pygame
from .draw import HUD_H, Renderer
from .frame import Congestion, frame_from_sim

MAX_SIZE = (1280, 800)
MIN_WIDTH = 720


def canvas_size(shape: tuple[int, int], max_size: tuple[int, int] = MAX_SIZE) -> tuple[int, int]:
    """Canvas pixels for a ``(H, W)`` floor: whole cells up to 24 px, at most ``max_size``;
    a floor with more cells along a side than that has pixels gets one pixel per cell, so the
    frame still shows all of it."""
    height, width = shape
    avail_h = max_size[1] - HUD_H
    cell = int(np.clip(min(max_size[0] // width, avail_h // height), 1, 24))
    return max(MIN_WIDTH, width * cell), height * cell + HUD_H


class EnvRenderer:
    """The renderer state an env keeps between ``render()`` calls."""

    def __init__(self, env: Any) -> None:
        self.mode = env.render_mode
        floor = env.sim.floor
        self.renderer = Renderer(floor, canvas_size(floor.shape))
        self.congestion = Congestion(floor.n_nodes)
        self.window: Any = None
        self.clock: Any = None

    def render(self, env: Any) -> np.ndarray | None:
        frame = frame_from_sim(env.sim, env.last_result, label=str(env.scenario.name))
        heat = self.congestion.update(frame)
        canvas = self.renderer.draw(frame, heat=heat)
        if self.mode == "rgb_array":
            return self.renderer.rgb_array()
        pg = self.renderer.pg
        if self.window is None:
            pg.display.init()
            self.window = pg.display.set_mode(canvas.get_size())
            pg.display.set_caption(f"warehouse: {env.scenario.name}")
            self.clock = pg.time.Clock()
        pg.event.pump()
        self.window.blit(canvas, (0, 0))
        pg.display.flip()
        self.clock.tick(env.metadata.get("render_fps", 10))
        self.renderer.fps = self.clock.get_fps()
        return None

    def new_episode(self) -> None:
        """Forget the congestion heat of the episode before (called by the env's reset)."""
        self.congestion = Congestion(self.congestion.heat.size)

    def close(self) -> None:
        if self.window is not None:
            self.renderer.pg.display.quit()
            self.window = None


def render_env(env: Any) -> np.ndarray | None:
    """Render a :class:`~warehouse.env.WarehouseEnv` in its ``render_mode``."""
    if env.render_mode is None:
        return None
    if env.render_mode not in ("rgb_array", "human"):
        raise ValueError(f"unsupported render_mode {env.render_mode!r}")
    require_pygame()  # a clear ImportError naming the extra before anything else
    if getattr(env, "_viewer", None) is None:
        env._viewer = EnvRenderer(env)
    return env._viewer.render(env)
