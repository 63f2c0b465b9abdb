"""The ``guided`` navigator's guide-path search (session 41): the bucket-queue A* gives the
paths of a plain binary-heap A* bit for bit, the opt-in weighted search keeps its bound, a robot
whose search failed searches again once it stands elsewhere, and a navigator handed a new
simulation plans afresh however Python numbers its objects."""

from __future__ import annotations

import heapq
import itertools
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, fails_cleanly
from test_guided import cells, expected_flow, hand_sim, plan, send

import agents.guided as guided_module
from agents.guided import GuidedNavigator
from agents.guided_paths import astar, reverse_moves, search_scratch, successors
from warehouse.floor import NodeKind

A, B = NodeKind.AISLE, NodeKind.BLOCKED


def reference_astar(
    start: int,
    row: np.ndarray,
    far: int,
    floor_nbr: np.ndarray,
    mopen: np.ndarray,
    closed: np.ndarray,
    flow: np.ndarray,
    vflow: np.ndarray,
    rev: np.ndarray,
    wv: float,
    wc: float,
    wh: float,
) -> tuple[list[int], list[int], float] | None:
    """The guide-path search as first written (a binary heap of ``(f, -g, node)``, lazy
    deletion, the same float operations in the same order): its path's nodes, the actions out
    of them (0 last) and its cost, or None."""
    if row[start] > far:
        return None
    gsc = {start: 0.0}
    par: dict[int, tuple[int, int]] = {start: (-1, -1)}
    done: set[int] = set()
    heap = [(wh * float(row[start]), -0.0, start)]
    while heap:
        _, neg_g, v = heapq.heappop(heap)
        g0 = -neg_g
        if v in done or g0 > gsc[v]:
            continue
        done.add(v)
        if row[v] == 0:
            nodes, acts = [v], [0]
            while par[v][0] >= 0:
                v, a = par[v]
                nodes.append(v)
                acts.append(a)
            return nodes[::-1], acts[::-1], gsc[nodes[0]]
        for a in range(1, floor_nbr.shape[1]):
            u = int(floor_nbr[v, a])
            if not mopen[v, a] or u == v or closed[u] or u in done or row[u] > far:
                continue
            cost = 1.0 + wv * int(vflow[u])
            b = int(rev[v, a])
            if b >= 0:
                cost += wc * (int(flow[v, a]) + 1) * int(flow[u, b])
            g = g0 + cost
            if g >= gsc.get(u, np.inf):
                continue
            gsc[u] = g
            par[u] = (v, a)
            heapq.heappush(heap, (g + wh * float(row[u]), -g, u))
    return None


def random_case(seed: int, directed: bool) -> tuple:
    """A random 9 × 11 floor (a fifth of it blocked), a few closed nodes, random flows."""
    rng = np.random.default_rng(seed)
    grid = np.where(rng.random((9, 11)) < 0.2, B, A).astype(np.int8)
    directions = {"row_directions": {1: 1, 5: -1}} if directed else {}
    sim = hand_sim(grid, 1, **directions)
    f = sim.floor
    closed = rng.choice(f.n_nodes, size=3, replace=False)
    sim.dist.set_closed(closed)
    flow = rng.integers(0, 6, size=(f.n_nodes, f.n_actions)).astype(np.int32)
    flow[:, 0] = 0
    vflow = flow.sum(axis=1).astype(np.int32)
    return sim, flow, vflow


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("wc", "wh", "ring"),
    [(1.0, 1.0, 1 << 14), (1.0, 1.0, 4), (40.0, 1.0, 2), (1.0, 1.7, 1 << 14), (25.0, 3.0, 8)],
)
def test_the_bucket_queue_search_finds_the_plain_heap_searchs_paths(
    seed: int, wc: float, wh: float, ring: int
) -> None:
    """Every start and goal of random floors with closures and random flows: the compiled
    search returns the reference's path bit for bit and its cost, also with a ring of a few
    buckets (entries wrap round it and wait in the overflow list: large contraflow weights put
    them far ahead) and with a weighted heuristic (entries at or below the current bucket)."""
    sim, flow, vflow = random_case(seed, directed=seed % 2 == 1)
    f, dist = sim.floor, sim.dist
    mopen = np.ascontiguousarray(dist.mask)
    rev = reverse_moves(f.nbr, mopen)
    succ = successors(f.nbr, mopen, dist.closed)
    scratch = list(search_scratch(f.n_nodes, f.n_actions))
    scratch[-1] = np.full(ring, -1, dtype=np.int32)
    scratch_t = tuple(scratch)
    out_nodes = np.empty(f.n_nodes, np.int32)
    out_acts = np.empty(f.n_nodes, np.int8)
    found = 0
    for goal in range(f.n_nodes):
        slot = int(dist.slots(np.array([goal]))[0])
        row, far = dist.table[slot], int(dist.far[slot])
        for start in range(f.n_nodes):
            want = reference_astar(
                start, row, far, f.nbr, mopen, dist.closed, flow, vflow, rev, 0.1, wc, wh
            )
            length = astar(
                start, goal, row, far, succ, dist.closed, flow, vflow, rev, 0.1, wc, wh,
                scratch_t, out_nodes, out_acts,
            )  # fmt: skip
            if want is None:
                assert length == -1, (goal, start)
                continue
            found += 1
            assert out_nodes[:length].tolist() == want[0], (goal, start)
            assert out_acts[:length].tolist() == want[1], (goal, start)
    assert found > f.n_nodes  # most pairs connect
    assert np.isinf(scratch[0]).all() and (scratch[1] == -1).all() and (scratch[3] == 0).all()
    assert (scratch[-1] == -1).all()  # the ring left empty


@pytest.mark.parametrize("wh", [1.5, 3.0])
def test_a_weighted_search_stays_within_its_bound(wh: float) -> None:
    """``suboptimality`` w > 1: every path costs at most w times the least cost (weighted A*
    without re-expansions); at w = 3 some cost more (the setting changes paths)."""
    worse = 0
    for seed in range(3):
        sim, flow, vflow = random_case(seed, directed=False)
        f, dist = sim.floor, sim.dist
        mopen = np.ascontiguousarray(dist.mask)
        rev = reverse_moves(f.nbr, mopen)
        succ = successors(f.nbr, mopen, dist.closed)
        scratch = search_scratch(f.n_nodes, f.n_actions)
        out_nodes = np.empty(f.n_nodes, np.int32)
        out_acts = np.empty(f.n_nodes, np.int8)
        for goal, start in itertools.product(range(0, f.n_nodes, 3), range(f.n_nodes)):
            slot = int(dist.slots(np.array([goal]))[0])
            row, far = dist.table[slot], int(dist.far[slot])
            best = reference_astar(
                start, row, far, f.nbr, mopen, dist.closed, flow, vflow, rev, 0.1, 1.0, 1.0
            )
            length = astar(
                start, goal, row, far, succ, dist.closed, flow, vflow, rev, 0.1, 1.0, wh,
                scratch, out_nodes, out_acts,
            )  # fmt: skip
            assert (best is None) == (length == -1)
            if best is None:
                continue
            cost = 0.0
            for j in range(length - 1):
                v, a = int(out_nodes[j]), int(out_acts[j])
                u = int(f.nbr[v, a])
                assert u == out_nodes[j + 1] and mopen[v, a] and not dist.closed[u]
                cost += 1.0 + 0.1 * int(vflow[u])
                if rev[v, a] >= 0:
                    cost += (int(flow[v, a]) + 1) * int(flow[u, rev[v, a]])
            assert out_nodes[length - 1] == goal
            assert cost <= wh * best[2] + 1e-9
            worse += cost > best[2] + 1e-9
    assert worse > 0 or wh < 3


def test_the_navigator_runs_a_weighted_search_and_refuses_a_weight_below_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = hand_sim(np.full((5, 9), A, np.int8), 2)
    send(sim, [(2, 0), (0, 8)], [(2, 8), (4, 0)])
    nav = GuidedNavigator(suboptimality=2.0)
    plan(nav, sim)
    assert cells(sim, nav.path(0))[-1] == (2, 8) and cells(sim, nav.path(1))[-1] == (4, 0)
    assert np.array_equal(nav.flow, expected_flow(nav, sim))
    with pytest.raises(ValueError, match="suboptimality"):
        GuidedNavigator(suboptimality=0.5)
    argv = ["run", str(TINY), "--policy", "guided", "--steps", "5", "--out", str(tmp_path / "o")]
    line = fails_cleanly(
        [*argv, "--set", "policies.navigator_args.guided.suboptimality=0.9"], tmp_path, capsys, ""
    )
    assert "policies.navigator_args.guided" in line and "suboptimality" in line and "≥ 1" in line


#: one row of ten cells
LINE = np.full((1, 10), A, np.int8)


def test_a_robot_whose_search_failed_searches_again_once_it_stands_elsewhere() -> None:
    """A robot deep inside closed cells: its search cannot leave them and fails (it drives out
    on the plain distances). Standing there it does not search again (the outcome would be the
    same); once it has stepped out it gets a guide path, its target unchanged."""
    sim = hand_sim(LINE, 1)
    send(sim, [(0, 1)], [(0, 8)])
    c = sim.floor.cell_of
    sim.dist.set_closed(np.array([c[0, k] for k in range(4)]))  # cells 0..3 closed
    nav = GuidedNavigator()
    plan(nav, sim)
    assert nav.path(0).size == 0
    assert nav.stats["searches"] == 1 and nav.stats["unreachable"] == 1
    plan(nav, sim)  # still there: no search
    assert nav.stats["searches"] == 1
    sim.state.pos[0] = c[0, 2]  # a move out, still inside
    sim.state_changed()
    plan(nav, sim)
    assert nav.path(0).size == 0 and nav.stats["unreachable"] == 2
    sim.state.pos[0] = c[0, 3]  # the closed cell at the edge: out onto cell 4 from here
    sim.state_changed()
    actions, _ = plan(nav, sim)
    assert cells(sim, nav.path(0)) == [(0, k) for k in range(3, 9)]
    assert sim.floor.nbr[c[0, 3], actions[0]] == c[0, 4]
    assert nav.stats["searches"] == 3 and nav.stats["unreachable"] == 2
    assert np.array_equal(nav.flow, expected_flow(nav, sim))


def test_a_robot_whose_search_failed_gets_a_path_when_the_closures_lift() -> None:
    sim = hand_sim(LINE, 1)
    send(sim, [(0, 1)], [(0, 8)])
    c = sim.floor.cell_of
    sim.dist.set_closed(np.array([c[0, k] for k in range(4)]))
    nav = GuidedNavigator()
    plan(nav, sim)
    assert nav.path(0).size == 0
    sim.dist.set_closed(np.array([], dtype=np.int64))
    plan(nav, sim)
    assert nav.stats["refreshes"] == 1
    assert cells(sim, nav.path(0)) == [(0, k) for k in range(1, 9)]


def test_a_new_simulation_is_planned_afresh_even_where_ids_repeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The navigator keyed its arrays on ``id()`` of the floor and the distance cache; a freed
    object's id can be given to a new one. Here every id is the same (as if reused): a new
    simulation on another floor of as many nodes must still get paths of its own floor."""
    monkeypatch.setattr(guided_module, "id", lambda obj: 7, raising=False)
    two = np.array([[A] * 7, [A] + [B] * 5 + [A], [A] * 7], np.int8)  # 16 nodes
    first = hand_sim(two, 1)
    send(first, [(2, 0)], [(0, 0)])
    nav = GuidedNavigator()
    plan(nav, first)
    assert cells(first, nav.path(0)) == [(2, 0), (1, 0), (0, 0)]
    second = hand_sim(np.full((2, 8), A, np.int8), 1)  # 16 nodes, other moves
    assert second.floor.n_nodes == first.floor.n_nodes
    f = second.floor
    send(second, [(1, 1)], [(0, 0)])
    plan(nav, second)
    path = nav.path(0)
    assert cells(second, path)[0] == (1, 1) and cells(second, path)[-1] == (0, 0)
    assert len(path) == 3  # a shortest way on this floor
    for v, u in itertools.pairwise(path):
        assert ((f.nbr[v] == u) & f.mask[v]).any()
    assert np.array_equal(nav.flow, expected_flow(nav, second))
