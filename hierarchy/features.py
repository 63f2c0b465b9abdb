"""Dispatcher observations: per-candidate and global features, one vectorized pass.

At a decision event every deciding robot (idle, not broken) gets the ``K`` orders nearest to it
(travel steps on the floor graph) among the oldest ``lookahead × robots`` dispatchable orders:
the open orders less those whose pick location or station is closed now
(:meth:`~warehouse.core.Simulation.dispatchable_orders`), which are never candidates. Fewer than
``K`` of them leave masked slots. With ``anticipate`` the orders a robot finishing a delivery
reaches first are left out too (:mod:`hierarchy.anticipation`). The global features measure the
backlog: their open orders (0, 9, 10) include the held ones. Every feature is a float32 of
order one.

Candidate features (``N_CAND``), ``cand[r, k, :]`` for robot ``r`` and its ``k``-th candidate:

==  ==========================================================================================
0   steps robot → pick / (H + W)
1   steps pick → the order's station / (H + W) (``faults.redirect_loaded``: the open one nearest
    the pick while its own is closed, :func:`~warehouse.core.closures.drop_steps`)
2   order age: log1p(steps since arrival) / 6
3   age rank among the considered open orders (0 = oldest) / their count
4   this robot's distance rank of the candidate / K
5   1 if this robot is the nearest deciding robot to the order's pick
6   (my steps − the nearest deciding robot's steps) / (H + W)
7   station queue (robots carrying to / working at the order's station) / robots per station
8   robots already driving to the same pick cell (clipped at 3) / 3
9   robots within 2 cells of the pick / 5 (congestion at the pick)
10  robot density in the box spanned by robot and pick × 4 (congestion along the route)
11  1 (a valid slot; padded slots are all zero and masked)
==  ==========================================================================================

Global features (``N_GLOBAL`` = 11 + P²), ``glob[:]``:

==========  ====================================================================================
0           log1p(open orders / robots)
1-6         share of robots per phase (idle, to_pick, picking, to_drop, dropping, to_goal)
7           share of robots broken down
8           share of robots deciding now
9           mean age of open orders: log1p(steps) / 6
10          log1p(undelivered orders in progress / robots)
11..        coarse congestion map: robots per cell of a P × P pooling of the floor × P² / robots
==========  ====================================================================================

**Waypoint routes** (``FeatureConfig.routes`` = M > 0). Every candidate order then fills ``1 + M``
slots: the direct route, then the M *hubs* with the smallest detour through them. Hubs are the
aisle nodes nearest the centres of a ``hub_grid × hub_grid`` grid over the floor (zone
sub-goals). Choosing a hub slot assigns the order and routes the robot through the hub
(:meth:`~warehouse.core.Simulation.set_waypoints`), so the dispatcher can send robots around
congested aisles. Each slot carries the order's 12 features plus ``N_ROUTE`` route features:

==  ==========================================================================================
12  1 for a hub route, 0 for the direct one
13  detour steps through the hub / (H + W) (0 for the direct route)
14  robots within 2 cells of the hub / 5 (0 for the direct route)
15  robot density in the boxes robot → hub and hub → pick × 4 (direct: feature 10)
==  ==========================================================================================

A hub slot is masked when its order's slot is, when the hub is the robot's or the pick's node,
when the hub is unreachable, or when the detour exceeds ``max_detour`` × the direct distance
(plus 4 steps). While scheduled closures are in force, a hub they close, or a leg (robot → hub,
hub → pick) reached only through closed cells (:meth:`~warehouse.floor.DistanceCache.reaches`),
masks it too. Hubs are never transit nodes of long edges (``physics.speed_m_s``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from warehouse.core.closures import drop_steps
from warehouse.core.state import N_PHASES
from warehouse.floor import UNREACHABLE, NodeKind

from .anticipation import order_pool
from .matching import travel_steps

if TYPE_CHECKING:
    from warehouse.core import Simulation

N_CAND = 12
N_ROUTE = 4  #: route features appended to every slot when routes are on
POOL = 4
N_GLOBAL = 11 + POOL * POOL


@dataclass(frozen=True, kw_only=True)
class FeatureConfig:
    candidates: int = 8  #: K: candidate orders per deciding robot (plus WAIT)
    lookahead: int = 4  #: consider the oldest lookahead × deciding robots open orders (≥ K)
    routes: int = 0  #: M: hub routes per candidate order (0: direct routes only)
    hub_grid: int = 4  #: hubs: the aisle node nearest each cell centre of this grid
    max_detour: float = 0.5  #: hub routes at most this share (+4 steps) longer than direct

    def __post_init__(self) -> None:
        for name in ("candidates", "lookahead", "hub_grid"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.routes < 0 or self.max_detour < 0:
            raise ValueError("routes and max_detour must be ≥ 0")

    @property
    def n_cand(self) -> int:
        """Features per slot."""
        return N_CAND + (N_ROUTE if self.routes else 0)

    @property
    def slots(self) -> int:
        """Action slots per deciding robot, WAIT excluded."""
        return self.candidates * (1 + self.routes)


@dataclass(frozen=True)
class Decision:
    """One decision event: who decides, among what, seen how."""

    robots: np.ndarray  #: (R,) int32 deciding robots
    orders: np.ndarray  #: (R, K) int32 candidate order ids (-1 in masked slots)
    mask: np.ndarray  #: (R, K + 1) bool; the last column (WAIT) is always True
    cand: np.ndarray  #: (R, K, N_CAND) float32
    glob: np.ndarray  #: (N_GLOBAL,) float32
    dist: np.ndarray  #: (R, K) float steps robot → pick (inf in masked slots)
    #: (R, K) int32 hub each slot routes through (-1: direct); None without routes. With routes
    #: the K above is ``FeatureConfig.slots``.
    waypoints: np.ndarray | None = None


def global_features(sim: Simulation) -> np.ndarray:
    """The ``N_GLOBAL`` global features of the floor now."""
    s = sim.state
    n = max(1, sim.n_robots)
    out = np.zeros(N_GLOBAL, dtype=np.float32)
    open_ids = sim.open_orders()
    out[0] = np.log1p(open_ids.size / n)
    out[1 : 1 + N_PHASES] = np.bincount(s.phase.astype(np.int64), minlength=N_PHASES) / n
    out[7] = (s.broken > 0).mean() if s.n else 0.0
    # robots a dispatcher may use: no task, not broken down, no battery business (``battery``:
    # charging robots are not counted; without the battery model the same as phase IDLE)
    out[8] = sim.idle_robots().size / s.n if s.n else 0.0
    if open_ids.size:
        out[9] = np.log1p((sim.t - sim.orders.arrival[open_ids]).mean()) / 6.0
    busy = sim.orders.count - int(s.deliveries.sum()) - open_ids.size
    out[10] = np.log1p(max(busy, 0) / n)
    out[11:] = congestion_map(sim).ravel() * (POOL * POOL) / n
    return out


def congestion_map(sim: Simulation, pool: int = POOL) -> np.ndarray:
    """``(pool, pool)`` robot counts over an even pooling of the floor's cells."""
    h, w = sim.floor.shape
    rc = sim.floor.pos[sim.state.pos]
    bi = np.minimum(rc[:, 0] * pool // max(h, 1), pool - 1)
    bj = np.minimum(rc[:, 1] * pool // max(w, 1), pool - 1)
    return np.bincount(bi * pool + bj, minlength=pool * pool).reshape(pool, pool).astype(np.float32)


def _integral(sim: Simulation, rc: np.ndarray | None = None) -> np.ndarray:
    """Summed-area table of robot occupancy, shape ``(H + 1, W + 1)`` (``rc``: every robot's
    cell, ``floor.pos[state.pos]``, when the caller has it). Compiled, one pass."""
    h, w = sim.floor.shape
    if rc is None:
        rc = sim.floor.pos[sim.state.pos]
    return _integral_table(rc, h, w)


@numba.njit(cache=True)
def _integral_table(rc, h, w):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``ii[1:, 1:]`` = the cumulative sums (rows, then columns) of the robots per cell of
    ``rc``; int64, so exactly numpy's ``occ.cumsum(0).cumsum(1)``."""
    ii = np.zeros((h + 1, w + 1), np.int64)
    for n in range(rc.shape[0]):
        ii[rc[n, 0] + 1, rc[n, 1] + 1] += 1
    for i in range(1, h + 1):
        for j in range(1, w + 1):
            ii[i, j] += ii[i - 1, j] + ii[i, j - 1] - ii[i - 1, j - 1]
    return ii


@numba.njit(cache=True)
def _count_targets(target, picks, n_nodes):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Robots whose ``target`` is each of ``picks``: ``np.bincount(target[target >= 0],
    minlength=n_nodes)[picks]``."""
    count = np.zeros(n_nodes, np.int64)
    for t in target:
        if t >= 0:
            count[t] += 1
    out = np.empty(picks.size, np.int64)
    for j in range(picks.size):
        out[j] = count[picks[j]]
    return out


@numba.njit(cache=True)
def _near_counts(ii, rc, reach):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Robots in the box of cells within ``reach`` of each cell of ``rc`` (clipped to the
    floor): :func:`_box_sum` of those boxes, without its dozen whole-array passes."""
    h, w = ii.shape[0] - 1, ii.shape[1] - 1
    out = np.empty(rc.shape[0], np.int64)
    for j in range(rc.shape[0]):
        r0, r1 = min(max(rc[j, 0] - reach, 0), h - 1), min(max(rc[j, 0] + reach, 0), h - 1)
        c0, c1 = min(max(rc[j, 1] - reach, 0), w - 1), min(max(rc[j, 1] + reach, 0), w - 1)
        out[j] = ii[r1 + 1, c1 + 1] - ii[r0, c1 + 1] - ii[r1 + 1, c0] + ii[r0, c0]
    return out


def _box_sum(ii: np.ndarray, r0, c0, r1, c1) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Robots in the inclusive boxes ``[r0..r1] × [c0..c1]`` (arrays, clipped to the floor)."""
    h, w = ii.shape[0] - 1, ii.shape[1] - 1
    r0, r1 = np.clip(r0, 0, h - 1), np.clip(r1, 0, h - 1)
    c0, c1 = np.clip(c0, 0, w - 1), np.clip(c1, 0, w - 1)
    return ii[r1 + 1, c1 + 1] - ii[r0, c1 + 1] - ii[r1 + 1, c0] + ii[r0, c0]


def candidate_set(
    sim: Simulation, robots: np.ndarray, cfg: FeatureConfig, *, anticipate: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Considered orders ``(M,)``, each robot's top-K column indices ``(R, K)`` into them
    (-1 where masked) and the ``(R, M)`` float distance matrix, column-major (inf =
    unreachable, or reached only through closed cells: :func:`~hierarchy.matching.travel_steps`).
    """
    k = cfg.candidates
    orders, top, d = _nearest_orders(sim, robots, cfg, anticipate=anticipate)
    valid = np.isfinite(np.take_along_axis(d, top, axis=1))
    top = np.where(valid, top, -1)
    if top.shape[1] < k:
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-1)
    return orders, top, d


def _nearest_orders(
    sim: Simulation, robots: np.ndarray, cfg: FeatureConfig, *, anticipate: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`candidate_set`'s orders and distances, and each robot's ``min(K, M)`` nearest
    columns as :func:`smallest_k` gives them (unreachable ones not yet marked, no padding)."""
    k = cfg.candidates
    size = max(cfg.lookahead * robots.size, k)
    orders = order_pool(sim, robots, size, anticipate=anticipate)
    picks = sim.orders.pick[orders]
    # (R, M), stored column-major: one order's distances to all robots side by side, as the
    # distance table gathers them fast and the per-order reductions (nearest robot) read them
    d = travel_steps(sim, picks[:, None], sim.state.pos[robots][None, :]).T
    # Nearest first; ties go to the older order (smaller column = older).
    return orders, smallest_k(d, np.arange(orders.size) * 1e-6, k), d


@numba.njit(cache=True)
def smallest_k(d: np.ndarray, tie: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover
    """Column indices of the ``k`` smallest entries of each row of ``key = d + tie[None, :]``
    (all of them where it has fewer columns), smallest first, ties to the lower column: the
    first ``k`` columns of ``np.argsort(key, axis=1, kind="stable")``, in one pass that neither
    sorts nor stores ``key`` (no NaN in it). It walks ``d`` column by column, the fast order for
    a column-major ``d`` (:func:`candidate_set`'s). Compiled."""
    r, m = d.shape
    k = min(k, m)
    out = np.empty((r, k), np.int64)
    best = np.empty((r, k), np.float64)  # each row's k smallest keys so far, in order
    n = np.zeros(r, np.int64)  # how many each row holds
    for j in range(m):
        for i in range(r):
            v = d[i, j] + tie[j]  # (numpy's sum: one rounding)
            if n[i] == k:
                if not v < best[i, k - 1]:  # (an equal key keeps the lower column)
                    continue
                p = k - 1  # the largest drops out
            else:
                p = n[i]
                n[i] += 1
            while p > 0 and best[i, p - 1] > v:  # after the keys not larger: stable
                best[i, p] = best[i, p - 1]
                out[i, p] = out[i, p - 1]
                p -= 1
            best[i, p] = v
            out[i, p] = j
    return out


@numba.njit(cache=True)
def _candidate_slots(  # type: ignore[no-untyped-def]  # pragma: no cover
    d, top, orders, per_order, rrc, prc, ii, scale, cand, dist, cand_orders, valid, col
):
    """Fill the ``(R, K)`` slot arrays of :func:`decision_features` in one pass: ``cand``
    (features 0-11), ``dist``, ``cand_orders``, ``valid`` and ``col`` (the slot's column of
    ``d``, 0 where masked). ``top``: :func:`smallest_k`'s columns (``min(K, M)`` of them; a
    slot past them or at an unreachable order is masked); ``per_order``: the ``(M, 6)``
    float64 per-order parts (features 1, 2, 3, 8, 9, then the station queue / robots per
    station); ``ii``: the occupancy summed-area table. Every value is the float64 expression
    of the numpy version, rounded once to float32. Compiled."""
    r, m = d.shape
    k = cand.shape[1]
    kk = top.shape[1]
    # each order's nearest deciding robot and its steps (np.min / np.argmin over axis 0:
    # the first row among equal ones; d holds no NaN)
    best = np.empty(m, np.float64)
    nearest = np.empty(m, np.int64)
    for j in range(m):
        b, a = d[0, j], 0
        for i in range(1, r):
            if d[i, j] < b:
                b, a = d[i, j], i
        best[j] = b
        nearest[j] = a
    for i in range(r):
        for s in range(k):
            c = top[i, s] if s < kk else -1
            if c < 0 or not np.isfinite(d[i, c]):
                valid[i, s] = False
                col[i, s] = 0
                dist[i, s] = np.inf
                cand_orders[i, s] = -1
                for q in range(cand.shape[2]):
                    cand[i, s, q] = 0.0
                continue
            my = d[i, c]
            valid[i, s] = True
            col[i, s] = c
            dist[i, s] = my
            cand_orders[i, s] = orders[c]
            r0, r1 = min(rrc[i, 0], prc[c, 0]), max(rrc[i, 0], prc[c, 0])
            c0, c1 = min(rrc[i, 1], prc[c, 1]), max(rrc[i, 1], prc[c, 1])
            area = (r1 - r0 + 1) * (c1 - c0 + 1)
            box = ii[r1 + 1, c1 + 1] - ii[r0, c1 + 1] - ii[r1 + 1, c0] + ii[r0, c0]
            cand[i, s, 0] = my / scale
            cand[i, s, 1] = per_order[c, 0]
            cand[i, s, 2] = per_order[c, 1]
            cand[i, s, 3] = per_order[c, 2]
            cand[i, s, 4] = s / k
            cand[i, s, 5] = 1.0 if nearest[c] == i else 0.0
            cand[i, s, 6] = (my - best[c]) / scale
            cand[i, s, 7] = per_order[c, 5]
            cand[i, s, 8] = per_order[c, 3]
            cand[i, s, 9] = per_order[c, 4]
            cand[i, s, 10] = (np.float64(box) / np.float64(area)) * 4.0
            cand[i, s, 11] = 1.0


def decision_features(
    sim: Simulation, robots: np.ndarray, cfg: FeatureConfig, *, anticipate: bool = False
) -> Decision:
    """Features of the decision of ``robots`` (all at once, no per-robot loop); ``anticipate``
    leaves out the orders held for robots finishing a delivery. The per-order parts are numpy
    passes over the ``M`` considered orders; the ``(R, K)`` slots are filled by one compiled
    pass (:func:`_candidate_slots`), bit for bit the former numpy expressions."""
    s, f, ob = sim.state, sim.floor, sim.orders
    k = cfg.candidates
    robots = np.asarray(robots, dtype=np.int32)
    r = robots.size
    glob = global_features(sim)
    orders = np.zeros(0, np.int32)
    if r and sim.dispatchable_orders().size:
        orders, top, d = _nearest_orders(sim, robots, cfg, anticipate=anticipate)
    if orders.size == 0:  # no robot decides, or nothing to choose: WAIT only
        n = cfg.slots
        mask = np.zeros((r, n + 1), dtype=bool)
        mask[:, n] = True
        return Decision(
            robots=robots,
            orders=np.full((r, n), -1, np.int32),
            mask=mask,
            cand=np.zeros((r, n, cfg.n_cand), np.float32),
            glob=glob,
            dist=np.full((r, n), np.inf),
            waypoints=np.full((r, n), -1, np.int32) if cfg.routes else None,
        )
    h, w = f.shape
    scale = float(h + w)
    m = orders.size
    picks = ob.pick[orders]
    stations = ob.station[orders]
    drop = drop_steps(sim, picks, stations)
    drop[drop >= UNREACHABLE] = 4 * scale
    age = (sim.t - ob.arrival[orders]).astype(np.float64)
    queues = sim.station_queues()
    st_idx = np.searchsorted(f.stations, stations)
    per_station = max(1.0, sim.n_robots / max(1, f.stations.size))
    rc = f.pos[s.pos]  # (N, 2) every robot's cell
    ii = _integral(sim, rc)
    prc = f.pos[picks]  # (M, 2)
    near_pick = _near_counts(ii, prc, 2)  # robots within 2 cells of each pick
    # the per-order parts of the features (float64, as the slots' values are made from them)
    per_order = np.stack(
        [
            drop / scale,
            np.log1p(age) / 6.0,
            np.arange(m) / max(m, 1),
            np.minimum(_count_targets(s.target, picks, f.n_nodes), 3) / 3.0,
            near_pick / 5.0,
            queues[st_idx] / per_station,
        ],
        axis=1,
    )  # (M, 6)
    rrc = rc[robots]  # (R, 2)
    cand = np.empty((r, k, N_CAND), dtype=np.float32)
    dist = np.empty((r, k), dtype=np.float64)
    cand_orders = np.empty((r, k), dtype=np.int32)
    valid = np.empty((r, k), dtype=bool)
    col = np.empty((r, k), dtype=np.int64)
    _candidate_slots(
        d, top, orders, per_order, rrc, prc, ii, scale, cand, dist, cand_orders, valid, col
    )
    waypoints = None
    if cfg.routes:
        cand, valid, cand_orders, dist, waypoints = _hub_routes(
            sim, s.pos[robots], rrc, prc[col, 0], prc[col, 1], ii, cfg, cand, valid,
            cand_orders, dist, picks[col], scale,
        )  # fmt: skip
    mask = np.concatenate([valid, np.ones((r, 1), dtype=bool)], axis=1)
    return Decision(
        robots=robots,
        orders=cand_orders,
        mask=mask,
        cand=cand,
        glob=glob,
        dist=dist,
        waypoints=waypoints,
    )


_HUBS: weakref.WeakKeyDictionary[Any, dict[int, np.ndarray]] = weakref.WeakKeyDictionary()


def floor_hubs(floor: Any, grid: int) -> np.ndarray:
    """Hub nodes: the aisle node nearest the centre of each cell of a ``grid × grid`` split of
    the floor (duplicates removed; all nodes when the floor has no aisle kind), never a transit
    node of a long edge (``physics.speed_m_s``), so a split floor has the hubs of the unsplit
    one. Cached per floor."""
    cache = _HUBS.setdefault(floor, {})
    if grid not in cache:
        nodes = np.flatnonzero((floor.kind == NodeKind.AISLE) & ~floor.transit)
        if nodes.size == 0:
            nodes = np.flatnonzero(~floor.transit)
        cache[grid] = grid_centre_nodes(floor, nodes, grid)
    return cache[grid]


def grid_centre_nodes(floor: Any, nodes: np.ndarray, grid: int) -> np.ndarray:
    """Of ``nodes``, the one nearest the centre of each cell of a ``grid × grid`` split of the
    floor (int32, sorted, duplicates removed; among equally near nodes the first in ``nodes``,
    as numpy's ``argmin`` of the squared distances picks it)."""
    h, w = floor.shape
    cr, cc = np.meshgrid((np.arange(grid) + 0.5) * h / grid, (np.arange(grid) + 0.5) * w / grid)
    centres = np.stack([cr.ravel(), cc.ravel()], axis=1)  # (grid², 2)
    rc = np.ascontiguousarray(floor.pos[nodes], dtype=np.float64)
    if rc.shape[0] == 0:
        raise ValueError("grid_centre_nodes: no nodes to choose from")
    nearest = np.empty(centres.shape[0], np.int64)
    _nearest_nodes(rc, centres, nearest)  # (a big fleet's parking: seconds in numpy, 10k × 20k)
    return np.unique(nodes[nearest]).astype(np.int32)


@numba.njit(cache=True)
def _nearest_nodes(rc, centres, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``out[i]`` = ``argmin(((rc - centres[i]) ** 2).sum(-1))``: the same float64 squares and
    sum as numpy's, the first index among equal ones."""
    for i in range(centres.shape[0]):
        best, arg = np.inf, 0
        for j in range(rc.shape[0]):
            dr = rc[j, 0] - centres[i, 0]
            dc = rc[j, 1] - centres[i, 1]
            d = dr * dr + dc * dc
            if d < best:
                best, arg = d, j
        out[i] = arg


def _hub_routes(  # type: ignore[no-untyped-def]
    sim, robot_nodes, rrc, pr, pc, ii, cfg, cand, valid, orders, dist, pick_nodes, scale
):
    """Expand every candidate order into its direct slot and ``cfg.routes`` hub slots
    (``rrc``, ``pr``/``pc``: robot and pick cells; ``ii``: the occupancy summed-area table)."""
    f, m = sim.floor, cfg.routes
    r, k = valid.shape
    hubs = floor_hubs(f, cfg.hub_grid)
    to_hub = sim.dist.lookup(hubs[None, :], robot_nodes[:, None]).astype(np.float64)  # (R, H)
    hub_to_pick = sim.dist.lookup(pick_nodes[:, :, None], hubs[None, None, :]).astype(np.float64)
    via = to_hub[:, None, :] + hub_to_pick  # (R, K, H)
    direct = np.where(valid, dist, np.inf)
    detour = via - direct[:, :, None]
    if sim.dist.closed_any:  # legs reached only through closed cells, or a closed hub, wait
        reach_hub = sim.dist.reaches(hubs[None, :], robot_nodes[:, None])
        reach_hub &= ~sim.dist.closed[hubs][None, :]
        reach_pick = sim.dist.reaches(pick_nodes[:, :, None], hubs[None, None, :])
    else:
        reach_hub, reach_pick = to_hub < UNREACHABLE, hub_to_pick < UNREACHABLE
    ok = (
        valid[:, :, None]
        & reach_hub[:, None, :]
        & reach_pick
        & (hubs[None, None, :] != robot_nodes[:, None, None])
        & (hubs[None, None, :] != pick_nodes[:, :, None])
        & (detour <= cfg.max_detour * direct[:, :, None] + 4)
    )
    key = np.where(ok, detour, np.inf)
    take = np.argsort(key, axis=2, kind="stable")[:, :, :m]  # (R, K, M') best hubs first
    if take.shape[2] < m:  # fewer hubs than routes: pad with masked slots
        take = np.pad(take, ((0, 0), (0, 0), (0, m - take.shape[2])))
    hub_ok = np.take_along_axis(ok, take, axis=2) & (np.arange(m) < hubs.size)[None, None, :]
    hub = hubs[take]  # (R, K, M)
    hub_detour = np.take_along_axis(detour, take, axis=2)
    hrc = f.pos[hub]  # (R, K, M, 2)
    near_hub = _box_sum(ii, hrc[..., 0] - 2, hrc[..., 1] - 2, hrc[..., 0] + 2, hrc[..., 1] + 2)
    leg1 = _box_density(ii, rrc[:, None, None, 0], rrc[:, None, None, 1], hrc[..., 0], hrc[..., 1])
    leg2 = _box_density(ii, hrc[..., 0], hrc[..., 1], pr[..., None], pc[..., None])

    n_cand = cfg.n_cand
    out = np.zeros((r, k, 1 + m, n_cand), dtype=np.float32)
    out[:, :, :, :N_CAND] = cand[:, :, None, :]
    out[:, :, 0, N_CAND + 3] = cand[..., 10]  # direct route: its box density (feature 10)
    out[:, :, 1:, N_CAND] = 1.0
    out[:, :, 1:, N_CAND + 1] = np.where(hub_ok, hub_detour, 0.0) / scale
    out[:, :, 1:, N_CAND + 2] = near_hub / 5.0
    out[:, :, 1:, N_CAND + 3] = 0.5 * (leg1 + leg2) * 4.0
    slot_ok = np.concatenate([valid[:, :, None], hub_ok], axis=2)  # (R, K, 1 + M)
    out[~slot_ok] = 0.0
    wp = np.concatenate([np.full((r, k, 1), -1, np.int64), hub], axis=2)
    wp = np.where(slot_ok, wp, -1)
    n = k * (1 + m)
    return (
        out.reshape(r, n, n_cand),
        slot_ok.reshape(r, n),
        np.where(slot_ok, orders[:, :, None], -1).reshape(r, n).astype(np.int32),
        np.where(slot_ok, direct[:, :, None], np.inf).reshape(r, n),
        wp.reshape(r, n).astype(np.int32),
    )


def _box_density(ii: np.ndarray, ra, ca, rb, cb) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Robots per cell in the box spanned by ``(ra, ca)`` and ``(rb, cb)`` (broadcasting)."""
    r0, r1 = np.minimum(ra, rb), np.maximum(ra, rb)
    c0, c1 = np.minimum(ca, cb), np.maximum(ca, cb)
    return _box_sum(ii, r0, c0, r1, c1) / ((r1 - r0 + 1) * (c1 - c0 + 1))


def _winners(decision: Decision, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and slots of the choices that win their order (see :func:`resolve_conflicts`)."""
    k = decision.orders.shape[1]
    choice = np.asarray(choice, dtype=np.int64)
    go = np.flatnonzero(choice < k)
    if go.size == 0:
        return go, go
    slot = choice[go]
    orders = decision.orders[go, slot]
    dist = decision.dist[go, slot]
    ok = orders >= 0
    go, slot, orders, dist = go[ok], slot[ok], orders[ok], dist[ok]
    order = np.lexsort((decision.robots[go], dist, orders))
    go, slot, orders = go[order], slot[order], orders[order]
    first = np.ones(orders.size, dtype=bool)
    first[1:] = orders[1:] != orders[:-1]
    return go[first], slot[first]


def resolve_conflicts(decision: Decision, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn per-robot choices (``K`` = WAIT) into one-to-one ``(robots, orders)``.

    Two robots choosing the same order: the nearer one gets it (ties: lower robot id); the
    other waits until the next event.
    """
    rows, slots = _winners(decision, choice)
    if rows.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return decision.robots[rows], decision.orders[rows, slots]


def apply_decision(
    sim: Simulation, decision: Decision, choice: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Assign the winning choices (:func:`resolve_conflicts`) and route the robots whose slot
    goes through a hub via that hub; returns ``(robots, orders)``."""
    rows, slots = _winners(decision, choice)
    if rows.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    robots, orders = decision.robots[rows], decision.orders[rows, slots]
    sim.assign(robots, orders)
    if decision.waypoints is not None:
        hub = decision.waypoints[rows, slots]
        via = hub >= 0
        if via.any():
            sim.set_waypoints(robots[via], hub[via])
    return robots, orders
