"""Episode recording: round trip, exact KPI recomputation, validator input, bad files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from agents import make_navigator
from hierarchy import make_dispatcher
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis
from warehouse.recording import EpisodeRecorder, kpis_from_recording, load_recording


def make_fleet(scenario: str = "tiny", navigator: str = "rule_based", **overrides) -> Fleet:
    sc, src = load_scenario(scenario)
    sc = apply_overrides(sc, overrides, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    return Fleet(sim, make_dispatcher("greedy"), make_navigator(navigator))


def record(fleet: Fleet, seed: int, steps: int, path: Path) -> tuple[list, list]:
    """Run and record; return the live positions and KPIs seen after every step."""
    fleet.reset(seed)
    rec = EpisodeRecorder(fleet.sim, meta={"scenario": "tiny", "seed": seed})
    positions = [fleet.sim.state.pos.copy()]
    kpis = [compute_kpis(fleet.sim)]
    for _ in range(steps):
        rec.capture(fleet.sim, fleet.step())
        positions.append(fleet.sim.state.pos.copy())
        kpis.append(compute_kpis(fleet.sim))
    rec.save(path)
    return positions, kpis


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """tiny, random moves with physical collisions and breakdowns, so collisions, shield-free
    failures and broken robots all appear in the log."""
    path = tmp_path_factory.mktemp("rec") / "run.npz"
    fleet = make_fleet(
        "tiny",
        "random",
        robots=12,
        collisions="physical",
        **{
            "faults.breakdown_prob": 0.01,
            "tasks.arrival_rate": 1.0,
            "tasks.max_open_orders": 6,  # the backlog fills: arrivals are lost
        },
    )
    positions, kpis = record(fleet, seed=7, steps=150, path=path)
    return fleet, path, positions, kpis


def test_round_trip_reproduces_positions_every_step(recorded):
    fleet, path, positions, _ = recorded
    rec = load_recording(path)
    assert rec.steps == 150 and rec.n_robots == 12
    assert np.array_equal(rec.positions, np.stack(positions))
    # cells per frame agree with the floor's node positions
    assert np.array_equal(rec.cells()[-1], fleet.sim.floor.pos[positions[-1]])
    assert rec.meta == {"scenario": "tiny", "seed": 7}


def test_kpis_from_log_equal_compute_kpis_exactly(recorded):
    fleet, path, _, kpis = recorded
    rec = load_recording(path)
    final = kpis_from_recording(rec)
    assert final == compute_kpis(fleet.sim)
    assert final["collisions"] > 0  # the physical mode produced collisions to count
    assert final["deliveries"] > 0
    assert final["orders_lost"] > 0 and final["oldest_open_order_s"] > 0
    for k in (0, 1, 37, 149):  # every intermediate frame too
        assert kpis_from_recording(rec, k) == kpis[k]


def test_logged_steps_match_the_simulation(recorded):
    fleet, path, _, _ = recorded
    rec = load_recording(path)
    a = rec.arrays
    s = fleet.sim.state
    assert np.array_equal(a["phase"][-1], s.phase)
    assert np.array_equal(a["task_goal"][-1], s.task_goal)
    assert a["broken"].max() > 0  # breakdowns logged
    assert int(a["incidents"].sum()) == fleet.sim.incidents
    assert np.array_equal(a["collided"].sum(axis=0), s.collisions)
    assert a["preferences"].shape == (150, 12, fleet.sim.floor.n_actions)
    last = rec.frame_state(150)  # counters rebuilt from the per-step log
    for name in ("moves", "waits", "busy_steps", "deliveries", "interventions", "distance_m"):
        assert np.array_equal(getattr(last, name), getattr(s, name)), name


def test_floor_and_graph_rebuilt_with_same_node_ids(recorded):
    fleet, path, _, _ = recorded
    rec = load_recording(path)
    f, g = fleet.sim.floor, rec.floor
    assert g.nodes == f.nodes
    assert np.array_equal(g.nbr, f.nbr) and np.array_equal(g.kind, f.kind)
    graph = rec.graph()
    assert graph.number_of_nodes() == f.n_nodes
    # every allowed move of the compiled floor is an edge of the rebuilt graph
    src, slot = np.nonzero(f.mask[:, 1:])
    for u, a in list(zip(src.tolist(), (slot + 1).tolist(), strict=True))[:200]:
        assert graph.has_edge(f.nodes[u], f.nodes[int(f.nbr[u, a])])


def test_validator_reads_the_log(tmp_path):
    from warehouse import validate

    fleet = make_fleet("tiny", robots=8)  # block shield: no conflicts
    record(fleet, seed=1, steps=80, path=tmp_path / "ok.npz")
    rec = load_recording(tmp_path / "ok.npz")
    assert validate.validate_trajectory(rec.graph(), rec.positions, rec.floor.nodes) == []
    bad = rec.positions.copy()
    bad[5, 1] = bad[5, 0]  # two robots on one node
    kinds = {v.kind for v in validate.validate_trajectory(rec.graph(), bad, rec.floor.nodes)}
    assert "vertex" in kinds


def test_no_pickle_and_atomic_save(tmp_path, recorded):
    _, path, _, _ = recorded
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    assert "meta_json.npy" in names and "pos.npy" in names
    with np.load(path, allow_pickle=False) as z:  # loads without pickle
        assert json.loads(str(z["meta_json"]))["format"].startswith("warehouse-recording")
    assert not list(path.parent.glob(".*tmp"))  # no temp file left behind


def test_recorder_must_start_at_reset_and_follow_steps():
    fleet = make_fleet("tiny")
    fleet.reset(0)
    fleet.step()
    with pytest.raises(ValueError, match="reset"):
        EpisodeRecorder(fleet.sim, meta={})
    fleet.reset(0)
    rec = EpisodeRecorder(fleet.sim, meta={})
    fleet.step()
    with pytest.raises(ValueError, match="every step"):
        rec.capture(fleet.sim, fleet.step())  # one step was skipped
    with pytest.raises(ValueError, match="last capture"):
        rec.arrays()  # the simulation moved on: its counters no longer match the log


def _rewrite(src: Path, dst: Path, **changes) -> None:
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    for k, v in list(arrays.items()):
        if v is None:
            del arrays[k]
    np.savez(dst, **arrays)


def test_bad_files_raise_input_error(tmp_path, recorded):
    _, path, _, _ = recorded
    with pytest.raises(InputError, match="no such file"):
        load_recording(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(InputError, match="not a zip archive"):  # not "pickled data"
        load_recording(tmp_path / "text.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))  # a plain .npy renamed: not an archive
    (tmp_path / "array.npy").rename(tmp_path / "array.npz")
    with pytest.raises(InputError, match="not a zip archive"):
        load_recording(tmp_path / "array.npz")
    with pytest.raises(InputError, match="is a folder"):
        load_recording(tmp_path)
    _rewrite(path, tmp_path / "nometa.npz", meta_json=None)
    with pytest.raises(InputError, match="meta_json"):
        load_recording(tmp_path / "nometa.npz")
    with np.load(path, allow_pickle=False) as z:
        moved = z["moved_m"].copy()
        pos = z["pos"].copy()
    moved[3, 0] += 1.0
    _rewrite(path, tmp_path / "tampered.npz", moved_m=moved)
    with pytest.raises(InputError, match=r"final\.distance_m"):
        load_recording(tmp_path / "tampered.npz")
    pos[2, 0] = 10**6
    _rewrite(path, tmp_path / "offfloor.npz", pos=pos)
    with pytest.raises(InputError, match="pos"):
        load_recording(tmp_path / "offfloor.npz")
    _rewrite(path, tmp_path / "short.npz", actions=np.zeros((3, 12), np.int8))
    with pytest.raises(InputError, match="actions"):
        load_recording(tmp_path / "short.npz")
    with np.load(path, allow_pickle=False) as z:
        lost = z["orders_lost"].copy()
    lost[0] += 1
    _rewrite(path, tmp_path / "lost.npz", orders_lost=lost)
    with pytest.raises(InputError, match="orders_lost"):
        load_recording(tmp_path / "lost.npz")


def test_recordings_without_the_lost_log_still_load(tmp_path, recorded):
    """Recordings made before ``orders_lost`` was logged per step: the final count only."""
    fleet, path, _, _ = recorded
    _rewrite(path, tmp_path / "old.npz", orders_lost=None)
    rec = load_recording(tmp_path / "old.npz")
    assert kpis_from_recording(rec)["orders_lost"] == fleet.sim.orders.lost > 0
    assert kpis_from_recording(rec, 0)["orders_lost"] == 0


def test_kpis_from_log_equal_the_run_report(tmp_path):
    """`warehouse run --record`: the KPIs recomputed from the log equal report.json."""
    from warehouse.cli.main import main
    from warehouse.report import _clean

    out, path = tmp_path / "run", tmp_path / "run.npz"
    try:
        main(["run", "tiny", "--steps", "60", "--seeds", "3", "--record", str(path),
              "--out", str(out)])  # fmt: skip
    except SystemExit as exc:
        assert not exc.code
    report = json.loads((out / "report.json").read_text())
    kpis = kpis_from_recording(load_recording(path))
    per_seed = {k: v["per_seed"][0] for k, v in report["runs"][0]["kpis"].items()}
    assert per_seed == {k: _clean(v) for k, v in kpis.items()}


def test_closed_cells_are_logged_per_frame_and_replayed(tmp_path):
    """faults closes cells at random: every frame's closed set comes back, the rebuilt
    simulation masks moves into them, and older logs without the closure arrays still load."""
    from visualize.frame import frame_from_recording

    fleet = make_fleet("faults", robots=10)
    fleet.reset(3)
    rec = EpisodeRecorder(fleet.sim, meta={"scenario": "faults", "seed": 3})
    live = [fleet.sim.closed_nodes()]
    live_masks = [fleet.sim.action_mask()]
    for _ in range(120):
        rec.capture(fleet.sim, fleet.step())
        live.append(fleet.sim.closed_nodes())
        live_masks.append(fleet.sim.action_mask())
    path = rec.save(tmp_path / "faults.npz")
    assert sum(c.size for c in live) > 0  # the scenario did close cells
    log = load_recording(path)
    for k in range(log.n_frames):
        np.testing.assert_array_equal(log.closed_at(k), live[k])
        np.testing.assert_array_equal(log.frame_sim(k).action_mask(), live_masks[k])
        np.testing.assert_array_equal(frame_from_recording(log, k).closed, live[k])
    # A recording from before closures were logged: none shown, nothing else changes.
    _rewrite(path, tmp_path / "old.npz", closed_nodes=None, closed_ptr=None)
    old = load_recording(tmp_path / "old.npz")
    assert all(old.closed_at(k).size == 0 for k in range(old.n_frames))
    # Inconsistent closure arrays are refused with the field named.
    with np.load(path, allow_pickle=False) as z:
        ptr = z["closed_ptr"].copy()
    _rewrite(path, tmp_path / "half.npz", closed_ptr=None)
    with pytest.raises(InputError, match="closed_ptr"):
        load_recording(tmp_path / "half.npz")
    _rewrite(path, tmp_path / "ptr.npz", closed_ptr=ptr[:-1])
    with pytest.raises(InputError, match="closed_ptr"):
        load_recording(tmp_path / "ptr.npz")
    _rewrite(path, tmp_path / "nodes.npz", closed_nodes=np.full(ptr[-1], 10**6, np.int32))
    with pytest.raises(InputError, match="closed_nodes"):
        load_recording(tmp_path / "nodes.npz")
