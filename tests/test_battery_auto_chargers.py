"""Chargers placed automatically (``battery.auto_chargers``, warehouse/floor/chargers.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from scipy.sparse.csgraph import shortest_path

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import BatteryConfig
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.chargers import (
    SLACK,
    charger_candidates,
    on_outer_edge,
    place_chargers,
)
from warehouse.floor.checks import dead_end_chargers, neighbour_pairs, thoroughfares

BATTERY = {"battery.capacity_wh": 150.0, "battery.auto_chargers": 6}


def _floor(name: str = "small"):  # type: ignore[no-untyped-def]
    sc, src = load_scenario(name)
    return build_floor(sc, src)


def _steps(floor, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Steps between every node of ``a`` and every node of ``b``, moves taken both ways."""
    import scipy.sparse as sp

    pairs = neighbour_pairs(floor)
    n = floor.n_nodes
    graph = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return shortest_path(graph.tocsr(), directed=False, unweighted=True, indices=a)[:, b]


def test_placed_chargers_block_nothing_robots_need() -> None:
    floor = _floor()
    nodes = place_chargers(floor, 6)
    assert nodes.size == 6 and np.unique(nodes).size == 6
    kinds = floor.kind[nodes]
    assert np.isin(kinds, (int(NodeKind.AISLE), int(NodeKind.PARKING))).all()
    assert (_steps(floor, nodes, floor.picks) >= 2).all()  # not on nor beside a pick location
    assert on_outer_edge(floor, nodes).all()  # small's walls have room for six
    # corners first: the four corners of the floor (two neighbours each) are among the six,
    # not the cells beside them on the turns robots drive
    h, w = floor.shape
    corners = {(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)}
    assert corners <= {tuple(int(x) for x in floor.pos[v]) for v in nodes}
    assert dead_end_chargers(floor, nodes).size == 0
    assert thoroughfares(floor, nodes).size == 0
    assert np.array_equal(nodes, place_chargers(floor, 6))  # a function of the floor alone


def test_the_first_is_nearest_a_station_and_the_rest_spread_out() -> None:
    floor = _floor()
    nodes = place_chargers(floor, 6)
    cand = charger_candidates(floor)
    cand = cand[on_outer_edge(floor, cand)]
    to_station = _steps(floor, cand, floor.stations).min(axis=1)
    assert _steps(floor, nodes[:1], floor.stations).min() == to_station.min()
    pairwise = _steps(floor, nodes, nodes)
    spread = pairwise[~np.eye(6, dtype=bool)].min()
    # more spread than the first six qualifying wall cells in node order, and on both ends of
    # the floor (its stations are on the west and east walls)
    first = cand[:6]
    assert spread > 3 * _steps(floor, first, first)[~np.eye(6, dtype=bool)].min()
    cols = floor.pos[nodes, 1]
    assert cols.min() < floor.shape[1] // 4 and cols.max() > 3 * floor.shape[1] // 4
    # farthest-point (within SLACK steps): no charger is farther from those placed before it
    # than the one before it was, by more than SLACK
    for k in range(2, 6):
        assert pairwise[k, :k].min() <= pairwise[k - 1, : k - 1].min() + SLACK


def test_without_room_on_the_walls_they_go_inside() -> None:
    """A one-lane ring round the floor: every wall cell is a thoroughfare, so the chargers go
    to the open room inside, off the cells beside its pick location."""
    A, P, S, X = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION, NodeKind.BLOCKED
    kinds = np.array(
        [
            [A, A, A, A, A, A, A],
            [A, X, X, X, X, X, A],
            [A, X, A, A, A, X, A],
            [A, A, A, A, A, X, A],
            [A, X, A, A, P, X, A],
            [A, X, X, X, X, X, A],
            [S, A, A, A, A, A, A],
        ],
        np.int8,
    )
    floor = compile_floor(graph_from_grid(kinds))
    nodes = place_chargers(floor, 2)
    rows, cols = floor.pos[nodes, 0], floor.pos[nodes, 1]
    assert ((rows >= 2) & (rows <= 4) & (cols >= 2) & (cols <= 4)).all()  # in the room
    assert (_steps(floor, nodes, floor.picks) >= 2).all()
    assert thoroughfares(floor, nodes).size == 0
    with pytest.raises(ValueError, match="only"):
        place_chargers(floor, 8)


def test_a_run_uses_them_as_chargers(tmp_path: Path) -> None:
    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {**BATTERY, "battery.initial_soc": 0.25}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=0)
    assert sim.battery is not None
    assert np.array_equal(sim.battery.chargers, place_chargers(sim.floor, 6))


def test_both_ways_of_giving_chargers_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="not both"):
        BatteryConfig(capacity_wh=100.0, chargers=[[0, 1]], auto_chargers=2)
    scenario = tmp_path / "both.yaml"
    scenario.write_text(
        "name: both\ndescription: x\nlayout: {type: generator}\n"
        "battery: {capacity_wh: 100, chargers: [[0, 1]], auto_chargers: 2}\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(["validate", str(scenario)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "battery.auto_chargers" in err


def test_more_chargers_than_cells_is_a_clear_error() -> None:
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {**BATTERY, "battery.auto_chargers": 500}, src)
    with pytest.raises(InputError, match=r"battery\.auto_chargers") as info:
        Simulation(build_floor(sc, src), sc.sim_config())
    assert "qualify for a charger" in str(info.value)


def test_a_floor_without_a_candidate_cell_says_so() -> None:
    """No aisle or parking cell at all: the same clear error, not numpy's about an empty max."""
    P, S = NodeKind.PICK, NodeKind.STATION
    floor = compile_floor(graph_from_grid(np.array([[S, P, P, S]], np.int8)))
    with pytest.raises(ValueError, match="only 0 cells qualify for a charger"):
        place_chargers(floor, 1)
