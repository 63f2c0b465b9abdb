"""The viewer shows the open cells scheduled closures cut off from the rest of the floor (grey),
live and in the replay of a recording (resolved from its configuration), and the inspector
says when a robot is shut in. Headless (SDL's dummy video driver)."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

pytest.importorskip("pygame")

from test_visualize import make_fleet, pixel

from visualize import palette as pal
from visualize.draw import Renderer
from visualize.frame import frame_from_recording, frame_from_sim
from visualize.inspector import inspect_robot
from warehouse.recording import EpisodeRecorder, load_recording

#: the two aisle cells at the ends of `tiny`'s middle pick row (3, 3..6): it is cut off
CLOSURE = {"cells": [[3, 2], [3, 7]], "start_s": 2.0, "end_s": 8.0}
POCKET = [(3, c) for c in range(3, 7)]


def centre(r: Renderer, floor, cell: tuple[int, int]) -> tuple[int, int]:
    x, y = r.view.cell_to_screen(floor.pos[floor.cell_of[cell]])
    return int(x + r.view.cell // 2), int(y + r.view.cell // 2)


def test_the_cells_a_closure_cuts_off_are_grey_while_it_lasts_live_and_in_the_replay(tmp_path):
    f = make_fleet("tiny", **{"faults.closures": [CLOSURE], "tasks.arrival_rate": 0.0})
    f.reset(0)
    pocket = sorted(int(f.sim.floor.cell_of[c]) for c in POCKET)
    recorder = EpisodeRecorder(f.sim, meta={})
    r = Renderer(f.sim.floor, (640, 400))
    seen: dict[int, bool] = {}
    for t in range(1, 11):
        recorder.capture(f.sim, f.step())
        frame = frame_from_sim(f.sim, f.last)
        inside = 2 <= t < 8
        assert frame.cut_off.tolist() == (pocket if inside else []), t
        canvas = r.draw(frame)
        free = [c for c in POCKET if not np.isin(frame.pos, f.sim.floor.cell_of[c]).any()]
        grey = [pixel(canvas, *centre(r, f.sim.floor, c)) == pal.CUT_OFF for c in free]
        assert grey and all(g == inside for g in grey), t
        seen[t] = inside
    recorder.save(tmp_path / "c.npz")
    rec = load_recording(tmp_path / "c.npz")
    for k, inside in seen.items():
        frame = frame_from_recording(rec, k)
        assert frame.cut_off.tolist() == (pocket if inside else []), k
        canvas = r.draw(frame)
        cell = next(c for c in POCKET if not np.isin(frame.pos, rec.floor.cell_of[c]).any())
        assert (pixel(canvas, *centre(r, rec.floor, cell)) == pal.CUT_OFF) == inside, k


def test_the_inspector_says_a_robot_is_shut_in() -> None:
    f = make_fleet("tiny", **{"faults.closures": [CLOSURE], "tasks.arrival_rate": 0.0})
    f.reset(0)
    sim = f.sim
    sim.state.pos[0] = sim.floor.cell_of[3, 4]
    sim.state_changed()
    wait = np.zeros(sim.n_robots, dtype=np.int64)
    notes = []
    for _ in range(9):
        sim.step(wait)
        notes.append(inspect_robot(frame_from_sim(sim), 0).closed_note)
    shut = "shut in: the closures cut its part of the floor off"
    assert notes == [""] + [shut] * 6 + ["", ""]


def test_the_legend_names_closed_and_cut_off_cells_only_when_there_are_closures() -> None:
    """The HUD's legend row (y 45..55) holds the cut-off swatch once a closure has begun."""
    f = make_fleet("tiny", **{"faults.closures": [CLOSURE], "tasks.arrival_rate": 0.0})
    f.reset(0)
    r = Renderer(f.sim.floor, (900, 400))

    def swatch_pixels() -> int:
        canvas = r.draw(frame_from_sim(f.sim, f.last))
        band = [pixel(canvas, x, y) for x in range(900) for y in range(46, 55)]
        return sum(p == pal.CUT_OFF for p in band)

    f.step()
    assert swatch_pixels() == 0  # (before the closure: no closed cell in the run yet)
    for _ in range(3):
        f.step()
    assert swatch_pixels() >= 99  # the swatch's 11 columns over the 9 rows looked at
