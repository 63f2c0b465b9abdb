"""The viewer on the battery model and scheduled closures: chargers, charge in the inspector
and on the robots (corner marks, the ``b`` overlay), closed cells, replay equal to live, and
nothing changed with the battery off. Headless (SDL's dummy video driver)."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

pytest.importorskip("pygame")

from test_visualize import make_fleet, pixel

from visualize import palette as pal
from visualize.draw import HELP_LINES, Renderer
from visualize.frame import frame_from_recording, frame_from_sim
from visualize.inspector import inspect_robot
from visualize.replay import ReplaySource
from visualize.viewer import LiveSource, Viewer
from warehouse.core.state import Charge
from warehouse.recording import EpisodeRecorder, load_recording

CHARGERS = [[0, 12], [6, 12], [6, 0]]  #: aisle cells of `tiny`
#: robots start at 25 %, below recharge_below: the idle ones queue for the chargers at once
BATTERY = {
    "battery.capacity_wh": 100.0,
    "battery.initial_soc": 0.25,
    "battery.recharge_below": 0.3,
    "battery.charge_w": 1000.0,
    "battery.chargers": CHARGERS,
}


def battery_fleet(steps: int, seed: int = 0, rec: bool = False):
    f = make_fleet("tiny", **BATTERY)
    f.reset(seed)
    recorder = EpisodeRecorder(f.sim, meta={"scenario": "tiny"}) if rec else None
    for _ in range(steps):
        st = f.step()
        if recorder is not None:
            recorder.capture(f.sim, st)
    return f, recorder


def charging_robot(frame) -> int:
    hit = np.flatnonzero(frame.charge == Charge.CHARGING)
    assert hit.size, "expected a robot on a charger"
    return int(hit[0])


def test_chargers_are_drawn_in_the_charger_colour_only_with_the_battery_on():
    f, _ = battery_fleet(0)
    r = Renderer(f.sim.floor, (640, 400))
    frame = frame_from_sim(f.sim)
    assert frame.battery and frame.chargers.size == len(CHARGERS)
    canvas = r.draw(frame)
    free = [c for c in frame.chargers.tolist() if c not in frame.pos]
    assert free
    for node in free:
        x, y = r.view.cell_to_screen(f.sim.floor.pos[node])
        assert pixel(canvas, x + 2, y + 2) == pal.CHARGER  # the cell
        mid = r.view.cell // 2
        assert pixel(canvas, x + mid, y + mid) == pal.HEADING  # its plug
    plain = make_fleet("tiny")
    plain.reset(0)
    off = frame_from_sim(plain.sim)
    assert not off.battery and off.chargers.size == 0 and off.soc_wh is None
    canvas = r.draw(off)
    x, y = r.view.cell_to_screen(f.sim.floor.pos[free[0]])
    assert pixel(canvas, x + 2, y + 2) == pal.FLOOR[pal.NodeKind.AISLE]


def test_inspector_gives_the_charge_of_a_charging_robot_and_its_corner_mark_shows():
    f, _ = battery_fleet(12)
    frame = frame_from_sim(f.sim, f.last)
    i = charging_robot(frame)
    ins = inspect_robot(frame, i)
    soc = f.sim.state.soc_wh[i] / 100.0
    assert ins.soc == pytest.approx(soc) and ins.battery == "charging"
    assert ins.battery_note == f"battery {soc:.0%} ({f.sim.state.soc_wh[i]:.1f} Wh)   charging"
    assert f"{soc:.0%}" in ins.battery_note
    # the other battery states get their names
    names = {inspect_robot(frame, j).battery for j in range(frame.n_robots)}
    assert names <= set(pal.CHARGE_NAMES) and "charging" in names
    # the corner mark: charger colour in the bottom-left corner of the robot's cell
    r = Renderer(f.sim.floor, (200, 170))
    canvas = r.draw(frame)
    c = r.view.cell
    margin = max(1, c // 8)
    size = c - 2 * margin
    k = max(2, size // 3)
    assert size >= 5
    for j in range(frame.n_robots):
        x, y = r.view.cell_to_screen(f.sim.floor.pos[frame.pos[[j]]])
        corner = pixel(canvas, x[0] + margin + k // 2, y[0] + margin + size - k // 2 - 1)
        want = pal.CHARGE_MARKS[int(frame.charge[j])]
        if want is None:
            assert corner not in (pal.CHARGER, pal.CHARGE_WAIT, pal.DEPLETED), j
        else:
            assert corner == want, j


def test_battery_overlay_colours_robots_by_charge_and_key_b_toggles_it():
    f, _ = battery_fleet(12)
    v = Viewer(LiveSource(f, 0), size=(640, 400), headless=True)
    assert any(key == "b" for key, _ in HELP_LINES)
    frame = v.source.frame()
    r = v.renderer
    x, y = r.robot_screen_center(frame, 0)
    off = pixel(v.draw(), x, y)
    assert off == pal.STATE_COLORS[pal.robot_states(frame.phase, frame.broken)[0]]
    v.handle_key("b")
    assert r.overlays.battery
    on = pixel(v.draw(), x, y)
    assert on == tuple(pal.soc_colors(frame.soc[[0]])[0]) and on != off
    v.handle_key("b")
    assert not r.overlays.battery
    # full is green, flat is red
    assert tuple(pal.soc_colors(np.array([0.0, 1.0]))[:, 1] < 100) == (True, False)


def test_a_frame_with_the_battery_off_is_unchanged(monkeypatch):
    """With the battery model off nothing of it is drawn: no charge colours, no legend
    entries, and the ``b`` overlay changes no pixel."""
    f = make_fleet("tiny")
    f.reset(3)
    for _ in range(20):
        f.step()
    frame = frame_from_sim(f.sim, f.last)
    assert frame.closed.size == 0 and not frame.battery
    r = Renderer(f.sim.floor, (800, 500))
    r.draw(frame)
    before = r.rgb_array()

    def boom(*args, **kwargs):
        raise AssertionError("battery drawing with the battery off")

    monkeypatch.setattr(pal, "soc_colors", boom)
    monkeypatch.setattr(Renderer, "_draw_battery_legend", boom)
    r.overlays.battery = True
    r.draw(frame)
    assert np.array_equal(r.rgb_array(), before)
    v = Viewer(LiveSource(f, 3), size=(640, 400), headless=True)
    v.handle_key("b")
    assert "no battery model" in v.renderer.message


def test_replay_draws_the_battery_as_live(tmp_path):
    f, recorder = battery_fleet(15, seed=1, rec=True)
    recorder.save(tmp_path / "b.npz")
    rec = load_recording(tmp_path / "b.npz")
    live = frame_from_sim(f.sim, f.last)
    src = ReplaySource(rec)  # keeps the chargers; frame_from_recording alone finds them
    src.seek(rec.n_frames - 1)
    again = frame_from_recording(rec, rec.n_frames - 1)  # no label: the HUD as the live one
    for frame in (src.frame(), again):
        assert frame.battery
        assert np.array_equal(frame.chargers, live.chargers)
        assert np.array_equal(frame.soc_wh, live.soc_wh)
        assert np.array_equal(frame.charge, live.charge)
    i = charging_robot(live)
    assert inspect_robot(again, i).battery_note == inspect_robot(live, i).battery_note
    images = []
    for frame in (live, again):
        r = Renderer(f.sim.floor, (800, 500))
        r.overlays.battery = True
        r.draw(frame)
        images.append(r.rgb_array())
    assert np.array_equal(*images)
    # a recording made with the battery off has none
    plain = make_fleet("tiny")
    plain.reset(0)
    rp = EpisodeRecorder(plain.sim, meta={})
    rp.capture(plain.sim, plain.step())
    rp.save(tmp_path / "p.npz")
    assert not frame_from_recording(load_recording(tmp_path / "p.npz"), 1).battery


def test_scheduled_closures_are_drawn_as_random_ones_live_and_in_replay(tmp_path):
    """Cells closed by ``faults.closures`` are painted in the closed colour while the closure
    lasts and not after, in the live view and the replay; the inspector of a robot standing on
    one says so."""
    cells = [[2, 7], [3, 7]]  # aisle cells of `tiny`
    closure = {"cells": cells, "start_s": 2.0, "end_s": 8.0}
    f = make_fleet("tiny", **{"faults.closures": [closure]})
    f.reset(0)
    recorder = EpisodeRecorder(f.sim, meta={})
    r = Renderer(f.sim.floor, (640, 400))
    nodes = [int(f.sim.floor.cell_of[tuple(c)]) for c in cells]
    seen = {}
    for t in range(1, 12):
        recorder.capture(f.sim, f.step())
        frame = frame_from_sim(f.sim, f.last)
        shut = set(frame.closed.tolist()) >= set(nodes)
        seen[t] = shut
        canvas = r.draw(frame)
        for node in nodes:
            if node in frame.pos:
                continue
            x, y = r.view.cell_to_screen(f.sim.floor.pos[node])
            want = pal.CLOSED if shut else pal.FLOOR[pal.NodeKind(int(f.sim.floor.kind[node]))]
            assert pixel(canvas, x + 2, y + 2) == want, (t, node)
        if shut and frame.closed.size:
            on = np.flatnonzero(np.isin(frame.pos, frame.closed))
            for i in on.tolist():
                assert inspect_robot(frame, i).closed_note == "stands on a closed cell"
    assert seen[3] and not seen[1] and not seen[11]
    recorder.save(tmp_path / "c.npz")
    rec = load_recording(tmp_path / "c.npz")
    for k in range(rec.n_frames):
        assert (set(frame_from_recording(rec, k).closed.tolist()) >= set(nodes)) == seen.get(
            k, False
        ), k


@pytest.mark.parametrize(("letters", "on"), [("b", True), ("hg", False), ("hpgb", True)])
def test_view_overlays_option_switches_the_charge_overlay(letters: str, on: bool) -> None:
    """``warehouse view --overlays b`` starts with robots coloured by charge."""
    from types import SimpleNamespace

    from visualize.draw import Overlays
    from warehouse.cli.cmd_view import _setup

    viewer = SimpleNamespace(renderer=SimpleNamespace(overlays=Overlays()))
    _setup(viewer, None, letters)
    assert viewer.renderer.overlays.battery is on
    assert viewer.renderer.overlays.heatmap is ("h" in letters)
