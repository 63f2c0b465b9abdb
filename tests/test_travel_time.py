"""Travel time that follows edge length (``physics.speed_m_s``): long edges of a waypoint graph
become chains of transit nodes, driven by the one movement rule (warehouse/floor/transit.py)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

import warehouse
from agents import RuleBasedNavigator
from hierarchy import GreedyDispatcher
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor
from warehouse.floor.checks import edge_length_note, floor_notes
from warehouse.floor.formats.graphio import parse_node_link_json
from warehouse.floor.transit import MAX_TRANSIT, edge_steps, split_long_edges
from warehouse.kpis import compute_kpis
from warehouse.validate import validate_trajectory


def graph_text(edges: list[dict], *, directed: bool = False, nodes: list[dict] | None = None):
    """A station s, aisle nodes a1 (0, 1) and a2 (0, 4) three cells apart, a pick p under a2."""
    nodes = nodes or [
        {"id": "s", "pos": [0, 0], "kind": "station"},
        {"id": "a1", "pos": [0, 1], "kind": "aisle"},
        {"id": "a2", "pos": [0, 4], "kind": "aisle"},
        {"id": "p", "pos": [1, 4], "kind": "pick"},
    ]
    doc = {"directed": directed, "graph": {"name": "hall"}, "nodes": nodes, "edges": edges}
    return json.dumps(doc)


def E(a: str, b: str, length: float | None = None) -> dict:
    return {"source": a, "target": b, **({"length": length} if length is not None else {})}


LINE = [E("s", "a1"), E("a1", "a2", 3.0), E("a2", "p")]


def split(text: str, speed: float, step_seconds: float = 1.0):
    return split_long_edges(parse_node_link_json(text), speed, step_seconds)


def moves(floor) -> set[tuple[str, str]]:
    return {(floor.nodes[a], floor.nodes[b]) for a, b in zip(*floor.moves(), strict=True)}


# ------------------------------------------------------------------------------ the split
def test_rounding_rule() -> None:
    """k = max(1, ceil(L / m)), forgiving float noise: never faster than the speed."""
    assert edge_steps(1.0, 1.0) == 1  # a 1.0 m edge at 1 m per step stays one step
    assert edge_steps(1.0 + 1e-9, 1.0) == 1
    assert edge_steps(1.1, 1.0) == 2  # 1.1 m in one step would be 1.1 m/s: two steps
    assert edge_steps(0.3, 1.0) == 1  # short edges still take a step
    assert edge_steps(0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    assert edge_steps(0.7, 0.1) == 7
    assert edge_steps(12.0, 12 / 8.5) == 9  # the user's 12 m edges at 8.5 m/s... per step
    assert edge_steps(12.0, 1.5) == 8


def test_a_two_way_edge_becomes_one_two_way_chain() -> None:
    g = split(graph_text(LINE), speed=1.0)
    assert g.number_of_nodes() == 6 and g.number_of_edges() == 5
    transit = sorted(g.graph["transit_nodes"])
    assert transit == ["a1~a2#1", "a1~a2#2"]
    assert [g.nodes[t]["pos"] for t in transit] == [(0.0, 2.0), (0.0, 3.0)]  # on the edge
    for t in transit:  # no role: an aisle node no robot starts on or is sent to
        assert g.nodes[t] == {"pos": g.nodes[t]["pos"], "kind": "aisle", "start": False,
                              "goal": False}  # fmt: skip
    floor = compile_floor(g)
    chain = ["a1", "a1~a2#1", "a1~a2#2", "a2"]
    expected = {(x, y) for x, y in pairwise(chain)}
    expected |= {(y, x) for x, y in expected} | {("s", "a1"), ("a1", "s"), ("a2", "p"), ("p", "a2")}
    assert moves(floor) == expected
    t = [floor.index_of(v) for v in transit]
    assert floor.transit.tolist() == [v in transit for v in floor.nodes]
    assert not floor.start_ok[t].any() and not floor.goal_ok[t].any()
    assert (floor.kind[t] == NodeKind.AISLE).all() and floor.picks.size == floor.stations.size == 1
    assert floor.pos[t].tolist() == [[0, 2], [0, 3]]
    assert floor.is_grid  # the chain fills the cells between a1 and a2: still one cell a move
    # segment lengths L / k both ways, summing to L
    hops = [floor.length[floor.index_of(x)][floor.nbr[floor.index_of(x)] == floor.index_of(y)]
            for x, y in pairwise(chain)]  # fmt: skip
    assert [float(h[0]) for h in hops] == [1.0, 1.0, 1.0]
    assert sum(float(h[0]) for h in hops) == 3.0


def test_one_way_edges_stay_one_way_and_lengths_sum_to_the_original() -> None:
    # a1 → a2 one way (2.5 m); a2 ⇄ p listed both ways with different lengths (4 m, 2.5 m)
    edges = [E("s", "a1"), E("a1", "s"), E("a1", "a2", 2.5), E("a2", "p", 4.0), E("p", "a2", 2.5)]
    edges.append(E("p", "s", 9.0))  # one way back to the station: 9 steps
    g = split(graph_text(edges, directed=True), speed=1.0)
    assert g.is_directed()
    floor = compile_floor(g)
    chain = ["a1", "a1~a2#1", "a1~a2#2", "a2"]
    pairs = moves(floor)
    for x, y in pairwise(chain):
        assert (x, y) in pairs and (y, x) not in pairs  # the direction is kept
    # the two-way pair becomes one two-way chain of max(4, 3) = 4 segments
    back = ["p", "a2~p#3", "a2~p#2", "a2~p#1", "a2"]
    for x, y in pairwise(back):
        assert (x, y) in pairs and (y, x) in pairs

    def length(path: list[str]) -> float:
        total = 0.0
        for x, y in pairwise(path):
            i, j = floor.index_of(x), floor.index_of(y)
            total += float(floor.length[i][(floor.nbr[i] == j) & floor.mask[i]][0])
        return total

    assert length(chain) == 2.5
    assert length(back[::-1]) == 4.0 and length(back) == 2.5
    assert floor.transit.sum() == 2 + 3 + 8
    assert floor.edge_split.max_steps == 9 and floor.edge_split.split == 3


def test_the_split_is_the_hand_split_floor() -> None:
    """One physics: the floor built with the setting is the floor a user would get by splitting
    the edge by hand (same nodes, moves, lengths and cells); nothing else moves robots."""
    auto = compile_floor(split(graph_text(LINE), speed=1.0))
    nodes = json.loads(graph_text(LINE))["nodes"]
    nodes += [{"id": f"a1~a2#{i}", "pos": [0, 1 + i], "kind": "aisle", "start": False,
               "goal": False} for i in (1, 2)]  # fmt: skip
    edges = [E("s", "a1"), E("a1", "a1~a2#1"), E("a1~a2#1", "a1~a2#2"), E("a1~a2#2", "a2"),
             E("a2", "p")]  # fmt: skip
    hand = compile_floor(parse_node_link_json(graph_text(edges, nodes=nodes)))
    assert auto.nodes == hand.nodes
    for k in ("pos", "kind", "nbr", "mask", "length", "cell_of", "start_ok", "goal_ok"):
        assert np.array_equal(getattr(auto, k), getattr(hand, k)), k


def test_positions_are_interpolated_and_every_node_has_its_own_cell() -> None:
    """Two cells apart, 6 m long: five transit nodes placed along the edge; each waypoint keeps
    its cell, and each transit node has a cell of its own (tests/test_transit_cells.py)."""
    nodes = [{"id": "s", "pos": [0, 0], "kind": "station"},
             {"id": "p", "pos": [2, 0], "kind": "pick"}]  # fmt: skip
    g = split(graph_text([E("s", "p", 6.0)], nodes=nodes), speed=1.0)
    floor = compile_floor(g)
    rows = [g.nodes[f"s~p#{i}"]["pos"][0] for i in range(1, 6)]
    assert rows == pytest.approx([2 / 6, 4 / 6, 1.0, 8 / 6, 10 / 6])
    s, p = floor.pos[floor.index_of("s")], floor.pos[floor.index_of("p")]
    assert (p - s).tolist() == [2, 0]
    assert len({tuple(c) for c in floor.pos.tolist()}) == floor.n_nodes == 7
    assert floor.transit[floor.cell_of[s[0] + 1, s[1]]]  # the first in the cell between


def test_with_the_setting_off_or_never_needed_the_floor_is_unchanged() -> None:
    text = graph_text(LINE)
    off = compile_floor(parse_node_link_json(text))
    fast = compile_floor(split(text, speed=3.0))  # 3 m per step: every edge one step
    assert not off.transit.any() and off.edge_split is None
    assert fast.edge_split is not None and fast.edge_split.transit == 0
    for k in ("pos", "kind", "nbr", "mask", "length", "cell_of", "start_ok", "goal_ok"):
        assert np.array_equal(getattr(off, k), getattr(fast, k)), k
    assert off.nodes == fast.nodes


@pytest.mark.parametrize("name", ["tiny", "small", "one_way_aisles"])
def test_grid_floors_at_one_cell_per_step_are_unchanged(name: str) -> None:
    sc, src = load_scenario(name)
    off = build_floor(sc, src)
    on = build_floor(apply_overrides(sc, {"physics.speed_m_s": 1.0}), src)
    for k in ("pos", "kind", "nbr", "mask", "length", "cell_of", "start_ok", "goal_ok"):
        assert np.array_equal(getattr(off, k), getattr(on, k)), k
    assert on.is_grid and not on.transit.any()


# ------------------------------------------------------------------------------ driving
def sim_on(text: str, robots: int, mode: str, speed: float | None) -> Simulation:
    g = parse_node_link_json(text)
    if speed is not None:
        g = split_long_edges(g, speed, 1.0)
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(collisions=mode, speed_m_s=speed),
    )
    sim = Simulation(compile_floor(g), cfg)
    sim.reset(seed=0)
    return sim


def toward(sim: Simulation, goals: list[str]) -> np.ndarray:
    """The action taking each robot one step along a shortest path to its goal (WAIT there)."""
    f, out = sim.floor, []
    for v, goal in zip(sim.state.pos.tolist(), goals, strict=True):
        g = f.index_of(goal)
        d = sim.dist.lookup(np.full(f.n_actions, g), f.nbr[v]).astype(np.int64)
        d[~f.mask[v]] = 1 << 30
        out.append(0 if v == g else int(np.argmin(d)))
    return np.array(out)


def place(sim: Simulation, nodes: list[str]) -> None:
    sim.state.pos = np.array([sim.floor.index_of(v) for v in nodes], dtype=np.int32)
    sim.state_changed()


def drive(sim: Simulation, goals: list[str], steps: int) -> np.ndarray:
    traj = [sim.state.pos.copy()]
    for _ in range(steps):
        sim.step(toward(sim, goals))
        traj.append(sim.state.pos.copy())
    return np.stack(traj)


@pytest.mark.parametrize(("speed", "steps"), [(None, 1), (1.0, 3), (1.5, 2), (0.5, 6)])
def test_crossing_a_long_edge_takes_its_travel_time(speed, steps) -> None:
    sim = sim_on(graph_text(LINE), 1, "block", speed)
    place(sim, ["a1"])
    traj = drive(sim, ["a2"], 8)
    a2 = sim.floor.index_of("a2")
    assert int(np.argmax(traj[:, 0] == a2)) == steps
    assert sim.state.distance_m[0] == 3.0  # the same metres whatever the travel time


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_robots_on_one_long_edge_queue_behind_each_other(mode: str) -> None:
    """Two robots drive over the 3-step edge, one right behind the other (the first to p, the
    second to a2): they follow each other node by node, never share one, never collide."""
    sim = sim_on(graph_text(LINE), 2, mode, 1.0)
    place(sim, ["a1~a2#1", "a1"])
    traj = drive(sim, ["p", "a2"], 5)
    assert (traj[:, 0] != traj[:, 1]).all()
    assert sim.incidents == 0
    names = [[sim.floor.nodes[v] for v in row] for row in traj[:4].T]
    assert names[0] == ["a1~a2#1", "a1~a2#2", "a2", "p"]
    assert names[1] == ["a1", "a1~a2#1", "a1~a2#2", "a2"]  # a step behind all the way
    assert validate_trajectory(sim.floor.graph, traj, sim.floor.nodes) == []
    # the second one, sent on to p, waits behind the first (blocked, no collision under block)
    blocked = sim_on(graph_text(LINE), 2, "block", 1.0)
    place(blocked, ["a1~a2#1", "a1"])
    traj = drive(blocked, ["p", "p"], 6)
    assert blocked.incidents == 0 and (traj[3:, 1] == blocked.floor.index_of("a2")).all()


def test_head_on_on_a_long_edge_is_a_corridor_conflict() -> None:
    """Robots meeting head-on inside the chain: the physical rule counts the collision and
    moves neither; the block shield turns the moves into waits. Nobody passes through."""
    ends = ["a1~a2#1", "a1~a2#2"]
    phys = sim_on(graph_text(LINE), 2, "physical", 1.0)
    place(phys, ends)
    phys.step(toward(phys, ["a2", "a1"]))
    assert phys.incidents == 1 and [phys.floor.nodes[v] for v in phys.state.pos] == ends
    block = sim_on(graph_text(LINE), 2, "block", 1.0)
    place(block, ends)
    traj = drive(block, ["a2", "a1"], 5)
    assert block.incidents == 0 and (traj == traj[0]).all()  # a corridor with no passing place
    assert block.state.interventions.sum() > 0


CORRIDOR_NODES = [
    {"id": "S1", "pos": [0, 1], "kind": "station"}, {"id": "S2", "pos": [2, 1], "kind": "station"},
    {"id": "L", "pos": [1, 0], "kind": "aisle"}, {"id": "X", "pos": [1, 1], "kind": "aisle"},
    {"id": "Y", "pos": [1, 9], "kind": "aisle"}, {"id": "R", "pos": [1, 10], "kind": "aisle"},
    {"id": "P1", "pos": [0, 9], "kind": "pick"}, {"id": "P2", "pos": [2, 9], "kind": "pick"},
]  # fmt: skip
CORRIDOR_EDGES = [E("S1", "X"), E("S2", "X"), E("L", "X"), E("Y", "P1"), E("Y", "P2"),
                  E("Y", "R"), E("X", "Y", 8.0)]  # fmt: skip


@pytest.fixture
def corridor(tmp_path: Path) -> Path:
    """Stations west, picks east, one 8 m two-way aisle between them: every trip crosses it."""
    (tmp_path / "c.json").write_text(graph_text(CORRIDOR_EDGES, nodes=CORRIDOR_NODES))
    path = tmp_path / "c.yaml"
    path.write_text(
        "layout: {type: file, path: c.json}\nfleet: {robots: 4}\ntasks: {arrival_rate: 0.5}\n"
        "physics: {speed_m_s: 1.0}\n"
    )
    return path


@pytest.mark.parametrize("mode", ["block", "pibt_swap"])
def test_a_fleet_drives_long_edges_under_the_shields(corridor: Path, mode: str) -> None:
    """Robots meet head-on and queue on the chain; the shield keeps them apart as on any aisle,
    and every delivery now takes the edge's travel time (8 steps a way, not 1)."""
    runs = {}
    for speed in (1.0, None):
        env = warehouse.make_env(corridor, collisions=mode, **{"physics.speed_m_s": speed})
        sim = env.sim
        fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
        fleet.reset(0)
        traj = [sim.state.pos.copy()]
        for _ in range(300):
            fleet.step()
            traj.append(sim.state.pos.copy())
        assert sim.incidents == 0
        assert validate_trajectory(sim.floor.graph, np.stack(traj), sim.floor.nodes) == []
        runs[speed] = compute_kpis(sim)
        if speed:
            on_chain = np.isin(np.stack(traj), np.flatnonzero(sim.floor.transit))
            assert (on_chain.sum(axis=1) >= 2).any()  # several robots on the edge at once
    assert runs[1.0]["deliveries"] > 0 and runs[None]["deliveries"] > 2 * runs[1.0]["deliveries"]


def test_starts_and_parking_avoid_transit_nodes(corridor: Path) -> None:
    from hierarchy.parking import parking_spots

    sc, src = load_scenario(corridor)
    floor = build_floor(apply_overrides(sc, {"fleet.robots": 5, "fleet.start": "spread"}), src)
    sim = Simulation(floor, apply_overrides(sc, {"fleet.robots": 5}).sim_config())
    for seed in range(5):
        sim.reset(seed=seed)
        assert not floor.transit[sim.state.pos].any()
    assert not floor.transit[parking_spots(floor, 5)].any()
    # 5 robots fit (the floor's own 8 nodes), 9 do not, whatever the 7 transit nodes
    with pytest.raises(warehouse.errors.InputError, match=r"must be ≤ free cells \(8\)"):
        build_floor(apply_overrides(sc, {"fleet.robots": 9}), src)


# ------------------------------------------------------------------------------ validate, closures
def test_validate_reports_the_split_and_drops_the_edge_length_note(corridor, capsys) -> None:
    code, out, err = run_cli(["validate", str(corridor)], capsys)
    assert code == 0, err
    assert "floor 3×11 (8 free cells;" in out
    assert (
        "note: travel time follows edge length (physics.speed_m_s: 1 m/s, 1 m per step): an "
        "edge takes 1–8 steps; 1 of 7 edges are split into chains through 7 transit nodes in all"
    ) in out
    assert "every edge takes one step" not in out
    sc, src = load_scenario(corridor)
    off = build_floor(apply_overrides(sc, {"physics.speed_m_s": None}), src)
    assert edge_length_note(off) is not None
    assert not any("travel time follows" in n for n in floor_notes(off))
    on = build_floor(sc, src)
    assert edge_length_note(on) is None


def test_closures_of_cells_and_named_nodes(tmp_path: Path, monkeypatch, capsys) -> None:
    """A cell closes the node drawn in it (each transit node has a cell of its own); a named
    node closes that node alone; a transit node has no name a closure can give."""
    from warehouse.core.closure_entries import resolve_closures

    nodes = [{"id": "s", "pos": [0, 0], "kind": "station"}, {"id": "a", "pos": [2, 0],
             "kind": "aisle"}, {"id": "p", "pos": [2, 1], "kind": "pick"}]  # fmt: skip
    (tmp_path / "g.json").write_text(graph_text([E("s", "a", 6.0), E("a", "p")], nodes=nodes))
    path = tmp_path / "s.yaml"
    path.write_text(
        "layout: {type: file, path: g.json}\nfleet: {robots: 1}\nphysics: {speed_m_s: 1.0}\n"
        "faults:\n  closures:\n"
        "    - {cells: [[0, 0]], start_s: 0}\n"  # s alone (s~a#1, at row 1/3, is drawn aside)
        "    - {cells: [[1, 0], [1, 1]], start_s: 0}\n"  # no waypoint: two transit nodes
        "    - {nodes: [s], start_s: 0, end_s: 5}\n"
    )
    sc, src = load_scenario(path)
    floor = build_floor(sc, src)
    names = [
        sorted(floor.nodes[v] for v in c.nodes) for c in resolve_closures(floor, sc.faults, 1.0)
    ]
    assert names == [["s"], ["s~a#2", "s~a#4"], ["s"]]
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["validate", "s.yaml"], capsys)
    assert code == 0, err
    assert (
        "faults.closures[0]: 1 cell closed from 0 s to the end of the run (steps 0..): s (0, 0)"
        "; 1 station among them"
    ) in out
    assert "faults.closures[1]: 2 cells closed" in out
    assert "(steps 0..): (1, 0), (1, 1) (with 2 transit nodes of long edges)" in out
    path.write_text(path.read_text().replace("nodes: [s]", "nodes: ['s~a#2']"))
    fails_cleanly(
        ["validate", "s.yaml"],
        tmp_path,
        capsys,
        "s.yaml: faults.closures[2].nodes[0]: 's~a#2' is not a floor node: it is a transit node "
        "of a long edge (physics.speed_m_s): close its cell instead",
    )


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "physics.speed_m_s: Input should be greater than 0"),
        ("-1.5", "physics.speed_m_s: Input should be greater than 0"),
        (".nan", "physics.speed_m_s: Input should be a finite number"),
        (".inf", "physics.speed_m_s: Input should be a finite number"),
        ("true", "physics.speed_m_s: expected a number, got true"),
        ("fast", "physics.speed_m_s: Input should be a valid number"),
    ],
)
def test_bad_speeds_are_one_line_errors(value, expected, corridor, monkeypatch, capsys) -> None:
    monkeypatch.chdir(corridor.parent)
    corridor.write_text(corridor.read_text().replace("speed_m_s: 1.0", f"speed_m_s: {value}"))
    fails_cleanly(["validate", "c.yaml"], corridor.parent, capsys, f"c.yaml: {expected}")


def test_a_split_into_too_many_nodes_is_refused(corridor, monkeypatch, capsys) -> None:
    monkeypatch.chdir(corridor.parent)
    corridor.write_text(corridor.read_text().replace("speed_m_s: 1.0", "speed_m_s: 0.000001"))
    line = fails_cleanly(["validate", "c.yaml"], corridor.parent, capsys, "c.yaml: ")
    assert line.startswith(
        "error: c.yaml: physics.speed_m_s: 1e-06 m/s (1e-06 m per step) would split the edges "
        f"into 13,999,993 transit nodes (at most {MAX_TRANSIT:,}); the longest, X–Y (8 m), would "
        "take 8,000,000 steps"
    ), line


def test_grid_floors_refuse_a_speed_below_a_cell_per_step(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text(
        'layout: {type: ascii, map: "S...p\\n.....\\n"}\nfleet: {robots: 2}\n'
        "physics: {speed_m_s: 0.5, step_seconds: 1.0}\n"
    )
    fails_cleanly(
        ["validate", "s.yaml"],
        tmp_path,
        capsys,
        "s.yaml: physics.speed_m_s: 0.5 m/s at 1 s per step drives 0.5 m per step, so a 1 m cell "
        "would take 2 steps; on a drawn grid floor (layout.type: ascii) every move is one cell "
        "in one step: use physics.step_seconds: 2 (one cell at 0.5 m/s) or a waypoint graph",
    )
    path.write_text(path.read_text().replace("0.5", "2.0"))
    code, out, err = run_cli(["validate", str(path)], capsys)
    assert code == 0, err
    assert "an edge takes 1 step" in out and "transit" not in out


def test_physics_cell_size_rescales_travel_time_with_the_lengths(corridor: Path) -> None:
    """``physics.cell_size`` rescales every length of the file (the metres a robot is credited
    with), and the split follows: at 2 m per cell the 8 m aisle is 16 m, 16 steps at 1 m/s, and
    each of the six 1 m edges 2 m, 2 steps: every move is then 1 m, one step at 1 m/s."""
    sc, src = load_scenario(corridor)
    plain = build_floor(sc, src)
    scaled_sc = apply_overrides(sc, {"physics.cell_size": 2.0}, src)
    scaled = build_floor(scaled_sc, src)
    assert int(plain.transit.sum()) == 7 and int(scaled.transit.sum()) == 15 + 6
    sim = Simulation(scaled, scaled_sc.sim_config())
    real = scaled.mask & (scaled.nbr != np.arange(scaled.n_nodes)[:, None])  # moves, not waits
    np.testing.assert_allclose(sim._length_m[real], 1.0)
    same = build_floor(apply_overrides(sc, {"physics.cell_size": 1.0}, src), src)
    assert same.nodes == plain.nodes


def test_a_drawn_floor_scaled_up_refuses_a_speed_below_its_cell(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(
        'layout: {type: ascii, map: "S...p\\n.....\\n"}\nfleet: {robots: 2}\n'
        "physics: {speed_m_s: 1.5, step_seconds: 1.0, cell_size: 2.0}\n"
    )
    fails_cleanly(
        ["validate", "s.yaml"],
        tmp_path,
        capsys,
        "s.yaml: physics.speed_m_s: 1.5 m/s at 1 s per step drives 1.5 m per step, so a 2 m cell "
        "would take 2 steps",
    )


# ------------------------------------------------------------------------------ run, record
def test_run_records_and_replays_a_split_floor(corridor, tmp_path, capsys) -> None:
    from warehouse.recording import load_recording

    rec = tmp_path / "r.npz"
    argv = ["run", str(corridor), "--policy", "rule_based", "--steps", "60", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "o"), "--record", str(rec)], capsys)
    assert code == 0, err
    loaded = load_recording(rec)
    sc, src = load_scenario(corridor)
    floor = build_floor(sc, src)
    assert loaded.floor.nodes == floor.nodes
    assert np.array_equal(loaded.floor.nbr, floor.nbr)
    assert np.isin(loaded.positions, np.flatnonzero(floor.transit)).any()
    assert compute_kpis(loaded.frame_sim(60))["distance_m"] > 0


def test_a_split_graph_can_be_saved(tmp_path: Path) -> None:
    """The summary rides on the graph as plain data: save_graph writes the split floor (its
    transit nodes as plain aisle nodes) in both formats."""
    from warehouse.floor.formats import save_graph

    g = split(graph_text(LINE), speed=1.0)
    save_graph(g, tmp_path / "g.json")
    save_graph(g, tmp_path / "g.graphml")
    again = parse_node_link_json((tmp_path / "g.json").read_text())
    assert again.number_of_nodes() == 6 and again.nodes["a1~a2#1"]["start"] is False
