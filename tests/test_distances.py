"""DistanceCache: BFS rows equal networkx shortest paths, also under LRU eviction."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from warehouse.floor import (
    UNREACHABLE,
    CompiledFloor,
    DistanceCache,
    WarehouseLayout,
    compile_floor,
    generate_warehouse,
)
from warehouse.floor.formats import parse_ascii

CHARS = np.array(list(".#><^v"))
WEIGHTS = np.array([0.6, 0.2, 0.05, 0.05, 0.05, 0.05])


def random_floor(seed: int) -> tuple[nx.Graph, CompiledFloor]:
    """A random small grid with obstacles and one-way cells (its largest strong part is kept)."""
    rng = np.random.default_rng(seed)
    while True:
        h, w = rng.integers(3, 9, size=2)
        grid = rng.choice(CHARS, size=(h, w), p=WEIGHTS)
        graph = parse_ascii("\n".join("".join(row) for row in grid))
        if any(d["kind"] != "blocked" for _, d in graph.nodes(data=True)):
            floor = compile_floor(graph)
            if floor.n_nodes >= 3:
                return graph, floor


def true_row(graph: nx.Graph, floor: CompiledFloor, goal: int) -> np.ndarray:
    lengths = nx.shortest_path_length(graph, target=floor.nodes[goal])
    return np.array([lengths[node] for node in floor.nodes])


@pytest.mark.parametrize("seed", range(12))
def test_rows_equal_networkx_on_random_floors(seed: int):
    graph, floor = random_floor(seed)
    cache = DistanceCache(floor)
    for goal in range(floor.n_nodes):
        row = cache.row(goal)
        assert row.dtype == np.uint16
        assert np.array_equal(row, true_row(graph, floor, goal))
    assert cache.computed == floor.n_nodes


@pytest.mark.parametrize("one_way", [False, True])
def test_lookup_on_generated_floor(one_way: bool):
    graph = generate_warehouse(
        WarehouseLayout(shelf_rows=2, shelf_cols=2, block_length=3, one_way=one_way)
    )
    floor = compile_floor(graph)
    cache = DistanceCache(floor)
    rng = np.random.default_rng(0)
    goals = rng.choice(floor.n_nodes, size=10, replace=False)
    nodes = rng.integers(0, floor.n_nodes, size=(10, 7))
    got = cache.lookup(goals[:, None], nodes)
    assert got.shape == (10, 7)
    for i, goal in enumerate(goals):
        assert np.array_equal(got[i], true_row(graph, floor, goal)[nodes[i]])
    if one_way:  # directions matter: some distance differs from its reverse
        d = cache.lookup(goals[:, None], goals[None, :])
        assert (d != d.T).any()
    assert not (got == UNREACHABLE).any()


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_outer_lookup_matches_fancy_indexing(dtype):
    """The compiled (rows, 1) × (cols,) path returns what numpy's broadcasting gives."""
    graph, floor = random_floor(3)
    cache = DistanceCache(floor)
    rng = np.random.default_rng(1)
    goals = rng.integers(0, floor.n_nodes, size=9)
    nodes = rng.integers(0, floor.n_nodes, size=5).astype(dtype)
    truth = np.array([true_row(graph, floor, g)[nodes] for g in goals])
    for got in (
        cache.lookup(goals[:, None], nodes),
        cache.lookup(goals[:, None], nodes[None, :]),
        cache.lookup(goals[:, None], np.broadcast_to(nodes, (9, 5))),  # not the outer form
    ):
        assert got.dtype == np.uint16 and got.shape == (9, 5)
        assert np.array_equal(got, truth)
    assert cache.lookup(goals[:0, None], nodes).shape == (0, 5)


def test_lru_eviction_keeps_answers_correct():
    graph = generate_warehouse(
        WarehouseLayout(shelf_rows=2, shelf_cols=2, block_length=4, one_way=True)
    )
    floor = compile_floor(graph)
    cache = DistanceCache(floor, max_bytes=1)  # the minimum: 16 rows
    assert cache.capacity == 16 < floor.n_nodes
    truth = {g: true_row(graph, floor, g) for g in range(40)}
    for goal in range(40):
        assert np.array_equal(cache.row(goal), truth[goal])
    assert cache.table.shape[0] == 16
    assert cache.computed == 40
    # Goal 0 was evicted long ago: asking again recomputes it, correctly.
    assert cache.slot_of[0] == -1
    assert np.array_equal(cache.row(0), truth[0])
    assert cache.computed == 41
    # The most recently used goals are still cached: no recomputation.
    assert np.array_equal(cache.row(39), truth[39])
    assert cache.computed == 41
    # A batch of 16 distinct goals fits; each entry is right even when most were evicted.
    goals = np.arange(20, 36)
    nodes = np.arange(16) * 3
    got = cache.lookup(goals, nodes)
    assert np.array_equal(got, [truth[g][v] for g, v in zip(goals, nodes, strict=True)])
    # Every cached row belongs to its goal.
    for slot, goal in enumerate(cache.goal_in_slot):
        if goal >= 0:
            assert cache.slot_of[goal] == slot
            assert np.array_equal(cache.table[slot], truth[goal])


def small_cache_floor() -> tuple[nx.Graph, CompiledFloor]:
    graph = generate_warehouse(WarehouseLayout(shelf_rows=2, shelf_cols=2))
    return graph, compile_floor(graph)


def test_batch_larger_than_free_rows_stays_correct():
    graph, floor = small_cache_floor()
    cache = DistanceCache(floor, max_bytes=1)  # 16 rows, all allocated up front
    cache.lookup(np.arange(10), np.zeros(10, dtype=np.int64))  # 6 rows stay free
    goals = np.arange(10, 20)  # needs 10 rows: 6 free + 4 evicted
    got = cache.lookup(goals[:, None], np.arange(floor.n_nodes)[None, :])
    for i, goal in enumerate(goals):
        assert np.array_equal(got[i], true_row(graph, floor, goal)), goal


def test_too_many_simultaneous_goals_is_a_clear_error():
    _graph, floor = small_cache_floor()
    cache = DistanceCache(floor, max_bytes=1)
    with pytest.raises(MemoryError, match="max_bytes"):
        cache.lookup(np.arange(17), np.zeros(17, dtype=np.int64))


@pytest.mark.parametrize("bad", [-1, 10**6])
def test_goal_that_is_not_a_node_is_refused(bad: int):
    _graph, floor = small_cache_floor()
    cache = DistanceCache(floor)
    before = cache.last_used.copy()
    with pytest.raises(IndexError, match="goal node ids"):
        cache.slots(np.array([0, bad]))
    assert np.array_equal(cache.last_used, before)  # nothing marked on the way out
    assert (cache.slots(np.array([0, 1])) >= 0).all()  # and the cache still works
