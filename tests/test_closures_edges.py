"""Closed edges (``faults.closures[].edges``): a scheduled closure may close travel between two
nodes (an aisle segment, a door) without closing their cells. While it lasts no robot moves
along the edge in either direction the floor has, the fleet's distances route around it, picks
and stations it cuts off have their orders held; it reopens on time; bad edges are one-line
errors naming the entry (or the ``--set`` option)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli
from test_closure_routing import RING, cut_graph, floor_digraph, leave_steps
from test_distances import random_floor

import hierarchy.evaluate as ev
from agents import RuleBasedNavigator
from hierarchy.dispatchers import GreedyDispatcher
from scenarios import build_floor, load_scenario
from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.closure_entries import resolve_closures
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import UNREACHABLE, DistanceCache, NodeKind, compile_floor, graph_from_grid
from warehouse.model import WarehouseModel

# ------------------------------------------------------------------ distances without closed moves


def expected_row(g: nx.DiGraph, moves: set, closed: np.ndarray, goal: int) -> np.ndarray:
    """Distances to ``goal`` on ``g`` less ``moves``, closed nodes as ``test_closure_routing``
    treats them; nodes that reach the goal only through closed moves or nodes get ``M + 1 +
    s``, ``s`` their distance on the whole of ``g``."""
    open_g = g.copy()
    open_g.remove_edges_from(moves)
    around = nx.shortest_path_length(cut_graph(open_g, closed, goal), target=goal)
    whole = nx.shortest_path_length(g, target=goal)
    far = max(around.values())
    row = np.full(g.number_of_nodes(), UNREACHABLE, dtype=np.int64)
    for u in g.nodes:
        if u in around:
            row[u] = around[u]
        elif u in whole:
            row[u] = min(far + 1 + whole[u], UNREACHABLE - 1)
    return row


@pytest.mark.parametrize("seed", range(10))
def test_rows_without_closed_moves_equal_networkx(seed: int) -> None:
    _, floor = random_floor(seed)
    g = floor_digraph(floor)
    rng = np.random.default_rng(200 + seed)
    edges = list(g.edges)
    cache = DistanceCache(floor)
    static = [cache.row(goal).copy() for goal in range(floor.n_nodes)]
    for share, node_share in ((0.2, 0.0), (0.3, 0.2)):
        pick = rng.random(len(edges)) < share
        moves = {e for e, p in zip(edges, pick.tolist(), strict=True) if p}
        closed = np.flatnonzero(rng.random(floor.n_nodes) < node_share)
        arr = np.array(sorted(moves), dtype=np.int64).reshape(-1, 2)
        assert cache.set_closed(closed, arr) == bool(moves or closed.size)
        mask = np.zeros(floor.n_nodes, dtype=bool)
        mask[closed] = True
        open_g = g.copy()
        open_g.remove_edges_from(moves)
        assert np.array_equal(cache.leave, leave_steps(open_g, mask))
        # the move mask lost exactly the closed moves
        src, dst = np.nonzero(
            cache.mask[:, 1:] & (floor.nbr[:, 1:] != np.arange(floor.n_nodes)[:, None])
        )
        left = {(int(s), int(floor.nbr[s, a + 1])) for s, a in zip(src, dst, strict=True)}
        assert left == set(g.edges) - moves
        fresh = DistanceCache(floor)
        fresh.set_closed(closed, arr)
        for goal in range(floor.n_nodes):
            want = expected_row(g, moves, mask, goal)
            assert np.array_equal(cache.row(goal), want), (seed, goal)
            assert np.array_equal(fresh.row(goal), want), (seed, goal)
        assert not cache.set_closed(closed, arr)  # unchanged: nothing to do
    assert cache.set_closed(np.zeros(0, dtype=np.int64))
    assert cache.mask is floor.mask and not cache.closed_any
    for goal in range(floor.n_nodes):
        assert np.array_equal(cache.row(goal), static[goal])


# ------------------------------------------------------------------ the ring: around and back


def ring(closures: list[dict], robots: int = 1, collisions: str = "block") -> Simulation:
    """``test_closure_routing``'s ring: rows 0 and 2 aisles joined at cols 0 and 6."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(step_seconds=1.0, collisions=collisions),
        faults=FaultsConfig.model_validate({"closures": closures}),
    )
    sim = Simulation(compile_floor(graph_from_grid(RING)), cfg)
    sim.reset(seed=0)
    return sim


def place(sim: Simulation, cells: list, goals: list) -> None:
    f = sim.floor
    sim.state.pos[:] = [f.cell_of[c] for c in cells]
    sim.state_changed()
    sim.set_waypoints(np.arange(len(goals)), np.array([f.cell_of[c] for c in goals]))


def crossed(before: np.ndarray, after: np.ndarray, u: int, v: int) -> bool:
    return bool((((before == u) & (after == v)) | ((before == v) & (after == u))).any())


@pytest.mark.parametrize("collisions", ["block", "pibt", "pibt_swap"])
def test_robots_go_around_a_closed_edge_both_ways_and_take_it_once_it_reopens(collisions) -> None:
    """Edge (0, 2)–(0, 3) closed for 40 s: a robot from (0, 1) to (0, 5) and one from (0, 5) to
    (0, 1) both take the 12-step detour over row 2 (the short path is 4); neither cell is
    closed (robots stand on both); after the reopening the short path is taken again."""
    sim = ring([{"edges": [[[0, 2], [0, 3]]], "start_s": 0, "end_s": 40}], 2, collisions)
    f = sim.floor
    u, v = int(f.cell_of[0, 2]), int(f.cell_of[0, 3])
    assert not sim.dist.closed.any() and sim.closed_nodes().size == 0
    mask = sim.action_mask()
    place(sim, [(0, 2), (0, 3)], [(0, 5), (0, 1)])
    mask = sim.action_mask()
    east, west = 2, 4
    assert not mask[0, east] and not mask[1, west]  # the closed move, either way
    place(sim, [(0, 1), (0, 5)], [(0, 5), (0, 1)])
    assert sim.target_distance().tolist() == [12, 12]
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    seen = set()
    while (sim.state.waypoint >= 0).any():
        assert sim.t < 30
        before = sim.state.pos.copy()
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        assert not crossed(before, sim.state.pos, u, v), sim.t
        seen |= {tuple(f.pos[p]) for p in sim.state.pos.tolist()}
    assert (2, 3) in seen  # went round by row 2
    while sim.t < 40:
        sim.step(np.zeros(2, dtype=np.int64))
    assert sim.dist.mask is f.mask and not sim.dist.closed_any
    place(sim, [(0, 1), (0, 5)], [(0, 4), (0, 2)])
    assert sim.target_distance().tolist() == [3, 3]
    took = False
    for _ in range(10):
        before = sim.state.pos.copy()
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        took |= crossed(before, sim.state.pos, u, v)
    assert took and (sim.state.waypoint < 0).all()
    assert sim.incidents == 0


def test_an_order_whose_pick_a_closed_edge_cuts_off_is_held_and_served_after() -> None:
    """Corridor station, six aisles, pick: closing the edge in front of the pick cuts it off.
    A robot driving to it hands its order back, the order is held (open, not dispatchable)
    and served once the edge reopens; the pick cell itself is never closed."""
    grid = np.array([[NodeKind.STATION] + [NodeKind.AISLE] * 6 + [NodeKind.PICK]], np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1, drop_time=1),
        faults=FaultsConfig.model_validate(
            {"closures": [{"edges": [[[0, 6], [0, 7]]], "start_s": 2, "end_s": 20}]}
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f, s = sim.floor, sim.state
    pick, station = int(f.cell_of[0, 7]), int(f.cell_of[0, 0])
    s.pos[0] = f.cell_of[0, 1]
    sim.state_changed()
    sim.orders.add(np.array([pick]), np.array([station]), step=0)
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator(seed=0))
    fleet.step()
    assert s.phase[0] == Phase.TO_PICK
    while sim.t < 20:
        fleet.step()
        if 2 <= sim.t < 20:
            assert s.phase[0] == Phase.IDLE and sim.orders.robot[0] == -1, sim.t
            assert 0 in sim.open_orders() and 0 not in sim.dispatchable_orders()
            assert sim.closed_nodes().size == 0
    for _ in range(30):
        fleet.step()
    assert sim.orders.delivered[0] >= 0


def test_a_robot_shut_in_by_a_closed_edge_hands_back_its_order_and_gets_none() -> None:
    """A dead-end cell (1, 3) off a corridor, its one edge closed from 2 s to 10 s: the robot
    in it (driving to the pick) hands its order back, which stays dispatchable (its pick is
    not cut off) but not to this robot; it is idle for dispatch again once the edge reopens."""
    grid = np.full((2, 7), NodeKind.BLOCKED, np.int8)
    grid[0] = [NodeKind.STATION] + [NodeKind.AISLE] * 5 + [NodeKind.PICK]
    grid[1, 3] = NodeKind.AISLE
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate(
            {"closures": [{"edges": [[[0, 3], [1, 3]]], "start_s": 2, "end_s": 10}]}
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[1, 3], f.cell_of[0, 1]]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 6]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    wait = np.zeros(2, dtype=np.int64)
    sim.step(wait)
    assert s.phase[0] == Phase.TO_PICK and sim.shut_in is None
    while sim.t < 9:  # the steps that end at clock 2..9
        sim.step(wait)
        assert sim.shut_in is not None and sim.shut_in[f.cell_of[1, 3]]
        assert s.phase[0] == Phase.IDLE and sim.orders.robot[0] == -1
        assert sim.idle_robots().tolist() == [1] and sim.dispatchable_orders().tolist() == [0]
    sim.step(wait)
    assert sim.t == 10 and sim.shut_in is None and sim.idle_robots().tolist() == [0, 1]


# ------------------------------------------------------------------ every policy, one core

CROSS = [[[1, 7], [2, 7]], [[4, 7], [5, 7]]]  #: tiny's middle cross-aisle, cut twice


@pytest.mark.parametrize(
    ("policy", "collisions"),
    [("rule_based", "block"), ("rule_based", "pibt"), ("hierarchical", None)],
    ids=["rule_based", "rule_based-pibt", "hierarchical"],
)
def test_no_policy_moves_along_a_closed_edge(policy: str, collisions: str | None) -> None:
    """``tiny`` (the Mesa model, as a run drives it) with two edges of its middle cross-aisle
    closed for 150 s: no robot moves along them either way while closed; orders keep being
    delivered (the fleet goes around)."""
    closure = {"edges": CROSS, "start_s": 0, "end_s": 150}
    model = WarehouseModel(
        "tiny",
        seed=1,
        policy=policy,
        collisions=collisions,
        steps=200,
        per_robot=False,
        **{"faults.closures": [closure]},
    )
    sim = model.sim
    cell = sim.floor.cell_of
    pairs = [(int(cell[tuple(a)]), int(cell[tuple(b)])) for a, b in CROSS]
    moved = 0
    while model.running:
        before = sim.state.pos.copy()
        t = sim.t
        model.step()
        moved += int((before != sim.state.pos).sum())
        if t < 150:
            assert not any(crossed(before, sim.state.pos, u, v) for u, v in pairs), t
    assert moved > 0 and int((sim.orders.delivered[: sim.orders.count] >= 0).sum()) > 0


# ------------------------------------------------------------------ resolving edges


def test_edges_resolve_on_grids_and_graphs_one_way_aisles_keep_their_direction(tmp_path):
    graph = {
        "directed": True,
        "graph": {"name": "loop"},
        "nodes": [
            {"id": "s", "pos": [0, 0], "kind": "station"},
            {"id": 3, "pos": [0, 1], "kind": "aisle"},
            {"id": "b", "pos": [1, 1], "kind": "aisle"},
            {"id": "p", "pos": [1, 0], "kind": "pick"},
        ],
        "edges": [
            {"source": "s", "target": 3},
            {"source": 3, "target": "b"},
            {"source": "b", "target": 3},
            {"source": "b", "target": "p"},
            {"source": "p", "target": "s"},
        ],
    }
    (tmp_path / "loop.json").write_text(json.dumps(graph))
    (tmp_path / "s.yaml").write_text("layout: {type: file, path: loop.json}\nfleet: {robots: 1}\n")
    sc, src = load_scenario(tmp_path / "s.yaml")
    floor = build_floor(sc, src)

    def moves(*edges) -> list[tuple]:
        faults = FaultsConfig.model_validate({"closures": [{"edges": list(edges), "start_s": 0}]})
        (c,) = resolve_closures(floor, faults, 1.0, "s.yaml")
        return sorted(((floor.nodes[a], floor.nodes[b]) for a, b in c.moves.tolist()), key=str)

    assert moves(["3", "s"]) == [("s", 3)]  # one-way: the one direction, as written or not
    assert moves(["b", 3]) == sorted([(3, "b"), ("b", 3)], key=str)  # two-way: both
    assert moves([[1, 1], [1, 0]]) == [("b", "p")]  # by cells

    def error(*edges) -> str:
        with pytest.raises(InputError) as err:
            moves(*edges)
        return str(err.value)

    assert error(["s", "b"]) == (
        "s.yaml: faults.closures[0].edges[0]: 's'–'b' is not an edge of the floor: no move "
        "joins the two"
    )
    assert error(["s", 3], ["zz", "s"]) == (
        "s.yaml: faults.closures[0].edges[1]: its first end: 'zz' is not a floor node: no node "
        "of the floor has this id"
    )
    assert error(["s", 3], [3, "s"]).endswith("3–'s' is given twice (edges[0])")
    assert error(["s", [9, 9]]).startswith(
        "s.yaml: faults.closures[0].edges[0]: its second end: (9, 9) is not a floor cell"
    )
    assert "both ends are one node" in error(["s", "s"])


def test_a_split_long_edge_closes_where_robots_enter_it(tmp_path) -> None:
    """With ``physics.speed_m_s`` the 3 m edge s–p is a chain through two transit nodes:
    closing [s, p] closes the moves from s and from p onto the chain (robots on it drive off)."""
    graph = {
        "directed": False,
        "graph": {"name": "long"},
        "nodes": [
            {"id": "s", "pos": [0, 0], "kind": "station"},
            {"id": "p", "pos": [0, 3], "kind": "pick"},
            {"id": "x", "pos": [2, 0], "kind": "aisle"},
            {"id": "y", "pos": [2, 3], "kind": "aisle"},
        ],
        "edges": [
            {"source": "s", "target": "p", "length": 3.0},
            {"source": "s", "target": "x"},
            {"source": "x", "target": "y"},
            {"source": "y", "target": "p"},
        ],
    }
    (tmp_path / "long.json").write_text(json.dumps(graph))
    (tmp_path / "s.yaml").write_text(
        "layout: {type: file, path: long.json}\nfleet: {robots: 1}\n"
        "physics: {speed_m_s: 1.0}\n"
        "faults: {closures: [{edges: [[s, p]], start_s: 0}]}\n"
    )
    sc, src = load_scenario(tmp_path / "s.yaml")
    floor = build_floor(sc, src)
    (c,) = resolve_closures(floor, sc.faults, 1.0, src)
    names = sorted((floor.nodes[a], str(floor.nodes[b])) for a, b in c.moves.tolist())
    assert [a for a, _ in names] == ["p", "s"]
    assert all(b.startswith("s~p#") for _, b in names) and names[0][1] != names[1][1]
    cache = DistanceCache(floor)
    cache.set_closed(np.zeros(0, np.int64), c.moves)
    s_, p_ = floor.index_of("s"), floor.index_of("p")
    assert cache.row(p_)[s_] == 3  # around by x and y (the chain took 3 steps)
    inner = [v for v in range(floor.n_nodes) if floor.transit[v]]
    assert all(cache.row(p_)[v] <= 2 for v in inner)  # on the chain: drive off it


# ------------------------------------------------------------------ errors, as the user meets them

EDGE_FILE = (
    "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
    "fleet: {robots: 2}\n"
    "faults: {closures: [{edges: [[[3, 2], [3, 3]], [[0, 3], [0, 9]]], start_s: 0}]}\n"
)


def test_the_file_is_named_for_a_bad_edge(tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "s.yaml").write_text(EDGE_FILE)
    monkeypatch.chdir(tmp_path)
    want = (
        "s.yaml: faults.closures[0].edges[1]: (0, 3)–(0, 9) is not an edge of the floor: no "
        "move joins the two"
    )
    for argv in (["validate", "s.yaml"], ["run", "s.yaml", "--steps", "3", "--out", "o"]):
        assert fails_cleanly(argv, tmp_path, capsys, want) == f"error: {want}"


def test_validate_lists_edges_and_what_they_cut_off(tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "s.yaml").write_text(
        EDGE_FILE.replace("[[0, 3], [0, 9]]", "[[3, 6], [3, 7]]").replace(
            "start_s: 0", "start_s: 5"
        )
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["validate", "s.yaml"], capsys)
    assert code == 0
    assert (
        "closure: faults.closures[0]: 2 edges closed from 5 s to the end of the run (steps 5..): "
        "(3, 2)–(3, 3), (3, 6)–(3, 7); its edges cut off 4 pick locations (their orders wait)"
    ) in out


BAD_EDGE = "faults.closures=[{edges: [[[3, 3], [3, 5]]], start_s: 0}]"
WHY_EDGE = (
    "--set faults.closures[0].edges[0]: (3, 3)–(3, 5) is not an edge of the floor: no move "
    "joins the two"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "small", "--set", BAD_EDGE, "--steps", "5", "--out", "out"],
        ["sweep", "small", "--set", BAD_EDGE, "--steps", "5", "--out", "out"],
        ["view", "small", "--set", BAD_EDGE, "--headless-frames", "out", "--frames", "1"],
        [
            *("shadow", "small", "--candidate", "rule_based", "--incumbent", "rule_based"),
            *("--set", BAD_EDGE, "--steps", "5", "--out", "out"),
        ],
    ],
    ids=["run", "sweep", "view", "shadow"],
)
def test_a_set_edge_off_the_floor_names_the_set_option(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert fails_cleanly(argv, tmp_path, capsys, WHY_EDGE) == f"error: {WHY_EDGE}"


def test_hierarchy_evaluate_names_the_set_option_for_a_bad_edge(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", "o", "--scenarios", "small", "--set", BAD_EDGE])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err == f"error: {WHY_EDGE} (on small)\n"
    assert not (tmp_path / "o").exists()


SPAN_FILE = (
    "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
    "fleet: {robots: 2}\n"
    "faults: {closures: [{edges: [[[3, 2], [3, 3]]], start_s: 10, end_s: 11}]}\n"
)
WHY_SPAN = (
    "--set physics.step_seconds: faults.closures[0].end_s (s.yaml): 10 s to 11 s holds no step: "
    "steps begin every 3 s (physics.step_seconds)"
)


def test_a_set_step_that_empties_a_files_closure_names_the_set_option(
    tmp_path, capsys, monkeypatch
) -> None:
    """The file's span holds a step at 1 s per step; ``--set physics.step_seconds=3`` leaves it
    none: the option is named (the file's own error is unchanged without it)."""
    (tmp_path / "s.yaml").write_text(SPAN_FILE)
    monkeypatch.chdir(tmp_path)
    argv = ["run", "s.yaml", "--set", "physics.step_seconds=3", "--steps", "3", "--out", "o"]
    assert fails_cleanly(argv, tmp_path, capsys, WHY_SPAN) == f"error: {WHY_SPAN}"
    argv = ["sweep", "s.yaml", "--set", "physics.step_seconds=1,3", "--steps", "3", "--out", "o"]
    fails_cleanly(argv, tmp_path, capsys, "--set physics.step_seconds: faults.closures[0].end_s")
    (tmp_path / "s.yaml").write_text(SPAN_FILE.replace("start_s: 10,", "start_s: 10.2,"))
    fails_cleanly(
        ["validate", "s.yaml"], tmp_path, capsys, "s.yaml: faults.closures[0].end_s: 10.2 s to"
    )


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ("[[1, 2, 3]]", "expected [u, v], the two ends of an edge"),
        ("[[[0, 3], 2.5]]", "expected a cell [row, col] or a node id, got 2.5"),
        ("[[[0, 3], [0]]]", "expected [row, col], two whole numbers, got [0]"),
        ("[[true, [0, 3]]]", "expected a cell [row, col] or a node id, got true"),
        ("[[0, 3]]", "its first end: 0 is not a floor node: this floor's nodes have no names"),
    ],
)
def test_malformed_edges_name_the_entry(edges, expected, tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "s.yaml").write_text(
        EDGE_FILE.replace("[[[3, 2], [3, 3]], [[0, 3], [0, 9]]]", edges)
    )
    monkeypatch.chdir(tmp_path)
    line = fails_cleanly(["validate", "s.yaml"], tmp_path, capsys, "s.yaml: faults.closures[0]")
    assert line.startswith("error: s.yaml: faults.closures[0].edges[0]: ") and expected in line
