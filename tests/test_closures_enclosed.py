"""Parts of the floor that closed cells cut off, alone or together with closed edges: their pick
locations and stations have their orders held, robots shut in there get no orders, exactly as
for a part closed edges alone cut off (``test_closures_edges``)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from cli_helpers import run_cli
from test_closure_routing import floor_digraph
from test_distances import random_floor

import warehouse
from agents import RuleBasedNavigator
from hierarchy.dispatchers import GreedyDispatcher
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.closures import cut_off
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import CompiledFloor, NodeKind, compile_floor, graph_from_grid
from warehouse.floor.distances import open_moves
from warehouse.floor.formats.ascii import parse_ascii


def expected_cut(
    g: nx.DiGraph, kind: np.ndarray, closed: np.ndarray, moves: set
) -> np.ndarray | None:
    """Open nodes outside the main strongly connected part of ``g`` less ``moves`` and less
    the closed nodes: the part with the most pick locations × stations, then the most of both,
    then the most nodes (None when two parts tie)."""
    open_g = g.copy()
    open_g.remove_edges_from(moves)
    open_g.remove_nodes_from(np.flatnonzero(closed).tolist())

    def key(part: set) -> tuple[int, int, int]:
        picks = sum(kind[v] == NodeKind.PICK for v in part)
        stations = sum(kind[v] == NodeKind.STATION for v in part)
        return (picks * stations, picks + stations, len(part))

    parts = sorted(nx.strongly_connected_components(open_g), key=key, reverse=True)
    if not parts or (len(parts) > 1 and key(parts[0]) == key(parts[1])):
        return None
    cut = ~closed.copy()
    cut[list(parts[0])] = False
    return cut


def random_work_floor(seed: int) -> CompiledFloor:
    """:func:`test_distances.random_floor` with pick locations and stations among its cells."""
    rng = np.random.default_rng(seed)
    chars = np.array(list(".#><^vpS"))
    weights = np.array([0.45, 0.2, 0.05, 0.05, 0.05, 0.05, 0.1, 0.05])
    while True:
        h, w = rng.integers(3, 9, size=2)
        grid = rng.choice(chars, size=(h, w), p=weights)
        try:
            floor = compile_floor(parse_ascii("\n".join("".join(row) for row in grid)))
        except InputError:  # a pick location or station cut off from the floor
            continue
        if floor.n_nodes >= 3:
            return floor


@pytest.mark.parametrize("seed", range(24))
def test_cut_off_equals_networkx_with_closed_nodes_and_moves(seed: int) -> None:
    floor = random_floor(seed)[1] if seed < 12 else random_work_floor(seed)
    g = floor_digraph(floor)
    rng = np.random.default_rng(300 + seed)
    edges = list(g.edges)
    checked = 0
    for node_share, move_share in ((0.15, 0.0), (0.0, 0.2), (0.2, 0.2), (0.4, 0.1)):
        closed = rng.random(floor.n_nodes) < node_share
        hits = rng.random(len(edges)) < move_share
        moves = {e for e, hit in zip(edges, hits, strict=True) if hit}
        want = expected_cut(g, floor.kind, closed, moves)
        if want is None:
            continue
        arr = np.array(sorted(moves), dtype=np.int64).reshape(-1, 2)
        got = cut_off(floor, open_moves(floor, arr), closed)
        assert np.array_equal(got, want)
        assert not got[closed].any()  # a closed node is closed, never "cut off"
        checked += 1
    assert checked


def pocket_floor(closures: list[dict], robots: int = 2) -> Simulation:
    """A corridor ``S A A A A A A`` (row 0) with a pocket below reached through (1, 3) and
    (1, 5): the pick (2, 4) between the aisle cells (2, 3) and (2, 5)."""
    grid = np.full((3, 7), NodeKind.BLOCKED, np.int8)
    grid[0] = [NodeKind.STATION] + [NodeKind.AISLE] * 5 + [NodeKind.PICK]
    grid[1, 3] = grid[1, 5] = grid[2, 3] = grid[2, 5] = NodeKind.AISLE
    grid[2, 4] = NodeKind.PICK
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate({"closures": closures}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    return sim


def test_closed_cells_alone_hold_the_orders_of_a_pocket_and_shut_its_robot_in() -> None:
    """Both mouths of the pocket, (1, 3) and (1, 5), closed from 2 s to 10 s: the order at the
    pick inside is held, the robot inside (driving to the corridor's pick) hands its order
    back and gets none; at 10 s both are back."""
    sim = pocket_floor([{"cells": [[1, 3], [1, 5]], "start_s": 2, "end_s": 10}])
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[2, 3], f.cell_of[0, 1]]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 6]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.orders.add(np.array([f.cell_of[2, 4]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    wait = np.zeros(2, dtype=np.int64)
    sim.step(wait)
    assert s.phase[0] == Phase.TO_PICK and sim.shut_in is None
    assert sim.dispatchable_orders().tolist() == [1]
    while sim.t < 9:  # the steps that end at clock 2..9
        sim.step(wait)
        inside = [f.cell_of[2, 3], f.cell_of[2, 4], f.cell_of[2, 5]]
        assert sim.shut_in is not None and np.flatnonzero(sim.shut_in).tolist() == inside
        assert s.phase[0] == Phase.IDLE and sim.orders.robot[0] == -1
        assert sim.idle_robots().tolist() == [1] and sim.dispatchable_orders().tolist() == [0]
    sim.step(wait)
    assert sim.t == 10 and sim.shut_in is None
    assert sim.idle_robots().tolist() == [0, 1] and sim.dispatchable_orders().tolist() == [0, 1]


def test_a_closed_cell_and_a_closed_edge_together_hold_the_pocket_only_while_both_last() -> None:
    """One mouth closed as a cell (2 s to 20 s), the other as an edge (5 s to 12 s): neither
    cuts the pick off alone, so its order is held from 5 s to 12 s only."""
    sim = pocket_floor(
        [
            {"cells": [[1, 3]], "start_s": 2, "end_s": 20},
            {"edges": [[[0, 5], [1, 5]]], "start_s": 5, "end_s": 12},
        ]
    )
    f = sim.floor
    sim.state.pos[:] = [f.cell_of[0, 1], f.cell_of[0, 2]]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[2, 4]]), np.array([f.cell_of[0, 0]]), step=0)
    held = []
    while sim.t < 25:
        held.append(sim.dispatchable_orders().size == 0)
        sim.step(np.zeros(2, dtype=np.int64))
    assert [t for t, h in enumerate(held) if h] == list(range(5, 12))


def closure_lines(faults: str, tmp_path, capsys, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The ``closure:`` lines of ``warehouse validate`` on a small generated floor whose
    ``faults`` section is the YAML ``faults``."""
    (tmp_path / "s.yaml").write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
        f"fleet: {{robots: 2}}\nfaults:\n{faults}"
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["validate", "s.yaml"], capsys)
    assert code == 0
    return [line for line in out.splitlines() if line.startswith("closure:")]


def test_validate_says_what_closed_cells_cut_off(tmp_path, capsys, monkeypatch) -> None:
    faults = "  closures: [{cells: [[3, 2], [3, 7]], start_s: 5, end_s: 50}]\n"
    assert closure_lines(faults, tmp_path, capsys, monkeypatch) == [
        "closure: faults.closures[0]: 2 cells closed from 5 s to 50 s (steps 5..49): (3, 2), "
        "(3, 7); its cells cut off 4 pick locations (their orders wait)"
    ]


def test_no_robot_is_sent_into_a_pick_row_closed_cells_enclose_on_small() -> None:
    """`small` with the two aisle cells at the ends of the pick row (3, 3..10) closed from 30 s
    to 400 s: no robot is given an order there meanwhile (they used to drive to the closure and
    wait at it), the orders that arrive there wait, and they are delivered after it reopens."""
    closure = {"cells": [[3, 2], [3, 11]], "start_s": 30, "end_s": 400}
    env = warehouse.make_env("small", **{"faults.closures": [closure], "arrival_rate": 0.5})
    sim, f = env.sim, env.floor
    pocket = np.array([f.cell_of[3, c] for c in range(3, 11)])
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(0)
    while sim.t < 700:
        fleet.step()
        if 31 <= sim.t < 400:
            assert not np.isin(sim.state.task_goal, pocket).any()
    ob = sim.orders
    there = np.flatnonzero(np.isin(ob.pick[: ob.count], pocket) & (ob.arrival[: ob.count] < 390))
    assert there.size >= 3
    assert (ob.delivered[there] >= 400).all()


def test_a_closure_that_splits_the_floor_holds_the_orders_no_part_can_complete() -> None:
    """`tiny` with all its west pick locations closed (cols 3..6 of the three pick rows, 30 s to
    150 s): the west aisle with both stations is cut off from the east picks, so no order can be
    completed meanwhile. None is handed out (a robot used to pick one and wait, loaded, at the
    closure), and those that arrived meanwhile are delivered after it reopens."""
    half = {"area": {"from": [0, 3], "to": [6, 6]}, "start_s": 30, "end_s": 150}
    env = warehouse.make_env("tiny", **{"tasks.arrival_rate": 0.5, "faults.closures": [half]})
    sim = env.sim
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(3)
    while sim.t < 400:
        fleet.step()
        if 31 <= sim.t < 150:
            assert sim.open_orders().size and sim.dispatchable_orders().size == 0
    ob = sim.orders
    during = (ob.arrival[: ob.count] >= 31) & (ob.arrival[: ob.count] < 150)
    assert during.sum() >= 20
    assigned = ob.assigned[: ob.count][during]  # (-1: still open at the end, saturated)
    assert ((assigned >= 150) | (assigned < 0)).all() and (assigned >= 150).any()
    assert (ob.delivered[: ob.count][during] >= 0).mean() > 0.5


def test_validate_says_what_closures_cut_off_together(tmp_path, capsys, monkeypatch) -> None:
    """A cell at one end of a pick row and an edge at its other end: neither cuts the row off
    alone; ``validate`` names the span in which they do together."""
    faults = (
        "  closures:\n    - {cells: [[3, 2]], start_s: 5, end_s: 50}\n"
        "    - {edges: [[[3, 6], [3, 7]]], start_s: 20, end_s: 80}\n"
    )
    assert closure_lines(faults, tmp_path, capsys, monkeypatch) == [
        "closure: faults.closures[0]: 1 cell closed from 5 s to 50 s (steps 5..49): (3, 2)",
        "closure: faults.closures[1]: 1 edge closed from 20 s to 80 s (steps 20..79): "
        "(3, 6)–(3, 7)",
        "closure: faults.closures[0] and faults.closures[1] together, from 20 s to 50 s (steps "
        "20..49): they cut off 4 pick locations (their orders wait)",
    ]
