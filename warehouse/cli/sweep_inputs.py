"""What ``warehouse sweep`` checks before any run: the ``--set`` grid, combinations that would
run the same setting twice or ignore a swept value, targets the runs can judge, and which option
or file an error of a combination's policy names."""

from __future__ import annotations

import itertools
from typing import Any

from warehouse.errors import InputError

#: the ``episode.*`` settings a sweep's runs read from ``--set`` (the others are ``--steps``'
#: and ``--seeds``', or not read by a sweep)
SWEEPABLE_EPISODE = frozenset({"episode.stop_when_solved"})


def parse_grid(sets: Any, policy: str | None) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
    """``({dotted key: values}, {dotted key: values as typed})`` of the ``--set`` items.

    Shortcuts become dotted keys (``robots`` → ``fleet.robots``), so a key cannot be given
    twice under two names, nor collide with a run's own columns (the ``robots`` KPI, ``seed``).
    """
    from scenarios.load import PATH_KEYS, SHORTCUTS, parse_assignment, parse_value
    from warehouse.runner import split_values

    grid: dict[str, list[Any]] = {}
    labels: dict[str, list[str]] = {}
    typed_as: dict[str, str] = {}  # key → the name the first --set gave it
    for item in sets:
        typed, sep, raw = item.partition("=")
        typed = typed.strip()
        if not sep or not typed:
            raise InputError(None, "--set", f"expected KEY=V1,V2,..., got {item!r}")
        key = SHORTCUTS.get(typed, typed)
        option = f"--set {key}"  # (the command line's, not the scenario file's)
        if key in grid:  # (as check_set_keys words it for the other commands)
            raise InputError(None, option, f"given twice (also as {typed_as[key]!r})")
        typed_as[key] = typed
        if (key == "episode" or key.startswith("episode.")) and key not in SWEEPABLE_EPISODE:
            # Every sweep run gets --steps/--seeds; a swept episode setting would be ignored.
            raise InputError(None, option, "cannot be swept; use --steps and --seeds")
        if policy and key in (
            "policies",
            "policies.dispatcher",
            "policies.navigator",
            "policies.run",
        ):
            raise InputError(None, option, "--policy picks the policy of every run; drop one")
        labels[key] = split_values(raw)
        grid[key] = [parse_value(v, option, None) for v in labels[key]]
        if key in PATH_KEYS:  # relative to the current folder, as `warehouse run --set` reads it
            grid[key] = [parse_assignment(f"{key}={v}")[1] for v in labels[key]]
        if len({repr(v) for v in grid[key]}) != len(grid[key]):
            raise InputError(None, option, f"values repeat in {raw!r}")
    return grid, labels


def blamed(
    exc: InputError,
    grid: dict[str, list[Any]],
    named: dict[str, str],
    source: Any,
    policy: str | None,
    listed: bool = False,
) -> InputError:
    """``exc`` (a policy's check) naming the ``--set`` that gave the failed setting, or the
    option or scenario file that chose the policy (as ``warehouse run`` names them; ``listed``:
    the file's ``policies.run`` chose it)."""
    from warehouse.runner import blame_setting

    if exc.field == "policy":  # a policy that does not fit the floor: who chose it
        if policy:
            return InputError(None, "--policy", exc.message)
        swept = next((k for k in grid if k == "policies" or k.startswith("policies.")), None)
        if swept is not None:
            return InputError(None, named[swept], exc.message)
        return InputError(source, "policies.run" if listed else "policies", exc.message)
    return blame_setting(exc, grid, named, source)


def check_distinct(
    grid: dict[str, list[Any]], labels: dict[str, list[str]], variants: list[Any]
) -> None:
    """Two combinations that give the same scenario (``robots=4,4.0``) would be one setting
    run twice, its seeds counted twice in one row: refused, naming the swept key."""
    indices = list(itertools.product(*(range(len(v)) for v in grid.values())))
    seen: dict[str, tuple[int, ...]] = {}
    for index, variant in zip(indices, variants, strict=True):
        dump = variant.model_dump_json()
        if dump in seen:
            other = seen[dump]
            i = next(i for i, (a, b) in enumerate(zip(other, index, strict=True)) if a != b)
            key = list(grid)[i]
            first, second = labels[key][other[i]], labels[key][index[i]]
            raise InputError(
                None, f"--set {key}", f"{first!r} and {second!r} give the same setting"
            )
        seen[dump] = index


def check_collisions_swept(
    grid: dict[str, list[Any]], specs: list[Any], variants: list[Any]
) -> None:
    """A ``physics.collisions`` (or ``policies.shield``) given with ``--set`` that the policy's
    own collision mode overrides would be ignored (a swept one would run every value the same):
    refused, naming the ``--set``; so is a single value (as ``warehouse run --set`` refuses it)."""
    for field in ("physics.collisions", "policies.shield"):
        section, name = field.split(".")
        keys = [k for k in grid if k in (field, section)]
        if keys and section in keys and not any(name in (v or {}) for v in grid[section]):
            keys.remove(section)  # (a whole section given without this field)
        if not keys:
            continue
        values = "its values" if len(grid[keys[0]]) > 1 else "its value"
        for spec, variant in zip(specs, variants, strict=True):
            if spec.collisions:
                why = f"the policy {spec.name} runs under {spec.collisions} whatever it says"
            elif field == "physics.collisions" and variant.policies.shield:
                why = (
                    f"policies.shield ({variant.policies.shield}) sets the collision mode "
                    "instead; sweep policies.shield"
                )
            else:
                continue
            raise InputError(None, f"--set {keys[0]}", f"{values} would be ignored: {why}")


def check_targets_defined(goals: list[Any], variants: list[Any]) -> None:
    """A target on a KPI that one of the swept scenarios ``variants`` never defines is refused
    before anything runs: order KPIs in goal_visit mode, battery KPIs without a battery, the
    one-shot MAPF KPIs outside one-shot instances."""
    from warehouse.kpi_targets import BATTERY_KPIS, UNDEFINED_IN_MODE
    from warehouse.kpis import ONE_SHOT_KPIS, is_one_shot

    for goal in goals:
        for mode in sorted({v.tasks.mode for v in variants}):
            if goal.kpi in UNDEFINED_IN_MODE.get(mode, ()):
                raise InputError(
                    None,
                    "--target",
                    f"{goal.kpi} is undefined in {mode} mode (no orders): {goal.text!r}",
                )
        if goal.kpi in BATTERY_KPIS and not all(v.battery.enabled for v in variants):
            raise InputError(
                None,
                "--target",
                f"{goal.kpi} is undefined without the battery model (battery.capacity_wh): "
                f"{goal.text!r}",
            )
        if goal.kpi in ONE_SHOT_KPIS and not all(is_one_shot(v.tasks) for v in variants):
            raise InputError(
                None,
                "--target",
                f"{goal.kpi} is undefined unless tasks.assignment is one_shot (a one-shot MAPF "
                f"instance): {goal.text!r}",
            )
