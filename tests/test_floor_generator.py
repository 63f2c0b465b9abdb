"""The parametric warehouse generator: shape, shelves, pick faces, stations, one-way aisles."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

from warehouse.floor import WarehouseLayout, generate_warehouse
from warehouse.floor.kinds import NodeKind

LAYOUTS = [
    WarehouseLayout(shelf_rows=2, shelf_cols=2, block_length=4),
    WarehouseLayout(shelf_rows=3, shelf_cols=2, block_length=3, block_depth=1, aisle_width=2),
    WarehouseLayout(shelf_rows=1, shelf_cols=4, block_length=2, station_walls=("west", "east")),
    WarehouseLayout(
        shelf_rows=2, shelf_cols=3, block_length=5, station_zone=1, station_walls=("north",)
    ),
    WarehouseLayout(
        shelf_rows=4,
        shelf_cols=3,
        block_length=6,
        station_walls=("west", "east", "north", "south"),
        station_spacing=2,
    ),
    WarehouseLayout(shelf_rows=2, shelf_cols=2, block_length=1, block_depth=3, station_zone=2),
]


def kind_grid(graph: nx.Graph) -> np.ndarray:
    grid = np.full(graph.graph["grid_shape"], -1, dtype=np.int8)
    for (r, c), data in graph.nodes(data=True):
        grid[r, c] = NodeKind.parse(data["kind"])
    return grid


def passable_subgraph(graph: nx.Graph) -> nx.Graph:
    return graph.subgraph(n for n, d in graph.nodes(data=True) if d["kind"] != "blocked")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_shape_and_shelves(layout: WarehouseLayout):
    g = generate_warehouse(layout)
    zone, aisle = layout.station_zone, layout.aisle_width
    walls = layout.station_walls
    height = (
        (zone if "north" in walls else aisle)
        + layout.shelf_rows * layout.block_depth
        + (layout.shelf_rows - 1) * aisle
        + (zone if "south" in walls else aisle)
    )
    width = (
        (zone if "west" in walls else aisle)
        + layout.shelf_cols * layout.block_length
        + (layout.shelf_cols - 1) * aisle
        + (zone if "east" in walls else aisle)
    )
    assert g.graph["grid_shape"] == (height, width)
    assert g.number_of_nodes() == height * width
    kinds = kind_grid(g)
    shelves = layout.shelf_rows * layout.shelf_cols * layout.block_length * layout.block_depth
    assert (kinds == NodeKind.BLOCKED).sum() == shelves
    for node in g.nodes:
        if kinds[node] == NodeKind.BLOCKED:
            assert g.degree(node) == 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pick_faces_exactly_next_to_shelves(layout: WarehouseLayout):
    kinds = kind_grid(generate_warehouse(layout))
    shelf = np.pad(kinds == NodeKind.BLOCKED, 1, constant_values=False)
    faces = (kinds != NodeKind.BLOCKED) & (shelf[:-2, 1:-1] | shelf[2:, 1:-1])
    # Every pick is a shelf face; every shelf face is a pick unless a station sits there.
    assert np.array_equal(kinds == NodeKind.PICK, faces & (kinds != NodeKind.STATION))
    assert (kinds == NodeKind.PICK).sum() > 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_station_placement(layout: WarehouseLayout):
    kinds = kind_grid(generate_warehouse(layout))
    height, width = kinds.shape
    first, step = layout.station_spacing // 2, layout.station_spacing
    expected = set()
    for wall in layout.station_walls:
        if wall in ("west", "east"):
            col = 0 if wall == "west" else width - 1
            expected |= {(r, col) for r in range(first, height, step)}
        else:
            row = 0 if wall == "north" else height - 1
            expected |= {(row, c) for c in range(first, width, step)}
    got = set(zip(*np.nonzero(kinds == NodeKind.STATION), strict=True))
    assert {(int(r), int(c)) for r, c in got} == expected


@pytest.mark.parametrize("layout", LAYOUTS)
def test_two_way_floor_is_undirected_and_connected(layout: WarehouseLayout):
    g = generate_warehouse(layout)
    assert not g.is_directed()
    assert nx.is_connected(passable_subgraph(g))
    assert all(d["length"] == layout.cell_size for _, _, d in g.edges(data=True))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_way_floor_strongly_connected(layout: WarehouseLayout):
    g = generate_warehouse(replace(layout, one_way=True))
    assert g.is_directed()
    sub = passable_subgraph(g)
    assert nx.is_strongly_connected(sub)
    one_way = [(u, v) for u, v in sub.edges if not sub.has_edge(v, u)]
    assert len(one_way) > 0
    # The north row circulates eastbound, the south row westbound.
    height = g.graph["grid_shape"][0]
    assert g.has_edge((0, 0), (0, 1)) and not g.has_edge((0, 1), (0, 0))
    assert g.has_edge((height - 1, 1), (height - 1, 0))
    assert not g.has_edge((height - 1, 0), (height - 1, 1))
    # Same cells and kinds as the two-way floor.
    two_way = generate_warehouse(layout)
    assert np.array_equal(kind_grid(g), kind_grid(two_way))
    assert {frozenset(e) for e in sub.edges} == {
        frozenset(e) for e in passable_subgraph(two_way).edges
    }


def test_cell_size_and_name():
    g = generate_warehouse(WarehouseLayout(shelf_rows=1, shelf_cols=1, cell_size=1.25), name="w")
    assert g.graph["cell_size"] == 1.25 and g.graph["name"] == "w"
    assert {d["length"] for _, _, d in g.edges(data=True)} == {1.25}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shelf_rows": 0},
        {"block_length": 0},
        {"aisle_width": 0},
        {"station_zone": 0},
        {"station_spacing": 0},
        {"station_walls": ()},
        {"station_walls": ("up",)},
        {"parking_walls": ("up",)},
        {"parking_walls": ("west",)},  # the station wall
    ],
)
def test_invalid_layouts(kwargs):
    (field,) = kwargs  # the message names the setting
    with pytest.raises(ValueError, match=field):
        generate_warehouse(WarehouseLayout(**kwargs))


@pytest.mark.parametrize("one_way", [False, True])
def test_parking_strips_line_the_walls_outside_the_aisles(one_way: bool) -> None:
    """``parking_walls`` pads the floor with one strip of parking cells per wall; every other
    cell keeps its kind and its edges, and moves into and out of a spot go both ways."""
    base = WarehouseLayout(shelf_rows=2, shelf_cols=3, block_length=4, one_way=one_way)
    g = generate_warehouse(replace(base, parking_walls=("north", "east")))
    plain = generate_warehouse(base)
    kinds, old = kind_grid(g), kind_grid(plain)
    assert kinds.shape == (old.shape[0] + 1, old.shape[1] + 1)
    assert (kinds[0, :] == NodeKind.PARKING).all() and (kinds[:, -1] == NodeKind.PARKING).all()
    assert np.array_equal(kinds[1:, :-1], old)  # the rest, shifted one row down
    assert (kinds == NodeKind.PARKING).sum() == kinds.shape[0] + kinds.shape[1] - 1
    sub = passable_subgraph(g)
    assert nx.is_strongly_connected(sub) if one_way else nx.is_connected(sub)
    spots = [n for n, d in g.nodes(data=True) if d["kind"] == "parking"]
    for spot in spots:
        for other in set(g.successors(spot) if one_way else g.neighbors(spot)):
            assert g.has_edge(other, spot) and g.has_edge(spot, other)
    # the aisle edges are those of the plain floor, one row down
    shift = {(u, v) for u, v in passable_subgraph(plain).edges}
    moved = {((u[0] + 1, u[1]), (v[0] + 1, v[1])) for u, v in shift}
    kept = {(u, v) for u, v in sub.edges if u not in spots and v not in spots}
    assert (
        kept == moved if one_way else {frozenset(e) for e in kept} == {frozenset(e) for e in moved}
    )


def test_idle_robots_park_in_the_strip() -> None:
    """``policies.park_idle`` sends idle robots to the strip, the floor's marked spots."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.model import WarehouseModel

    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"layout.parking_walls": ["north", "south"], "policies.park_idle": 0,
                              "tasks.arrival_rate": 0.05}, src)  # fmt: skip
    floor = build_floor(sc, src)
    model = WarehouseModel(sc, seed=0, steps=300)
    model.run()
    sim = model.fleet.sim
    idle = sim.state.phase == 0
    on_spot = floor.kind[sim.state.pos] == NodeKind.PARKING
    assert idle.sum() >= 10 and on_spot[idle].mean() > 0.8
