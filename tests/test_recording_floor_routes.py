"""Recordings keep what a split floor (``physics.speed_m_s``) and scheduled closures
(``faults.closures``) change: the transit mask and ``edge_split`` come back on the loaded floor,
and replayed frames route around the scheduled closures as the live run did, so observations
and distances rebuilt from the log equal the live ones. Older recordings still load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from recording_helpers import rewrite_recording

import warehouse
from agents import RuleBasedNavigator
from hierarchy import make_dispatcher
from scenarios import build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.core.observe import Observer
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind
from warehouse.floor.transit import SPLIT_KEY, TRANSIT_KEY
from warehouse.recording import EpisodeRecorder, load_recording

# Stations west, picks east, one 8 m two-way aisle X–Y between them, every position shifted by
# (5, 5): the compiled floor starts at (0, 0), the user's cells (closures) do not.
NODES = [
    {"id": "S1", "pos": [5, 6], "kind": "station"}, {"id": "S2", "pos": [7, 6], "kind": "station"},
    {"id": "L", "pos": [6, 5], "kind": "aisle"}, {"id": "X", "pos": [6, 6], "kind": "aisle"},
    {"id": "Y", "pos": [6, 14], "kind": "aisle"}, {"id": "R", "pos": [6, 15], "kind": "aisle"},
    {"id": "P1", "pos": [5, 14], "kind": "pick"}, {"id": "P2", "pos": [7, 14], "kind": "pick"},
    {"id": "U", "pos": [4, 6], "kind": "aisle"}, {"id": "V", "pos": [4, 14], "kind": "aisle"},
]  # fmt: skip
EDGES = [("S1", "X"), ("S2", "X"), ("L", "X"), ("Y", "P1"), ("Y", "P2"), ("Y", "R"),
         ("S1", "U"), ("P1", "V")]  # fmt: skip
LONG = [("X", "Y", 8.0), ("U", "V", 12.0)]  # the corridor and a longer detour over the top


_rewrite = rewrite_recording


def _doc(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta_json"]))


@pytest.fixture(scope="module")
def hall(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hall")
    edges = [{"source": a, "target": b} for a, b in EDGES]
    edges += [{"source": a, "target": b, "length": m} for a, b, m in LONG]
    doc = {"directed": False, "graph": {"name": "hall"}, "nodes": NODES, "edges": edges}
    (folder / "h.json").write_text(json.dumps(doc))
    path = folder / "h.yaml"
    closure = {"cells": [[6, 10]], "start_s": 15, "end_s": 60}  # mid-corridor (transit nodes)
    path.write_text(
        "layout: {type: file, path: h.json}\nfleet: {robots: 4}\ntasks: {arrival_rate: 0.5}\n"
        "physics: {speed_m_s: 1.0, step_seconds: 1.0}\n"
        f"faults: {{closures: [{json.dumps(closure)}]}}\n"
    )
    return path


def run_recorded(sim: Simulation, seed: int, steps: int, path: Path, frames=()) -> dict:
    """Run with the rule-based fleet, record, and return the live observation, target
    distances and distance-cache closed set at ``frames``."""
    fleet = Fleet(sim, make_dispatcher("greedy"), RuleBasedNavigator())
    fleet.reset(seed)
    rec = EpisodeRecorder(sim, meta={"seed": seed})
    live = {}
    for _ in range(steps):
        if sim.t in frames:
            live[sim.t] = (Observer(sim)(), sim.target_distance(), np.flatnonzero(sim.dist.closed))
        rec.capture(sim, fleet.step())
    rec.save(path)
    return live


@pytest.fixture(scope="module")
def split_run(hall, tmp_path_factory):
    sc, src = load_scenario(hall)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    path = tmp_path_factory.mktemp("rec") / "split.npz"
    live = run_recorded(sim, 0, 80, path, frames=(10, 20, 40, 70))
    return sim, path, live


def test_a_split_floor_comes_back_with_its_transit_mask_and_edge_split(split_run):
    sim, path, _ = split_run
    live, loaded = sim.floor, load_recording(path).floor
    assert live.transit.sum() == 7 + 11  # (the 8 m and 12 m edges at 1 m per step)
    assert np.array_equal(loaded.transit, live.transit)
    assert loaded.edge_split == live.edge_split is not None
    assert loaded.graph.graph[SPLIT_KEY] == live.graph.graph[SPLIT_KEY]
    assert loaded.graph.graph[TRANSIT_KEY] == live.graph.graph[TRANSIT_KEY]
    assert loaded.nodes == live.nodes and np.array_equal(loaded.cell_of, live.cell_of)


def test_frames_inside_a_scheduled_closure_route_as_the_live_run(split_run):
    """The closure mid-corridor (steps 15..59) sends robots over the top: the distances and
    observations rebuilt from the log follow it, before, during and after."""
    _, path, live = split_run
    log = load_recording(path)
    assert live[20][2].size and not live[10][2].size and not live[70][2].size
    for k, (obs, dist, closed) in live.items():
        sim = log.frame_sim(k)
        np.testing.assert_array_equal(log.route_closed_at(k), closed)
        np.testing.assert_array_equal(np.flatnonzero(sim.dist.closed), closed)
        np.testing.assert_array_equal(sim.target_distance(), dist)
        np.testing.assert_array_equal(Observer(sim)(), obs)
    # reading frame 20 leaves frame 10's distances alone (one cache per closed set)
    assert not log.frame_sim(10).dist.closed.any() and log.frame_sim(20).dist.closed.any()


def test_observations_inside_a_closure_with_random_closures_on_small(tmp_path):
    """small with a scheduled area closure and random closures: the recorded closed cells are
    more than the scheduled ones, yet the replayed distances route around the schedule only,
    so the observations rebuilt at frames inside the closure equal the live ones (and those of
    a distance cache without closures do not)."""
    area = {"area": {"from": [0, 3], "to": [3, 10]}, "start_s": 20, "end_s": 80}
    env = warehouse.make_env(
        "small",
        **{"faults.closures": [area], "faults.closure_prob": 0.3, "tasks.arrival_rate": 0.5},
    )
    sim = env.sim
    dt = sim.config.physics.step_seconds
    inside = [round(30 / dt), round(60 / dt)]
    path = tmp_path / "small.npz"
    live = run_recorded(sim, 1, inside[-1] + 5, path, frames=(*inside, 5))
    log = load_recording(path)
    differs = False
    for k in inside:
        obs, dist, closed = live[k]
        assert closed.size and log.closed_at(k).size > closed.size  # random ones on top
        frame = log.frame_sim(k)
        np.testing.assert_array_equal(np.flatnonzero(frame.dist.closed), closed)
        np.testing.assert_array_equal(frame.target_distance(), dist)
        np.testing.assert_array_equal(Observer(frame)(), obs)
        frame.dist = log.dist  # what replays read before: no closures
        frame._targets = None
        differs |= not np.array_equal(Observer(frame)(), obs)
    assert differs
    np.testing.assert_array_equal(Observer(log.frame_sim(5))(), live[5][0])


def test_recordings_without_the_new_fields_load_as_before(split_run, tmp_path):
    sim, path, live = split_run
    doc = _doc(path)
    del doc["floor"]["edge_split"]
    old = _rewrite(
        path,
        tmp_path / "old.npz",
        doc,
        floor_transit=None,
        route_clock=None,
        route_ptr=None,
        route_nodes=None,
    )
    rec = load_recording(old)
    assert not rec.floor.transit.any() and rec.floor.edge_split is None
    assert rec.floor.nodes == sim.floor.nodes
    # with a schedule but no random closures the frame's closed cells are the routed set
    for k, (obs, _, closed) in live.items():
        np.testing.assert_array_equal(rec.route_closed_at(k), closed)
        np.testing.assert_array_equal(Observer(rec.frame_sim(k))(), obs)


def test_a_run_without_these_features_writes_what_it_wrote_before(tmp_path):
    """No speed and no schedule: none of the new arrays or JSON keys (the file is as before)."""
    env = warehouse.make_env("tiny", **{"faults.closure_prob": 0.2})
    path = tmp_path / "tiny.npz"
    run_recorded(env.sim, 0, 30, path)
    with np.load(path, allow_pickle=False) as z:
        names = set(z.files)
    assert not names & {"floor_transit", "route_clock", "route_ptr", "route_nodes"}
    assert set(_doc(path)["floor"]) == {"name", "is_grid", "cell_size", "nodes"}
    rec = load_recording(path)
    assert not rec.floor.transit.any() and rec.floor.edge_split is None
    assert all(rec.route_closed_at(k).size == 0 for k in range(rec.n_frames))
    assert rec.frame_sim(30).dist is rec.dist


def _corrupt(path: Path, tmp_path: Path) -> list[tuple[Path, str]]:
    """(file, field the error must name) for each corruption of the new fields."""
    with np.load(path, allow_pickle=False) as z:
        transit, clock = z["floor_transit"].copy(), z["route_clock"].copy()
        ptr, nodes, kind = z["route_ptr"].copy(), z["route_nodes"].copy(), z["floor_kind"]
    out = []

    def doc_with(**split) -> dict:
        doc = _doc(path)
        doc["floor"]["edge_split"].update(split)
        return doc

    out.append((_rewrite(path, tmp_path / "a.npz", doc_with(transit="7")),
                "meta_json.floor.edge_split.transit"))  # fmt: skip
    out.append((_rewrite(path, tmp_path / "b.npz", doc_with(speed_m_s=-1)),
                "meta_json.floor.edge_split.speed_m_s"))  # fmt: skip
    out.append((_rewrite(path, tmp_path / "c.npz", floor_transit=transit[:-1]), "floor_transit"))
    station = transit.copy()
    station[np.flatnonzero(kind == NodeKind.STATION)[:1]] = True
    out.append((_rewrite(path, tmp_path / "d.npz", floor_transit=station), "floor_transit"))
    out.append((_rewrite(path, tmp_path / "e.npz", floor_transit=None), "floor_transit"))
    out.append((_rewrite(path, tmp_path / "g.npz", route_ptr=None), "route_ptr"))
    out.append((_rewrite(path, tmp_path / "h.npz", route_clock=clock[::-1].copy()), "route_clock"))
    wrong = nodes.copy()
    wrong[0] = np.flatnonzero(kind == NodeKind.STATION)[0]  # a station the schedule never closed
    out.append((_rewrite(path, tmp_path / "i.npz", route_nodes=wrong), "route_nodes"))
    out.append((_rewrite(path, tmp_path / "j.npz", route_ptr=ptr + 1), "route_ptr"))
    doc = _doc(path)
    doc["config"]["faults"]["closures"] = []
    out.append((_rewrite(path, tmp_path / "k.npz", doc), "route_clock"))
    return out


def test_corrupted_new_fields_are_refused_on_one_line(split_run, tmp_path, capsys):
    from warehouse.cli.main import main

    _, path, _ = split_run
    for bad, field in _corrupt(path, tmp_path):
        with pytest.raises(InputError) as err:
            load_recording(bad)
        assert err.value.field == field, (bad.name, str(err.value))
    # the command line: exit code 2, one line naming the file and the field
    bad, field = _corrupt(path, tmp_path)[0]
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(bad), "--headless-frames", str(tmp_path / "frames")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and bad.name in err and field in err, err


def test_a_loaded_recording_keeps_the_floors_notes(tmp_path):
    """The live floor's notes (cells cut off) come back on the loaded floor, so the notes
    ``warehouse validate`` prints read the same from the log (the dead-end chargers among them,
    recomputed from the arrays); a recording without them (older ones) loads with none, and a
    malformed list is refused naming the field."""
    from warehouse.config import FleetConfig, SimConfig
    from warehouse.floor import compile_floor
    from warehouse.floor.checks import floor_notes
    from warehouse.floor.formats import parse_ascii

    floor = compile_floor(parse_ascii("S...p\n.C...\n#####\n..#..\n"))
    assert floor.notes == ["4 cell(s) cut off from the main floor are treated as blocked"]
    sim = Simulation(floor, SimConfig(fleet=FleetConfig(robots=2)))
    path = tmp_path / "notes.npz"
    run_recorded(sim, 0, 10, path)
    loaded = load_recording(path).floor
    assert loaded.notes == floor.notes and loaded.notes is not floor.notes
    assert floor_notes(loaded) == floor_notes(floor) and len(floor_notes(floor)) >= 1
    doc = _doc(path)
    del doc["floor"]["notes"]
    assert load_recording(_rewrite(path, tmp_path / "old.npz", doc)).floor.notes == []
    doc["floor"]["notes"] = "4 cells"
    with pytest.raises(InputError) as err:
        load_recording(_rewrite(path, tmp_path / "bad.npz", doc))
    assert err.value.field == "meta_json.floor.notes"
