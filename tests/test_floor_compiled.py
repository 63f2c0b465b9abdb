"""compile_floor: the action tables agree with the graph, pockets, explicit kinds, errors."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from warehouse.errors import InputError
from warehouse.floor import (
    GRID_OFFSETS,
    CompiledFloor,
    WarehouseLayout,
    compile_floor,
    generate_warehouse,
)
from warehouse.floor.formats import parse_ascii, parse_node_link_json, parse_pogema
from warehouse.floor.kinds import NodeKind


def assert_tables_match_graph(floor: CompiledFloor, graph: nx.Graph) -> None:
    """Every allowed action is an edge of ``graph`` and every kept edge is exactly one action."""
    directed = graph if graph.is_directed() else graph.to_directed()
    kept = set(floor.nodes)
    seen = set()
    n, n_actions = floor.nbr.shape
    assert floor.mask[:, 0].all() and (floor.nbr[:, 0] == np.arange(n)).all()
    for v in range(n):
        for a in range(1, n_actions):
            w = int(floor.nbr[v, a])
            if not floor.mask[v, a]:
                assert w == v and floor.length[v, a] == 0
                continue
            edge = (floor.nodes[v], floor.nodes[w])
            assert directed.has_edge(*edge), edge
            assert edge not in seen
            seen.add(edge)
            assert floor.length[v, a] == pytest.approx(directed.edges[edge]["length"])
            if floor.is_grid:
                assert tuple(floor.pos[w] - floor.pos[v]) == GRID_OFFSETS[a]
    expected = {(u, w) for u, w in directed.edges if u in kept and w in kept}
    assert seen == expected


def assert_cells_consistent(floor: CompiledFloor, graph: nx.Graph) -> None:
    assert (floor.cell_of[floor.pos[:, 0], floor.pos[:, 1]] == np.arange(floor.n_nodes)).all()
    assert (floor.cell_of >= 0).sum() == floor.n_nodes
    for v, node in enumerate(floor.nodes):
        assert floor.kind[v] == NodeKind.parse(graph.nodes[node]["kind"])
        assert floor.kind[v] != NodeKind.BLOCKED


@pytest.mark.parametrize("one_way", [False, True])
def test_generated_floor_tables(one_way: bool):
    graph = generate_warehouse(
        WarehouseLayout(shelf_rows=2, shelf_cols=3, block_length=3, one_way=one_way, cell_size=0.5)
    )
    floor = compile_floor(graph)
    assert floor.is_grid and floor.n_actions == 5 and floor.shape == graph.graph["grid_shape"]
    assert floor.cell_size == 0.5 and not floor.notes
    assert_tables_match_graph(floor, graph)
    assert_cells_consistent(floor, graph)
    passable = [n for n, d in graph.nodes(data=True) if d["kind"] != "blocked"]
    assert floor.n_nodes == len(passable)
    n_picks = sum(d["kind"] == "pick" for _, d in graph.nodes(data=True))
    assert floor.picks.size == n_picks
    if one_way:  # some action is allowed one way only
        back = {(int(v), int(floor.nbr[v, a])) for v, a in np.argwhere(floor.mask)}
        assert any((w, v) not in back for v, w in back)


def test_ascii_one_way_tables():
    graph = parse_ascii("S.....\n.>>>>.\n.#..#.\n.<<<<.\np.....")
    floor = compile_floor(graph)
    assert_tables_match_graph(floor, graph)
    east, west = 2, 4
    v = floor.cell_of[1, 2]
    assert floor.mask[v, east] and not floor.mask[v, west]
    v = floor.cell_of[3, 2]
    assert floor.mask[v, west] and not floor.mask[v, east]
    assert floor.mask[v, 1] and floor.mask[v, 3]  # vertical moves stay open


def test_cut_off_pocket_is_noted_and_blocked():
    graph = parse_ascii(".....\n.###.\n.#.#.\n.###.\n.....")
    floor = compile_floor(graph)
    assert floor.notes and "1 cell(s) cut off" in floor.notes[0]
    assert floor.cell_of[2, 2] == -1 and floor.n_nodes == 16
    assert_tables_match_graph(floor, graph)


def test_one_way_dead_end_is_cut_off():
    # (2,2) only lets robots go south, into (3,2), which has no other exit.
    graph = parse_ascii("S...\n....\n##v#\n##.#")
    floor = compile_floor(graph)
    assert "2 cell(s) cut off" in floor.notes[0]
    assert floor.cell_of[2, 2] == -1 and floor.cell_of[3, 2] == -1
    assert_tables_match_graph(floor, graph)


def test_explicit_pick_cut_off_is_input_error():
    graph = parse_ascii("S...\n.###\n.#p#\n.###")
    with pytest.raises(InputError, match="unreachable") as info:
        compile_floor(graph, source="/a/b/floor.yaml")
    assert info.value.field == "layout" and info.value.source == "/a/b/floor.yaml"


def test_inferred_pick_cut_off_is_only_noted():
    graph = parse_ascii("....\n.###\n.#.#\n.#.#\n.###")
    assert graph.graph["explicit_kinds"] is False
    assert graph.nodes[(2, 2)]["kind"] == "pick"
    floor = compile_floor(graph)
    assert floor.notes and floor.cell_of[2, 2] == -1


def test_start_and_goal_flags():
    graph = parse_pogema("....\n.@$.\n....")
    floor = compile_floor(graph)
    pick, station = floor.cell_of[1, 1], floor.cell_of[1, 2]
    assert floor.picks.tolist() == [pick] and floor.stations.tolist() == [station]
    assert floor.start_ok[pick] and not floor.goal_ok[pick]
    assert floor.goal_ok[station] and not floor.start_ok[station]
    assert floor.start_ok.sum() == floor.n_nodes - 1 and floor.goal_ok.sum() == floor.n_nodes - 1


def test_non_grid_floor_slots():
    data = {
        "directed": True,
        "nodes": [
            {"id": 0, "pos": [0, 0], "kind": "station"},
            {"id": 1, "pos": [2, 1], "kind": "pick"},
            {"id": 2, "pos": [0, 3], "kind": "aisle"},
            {"id": 3, "pos": [5, 5], "kind": "pick"},
        ],
        "edges": [
            {"source": 0, "target": 1},
            {"source": 1, "target": 2, "length": 2.5},
            {"source": 2, "target": 0},
            {"source": 1, "target": 0},
            {"source": 2, "target": 3},
            {"source": 3, "target": 1},
        ],
    }
    graph = parse_node_link_json(json.dumps(data))
    floor = compile_floor(graph)
    assert not floor.is_grid
    assert floor.n_actions == 3  # WAIT + at most two out-neighbours
    assert floor.shape == (6, 6)
    assert_tables_match_graph(floor, graph)
    assert_cells_consistent(floor, graph)
    # Slot k is the k-th out-neighbour in node-id order.
    v1 = floor.index_of(1)
    assert floor.nbr[v1, 1:].tolist() == sorted([floor.index_of(0), floor.index_of(2)])


def test_compile_errors():
    with pytest.raises(InputError, match="no traversable"):
        compile_floor(parse_ascii("##\n##"))
    g = nx.Graph()
    g.add_node("a", kind="aisle")
    with pytest.raises(InputError) as info:
        compile_floor(g)
    assert info.value.field == "node 'a'.pos"
    g = nx.Graph()
    g.add_node("a", kind="ramp", pos=(0, 0))
    with pytest.raises(InputError) as info:
        compile_floor(g)
    assert info.value.field == "node 'a'.kind"
