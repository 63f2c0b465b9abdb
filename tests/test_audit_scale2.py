"""Audit (h2): big fleets (thousands of robots) faster and leaner, with the same answers. Each
speed-up is pinned against the plain numpy/scipy form it replaces, on inputs with many ties."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hierarchy.features import grid_centre_nodes
from hierarchy.matching import solve_assignment
from warehouse.floor import (
    UNREACHABLE,
    DistanceCache,
    WarehouseLayout,
    compile_floor,
    generate_warehouse,
)


def _numpy_grid_centre_nodes(floor, nodes: np.ndarray, grid: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The former ``grid_centre_nodes``: every centre against every node, numpy's argmin."""
    h, w = floor.shape
    cr, cc = np.meshgrid((np.arange(grid) + 0.5) * h / grid, (np.arange(grid) + 0.5) * w / grid)
    centres = np.stack([cr.ravel(), cc.ravel()], axis=1)
    rc = floor.pos[nodes].astype(np.float64)
    nearest = ((rc[None, :, :] - centres[:, None, :]) ** 2).sum(-1).argmin(axis=1)
    return np.unique(nodes[nearest]).astype(np.int32)


@pytest.mark.parametrize("seed", range(12))
def test_grid_centre_nodes_is_numpys_argmin(seed: int) -> None:
    """Integer cells (every centre lies at x.5: ties between two or four cells everywhere),
    shuffled node order (the first of the tied *nodes* wins), and float positions."""
    rng = np.random.default_rng(seed)
    h, w = (int(x) for x in rng.integers(1, 40, 2))
    n = int(rng.integers(1, 300))
    pos = np.stack([rng.integers(0, h, n), rng.integers(0, w, n)], axis=1)
    if seed % 3 == 2:
        pos = pos + rng.random((n, 2)) * rng.choice([0.0, 1.0], (n, 1))
    floor = SimpleNamespace(shape=(h, w), pos=pos.astype(np.int32 if seed % 3 < 2 else np.float64))
    nodes = rng.permutation(n)[: int(rng.integers(1, n + 1))]
    for grid in (1, 2, 3, int(rng.integers(4, 60))):
        got = grid_centre_nodes(floor, nodes, grid)
        want = _numpy_grid_centre_nodes(floor, nodes, grid)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_grid_centre_nodes_on_a_generated_floor() -> None:
    floor = compile_floor(generate_warehouse(WarehouseLayout(shelf_rows=3, shelf_cols=3)))
    for grid in (1, 5, 17, 40):
        got = grid_centre_nodes(floor, floor.picks, grid)
        assert np.array_equal(got, _numpy_grid_centre_nodes(floor, floor.picks, grid))


@pytest.mark.parametrize(("r", "m"), [(1, 1), (1, 200), (130, 1), (65, 129), (200, 300)])
def test_transposed_gather_is_numpys_index_across_tiles(r: int, m: int) -> None:
    """``lookup`` of goals along the last axis (robots × orders) is written in 64 × 64 tiles
    now, not transposed after: numpy's fancy index of the table, across tile edges."""
    floor = compile_floor(generate_warehouse(WarehouseLayout(shelf_rows=2, shelf_cols=2)))
    dist = DistanceCache(floor)
    rng = np.random.default_rng(r * 1000 + m)
    goals = rng.choice(floor.n_nodes, m)[None, :]  # repeats included
    nodes = rng.choice(floor.n_nodes, r)[:, None]
    got = dist.lookup(goals, nodes)
    want = dist.table[dist.slots(goals.ravel()).reshape(goals.shape), nodes]
    assert got.dtype == want.dtype and got.flags.c_contiguous and np.array_equal(got, want)


def _old_solve(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The former ``solve_assignment``: a second matrix from ``np.where``."""
    from scipy.optimize import linear_sum_assignment

    finite = np.isfinite(cost)
    rows, cols = linear_sum_assignment(np.where(finite, cost, 1e9))
    ok = finite[rows, cols]
    return rows[ok], cols[ok]


@pytest.mark.parametrize("seed", range(10))
def test_solve_assignment_in_place_is_the_same_matching(seed: int) -> None:
    """``overwrite=True`` writes over ``cost`` (no second matrix): the same rows and columns as
    the former form, on small integer costs (many ties) with ``inf``, ``-inf`` and ``nan``."""
    rng = np.random.default_rng(seed)
    r, m = (int(x) for x in rng.integers(1, 40, 2))
    cost = rng.integers(0, 4, (r, m)).astype(np.float64) - (seed % 2) * 0.5
    cost[rng.random((r, m)) < 0.3] = np.inf
    if seed % 5 == 0:
        cost[0, 0], cost[-1, -1] = -np.inf, np.nan
    want = _old_solve(cost)
    kept = cost.copy()
    got = solve_assignment(cost)
    assert np.array_equal(cost, kept, equal_nan=True)  # by default ``cost`` is left alone
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    got = solve_assignment(cost, overwrite=True)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    assert np.isfinite(cost).all()  # (written over: the 1e9 of forbidden pairs)


def test_grown_table_is_a_table_that_never_grew() -> None:
    """Growth writes the new rows once and jumps to the cap past half of it: the rows, free
    slots, answers and evictions are those of a cache whose table held every row from the
    start (rows asked for in batches that grow it 64 → 128 → 300, then evict)."""
    floor = compile_floor(generate_warehouse(WarehouseLayout(shelf_rows=5, shelf_cols=5)))
    n = floor.n_nodes
    cache = DistanceCache(floor, max_bytes=2 * n * 300)  # 300 rows at most
    full = DistanceCache(floor, max_bytes=2 * n * 300)
    full.table = np.full((300, n), UNREACHABLE, dtype=np.uint16)
    full.goal_in_slot = np.full(300, -1, np.int32)
    full.last_used, full.far = np.zeros(300, np.int64), np.zeros(300, np.int64)
    rng = np.random.default_rng(0)
    shapes = []
    for size in (10, 70, 100, 150, 40, 280, 90):
        goals = rng.choice(n, size, replace=False)[None, :]
        nodes = rng.choice(n, 7)[:, None]
        assert np.array_equal(cache.lookup(goals, nodes), full.lookup(goals, nodes))
        rows = cache.table.shape[0]
        shapes.append(rows)
        assert np.array_equal(cache.slot_of, full.slot_of)
        assert (full.goal_in_slot[rows:] < 0).all()  # (rows past the grown table: all free)
        for name in ("table", "goal_in_slot", "last_used", "far"):
            assert np.array_equal(getattr(cache, name), getattr(full, name)[:rows])
        assert cache.computed == full.computed
    assert shapes == [64, 128, 300, 300, 300, 300, 300] and cache.computed > 300  # (evicted)
