"""Audit of recordings and comparisons: edited or foreign files are refused on loading with the
file and field named (not a traceback in the middle of a replay); ``warehouse compare`` names
a floor that differs between two runs of map files, shows settings in brackets in its title and
checks the policy parts it names."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from recording_helpers import rewrite_recording

import warehouse
from agents import make_navigator
from hierarchy import GreedyDispatcher
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.recording import EpisodeRecorder, kpis_from_recording, load_recording

DATA = Path(__file__).resolve().parent / "data"


def _record(path: Path, steps: int = 30, navigator: str = "rule_based", **overrides) -> Path:
    env = warehouse.make_env("tiny", **overrides)
    fleet = Fleet(env.sim, GreedyDispatcher(), make_navigator(navigator))
    fleet.reset(0)
    rec = EpisodeRecorder(fleet.sim, meta={"scenario": "tiny", "seed": 0})
    for _ in range(steps):
        rec.capture(fleet.sim, fleet.step())
    return rec.save(path)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """tiny, random moves with physical collisions: incidents are logged."""
    path = tmp_path_factory.mktemp("plain") / "run.npz"
    return _record(path, 60, "random", **{"physics.collisions": "physical", "fleet.robots": 12})


@pytest.fixture(scope="module")
def battery(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("battery") / "run.npz"
    return _record(path, **{"battery.capacity_wh": 5, "battery.chargers": [[0, 12]]})


def _rewrite(src: Path, dst: Path, edit_doc=None, **changes) -> Path:
    return rewrite_recording(src, dst, edit_doc=edit_doc, **changes)


def _setting(*keys: str | int, value: object):
    """An edit of the JSON document: ``doc[keys[0]]...[keys[-1]] = value``."""

    def edit(doc: dict) -> None:
        for key in keys[:-1]:
            doc = doc[key]
        doc[keys[-1]] = value

    return edit


def _refused(path: Path, field: str) -> None:
    with pytest.raises(InputError) as err:
        load_recording(path)
    assert err.value.field == field, err.value
    assert err.value.source is not None and Path(err.value.source).name == path.name


def test_a_null_node_id_is_refused_on_loading(plain, tmp_path):
    """It used to load, then break the replay (networkx: None cannot be a node)."""
    bad = _rewrite(plain, tmp_path / "b.npz", _setting("floor", "nodes", 0, value=None))
    _refused(bad, "meta_json.floor.nodes")


def test_a_fleet_size_that_disagrees_with_the_log_names_its_field(plain, tmp_path):
    """It used to be blamed on ``meta_json.floor``."""
    bad = _rewrite(plain, tmp_path / "b.npz", _setting("config", "fleet", "robots", value=3))
    _refused(bad, "meta_json.config.fleet.robots")
    bad = _rewrite(plain, tmp_path / "c.npz", lambda d: d["floor"]["nodes"].pop())
    _refused(bad, "meta_json.floor.nodes")


@pytest.mark.parametrize("value", ["x", -1, 2.5, True])
def test_a_bad_final_orders_lost_is_refused(plain, tmp_path, value):
    """``"x"`` used to raise ValueError out of the loader."""
    bad = _rewrite(plain, tmp_path / "b.npz", _setting("final", "orders_lost", value=value))
    _refused(bad, "final.orders_lost")


def test_an_edited_incident_log_is_refused(plain, tmp_path):
    """The collisions KPI counts ``incidents``: editing it changed the KPI without a word."""
    with np.load(plain, allow_pickle=False) as z:
        incidents = z["incidents"].copy()
    assert incidents.sum() > 0
    bad = _rewrite(plain, tmp_path / "b.npz", incidents=np.zeros_like(incidents))
    _refused(bad, "incidents")
    bad = _rewrite(plain, tmp_path / "c.npz", _setting("final", "incidents", value=-3))
    _refused(bad, "final.incidents")


def test_the_battery_log_and_the_battery_setting_come_together(battery, tmp_path):
    """A charge log with the battery off used to load and then crash the replay (float(None));
    the battery on without its log gave wrong battery KPIs."""
    assert kpis_from_recording(load_recording(battery))["min_soc"] < 1.0  # (the log loads)
    edit = _setting("config", "battery", "capacity_wh", value=None)
    off = _rewrite(battery, tmp_path / "off.npz", edit)
    _refused(off, "meta_json.config.battery.capacity_wh")
    unlogged = _rewrite(battery, tmp_path / "unlogged.npz", battery_soc=None, battery_charge=None)
    _refused(unlogged, "battery_soc")


def test_chargers_off_the_recorded_floor_are_refused_on_loading(battery, tmp_path):
    """They used to load and stop the replay with an error that named no file."""
    edit = _setting("config", "battery", "chargers", value=[[1, 4]])
    bad = _rewrite(battery, tmp_path / "b.npz", edit)
    _refused(bad, "meta_json.config.battery.chargers[0]")


def test_a_floor_no_simulation_runs_on_is_refused_on_loading(plain, tmp_path):
    """It used to load, then stop the replay with a ValueError (Simulation's floor check)."""
    with np.load(plain, allow_pickle=False) as z:
        kind, start_ok = z["floor_kind"].copy(), z["floor_start_ok"].copy()
    _refused(_rewrite(plain, tmp_path / "b.npz", floor_kind=np.zeros_like(kind)), "floor_kind")
    start_ok[:] = False
    _refused(_rewrite(plain, tmp_path / "c.npz", floor_start_ok=start_ok), "floor_start_ok")


def test_a_robot_holding_an_order_before_it_arrived_is_refused(plain, tmp_path):
    """Frame 0 holds no order yet: it used to raise IndexError out of frame_orders."""
    with np.load(plain, allow_pickle=False) as z:
        order = z["order"].copy()
    order[0, 0] = order.max()
    _refused(_rewrite(plain, tmp_path / "b.npz", order=order), "order")


def test_a_cell_map_that_disagrees_with_the_node_cells_is_refused(battery, tmp_path):
    with np.load(battery, allow_pickle=False) as z:
        cell_of = z["floor_cell_of"].copy()
    cell_of[cell_of >= 0] = -1
    bad = _rewrite(battery, tmp_path / "b.npz", floor_cell_of=cell_of)
    _refused(bad, "floor_cell_of")


def test_a_member_that_is_no_npy_array_is_refused(plain, tmp_path):
    """np.load hands such a member back as bytes: it used to raise AttributeError."""
    bad = tmp_path / "b.npz"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("meta_json.npy", "not an array")
    _refused(bad, "meta_json")
    extra = tmp_path / "extra.npz"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(extra, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"garbage" if name == "pos.npy" else src.read(name))
    _refused(extra, "pos")


def test_replay_of_a_bad_recording_is_one_line_exit_2(plain, tmp_path, capsys):
    bad = _rewrite(plain, tmp_path / "b.npz", _setting("final", "orders_lost", value="x"))
    code, _, err = run_cli(["replay", str(bad), "--headless-frames", str(tmp_path / "f")], capsys)
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines() == [f"error: {bad}: final.orders_lost: expected a count ≥ 0"]
    assert not (tmp_path / "f").exists()


# ---------------------------------------------------------------------------------- compare
def _report(policy_part: object = "greedy") -> dict:
    deliveries = {"deliveries": {"mean": 1.0, "per_seed": [1, 1]}}
    return {
        "scenario": "corridor", "seeds": [0, 1], "steps": 10,
        "runs": [{"policy": "rule_based", "dispatcher": policy_part, "kpis": deliveries}],
    }  # fmt: skip


def _map_run(root: Path, name: str, drawing: str) -> Path:
    """A run folder as ``warehouse run`` leaves it for a map file: the map copied beside the
    report as ``scenario_map.txt``, which ``scenario.yaml`` names."""
    folder = root / name
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(_report()))
    (folder / "scenario.yaml").write_text("layout: {type: file, path: scenario_map.txt}\n")
    (folder / "scenario_map.txt").write_text(drawing)
    return folder


def test_compare_names_a_floor_that_differs_between_two_map_runs(tmp_path, capsys):
    """Each run folder copies its map as scenario_map.txt: the same path in both scenario.yaml
    files, so two different floors used to compare as the same."""
    corridor = (DATA / "maps" / "corridor.txt").read_text()
    a = _map_run(tmp_path, "a", corridor)
    same = _map_run(tmp_path, "same", corridor)
    other = _map_run(tmp_path, "other", corridor.replace("......p\n", ".....p.\n", 1))
    code, out, err = run_cli(["compare", str(a), str(other), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["differ"] == {"layout.path": ["(differs)", "(differs)"]}
    code, out, err = run_cli(["compare", str(a), str(same), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["differ"] == {}


def test_compare_refuses_a_policy_part_that_is_not_text(tmp_path, capsys):
    """A foreign report's ``dispatcher: 5`` used to be printed in the title as a change."""
    (tmp_path / "a.json").write_text(json.dumps(_report()))
    b = tmp_path / "b.json"
    b.write_text(json.dumps(_report(5)))
    code, out, err = run_cli(["compare", str(tmp_path / "a.json"), str(b)], capsys)
    assert code == 2 and not out, out
    assert err.strip() == f"error: {b}: runs.0.dispatcher: Input should be a valid string"


def test_compare_shows_a_setting_in_brackets_in_its_title(tmp_path, monkeypatch, capsys):
    """The title went through rich markup: ``layout.parking_walls [] → [north]`` printed as
    ``[] →`` (README's example of comparing a setting)."""
    for name, walls in (("a", "[]"), ("b", "[north]")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(_report()))
        (tmp_path / name / "scenario.yaml").write_text(f"layout: {{parking_walls: {walls}}}\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["compare", "a", "b"], capsys)
    assert code == 0, err
    assert "layout.parking_walls [] → [north]" in " ".join(out.split()), out  # (rich wraps)


def test_a_replay_counts_the_step_of_an_order_handed_back_to_a_closure(tmp_path: Path) -> None:
    """A robot that drove to its pick and then handed its order back to a closure began the
    step driving: the replay's time counters say so, as the core's do (they took it for a robot
    whose order was taken over before the step). Task swaps on, so both kinds occur."""
    from warehouse.model import WarehouseModel

    scenario = Path(__file__).resolve().parent.parent / "docs/results_closures/small_pockets.yaml"
    model = WarehouseModel(scenario, seed=0, steps=900, policy="rule_based", recorder=True,
                           **{"policies.task_swaps": True})  # fmt: skip
    model.run()
    rec = load_recording(model.recorder.save(tmp_path / "run.npz"))
    assert rec._handed_back.sum() == 2  # this run's two hand-backs
    last, s = rec.frame_state(rec.steps), model.sim.state
    np.testing.assert_array_equal(last.phase_steps, s.phase_steps)
    np.testing.assert_array_equal(last.busy_steps, s.busy_steps)
