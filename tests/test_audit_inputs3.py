"""Scenario validation and the simulation's checks of what plug-ins hand it: inputs that were
accepted and silently meant something else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly

from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

#: A station s, an aisle node a1 with a pick p under it and an aisle node c 4 m east of a1: at
#: 1 m/s the edge a1–c takes 4 steps, through the transit nodes a1~c#1..3 in cells (0, 2..4).
HALL = {
    "directed": False,
    "graph": {"name": "h"},
    "nodes": [
        {"id": "s", "pos": [0, 0], "kind": "station"},
        {"id": "a1", "pos": [0, 1], "kind": "aisle"},
        {"id": "c", "pos": [0, 5], "kind": "aisle"},
        {"id": "p", "pos": [1, 1], "kind": "pick"},
    ],
    "edges": [
        {"source": "s", "target": "a1"},
        {"source": "a1", "target": "c", "length": 4.0},
        {"source": "a1", "target": "p"},
    ],
}


def _hall_scenario(tmp_path: Path, battery: str, hall: dict | None = None) -> Path:
    (tmp_path / "hall.json").write_text(json.dumps(hall or HALL), "utf-8")
    path = tmp_path / "sc.yaml"
    path.write_text(
        "layout: {type: file, path: hall.json}\nfleet: {robots: 1}\n"
        "physics: {speed_m_s: 1.0}\n"
        f"battery: {{capacity_wh: 10.0, charge_w: 5000.0{battery}}}\n"
        "episode: {steps: 5, seeds: [0]}\n",
        "utf-8",
    )
    return path


def test_a_listed_charger_on_a_transit_node_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``battery.chargers: [[0, 3]]`` named the middle transit node of the long edge a1–c, a node
    robots only pass through (README: "no robot starts on, parks on or is sent to"); validation
    accepted it, and a charging robot stood in the middle of the edge, blocking it."""
    monkeypatch.chdir(tmp_path)
    _hall_scenario(tmp_path, ", chargers: [[0, 3]]")
    line = fails_cleanly(
        ["validate", "sc.yaml"], tmp_path, capsys, "sc.yaml: battery.chargers[0]: (0, 3) is "
    )  # fmt: skip
    assert "transit node" in line and "a1~c#2" in line
    # the waypoint at the end of the edge is a charger as before
    (tmp_path / "sc.yaml").write_text(
        (tmp_path / "sc.yaml").read_text("utf-8").replace("[[0, 3]]", "[[0, 5]]"), "utf-8"
    )
    from cli_helpers import run_cli

    code, out, err = run_cli(["validate", "sc.yaml"], capsys)
    assert code == 0, err
    assert "1 charger: c (0, 5)" in out


def test_a_drawn_charger_on_a_transit_node_of_a_saved_floor_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saved split floor marks its transit nodes ``"transit": true``; one marked
    ``"charger": true`` too was used as a charger (the battery's drawn chargers)."""
    monkeypatch.chdir(tmp_path)
    hall = json.loads(json.dumps(HALL))
    hall["nodes"].append({"id": "t", "pos": [0, 6], "kind": "aisle", "transit": True})
    hall["nodes"].append({"id": "e", "pos": [0, 7], "kind": "aisle"})
    hall["nodes"][-2]["charger"] = True
    hall["edges"] += [{"source": "c", "target": "t"}, {"source": "t", "target": "e"}]
    _hall_scenario(tmp_path, "", hall)
    line = fails_cleanly(["validate", "sc.yaml"], tmp_path, capsys, "sc.yaml: layout: ")
    assert "the charger at t (0, 6) is a transit node" in line


def _sim_with_an_open_order() -> tuple[Simulation, np.ndarray]:
    grid = np.full((3, 6), NodeKind.AISLE, np.int8)
    grid[0, 5], grid[1, 0] = NodeKind.PICK, NodeKind.STATION
    cfg = SimConfig(fleet=FleetConfig(robots=2), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    c = sim.floor.cell_of
    ids = sim.orders.add(np.array([c[0, 5]]), np.array([c[1, 0]]), step=sim.t)
    return sim, np.asarray(ids)


@pytest.mark.parametrize("method", ["assign", "exchange_orders", "release_orders"])
@pytest.mark.parametrize("big", [2**32, 2**32 + 1, -(2**32), 2**63 - 1])
def test_robot_ids_beyond_int32_are_out_of_range_not_wrapped(method: str, big: int) -> None:
    """``assign(np.array([2**32]), ...)`` cast the id to int32, which wraps to robot 0: the
    order went to robot 0, silently (``2**32 + 1``: robot 1)."""
    sim, ids = _sim_with_an_open_order()
    robots = np.array([big], dtype=np.int64)
    args = (robots,) if method == "release_orders" else (robots, ids)
    with pytest.raises(ValueError, match=f"{method}: robot ids out of range"):
        getattr(sim, method)(*args)
    assert (sim.state.order == -1).all() and sim.dispatchable_orders().tolist() == ids.tolist()


@pytest.mark.parametrize("method", ["assign", "exchange_orders"])
def test_order_ids_beyond_int32_are_out_of_range_not_wrapped(method: str) -> None:
    sim, ids = _sim_with_an_open_order()
    orders = ids.astype(np.int64) + 2**32  # wraps to the open order
    with pytest.raises(ValueError, match=f"{method}: order ids out of range"):
        getattr(sim, method)(np.array([0]), orders)
    assert (sim.state.order == -1).all()


def test_unsigned_robot_ids_beyond_int32_are_out_of_range() -> None:
    sim, ids = _sim_with_an_open_order()
    with pytest.raises(ValueError, match="assign: robot ids out of range"):
        sim.assign(np.array([2**64 - 1], dtype=np.uint64), ids)
    sim.assign(np.array([1], dtype=np.uint64), ids)  # an unsigned id in range is fine
    assert sim.state.order.tolist() == [-1, int(ids[0])]


@pytest.mark.parametrize("shape", [(1, 1), ()])
@pytest.mark.parametrize("method", ["assign", "exchange_orders", "release_orders"])
def test_ids_that_are_no_list_are_refused_in_one_line(method: str, shape: tuple[int, ...]) -> None:
    """``assign(np.array([[0]]), np.array([[0]]))`` (or a bare ``np.int64(0)``) died in the
    compiled check with numba's many-line TypingError instead of the AssignError a fleet turns
    into a one-line error naming the dispatcher."""
    sim, ids = _sim_with_an_open_order()
    robots = np.zeros(shape, dtype=np.int64)
    args = (robots,) if method == "release_orders" else (robots, ids.reshape(shape))
    with pytest.raises(ValueError, match=rf"{method}: robot ids must be a list \(1-D\), got shape"):
        getattr(sim, method)(*args)
    assert (sim.state.order == -1).all()


@pytest.mark.parametrize(
    ("robots", "nodes", "message"),
    [
        ([0], [10**6], "set_waypoints: nodes out of range"),  # segfaulted in the progress kernel
        ([0], [-2], "set_waypoints: nodes out of range"),
        ([-1], [3], "set_waypoints: robot ids out of range"),  # robot -1 was the last robot
        ([2], [3], "set_waypoints: robot ids out of range"),
        ([2**32], [3], "set_waypoints: robot ids out of range"),  # wrapped to robot 0
        ([0], [3.7], "set_waypoints: node ids must be integers, got dtype float64"),  # node 3
        ([0.0], [3], "set_waypoints: robot ids must be integers, got dtype float64"),
        ([0, 1], [3, 4, 5], "set_waypoints: robots and nodes must pair up one to one"),
    ],
)
def test_set_waypoints_refuses_ids_it_would_misread(robots, nodes, message: str) -> None:
    """``set_waypoints`` cast robots and nodes to int32 unchecked: a node past the floor crashed
    the interpreter (segmentation fault), -1 meant the last robot, 3.7 the node 3."""
    sim, _ = _sim_with_an_open_order()
    before = sim.state.waypoint.copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        sim.set_waypoints(np.array(robots), np.array(nodes))
    assert (sim.state.waypoint == before).all()


def test_set_waypoints_takes_one_node_for_all_and_minus_one_to_clear() -> None:
    sim, _ = _sim_with_an_open_order()
    sim.set_waypoints(np.array([0, 1]), np.int64(3))
    assert sim.state.waypoint.tolist() == [3, 3]
    sim.set_waypoints([1], [-1])
    assert sim.state.waypoint.tolist() == [3, -1]


@pytest.mark.parametrize(
    "positions",
    [
        np.array([[0.0, 2.0], [1.9, 2.0]]),  # 1.9 was read as the node 1: a clean trajectory
        np.array([[0.0, 2.0], [np.nan, 2.0]]),  # ValueError from deep inside, no word on why
        np.array([[True, False], [False, True]]),  # booleans were the nodes 0 and 1
    ],
)
def test_the_trajectory_checker_refuses_node_ids_that_are_not_integers(positions) -> None:
    """``validate_trajectory(graph, positions, nodes)`` cast ``positions`` to int64: a position
    between two nodes passed as the node below it, so the independent checker found nothing."""
    import networkx as nx

    from warehouse.validate import validate_trajectory

    with pytest.raises(ValueError, match="positions must be integer node ids"):
        validate_trajectory(nx.path_graph(4), positions, [0, 1, 2, 3])
    # node keys (no ``nodes``) are compared as keys, and whole numbers as ids keep working
    assert validate_trajectory(nx.path_graph(4), [[0, 2], [1, 2]]) == []
    assert validate_trajectory(nx.path_graph(4), [[0, 2], [1, 2]], [0, 1, 2, 3]) == []


def test_nan_preferences_are_no_score_ranked_as_minus_infinity() -> None:
    """Lead checked, not a bug: ``step(actions, preferences)`` takes NaN scores on purpose (a
    recording's rows for a navigator without scores are NaN; the PIBT shield ranks NaN last, as
    ``-inf``). A NaN score and ``-inf`` lead to the same step, bit for bit."""
    from scenarios import apply_overrides, build_floor, load_scenario

    sc, _ = load_scenario("tiny")
    sc = apply_overrides(sc, {"collisions": "pibt"})
    sims = [Simulation(build_floor(sc), sc.sim_config()) for _ in range(2)]
    rng = np.random.default_rng(0)
    for sim in sims:
        sim.reset(seed=3)
    for _ in range(15):
        actions = rng.integers(0, sims[0].floor.n_actions, sims[0].n_robots)
        prefs = rng.normal(size=(sims[0].n_robots, sims[0].floor.n_actions))
        prefs[rng.random(prefs.shape) < 0.3] = np.nan
        sims[0].step(actions, prefs)
        sims[1].step(actions, np.nan_to_num(prefs, nan=-np.inf))
        assert (sims[0].state.pos == sims[1].state.pos).all()
    with pytest.raises(ValueError, match="preferences must be"):
        sims[0].step(actions, prefs.astype(complex))


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("name: true", "name: Input should be a valid string, got true"),  # was True
        ("name: null", "name: Input should be a valid string, got null"),  # showed no value
        ("fleet: {robots: null}", "fleet.robots: Input should be a valid integer, got null"),
        ("fleet: null", "fleet: expected a mapping (key: value), got null"),  # was None
        ("faults: {closures: null}", "faults.closures: expected a list ([a, b]), got null"),
    ],
)
def test_scenario_errors_show_the_value_as_yaml_writes_it(
    section: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The errors showed Python's ``None``/``True`` (or nothing for null), not the file's
    ``null``/``true``, unlike the ``expected a number, got true`` of the same validation."""
    from cli_helpers import TINY_LAYOUT

    path = tmp_path / "t.yaml"
    path.write_text(f"{TINY_LAYOUT}{section}\n", "utf-8")
    fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: {expected}")
