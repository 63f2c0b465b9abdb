"""Movement rules on hand-placed robots: conflicts, following, cycles, one-way edges, masks.

Floors are tiny grids; robots are placed by writing ``sim.state.pos`` after ``reset``. Actions:
0 wait, 1 north, 2 east, 3 south, 4 west.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation, resolve_block, resolve_physical
from warehouse.core.physics import PhysicsScratch
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

W, N, E, S, WEST = 0, 1, 2, 3, 4


def make_sim(rows: list[str], robots: int, mode: str, **grid_kw) -> Simulation:
    """``rows``: ``.`` aisle, ``#`` blocked, ``p`` pick, ``S`` station. No orders arrive."""
    codes = {".": NodeKind.AISLE, "#": NodeKind.BLOCKED, "p": NodeKind.PICK, "S": NodeKind.STATION}
    kinds = np.array([[codes[ch] for ch in row] for row in rows], dtype=np.int8)
    floor = compile_floor(graph_from_grid(kinds, **grid_kw))
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(collisions=mode),
    )
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    return sim


def place(sim: Simulation, cells: list[tuple[int, int]]) -> None:
    sim.state.pos = np.array([sim.floor.cell_of[r, c] for r, c in cells], dtype=np.int32)


def cells(sim: Simulation) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in sim.floor.pos[v]) for v in sim.state.pos]


OPEN3 = ["...", "...", "..p", "S.."]  # 4x3 open floor (the pick and station are never used)


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_vertex_conflict(mode):
    sim = make_sim(OPEN3, 2, mode)
    place(sim, [(1, 0), (1, 2)])
    res = sim.step(np.array([E, WEST]))
    if mode == "physical":
        assert cells(sim) == [(1, 0), (1, 2)]
        assert res.incidents == 1 and sim.incidents == 1
        assert res.collided.tolist() == [True, True]
        assert sim.state.collisions.tolist() == [1, 1]
        assert res.reward.tolist() == [-50.0, -50.0] and res.cost.tolist() == [1.0, 1.0]
    else:  # lowest id wins, the other waits
        assert cells(sim) == [(1, 1), (1, 2)]
        assert res.incidents == 0 and sim.state.collisions.sum() == 0
        assert res.intervened.tolist() == [False, True]
        assert res.actions.tolist() == [E, W]
        assert sim.state.interventions.tolist() == [0, 1]


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_swap_conflict(mode):
    sim = make_sim(OPEN3, 2, mode)
    place(sim, [(1, 0), (1, 1)])
    res = sim.step(np.array([E, WEST]))
    assert cells(sim) == [(1, 0), (1, 1)]
    if mode == "physical":
        assert res.incidents == 1 and res.collided.all()
    else:  # swaps: both wait
        assert res.incidents == 0 and not res.collided.any()
        assert res.intervened.all() and res.actions.tolist() == [W, W]


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_train_of_followers_all_move(mode):
    sim = make_sim(["......", "S....p"], 4, mode)
    place(sim, [(0, 3), (0, 2), (0, 1), (0, 0)])
    res = sim.step(np.full(4, E))
    assert cells(sim) == [(0, 4), (0, 3), (0, 2), (0, 1)]
    assert res.incidents == 0 and not res.collided.any() and not res.intervened.any()
    assert res.moved_m.tolist() == [1.0] * 4
    assert sim.state.moves.tolist() == [1] * 4


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_entering_a_node_that_is_being_left(mode):
    sim = make_sim(OPEN3, 2, mode)
    place(sim, [(1, 0), (1, 1)])
    sim.step(np.array([E, N]))  # robot 1 leaves north, robot 0 takes its node
    assert cells(sim) == [(1, 1), (0, 1)]
    assert sim.incidents == 0 and sim.state.interventions.sum() == 0


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_entering_a_node_whose_robot_stays(mode):
    sim = make_sim(OPEN3, 2, mode)
    place(sim, [(1, 0), (1, 1)])
    res = sim.step(np.array([E, W]))
    assert cells(sim) == [(1, 0), (1, 1)]
    if mode == "physical":
        assert res.incidents == 1 and res.collided.tolist() == [True, False]
    else:
        assert res.incidents == 0 and res.intervened.tolist() == [True, False]


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_cycle_of_four_rotates(mode):
    sim = make_sim(["..", "..", "p.", "S."], 4, mode)
    place(sim, [(0, 0), (0, 1), (1, 1), (1, 0)])
    res = sim.step(np.array([E, S, WEST, N]))  # clockwise around the 2x2 block of cells
    assert cells(sim) == [(0, 1), (1, 1), (1, 0), (0, 0)]
    assert res.incidents == 0 and not res.collided.any() and not res.intervened.any()


def test_block_priority_cascades_back_along_a_train():
    """Robot 0 wins the junction; the train behind robot 3 waits, nobody collides."""
    sim = make_sim(["...#.", ".....", "S#p#."], 4, "block")
    place(sim, [(0, 4), (1, 1), (1, 2), (1, 3)])
    # Robot 0 comes down into (1, 4); the train 3 ← 2 ← 1 wants to move east into it.
    res = sim.step(np.array([S, E, E, E]))
    assert cells(sim) == [(1, 4), (1, 1), (1, 2), (1, 3)]
    assert res.intervened.tolist() == [False, True, True, True]
    assert res.incidents == 0 and sim.state.collisions.sum() == 0


def test_physical_cascade_counts_every_clash():
    sim = make_sim(["...#.", ".....", "S#p#."], 4, "physical")
    place(sim, [(0, 4), (1, 1), (1, 2), (1, 3)])
    res = sim.step(np.array([S, E, E, E]))
    assert cells(sim) == [(0, 4), (1, 1), (1, 2), (1, 3)]
    # (1,4) entered by two robots, then (1,3) and (1,2) entered while their robots stayed.
    assert res.incidents == 3 and res.collided.all()


def test_one_way_edges_are_respected():
    sim = make_sim(["....", "S..p"], 1, "block", row_directions={0: 1})  # row 0 eastbound
    place(sim, [(0, 1)])
    mask = sim.action_mask()
    assert mask[0].tolist() == [True, False, True, True, False]  # no west on row 0
    res = sim.step(np.array([WEST]))
    assert cells(sim) == [(0, 1)] and res.actions.tolist() == [W]
    assert not res.intervened.any()  # masked actions are refused, not shielded
    sim.step(np.array([E]))
    assert cells(sim) == [(0, 2)]


@pytest.mark.parametrize("mode", ["physical", "block"])
def test_masked_moves_are_refused(mode):
    sim = make_sim([".#.", "...", "S.p"], 2, mode)
    place(sim, [(0, 0), (1, 1)])
    assert sim.action_mask()[0].tolist() == [True, False, False, True, False]
    res = sim.step(np.array([E, N]))  # into a shelf; into a shelf
    assert cells(sim) == [(0, 0), (1, 1)]
    assert res.actions.tolist() == [W, W] and res.incidents == 0
    res = sim.step(np.array([7, -1]))  # out-of-range actions are waits too
    assert cells(sim) == [(0, 0), (1, 1)] and res.actions.tolist() == [W, W]


def test_moved_metres_follow_cell_size():
    sim = make_sim(OPEN3, 1, "block", cell_size=1.5)
    place(sim, [(0, 0)])
    res = sim.step(np.array([S]))
    assert res.moved_m.tolist() == [1.5] and sim.state.distance_m.tolist() == [1.5]
    assert res.reward.tolist() == [-1.5]


# ----------------------------------------------------------------- the kernels vs a reference
def _swaps(pos, target, n_nodes):
    occupant = np.full(n_nodes, -1)
    occupant[pos] = np.arange(pos.size)
    other = occupant[target]
    idx = np.flatnonzero((target != pos) & (other >= 0))
    swap = np.zeros(pos.size, dtype=bool)
    swap[idx] = target[other[idx]] == pos[idx]
    return swap


def reference_physical(pos, target, n_nodes):
    """The rules of warehouse.core.physics as a plain fixed-point iteration."""
    failed = _swaps(pos, target, n_nodes)
    incidents = int(failed.sum()) // 2
    contested = np.zeros(n_nodes, dtype=bool)
    while True:
        final = np.where(failed, pos, target)
        count = np.bincount(final, minlength=n_nodes)
        clash = (count[final] > 1) & (final != pos)
        if not clash.any():
            return final, failed, incidents + int(contested.sum())
        contested[final[clash]] = True
        failed |= clash


def reference_block(pos, target, n_nodes):
    stop = _swaps(pos, target, n_nodes)
    ids = np.arange(pos.size)
    while True:
        final = np.where(stop, pos, target)
        movers = final != pos
        count = np.bincount(final, minlength=n_nodes)
        clash = movers & (count[final] > 1)
        if not clash.any():
            return stop
        stayer_at = np.zeros(n_nodes, dtype=bool)
        stayer_at[final[~movers]] = True
        winner = np.full(n_nodes, pos.size)
        np.minimum.at(winner, final[clash], ids[clash])
        stop |= clash & (stayer_at[final] | (winner[final] != ids))


_FLOOR = compile_floor(graph_from_grid(np.array([[0] * 5] * 5, dtype=np.int8)))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_kernels_match_the_reference_rules(data):
    n = data.draw(st.integers(1, 20))
    pos = np.array(
        data.draw(st.lists(st.integers(0, 24), min_size=n, max_size=n, unique=True)), np.int32
    )
    actions = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    target = _FLOOR.nbr[pos, actions]
    final, failed, incidents = reference_physical(pos, target, _FLOOR.n_nodes)
    res = resolve_physical(pos, target, _FLOOR.n_nodes)
    assert res.final.tolist() == final.tolist()
    assert res.failed.tolist() == failed.tolist()
    assert res.incidents == incidents
    stop = resolve_block(pos, target, _FLOOR.n_nodes)
    assert stop.tolist() == reference_block(pos, target, _FLOOR.n_nodes).tolist()
    # The block shield's output is conflict-free.
    after = resolve_physical(pos, np.where(stop, pos, target), _FLOOR.n_nodes)
    assert not after.failed.any() and after.incidents == 0


_SCRATCH = PhysicsScratch(_FLOOR.n_nodes, 20)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_reused_physics_scratch_matches_and_is_left_clean(data):
    """The simulation's allocation-free resolver gives the reference result on one scratch
    reused across many joint moves, and leaves every scratch entry as it found it."""
    n = data.draw(st.integers(1, 20))
    pos = np.array(
        data.draw(st.lists(st.integers(0, 24), min_size=n, max_size=n, unique=True)), np.int32
    )
    actions = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    target = np.ascontiguousarray(_FLOOR.nbr[pos, actions], dtype=np.int32)
    final, failed, incidents = reference_physical(pos, target, _FLOOR.n_nodes)
    res = _SCRATCH.resolve(pos, target)
    assert res.final.tolist() == final.tolist()
    assert res.failed.tolist() == failed.tolist()
    assert res.incidents == incidents
    assert (_SCRATCH.occ == -1).all() and (_SCRATCH.head == -1).all()
    assert (_SCRATCH.count == 0).all() and not _SCRATCH.contested.any()
