"""Paired comparison of two finished runs (``warehouse compare BASE OTHER``).

``warehouse run`` pairs the policies of one run. Comparing *settings* (parking on or off, a
floor with more stations, another arrival rate) takes two runs over the same seeds; this module
reads their ``report.json`` files and pairs them seed by seed, with the statistics of
:func:`warehouse.report.paired_rows`.

Policies are matched by name. When each run has exactly one policy, those two are compared
whatever their names (``cql`` in one run against ``bc`` in the other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InputError, display_path
from .jsonio import read_json_object
from .provenance import network_digest, network_file, same_network
from .report import paired_rows

#: ``report.json`` values are checked strictly: ``"30"`` is not the number 30, ``true`` not 1,
#: and NaN or infinities are not measurements.
_STRICT = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)


class _Summary(BaseModel):
    model_config = _STRICT

    mean: float | None
    per_seed: list[float | None]


class _Run(BaseModel):
    model_config = _STRICT

    policy: str = Field(min_length=1)
    kpis: dict[str, _Summary] = Field(min_length=1)
    #: the parts the title names where they differ (older reports: none)
    dispatcher: str | None = None
    navigator: str | None = None
    collisions: str | None = None


class _Report(BaseModel):
    """The fields of ``report.json`` a comparison reads."""

    model_config = _STRICT

    scenario: str
    seeds: list[int] = Field(min_length=1)
    steps: int = Field(ge=1)
    robots: int | None = Field(None, ge=1)
    runs: list[_Run]

    @model_validator(mode="after")
    def _one_value_per_seed(self) -> _Report:
        if min(self.seeds) < 0:
            raise ValueError(f"seeds: seeds must be ≥ 0, got {min(self.seeds)}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds: seeds repeat")
        if not self.runs:
            raise ValueError("runs: no run in the report")
        policies = [run.policy for run in self.runs]
        if repeated := sorted({p for p in policies if policies.count(p) > 1}):
            raise ValueError(f"runs: policy {repeated[0]!r} appears twice")
        for i, run in enumerate(self.runs):
            for name, summary in run.kpis.items():
                if len(summary.per_seed) != len(self.seeds):
                    raise ValueError(
                        f"runs.{i}.kpis.{name}.per_seed: {len(summary.per_seed)} values for "
                        f"{len(self.seeds)} seeds"
                    )
        return self


def report_path(target: str | Path) -> Path:
    """``target`` itself, or ``target/report.json`` for a run folder."""
    path = Path(target)
    return path / "report.json" if path.is_dir() else path


def load_report(target: str | Path) -> tuple[Path, dict[str, Any]]:
    """The checked ``report.json`` of a run folder or file, as a dict."""
    path = report_path(target)
    if not path.exists():
        raise InputError(path, None, "no such file (expected a run folder or its report.json)")
    if path.is_dir():
        raise InputError(path, None, "is a folder, expected a report.json file")
    data = read_json_object(path)  # (a key given twice is refused)
    try:
        _Report.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        msg = err["msg"].removeprefix("Value error, ")
        if field is None and ": " in msg:  # the model's own checks name their field first
            field, msg = msg.split(": ", 1)
        raise InputError(path, field, msg) from None
    return path, data


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"faults.breakdown_prob": 0.01, ...}`` of a nested mapping."""
    if not isinstance(data, dict):
        return {prefix.removesuffix("."): data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out |= _flat(value, f"{prefix}{key}.")
    return out


#: settings that list cells, as many as the fleet's robots or a task file's lines
_CELL_LISTS = ("fleet.start_cells", "tasks.goals")


#: the scenario's choice of the policies, which ``--policy``, ``--dispatcher`` and
#: ``--navigator`` override (a ``scenario.yaml`` written before ``policies.run`` does not record
#: them; one written since lists them there): each report says which parts every run ran
#: (``POLICY.dispatcher``, ``POLICY.navigator`` in ``differ``) and the policies are matched by
#: the reports' names
_POLICY_CHOICES = ("policies.dispatcher", "policies.navigator", "policies.run")
#: what a run folder's ``scenario.yaml`` records beside its settings (read by one command each:
#: :data:`warehouse.cli.checks.READ_BY_ONE_COMMAND`), never listed as a difference (nor what
#: lies below them: ``policies.candidate_set.order_pool``)
_RECORDED_ONLY = (
    "policies.baseline",
    "policies.candidate",
    "policies.candidate_set",
    "policies.incumbent_set",
)


def _left_out_defaults() -> dict[str, Any]:
    """``{"tasks.reveal": 1, "policies.anticipate": False, ...}``: the settings a
    ``scenario.yaml`` leaves out at their default (:data:`warehouse.config.LEFT_OUT_AT_DEFAULT`;
    the ``policies`` section of a run of the command's policies, all but the parts' settings
    that are not at their default: :func:`warehouse.rerun.write_rerun_scenario`), as YAML reads
    them."""
    from scenarios.schema import PoliciesConfig

    from .config import LEFT_OUT_AT_DEFAULT, SimConfig

    full = SimConfig().model_dump(mode="json", context={"all_settings": True})
    out = {f"{s}.{n}": full[s][n] for s, names in LEFT_OUT_AT_DEFAULT.items() for n in names}
    return out | _flat(PoliciesConfig().model_dump(mode="json"), "policies.")


def _settings_that_differ(base: Path, other: Path) -> dict[str, list[Any]]:
    """The scenario settings in which the two runs differ, from the ``scenario.yaml`` beside each
    ``report.json`` (``{}`` when either has none). The name and
    the fleet size are reported from the reports themselves, as are the parts each policy ran
    (:data:`_POLICY_CHOICES`: the file's are not what ran where the command chose them); a
    floor drawing or map path is
    shown as ``(differs)``, as are two map files of the same name (each run folder's copy) whose
    contents differ."""
    from scenarios.safe_yaml import read_yaml  # (bounded: no alias bomb, no deep nesting)

    files = [path.parent / "scenario.yaml" for path in (base, other)]
    if not all(f.is_file() for f in files):
        return {}
    try:
        a, b = (_flat(read_yaml(f) or {}) for f in files)
    except InputError:
        return {}  # the comparison of the reports stands without it
    left_out = _left_out_defaults()  # (a file lacks them at their default: take it)
    a, b = left_out | a, left_out | b
    out: dict[str, list[Any]] = {}
    for key in sorted(set(a) | set(b)):
        # (policies.baseline pairs a run's own policies, and policies.candidate and the sides'
        # own settings are what a shadow folder's file records: no setting of the runs compared)
        if key in ("name", "description", "fleet.robots", *_RECORDED_ONLY, *_POLICY_CHOICES):
            continue
        if key.startswith(tuple(f"{recorded}." for recorded in _RECORDED_ONLY)):
            continue
        same = a.get(key) == b.get(key)
        if key == "episode.seeds" and not same:  # the same seeds in another order: paired
            same = _same_items(a.get(key), b.get(key))
        if same and key == "layout.path" and isinstance(name := a.get(key), str):
            # each run folder holds its own copy of the map (rerun.MAP_STEM): same name, and
            # maybe another floor (a copy missing from either folder: taken as the same)
            first, second = (_file_bytes(f.parent / Path(name).expanduser()) for f in files)
            same = first is None or second is None or first == second
        if same:
            continue
        was, now = a.get(key), b.get(key)
        if key in ("layout.map", "layout.path"):
            was, now = "(differs)", "(differs)"
        elif key in _CELL_LISTS:  # (up to a million cells: shown as whether there are any)
            was, now = ("(differs)" if value else value for value in (was, now))
        out[key] = [was, now]
    return out


def _weights_that_differ(label: str, run_a: Any, run_b: Any) -> dict[str, list[Any]]:
    """``{"LABEL.weights.PART": [base, other]}`` for each part whose recorded network differs
    between two runs (:func:`warehouse.provenance.same_network`: the same digests are the same
    network, whatever folder each run named its file from): the files, or where the files have
    the same name, the first 12 hex digits of their sha256
    (:func:`~warehouse.provenance.network_digest`; ``None``: no network). Reports that record
    no weights (older ones) are not compared."""
    weights_a, weights_b = run_a.get("weights"), run_b.get("weights")
    if not (isinstance(weights_a, dict) and isinstance(weights_b, dict)):
        return {}
    out: dict[str, list[Any]] = {}
    for part in sorted(set(weights_a) | set(weights_b)):
        was, now = weights_a.get(part), weights_b.get(part)
        if same_network(was, now):
            continue
        shown: list[Any] = [network_file(w) for w in (was, now)]
        if shown[0] == shown[1]:  # the same file name, other contents
            shown = [d[:12] if (d := network_digest(w)) else None for w in (was, now)]
        out[f"{label}.weights.{part}"] = shown
    return out


def _versions_that_differ(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    """``{"versions.PACKAGE": [base, other]}`` for each package (or Python) whose version
    differs between the two reports (those without ``versions`` are not compared)."""
    was, now = a.get("versions"), b.get("versions")
    if not (isinstance(was, dict) and isinstance(now, dict)):
        return {}
    return {
        f"versions.{name}": [was.get(name), now.get(name)]
        for name in sorted(set(was) | set(now))
        if was.get(name) != now.get(name)
    }


def _same_items(first: Any, second: Any) -> bool:
    """Whether two lists hold the same items, in any order."""
    if not (isinstance(first, list) and isinstance(second, list)):
        return False
    return sorted(map(repr, first)) == sorted(map(repr, second))


def _file_bytes(path: Path) -> bytes | None:
    """The contents of ``path`` (None: unreadable, not a regular file or larger than a map file
    may be: a device such as ``/dev/zero`` or a FIFO is never read)."""
    from .floor.formats.common import MAX_FILE_BYTES

    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _in_seed_order(report: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """``report`` with its seeds, and every KPI's per-seed values, in the order ``seeds``
    gives (the same seeds as the report's, in another order)."""
    at = {seed: i for i, seed in enumerate(report["seeds"])}
    order = [at[seed] for seed in seeds]
    runs = [
        {
            **run,
            "kpis": {
                name: {**summary, "per_seed": [summary["per_seed"][i] for i in order]}
                for name, summary in run["kpis"].items()
            },
        }
        for run in report["runs"]
    ]
    return {**report, "seeds": list(seeds), "runs": runs}


def compare_reports(base: str | Path, other: str | Path) -> dict[str, Any]:
    """``{"base", "other", "seeds", "steps", "differ", "pairs": {"POLICY" or "A vs B": rows},
    "not_compared"}``: ``base`` and ``other`` name the runs as given (a run folder or a
    ``report.json``); ``pairs`` holds each matched policy of ``other`` minus the same policy of
    ``base``, seed by seed (each seed with itself, in ``base``'s order of the seeds). ``differ``
    gives the scenario name, fleet size, each compared policy's dispatcher, navigator,
    collision mode (``POLICY.dispatcher``) and networks (``POLICY.weights.PART``) and the
    package versions (``versions.numpy``) where the two runs differ (as ``[base, other]``);
    ``not_compared`` lists the KPIs only one report has (one written by another version of the
    toolkit), ``undefined`` those no compared run defines (the battery's without a battery
    model: the printed table leaves them out), ``unmatched_policies`` the policies only one run
    has."""
    base_path, a = load_report(base)
    other_path, b = load_report(other)
    if sorted(b["seeds"]) != sorted(a["seeds"]):
        raise InputError(
            other_path,
            "seeds",
            f"{b['seeds']} differ from {display_path(base_path)}'s {a['seeds']}",
        )
    if b["seeds"] != a["seeds"]:  # the same seeds in another order: each paired with itself
        b = _in_seed_order(b, a["seeds"])
    if b["steps"] != a["steps"]:
        raise InputError(
            other_path,
            "steps",
            f"{b['steps']} differ from {display_path(base_path)}'s {a['steps']}",
        )
    runs_a = {run["policy"]: run for run in a["runs"]}
    runs_b = {run["policy"]: run for run in b["runs"]}
    if len(runs_a) == 1 and len(runs_b) == 1:
        (name_a, run_a), (name_b, run_b) = next(iter(runs_a.items())), next(iter(runs_b.items()))
        label = name_a if name_a == name_b else f"{name_b} vs {name_a}"
        matched = [(label, run_a, run_b)]
    else:
        matched = [(name, runs_a[name], runs_b[name]) for name in runs_a if name in runs_b]
    if not matched:
        raise InputError(
            other_path,
            "runs",
            f"no policy in common with {display_path(base_path)} ({', '.join(runs_b)} against "
            f"{', '.join(runs_a)})",
        )
    differ = {k: [a.get(k), b.get(k)] for k in ("scenario", "robots") if a.get(k) != b.get(k)}
    differ |= _settings_that_differ(base_path, other_path)
    for label, run_a, run_b in matched:  # same label, other parts: say so
        for part in ("dispatcher", "navigator", "collisions"):
            was, now = run_a.get(part), run_b.get(part)
            if was is not None and now is not None and was != now:  # (older reports: None)
                differ[f"{label}.{part}"] = [was, now]
        differ |= _weights_that_differ(label, run_a, run_b)
    differ |= _versions_that_differ(a, b)
    paired_names = {run["policy"] for _, run_a, run_b in matched for run in (run_a, run_b)}
    unmatched = sorted((set(runs_a) | set(runs_b)) - paired_names)
    pairs, one_sided = {}, set()
    defined: set[str] = set()  # KPIs some run of a pair defines (the printed table's rows)
    for label, run_a, run_b in matched:
        names = [k for k in run_b["kpis"] if k in run_a["kpis"]]
        one_sided |= set(run_a["kpis"]).symmetric_difference(run_b["kpis"])
        pairs[label] = paired_rows(run_b["kpis"], run_a["kpis"], names)
        defined |= {k for k in names for r in (run_a, run_b) if r["kpis"][k]["mean"] is not None}
    return {
        "base": display_path(base),  # (what the user named, not the report.json read in it)
        "other": display_path(other),
        "seeds": a["seeds"],
        "steps": a["steps"],
        "differ": differ,
        "pairs": pairs,
        "not_compared": sorted(one_sided),
        "undefined": sorted({k for rows in pairs.values() for k in rows} - defined),
        "unmatched_policies": unmatched,
    }
