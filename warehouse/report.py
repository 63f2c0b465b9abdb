"""KPI reports of ``warehouse run``: ``report.json``, ``kpis.csv``, the printed table.

``report.json`` (other tools read it; keys sorted, floats rounded to :data:`DIGITS` decimals,
so the same seeds give byte-identical files apart from ``created``)::

    {"scenario": "small", "seeds": [0, 1, 2], "steps": 2000, "robots": 30,
     "versions": {"warehouse": "0.1.0", "python": "3.11.9", ...},
     "runs": [{"policy": "rule_based", "dispatcher": "greedy", "navigator": "rule_based",
               "collisions": "block", "gridlocked_seeds": [],
               "kpis": {"deliveries": {"mean": 812.3, "ci95": 10.2, "per_seed": [801, 815, 821]},
                        ...},
               "weights": {}}],
     "created": "2026-01-01T12:00:00+00:00"}

A run of a one-shot instance with ``episode.stop_when_solved`` adds ``"stop_when_solved": true``:
``steps`` is then the limit, and the KPI ``steps`` the steps each seed ran.

A run whose navigator counts what it did (a ``stats`` dict, as ``lacam``'s searches, iterations,
plans and fallback steps) adds ``"navigator_stats"``: one dict per seed, in the order of
``seeds``, of its whole-number and true/false entries at the episode's end
(:func:`warehouse.runner.navigator_stats`); a run of any other navigator has no such key.

``weights`` gives, per part that runs a network, the checkpoint file it loaded and the sha256
of its weights and of its JSON (:mod:`warehouse.provenance`), e.g. ``{"navigator": {"file":
"agents/weights/cql_pibt.json", "sha256": "...", "json_sha256": "..."}}``; ``{}`` for a policy
without networks.

``mean`` and ``ci95`` ignore seeds where a KPI is undefined (``null``, e.g. cycle times without
deliveries); ``ci95`` is the half-width of the Student-t 95 % confidence interval of the mean
over seeds (``null`` with fewer than two values).

``gridlocked_seeds`` lists the seeds that ended with at least :data:`GRIDLOCK_SHARE` of the
fleet jammed (``jammed_robots``: no progress for ``physics.jam_after`` steps, 300 by default): a
jam that the run's mean hides. Robots merely *stuck* for ``physics.stuck_after`` steps do not
decide it: in dense traffic their count swings around a quarter of the fleet while every
station keeps delivering, so a snapshot of it at the last step named seeds at random
(docs/results_sessions.md, twenty-first session).

With two or more policies, ``paired`` compares each with a baseline policy seed by seed (the
policies run on the same seeds, so the per-seed differences cancel most of the noise that the
per-policy intervals carry)::

    "paired": {"baseline": "rule_based",
               "runs": {"hierarchical": {"deliveries": {"diff": 3.0, "ci95": 6.1,
                                                        "ratio": 1.006}, ...}}}

``diff`` is the mean over seeds of the policy's value minus the baseline's, ``ci95`` its
Student-t half-width (``null`` with fewer than two seeds), ``ratio`` the policy's mean over the
baseline's (``null`` when the baseline's is 0 or undefined). All three use the same seeds: those
where the KPI is defined for both policies (a cycle time without deliveries is not).

``kpis.csv``: the DataCollector time series of every run, columns ``policy, seed, step`` then
every KPI and ``open_orders``. ``robots.csv``: per-robot counters, columns ``policy, seed, step,
robot`` then the counters. Output folders are written through :func:`staged_dir`, so a failed
or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .atomic import current_umask, link_or_move, write_text_atomic
from .errors import InputError
from .kpis import KPI_NAMES

if TYPE_CHECKING:
    from .runner import Results

DIGITS = 6  #: decimals kept for floats in report.json


def _clean(x: Any) -> Any:
    """JSON-safe, rounded value (NaN/inf → None, numpy scalars → Python)."""
    if x is None:
        return None
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, bool | int):
        return int(x)
    x = float(x)
    if not math.isfinite(x):
        return None
    return round(x, DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def summarize(values: Sequence[Any]) -> dict[str, Any]:
    """``{"mean", "ci95", "per_seed"}`` of one KPI over seeds (see module docstring)."""
    from scipy import stats

    per_seed = [_clean(v) for v in values]
    ok = [float(v) for v in per_seed if v is not None]
    mean = sum(ok) / len(ok) if ok else None
    ci = None
    if len(ok) >= 2:
        n = len(ok)
        assert mean is not None  # ok is not empty
        sd = math.sqrt(sum((v - mean) ** 2 for v in ok) / (n - 1))
        ci = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"mean": _clean(mean), "ci95": _clean(ci), "per_seed": per_seed}


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for dist in ("warehouse-fleet", "numpy", "mesa", "networkx", "scipy", "numba"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


#: A seed counts as gridlocked when at least this share of the fleet ends it jammed.
GRIDLOCK_SHARE = 0.25


def is_gridlocked(jammed_robots: float, robots: float) -> bool:
    """Whether a run that ended with ``jammed_robots`` of ``robots`` jammed (the KPI) counts as
    gridlocked."""
    return robots > 0 and int(jammed_robots) >= GRIDLOCK_SHARE * robots


def default_baseline(runs: list[dict[str, Any]]) -> str:
    """The policy the others are compared with: the rule-based fleet (greedy dispatcher and
    rule-based navigator, whatever its name or shield) when it ran, else the first."""
    rule_based = [r for r in runs if (r["dispatcher"], r["navigator"]) == ("greedy", "rule_based")]
    return str((rule_based or runs)[0]["policy"])


def paired_rows(
    mine: dict[str, Any], theirs: dict[str, Any], names: Sequence[str] = KPI_NAMES
) -> dict[str, dict[str, Any]]:
    """``{KPI: {"diff", "ci95", "ratio"}}`` of ``mine`` against ``theirs`` (two runs' ``kpis``
    over the same seeds, see the module docstring), for the KPIs ``names``."""
    rows = {}
    for name in names:
        a, b = mine[name], theirs[name]
        pairs = [
            (x, y)
            for x, y in zip(a["per_seed"], b["per_seed"], strict=True)
            if x is not None and y is not None
        ]
        diff = summarize([x - y for x, y in pairs])
        mine_sum, theirs_sum = sum(x for x, _ in pairs), sum(y for _, y in pairs)
        ratio = mine_sum / theirs_sum if pairs and theirs_sum else None
        rows[name] = {"diff": diff["mean"], "ci95": diff["ci95"], "ratio": _clean(ratio)}
    return rows


def paired_comparison(runs: list[dict[str, Any]], baseline: str) -> dict[str, Any]:
    """``{"baseline", "runs"}``: every other run's :func:`paired_rows` against ``baseline``.
    ``runs`` are ``report.json`` runs over the same seeds."""
    base = next(run for run in runs if run["policy"] == baseline)
    rows = {
        run["policy"]: paired_rows(run["kpis"], base["kpis"]) for run in runs if run is not base
    }
    return {"baseline": baseline, "runs": rows}


def build_report(
    results: Results, *, created: str | None = None, baseline: str | None = None
) -> dict[str, Any]:
    """The ``report.json`` object of a finished experiment; ``baseline``: the policy the others
    are compared with (default: :func:`default_baseline`)."""
    exp = results.experiment
    runs = []
    for spec in exp.policies:
        per = results.by_policy(spec.name)
        kpis = {name: summarize([r.kpis[name] for r in per]) for name in KPI_NAMES}
        jammed = [r.seed for r in per if is_gridlocked(r.kpis["jammed_robots"], exp.robots)]
        runs.append(
            {
                "policy": spec.name,
                "dispatcher": spec.dispatcher,
                "navigator": spec.navigator,
                "collisions": spec.collisions_for(exp.scenario),
                "gridlocked_seeds": jammed,
                "kpis": kpis,
                # the network files its parts loaded ({}: none), with their sha256
                "weights": exp.weights.get(spec.name, {}),
            }
        )
        if any(r.navigator_stats is not None for r in per):  # (lacam: its searches, per seed)
            runs[-1]["navigator_stats"] = [r.navigator_stats for r in per]
    report: dict[str, Any] = {
        "scenario": exp.scenario.name,
        "seeds": list(exp.seeds),
        "steps": int(exp.steps),
        "robots": int(exp.robots),
        "versions": versions(),
        "runs": runs,
    }
    if exp.scenario.episode.stop_when_solved:  # steps is the limit; the KPI steps what ran
        report["stop_when_solved"] = True
    if len(runs) > 1:
        report["paired"] = paired_comparison(runs, baseline or default_baseline(runs))
    if created is not None:
        report["created"] = created
    return report


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def report_json(report: dict[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, newline at the end."""
    return json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def series_frame(results: Results) -> pd.DataFrame:
    return pd.concat([r.series for r in results.runs], ignore_index=True)


def robots_frame(results: Results) -> pd.DataFrame | None:
    frames = [r.robots for r in results.runs if r.robots is not None]
    return pd.concat(frames, ignore_index=True) if frames else None


@contextlib.contextmanager
def staged_dir(final: Path, flag: str = "--out") -> Iterator[Path]:
    """Yield an empty staging folder next to ``final``; on success move its files into
    ``final`` (created if needed), on any error or interrupt remove it.

    Nothing appears at ``final`` unless the whole body succeeded, and nothing there is replaced:
    a file that another run wrote there meanwhile (the caller checked the folder before a long
    run) stops the move, the files already moved are taken back, and an :class:`InputError`
    names it. A staging folder that cannot be made is an :class:`InputError` naming ``flag``
    (the folders above ``final`` made for it are removed again); where only the folder above an
    existing ``final`` cannot be written, the staging folder goes inside ``final``.
    """
    final = Path(final)
    created_parents = []
    above = final.parent
    while not above.exists():
        created_parents.append(above)
        above = above.parent
    from .interrupt import ctrl_c_deferred

    stage: Path | None = None
    try:
        with ctrl_c_deferred():  # a Ctrl-C while it is made arrives once `stage` names it
            stage = _make_stage(final, above, flag)
        os.chmod(stage, 0o777 & ~current_umask())
        yield stage
        try:
            if stage.parent.resolve() == final.resolve():
                raise IsADirectoryError(final)  # (staged inside it: moved file by file)
            os.rename(stage, final)  # fails if the folder exists and holds files
        except OSError:
            if not final.is_dir():
                raise
            _publish_into(stage, final)
            stage.rmdir()
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        _remove_folders(created_parents)
        raise


def _make_stage(final: Path, above: Path, flag: str) -> Path:
    """A new hidden staging folder beside ``final`` (its parents made as needed) or, where that
    cannot be written, inside ``final`` when it is an existing folder. ``above``: the nearest
    folder above ``final`` that exists."""
    prefix = f".{final.name}.partial-"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=final.parent, prefix=prefix))
    except OSError as exc:
        if final.is_dir():
            with contextlib.suppress(OSError):
                return Path(tempfile.mkdtemp(dir=final, prefix=prefix))
        where = Path(exc.filename).parent if exc.filename else above
        why = exc.strerror or type(exc).__name__
        raise InputError(final, flag, f"cannot write into {str(where)!r} ({why})") from None


def _remove_folders(folders: list[Path]) -> None:
    """Remove the given folders, deepest first, where they are empty."""
    for p in folders:
        with contextlib.suppress(OSError):
            p.rmdir()


def _publish_into(stage: Path, final: Path) -> None:
    """Move the files of ``stage`` into the existing folder ``final`` without replacing any:
    a hard link fails on a name that exists (folders move by rename, which fails the same way
    onto a folder that holds files). On a name taken, the files already moved are removed."""
    moved: list[Path] = []
    try:
        for item in sorted(stage.iterdir()):
            dest = final / item.name
            if item.is_dir():
                if dest.exists():
                    raise FileExistsError(dest)
                os.rename(item, dest)
            else:
                link_or_move(item, dest)
            moved.append(dest)
    except FileExistsError:
        for done in moved:
            if done.is_dir():
                shutil.rmtree(done, ignore_errors=True)
            else:
                done.unlink(missing_ok=True)
        raise InputError(
            final, None, f"{dest.name} was written there meanwhile by another run; nothing replaced"
        ) from None


def write_outputs(results: Results, folder: Path, report: dict[str, Any]) -> list[Path]:
    """Write ``report`` (:func:`build_report` of ``results``) as report.json, and kpis.csv,
    robots.csv, scenario.yaml and the plots, into ``folder``."""
    from .plots import plot_congestion, plot_deliveries
    from .rerun import write_rerun_scenario

    folder = Path(folder)
    written = [folder / "report.json"]
    write_text_atomic(written[0], report_json(report))
    series = series_frame(results)
    written.append(folder / "kpis.csv")
    write_text_atomic(written[-1], series.to_csv(index=False, lineterminator="\n"))
    robots = robots_frame(results)
    if robots is not None:
        written.append(folder / "robots.csv")
        write_text_atomic(written[-1], robots.to_csv(index=False, lineterminator="\n"))
    written += write_rerun_scenario(results.experiment, folder)
    written.append(plot_deliveries(series, folder / "deliveries.png", results.experiment))
    written.append(plot_congestion(results.visits, results.experiment, folder / "congestion.png"))
    return written


# ---------------------------------------------------------------------- printed table
def format_cell(summary: dict[str, Any]) -> str:
    """``"812.3 ± 10.2"`` (``"—"`` when undefined); a KPI defined on only some seeds says on
    how many its mean is: ``"61.2 ± 3.1 (2/3 seeds)"``."""
    mean, ci = summary["mean"], summary["ci95"]
    if mean is None:
        return "—"
    text = _fmt(mean)
    text = f"{text} ± {_fmt(ci)}" if ci is not None else text
    per_seed = summary.get("per_seed") or []
    defined = sum(v is not None for v in per_seed)
    return f"{text} ({defined}/{len(per_seed)} seeds)" if defined < len(per_seed) else text


#: Formats of :func:`_fmt` by magnitude: below each bound, the format before it is used.
_MAGNITUDES = ((1.0, ".2f"), (10.0, ".1f"), (100.0, ".0f"), (1000.0, ",.0f"))


def _fmt(x: float) -> str:
    """Three significant figures (all digits from 100 on, thousands separated); a value that
    rounds up into the next magnitude is shown in that one's format (999.7 → ``1,000``, not
    ``1000``; 9.996 → ``10.0``, not ``10.00``)."""
    if float(x).is_integer():
        return f"{int(x):,}"
    text = f"{x:.3g}"
    for bound, spec in _MAGNITUDES:
        if abs(float(text.replace(",", ""))) < bound:
            break
        text = f"{x:{spec}}"
    return text


def seeds_text(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}..{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ",".join(map(str, seeds))


def shown_kpis(report: dict[str, Any]) -> list[str]:
    """The KPIs the printed tables show: those some policy of the run defines. A KPI undefined
    in every run (the battery's without a battery model, cycle times in goal_visit mode) is
    left out; ``report.json`` keeps it as ``null``."""
    runs = report["runs"]
    return [
        n for n in KPI_NAMES if any((r["kpis"].get(n) or {}).get("mean") is not None for r in runs)
    ]


def kpi_table(report: dict[str, Any]) -> Any:
    """A rich Table: one row per KPI (:func:`shown_kpis`), one column per policy."""
    from rich.table import Table

    steps = f"{report['steps']} steps"
    if report.get("stop_when_solved"):  # each seed ran until solved (the KPI steps says how long)
        steps = f"until solved, at most {report['steps']} steps"
    title = f"{report['scenario']}: {report['robots']} robots, {steps}, " + seeds_text(
        report["seeds"]
    )
    rows = [
        (name, [format_cell(run["kpis"][name]) for run in report["runs"]])
        for name in shown_kpis(report)
    ]
    caption = "mean ± 95% CI over seeds (Student t)"
    if any(cell.endswith(" seeds)") for _, cells in rows for cell in cells):
        caption += "; (k/n seeds): the KPI is defined on k of the n seeds"
    table = Table(title=title, caption=caption)
    # KPI names never shrink (two "throughput_p…" rows would be ambiguous); in a narrow
    # terminal the value cells wrap at the "±" instead.
    table.add_column("KPI", no_wrap=True, min_width=max(map(len, KPI_NAMES)))
    for run in report["runs"]:
        table.add_column(run["policy"], justify="right", overflow="fold")
    for name, cells in rows:
        table.add_row(name, *cells)
    return table


#: KPIs of the printed paired comparison (``report.json`` has every KPI).
PAIRED_KPIS = (
    "deliveries",
    "collisions",
    "cycle_time_p50",
    "cycle_time_p95",
    "distance_m",
    "energy_kwh",
    "stuck_robots",
    "jammed_robots",
    "oldest_open_order_s",
)


def format_paired(row: dict[str, Any]) -> str:
    """``"+3.0 ± 6.1 (×1.006)"`` (``"—"`` when undefined)."""
    diff, ci, ratio = row["diff"], row["ci95"], row["ratio"]
    if diff is None:
        return "—"
    text = ("+" if diff > 0 else "") + _fmt(diff)
    if ci is not None:
        text += f" ± {_fmt(ci)}"
    return text + (f" (×{format_ratio(ratio)})" if ratio is not None else "")


def format_ratio(x: float, marks: Sequence[float] = (1.0,)) -> str:
    """``x`` to 3 decimals, or more where 3 would put it on or past one of ``marks`` though it is
    on the other side: ``0.99997``, not ``1.000``, for a ratio just below parity."""
    for decimals in range(3, 16):
        text = f"{x:.{decimals}f}"
        shown = float(text)
        if all((shown > m) - (shown < m) == (x > m) - (x < m) for m in marks):
            break
    return text


def paired_table(report: dict[str, Any]) -> Any:
    """A rich Table of ``report["paired"]`` for :data:`PAIRED_KPIS` (those the run defines:
    :func:`shown_kpis`), or ``None`` with one policy."""
    paired = report.get("paired")
    if paired is None:
        return None
    title = f"each policy − {paired['baseline']}, paired over {seeds_text(report['seeds'])}"
    shown = set(shown_kpis(report))
    return rows_table(title, paired["runs"], [k for k in PAIRED_KPIS if k in shown])


def rows_table(
    title: str, columns: dict[str, dict[str, Any]], kpis: Sequence[str] = PAIRED_KPIS
) -> Any:
    """A rich Table with one column of :func:`paired_rows` per entry of ``columns`` (the KPIs of
    ``kpis`` they have)."""
    from rich.table import Table

    caption = "mean ± 95% CI of per-seed differences (× ratio of means)"
    table = Table(title=title, caption=caption, min_width=len(caption))
    table.add_column("KPI", no_wrap=True, min_width=max(map(len, kpis)))
    for name in columns:
        table.add_column(name, justify="right", overflow="fold")
    for kpi in kpis:
        if all(kpi in rows for rows in columns.values()):
            table.add_row(kpi, *(format_paired(rows[kpi]) for rows in columns.values()))
    return table


def gridlock_warnings(report: dict[str, Any]) -> list[str]:
    """One line per policy with gridlocked seeds (see :data:`GRIDLOCK_SHARE`)."""
    from .shield import PIBT_MODES

    lines = []
    for run in report["runs"]:
        if jammed := run.get("gridlocked_seeds"):
            seeds = ", ".join(map(str, jammed))
            hint = (
                ""
                if run["collisions"] in PIBT_MODES
                else "; the PIBT shield (--collisions pibt) resolves such jams"
            )
            if hint and run["navigator"] in ("rule_based", "rule_based_push", "rule_based_unlock"):
                hint += ", as does the rule_based_push_unlock navigator"
            if run["collisions"] == "pibt_swap":  # (the station crowd of dead-end floors)
                hint = (
                    "; the jam repair of --collisions pibt_lacam (exploratory) freed such jams "
                    "at dead-end stations (docs/results_swap.md, part 6)"
                )
            lines.append(
                f"warning: {run['policy']} ({run['collisions']}) ended gridlocked on "
                f"{len(jammed)} of {len(report['seeds'])} seeds ({seeds}): ≥ "
                f"{GRIDLOCK_SHARE:.0%} of the fleet jammed (no progress for physics.jam_after "
                f"steps), so its means mix working and jammed runs{hint}"
            )
    return lines


def markdown_table(report: dict[str, Any]) -> str:
    """The KPI table as Markdown (README samples)."""
    runs = report["runs"]
    lines = [
        "| KPI | " + " | ".join(r["policy"] for r in runs) + " |",
        "| --- |" + " ---: |" * len(runs),
    ]
    for name in shown_kpis(report):
        lines.append(f"| {name} | " + " | ".join(format_cell(r["kpis"][name]) for r in runs) + " |")
    return "\n".join(lines)


def markdown_paired(report: dict[str, Any]) -> str:
    """The paired comparison as Markdown (README samples), the rows of :func:`paired_table`;
    ``""`` with one policy."""
    paired = report.get("paired")
    if paired is None:
        return ""
    rows, base = paired["runs"], paired["baseline"]
    lines = [
        "| KPI | " + " | ".join(f"{name} − {base}" for name in rows) + " |",
        "| --- |" + " ---: |" * len(rows),
    ]
    shown = set(shown_kpis(report))
    for kpi in (k for k in PAIRED_KPIS if k in shown):
        cells = " | ".join(format_paired(r[kpi]) for r in rows.values())
        lines.append(f"| {kpi} | {cells} |")
    return "\n".join(lines)
