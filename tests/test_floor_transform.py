"""Turning a floor about its diagonal (``layout.transpose``; warehouse/floor/transform.py)."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.floor import DistanceCache, WarehouseLayout, generate_warehouse
from warehouse.floor.compiled import compile_floor
from warehouse.floor.transform import transpose_floor


def graph_data(g: nx.Graph) -> tuple:
    nodes = sorted((repr(n), sorted(d.items())) for n, d in g.nodes(data=True))
    edges = sorted((repr(u), repr(v), sorted(d.items())) for u, v, d in g.edges(data=True))
    return g.is_directed(), nodes, edges, sorted((k, repr(v)) for k, v in g.graph.items())


def test_twice_is_the_original_and_once_swaps_every_cell() -> None:
    g = generate_warehouse(
        WarehouseLayout(shelf_rows=2, shelf_cols=3, block_length=4, one_way=True), name="f"
    )
    t = transpose_floor(g)
    assert graph_data(transpose_floor(t)) == graph_data(g)
    h, w = g.graph["grid_shape"]
    assert t.graph["grid_shape"] == (w, h)
    for (r, c), data in g.nodes(data=True):
        assert t.nodes[(c, r)]["pos"] == (c, r)
        assert t.nodes[(c, r)]["kind"] == data["kind"]
    # one-way aisles keep their sense along the turned axis: eastbound rows become southbound
    # columns, and no edge gains or loses a direction
    assert g.is_directed() and t.is_directed()
    assert {((c1, r1), (c2, r2)) for (r1, c1), (r2, c2) in g.edges} == set(t.edges)
    assert any(u[0] + 1 == v[0] and not t.has_edge(v, u) for u, v in t.edges)


def test_distances_are_those_of_the_mirrored_cells() -> None:
    g = generate_warehouse(
        WarehouseLayout(shelf_rows=2, shelf_cols=2, block_length=4, one_way=True), name="f"
    )
    a, b = compile_floor(g), compile_floor(transpose_floor(g))
    perm = np.array([b.cell_of[int(c), int(r)] for r, c in a.pos.astype(int)])
    goals = np.arange(a.n_nodes)
    da = np.stack([DistanceCache(a).row(int(v)) for v in goals])
    db = np.stack([DistanceCache(b).row(int(v)) for v in perm])
    assert np.array_equal(db[:, perm], da)
    assert np.array_equal(b.kind[perm], a.kind)
    assert np.array_equal(b.mask[perm][:, [0, 4, 3, 2, 1]], a.mask)  # N<->W, E<->S


def test_scenario_option_turns_a_generated_floor(tmp_path: Path) -> None:
    sc, src = load_scenario("small")
    plain = build_floor(sc, src)
    turned = build_floor(apply_overrides(sc, {"layout.transpose": True}, src), src)
    assert turned.shape == plain.shape[::-1]
    assert turned.n_nodes == plain.n_nodes
    # stations on the west and east walls of `small` stand on the north and south walls
    station_cols = set(plain.pos[plain.stations, 1].astype(int))
    station_rows = set(turned.pos[turned.stations, 0].astype(int))
    assert station_cols == station_rows == {0, plain.shape[1] - 1}


def test_waypoint_graph_keeps_its_ids_and_swaps_positions(tmp_path: Path) -> None:
    nodes = [
        {"id": "a", "pos": [0, 0], "kind": "station"},
        {"id": "b", "pos": [0, 1], "kind": "aisle"},
        {"id": "c", "pos": [1, 1], "kind": "aisle"},
        {"id": "d", "pos": [2, 1], "kind": "pick"},
    ]
    edges = [{"source": "a", "target": "b"}, {"source": "b", "target": "c"},
             {"source": "c", "target": "d"}]  # fmt: skip
    (tmp_path / "g.json").write_text(json.dumps({"directed": False, "nodes": nodes,
                                                 "edges": edges}))  # fmt: skip
    (tmp_path / "s.yaml").write_text(
        "name: g\nlayout: {type: file, path: g.json, transpose: true}\nfleet: {robots: 1}\n"
    )
    sc, src = load_scenario(str(tmp_path / "s.yaml"))
    floor = build_floor(sc, src)
    pos = {floor.nodes[i]: tuple(int(v) for v in floor.pos[i]) for i in range(floor.n_nodes)}
    assert pos == {"a": (0, 0), "b": (1, 0), "c": (1, 1), "d": (1, 2)}


def test_unknown_value_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: g\nlayout: {type: generator, transpose: sideways}\n")
    from warehouse.errors import InputError

    with pytest.raises(InputError) as err:
        load_scenario(str(tmp_path / "s.yaml"))
    assert err.value.field == "layout.transpose"


def test_a_run_on_a_turned_floor_writes_a_scenario_that_turns_it_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--set layout.transpose=true`` reaches the run's ``scenario.yaml`` (the kind of floor
    first, the setting after the kind's own), and that file builds the same turned floor."""
    from cli_helpers import run_cli

    from scenarios.safe_yaml import parse_yaml

    out = tmp_path / "run"
    argv = ["run", "tiny", "--policy", "rule_based", "--steps", "5", "--seeds", "0",
            "--set", "layout.transpose=true", "--out", str(out)]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    layout = parse_yaml((out / "scenario.yaml").read_text(), None)["layout"]
    keys = list(layout)
    assert (keys[0], keys[-1]) == ("type", "transpose")
    assert layout["transpose"] is True
    sc, src = load_scenario(str(out / "scenario.yaml"))
    plain_sc, plain_src = load_scenario("tiny")
    turned, plain = build_floor(sc, src), build_floor(plain_sc, plain_src)
    assert turned.shape == plain.shape[::-1]
    assert np.array_equal(turned.pos[turned.stations][:, ::-1], plain.pos[plain.stations])
