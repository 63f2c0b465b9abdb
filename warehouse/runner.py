"""Run a scenario with several policies on the same seeds (``warehouse run``).

:func:`prepare` checks everything the user gave (scenario, overrides, policy names, seeds) and
builds the floor once; it raises :class:`~warehouse.errors.InputError` before anything is
written. :func:`run_experiment` then runs one :class:`~warehouse.model.WarehouseModel` per
(policy, seed) and gathers final KPIs, the DataCollector series and the congestion counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError, display_path
from .model import WarehouseModel
from .policies import (
    PolicySpec,
    build_policy,
    check_checkpoints_used,
    from_file,
    pibt_note,
    pibt_note_told,
    resolve_policy,
)
from .threads import torch_threads

MAX_SEEDS = 10_000


def parse_seeds(text: str | None, flag: str = "--seeds") -> list[int] | None:
    """``"0,1,2"`` / ``"0..9"`` (inclusive) / ``"3"`` / mixes like ``"0..2,7"``."""
    if text is None:
        return None
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(-?\d+)\s*\.\.\s*(-?\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise InputError(None, flag, f"bad range {part!r} (want LO..HI, LO ≤ HI)")
            if hi - lo >= MAX_SEEDS:
                raise InputError(None, flag, f"range {part!r} has more than {MAX_SEEDS} seeds")
            seeds.extend(range(lo, hi + 1))
        elif re.fullmatch(r"-?\d+", part):
            seeds.append(int(part))
        else:
            raise InputError(None, flag, f"cannot parse {part!r}; use 0,1,2 or 0..9")
    if len(seeds) > MAX_SEEDS:
        raise InputError(None, flag, f"{len(seeds)} seeds; at most {MAX_SEEDS}")
    if len(set(seeds)) != len(seeds):
        raise InputError(None, flag, "seeds repeat")
    return seeds


def split_values(text: str) -> list[str]:
    """Split ``"10,20,[west,east]"`` at top-level commas (brackets and quotes kept whole)."""
    out, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(depth - 1, 0)  # (a stray closing bracket does not stop the splitting)
        elif ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return [v.strip() for v in out]


@dataclass
class Experiment:
    """A checked run request: everything :func:`run_experiment` needs."""

    target: str | Path
    scenario: Any  #: scenarios.Scenario with every override applied
    source: Path | None
    floor: Any  #: CompiledFloor, built once
    policies: list[PolicySpec]
    seeds: list[int]
    steps: int
    #: whether the scenario (file or ``--set``) names its own policy; when not, the run used
    #: the command's default policies and the written ``scenario.yaml`` leaves ``policies`` out
    names_policy: bool = True
    #: whether it names a policy by its parts (a ``policies`` field but :data:`PART_SETTINGS`
    #: and ``run``): when not, the written ``scenario.yaml`` leaves the parts out as well
    names_parts: bool = True
    #: what the request changed that the user should hear of (printed as warnings)
    notes: list[str] = field(default_factory=list)
    #: policy → the network files its parts loaded (:mod:`warehouse.provenance`)
    weights: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    #: the policies the written ``scenario.yaml`` lists as ``policies.run``: the names of those
    #: the command's flags chose (``--policy``, ``--dispatcher``, ``--navigator``,
    #: ``--collisions``); ``None`` where the scenario alone picks what ran
    listed: list[str] | None = None
    #: the policy the others are compared with (``--baseline``, else the scenario's
    #: ``policies.baseline``), by its full name; ``None``: the report's default
    #: (:func:`~warehouse.report.default_baseline`)
    baseline: str | None = None

    @property
    def robots(self) -> int:
        return int(self.scenario.fleet.robots)


#: ``policies`` fields that say how the run's parts work (the dispatch settings, the networks
#: the learned parts load) or which of its policies the others are compared with (``baseline``),
#: not which policy runs (nor ``candidate`` and the sides' own settings, what a shadow
#: folder's file records): given alone (in the file or with ``--set``), the command's default
#: policies still run, with them
PART_SETTINGS = (
    "order_pool", "anticipate", "max_order_age", "task_swaps", "park_idle",
    "dispatcher_checkpoint", "navigator_checkpoint", "dispatcher_args", "navigator_args",
    "baseline", "candidate", "candidate_set", "incumbent_set",
)  # fmt: skip


def scenario_names_policy(sc: Any, overrides: dict[str, Any], but: Sequence[str] = ()) -> bool:
    """Whether the scenario file or the overrides choose a policy (any ``policies`` field but
    :data:`PART_SETTINGS` and ``but``; ``navigator=`` is ``policies.navigator``)."""
    from scenarios.load import SHORTCUTS

    keys = [SHORTCUTS.get(k, k) for k in overrides]
    if "policies" in keys:
        return True
    given = set(sc.policies.model_fields_set) if "policies" in sc.model_fields_set else set()
    # (policies.navigator_args.guided.vertex_weight: a setting of policies.navigator_args)
    given |= {k.split(".")[1] for k in keys if k.startswith("policies.")}
    return bool(given - set(PART_SETTINGS) - set(but))


def policy_entry(
    text: str, field: str = "--policy"
) -> tuple[str, str | None, str | None, str | None]:
    """``(policy, dispatcher, navigator, collisions)`` of a policy as ``report.json`` names it:
    ``POLICY[:DISPATCHER+NAVIGATOR][/COLLISIONS]`` (:func:`~warehouse.policies.overridden_name`;
    ``rule_based:hungarian+rule_based/pibt``); the parts not named are ``None``. A part's name
    holds none of ``:``, ``+``, ``/`` (:mod:`warehouse.plugins`), so the name splits one way."""
    rest, slash, mode = text.partition("/")
    base, colon, parts = rest.partition(":")
    dispatcher, plus, navigator = parts.partition("+")
    if (
        not base
        or (slash and (not mode or "/" in mode))
        or (colon and not (plus and dispatcher and navigator))
    ):
        raise InputError(
            None,
            field,
            f"cannot read the policy {text!r}; use POLICY[:DISPATCHER+NAVIGATOR][/COLLISIONS]",
        )
    if colon:
        return base, dispatcher, navigator, mode or None
    return base, None, None, mode or None


def prepare(
    target: str | Path = "small",
    *,
    policies: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    steps: int | None = None,
    robots: int | None = None,
    tasks: str | None = None,
    collisions: str | None = None,
    dispatcher: str | None = None,
    navigator: str | None = None,
    sets: Sequence[str] = (),
    default_policies: Sequence[str] | None = None,
    baseline: str | None = None,
    pairs: bool = True,
) -> Experiment:
    """Load and check a run request (raises InputError; writes nothing).

    Without ``policies`` the scenario's own ``policies`` section runs; a scenario that has none
    runs ``default_policies`` instead when given (``warehouse run``: the learned hierarchy beside
    the rule-based fleet). ``baseline`` (``--baseline``), else the scenario's
    ``policies.baseline``, names the policy the others are compared with: one of the run's
    (:func:`baseline_name`). One given here is written into the scenario (its
    ``policies.baseline``), so that the run folder's ``scenario.yaml`` pairs the same way again.
    ``pairs`` False: the caller compares no policies (``warehouse bench``), so the scenario's
    ``policies.baseline`` is recorded data, not checked against the policies that run.
    """
    from scenarios import apply_overrides, build_floor, load_scenario, parse_assignment

    from .cli.checks import FLAG_OF, check_setting_used, unused_but

    for item in sets:  # (policies.candidate: only shadow reads it; its value would be ignored)
        key, _, raw = item.partition("=")
        check_setting_used(key.strip(), raw, unused_but("policies.baseline"))
    sc, source = load_scenario(target)
    overrides: dict[str, Any] = dict(parse_assignment(s, source) for s in sets)
    names = {key: f"--set {key}" for key in overrides}
    flags: dict[str, Any] = {"fleet.robots": robots, "episode.steps": steps, "tasks.mode": tasks}
    if seeds is not None:
        flags["episode.seeds"] = list(seeds)
    overrides.update({k: v for k, v in flags.items() if v is not None})
    names.update({k: FLAG_OF[k] for k, v in flags.items() if v is not None})
    # Does the scenario (file or --set) name a policy of its own? (Checked before the overrides
    # rebuild the model and mark every section as set.)
    names_policy = scenario_names_policy(sc, overrides)
    names_parts = scenario_names_policy(sc, overrides, but=("run",))
    sc = apply_overrides(sc, overrides, source, names)
    floor = build_floor(sc, source, names)  # a floor check names the flag that failed it
    chosen: list[str | None] = list(policies) if policies else [None]
    entries: tuple[Path | None, str] = (None, "--policy")  # where `chosen`'s names come from
    if not policies and sc.policies.run:
        chosen = list(sc.policies.run)
        given = _given_key(overrides, "policies.run")
        entries = (None, names[given]) if given else (source, "policies.run")
        _check_run_list_used(sc.policies.run, entries, overrides, names)
    notes: list[str] = []
    if not policies and default_policies and not names_policy:
        chosen = list(default_policies)
        if not floor.is_grid and "rule_based" in chosen and len(chosen) > 1:
            learned = ", ".join(str(p) for p in chosen if p != "rule_based")
            chosen = ["rule_based"]
            notes.append(
                f"the floor {floor.name!r} is not a grid, and the learned navigators were trained "
                f"on grids: the default {learned} is left out, rule_based runs alone"
            )
    try:
        specs, weights = _checked_policies(
            chosen, sc, source, floor, dispatcher=dispatcher, navigator=navigator,
            collisions=collisions, notes=notes, entries=entries,
        )  # fmt: skip
    except InputError as exc:  # a setting the command line gave names its option
        if exc.field == "policy":  # a policy that does not fit the floor: who chose it
            by_file = not policies and names_policy
            where = (source, "policies") if by_file else (None, "--policy")
            if by_file and chosen != [None]:  # (a list of policies.run)
                where = entries
            raise InputError(*where, exc.message) from None
        if (exc.source, exc.field) == entries:
            raise
        raise blame_setting(exc, overrides, names, source) from None
    _check_mode_setting_used(overrides, names, specs, sc)
    ran = [spec.name for spec in specs]
    # the policies as given (greedy+rule_based_push, which runs as rule_based_push)
    typed = [str(entry) for entry in chosen] if None not in chosen else []
    if baseline is not None:  # (recorded: the run folder's scenario.yaml pairs the same way)
        baseline = baseline_name(baseline, ran, typed=typed)
        policies_config = sc.policies.model_copy(update={"baseline": baseline})
        sc = sc.model_copy(update={"policies": policies_config})
    elif (recorded := sc.policies.baseline) is not None and pairs:
        given = _given_key(overrides, "policies.baseline")
        where = (None, names[given]) if given else (source, "policies.baseline")
        run_key = _given_key(overrides, "policies.run")
        replaced = "--policy" if policies else names[run_key] if run_key else None
        if replaced and not given and not _names_policy_of(recorded, ran, typed):
            # The file's baseline goes with the file's policies, which the command replaced.
            then = (
                "the report pairs against its default baseline (--baseline NAME picks one)"
                if len(ran) > 1
                else "it is left out (one policy runs)"
            )
            notes.append(
                f"{source}: policies.baseline {recorded!r} is not one of the "
                f"policies {replaced} runs ({', '.join(ran)}); {then}"
            )
            policies_config = sc.policies.model_copy(update={"baseline": None})
            sc = sc.model_copy(update={"policies": policies_config})
        else:
            baseline = baseline_name(recorded, ran, where, typed)
    # Policies the command chose (flags): the written scenario.yaml lists them as policies.run,
    # so that the file alone runs them again (warehouse.rerun)
    by_flags = policies or any(x is not None for x in (dispatcher, navigator, collisions))
    return Experiment(
        target=target,
        scenario=sc,
        source=source,
        floor=floor,
        policies=specs,
        seeds=list(sc.episode.seeds),
        steps=int(sc.episode.steps),
        names_policy=names_policy,
        names_parts=names_parts,
        notes=notes,
        weights=weights,
        listed=ran if by_flags else None,
        baseline=baseline,
    )


def baseline_name(
    baseline: str,
    names: list[str],
    where: tuple[Path | None, str] = (None, "--baseline"),
    typed: Sequence[str] = (),
) -> str:
    """The run's policy ``baseline`` names: its full name (``rule_based/pibt``), the name as
    given to ``--policy`` (``typed``, in the order of ``names``: ``greedy+rule_based_push``, which
    runs as ``rule_based_push``), or a name without its mode when one policy of the run has it
    (``rule_based``); else an :class:`InputError` against ``where`` (``--baseline``, or the
    file's ``policies.baseline``, which ``--baseline`` overrides)."""
    if baseline in names:
        return baseline
    if typed.count(baseline) == 1:
        return names[list(typed).index(baseline)]
    given = [name for name in names if name.partition("/")[0] == baseline]
    if len(given) == 1:
        return given[0]
    hint = "" if where[1] == "--baseline" else "; --baseline NAME picks another"
    raise InputError(*where, f"{baseline!r} is not a policy of this run ({', '.join(names)}){hint}")


def _names_policy_of(baseline: str, names: list[str], typed: Sequence[str]) -> bool:
    """Whether ``baseline`` names one or more of the run's policies, by any of the forms
    :func:`baseline_name` takes."""
    return (
        baseline in names
        or baseline in typed
        or any(name.partition("/")[0] == baseline for name in names)
    )


def _given_key(overrides: dict[str, Any], setting: str) -> str | None:
    """The override key that sets ``setting`` (by its dotted path or short name), if any."""
    from scenarios.load import SHORTCUTS

    return next((k for k in overrides if SHORTCUTS.get(k, k) == setting), None)


def _check_mode_setting_used(
    overrides: dict[str, Any], names: dict[str, str], specs: list[PolicySpec], sc: Any
) -> None:
    """A ``--set physics.collisions`` that no policy of the run reads would be silently ignored:
    refused. A policy reads it only when it has no collision mode of its own (``hierarchical``:
    pibt; ``--collisions``) and the scenario sets no ``policies.shield``."""
    key = _given_key(overrides, "physics.collisions")
    if key is None:  # (a whole physics section given as a mapping)
        physics = overrides.get("physics")
        key = "physics" if isinstance(physics, dict) and "collisions" in physics else None
    if key is None or (any(s.collisions is None for s in specs) and not sc.policies.shield):
        return
    if all(s.collisions for s in specs):
        modes = ", ".join(f"{s.name} runs under {s.collisions}" for s in specs)
        why = f"every policy has a collision mode of its own ({modes}); use --collisions"
    else:
        why = (
            f"the scenario's policies.shield ({sc.policies.shield}) sets the collision mode "
            "instead; use --collisions or --set policies.shield"
        )
    raise InputError(None, names.get(key, f"--set {key}"), f"its value would be ignored: {why}")


def _check_run_list_used(
    listed: list[str],
    entries: tuple[Path | None, str],
    overrides: dict[str, Any],
    names: dict[str, str],
    instead: str = "--policy, or --dispatcher/--navigator for every policy of the list",
) -> None:
    """A ``--set`` of ``policies.dispatcher`` or ``policies.navigator`` where ``policies.run``
    (``entries``: in the file, or set by an option) lists the policies would be ignored:
    refused, saying to use ``instead``."""
    source, field = entries
    where = f"{display_path(source)}'s {field}" if source is not None else field
    for setting in ("policies.dispatcher", "policies.navigator"):
        if key := _given_key(overrides, setting):
            raise InputError(
                None,
                names.get(key, key),
                f"{where} ({', '.join(listed)}) picks the policies, which would ignore it: use "
                f"{instead}",
            )


def one_policy_spec(
    policy: str | None,
    sc: Any,
    source: Path | None,
    *,
    dispatcher: str | None = None,
    navigator: str | None = None,
    collisions: str | None = None,
    overrides: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
    runs: str = "this command runs one policy",
    pick: str = "--policy",
) -> PolicySpec:
    """The policy of a command that runs one (``sweep``, ``view``, ``shadow``'s incumbent,
    :class:`~warehouse.model.WarehouseModel`), named and resolved as ``warehouse run`` resolves
    each of its own: ``policy`` when given (as ``--policy`` takes it, ``rule_based/pibt`` too),
    else the one policy the scenario's ``policies.run`` lists, else its dispatcher and
    navigator; ``dispatcher``, ``navigator`` and ``collisions`` (flags) override its parts.

    A list of several policies is an :class:`InputError` naming it (the file's
    ``policies.run``, or the option of ``names`` that set it in ``overrides``) that says
    ``runs`` and to pick one with ``pick`` (``--policy``; ``policy=`` for the Python API); so is
    an override of ``policies.dispatcher`` or ``policies.navigator`` that the list would
    ignore."""
    overrides, names = overrides or {}, names or {}
    entries: tuple[Path | None, str] = (None, "--policy")
    entry = policy
    listed = sc.policies.run
    if policy is None and listed:
        given = _given_key(overrides, "policies.run")
        entries = (None, names.get(given, given)) if given else (source, "policies.run")
        example = f"{pick} {listed[0]}" if pick.startswith("--") else f"{pick}{listed[0]!r}"
        if len(listed) > 1:
            raise InputError(
                *entries,
                f"lists {len(listed)} policies ({', '.join(listed)}), and {runs}: pick it with "
                f"{pick} (e.g. {example})",
            )
        name = f"{pick} NAME" if pick.startswith("--") else f"{pick}NAME"
        _check_run_list_used(listed, entries, overrides, names, instead=name)
        entry = listed[0]
    return _entry_spec(entry, sc, source, entries, dispatcher, navigator, collisions)


def chosen_by(
    policy: str | None,
    sc: Any,
    source: Path | None,
    overrides: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
    pick: str = "--policy",
) -> tuple[Path | None, str]:
    """Where the one policy of :func:`one_policy_spec` was chosen, as ``(file, field)`` for an
    :class:`InputError` about the policy itself (one that does not fit the floor): ``pick``
    when ``policy`` is given, else the option of ``names`` that set the scenario's
    ``policies.run`` (or another of its ``policies`` fields) in ``overrides``, else the
    scenario file's ``policies.run`` when it lists the policy, else its ``policies``."""
    from scenarios.load import SHORTCUTS

    overrides, names = overrides or {}, names or {}
    if policy is not None:
        return None, pick
    section = overrides.get("policies")  # (a whole section given: --set policies={...})
    if sc.policies.run:
        given = _given_key(overrides, "policies.run")
        given = given or ("policies" if isinstance(section, dict) and "run" in section else None)
        return (None, names.get(given, given)) if given else (source, "policies.run")
    for key in overrides:
        dotted = SHORTCUTS.get(key, key)
        if dotted == "policies" or dotted.removeprefix("policies.") in ("dispatcher", "navigator"):
            return None, names.get(key, key)
    return source, "policies"


def blame_setting(
    exc: InputError, overrides: dict[str, Any], names: dict[str, str], source: Path | None
) -> InputError:
    """``exc`` naming the option that set its field (``--set policies.navigator_args...``), or
    the scenario file where a ``policies`` field of the file failed without naming one."""
    from scenarios import blame_override

    blamed = blame_override(exc, overrides, names)
    return from_file(exc, source) if blamed is exc else blamed


def _checked_policies(
    chosen: list[str | None],
    sc: Any,
    source: Path | None,
    floor: Any,
    *,
    dispatcher: str | None,
    navigator: str | None,
    collisions: str | None,
    notes: list[str] | None = None,
    entries: tuple[Path | None, str] = (None, "--policy"),
) -> tuple[list[PolicySpec], dict[str, dict[str, dict[str, str]]]]:
    """The run's policies, their settings checked and their checkpoints loaded (so a bad one
    fails before anything runs), and the network files each one's parts loaded, by policy
    (:func:`warehouse.provenance.policy_weights`). A policy whose navigator needs a PIBT shield
    it does not get adds a line to ``notes`` (:func:`~warehouse.policies.pibt_note`).

    ``chosen`` names each policy as ``report.json`` does (:func:`policy_entry`; ``None``: the
    scenario's); ``entries``, where those names come from (``--policy``, or the file's
    ``policies.run``), which an error in one names. The flags override every policy's parts."""
    from .provenance import policy_weights

    specs = [_entry_spec(n, sc, source, entries, dispatcher, navigator, collisions) for n in chosen]
    if len({s.name for s in specs}) != len(specs):
        raise InputError(*entries, "policies repeat")
    check_checkpoints_used(specs, sc, source)
    weights = {}
    for spec in specs:
        parts = build_policy(spec, sc, source, floor)
        weights[spec.name] = policy_weights(spec, sc, source, parts)
        if notes is not None and (note := pibt_note(spec, parts[1], sc)):
            notes.append(note)
    return specs, weights


def listed_policies(sc: Any, source: Path | None) -> list[PolicySpec]:
    """The policies the scenario's ``policies.run`` lists, checked as ``warehouse run`` checks
    them (an error names the file's ``policies.run``); ``[]`` when it lists none."""
    where = (source, "policies.run")
    specs = [_entry_spec(n, sc, source, where, None, None, None) for n in sc.policies.run or ()]
    if len({s.name for s in specs}) != len(specs):
        raise InputError(*where, "policies repeat")
    return specs


def _entry_spec(
    entry: str | None,
    sc: Any,
    source: Path | None,
    entries: tuple[Path | None, str],
    dispatcher: str | None,
    navigator: str | None,
    collisions: str | None,
) -> PolicySpec:
    """The policy ``entry`` names (:func:`policy_entry`; ``None``: the scenario's) with the
    parts the flags give, named as :func:`~warehouse.policies.overridden_name` names it: a
    policy a report names (``rule_based/pibt``) is that policy again."""
    base_name: str | None = None
    parts: tuple[str | None, str | None, str | None] = (None, None, None)
    if entry is not None:
        try:
            base_name, *rest = policy_entry(entry, entries[1])
        except InputError as exc:
            raise InputError(*entries, exc.message) from None
        parts = (rest[0], rest[1], rest[2])
        try:
            resolve_policy(
                base_name, sc, dispatcher=parts[0], navigator=parts[1], collisions=parts[2]
            )
        except InputError as exc:  # the entry itself: named where it was written
            message = exc.message if exc.field == "--policy" else f"{entry!r}: {exc.message}"
            raise InputError(*entries, message) from None

    def given(flag: str | None, own: str | None) -> str | None:
        return flag if flag is not None else own

    spec = resolve_policy(
        base_name,
        sc,
        dispatcher=given(dispatcher, parts[0]),
        navigator=given(navigator, parts[1]),
        collisions=given(collisions, parts[2]),
        source=source,
    )
    return _named(resolve_policy(base_name, sc, source=source), spec)


def _named(base: PolicySpec, spec: PolicySpec) -> PolicySpec:
    """Name a policy whose parts were changed by flags: ``rule_based:fifo+random/pibt``
    (:func:`~warehouse.policies.overridden_name`)."""
    from dataclasses import replace

    from .policies import overridden_name

    return replace(spec, name=overridden_name(base, spec))


@dataclass
class RunResult:
    """One (policy, seed) episode."""

    policy: str
    seed: int
    kpis: dict[str, Any]
    series: pd.DataFrame  #: model-level DataCollector series with policy/seed columns
    robots: pd.DataFrame | None  #: per-robot counters series (may be None)
    #: the navigator's counts of the episode (:func:`navigator_stats`; None: it keeps none)
    navigator_stats: dict[str, int] | None = None


@dataclass
class Results:
    experiment: Experiment
    runs: list[RunResult] = field(default_factory=list)
    visits: dict[str, np.ndarray] = field(default_factory=dict)  #: policy → (H, W) counts

    def by_policy(self, policy: str) -> list[RunResult]:
        return [r for r in self.runs if r.policy == policy]


def run_experiment(
    exp: Experiment,
    *,
    progress: Callable[[int], None] | None = None,
    record: bool | Callable[..., Any] = False,
    on_recorder: Callable[[Any], None] | None = None,
    jobs: int = 1,
) -> Results:
    """Run every policy on every seed. ``progress(n)`` gets the steps done since its last call.

    With ``record`` the first seed of the first policy is recorded; ``on_recorder(recorder)``
    receives the recorder when that run ends.

    ``jobs`` > 1 spreads the episodes over that many processes (the recorded one runs in this
    process, beside ``jobs`` − 1 workers). Each episode depends only on its policy and seed, so
    the results are the same as with one process, in the same order; ``progress`` then advances
    a whole episode at a time. Workers start fresh: they see installed packages' parts (entry
    points), not parts a script added to the registries.
    """
    with torch_threads(1, only_if_loaded=True):  # see warehouse.threads
        if jobs > 1:
            return _run_parallel(exp, progress, record, on_recorder, jobs)
        return _run_policies(exp, progress, record, on_recorder)


def _run_episode(
    exp: Experiment,
    p_idx: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    record: bool | Callable[..., Any] = False,
    on_recorder: Callable[[Any], None] | None = None,
) -> tuple[RunResult, np.ndarray]:
    """One (policy, seed) episode: its result and its per-node visit counts."""
    spec = exp.policies[p_idx]
    with pibt_note_told():  # (prepare put it in exp.notes, once for the run)
        model = WarehouseModel(
            exp.scenario,
            source=exp.source,
            floor=exp.floor,
            seed=seed,
            policy=spec,
            steps=exp.steps,
            recorder=record or None,
            check_checkpoints=False,  # prepare checked them over all policies
        )
    done = 0

    def tick(t: int) -> None:
        nonlocal done
        if progress is not None:
            progress(t - done)
        done = t

    kpis = model.run(tick)
    if progress is not None and done < exp.steps:  # stopped early (episode.stop_when_solved)
        progress(exp.steps - done)  # the bar counts every episode's steps as done
    series = model.series()
    series.insert(0, "seed", seed)
    series.insert(0, "policy", spec.name)
    robots = model.robot_series()
    if robots is not None:
        robots.insert(0, "seed", seed)
        robots.insert(0, "policy", spec.name)
    if record and on_recorder is not None and model.recorder is not None:
        on_recorder(model.recorder)
    stats = navigator_stats(model.fleet.navigator)
    return RunResult(spec.name, seed, kpis, series, robots, stats), model.visits


def navigator_stats(navigator: Any) -> dict[str, int] | None:
    """The counts a navigator kept of its episode (its ``stats`` dict, as ``lacam``'s
    :attr:`~agents.lacam.LaCAMNavigator.stats`), for ``report.json``: the whole numbers and
    true/false values only (a time measured would differ between runs), keys sorted; None
    when it keeps no ``stats`` dict."""
    stats = getattr(navigator, "stats", None)
    if not isinstance(stats, dict):
        return None
    counts: dict[str, int] = {}
    for key, value in sorted(stats.items(), key=lambda item: str(item[0])):
        if isinstance(value, bool | np.bool_):
            counts[str(key)] = bool(value)
        elif isinstance(value, int | np.integer):
            counts[str(key)] = int(value)
    return counts


def _gather(exp: Experiment, done: dict[tuple[int, int], tuple[RunResult, np.ndarray]]) -> Results:
    """Results in policy-major, seed order, whatever order the episodes finished in."""
    results = Results(exp)
    for p_idx, spec in enumerate(exp.policies):
        visits = np.zeros(exp.floor.n_nodes, dtype=np.int64)
        for s_idx in range(len(exp.seeds)):
            run, counts = done[p_idx, s_idx]
            results.runs.append(run)
            visits += counts
        grid = np.full(exp.floor.shape, np.nan)
        grid[exp.floor.pos[:, 0], exp.floor.pos[:, 1]] = visits
        results.visits[spec.name] = grid
    return results


def _run_policies(
    exp: Experiment,
    progress: Callable[[int], None] | None,
    record: bool | Callable[..., Any],
    on_recorder: Callable[[Any], None] | None,
) -> Results:
    done = {}
    for p_idx in range(len(exp.policies)):
        for s_idx, seed in enumerate(exp.seeds):
            wants_record = record if p_idx == 0 and s_idx == 0 else False
            done[p_idx, s_idx] = _run_episode(exp, p_idx, seed, progress, wants_record, on_recorder)
    return _gather(exp, done)


#: The experiment of a worker process of :func:`_run_parallel` (sent once, not per episode).
_WORKER_EXPERIMENT: Experiment | None = None


def _init_worker(exp: Experiment, uses_torch: bool) -> None:
    global _WORKER_EXPERIMENT
    _WORKER_EXPERIMENT = exp
    if uses_torch:  # the parent runs learned policies on one torch thread: so do the workers
        import torch

        torch.set_num_threads(1)


def _worker_episode(p_idx: int, seed: int) -> tuple[RunResult, np.ndarray]:
    assert _WORKER_EXPERIMENT is not None
    return _run_episode(_WORKER_EXPERIMENT, p_idx, seed)


def _run_parallel(
    exp: Experiment,
    progress: Callable[[int], None] | None,
    record: bool | Callable[..., Any],
    on_recorder: Callable[[Any], None] | None,
    jobs: int,
) -> Results:
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from warehouse.interrupt import stop_workers, workers_ignore_ctrl_c

    episodes = [
        (p_idx, s_idx) for p_idx in range(len(exp.policies)) for s_idx in range(len(exp.seeds))
    ]
    local = episodes[0] if record else None
    remote = [e for e in episodes if e != local]
    workers = min(jobs - (local is not None), len(remote))
    done: dict[tuple[int, int], tuple[RunResult, np.ndarray]] = {}
    if workers < 1:  # one episode in all, or one job left beside the recorded episode
        return _run_policies(exp, progress, record, on_recorder)
    # "spawn": workers start clean (no forked numba or torch thread state)
    pool = ProcessPoolExecutor(
        workers,
        mp_context=mp.get_context("spawn"),
        initializer=_init_worker,
        initargs=(exp, "torch" in sys.modules),
    )
    try:
        with workers_ignore_ctrl_c():  # (submit starts the workers)
            futures = {pool.submit(_worker_episode, p, exp.seeds[s]): (p, s) for p, s in remote}
        if local is not None:
            p, s = local
            done[local] = _run_episode(exp, p, exp.seeds[s], progress, record, on_recorder)
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress is not None:
                progress(exp.steps)
    except KeyboardInterrupt:  # the workers ignore Ctrl-C: stopped, not waited for
        stop_workers(pool)
        raise
    finally:  # on an error, the episodes not started yet are dropped, not run
        pool.shutdown(wait=True, cancel_futures=True)
    return _gather(exp, done)
