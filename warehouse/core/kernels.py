"""Compiled inner loops of the core (numba ``@njit(cache=True)``).

The rules live in the docstrings of :mod:`warehouse.core.physics` and
:mod:`warehouse.core.observe`; these kernels are their single implementation. Every kernel is
linear in the number of robots (plus the size of the touched scratch entries) and allocates
nothing but its outputs.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

UNREACHABLE = 65535  # == warehouse.floor.UNREACHABLE (uint16 max)
IDLE, TO_PICK, PICKING, TO_DROP, DROPPING, TO_GOAL = 0, 1, 2, 3, 4, 5  # == state.Phase


@numba.njit(cache=True)
def _fill_occupant(pos: np.ndarray, occ: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(pos.size):
        occ[pos[i]] = i


@numba.njit(cache=True)
def _clear_occupant(pos: np.ndarray, occ: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(pos.size):
        occ[pos[i]] = -1


@numba.njit(cache=True)
def mark_swaps(pos, target, occ, out):  # pragma: no cover - compiled
    """``out[i]`` = robot ``i`` moves onto the node of a robot moving onto ``i``'s node.

    ``occ`` is node -> robot id scratch, all -1 on entry and on exit. Returns the pair count.
    """
    n = pos.size
    _fill_occupant(pos, occ)
    pairs = 0
    for i in range(n):
        out[i] = False
    for i in range(n):
        t = target[i]
        if t != pos[i]:
            j = occ[t]
            if j >= 0 and target[j] == pos[i]:
                out[i] = True
                if j > i:
                    pairs += 1
    _clear_occupant(pos, occ)
    return pairs


@numba.njit(cache=True)
def _mover_lists(pos, target, head, nxt):  # pragma: no cover - compiled
    """Linked lists of the robots moving into each node (``head[node]``, ``nxt[robot]``)."""
    for i in range(pos.size - 1, -1, -1):  # built backwards: each list is in id order
        t = target[i]
        if t != pos[i]:
            nxt[i] = head[t]
            head[t] = i


@numba.njit(cache=True)
def resolve_physical_kernel(pos, target, n_nodes):  # pragma: no cover - compiled
    """See :func:`warehouse.core.physics.resolve_physical`; returns (final, failed, incidents)."""
    n = pos.size
    final = np.empty(n, np.int32)
    failed = np.empty(n, np.bool_)
    incidents = resolve_physical_into(
        pos,
        target,
        np.full(n_nodes, -1, np.int32),
        np.zeros(n_nodes, np.int32),
        np.full(n_nodes, -1, np.int32),
        np.full(n, -1, np.int32),
        np.zeros(n_nodes, np.bool_),
        final,
        failed,
    )
    return final, failed, incidents


@numba.njit(cache=True)
def resolve_physical_into(
    pos, target, occ, count, head, nxt, contested, final, failed
):  # pragma: no cover - compiled
    """:func:`resolve_physical_kernel` on reusable scratch; returns the incident count.

    ``occ`` and ``head`` are node-sized int32 scratch, all -1 on entry and on exit; ``count``
    (int32) and ``contested`` (bool) are node-sized, all 0 on entry and on exit; ``nxt`` is
    robot-sized int32 scratch. ``final`` and ``failed`` are written.
    """
    n = pos.size
    incidents = mark_swaps(pos, target, occ, failed)
    _mover_lists(pos, target, head, nxt)
    for i in range(n):
        count[pos[i] if failed[i] else target[i]] += 1
    stack = np.empty(n + n, np.int32)
    top = 0
    for i in range(n):
        if target[i] != pos[i] and not failed[i] and count[target[i]] > 1:
            stack[top] = target[i]
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        if contested[v] or count[v] <= 1:
            continue
        contested[v] = True
        incidents += 1
        r = head[v]
        while r >= 0:
            if not failed[r]:  # every robot still entering v fails and stays home
                failed[r] = True
                count[v] -= 1
                home = pos[r]
                count[home] += 1
                if count[home] > 1 and head[home] >= 0 and top < stack.size:
                    stack[top] = home
                    top += 1
            r = nxt[r]
    for i in range(n):
        final[i] = pos[i] if failed[i] else target[i]
    for i in range(n):  # leave the scratch as it was found (only touched entries)
        p, t = pos[i], target[i]
        count[p] = 0
        count[t] = 0
        contested[p] = False
        contested[t] = False
        head[t] = -1
    return incidents


@numba.njit(cache=True)
def move_targets_kernel(
    actions, pos, fmask, nbr, broken, phase, closed_until, t, closures, leave, legal, target
):  # pragma: no cover - compiled
    """``legal``: ``actions`` with masked or out-of-range ones replaced by WAIT (the rules of
    :meth:`Simulation.action_mask`, without building the mask); ``target``: the node each
    robot's legal action leads to.

    The move rule is written here and in :func:`action_mask_kernel` alike, on purpose: one shared
    compiled helper cost about 20 % of the 1,000-robot benchmark (measured, fifth session).
    ``tests/test_core.py`` checks that the two agree, breakdowns and closures included."""
    n_act = fmask.shape[1]
    for i in range(actions.size):
        a = actions[i]
        p = pos[i]
        ok = a > 0 and a < n_act and fmask[p, a]
        if ok and (broken[i] > 0 or phase[i] == PICKING or phase[i] == DROPPING):
            ok = False
        if ok and closures and closed_until[nbr[p, a]] > t:
            q = leave[nbr[p, a]]  # a robot inside a scheduled closure may move outward
            ok = q > 0 and q < leave[p]
        legal[i] = a if ok else 0
        target[i] = nbr[p, a] if ok else p


@numba.njit(cache=True)
def step_moves_kernel(
    actions, pos, fmask, nbr, broken, phase, closed_until, t, closures, leave, legal, target,
    refused,
):  # fmt: skip  # pragma: no cover - compiled
    """:func:`move_targets_kernel`, and ``refused`` = ``legal != actions`` (the step's
    ``StepResult.refused``) in the same compiled call: a numpy comparison cost the step ~4 µs
    of cold ufunc machinery at 1,000 robots."""
    move_targets_kernel(
        actions, pos, fmask, nbr, broken, phase, closed_until, t, closures, leave, legal, target
    )
    for i in range(actions.size):
        refused[i] = legal[i] != actions[i]


@numba.njit(cache=True)
def shield_changes_kernel(pos, nbr, actions, shielded, changed, target):  # pragma: no cover
    """``changed`` = ``shielded != actions``; the target node of every changed action is
    recomputed in ``target``. Returns how many changed, or -1 if an action is out of range."""
    count = 0
    for i in range(pos.size):
        changed[i] = shielded[i] != actions[i]
        if changed[i]:
            if shielded[i] < 0 or shielded[i] >= nbr.shape[1]:
                return -1
            target[i] = nbr[pos[i], shielded[i]]
            count += 1
    return count


@numba.njit(cache=True)
def block_shield_kernel(pos, actions, nbr, occ, head, nxt, stop, out):  # pragma: no cover
    """The ``block`` shield in one pass: ``out`` = ``actions`` with the moves that
    :func:`resolve_block_kernel` stops replaced by WAIT."""
    n = pos.size
    target = np.empty(n, np.int32)
    for i in range(n):
        target[i] = nbr[pos[i], actions[i]]
    resolve_block_kernel(pos, target, occ, head, nxt, stop)
    for i in range(n):
        out[i] = 0 if stop[i] else actions[i]


@numba.njit(cache=True)
def resolve_block_kernel(pos, target, occ, head, nxt, stop):  # pragma: no cover - compiled
    """See :func:`warehouse.core.physics.resolve_block`; writes the WAIT mask into ``stop``.

    ``occ`` and ``head`` are node-sized int32 scratch, all -1 on entry and on exit.
    """
    n = pos.size
    mark_swaps(pos, target, occ, stop)
    _fill_occupant(pos, occ)
    for i in range(n):
        nxt[i] = -1
    _mover_lists(pos, target, head, nxt)
    # Each node with a mover is examined once at first, then again whenever its occupant stops.
    stack = np.empty(2 * n, np.int32)
    top = 0
    for i in range(n):
        t = target[i]
        if t != pos[i] and head[t] == i:  # first mover of its node: push the node once
            stack[top] = t
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        owner = occ[v]
        owner_stays = owner >= 0 and (target[owner] == v or stop[owner])
        winner = -1
        r = head[v]
        while r >= 0:
            if not stop[r]:
                if owner_stays or winner >= 0:
                    stop[r] = True  # lists are in id order: the first live mover wins
                    home = pos[r]
                    if head[home] >= 0 and top < stack.size:
                        stack[top] = home
                        top += 1
                else:
                    winner = r
            r = nxt[r]
    for i in range(n):
        t = target[i]
        if t != pos[i]:
            head[t] = -1
    _clear_occupant(pos, occ)


@numba.njit(cache=True, nogil=True)
def robot_layers_kernel(pos, phase, node_pos, rad, robot_grid, value):  # pragma: no cover
    """Write ``value`` at every robot's cell of the observation's robot layer (layer 0) and,
    for robots carrying an order, of the carrying layer (layer 1); ``value`` 0 clears both."""
    for i in range(pos.size):
        r = node_pos[pos[i], 0] + rad
        c = node_pos[pos[i], 1] + rad
        robot_grid[0, r, c] = value
        if value == 0 or phase[i] == TO_DROP or phase[i] == DROPPING:
            robot_grid[1, r, c] = value


@functools.cache
def observe_rows_kernel(side: int):  # type: ignore[no-untyped-def]
    """The observation row kernel for windows of ``side × side`` cells (below).

    ``side`` is a compile-time constant of the kernel (numba freezes closure variables), so the
    window loops have a fixed trip count and are unrolled; one kernel is compiled and cached
    per window size.
    """
    side = int(side)

    @numba.njit(cache=True, nogil=True)
    def kernel(
        lo, hi, pos, phase, target, target_slot, table, padded, obst_grid, robot_grid,
        timer, broken, waypoint, node_pos, radius2, size, diam, work, out,
    ):  # fmt: skip  # pragma: no cover - compiled
        _observe_rows(
            side, lo, hi, pos, phase, target, target_slot, table, padded, obst_grid, robot_grid,
            timer, broken, waypoint, node_pos, radius2, size, diam, work, out,
        )  # fmt: skip

    return kernel


@numba.njit(inline="always", nogil=True)
def _observe_rows(
    side,
    lo,
    hi,
    pos,
    phase,
    target,
    target_slot,
    table,
    padded,
    obst_grid,
    robot_grid,
    timer,
    broken,
    waypoint,
    node_pos,
    radius2,
    size,
    diam,
    work,
    out,
):  # pragma: no cover - compiled
    """Fill rows ``lo:hi`` of ``out`` (N, 4K + 12) with the observation documented in
    :mod:`.observe` (the rows are independent: :func:`~.threads.split_rows` runs ranges on
    several threads).

    ``padded`` is the floor's ``cell_of`` grid padded by the radius on every side, with the
    sentinel ``n_nodes`` wherever there is no node, so the window of a robot at ``(r, c)`` is
    ``padded[r : r + side, c : c + side]``. ``obst_grid`` is the same grid as float32 obstacle
    values (1 at the sentinel and at closed nodes). ``robot_grid`` is float32 scratch of shape
    ``(2, *padded.shape)`` holding the fleet's layers (:func:`robot_layers_kernel`; layer 0: a
    robot stands there, layer 1: it carries an order). Windows are copied as contiguous grid
    rows, without per-cell node-id indirection, except for the cost-to-go channel, which needs
    the node ids to read the distance row.
    """
    u = np.uint64  # unsigned indices: numba then skips its negative-index wraparound checks
    sd = u(side)
    k = sd * sd
    center = k // u(2)
    sentinel = table.shape[1]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    # Cost-to-go value of every step difference; beyond ±span it is clipped to ±1 anyway.
    span = np.int32(side) + 1
    ctg = np.empty(2 * span + 1, np.float32)
    for j in range(2 * span + 1):
        rel = np.float32(j - span) / radius2
        ctg[j] = min(max(rel, -one), one)
    # The grids as flat arrays: window row dr of a robot at (r0, c0) starts at g0 + dr * width.
    width = u(padded.shape[1])
    cells = padded.ravel()
    obst = obst_grid.ravel()
    robots = robot_grid[0].ravel()
    carrying = robot_grid[1].ravel()
    # Rows of ``out`` (and of ``table``) are addressed by offsets, not as per-row views: each
    # view of a row would count a reference (an atomic increment and decrement) per robot.
    flat = out.reshape(out.size)  # a view (reshape refuses a non-contiguous out; ravel copies)
    ncol = u(out.shape[1])
    for i in range(lo, hi):
        p = u(pos[i])
        slot = target_slot[i]
        o = u(i) * ncol  # the robot's row: flat[o : o + ncol]
        r0 = node_pos[p, 0]
        c0 = node_pos[p, 1]
        g0 = u(r0) * width + u(c0)
        for dr in range(sd):  # three straight row copies per window row
            base = dr * sd
            g = g0 + dr * width
            for dc in range(sd):
                flat[o + base + dc] = obst[g + dc]
                flat[o + k + base + dc] = robots[g + dc]
                flat[o + u(2) * k + base + dc] = carrying[g + dc]
        flat[o + k + center] = zero
        flat[o + u(2) * k + center] = zero
        d0 = np.int32(0)
        ch3 = u(3) * k
        if slot < 0:
            for c in range(k):
                flat[o + ch3 + c] = zero
        else:
            s = u(slot)
            d0 = np.int32(table[s, p])
            for dr in range(sd):
                g = g0 + dr * width
                base = ch3 + dr * sd
                for dc in range(sd):
                    v = cells[g + dc]
                    if v == sentinel:
                        flat[o + base + dc] = one
                        continue
                    d = np.int32(table[s, u(v)])
                    if d >= UNREACHABLE:
                        flat[o + base + dc] = one
                    else:
                        delta = min(max(d - d0, -span), span)
                        flat[o + base + dc] = ctg[delta + span]
        f = u(4) * k
        for q in range(u(12)):
            flat[o + f + q] = zero
        if slot >= 0:
            t = target[i]
            dr_ = np.float32(node_pos[t, 0] - r0) / size
            dc_ = np.float32(node_pos[t, 1] - c0) / size
            flat[o + f] = min(max(dr_, -one), one)
            flat[o + f + u(1)] = min(max(dc_, -one), one)
            if d0 >= UNREACHABLE:
                flat[o + f + u(2)] = one
            else:
                flat[o + f + u(2)] = min(np.float32(d0) / diam, one)
        flat[o + f + u(3 + phase[i])] = one
        flat[o + f + u(9)] = one if broken[i] > 0 else zero
        flat[o + f + u(10)] = min(np.float32(timer[i]) / work, one)
        flat[o + f + u(11)] = one if waypoint[i] >= 0 else zero


@numba.njit(cache=True)
def action_mask_kernel(
    pos, fmask, nbr, broken, phase, closed_until, t, closures, leave, out
):  # pragma: no cover - compiled
    """``out[i]`` = allowed actions of robot ``i`` (see :meth:`Simulation.action_mask`)."""
    n_act = fmask.shape[1]
    for i in range(pos.size):
        p = pos[i]
        frozen = broken[i] > 0 or phase[i] == PICKING or phase[i] == DROPPING
        out[i, 0] = True
        for a in range(1, n_act):
            ok = fmask[p, a] and not frozen
            if ok and closures and closed_until[nbr[p, a]] > t:
                q = leave[nbr[p, a]]  # a robot inside a scheduled closure may move outward
                ok = q > 0 and q < leave[p]
            out[i, a] = ok


@numba.njit(cache=True)
def legal_actions_kernel(actions, mask, out):  # pragma: no cover - compiled
    """Copy ``actions`` into ``out`` with out-of-range or masked actions replaced by WAIT."""
    n_act = mask.shape[1]
    for i in range(actions.size):
        a = actions[i]
        out[i] = a if (a >= 0 and a < n_act and mask[i, a]) else 0


@numba.njit(cache=True)
def move_and_advance_kernel(
    pos,
    final,
    actions,
    failed,
    intervened,
    length_m,
    state_distance,
    state_moves,
    state_collisions,
    state_interventions,
    phase,
    timer,
    waypoint,
    task_goal,
    order,
    broken,
    deliveries,
    order_station,
    order_delivered,
    t,
    pick_time,
    drop_time,
    moved_m,
    moved,
    delivered,
    reached_wp,
    done_drop,
    reached_goal,
    picked,
    phase_steps,
    blocked_steps,
    one_shot,
    arrived,
):  # pragma: no cover - compiled
    """Apply the resolved moves and advance every robot's task by one step.

    Robots end on ``final``; task rules as documented in :mod:`warehouse.core.simulation`.
    ``phase_steps`` and ``blocked_steps`` count, for the fleet, the phase each robot begins the
    step in, and the robots that begin it driving and do not move. ``picked`` flags the robots
    that finished picking (their target became the station). Returns how many robots reached
    their ``goal_visit`` goal.

    ``one_shot`` (``tasks.assignment: one_shot``): a robot keeps its goal after reaching it;
    only its first arrival counts (``arrived`` flags it: ``reached_goal``, ``delivered`` and
    ``deliveries`` once per robot), and a robot that begins the step on its goal and stays
    there holds it: that step is not a blocked one.
    """
    goals_reached = 0
    for i in range(pos.size):
        p = pos[i]
        mv = final[i] != p
        moved[i] = mv
        ph = phase[i]
        phase_steps[ph] += 1
        if not mv and (ph == TO_PICK or ph == TO_DROP or ph == TO_GOAL):
            if not (one_shot and ph == TO_GOAL and waypoint[i] < 0 and p == task_goal[i]):
                blocked_steps[0] += 1
        m = length_m[p, actions[i]] if mv else np.float32(0.0)
        moved_m[i] = m
        q = final[i]
        state_distance[i] += m
        if mv:
            state_moves[i] += 1
        if failed[i]:
            state_collisions[i] += 1
        if intervened[i]:
            state_interventions[i] += 1
        # Count down work at shelves and stations.
        if broken[i] == 0 and (phase[i] == PICKING or phase[i] == DROPPING):
            timer[i] -= 1
        # Reaching a dispatcher waypoint clears it.
        rw = waypoint[i] >= 0 and q == waypoint[i]
        reached_wp[i] = rw
        if rw:
            waypoint[i] = -1
        at_goal = waypoint[i] < 0 and q == task_goal[i]
        if at_goal and phase[i] == TO_PICK:
            phase[i] = PICKING
            timer[i] = pick_time
        if at_goal and phase[i] == TO_DROP:
            phase[i] = DROPPING
            timer[i] = drop_time
        pk = phase[i] == PICKING and timer[i] <= 0
        picked[i] = pk
        if pk:
            phase[i] = TO_DROP
            task_goal[i] = order_station[order[i]]
            if q == task_goal[i]:  # zero pick time with the station on the pick cell
                phase[i] = DROPPING
                timer[i] = drop_time
        dd = phase[i] == DROPPING and timer[i] <= 0
        done_drop[i] = dd
        if dd:
            order_delivered[order[i]] = t + 1
            phase[i] = IDLE
            order[i] = -1
            task_goal[i] = -1
        rg = at_goal and phase[i] == TO_GOAL
        if one_shot and rg:  # held after the first arrival: that one counts, no later one
            rg = not arrived[i]
            arrived[i] = True
        reached_goal[i] = rg
        goals_reached += rg
        delivered[i] = dd or rg
        if dd or rg:
            deliveries[i] += 1
    return goals_reached


@numba.njit(cache=True)
def resolve_and_advance_kernel(
    pos, target, occ, count, head, nxt, contested, final, failed, actions, intervened,
    length_m, state_distance, state_moves, state_collisions, state_interventions, phase, timer,
    waypoint, task_goal, order, broken, deliveries, order_station, order_delivered, t,
    pick_time, drop_time, moved_m, moved, delivered, reached_wp, done_drop, reached_goal,
    picked, phase_steps, blocked_steps, one_shot, arrived,
):  # fmt: skip  # pragma: no cover - compiled
    """:func:`resolve_physical_into` (``final``, ``failed``), then :func:`move_and_advance_kernel`
    on its outcome, in one compiled call (the step's; one call fewer, ~3 µs at 1,000 robots).
    Returns ``(incidents, goals_reached)``."""
    incidents = resolve_physical_into(pos, target, occ, count, head, nxt, contested, final, failed)
    goals_reached = move_and_advance_kernel(
        pos, final, actions, failed, intervened, length_m, state_distance, state_moves,
        state_collisions, state_interventions, phase, timer, waypoint, task_goal, order, broken,
        deliveries, order_station, order_delivered, t, pick_time, drop_time, moved_m, moved,
        delivered, reached_wp, done_drop, reached_goal, picked, phase_steps, blocked_steps,
        one_shot, arrived,
    )  # fmt: skip
    return incidents, goals_reached


@numba.njit(cache=True)
def progress_kernel(
    slot,
    table,
    pos,
    phase,
    waypoint,
    reset,
    best_dist,
    since_progress,
    dist_now,
    stuck_after,
    stuck_steps,
):  # pragma: no cover - compiled
    """Closest approach to the target and steps without progress (``_update_progress``), and
    ``stuck_steps[i] += 1`` for robots that end the step stuck (``since_progress ≥
    stuck_after``, the rule of ``kpis.stuck_robots``). A robot counts while it drives to a
    target: with a task (not at work), or idle with a sub-goal (a parking spot, an evacuation
    cell), so that the shields' stall rescue moves it when its navigator keeps it waiting."""
    big = np.int32(2147483647)
    for i in range(pos.size):
        d = np.int32(0)
        if slot[i] >= 0:
            d = np.int32(table[slot[i], pos[i]])
        dist_now[i] = d
        improved = d < best_dist[i]
        if reset[i] or improved:
            best_dist[i] = d
        at_work = phase[i] == PICKING or phase[i] == DROPPING
        has_task = not at_work and (phase[i] != IDLE or waypoint[i] >= 0)
        if reset[i] or improved or not has_task:
            since_progress[i] = 0
        elif since_progress[i] < big:
            since_progress[i] += 1
        if since_progress[i] >= stuck_after:
            stuck_steps[i] += 1


@numba.njit(cache=True)
def finish_step_kernel(
    phase,
    moved,
    target,
    delivered,
    reached_wp,
    busy_steps,
    waits,
    since_goal,
    moved_m,
    failed,
    became_idle,
    picked,
    per_metre,
    delivery,
    collision,
    per_step,
    reward,
    reset,
    cost,
):  # pragma: no cover - compiled
    """Time counters, the reward, the progress-reset flags and the safety cost (``failed`` as
    float32) of one step."""
    for i in range(phase.size):
        cost[i] = np.float32(1.0) if failed[i] else np.float32(0.0)
        # A new target (a waypoint reached, the order picked, the task done) restarts the
        # progress measure: closeness to the old target says nothing about the new one.
        reset[i] = delivered[i] or reached_wp[i] or became_idle[i] or picked[i]
        has_task = phase[i] != IDLE
        if has_task or delivered[i]:  # (the step that ends a task counts: it began with one)
            busy_steps[i] += 1
        if has_task and not moved[i] and target[i] >= 0:
            waits[i] += 1
        if delivered[i] or reached_wp[i]:
            since_goal[i] = 0
        else:
            since_goal[i] += 1
        r = per_metre * np.float64(moved_m[i]) + per_step
        if delivered[i]:
            r += delivery
        if failed[i]:
            r += collision
        reward[i] = np.float32(r)


@numba.njit(cache=True)
def target_slots_kernel(
    waypoint, task_goal, slot_of, last_used, clock, target, slot
):  # pragma: no cover - compiled
    """``target`` = waypoint, else task goal, else -1; ``slot`` = its distance-table row.

    Marks the rows used at ``clock`` (LRU). Returns how many targets have no row yet (their
    ``slot`` is -1 then; the caller computes the rows and calls again).
    """
    missing = 0
    for i in range(target.size):
        t = waypoint[i] if waypoint[i] >= 0 else task_goal[i]
        target[i] = t
        if t < 0:
            slot[i] = -1
            continue
        s = slot_of[t]
        slot[i] = s
        if s < 0:
            missing += 1
        else:
            last_used[s] = clock
    return missing


@numba.njit(cache=True)
def assign_kernel(
    robots, orders, t, phase, order, task_goal, pick, robot, assigned, open_ids
):  # pragma: no cover - compiled
    """``Simulation.assign`` after its checks: robot ``robots[i]`` takes order ``orders[i]``
    (heads for its pick location). Returns the open orders still unassigned (order kept)."""
    for i in range(robots.size):
        r, o = robots[i], orders[i]
        phase[r] = TO_PICK
        order[r] = o
        task_goal[r] = pick[o]
        robot[o] = r
        assigned[o] = t
    return still_open_kernel(open_ids, assigned)


@numba.njit(cache=True)
def write_orders_kernel(
    pick, station, step, lo, book_pick, book_station, arrival, assigned, robot, delivered,
    open_ids,
):  # fmt: skip  # pragma: no cover - compiled
    """Orders ``pick[j] → station[j]`` created at ``step``, written into the order book's arrays
    at ids ``lo + j`` (unassigned, no robot, not delivered), the one rule of
    :meth:`~warehouse.core.state.OrderBook.add`. Returns ``open_ids`` with the new ids appended
    (a new array)."""
    k = pick.size
    for j in range(k):
        i = lo + j
        book_pick[i] = pick[j]
        book_station[i] = station[j]
        arrival[i] = step
        assigned[i] = -1
        robot[i] = -1
        delivered[i] = -1
    n_open = open_ids.size
    out = np.empty(n_open + k, open_ids.dtype)
    out[:n_open] = open_ids
    for j in range(k):
        out[n_open + j] = lo + j
    return out


@numba.njit(cache=True)
def arrival_draws_kernel(cdf, u, picks, stations, station_idx, keep):  # pragma: no cover
    """The first ``keep`` arrivals of a step: order ``j`` picks at
    ``picks[min(searchsorted(cdf, u[j]), picks.size - 1)]`` (the leftmost bin with
    ``cdf ≥ u[j]``, as ``np.searchsorted``: Zipf popularity) for ``stations[station_idx[j]]``.
    One compiled pass instead of a handful of numpy calls per step."""
    last = picks.size - 1
    pick = np.empty(keep, picks.dtype)
    station = np.empty(keep, stations.dtype)
    for j in range(keep):
        x = u[j]
        a, b = 0, cdf.size
        while a < b:  # leftmost index with cdf[index] >= x
            m = (a + b) >> 1
            if cdf[m] < x:
                a = m + 1
            else:
                b = m
        pick[j] = picks[min(a, last)]
        station[j] = stations[station_idx[j]]
    return pick, station


@numba.njit(cache=True)
def arrivals_kernel(
    cdf, u, picks, stations, station_idx, keep, step, lo, book_pick, book_station, arrival,
    assigned, robot, delivered, open_ids,
):  # fmt: skip  # pragma: no cover - compiled
    """A step's first ``keep`` arrivals drawn by :func:`arrival_draws_kernel` and written into
    the order book by :func:`write_orders_kernel` in one call (a step's arrivals cost one
    compiled call, not two and the Python between them). Returns the new ``open_ids``."""
    pick, station = arrival_draws_kernel(cdf, u, picks, stations, station_idx, keep)
    return write_orders_kernel(
        pick, station, step, lo, book_pick, book_station, arrival, assigned, robot, delivered,
        open_ids,
    )  # fmt: skip


def _bitgen_call(slot: int, ll_type: ir.Type, nb_type: types.Type):  # type: ignore[no-untyped-def]
    """A compiled call of the function at ``slot`` of a numpy ``bitgen_t`` (numpy's C API,
    ``numpy/random/bitgen.h``: ``{state, next_uint64, next_uint32, next_double, next_raw}``)
    on its ``state``, given the struct's address (:func:`bitgen_address`)."""

    @intrinsic
    def call(typingctx, bitgen):  # type: ignore[no-untyped-def]
        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            i8p = ir.IntType(8).as_pointer()
            fields = builder.inttoptr(args[0], i8p.as_pointer())
            state = builder.load(builder.gep(fields, [ir.Constant(ir.IntType(64), 0)]))
            fn = builder.load(builder.gep(fields, [ir.Constant(ir.IntType(64), slot)]))
            fn = builder.bitcast(fn, ir.FunctionType(ll_type, [i8p]).as_pointer())
            return builder.call(fn, [state])

        return nb_type(types.uintp), codegen

    return call


_next_uint32 = _bitgen_call(2, ir.IntType(32), types.uint32)
_next_double = _bitgen_call(3, ir.DoubleType(), types.float64)


def bitgen_address(generator: np.random.Generator) -> int:
    """The address of ``generator``'s ``bitgen_t`` for the compiled draws below (valid while
    the generator lives: keep a reference to it alongside)."""
    return int(generator.bit_generator.ctypes.bit_generator.value)


@numba.njit(cache=True)
def uniform_fill(bitgen, out):  # pragma: no cover - compiled
    """``out[:] = Generator.random(out.size)``, the same numbers from the same stream (numpy's
    ``random_standard_uniform_fill``: one ``next_double`` each)."""
    for j in range(out.size):
        out[j] = _next_double(bitgen)


@numba.njit(cache=True)
def bounded_fill(bitgen, n, out):  # pragma: no cover - compiled
    """``out[:] = Generator.integers(n, size=out.size)`` for ``1 ≤ n < 2**32``, the same
    numbers from the same stream: numpy's ``random_bounded_uint64_fill`` (no draw when
    ``n == 1``; else Lemire's rejection on ``next_uint32``, which keeps the half of a 64-bit
    output it did not use in the bit generator's state, ``has_uint32``)."""
    rng = np.uint64(n - 1)
    if rng == 0:
        for j in range(out.size):
            out[j] = 0
        return
    excl = rng + np.uint64(1)
    low = np.uint64(0xFFFFFFFF)
    threshold = (low - rng) % excl
    for j in range(out.size):
        m = np.uint64(_next_uint32(bitgen)) * excl
        left = m & low
        if left < excl:
            while left < threshold:
                m = np.uint64(_next_uint32(bitgen)) * excl
                left = m & low
        out[j] = m >> np.uint64(32)


@numba.njit(cache=True)
def draw_arrivals_kernel(
    bitgen, k, cdf, picks, stations, keep, step, lo, book_pick, book_station, arrival,
    assigned, robot, delivered, open_ids,
):  # fmt: skip  # pragma: no cover - compiled
    """A step's ``k`` arrivals drawn from the order stream (``bitgen``) as
    ``u = rng.random(k)`` then ``station_idx = rng.integers(stations.size, size=k)`` would draw
    them (the same numbers, the stream left in the same state), the first ``keep`` of them
    written by :func:`arrivals_kernel`. Returns the new ``open_ids``."""
    u = np.empty(k, np.float64)
    uniform_fill(bitgen, u)
    station_idx = np.empty(k, np.int64)
    bounded_fill(bitgen, stations.size, station_idx)
    if keep == 0:
        return open_ids
    return arrivals_kernel(
        cdf, u, picks, stations, station_idx, keep, step, lo, book_pick, book_station,
        arrival, assigned, robot, delivered, open_ids,
    )  # fmt: skip


@numba.njit(cache=True)
def reset_progress_kernel(robots, slot, table, pos, best_dist, since_progress):  # pragma: no cover
    """Robots with a new target start tracking progress afresh: the closest approach is where
    they stand (0 without a target) and no step without progress yet."""
    for i in range(robots.size):
        r = robots[i]
        best_dist[r] = np.int32(table[slot[r], pos[r]]) if slot[r] >= 0 else np.int32(0)
        since_progress[r] = 0


@numba.njit(cache=True)
def still_open_kernel(open_ids, assigned):  # pragma: no cover - compiled
    """``open_ids[assigned[open_ids] < 0]`` (order is kept)."""
    out = np.empty(open_ids.size, open_ids.dtype)
    k = 0
    for i in range(open_ids.size):
        if assigned[open_ids[i]] < 0:
            out[k] = open_ids[i]
            k += 1
    return out[:k].copy()


@numba.njit(cache=True)
def idle_kernel(phase, broken):  # pragma: no cover - compiled
    """Ids (int32) of robots with no task that are not broken down."""
    count = 0
    for i in range(phase.size):
        if phase[i] == IDLE and broken[i] == 0:
            count += 1
    out = np.empty(count, np.int32)
    k = 0
    for i in range(phase.size):
        if phase[i] == IDLE and broken[i] == 0:
            out[k] = i
            k += 1
    return out


@numba.njit(cache=True)
def fits_int32(ids):  # pragma: no cover - compiled
    """Whether every integer of ``ids`` lies in int32's range (one pass, no temporaries)."""
    lo, hi = -2147483648, 2147483647
    for i in range(ids.size):
        if ids[i] < lo or ids[i] > hi:
            return False
    return True


@numba.njit(cache=True)
def check_assign_kernel(robots, orders, phase, assigned, n_orders, seen):  # pragma: no cover
    """Why ``Simulation.assign(robots, orders)`` must be refused: 0 fine, 1 robots repeat,
    2 orders repeat, 3 a robot is not idle, 4 an order is not open, 5 a robot id is out of
    range. ``seen`` is robot-sized bool scratch, all False on entry and on exit."""
    for i in range(robots.size):
        if robots[i] < 0 or robots[i] >= seen.size:
            return 5
    code = 0
    for i in range(robots.size):
        r = robots[i]
        if seen[r]:
            code = 1
            break
        seen[r] = True
    for i in range(robots.size):
        seen[robots[i]] = False
    if code:
        return code
    ordered = np.sort(orders)
    for i in range(1, ordered.size):
        if ordered[i] == ordered[i - 1]:
            return 2
    for i in range(robots.size):
        if phase[robots[i]] != IDLE:
            return 3
    for i in range(orders.size):
        o = orders[i]
        if o < 0 or o >= n_orders or assigned[o] >= 0:
            return 4
    return 0


@numba.njit(cache=True)
def any_at_least(values, threshold):  # pragma: no cover - compiled
    """``(values >= threshold).any()`` in one pass, without temporaries."""
    for v in values:
        if v >= threshold:
            return True
    return False
