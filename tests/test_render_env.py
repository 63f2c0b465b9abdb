"""``env.render()``: rgb_array frames from the viewer's drawing code, human mode, render_test."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

pytest.importorskip("pygame")

from pettingzoo.test import render_test
from pettingzoo.utils.conversions import parallel_to_aec

from visualize import palette as pal
from visualize.draw import Renderer
from visualize.env_render import canvas_size
from visualize.frame import frame_from_sim
from warehouse import make_env
from warehouse.floor import NodeKind


def test_rgb_array_frame_is_uint8_hw3_and_follows_the_simulation():
    env = make_env("tiny", render_mode="rgb_array", seed=0)
    first = env.render()
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8
    assert first.ndim == 3 and first.shape[2] == 3
    assert first.shape[:2] == canvas_size(env.floor.shape)[::-1]
    for _ in range(5):
        env.step({a: 0 for a in env.agents})  # everyone waits: only the HUD step changes
    for _ in range(5):
        mask = env.sim.action_mask()
        env.step({a: int(np.flatnonzero(m)[-1]) for a, m in zip(env.agents, mask, strict=True)})
    later = env.render()
    assert later.shape == first.shape and (later != first).any()
    env.close()


def test_rgb_array_is_drawn_by_the_viewer_renderer():
    env = make_env("tiny", render_mode="rgb_array", seed=4)
    for _ in range(8):
        env.step({a: 2 for a in env.agents})
    img = env.render()
    r = Renderer(env.floor, canvas_size(env.floor.shape))
    r.draw(frame_from_sim(env.sim, env.last_result, label=env.scenario.name))
    assert np.array_equal(img, r.rgb_array())
    # a robot's state colour sits at its node's pixel (row, col) in the returned array
    view = r.view
    states = pal.robot_states(env.sim.state.phase, env.sim.state.broken)
    i = int(np.flatnonzero(env.floor.kind[env.sim.state.pos] != NodeKind.STATION)[0])
    x, y = view.cell_to_screen(env.floor.pos[env.sim.state.pos[i]])
    assert tuple(img[y + view.cell // 2, x + view.cell // 4]) == pal.STATE_COLORS[states[i]]


def test_human_mode_opens_a_window_and_returns_none():
    pygame = pytest.importorskip("pygame")
    env = make_env("tiny", render_mode="human", seed=0)
    assert env.render() is None
    assert pygame.display.get_surface() is not None
    env.step({a: 0 for a in env.agents})  # human mode renders every step
    env.close()
    assert not pygame.display.get_init()


def test_no_render_mode_renders_nothing():
    env = make_env("tiny", seed=0)
    assert env.render() is None


def test_pettingzoo_render_test():
    render_test(lambda render_mode=None: parallel_to_aec(make_env("tiny", render_mode=render_mode)))


def test_congestion_heat_does_not_carry_over_a_reset():
    """Rendered at step k, reset, stepped k + 1 times unrendered: the heat of the episode
    before was taken for this one's (the renderer compared step counters only)."""
    from hierarchy import make_dispatcher

    def env_with_heatmap(seed: int):
        env = make_env("tiny", render_mode="rgb_array", seed=seed)
        env.set_dispatcher(make_dispatcher("greedy"))  # robots with targets that wait: heat
        env.reset(seed=seed)
        env.render()
        env._viewer.renderer.overlays.heatmap = True
        return env

    def wait(env) -> None:
        env.step({a: 0 for a in env.agents})

    used = env_with_heatmap(0)
    for _ in range(30):  # rendered every step: the heat builds up
        wait(used)
        used.render()
    assert used._viewer.congestion.heat.sum() > 0
    used.reset(seed=1)
    fresh = env_with_heatmap(1)
    for _ in range(31):
        wait(used)
        wait(fresh)
    assert np.array_equal(used.render(), fresh.render())
    assert np.array_equal(used._viewer.congestion.heat, fresh._viewer.congestion.heat)


@pytest.mark.parametrize("shape", [(6, 9), (700, 3), (1000, 3), (3, 2000)])
def test_the_canvas_shows_every_row_and_column_of_the_floor(shape):
    """A floor taller than the canvas's 800 pixels had its top and bottom rows cut off (the
    width grew to one pixel per cell; the height stopped at 800)."""
    from warehouse.floor import compile_floor, graph_from_grid

    floor = compile_floor(graph_from_grid(np.full(shape, NodeKind.AISLE, np.int8)))
    r = Renderer(floor, canvas_size(shape))
    x, y, w, h = r.map_rect()
    view = r.view
    assert view.ox >= x and view.oy >= y
    assert view.ox + shape[1] * view.cell <= x + w and view.oy + shape[0] * view.cell <= y + h
    if max(shape) < 700:  # small floors keep within the stated maximum
        width, height = canvas_size(shape)
        assert width <= 1280 and height <= 800
