"""Audit of the collision shields (``block``, ``pibt``, ``pibt_swap``) and the physics that
executes what they return: the movement rules on hand-built floors (grids and waypoint graphs,
one-way aisles, closures, breakdowns, robots at work, transit nodes of long edges, full floors),
PIBT's priority and inheritance rules, minimal intervention and the intervention count,
determinism, and a seeded random property test through the real simulation step."""

from __future__ import annotations

import random
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest

from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.physics import resolve_block, resolve_physical
from warehouse.errors import InputError, PartError
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.transit import split_long_edges
from warehouse.shield import make_shield
from warehouse.shield.pibt import priorities

WAIT, N, E, S, W = range(5)
SHIELDS = ("block", "pibt", "pibt_swap", "pibt_lacam")


# ---------------------------------------------------------------- helpers (as in test_pibt.py)
KIND = {".": NodeKind.AISLE, "#": NodeKind.BLOCKED, "p": NodeKind.PICK, "S": NodeKind.STATION}


def grid_floor(rows: list[str], row_dirs=None, col_dirs=None):
    """``.`` aisle, ``#`` blocked, ``p`` pick, ``S`` station; optional one-way rows/columns
    (``graph_from_grid``). A simulation needs a pick and a station on its floor."""
    kinds = np.array([[KIND[ch] for ch in r] for r in rows], np.int8)
    return compile_floor(graph_from_grid(kinds, row_directions=row_dirs, col_directions=col_dirs))


def at(floor, r, c) -> int:
    return int(floor.cell_of[r, c])


def fake_sim(floor, pos, since_goal=None):
    """The parts of a Simulation the shields read: robots without a target (so no stall
    rescue and no swap; preferences are given)."""
    pos = np.asarray(pos, dtype=np.int32)
    n = pos.size
    target = np.full(n, -1, np.int32)
    state = SimpleNamespace(
        pos=pos,
        since_goal=np.zeros(n, np.int32) if since_goal is None else np.asarray(since_goal),
        target=target,
        since_progress=np.zeros(n, np.int32),
    )
    return SimpleNamespace(
        floor=floor,
        state=state,
        dist=SimpleNamespace(table=np.zeros((1, floor.n_nodes), np.uint16)),
        target_slots=lambda: (target, np.full(n, -1, np.int64)),
        closures_possible=False,  # (a floor without scheduled or random closures)
    )


def prefs_from(floor, ranking: list[list[int]]) -> np.ndarray:
    """Preference scores from explicit rankings (first = best); unlisted actions ``-inf``."""
    prefs = np.full((len(ranking), floor.n_actions), -np.inf, dtype=np.float32)
    for i, order in enumerate(ranking):
        for rank, a in enumerate(order):
            prefs[i, a] = -rank
    return prefs


def assert_safe(floor, pos, out, mask=None) -> None:
    """No robot on a node with another, no two robots over one edge in opposite directions,
    every move along an edge of the floor (and allowed by ``mask``)."""
    pos = np.asarray(pos)
    out = np.asarray(out)
    end = floor.nbr[pos, out]
    if mask is not None:
        assert mask[np.arange(pos.size), out].all(), "a masked action was returned"
    assert np.unique(end).size == end.size, "vertex conflict"
    for i in np.flatnonzero(end != pos):
        assert floor.graph.has_edge(floor.nodes[pos[i]], floor.nodes[end[i]]), "missing edge"
        j = np.flatnonzero(pos == end[i])
        assert not (j.size and end[j[0]] == pos[i]), "swap conflict"
    res = resolve_physical(pos, end, floor.n_nodes)
    assert not res.failed.any() and res.incidents == 0


def run_shield(mode: str, floor, pos, actions, prefs=None, mask=None, since_goal=None):
    """Call a fresh shield of ``mode`` as the simulation does (``block`` needs no mask)."""
    mask = floor.mask[np.asarray(pos)] if mask is None else mask
    sim = fake_sim(floor, pos, since_goal=since_goal)
    if prefs is None:  # the proposal first, then the other allowed actions by index
        prefs = np.where(mask, 0.0, -np.inf)
    shield = make_shield(mode)
    return np.asarray(shield(sim, np.asarray(actions, np.int64), prefs, mask))


def sim_on(floor, robots: int, mode: str, **faults) -> Simulation:
    """A simulation on ``floor`` with no order arrivals, reset at seed 0."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(collisions=mode),
        faults=FaultsConfig.model_validate(faults),
    )
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    return sim


def place(sim: Simulation, *nodes: int) -> None:
    sim.state.pos[:] = nodes
    sim.state_changed()


# ---------------------------------------------------------------- the movement rules
def test_physics_allows_following_and_rotations_but_not_a_train_behind_a_stayer():
    """physics docstring: a robot may enter the node another is leaving, unless that robot
    ends up staying; a rotating cycle of three all move; swaps fail."""
    pos = np.array([0, 1, 2])
    res = resolve_physical(pos, np.array([1, 2, 3]), 4)  # a train into a free node
    assert not res.failed.any() and res.incidents == 0
    res = resolve_physical(pos, np.array([1, 2, 2]), 4)  # the head stays: the train fails
    assert res.failed.tolist() == [True, True, False] and res.final.tolist() == [0, 1, 2]
    res = resolve_physical(pos, np.array([1, 2, 0]), 3)  # a rotation
    assert not res.failed.any() and res.final.tolist() == [1, 2, 0]
    res = resolve_physical(np.array([0, 1]), np.array([1, 0]), 2)  # a swap
    assert res.failed.all() and res.incidents == 1


@pytest.mark.parametrize("mode", SHIELDS)
def test_every_shield_passes_a_following_train_and_a_rotation_unchanged(mode):
    """What the physics executes without conflict (a train, a rotating cycle) is what each
    shield returns: they agree with the physics on following."""
    f = grid_floor(["....."])
    pos = [at(f, 0, c) for c in range(4)]
    out = run_shield(mode, f, pos, [E, E, E, E])
    assert out.tolist() == [E, E, E, E]
    ring = grid_floor(["..", ".."])
    pos = [at(ring, 0, 0), at(ring, 0, 1), at(ring, 1, 1), at(ring, 1, 0)]
    out = run_shield(mode, ring, pos, [E, S, W, N])
    assert out.tolist() == [E, S, W, N]
    assert_safe(ring, pos, out)


@pytest.mark.parametrize("mode", SHIELDS)
def test_every_shield_stops_a_train_behind_a_robot_that_stays(mode):
    f = grid_floor(["...."])
    pos = [at(f, 0, c) for c in range(3)]
    mask = f.mask[np.asarray(pos)].copy()
    mask[2, 1:] = False  # the head is broken down
    out = run_shield(mode, f, pos, [E, E, WAIT], mask=mask)
    assert out[2] == WAIT and out[1] != E
    assert_safe(f, pos, out, mask)


def test_block_lets_the_lowest_id_into_a_contested_node_and_stops_both_swappers():
    f = grid_floor(["..."])
    pos = [at(f, 0, 0), at(f, 0, 2)]
    assert run_shield("block", f, pos, [E, W]).tolist() == [E, WAIT]
    assert run_shield("block", f, pos[::-1], [W, E]).tolist() == [W, WAIT]
    pos = [at(f, 0, 0), at(f, 0, 1)]
    assert run_shield("block", f, pos, [E, W]).tolist() == [WAIT, WAIT]
    stop = resolve_block(np.array([0, 1]), np.array([1, 0]), 2)
    assert stop.tolist() == [True, True]


# ---------------------------------------------------------------- PIBT's rules
def test_pibt_priority_is_time_since_goal_with_a_fixed_tie_break_and_idle_last():
    state = SimpleNamespace(
        pos=np.arange(4), since_goal=np.array([3, 3, 0, 50]), target=np.array([1, 1, 1, -1])
    )
    prio = priorities(state)
    assert prio[0] != prio[1] and int(prio[0]) == int(prio[1]) == 3  # ties broken by id hash
    assert prio[2] < prio[0] and prio[3] < prio[2]  # idle robots rank below all others
    np.testing.assert_array_equal(priorities(state), prio)  # no randomness


def test_a_pushed_robot_with_nowhere_to_go_makes_the_pusher_backtrack():
    """Robot 0 (high priority) prefers E into robot 1, which sits in a dead end (the way on is
    blocked, its only other neighbour is robot 0's node): robot 1 cannot be pushed, so robot 0
    falls back on its next candidate (S) and robot 1 keeps waiting."""
    f = grid_floor(["..#", ".##"])
    a, b = at(f, 0, 0), at(f, 0, 1)
    prefs = prefs_from(f, [[E, S, WAIT], [WAIT, W]])
    for mode in ("pibt", "pibt_swap"):
        out = run_shield(mode, f, [a, b], [E, WAIT], prefs=prefs, since_goal=[9, 0])
        # robot 1 may not take W (a swap with its pusher): it stays, robot 0 goes south
        assert out.tolist() == [S, WAIT], mode


def test_a_robot_that_may_only_wait_is_never_pushed_in_the_simulation():
    """A broken-down robot and a robot picking at a shelf are frozen: a higher-priority robot
    that wants their node waits (all three shields), and nothing is counted as a collision."""
    f = grid_floor(["p...S"])
    for why in ("broken", "picking"):
        for mode in SHIELDS:
            sim = sim_on(f, 2, mode)
            place(sim, at(f, 0, 1), at(f, 0, 2))
            s = sim.state
            if why == "broken":
                s.broken[1] = 5
            else:
                s.phase[1], s.timer[1], s.task_goal[1] = Phase.PICKING, 5, at(f, 0, 2)
            s.since_goal[:] = [99, 0]
            sim.state_changed()
            prefs = prefs_from(f, [[E, WAIT, W], [WAIT]])  # robot 0: E, else WAIT, else W
            res = sim.step(np.array([E, WAIT]), prefs)
            assert res.actions.tolist() == [WAIT, WAIT], (why, mode)
            assert s.pos.tolist() == [at(f, 0, 1), at(f, 0, 2)], (why, mode)
            assert res.intervened.tolist() == [True, False] and res.incidents == 0


def test_a_waiting_robot_is_not_pushed_by_a_lower_priority_one():
    f = grid_floor(["...."])
    pos = [at(f, 0, 0), at(f, 0, 1)]
    prefs = prefs_from(f, [[E, WAIT], [WAIT, E, W]])
    for mode in ("pibt", "pibt_swap"):
        out = run_shield(mode, f, pos, [E, WAIT], prefs=prefs, since_goal=[1, 9])
        assert out.tolist() == [WAIT, WAIT], mode
        out = run_shield(mode, f, pos, [E, WAIT], prefs=prefs, since_goal=[9, 1])
        assert out.tolist() == [E, E], mode  # pushed on by the higher-priority robot


def test_a_pushed_robot_on_a_one_way_aisle_never_moves_against_it():
    """Row 0 runs east, row 1 west (the columns two-way). Robot 1, pushed by robot 0 from the
    west, prefers W (masked: against the aisle) and goes on east; with its ways on (E, S) held
    by broken robots it cannot be pushed, so robot 0 falls back on WAIT, its next candidate."""
    f = grid_floor(["....", "...."], row_dirs={0: 1, 1: -1})
    a, b, c, d = at(f, 0, 0), at(f, 0, 1), at(f, 0, 2), at(f, 1, 1)
    assert not f.mask[b, W]
    prefs = prefs_from(f, [[E, WAIT, S], [WAIT, W, E, S], [WAIT]])
    for mode in ("pibt", "pibt_swap"):
        out = run_shield(mode, f, [a, b, d], [E, WAIT, WAIT], prefs=prefs, since_goal=[9, 0, 0])
        assert out.tolist() == [E, E, WAIT], mode
        pos = [a, b, c, d]
        mask = f.mask[np.asarray(pos)].copy()
        mask[2:, 1:] = False
        prefs4 = prefs_from(f, [[E, WAIT, S], [WAIT, W, E, S], [WAIT], [WAIT]])
        out = run_shield(mode, f, pos, [E, WAIT, WAIT, WAIT], prefs4, mask, [9, 0, 0, 0])
        assert out.tolist() == [WAIT, WAIT, WAIT, WAIT], mode
        assert_safe(f, pos, out, mask)


# ---------------------------------------------------------------- the step and the shields
@pytest.mark.parametrize("answer", ["out_of_range", "masked"])
def test_a_nameless_shield_that_breaks_the_move_rule_is_a_one_line_error(answer):
    """Regression: the step named a faulty shield by ``shield.name``, so a bare function (which
    ``_shield_actions`` accepts, naming it by its repr) crashed with AttributeError instead of
    the one-line PartError (warehouse.shield.bench_pibt installs such a function)."""
    f = grid_floor(["..S", "p.."])
    sim = sim_on(f, 1, "physical")
    place(sim, at(f, 0, 0))
    bad = 99 if answer == "out_of_range" else N  # N leads off the floor
    sim.shield = lambda s, a, p, m: np.full_like(a, bad)  # type: ignore[assignment]
    with pytest.raises(PartError, match="shield"):
        sim.step(np.array([WAIT]))
    assert sim.state.pos.tolist() == [at(f, 0, 0)] and sim.t == 0


def test_a_shield_that_edits_the_actions_in_place_is_followed():
    """Regression: the step handed the shield its own array of actions and then compared the
    shield's answer with that array: a shield that wrote its changes into it and returned it
    (``actions[stop] = 0; return actions``) was seen as changing nothing, so the robots moved
    to the nodes of the proposal (colliding), ``result.actions`` said WAIT, no intervention was
    counted and the metres driven were lost."""
    f = grid_floor(["....", "p..S"])

    class InPlace:
        name, needs_mask = "in_place", False

        def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
            actions[:] = WAIT
            return actions

    sim = sim_on(f, 2, "physical")
    place(sim, at(f, 0, 0), at(f, 0, 2))
    sim.shield = InPlace()  # type: ignore[assignment]
    res = sim.step(np.array([E, W]))  # both into (0, 1): the shield stops them
    assert sim.state.pos.tolist() == [at(f, 0, 0), at(f, 0, 2)]
    assert res.actions.tolist() == [WAIT, WAIT] and res.intervened.all()
    assert res.incidents == 0 and sim.state.interventions.tolist() == [1, 1]
    assert float(sim.state.distance_m.sum()) == 0.0


@pytest.mark.parametrize("mode", SHIELDS)
def test_interventions_count_exactly_the_changed_actions(mode):
    """Two robots contest a node, a third moves freely, a fourth's move is masked (refused
    before the shield: not an intervention)."""
    f = grid_floor([".....", ".....", "p...S"])
    sim = sim_on(f, 4, mode)
    place(sim, at(f, 0, 0), at(f, 0, 2), at(f, 1, 4), at(f, 2, 1))
    prefs = prefs_from(f, [[E, WAIT], [W, WAIT], [W, WAIT], [WAIT]])
    res = sim.step(np.array([E, W, W, S]), prefs)  # robot 3's S leads off the floor
    assert res.refused.tolist() == [False, False, False, True]
    changed = res.actions != np.array([E, W, W, WAIT])
    assert changed.sum() == 1 and changed[:2].any()
    assert (res.intervened == changed).all() and res.incidents == 0
    assert (sim.state.interventions == changed).all()


# ---------------------------------------------------------------- transit nodes, full floors
def _long_corridor():
    """Two junction triangles joined by a 4 m two-way edge: at 1 m per step a chain through
    three transit nodes."""
    g = nx.Graph(name="long", format="json")
    for name, pos, kind in [
        ("a", (0, 0), "station"), ("b", (1, 0), "aisle"), ("c", (0, 1), "aisle"),
        ("d", (5, 0), "aisle"), ("e", (6, 0), "pick"), ("f", (5, 1), "aisle"),
    ]:  # fmt: skip
        g.add_node(name, pos=pos, kind=kind)
    g.add_edges_from([("a", "b"), ("b", "c"), ("c", "a"), ("d", "e"), ("e", "f"), ("f", "d")])
    g.add_edge("b", "d", length=4.0)
    return compile_floor(split_long_edges(g, 1.0, 1.0))


@pytest.mark.parametrize("mode", SHIELDS)
def test_head_on_inside_a_chain_of_transit_nodes_is_never_a_collision(mode):
    f = _long_corridor()
    chain = np.flatnonzero(f.transit)
    assert chain.size == 3
    sim = sim_on(f, 2, mode)
    b, d = f.index_of("b"), f.index_of("d")
    place(sim, int(chain[0]), int(chain[2]))  # facing each other, one free node between
    dist = {v: nx.shortest_path_length(f.graph, f.nodes[v]) for v in (b, d)}
    goal = [d, b]
    for _ in range(12):
        pos = sim.state.pos.copy()
        acts = []
        for i in range(2):  # each drives straight at the other's end
            near = [dist[goal[i]][f.nodes[f.nbr[pos[i], a]]] for a in range(f.n_actions)]
            near = np.where(f.mask[pos[i]], near, np.inf)
            acts.append(int(np.argmin(near)))
        res = sim.step(np.array(acts))
        assert res.incidents == 0 and not res.collided.any()
        assert_safe(f, pos, res.actions, None)


@pytest.mark.parametrize("mode", SHIELDS)
def test_a_floor_filled_but_for_one_node_moves_without_collision(mode):
    """Every node but one taken: random proposals for 60 steps, never an incident."""
    f = grid_floor(["p...", ".#..", "...S"])
    sim = sim_on(f, f.n_nodes - 1, mode)
    rng = np.random.default_rng(3)
    moved = 0
    for _ in range(60):
        pos = sim.state.pos.copy()
        res = sim.step(rng.integers(0, f.n_actions, sim.n_robots))
        moved += int((sim.state.pos != pos).sum())
        assert res.incidents == 0
        assert_safe(f, pos, res.actions, None)
    assert moved > 0


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("mode", SHIELDS)
def test_shields_are_deterministic_and_draw_from_no_global_rng(mode):
    rng = np.random.default_rng(5)
    f = grid_floor(["......", ".#..#.", "......"])
    n = 10
    pos = rng.permutation(f.n_nodes)[:n]
    mask = f.mask[pos]
    for _ in range(30):
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
        prefs = np.where(mask, rng.normal(size=mask.shape), -np.inf)
        np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
        first = run_shield(mode, f, pos, acts, prefs=prefs, mask=mask, since_goal=np.zeros(n))
        again = run_shield(mode, f, pos, acts, prefs=prefs, mask=mask, since_goal=np.zeros(n))
        np.testing.assert_array_equal(first, again)
        after = np.random.get_state()  # noqa: NPY002 (the global state, read only)
        assert all(np.array_equal(x, y) for x, y in zip(np_state, after, strict=True))
        assert random.getstate() == py_state


# ---------------------------------------------------------------- random property test
def _random_floor(rng: np.random.Generator):
    """A small grid with blocked cells and one-way rows/columns, or a waypoint graph with
    one-way edges (some long: split into transit chains)."""
    while True:
        try:
            if rng.random() < 0.6:
                h, w = int(rng.integers(1, 5)), int(rng.integers(2, 6))
                kinds = np.where(rng.random((h, w)) < 0.25, NodeKind.BLOCKED, NodeKind.AISLE)
                first, second = rng.permutation(h * w)[:2]
                kinds.flat[first], kinds.flat[second] = NodeKind.PICK, NodeKind.STATION
                pick = [0, 0, 1, -1]
                rows = {r: d for r in range(h) if (d := pick[rng.integers(4)])}
                cols = {c: d for c in range(w) if (d := pick[rng.integers(4)])}
                f = compile_floor(graph_from_grid(kinds, row_directions=rows, col_directions=cols))
            else:
                n = int(rng.integers(3, 9))
                cells = rng.permutation(49)[:n]
                g = nx.DiGraph(name="random", format="json")
                for i in range(n):
                    kind = ["pick", "station"][i] if i < 2 else "aisle"
                    g.add_node(i, pos=(int(cells[i] // 7), int(cells[i] % 7)), kind=kind)
                cycle = rng.permutation(n)
                for a, b in zip(cycle, np.roll(cycle, -1), strict=True):
                    g.add_edge(int(a), int(b), length=float(rng.choice([1.0, 1.0, 2.5])))
                for _ in range(n):
                    a, b = (int(x) for x in rng.integers(0, n, 2))
                    if a != b:
                        g.add_edge(a, b, length=1.0)
                f = compile_floor(split_long_edges(g, 1.0, 1.0))
        except InputError:
            continue
        if f.n_nodes >= 2 and f.picks.size and f.stations.size:
            return f


@pytest.mark.parametrize("mode", SHIELDS)
def test_random_joint_actions_through_shield_and_physics_stay_conflict_free(mode):
    """300 random joint actions (5 steps on each of 60 random floors with random fleets, full
    ones included; on grids random breakdowns, cell closures and a scheduled edge closure):
    after the shield and the physics no two robots share a node, none swap over an edge, and
    every move is along an open edge of the floor, never into a closed cell."""
    rng = np.random.default_rng(2024)
    checked = changed = 0
    for _case in range(60):
        f = _random_floor(rng)
        faults = {}
        if f.is_grid and rng.random() < 0.5:
            faults = {"closure_prob": 0.2, "closure_steps": 3, "breakdown_prob": 0.1}
            src, dst = f.moves()
            if src.size and rng.random() < 0.5:  # and a scheduled closure of one edge
                e = int(rng.integers(src.size))
                ends = [[int(x) for x in f.pos[v]] for v in (src[e], dst[e])]
                faults["closures"] = [{"edges": [ends], "start_s": 0.0, "end_s": 3.0}]
        starts = int(f.start_ok.sum())  # (a full floor: every start cell taken, now and then)
        robots = starts if rng.random() < 0.3 else int(rng.integers(1, starts + 1))
        try:
            sim = sim_on(f, robots, mode, **faults)
        except (InputError, ValueError):
            continue
        graph = f.graph
        for _ in range(5):
            pos = sim.state.pos.copy()
            mask, open_moves = sim.action_mask(), sim.dist.mask.copy()
            closed = sim.closed_until > sim.t
            acts = rng.integers(0, f.n_actions, sim.n_robots)
            res = sim.step(acts)
            end = sim.state.pos
            assert np.unique(end).size == end.size, "two robots on one node"
            start_of = {int(p): i for i, p in enumerate(pos)}
            for i in np.flatnonzero(end != pos):
                a = int(res.actions[i])
                assert graph.has_edge(f.nodes[pos[i]], f.nodes[end[i]]), "missing edge"
                assert mask[i, a] and open_moves[pos[i], a], "closed edge or masked move"
                assert not closed[end[i]], "entered a closed cell"
                j = start_of.get(int(end[i]))
                assert j is None or end[j] != pos[i], "two robots swapped over an edge"
            assert res.incidents == 0 and not res.collided.any()
            checked += 1
            changed += int(res.intervened.sum())
    assert checked >= 250 and changed > 0
