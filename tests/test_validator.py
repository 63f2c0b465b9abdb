"""Independent trajectory validator: hand-made violations and agreement with the core."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from test_pibt import situations

import warehouse
from agents import RandomNavigator, RuleBasedNavigator
from hierarchy import GreedyDispatcher
from warehouse.core.physics import resolve_physical
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, graph_from_grid
from warehouse.validate import Violation, validate_trajectory


def kinds(step, kind):
    return [(v.step, v.kind) for v in validate_trajectory(*step) if v.kind == kind]


def grid(rows, **kw):
    k = np.array([[NodeKind.BLOCKED if ch == "#" else NodeKind.AISLE for ch in r] for r in rows])
    return graph_from_grid(k, **kw)


def test_clean_trajectory_has_no_violations():
    g = grid(["...", "..."])
    traj = [
        [(0, 0), (0, 1), (1, 2)],
        [(0, 1), (0, 2), (1, 2)],  # robot 0 follows robot 1, robot 2 waits
        [(1, 1), (0, 2), (1, 2)],
    ]
    assert validate_trajectory(g, traj) == []


def test_rotating_cycle_is_legal():
    g = grid(["..", ".."])
    a, b, c, d = (0, 0), (0, 1), (1, 1), (1, 0)
    assert validate_trajectory(g, [[a, b, c, d], [b, c, d, a]]) == []
    assert validate_trajectory(g, [[a, b, c], [b, c, d]]) == []


def test_vertex_conflict():
    g = grid(["..."])
    out = validate_trajectory(g, [[(0, 0), (0, 2)], [(0, 1), (0, 1)]])
    assert out == [Violation(1, "vertex", (0, 1), (0, 1))]


def test_entering_a_node_whose_robot_stays_is_a_vertex_conflict():
    g = grid(["..."])
    out = validate_trajectory(g, [[(0, 0), (0, 1)], [(0, 1), (0, 1)]])
    assert [(v.kind, v.robots) for v in out] == [("vertex", (0, 1))]


def test_vertex_conflict_in_the_start_placement():
    g = grid(["..."])
    out = validate_trajectory(g, [[(0, 0), (0, 0), (0, 2)]])
    assert out == [Violation(0, "vertex", (0, 1), (0, 0))]


def test_swap_conflict():
    g = grid(["...."])
    traj = [[(0, 3), (0, 1), (0, 2)], [(0, 3), (0, 2), (0, 1)]]
    assert validate_trajectory(g, traj) == [Violation(1, "swap", (1, 2), ((0, 1), (0, 2)))]


def test_jump_without_edge():
    g = grid(["...", "#.."])
    traj = [[(0, 0)], [(0, 1)], [(1, 2)]]  # diagonal jump at step 2
    assert validate_trajectory(g, traj) == [Violation(2, "edge", (0,), ((0, 1), (1, 2)))]


def test_wrong_way_on_a_one_way_aisle():
    g = grid(["...", "..."], row_directions={0: 1})  # row 0 eastbound only
    assert validate_trajectory(g, [[(0, 0)], [(0, 1)]]) == []
    assert kinds((g, [[(0, 1)], [(0, 0)]]), "edge") == [(1, "edge")]
    assert validate_trajectory(g, [[(1, 1)], [(1, 0)]]) == []  # row 1 stays two-way


def test_robot_on_a_blocked_or_unknown_node():
    g = grid([".#."])
    out = validate_trajectory(g, [[(0, 0), (0, 1), (7, 7)]])
    assert [(v.kind, v.robots, v.node) for v in out] == [
        ("node", (1,), (0, 1)),
        ("node", (2,), (7, 7)),
    ]


def test_ids_with_a_node_list_match_node_keys():
    g = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a")])
    nodes = ["c", "b", "a"]
    ids = np.array([[2, 1], [1, 2]])  # a->b and b->a (no edge b->a): edge + swap
    by_keys = validate_trajectory(g, [["a", "b"], ["b", "a"]])
    assert validate_trajectory(g, ids, nodes) == by_keys
    assert {v.kind for v in by_keys} == {"edge", "swap"}


def test_validator_does_not_import_the_core():
    src = Path(warehouse.__file__).with_name("validate.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not any("core" in m or "floor" in m or m.startswith(".") for m in imported), imported


def run_fleet(mode, navigator, steps, seed, robots=None):
    """Positions before every step, intended targets, executed positions and incidents."""
    over = {"collisions": mode} | ({"robots": robots} if robots else {})
    sim = warehouse.make_env("tiny", **over).sim
    fleet = Fleet(sim, GreedyDispatcher(), navigator)
    fleet.reset(seed)
    before, intended, incidents = [], [], []
    traj = [sim.state.pos.copy()]
    for _ in range(steps):
        pos = sim.state.pos.copy()
        step = fleet.step()
        before.append(pos)
        intended.append(sim.floor.nbr[pos, step.result.actions])
        incidents.append(step.result.incidents)
        traj.append(sim.state.pos.copy())
    return sim, before, intended, incidents, np.stack(traj)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_the_core_in_physical_mode(seed):
    sim, before, intended, incidents, traj = run_fleet(
        "physical", RandomNavigator(), 150, seed, robots=20
    )
    f = sim.floor
    conflict_steps = 0
    for pos, tgt, inc in zip(before, intended, incidents, strict=True):
        found = validate_trajectory(f.graph, np.stack([pos, tgt]), f.nodes)
        assert all(v.kind in ("vertex", "swap") for v in found)  # moves follow edges
        assert (inc > 0) == bool(found)
        conflict_steps += inc > 0
    assert conflict_steps > 0  # the comparison saw conflicts
    # What the core executed never conflicts: failed moves stay put.
    assert validate_trajectory(f.graph, traj, f.nodes) == []


@pytest.mark.parametrize("mode", ["block", "pibt"])
def test_shielded_executed_trajectories_are_clean(mode):
    sim, _, _, incidents, traj = run_fleet(mode, RuleBasedNavigator(), 200, 0, robots=20)
    assert sum(incidents) == 0
    assert validate_trajectory(sim.floor.graph, traj, sim.floor.nodes) == []
    assert (traj[1:] != traj[:-1]).any()  # robots did move


def test_crossing_groups_report_every_opposite_pair():
    g = grid(["..."])
    a, b = (0, 0), (0, 1)
    out = validate_trajectory(g, [[a, a, b], [b, b, a]])
    swaps = [v.robots for v in out if v.kind == "swap"]
    assert swaps == [(0, 2), (1, 2)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(situations())
def test_agrees_with_the_core_on_random_joint_moves(case):
    """Conflicts in the intended move ⟺ the core counts incidents; executed moves are clean."""
    floor, pos, _mask, _prefs, actions, _since = case
    target = floor.nbr[pos, actions]
    res = resolve_physical(pos, target, floor.n_nodes)
    found = validate_trajectory(floor.graph, np.stack([pos, target]), floor.nodes)
    assert all(v.kind in ("vertex", "swap") for v in found)
    assert bool(found) == (res.incidents > 0)
    assert validate_trajectory(floor.graph, np.stack([pos, res.final]), floor.nodes) == []
