"""Transit nodes of long edges (``physics.speed_m_s``) each get a cell of their own, a floor saved
after the split reads back to the same compiled floor, and random closures draw among the
floor's own nodes, as on the unsplit floor (warehouse/floor/transit.py)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

from scenarios import build_floor, load_scenario
from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.floor import compile_floor
from warehouse.floor.formats import save_graph
from warehouse.floor.formats.graphio import parse_graphml, parse_node_link_json
from warehouse.floor.transit import split_long_edges

ARRAYS = ("pos", "kind", "nbr", "mask", "length", "cell_of", "start_ok", "goal_ok", "charger")


def doc(nodes: list[dict], edges: list[tuple], **graph) -> str:
    """Node-link JSON of ``nodes`` and ``(source, target[, length])`` edges."""
    links = [{"source": e[0], "target": e[1], **({"length": e[2]} if len(e) > 2 else {})}
             for e in edges]  # fmt: skip
    return json.dumps({"graph": {"name": "hall", **graph}, "nodes": nodes, "edges": links})


# s (0, 0) and p (2, 0) two cells apart, 6 m: at 1 m per step five transit nodes at rows 1/3,
# 2/3, 1, 4/3, 5/3, which round to the cells (0, 0), (1, 0), (1, 0), (1, 0), (2, 0).
SHORT = doc(
    [{"id": "s", "pos": [0, 0], "kind": "station"}, {"id": "p", "pos": [2, 0], "kind": "pick"}],
    [("s", "p", 6.0)],
)


def split(text: str, speed: float = 1.0):
    return split_long_edges(parse_node_link_json(text), speed, 1.0)


def user_cells(floor) -> dict:
    """Each node's cell as the file writes cells (the compiled floor starts at (0, 0))."""
    shift = np.rint(floor.graph.nodes[floor.nodes[0]]["pos"]) - floor.pos[0]
    if "cell" in floor.graph.nodes[floor.nodes[0]]:
        shift = np.asarray(floor.graph.nodes[floor.nodes[0]]["cell"]) - floor.pos[0]
    return {v: tuple(int(x) for x in floor.pos[i] + shift) for i, v in enumerate(floor.nodes)}


def assert_one_node_per_cell(floor) -> None:
    cells = {tuple(p) for p in floor.pos.tolist()}
    assert len(cells) == floor.n_nodes
    assert int((floor.cell_of >= 0).sum()) == floor.n_nodes
    assert (floor.cell_of[floor.pos[:, 0], floor.pos[:, 1]] == np.arange(floor.n_nodes)).all()


# ------------------------------------------------------------------------------ a cell each
def test_every_transit_node_gets_a_cell_of_its_own() -> None:
    """The waypoints keep their cells; the transit node first in the free cell (1, 0) keeps it;
    the others take the nearest free cell (ties: nearest the node before them in the chain),
    and only they get a ``cell`` attribute. Positions stay where the edge puts them."""
    g = split(SHORT)
    floor = compile_floor(g)
    assert_one_node_per_cell(floor)
    rows = [g.nodes[f"s~p#{i}"]["pos"] for i in range(1, 6)]
    assert [c for _, c in rows] == [0.0] * 5  # the positions the edge gives, as before
    assert [r for r, _ in rows] == pytest.approx([i / 3 for i in range(1, 6)])
    cells = user_cells(floor)
    assert cells["s"] == (0, 0) and cells["p"] == (2, 0)
    assert [cells[f"s~p#{i}"] for i in range(1, 6)] == [(0, -1), (1, 0), (1, -1), (1, 1), (2, 1)]
    assert "cell" not in g.nodes["s~p#2"] and g.nodes["s~p#4"]["cell"] == (1, 1)
    # the moves and metres are those of the split: 6 segments of 1 m from s to p
    chain = ["s", *(f"s~p#{i}" for i in range(1, 6)), "p"]
    for a, b in pairwise(chain):
        i, j = floor.index_of(a), floor.index_of(b)
        hop = (floor.nbr[i] == j) & floor.mask[i]
        assert hop.sum() == 1 and floor.length[i][hop][0] == 1.0


def test_floors_whose_transit_nodes_fit_keep_the_rounded_cells() -> None:
    """Where every transit node's rounded cell is free (an edge drawn at least as many cells long
    as it takes steps), nothing moves: no ``cell`` attribute, every cell is ``pos`` rounded."""
    nodes = [{"id": "a", "pos": [0, 0], "kind": "station"}, {"id": "b", "pos": [0, 10],
             "kind": "pick"}, {"id": "c", "pos": [7, 10], "kind": "aisle"}]  # fmt: skip
    g = split(doc(nodes, [("a", "b", 12.0), ("b", "c", 7.5)], cell_size=1.2), speed=1.5)
    assert len(g.graph["transit_nodes"]) == 7 + 4
    assert not any("cell" in d for _, d in g.nodes(data=True))
    floor = compile_floor(g)
    assert_one_node_per_cell(floor)
    expected = np.rint([g.nodes[v]["pos"] for v in floor.nodes]).astype(int)
    assert (floor.pos == expected - expected.min(axis=0)).all()


def test_moved_nodes_avoid_every_node_of_the_file_and_stay_inside_grid_shape() -> None:
    """Shelves (blocked nodes) and nodes cut off from the floor hold their cells too, and with a
    grid_shape every transit node lies inside it; where the grid has no room: one error naming
    physics.speed_m_s."""
    nodes = [{"id": f"x{c}", "pos": [0, c], "kind": "blocked"} for c in range(3)]
    nodes += [{"id": "s", "pos": [1, 0], "kind": "station"}, {"id": "p", "pos": [1, 2],
              "kind": "pick"}, {"id": "lone", "pos": [2, 0], "kind": "aisle"}]  # fmt: skip
    nodes += [{"id": f"y{c}", "pos": [2, c], "kind": "blocked"} for c in (1, 2)]
    text = doc(nodes, [("s", "p", 4.0)], grid_shape=[4, 3])
    g = split(text)  # 3 transit nodes at (1, 0.5), (1, 1), (1, 1.5): one fits at (1, 1)
    floor = compile_floor(g)
    assert_one_node_per_cell(floor)
    lane = [g.nodes[f"s~p#{i}"].get("cell", (1, 1)) for i in (1, 2, 3)]
    assert lane == [(3, 0), (1, 1), (3, 1)]  # row 3, the grid's only free cells
    taken = {tuple(d["pos"]) for _, d in g.nodes(data=True) if "~" not in str(_)}
    assert not taken & set(lane)
    with pytest.raises(InputError, match=r"physics\.speed_m_s: the 5 transit nodes of the long "
                       r"edges need a cell each, and 4 of them find no free cell within "
                       r"grid_shape 4x3"):  # fmt: skip
        split(text.replace('"length": 4.0', '"length": 6.0'))


def test_the_split_is_still_the_hand_split_floor() -> None:
    """One physics: a hand-split file with the same nodes, positions, cells and lengths compiles
    to the same floor as the split (the transit mask aside, which the setting adds)."""
    auto = compile_floor(split(SHORT))
    nodes = json.loads(SHORT)["nodes"]
    cells = {1: (0, -1), 3: (1, -1), 4: (1, 1), 5: (2, 1)}
    for i in range(1, 6):
        node = {"id": f"s~p#{i}", "pos": [i / 3, 0.0], "kind": "aisle", "start": False}
        nodes.append({**node, "goal": False, **({"cell": cells[i]} if i in cells else {})})
    chain = ["s", *(f"s~p#{i}" for i in range(1, 6)), "p"]
    hops = [(a, b, 1.0) for a, b in pairwise(chain)]
    hand = compile_floor(parse_node_link_json(doc(nodes, hops)))
    assert auto.nodes == hand.nodes
    for k in ARRAYS:
        assert np.array_equal(getattr(auto, k), getattr(hand, k)), k


# ------------------------------------------------------------------------------ saved, read back
@pytest.mark.parametrize("ext", ["json", "graphml"])
def test_a_saved_split_floor_reads_back_to_the_same_floor(tmp_path: Path, ext: str) -> None:
    """save_graph writes the moved nodes' cells and the transit marks; the file reads back (it
    was refused while transit nodes shared cells) and compiles to the same nodes, order, cells,
    moves, metres and transit nodes; read with the same speed, nothing is split again and the
    summary is the first split's; at half the speed every segment is split again."""
    nodes = json.loads(SHORT)["nodes"] + [{"id": "q", "pos": [2, 1], "kind": "aisle"},
                                          {"id": "r", "pos": [0, 9], "kind": "aisle"}]  # fmt: skip
    text = doc(nodes, [("s", "p", 6.0), ("p", "q"), ("q", "r", 12.5)], directed=False)
    g = split(text)
    live = compile_floor(g)
    path = save_graph(g, tmp_path / f"floor.{ext}")
    again = (parse_node_link_json if ext == "json" else parse_graphml)(path.read_text())
    back = compile_floor(again)
    assert back.nodes == live.nodes and back.is_grid == live.is_grid
    for k in ARRAYS:
        assert np.array_equal(getattr(back, k), getattr(live, k)), k
    assert back.shape == live.shape and np.array_equal(back.transit, live.transit)
    assert int(live.transit.sum()) == 5 + 12
    resplit = split_long_edges(again, 1.0, 1.0)
    assert resplit.graph["edge_split"] == g.graph["edge_split"]
    assert resplit.graph["transit_nodes"] == g.graph["transit_nodes"]
    assert np.array_equal(compile_floor(resplit).cell_of, live.cell_of)
    slower = split_long_edges(again, 0.5, 1.0)  # new transit nodes keep off the drawn cells
    new = slower.graph["transit_nodes"] - g.graph["transit_nodes"]
    assert len(new) == live.n_nodes - 1  # one a segment (a path)
    assert slower.graph["edge_split"]["transit"] == len(slower.graph["transit_nodes"])
    assert_one_node_per_cell(compile_floor(slower))


def test_a_scenario_on_a_saved_split_floor_runs_and_records(tmp_path: Path, capsys) -> None:
    """The saved floor is a layout like any other: it validates, runs and records its cells and
    its transit nodes (without physics.speed_m_s: the mask alone, no edge_split)."""
    from warehouse.recording import load_recording

    save_graph(split(SHORT), tmp_path / "g.json")
    (tmp_path / "s.yaml").write_text(
        "layout: {type: file, path: g.json}\nfleet: {robots: 1}\ntasks: {arrival_rate: 0.2}\n"
    )
    rec = tmp_path / "r.npz"
    argv = ["run", str(tmp_path / "s.yaml"), "--policy", "rule_based", "--steps", "40"]
    code, _, err = run_cli([*argv, "--seeds", "0", "--out", str(tmp_path / "o"), "--record",
                            str(rec)], capsys)  # fmt: skip
    assert code == 0, err
    sc, src = load_scenario(tmp_path / "s.yaml")
    floor = build_floor(sc, src)
    loaded = load_recording(rec).floor
    assert np.array_equal(loaded.cell_of, floor.cell_of) and loaded.nodes == floor.nodes
    assert floor.transit.sum() == 5 and np.array_equal(loaded.transit, floor.transit)
    assert floor.edge_split is None and loaded.edge_split is None
    assert loaded.graph.graph["transit_nodes"] == floor.graph.graph["transit_nodes"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ([1, 2.5], "nodes[1].cell: expected [row, col], two whole numbers, got [1, 2.5]"),
        ([1], "nodes[1].cell: expected [row, col], two whole numbers, got [1]"),
        (["a", 1], "nodes[1].cell: expected a number, got 'a'"),
        ([0, 0], "nodes[1].pos: node 'b' lies in the same cell (0, 0) as nodes[0]"),
    ],
)
def test_bad_cells_are_refused(cell, message) -> None:
    nodes = [{"id": "a", "pos": [0, 0], "kind": "station"},
             {"id": "b", "pos": [0, 3], "kind": "pick", "cell": cell}]  # fmt: skip
    with pytest.raises(InputError) as err:
        parse_node_link_json(doc(nodes, [("a", "b")]))
    assert str(err.value).endswith(message), str(err.value)


def test_graphml_cells_come_in_pairs(tmp_path: Path) -> None:
    g = split(SHORT)
    save_graph(g, tmp_path / "g.graphml")
    text = (tmp_path / "g.graphml").read_text()
    assert "cell_row" in text and "cell_col" in text
    key = next(line for line in text.splitlines() if 'attr.name="cell_col"' in line)
    col = key.split('id="')[1].split('"')[0]
    lines = [ln for ln in text.splitlines() if f'key="{col}"' not in ln or "<key" in ln]
    with pytest.raises(InputError, match=r"cell_row/cell_col: expected a number, got None"):
        parse_graphml("\n".join(lines))  # a cell_row without its cell_col


# ------------------------------------------------------------------------------ closures
CORRIDOR = doc(
    [
        {"id": "S1", "pos": [0, 1], "kind": "station"}, {"id": "X", "pos": [1, 1], "kind": "aisle"},
        {"id": "L", "pos": [1, 0], "kind": "parking"}, {"id": "Y", "pos": [1, 3], "kind": "aisle"},
        {"id": "R", "pos": [1, 4], "kind": "aisle"}, {"id": "P1", "pos": [0, 3], "kind": "pick"},
    ],
    [("S1", "X"), ("L", "X"), ("X", "Y", 8.0), ("Y", "R"), ("Y", "P1")],
)  # fmt: skip


def closed_names(
    speed: float | None, steps: int, seed: int = 3, graph: Any = None
) -> tuple[list[str], Simulation]:
    """One random closure a step (closure_prob 1, one step long) on the corridor floor (or on
    ``graph``, split again at ``speed`` when given): the closed node's id at every step."""
    g = parse_node_link_json(CORRIDOR) if graph is None else graph
    if speed is not None:
        g = split_long_edges(g, speed, 1.0)
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(speed_m_s=speed),
        faults=FaultsConfig(closure_prob=1.0, closure_steps=1),
    )
    sim = Simulation(compile_floor(g), cfg)
    sim.reset(seed=seed)
    out = []
    for _ in range(steps):
        sim.step(np.zeros(2, dtype=np.int64))
        closed = sim.closed_nodes()
        assert closed.size == 1
        out.append(sim.floor.nodes[int(closed[0])])
    return out, sim


def test_random_closures_close_the_waypoints_the_unsplit_floor_closes() -> None:
    """The 8 m edge X–Y is 7 transit nodes at 1 m per step; random closures still draw among
    the four aisle and parking waypoints, each about as often, and the same seed closes the same
    waypoints at the same steps as on the unsplit floor (one draw a step either way)."""
    split_run, sim = closed_names(1.0, 400)
    plain_run, plain = closed_names(None, 400)
    assert sim.floor.transit.sum() == 7
    assert split_run == plain_run
    counts = {v: split_run.count(v) for v in ("X", "L", "Y", "R")}
    assert sum(counts.values()) == 400 and min(counts.values()) > 70
    assert sim.rng_faults.bit_generator.state == plain.rng_faults.bit_generator.state


def test_a_cell_closes_the_one_node_drawn_in_it(tmp_path: Path, monkeypatch, capsys) -> None:
    """A scheduled closure's cell closes the node drawn there, a moved transit node too; the
    waypoint's cell no longer closes the transit nodes whose position rounds to it."""
    from warehouse.core.closure_entries import resolve_closures

    (tmp_path / "g.json").write_text(SHORT)
    path = tmp_path / "s.yaml"
    path.write_text(
        "layout: {type: file, path: g.json}\nfleet: {robots: 1}\nphysics: {speed_m_s: 1.0}\n"
        "faults:\n  closures:\n    - {cells: [[0, 0]], start_s: 0}\n"
        "    - {cells: [[1, 1], [0, -1]], start_s: 0}\n"
        "    - {area: {from: [1, -1], to: [1, 1]}, start_s: 0}\n"
    )
    sc, src = load_scenario(path)
    floor = build_floor(sc, src)
    names = [sorted(floor.nodes[v] for v in c.nodes) for c in resolve_closures(floor, sc.faults, 1)]
    assert names == [["s"], ["s~p#1", "s~p#4"], ["s~p#2", "s~p#3", "s~p#4"]]
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["validate", "s.yaml"], capsys)
    assert code == 0, err
    assert (
        "faults.closures[0]: 1 cell closed from 0 s to the end of the run (steps 0..): s (0, 0);"
        in out
    )
    assert (
        "(steps 0..): (0, -1), (1, 1) (with 2 transit nodes of long edges); its cells cut off 1 "
        "station (their orders wait)\n"  # (the pick is on the other side of them)
    ) in out
    assert (
        "an edge takes 6 steps; 1 of 1 edges are split into chains through 5 transit nodes in "
        "all, where robots queue and meet as on any aisle; 4 of them are drawn in the nearest "
        "free cell, off their edge (one drawn shorter than its travel time, fewer cells than "
        "steps, or across another node"
    ) in out
    path.write_text(path.read_text().replace("[[0, 0]]", "[[3, 0]]"))
    fails_cleanly(
        ["validate", "s.yaml"],
        tmp_path,
        capsys,
        "s.yaml: faults.closures[0].cells[0]: (3, 0) is not a floor cell: outside the floor "
        "(rows 0..2, cols -1..1)",
    )


# ------------------------------------------------------------------------------ transit marks
@pytest.mark.parametrize("ext", ["json", "graphml"])
@pytest.mark.parametrize("speed", [None, 1.0])
def test_a_reloaded_split_floor_closes_what_the_live_one_closes(
    tmp_path: Path, ext: str, speed: float | None
) -> None:
    """save_graph marks the transit nodes (``transit: true``), so the floor read back (as it is,
    or split again at the same speed) draws its random closures among the same four waypoints
    as the live floor: the same seed closes the same nodes at the same steps. Without the marks
    the reloaded floor's transit nodes are plain aisles, and closures land on them."""
    live = split_long_edges(parse_node_link_json(CORRIDOR), 1.0, 1.0)
    path = save_graph(live, tmp_path / f"floor.{ext}")
    text = path.read_text()
    assert ('"transit": true' in text) if ext == "json" else ('attr.name="transit"' in text)
    read = parse_node_link_json if ext == "json" else parse_graphml
    back = read(text)
    assert back.graph["transit_nodes"] == live.graph["transit_nodes"]
    assert all(not back.nodes[v]["start"] and not back.nodes[v]["goal"] for v in back.graph[
        "transit_nodes"])  # fmt: skip
    live_run, live_sim = closed_names(None, 300, graph=live)
    back_run, back_sim = closed_names(speed, 300, graph=back)
    assert back_run == live_run and set(live_run) == {"X", "L", "Y", "R"}
    assert np.array_equal(back_sim.floor.transit, live_sim.floor.transit)
    assert back_sim.rng_faults.bit_generator.state == live_sim.rng_faults.bit_generator.state
    del back.graph["transit_nodes"]  # as files were read before the mark
    unmarked, _ = closed_names(None, 300, graph=back)
    assert unmarked != live_run and any("~" in v for v in unmarked)


def test_transit_marks_are_checked_and_older_json_files_list_them(tmp_path: Path) -> None:
    """A mark is true or false on an aisle node (one-line errors naming the node's field), and a
    JSON floor saved before the mark (its graph attribute ``transit_nodes``) reads back with
    them; with ``[row, col]`` ids a GraphML file keeps the tuple ids beside the transit names."""
    nodes = [{"id": "a", "pos": [0, 0], "kind": "station"},
             {"id": "b", "pos": [0, 3], "kind": "pick", "transit": True}]  # fmt: skip
    with pytest.raises(InputError, match=r"nodes\[1\]\.transit: a transit node is an aisle "
                       r"node, not pick$"):  # fmt: skip
        parse_node_link_json(doc(nodes, [("a", "b")]))
    nodes[1].update(kind="aisle", transit="yes")
    with pytest.raises(InputError, match=r"nodes\[1\]\.transit: expected true or false, got 'yes'"):
        parse_node_link_json(doc(nodes, [("a", "b")]))
    nodes[1]["transit"] = False
    assert "transit_nodes" not in parse_node_link_json(doc(nodes, [("a", "b")])).graph

    live = split(SHORT)
    data = json.loads(save_graph(live, tmp_path / "g.json").read_text())
    for node in data["nodes"]:
        assert node.pop("transit", False) == (node["id"] in live.graph["transit_nodes"])
    data["graph"]["transit_nodes"] = sorted(live.graph["transit_nodes"])  # the old writer's list
    old = parse_node_link_json(json.dumps(data))
    assert old.graph["transit_nodes"] == live.graph["transit_nodes"]

    grid = [{"id": [0, c], "pos": [0, c], "kind": k} for c, k in ((0, "station"), (4, "pick"))]
    g = split_long_edges(parse_node_link_json(doc(grid, [([0, 0], [0, 4], 4.0)])), 1.0, 1.0)
    back = parse_graphml(save_graph(g, tmp_path / "g.graphml").read_text())
    assert sorted(map(str, back.nodes)) == sorted(map(str, g.nodes))
    assert (0, 0) in back and back.graph["transit_nodes"] == g.graph["transit_nodes"]
    assert "(0, 0)~(0, 4)#1" in back.graph["transit_nodes"]


# ------------------------------------------------------------------------------ split again
# 3.3 m and 6.6 m at 1.1 m per step take 3 and 6 steps; their float32 segments are 1.1000000238
# m, more than 1.1 by more than the 1e-9 rounding rule allows: read back, each segment alone
# takes 2 steps.
ROUNDING = doc(
    [{"id": "a", "pos": [0, 0], "kind": "station"}, {"id": "b", "pos": [0, 3], "kind": "pick"},
     {"id": "c", "pos": [3, 3], "kind": "aisle"}, {"id": "d", "pos": [3, 0], "kind": "aisle"}],
    [("a", "b", 3.3), ("b", "c", 6.6), ("c", "d"), ("d", "a", 2.2)],
    directed=False,
)  # fmt: skip


@pytest.mark.parametrize("ext", ["json", "graphml"])
@pytest.mark.parametrize("directed", [False, True])
def test_splitting_a_saved_floor_again_changes_nothing(
    tmp_path: Path, ext: str, directed: bool
) -> None:
    """save -> load -> split at the same speed gives the first split's compiled floor and summary
    on a floor whose float32 segment lengths exceed the metres per step (the chains fit within
    the float32 rounding; two-way chains of a directed graph too). At a slower speed the chains
    no longer fit and every segment is split (a faster one keeps them)."""
    from warehouse.floor.transit import edge_steps

    text = ROUNDING.replace('"directed": false', '"directed": true') if directed else ROUNDING
    data = json.loads(text)
    if directed:  # every edge both ways, b->c a little shorter back
        back_edges = [{**e, "source": e["target"], "target": e["source"]} for e in data["edges"]]
        back_edges[1]["length"] = 6.5
        data["edges"] += back_edges
        data["directed"] = True
    g = split_long_edges(parse_node_link_json(json.dumps(data)), 1.1, 1.0)
    first = compile_floor(g)
    assert g.is_directed() == directed and g.graph["edge_split"]["transit"] == 2 + 5 + 1
    path = save_graph(g, tmp_path / f"f.{ext}")
    again = (parse_node_link_json if ext == "json" else parse_graphml)(path.read_text())
    segments = [length for *_, length in again.edges(data="length")]
    assert max(edge_steps(x, 1.1) for x in segments) == 2  # the rounding the split must absorb
    resplit = split_long_edges(again, 1.1, 1.0)
    assert resplit.graph["edge_split"] == g.graph["edge_split"]
    assert resplit.graph["transit_nodes"] == g.graph["transit_nodes"]
    floor = compile_floor(resplit)
    assert floor.nodes == first.nodes
    for k in (*ARRAYS, "transit"):
        assert np.array_equal(getattr(floor, k), getattr(first, k)), k
    faster = split_long_edges(again, 2.0, 1.0)
    assert faster.graph["edge_split"]["transit"] == 8 and faster.number_of_nodes() == 12
    slower = split_long_edges(again, 0.6, 1.0)
    new = slower.graph["transit_nodes"] - g.graph["transit_nodes"]
    assert len(new) == 3 + 6 + 2 + 1  # every segment of 1.1 m (and c-d, 1 m) takes 2 steps
    assert slower.graph["edge_split"]["transit"] == 8 + len(new)


def test_an_edge_longer_than_the_distance_tables_hold_is_refused_at_load() -> None:
    """70 km at 1 m per step is 70,000 steps: it fit the transit-node budget, and the floor
    was only refused at its first distance row (65,534 steps at most)."""
    far = doc(
        [{"id": "s", "pos": [0, 0], "kind": "station"}, {"id": "p", "pos": [2, 0], "kind": "pick"}],
        [("s", "p", 70_000.0)],
    )
    with pytest.raises(InputError, match="70,000 steps long") as info:
        split(far)
    assert info.value.field == "physics.speed_m_s" and "65,534" in info.value.message
    assert split(far, speed=2.0).number_of_nodes() == 35_001  # at 2 m per step it fits
