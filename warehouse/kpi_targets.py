"""KPI targets of ``warehouse sweep --target``: which swept setting meets them, and how surely.

A target is ``KPI>=VALUE`` or ``KPI<=VALUE`` on a KPI of :data:`~warehouse.kpis.KPI_NAMES`
(:func:`parse_target`). :func:`decide` judges every setting of a sweep from its per-seed KPI
values, for all targets at once (every one must hold):

* ``meets``: for every target, the end of the 95 % confidence interval of the mean over the
  seeds on the side that matters (``mean - ci95`` for ``>=``, ``mean + ci95`` for ``<=``; the
  ``±`` of the sweep's table, :func:`warehouse.report.summarize`) is on the target's side of
  it, or on it (the bound ``>= 400`` meets ``>= 400``). That needs two seeds or more and the KPI
  defined on every seed. With three targets or more each bound is widened to the
  one-sided ``1 − 0.05/k`` Student-t bound of the ``k`` targets (Bonferroni), so that all of them
  hold together with 95 % confidence, as the end of each two-sided 95 % interval (wrong with
  probability 2.5 %) already gives for one or two (:func:`joint_scale`);
* ``mean_only``: not that, but every target's mean is on its side: more seeds (or a larger
  margin) may show it meets;
* ``fails``: some target's mean is not (or the KPI is undefined on every seed).

A seed on which the KPI is undefined (``None``, e.g. cycle times of a run that delivered
nothing) does not meet the target on that seed, and keeps its setting from ``meets``.

With one swept key whose values are all numbers, the settings are taken in numeric order and
the answer is the smallest that ``meets`` (and the smallest that meets in the mean, when that
one is smaller); when none does and the largest fails even in the mean, the two largest values'
means say whether the trend points to a larger value (paired by seed, every missed target's
step with 95 % confidence, widened from three targets on as the bounds are). With several
swept keys or a non-numeric one there is no "smallest": every setting is judged, in the sweep's
order, and those that meet are listed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InputError

#: KPIs that no run in a ``tasks.mode`` defines (:mod:`warehouse.kpis`): goal_visit has no
#: orders. A target on one is refused before a sweep runs; one a new KPI adds is still caught
#: after the runs (every run ``None``).
UNDEFINED_IN_MODE = {
    "goal_visit": (
        "cycle_time_p50",
        "cycle_time_p95",
        "empty_travel_share",
        "loaded_travel_share",
        "handling_share",
        "oldest_open_order_s",
        "open_orders",
    )
}

#: KPIs that a run without the battery model (``battery.capacity_wh: null``) never defines.
BATTERY_KPIS = ("charging_share", "battery_depletions", "min_soc")

#: The verdicts, worst first.
VERDICTS = ("fails", "mean_only", "meets")

_TARGET = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*(\S+)\s*")


@dataclass(frozen=True)
class Target:
    """``kpi op value``, e.g. ``throughput_per_hour >= 400``."""

    kpi: str
    op: str  # ">=" or "<="
    value: float

    @property
    def text(self) -> str:
        return f"{self.kpi}{self.op}{_exact(self.value)}"

    @property
    def shown(self) -> str:
        return f"{self.kpi} {'≥' if self.op == '>=' else '≤'} {_exact(self.value)}"

    def holds(self, x: float | None) -> bool:
        if x is None:
            return False
        return x >= self.value if self.op == ">=" else x <= self.value

    def bound(self, mean: float | None, ci95: float | None, scale: float = 1.0) -> float | None:
        """The end of the 95 % confidence interval on the side that matters, its half-width
        ``ci95`` times ``scale`` (:func:`joint_scale`)."""
        if mean is None or ci95 is None:
            return None
        half = ci95 * scale
        return _round(mean - half if self.op == ">=" else mean + half)

    def to_json(self) -> dict[str, Any]:
        return {"kpi": self.kpi, "op": self.op, "value": self.value, "text": self.text}


def parse_target(text: str, kpis: Sequence[str] | None = None, flag: str = "--target") -> Target:
    """``"throughput_per_hour>=400"`` → :class:`Target`. ``kpis``: the KPIs allowed (default
    :data:`~warehouse.kpis.KPI_NAMES`). Anything else is an :class:`InputError` naming
    ``flag``."""
    from .kpis import KPI_NAMES

    names = list(KPI_NAMES if kpis is None else kpis)
    match = _TARGET.fullmatch(text)
    if match is None:
        hint = ""
        if re.search(r"=>|=<|==|(?<![<>=])[<>](?!=)|(?<![<>=])=(?![<>=])", text):
            hint = " (the operators are >= and <=)"
        raise InputError(None, flag, f"expected KPI>=VALUE or KPI<=VALUE, got {text!r}{hint}")
    kpi, op, raw = match.groups()
    if kpi not in names:
        raise InputError(None, flag, f"unknown KPI {kpi!r} in {text!r} (KPIs: {', '.join(names)})")
    try:
        value = float(raw)
    except ValueError:
        raise InputError(
            None, flag, f"expected a number after {op} in {text!r}, got {raw!r}"
        ) from None
    if not math.isfinite(value):
        raise InputError(None, flag, f"expected a finite number in {text!r}, got {raw!r}")
    return Target(kpi, op, value + 0.0)


def joint_scale(targets: int, values: int) -> float:
    """The factor from the half-width of a two-sided 95 % Student-t interval over ``values``
    seeds to the one-sided bound that ``targets`` targets need to hold together with 95 %
    confidence (Bonferroni: each wrong with probability 0.05/``targets``): 1 for one or two
    targets, whose interval ends are each wrong with probability 2.5 %."""
    if targets <= 2 or values < 2:
        return 1.0
    from scipy import stats

    dof = values - 1
    return float(stats.t.ppf(1 - 0.05 / targets, dof) / stats.t.ppf(0.975, dof))


def judge(target: Target, per_seed: Sequence[float | None], targets: int = 1) -> dict[str, Any]:
    """One target on one setting's per-seed values: ``{"target", "kpi", "op", "value", "mean",
    "ci95", "bound", "seeds", "seeds_met", "every_seed", "verdict"}`` (see the module
    docstring). ``targets``: how many targets must hold together (:func:`joint_scale` widens
    ``bound`` from three on; ``ci95`` stays the table's ``±``)."""
    from .report import summarize

    summary = summarize(list(per_seed))
    mean, ci95 = summary["mean"], summary["ci95"]
    defined_values = sum(v is not None for v in summary["per_seed"])
    bound = target.bound(mean, ci95, joint_scale(targets, defined_values))
    met = sum(target.holds(v) for v in summary["per_seed"])
    defined = all(v is not None for v in summary["per_seed"])
    if defined and bound is not None and target.holds(bound):
        verdict = "meets"
    elif target.holds(mean):
        verdict = "mean_only"
    else:
        verdict = "fails"
    return {
        "target": target.text,
        "kpi": target.kpi,
        "op": target.op,
        "value": target.value,
        "mean": mean,
        "ci95": ci95,
        "bound": bound,
        "seeds": len(per_seed),
        "seeds_met": met,
        "every_seed": met == len(per_seed) > 0,
        "verdict": verdict,
    }


def decide(
    settings: Sequence[tuple[dict[str, Any], Mapping[str, Sequence[float | None]]]],
    targets: Sequence[Target],
) -> dict[str, Any]:
    """Judge every setting against every target; the answer as ``target.json`` holds it.

    ``settings``: ``(setting, per-seed KPIs)`` in the sweep's order, where ``setting`` maps each
    swept key to its value (``{}`` for a sweep without ``--set``) and ``per-seed KPIs`` maps at
    least every target's KPI to its values over the same seeds. Returns ``{"targets", "keys",
    "order", "settings", "meets", "mean_only", "smallest", "smallest_in_mean",
    "larger_may_meet", "trend"}``:

    * ``order``: ``"numeric"`` (one swept key, numbers: settings sorted by value) or
      ``"sweep"`` (as given);
    * ``settings``: every setting's ``{"setting", "verdict", "targets": [judge(...)...]}``;
    * ``meets`` / ``mean_only``: the settings (``{key: value}``) with that verdict, in order;
    * ``smallest``: in numeric order, the first setting that meets (else ``None``);
      ``smallest_in_mean``: the first that meets at least in the mean, when it comes before
      ``smallest`` or none meets (else ``None``);
    * ``larger_may_meet``: in numeric order with two values or more, when no setting meets and
      the largest fails even in the mean: whether every target it misses moved towards it from
      the value before, paired by seed with 95 % confidence (the CI of the mean per-seed
      difference excludes 0 on the target's side, widened as the bounds from three targets on,
      so that all the moves hold together); ``trend``: those moves, ``{"kpi", "from", "to",
      "diff", "ci95", "towards"}`` (and ``joint_ci95``, the widened half-width, from three
      targets on). ``None`` when not asked, or when a move cannot be
      read (a mean undefined, or fewer than two seeds to pair).

    Every setting's per-seed values are over the same seeds, in the same order.
    """
    keys = list(settings[0][0]) if settings else []
    numeric = len(keys) == 1 and all(_is_number(s[keys[0]]) for s, _ in settings)
    ordered = sorted(settings, key=lambda s: s[0][keys[0]]) if numeric else list(settings)
    judged = []
    for setting, kpis in ordered:
        rows = [judge(t, kpis[t.kpi], len(targets)) for t in targets]
        verdict = min((r["verdict"] for r in rows), key=VERDICTS.index, default="meets")
        judged.append({"setting": dict(setting), "verdict": verdict, "targets": rows})
    meets = [j["setting"] for j in judged if j["verdict"] == "meets"]
    mean_only = [j["setting"] for j in judged if j["verdict"] == "mean_only"]
    smallest = smallest_in_mean = None
    larger_may_meet: bool | None = None
    trend: list[dict[str, Any]] = []
    if numeric:
        smallest = meets[0] if meets else None
        first = next((j for j in judged if j["verdict"] != "fails"), None)
        if first is not None and first["verdict"] == "mean_only":
            smallest_in_mean = first["setting"]
        if not meets and len(judged) >= 2 and judged[-1]["verdict"] == "fails":
            last, before = ordered[-1][1], ordered[-2][1]
            for target, now in zip(targets, judged[-1]["targets"], strict=True):
                if now["verdict"] != "meets":
                    trend.append(_move(target, before[target.kpi], last[target.kpi], len(targets)))
            if all(t["towards"] is not None for t in trend):
                larger_may_meet = all(t["towards"] for t in trend)
    return {
        "targets": [t.to_json() for t in targets],
        "keys": keys,
        "order": "numeric" if numeric else "sweep",
        "settings": judged,
        "meets": meets,
        "mean_only": mean_only,
        "smallest": smallest,
        "smallest_in_mean": smallest_in_mean,
        "larger_may_meet": larger_may_meet,
        "trend": trend,
    }


def _move(
    target: Target, before: Sequence[float | None], after: Sequence[float | None], targets: int = 1
) -> dict[str, Any]:
    """How ``target.kpi`` moved from one setting to the next, paired by seed, and whether it
    moved towards the target with 95 % confidence (``None``: cannot be read). ``targets``: how
    many targets the sweep has; from three on, the interval is widened as the bounds of
    :func:`judge` are (:func:`joint_scale`), so that the moves of every target hold together
    with 95 % confidence; its half-width is then ``joint_ci95`` (``ci95`` stays the
    two-sided 95 % one)."""
    from .report import summarize

    start, end = summarize(list(before))["mean"], summarize(list(after))["mean"]
    pairs = zip(before, after, strict=True)
    steps = [b - a for a, b in pairs if a is not None and b is not None]
    diff = summarize(steps)
    scale = joint_scale(targets, len(steps))
    half = None if diff["ci95"] is None else _round(diff["ci95"] * scale)
    towards = None
    if start is not None and end is not None and half is not None:
        low, high = diff["mean"] - half, diff["mean"] + half
        towards = low > 0 if target.op == ">=" else high < 0
    move = {
        "kpi": target.kpi,
        "from": start,
        "to": end,
        "diff": diff["mean"],
        "ci95": diff["ci95"],
        "towards": towards,
    }
    if scale != 1.0:
        move["joint_ci95"] = half
    return move


def summary_lines(result: dict[str, Any], targets: Sequence[Target]) -> list[str]:
    """The answer of :func:`decide` as printed lines: the conclusion, then its evidence."""
    n_targets = len(targets)
    it = "it" if n_targets == 1 else "every target"
    keys = result["keys"]
    seeds = result["settings"][0]["targets"][0]["seeds"] if result["settings"] else 0
    head = "target " if n_targets == 1 else "targets "
    lines = [
        head
        + ", ".join(t.shown for t in targets)
        + ("" if n_targets == 1 else " (all must hold)")
        + f"; meets: the 95% CI of the mean over {seeds} seed(s) lies on the target's side"
        + (
            ""
            if n_targets <= 2
            else f", each CI widened to a one-sided {1 - 0.05 / n_targets:.1%} bound "
            f"(Bonferroni) so that all {n_targets} hold together with 95% confidence"
        )
    ]
    by_setting = {_key(j["setting"]): j for j in result["settings"]}
    if result["order"] == "numeric":
        key = keys[0]
        smallest, in_mean = result["smallest"], result["smallest_in_mean"]
        if smallest is not None:
            lines.append(f"smallest {key} that meets {it}: {smallest[key]}")
            lines += _evidence(by_setting[_key(smallest)])
            above = [j for j in result["settings"] if j["setting"][key] > smallest[key]]
            for verdict, what in (
                ("fails", "miss{s} it, even in the mean"),
                ("mean_only", "meet{s} it in the mean only, not with 95% confidence"),
            ):
                if values := [j["setting"][key] for j in above if j["verdict"] == verdict]:
                    verb = what.format(s="es" if verdict == "fails" else "s")
                    if len(values) > 1:
                        verb = what.format(s="")
                    lines.append(f"but {key} = {', '.join(map(str, values))} above it {verb}")
        if in_mean is not None and smallest is not None:
            lines.append(
                f"{key} = {in_mean[key]} meets {it} in the mean but not with 95% confidence"
            )
            lines += _evidence(by_setting[_key(in_mean)])
        if smallest is None:
            if in_mean is not None:
                lines.append(
                    f"no swept {key} meets {it} with 95% confidence; {key} = {in_mean[key]} "
                    f"meets {it} in the mean only (more seeds may tell):"
                )
                lines += _evidence(by_setting[_key(in_mean)])
            else:
                largest = result["settings"][-1]
                lines.append(
                    f"no swept {key} meets {it}, not even in the mean; the largest, "
                    f"{largest['setting'][key]}:"
                )
                lines += _evidence(largest)
            if result["trend"]:
                x0, x1 = (j["setting"][key] for j in result["settings"][-2:])
                moves = "; ".join(
                    f"{m['kpi']} {_moved(m)} from {_num_or(m['from'])} at {x0} "
                    f"to {_num_or(m['to'])} at {x1} (paired by seed: {_paired(m)}"
                    + _joint(m, n_targets)
                    + ")"
                    for m in result["trend"]
                )
                if result["larger_may_meet"]:
                    lines.append(f"a larger {key} may meet {it}: {moves}")
                elif result["larger_may_meet"] is None:
                    lines.append(f"the trend cannot be read: {moves}")
                else:
                    lines.append(f"no clear trend towards a larger {key}: {moves}")
        return lines
    why = "several swept keys" if len(keys) > 1 else "a non-numeric swept key" if keys else ""
    if why:
        lines.append(f"({why}: every setting judged, none called smallest)")
    for verdict, label in (("meets", "meets"), ("mean_only", "meets in the mean only")):
        for j in result["settings"]:
            if j["verdict"] == verdict:
                lines.append(f"{_label(j['setting'])} {label}" + (f" {it}" if keys else ""))
                lines += _evidence(j)
    if not result["meets"] and not result["mean_only"]:
        lines.append(("no swept setting meets " + it) if keys else f"the sweep does not meet {it}")
    return lines


def _evidence(judged: dict[str, Any]) -> list[str]:
    """One line per target: the mean, the 95 % bound on the side that matters, seeds met."""
    lines = []
    for row in judged["targets"]:
        kpi, op, value = row["kpi"], row["op"], row["value"]
        sym = "≥" if op == ">=" else "≤"
        mean = "undefined" if row["mean"] is None else _num_beside(row["mean"], value)
        side = "lower" if op == ">=" else "upper"
        if len(judged["targets"]) > 2:  # (widened: all targets hold together)
            side = f"joint {side}"
        if row["bound"] is None:
            bound = "no 95% bound (fewer than 2 seeds with a value)"
        else:
            holds = (row["bound"] >= value) if op == ">=" else (row["bound"] <= value)
            rel = sym if holds else ("<" if op == ">=" else ">")
            bound = f"95% {side} bound {_num_beside(row['bound'], value)} {rel} {_exact(value)}"
        seeds = (
            f"{sym} {_exact(value)} on every seed ({row['seeds_met']}/{row['seeds']})"
            if row["every_seed"]
            else f"{sym} {_exact(value)} on {row['seeds_met']}/{row['seeds']} seeds"
        )
        lines.append(f"  {kpi}: mean {mean}, {bound}; {seeds}")
    return lines


def _moved(move: dict[str, Any]) -> str:
    if move["from"] is None or move["to"] is None:
        return "went"
    return (
        "rose" if move["to"] > move["from"] else "fell" if move["to"] < move["from"] else "stayed"
    )


def _paired(move: dict[str, Any]) -> str:
    from .report import format_paired

    return format_paired({"diff": move["diff"], "ci95": move["ci95"], "ratio": None})


def _joint(move: dict[str, Any], targets: int) -> str:
    """``; widened to ± H for 3 targets, …``: the half-width that decided ``towards`` where it is
    not the shown 95 % one (:func:`_move`)."""
    if move.get("joint_ci95") is None:
        return ""
    from .report import _fmt

    return (
        f"; widened to ± {_fmt(move['joint_ci95'])} for {targets} targets, "
        f"one-sided {1 - 0.05 / targets:.1%}"
    )


def _label(setting: dict[str, Any]) -> str:
    return " ".join(f"{k}={_value_text(v)}" for k, v in setting.items()) or "the one setting"


def _value_text(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ",".join(map(_value_text, v)) + "]"
    return str(v)


def _key(setting: dict[str, Any]) -> str:
    return repr(sorted(setting.items()))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _round(x: float) -> float:
    from .report import _clean

    return float(_clean(x))


def _exact(x: float) -> str:
    """A target's value as typed: ``400``, ``0.95``, ``1e-05``."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _num_or(x: float | None) -> str:
    return "undefined" if x is None else _num(x)


def _num(x: float) -> str:
    """``400``, ``0.95``, ``1,234``, ``12.3``: as the sweep's table shows numbers."""
    from .report import format_cell

    return format_cell({"mean": x, "ci95": None})


def _num_beside(x: float, target: float) -> str:
    """:func:`_num` of ``x``, with more decimals where it would read as ``target`` (or as past
    it) though ``x`` is on the other side: ``399.96`` beside a target of 400, not ``400``."""
    text = _num(x)
    for decimals in range(1, 16):
        shown = float(text.replace(",", ""))
        if (shown > target) - (shown < target) == (x > target) - (x < target):
            break
        text = f"{x:,.{decimals}f}"
    return text
