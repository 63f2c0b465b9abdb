"""The viewer and recordings show closed edges (``faults.closures[].edges``): a bar in the
closed colour across the edge while it is closed, live and in the replay of a recording (which
logs the closed moves, ``edge_*``, only when some closure closes an edge); recordings made
before that log resolve them from their configuration. Headless (SDL's dummy video driver)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

pytest.importorskip("pygame")

from test_visualize import make_fleet, pixel

from visualize import palette as pal
from visualize.draw import Renderer
from visualize.frame import frame_from_recording, frame_from_sim
from visualize.viewer import LiveSource, Viewer
from warehouse.errors import InputError
from warehouse.recording import EDGE_FIELDS, EpisodeRecorder, load_recording

EDGE = [[2, 7], [3, 7]]  #: two aisle cells of `tiny`, one above the other
CLOSURE = {"edges": [EDGE], "start_s": 2.0, "end_s": 8.0}


def edge_fleet():
    f = make_fleet("tiny", **{"faults.closures": [CLOSURE]})
    f.reset(0)
    return f


def bar_pixel(r: Renderer, floor) -> tuple[int, int]:
    """The pixel in the middle of the side (2, 7) and (3, 7) share."""
    x, y = r.view.cell_to_screen(floor.pos[floor.cell_of[tuple(EDGE[0])]])
    return int(x + r.view.cell // 2), int(y + r.view.cell)


def free(frame) -> bool:
    """No robot on either end (a robot's flash may cover the side)."""
    ends = [frame.floor.cell_of[tuple(c)] for c in EDGE]
    return not np.isin(frame.pos, ends).any()


def test_a_closed_edge_is_drawn_while_closed_live_and_in_the_replay(tmp_path):
    f = edge_fleet()
    recorder = EpisodeRecorder(f.sim, meta={})
    r = Renderer(f.sim.floor, (640, 400))
    a, b = (int(f.sim.floor.cell_of[tuple(c)]) for c in EDGE)
    drawn: dict[int, bool] = {}
    for t in range(1, 12):
        recorder.capture(f.sim, f.step())
        before = f.sim.rng_states()
        frame = frame_from_sim(f.sim, f.last)
        closed = 2 <= t < 8
        pairs = {tuple(sorted(m)) for m in frame.closed_edges.tolist()}
        assert pairs == ({(min(a, b), max(a, b))} if closed else set()), t
        canvas = r.draw(frame)
        assert f.sim.rng_states() == before  # drawing reads the simulation, never its RNG
        if free(frame):
            drawn[t] = pixel(canvas, *bar_pixel(r, f.sim.floor)) == pal.CLOSED
            assert drawn[t] == closed, t
    assert any(drawn.get(t) for t in range(2, 8)) and any(drawn.get(t) is False for t in (1, 8, 9))
    recorder.save(tmp_path / "e.npz")
    rec = load_recording(tmp_path / "e.npz")
    assert all(k in rec.arrays for k in EDGE_FIELDS)
    assert rec.config.faults.closures[0].edges  # (kept where it closes edges)
    for k in drawn:
        frame = frame_from_recording(rec, k)
        assert (frame.closed_edges.size > 0) == (2 <= k < 8), k
        canvas = r.draw(frame)
        assert (pixel(canvas, *bar_pixel(r, rec.floor)) == pal.CLOSED) == drawn[k], k
    # the replay's distances go around the closed edge, as the live ones did
    assert np.array_equal(rec.frame_sim(4).dist.mask, _mask_at(4))


def _mask_at(t: int) -> np.ndarray:
    f = edge_fleet()
    for _ in range(t):
        f.step()
    return f.sim.dist.mask


def test_the_live_viewer_shows_the_closed_edge():
    f = make_fleet("tiny", **{"faults.closures": [CLOSURE]})
    v = Viewer(LiveSource(f, 0), size=(640, 400), headless=True)
    for t in range(1, 10):
        v.source.advance()
        frame = v.source.frame()
        assert frame.t == t
        closed = 2 <= t < 8
        assert frame.closed_edges.shape == ((2, 2) if closed else (0, 2))  # both directions
        canvas = v.draw()
        if free(frame):
            assert (pixel(canvas, *bar_pixel(v.renderer, f.sim.floor)) == pal.CLOSED) == closed


def test_recordings_without_closed_edges_write_no_edge_arrays(tmp_path):
    for closures in ([], [{"cells": [EDGE[0]], "start_s": 2.0, "end_s": 8.0}]):
        f = make_fleet("tiny", **{"faults.closures": closures})
        f.reset(0)
        recorder = EpisodeRecorder(f.sim, meta={})
        for _ in range(5):
            recorder.capture(f.sim, f.step())
        arrays = recorder.arrays()
        assert not set(EDGE_FIELDS) & set(arrays)
        # the configuration is kept as before edges existed (no `edges: []`), byte for byte
        doc = json.loads(str(arrays["meta_json"]))
        assert all("edges" not in entry for entry in doc["config"]["faults"]["closures"])
        recorder.save(tmp_path / "n.npz")
        rec = load_recording(tmp_path / "n.npz")
        assert frame_from_recording(rec, 3).closed_edges.shape == (0, 2)


def _resave(path, out, **change) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in change.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez_compressed(out, **arrays)


def test_a_recording_made_before_the_edge_log_shows_its_closed_edges(tmp_path):
    f = edge_fleet()
    recorder = EpisodeRecorder(f.sim, meta={})
    for _ in range(5):
        recorder.capture(f.sim, f.step())
    recorder.save(tmp_path / "e.npz")
    _resave(tmp_path / "e.npz", tmp_path / "old.npz", **dict.fromkeys(EDGE_FIELDS))
    new, old = load_recording(tmp_path / "e.npz"), load_recording(tmp_path / "old.npz")
    for k in range(new.n_frames):
        assert np.array_equal(new.closed_moves_at(k), old.closed_moves_at(k)), k
    assert old.closed_moves_at(3).shape == (2, 2) and old.closed_moves_at(1).size == 0


def test_an_edited_edge_log_is_refused_naming_the_array(tmp_path):
    f = edge_fleet()
    recorder = EpisodeRecorder(f.sim, meta={})
    for _ in range(3):
        recorder.capture(f.sim, f.step())
    recorder.save(tmp_path / "e.npz")
    a, c = (int(f.sim.floor.cell_of[tuple(x)]) for x in ([0, 0], [6, 12]))
    bad = np.array([[a, c], [c, a]], dtype=np.int32)  # not a move of the floor
    _resave(tmp_path / "e.npz", tmp_path / "bad.npz", edge_moves=bad)
    with pytest.raises(InputError, match="edge_moves"):
        load_recording(tmp_path / "bad.npz")
    _resave(tmp_path / "e.npz", tmp_path / "part.npz", edge_ptr=None)
    with pytest.raises(InputError, match="edge_ptr"):
        load_recording(tmp_path / "part.npz")
