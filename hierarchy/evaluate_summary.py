"""``summary.md`` of ``python -m hierarchy.evaluate``: per floor the mean ± std of every config,
where the robot time goes, the target ratios with their paired per-seed differences, and the
networks the rows were measured with."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from warehouse.errors import display_path
from warehouse.report import format_ratio

from .evaluate_rows import learned_parts, network_digest, network_name

#: the KPIs of the per-floor tables
METRICS = (
    "deliveries",
    "throughput_per_hour",
    "collisions",
    "energy_per_delivery_wh",
    "oldest_open_order_s",
)


def _shown(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with checkpoint paths as the user would type them (relative to the working
    folder when below it); the rows keep the absolute paths they ran with."""
    from scenarios.load import PATH_KEYS

    return {k: display_path(v) if k in PATH_KEYS and v else v for k, v in settings.items()}


def _gridlocked(rows: list[dict[str, Any]]) -> str:
    """``"k/n"``: how many of the rows ended gridlocked (:func:`warehouse.report.is_gridlocked`);
    ``n/a`` for rows measured before the ``jammed_robots`` KPI existed."""
    from warehouse.report import is_gridlocked

    if any("jammed_robots" not in r for r in rows):
        return "n/a"
    jams = sum(is_gridlocked(r["jammed_robots"], r["robots"]) for r in rows)
    return f"{jams}/{len(rows)}"


#: the values a ratio of the summary is read against: parity and the targets of issue 5
RATIO_MARKS = (1.0, 1.22, 0.65)


def _ratio(a: float, b: float) -> str:
    """``a / b`` as text, to 3 decimals, or more where 3 would put it on or past one of
    :data:`RATIO_MARKS` though it is on the other side (``0.99997``, not ``1.000``, beside a
    target of ≥ 1.0); ``0 / 0`` and ``x / 0`` spelled out, missing data ``n/a``."""
    if np.isnan(a) or np.isnan(b):
        return "n/a"
    if b == 0:
        return "0 / 0 (both zero)" if a == 0 else f"{a:.1f} / 0"
    return format_ratio(a / b, RATIO_MARKS)


def _common(
    a: list[dict[str, Any]], b: list[dict[str, Any]], metric: str
) -> tuple[list[float], list[float]]:
    """``metric`` of ``a`` and of ``b`` on the seeds both define, in seed order."""
    va = {r["seed"]: float(r[metric]) for r in a if r.get(metric) is not None}
    vb = {r["seed"]: float(r[metric]) for r in b if r.get(metric) is not None}
    seeds = sorted(va.keys() & vb.keys())
    return [va[k] for k in seeds], [vb[k] for k in seeds]


def _paired_ratio(a: list[dict[str, Any]], b: list[dict[str, Any]], metric: str) -> str:
    """The ratio of the means of ``metric`` of ``a`` over ``b`` on the seeds both define (the
    seeds of :func:`_paired`, as ``report.json``'s ``paired`` ratio); ``n/a`` without one."""
    xa, xb = _common(a, b, metric)
    if not xa:
        return "n/a"
    return _ratio(float(np.mean(xa)), float(np.mean(xb)))


def _paired(a: list[dict[str, Any]], b: list[dict[str, Any]], metric: str) -> str:
    """Per-seed difference ``a − b`` of ``metric`` over the seeds both configs ran: its mean ±
    the 95 % confidence half-width (Student t), as text; empty with fewer than two seeds."""
    from warehouse.report import summarize as over_seeds

    xa, xb = _common(a, b, metric)
    if len(xa) < 2:
        return ""
    stat = over_seeds([x - y for x, y in zip(xa, xb, strict=True)])
    return f"{stat['mean']:+.1f} ± {stat['ci95']:.1f}"


def _time_table(groups: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """Markdown: where each config's robot time goes, in robot-steps per delivery (pooled over
    seeds). Loaded travel and handling are set by the orders served, so at saturation the
    empty travel and the blocked steps are what a fleet can win. Empty for rows measured
    before the time-share KPIs existed."""
    keys = ("empty_travel_share", "loaded_travel_share", "handling_share", "blocked_share")
    groups = [(c, rs) for c, rs in groups if all(r.get(k) is not None for r in rs for k in keys)]
    if not groups:
        return []
    lines = [
        "| config | empty travel / delivery | loaded travel + handling / delivery "
        "| blocked / delivery (within the travel) | blocked share | idle share |",
        "|---|---|---|---|---|---|",
    ]
    for c, rs in groups:
        done = sum(r["deliveries"] for r in rs)

        def per(*ks: str, rs: list[dict[str, Any]] = rs, done: int = done) -> str:
            """Robot-steps per delivery; undefined (n/a) when nothing was delivered."""
            steps = sum(r[k] * r["robots"] * r["steps"] for r in rs for k in ks)
            return f"{steps / done:.1f}" if done else "n/a"

        idle = 1 - np.mean([sum(r[k] for k in keys[:3]) for r in rs])
        blocked = np.mean([r["blocked_share"] for r in rs])
        lines.append(
            f"| {c} | {per(keys[0])} | {per(*keys[1:3])} | {per(keys[3])} "
            f"| {blocked:.3f} | {idle:.3f} |"
        )
    return [*lines, ""]


def weights_line(rows: list[dict[str, Any]]) -> str | None:
    """The summary's sentence on the networks behind ``rows``, from their ``weights`` records:
    each network's file and sha256 (:func:`~hierarchy.evaluate_rows.network_name`; a network
    whose file rows name two ways, from two working folders, once), with row counts where rows
    ran different ones, and how many rows of learned configs record none (written before rows
    recorded them)."""
    learned = [r for r in rows if learned_parts(r) or r.get("weights")]
    seen: dict[str, dict[str, int]] = {}  # network → digest → rows
    first: dict[tuple[str, str], str] = {}  # (part, digest) → the name it was first seen by
    for r in learned:
        for part, record in (r.get("weights") or {}).items():
            digest = network_digest(record)  # (one network run from two folders: named once)
            name = first.setdefault((part, digest), network_name(part, record))
            counts = seen.setdefault(name, {})
            counts[digest] = counts.get(digest, 0) + 1
    unknown = sum(not r.get("weights") for r in learned)
    if not seen:
        return f"Weights: not recorded in {_rows(unknown)}." if unknown else None
    named = [
        f"{name} `{next(iter(counts))}`"
        if len(counts) == 1
        else f"{name} " + " or ".join(f"`{d}` ({_rows(n)})" for d, n in counts.items())
        for name, counts in seen.items()
    ]
    line = f"Weights (sha256) these rows were measured with: {', '.join(named)}."
    return line + (f" Not recorded in {_rows(unknown)} of learned configs." if unknown else "")


def _rows(n: int) -> str:
    return f"{n} row" + "s" * (n != 1)


def summarize(rows: list[dict[str, Any]], nav: str) -> str:
    """Markdown: per scenario the mean ± std of every config (a KPI undefined on some of its
    seeds says on how many its mean is, ``(k/n seeds)``), then the target ratios (of the
    means over the seeds both configs define) with the paired per-seed differences behind them.
    The networks the rows were measured with are named from their records
    (:func:`weights_line`)."""
    lines = [f"NAV = `{nav}`. Mean ± std over seeds (population s.d., ddof 0).", ""]
    if used := weights_line(rows):
        lines[1:1] = ["", used]
    looks = sorted({r["lookahead"] for r in rows if r.get("lookahead") is not None})
    if looks:
        pools = ", ".join(map(str, looks))
        lines[0] += f" Order pool of greedy, Hungarian and PPO: lookahead {pools} (default 4)."
    ages = sorted({r["max_order_age"] for r in rows if r.get("max_order_age") is not None})
    if ages:
        lines[0] += f" Starvation guard around every dispatcher: {', '.join(map(str, ages))} s."
    if any(r.get("anticipate") for r in rows):
        lines[0] += " Anticipation in greedy, Hungarian and PPO (`--anticipate`)."
    if any(r.get("task_swaps") for r in rows):
        lines[0] += " Task swaps around every dispatcher (`--task-swaps`)."
    parks = sorted({r["park_idle"] for r in rows if r.get("park_idle") is not None})
    if parks:
        lines[0] += f" Parking around every dispatcher: after {', '.join(map(str, parks))} s idle."
    sets = sorted(
        {json.dumps(_shown(r["settings"]), sort_keys=True) for r in rows if r.get("settings")}
    )
    if sets:
        lines[0] += f" Scenario settings (`--set`): {'; '.join(sets)}."
    by: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["scenario"], r["config"]), []).append(r)
    scen = list(dict.fromkeys(r["scenario"] for r in rows))
    confs = list(dict.fromkeys(r["config"] for r in rows))
    for s in scen:
        seen = rows[[r["scenario"] for r in rows].index(s)]["seen_in_training"]
        lines += [f"### {s}{' (seen in training)' if seen else ' (never used in training)'}", ""]
        lines += ["| config | seeds | " + " | ".join(METRICS) + " | gridlocked |"]
        lines += ["|---" * (len(METRICS) + 3) + "|"]
        for c in confs:
            rs = by.get((s, c), [])
            if not rs:
                continue
            cells = []
            for m in METRICS:  # over the seeds that define it (None: no data, or undefined)
                v = np.array([r[m] for r in rs if r.get(m) is not None], dtype=float)
                cell = f"{v.mean():.1f} ± {v.std():.1f}" if v.size else "n/a"
                if 0 < v.size < len(rs):  # (as the run table: the seeds its mean covers)
                    cell += f" ({v.size}/{len(rs)} seeds)"
                cells.append(cell)
            cells.append(_gridlocked(rs))
            lines.append(f"| {c} | {len(rs)} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += _time_table([(c, by[(s, c)]) for c in confs if by.get((s, c))])

        hp, rp = "hierarchical (physical)", "rule_based (physical)"
        hb, hh = "hierarchical (pibt)", "hungarian + NAV (pibt)"
        pr, hr = "ppo + rule_based (pibt)", "hungarian + rule_based (pibt)"
        pairs = {
            "throughput hierarchical / rule_based (physical; ≥ 1.22)": (hp, rp, "deliveries"),
            "collisions hierarchical / rule_based (physical; ≤ 0.65)": (hp, rp, "collisions"),
            "energy per delivery hierarchical / rule_based (physical; target < 1)": (
                hp,
                rp,
                "energy_per_delivery_wh",
            ),
            "throughput hierarchical (pibt) / rule_based (block), as deployed": (
                hb,
                "rule_based (block)",
                "deliveries",
            ),
            "throughput hierarchical (pibt) / rule_based (pibt), same shield": (
                hb,
                "rule_based (pibt)",
                "deliveries",
            ),
            "energy per delivery hierarchical (pibt) / rule_based (block), as deployed": (
                hb,
                "rule_based (block)",
                "energy_per_delivery_wh",
            ),
            "throughput ppo / hungarian, same NAV + pibt (target ≥ 1.0)": (hb, hh, "deliveries"),
            "throughput hierarchical / ppo + cql frozen (pibt): online fine-tuning": (
                hb,
                "ppo + cql frozen (pibt)",
                "deliveries",
            ),
            "throughput ppo / hungarian, rule_based navigator + pibt": (pr, hr, "deliveries"),
            "throughput ppo + rule_based / rule_based (both physical)": (
                "ppo + rule_based (physical)",
                rp,
                "deliveries",
            ),
            "collisions ppo + rule_based / rule_based (both physical)": (
                "ppo + rule_based (physical)",
                rp,
                "collisions",
            ),
            "energy per delivery ppo + rule_based / rule_based (both physical)": (
                "ppo + rule_based (physical)",
                rp,
                "energy_per_delivery_wh",
            ),
        }
        lines += ["| ratio | value | difference per seed, paired (mean ± 95 % CI) |"]
        lines += ["|---|---|---|"]
        for k, (a, b, m) in pairs.items():
            rows_a, rows_b = by.get((s, a), []), by.get((s, b), [])
            value = _paired_ratio(rows_a, rows_b, m)
            if value != "n/a":
                diff = _paired(rows_a, rows_b, m)
                lines.append(f"| {k} | {value} | {diff} |")
        lines.append("")
    return "\n".join(lines)
