"""Shadow mode: the incumbent drives the floor, the candidate's decisions are computed and logged.

Every step, on the very state the incumbent sees, the candidate's dispatcher computes the
assignment it would make and the candidate's navigator the moves it would make. Nothing the
candidate does reaches the simulation: dispatchers with a pure ``decide(sim)`` are asked
directly; any other dispatcher runs on a throw-away copy of the order book and fleet state.

Agreement is counted per robot and decision:

* dispatch: every idle robot at a step where either side assigns something; agree when both
  give it the same order or both leave it idle. Where robots outnumber orders most of them are
  left idle by both sides, so ``assignment_agreement`` also counts only the robots that at
  least one side gave an order (agree: both gave the same one);
* navigation: every robot with a target that may move; agree when the proposed moves match.

Confidence is the candidate's action-probability margin (top-1 minus top-2 probability): its
softmax over candidates + WAIT for the PPO dispatcher (at steps its decision clock is due; at
other steps it decides nothing, as on the floor), the softmax of its preference scores for the
navigator (divided by its temperature when it samples its moves, as ``cql_ft`` does).

Outputs in ``--out``: ``shadow.json`` (summary), ``divergences.csv`` (one row per diverging
decision: step, kind, robot, row, col, incumbent, candidate, margin; ``incumbent`` and
``candidate`` are order ids for dispatch, -1 for none, and action indices for navigation, 0
WAIT; ``margin`` is empty where the candidate gives no probabilities or scores, and such
decisions are left out of the mean margins) and ``divergence.png`` (divergence per floor cell
for both kinds, and over time).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warehouse.atomic import save_figure_atomic, write_text_atomic
from warehouse.core import Simulation
from warehouse.fleet import Fleet, check_decision
from warehouse.provenance import loaded_weights, parts_weights

#: The hierarchical policy's parts, best available first (learned navigator, PIBT shield).
HIERARCHICAL = ("ppo", ("cql_tuned", "cql", "rule_based"), ("pibt", "block"))


def hierarchical_parts() -> tuple[str, str, str]:
    """``(dispatcher, navigator, collisions)`` of the hierarchical policy on this install: the
    first navigator of :data:`HIERARCHICAL` whose weights load (``cql_tuned``: the CQL network
    fine-tuned for the PIBT shield under it, the offline one otherwise; else ``rule_based``),
    PIBT when registered."""
    from agents import NAVIGATORS, make_navigator
    from warehouse.shield import make_shield

    nav = "rule_based"
    for name in HIERARCHICAL[1]:
        if name not in NAVIGATORS:
            continue
        try:
            make_navigator(name)
        except Exception:  # missing or unreadable weights: fall back
            continue
        nav = name
        break
    shield = "block"
    try:
        make_shield("pibt")
        shield = "pibt"
    except (ValueError, ImportError, KeyError):
        pass
    return HIERARCHICAL[0], nav, shield


def policy_parts(name: str, scenario: Any) -> tuple[str, str, str | None]:
    """``(dispatcher, navigator, collisions or None)`` of a policy name.

    Accepts :mod:`warehouse.policies` presets, ``hierarchical`` and ``DISPATCHER+NAVIGATOR``.
    """
    if "+" in name:
        disp, nav = name.split("+", 1)
        return disp, nav, None
    from warehouse.policies import PRESETS, resolve_policy

    if name == "hierarchical" and name not in PRESETS:
        return hierarchical_parts()
    spec = resolve_policy(name, scenario)
    return spec.dispatcher, spec.navigator, spec.collisions


def candidate_navigator(name: str, collisions: str | None, **kwargs: Any) -> Any:
    """The candidate's navigator (``kwargs``, e.g. ``checkpoint=``, go to its factory). One with
    a network per collision mode (``policy_for``, like ``cql_tuned``) proposes the moves of its
    network for the candidate's own shield ``collisions``, not for the shield of the incumbent
    that drives the floor."""
    from agents import make_navigator

    return for_shield(make_navigator(name, **kwargs), collisions)


def for_shield(nav: Any, collisions: str | None) -> Any:
    """``nav``, or the network it runs under the shield ``collisions`` when it has one per
    collision mode (``policy_for``); ``None``: ``nav`` itself (it picks by the floor's mode)."""
    if collisions is not None and hasattr(nav, "policy_for"):
        return nav.policy_for(collisions)
    return nav


def _softmax_margin(scores: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 softmax probability per row (``-inf`` = masked; 1 with one option;
    NaN for a row with no finite score)."""
    s = np.where(np.isfinite(scores), scores, -np.inf).astype(np.float64)
    top1 = s.max(axis=1, keepdims=True)
    s = s - np.where(np.isfinite(top1), top1, 0.0)
    p = np.exp(s)
    with np.errstate(invalid="ignore", divide="ignore"):
        p /= p.sum(axis=1, keepdims=True)
    top = np.sort(p, axis=1)[:, ::-1]
    return top[:, 0] - (top[:, 1] if top.shape[1] > 1 else 0.0)


def _diff_assignment(before: np.ndarray, sim: Simulation, robots: np.ndarray) -> np.ndarray:
    """Order each of ``robots`` received since ``before`` (their order ids), -1 for none."""
    now = sim.state.order[robots]
    return np.where(now != before[robots], now, -1)


@contextlib.contextmanager
def floor_generators_kept(sim: Simulation) -> Iterator[None]:
    """The simulation's generators leave the block as they entered it: a candidate that draws
    from them (against the rule that a part draws from its own) cannot change the orders,
    faults or goals of the incumbent's floor."""
    saved = sim.rng_states()
    try:
        yield
    finally:
        for name, state in saved.items():
            getattr(sim, name).bit_generator.state = state


def decide_without_mutation(dispatcher: Any, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """``(robots, orders)`` the dispatcher would assign now; ``sim`` is left untouched.

    A dispatcher with a decision clock (the PPO dispatcher) runs its ``dispatch`` on the copy,
    so that it decides only when its clock is due and its clock advances as it would on the
    floor; its pure ``decide`` would answer at every step."""
    if hasattr(dispatcher, "decide") and not hasattr(dispatcher, "clock"):
        return dispatcher.decide(sim)
    shadow = copy.copy(sim)  # shares the floor and the distance cache (read-only use)
    shadow.state = copy.deepcopy(sim.state)
    shadow.orders = copy.deepcopy(sim.orders)
    before = shadow.state.order.copy()
    idle = sim.idle_robots()
    dispatcher.dispatch(shadow)
    got = _diff_assignment(before, shadow, idle)
    keep = got >= 0
    return idle[keep], got[keep]


@dataclass
class ShadowLog:
    steps: int = 0
    dispatch_decisions: int = 0
    dispatch_agree: int = 0
    dispatch_margin: list[float] = field(default_factory=list)
    assignments: int = 0  #: idle robots that at least one side gave an order
    assignments_agree: int = 0  #: … and that both gave the same order
    nav_decisions: int = 0
    nav_agree: int = 0
    nav_margin: list[float] = field(default_factory=list)
    rows: list[tuple[int, str, int, int, int, int, int, float]] = field(default_factory=list)
    per_step: list[tuple[int, int, int, int]] = field(default_factory=list)  # t, d_n, d_div, n_div

    def summary(self) -> dict[str, Any]:
        def rate(a: int, n: int) -> float | None:
            return a / n if n else None

        def mean(xs: list[float]) -> float | None:
            known = [x for x in xs if np.isfinite(x)]  # NaN: a side without probabilities
            return float(np.mean(known)) if known else None

        div = [r for r in self.rows if r[1] == "dispatch"]
        nav = [r for r in self.rows if r[1] == "navigation"]
        return {
            "steps": self.steps,
            "dispatch": {
                "decisions": self.dispatch_decisions,
                "agreement": rate(self.dispatch_agree, self.dispatch_decisions),
                "assignments": self.assignments,
                "assignment_agreement": rate(self.assignments_agree, self.assignments),
                "mean_margin": mean(self.dispatch_margin),
                "mean_margin_when_diverging": mean([r[7] for r in div]),
                "first_divergence_step": div[0][0] if div else None,
            },
            "navigation": {
                "decisions": self.nav_decisions,
                "agreement": rate(self.nav_agree, self.nav_decisions),
                "mean_margin": mean(self.nav_margin),
                "mean_margin_when_diverging": mean([r[7] for r in nav]),
                "first_divergence_step": nav[0][0] if nav else None,
            },
        }


class _SpyDispatcher:
    """Runs the incumbent dispatcher and logs the candidate's decision on the same state."""

    def __init__(self, incumbent: Any, candidate: Any, log: ShadowLog) -> None:
        self.incumbent, self.candidate, self.log = incumbent, candidate, log
        self.name = getattr(incumbent, "name", "incumbent")

    def reset(self, seed: int | None) -> None:
        self.incumbent.reset(seed)
        self.candidate.reset(seed)

    def dispatch(self, sim: Simulation) -> None:
        idle = sim.idle_robots()
        margins = np.full(sim.n_robots, np.nan)
        scorer = self.candidate
        while hasattr(scorer, "inner"):  # a starvation guard or task swaps around the network
            scorer = scorer.inner
        clock = getattr(scorer, "clock", None)
        deciding = clock is None or clock.due(sim)  # waiting for its clock: it decides nothing
        with floor_generators_kept(sim):
            if deciding and hasattr(scorer, "probabilities"):
                decision, probs = scorer.probabilities(sim)
                if decision.robots.size:
                    top = np.sort(probs, axis=1)[:, ::-1]
                    margins[decision.robots] = top[:, 0] - top[:, 1]
            c_robots, c_orders = decide_without_mutation(self.candidate, sim)
        before = sim.state.order.copy()
        self.incumbent.dispatch(sim)
        inc = _diff_assignment(before, sim, idle)
        cand = np.full(sim.n_robots, -1, dtype=np.int64)
        cand[c_robots] = c_orders
        cand = cand[idle]
        if (inc >= 0).any() or (cand >= 0).any():
            agree = inc == cand
            log = self.log
            log.dispatch_decisions += idle.size
            log.dispatch_agree += int(agree.sum())
            assigned = (inc >= 0) | (cand >= 0)
            log.assignments += int(assigned.sum())
            log.assignments_agree += int((agree & assigned).sum())
            m = margins[idle]
            log.dispatch_margin.extend(m[np.isfinite(m)].tolist())
            rc = sim.floor.pos[sim.state.pos[idle]]
            for i in np.flatnonzero(~agree):
                log.rows.append(
                    (sim.t, "dispatch", int(idle[i]), int(rc[i, 0]), int(rc[i, 1]),
                     int(inc[i]), int(cand[i]), float(m[i]))
                )  # fmt: skip
            self.log.per_step.append((sim.t, idle.size, int((~agree).sum()), 0))


class _SpyNavigator:
    """Runs the incumbent navigator and logs the candidate's proposals on the same inputs."""

    def __init__(self, incumbent: Any, candidate: Any, log: ShadowLog) -> None:
        self.incumbent, self.candidate, self.log = incumbent, candidate, log
        self.name = getattr(incumbent, "name", "incumbent")
        self.needs_observation = bool(incumbent.needs_observation or candidate.needs_observation)
        self._observers: dict[tuple[int, int], Any] = {}  # navigators with their own layout
        #: a sampling candidate draws from softmax(scores / T): its margin is taken at that T
        self._temperature = float(getattr(candidate, "temperature", 1.0))

    def reset(self, seed: int | None) -> None:
        self.incumbent.reset(seed)
        self.candidate.reset(seed)

    def _observe(self, nav: Any, sim: Simulation, obs: np.ndarray | None) -> np.ndarray | None:
        """``obs`` (the scenario's layout), or ``nav``'s own layout when it brings one."""
        layout = getattr(nav, "observation", None)
        if not nav.needs_observation or layout is None or layout == sim.config.observation:
            return obs
        key = (id(nav), id(sim))
        if key not in self._observers:
            from warehouse.core import Observer

            self._observers[key] = Observer(sim, layout)
        return self._observers[key]()

    def act(self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        actions, prefs = self.incumbent.act(sim, self._observe(self.incumbent, sim, obs), mask)
        with floor_generators_kept(sim):
            answer = self.candidate.act(sim, self._observe(self.candidate, sim, obs), mask)
        # a wrong answer is named, as the incumbent's is
        c_actions, c_prefs = check_decision(self.candidate, answer, mask.shape)
        movable = (sim.state.target >= 0) & mask[:, 1:].any(axis=1)
        idx = np.flatnonzero(movable)
        log = self.log
        if idx.size:
            agree = actions[idx] == c_actions[idx]
            if c_prefs is None:  # a navigator without scores: its confidence is unknown
                margin = np.full(idx.size, np.nan)
            else:
                scores = np.asarray(c_prefs, dtype=np.float64)[idx] / self._temperature
                margin = _softmax_margin(scores)
            log.nav_decisions += idx.size
            log.nav_agree += int(agree.sum())
            log.nav_margin.extend(margin[np.isfinite(margin)].tolist())
            rc = sim.floor.pos[sim.state.pos[idx]]
            for i in np.flatnonzero(~agree):
                log.rows.append(
                    (sim.t, "navigation", int(idx[i]), int(rc[i, 0]), int(rc[i, 1]),
                     int(actions[idx[i]]), int(c_actions[idx[i]]), float(margin[i]))
                )  # fmt: skip
            log.per_step.append((sim.t, 0, 0, int((~agree).sum())))
        log.steps = sim.t + 1
        return actions, prefs


def run_shadow(
    sim: Simulation,
    incumbent: tuple[Any, Any],
    candidate: tuple[Any, Any],
    *,
    steps: int,
    seed: int | None,
    stop_when_solved: bool = False,
) -> ShadowLog:
    """Drive ``sim`` with the incumbent ``(dispatcher, navigator)`` for ``steps`` steps, or with
    ``stop_when_solved`` (``episode.stop_when_solved``) until the step at which the one-shot
    instance is solved, as ``warehouse run`` stops (:meth:`Fleet.run`)."""
    log = ShadowLog()
    fleet = Fleet(
        sim,
        _SpyDispatcher(incumbent[0], candidate[0], log),
        _SpyNavigator(incumbent[1], candidate[1], log),
    )
    fleet.reset(seed)
    fleet.run(steps, stop_when_solved=stop_when_solved)
    return log


def write_report(log: ShadowLog, sim: Simulation, out: str | Path, meta: dict[str, Any]) -> dict:
    """Write ``shadow.json``, ``divergences.csv`` and ``divergence.png`` into ``out``."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {**meta, **log.summary()}
    write_text_atomic(out / "shadow.json", json.dumps(summary, indent=2))
    table = io.StringIO(newline="")
    w = csv.writer(table)
    w.writerow(["step", "kind", "robot", "row", "col", "incumbent", "candidate", "margin"])
    # an unknown margin (a side without probabilities) is an empty cell, not "nan"
    w.writerows((*r[:7], r[7] if np.isfinite(r[7]) else "") for r in log.rows)
    write_text_atomic(out / "divergences.csv", table.getvalue())
    plot_divergence(log, sim, out / "divergence.png")
    return summary


def plot_divergence(log: ShadowLog, sim: Simulation, path: Path) -> None:
    """Heat maps of divergences per floor cell (dispatch, navigation) and a time series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, w = sim.floor.shape
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, kind in zip(axes[:2], ("dispatch", "navigation"), strict=True):
        grid = np.zeros((h, w))
        rows = [r for r in log.rows if r[1] == kind]
        if rows:
            rc = np.array([(r[3], r[4]) for r in rows])
            np.add.at(grid, (rc[:, 0], rc[:, 1]), 1)
        shown = np.ma.masked_where(sim.floor.cell_of < 0, grid)
        im = ax.imshow(shown, cmap="magma", interpolation="nearest")
        ax.set_title(f"{kind} divergences per cell ({len(rows)})")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046)
    ax = axes[2]
    t = np.arange(max(log.steps, 1))
    d = np.zeros(t.size)
    n = np.zeros(t.size)
    for step, _, d_div, n_div in log.per_step:
        if step < t.size:
            d[step] += d_div
            n[step] += n_div
    k = max(1, t.size // 50)
    kernel = np.ones(k) / k
    ax.plot(t, np.convolve(d, kernel, mode="same"), label="dispatch")
    ax.plot(t, np.convolve(n, kernel, mode="same"), label="navigation")
    ax.set_xlabel("step")
    ax.set_ylabel(f"divergences per step (mean over {k})")
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=100)


__all__ = [
    "ShadowLog",
    "asdict",
    "decide_without_mutation",
    "floor_generators_kept",
    "loaded_weights",
    "parts_weights",
    "run_shadow",
    "write_report",
]
