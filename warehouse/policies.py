"""Policy names of ``warehouse run --policy``: a dispatcher, a navigator and a shield.

A *policy* couples a dispatcher (:mod:`hierarchy.dispatchers`), a navigator
(:mod:`agents.registry`) and optionally a collision mode (``None`` keeps the scenario's
``policies.shield`` or ``physics.collisions``). Presets live in :data:`PRESETS`; adding one is one
dict entry. Any navigator name that is not a preset also works as a policy (greedy dispatcher
plus that navigator), and so does ``DISPATCHER+NAVIGATOR`` (``hungarian+rule_based``).
``--dispatcher``, ``--navigator`` and ``--collisions`` override a policy's parts.

A policy's name says what runs: the preset's when its parts are a preset's, else the navigator's
(greedy dispatcher), else ``DISPATCHER+NAVIGATOR``. Runs and comparisons label their columns
with it, so two runs of different dispatchers never share a label.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .plugins import load_plugins

if TYPE_CHECKING:
    from scenarios import Scenario

#: policy name → (dispatcher, navigator, collision mode or None for the scenario's)
PRESETS: dict[str, tuple[str, str, str | None]] = {
    "rule_based": ("greedy", "rule_based", None),
    "random": ("random", "random", None),
    # The learned hierarchy of issue 5: PPO dispatcher + the CQL navigator (fine-tuned online
    # for the PIBT shield when it runs under it) + the PIBT shield.
    "hierarchical": ("ppo", "cql_tuned", "pibt"),
}

#: dispatchers with an order pool (``policies.order_pool``, ``policies.anticipate``)
POOLED_DISPATCHERS = frozenset({"greedy", "hungarian", "ppo"})


@dataclass(frozen=True)
class PolicySpec:
    """A named dispatcher + navigator (+ collision mode) combination."""

    name: str
    dispatcher: str
    navigator: str
    collisions: str | None = None

    def collisions_for(self, scenario: Scenario) -> str:
        return self.collisions or scenario.policies.shield or scenario.physics.collisions


def policy_names() -> list[str]:
    """Presets first, then every other registered navigator."""
    from agents import NAVIGATORS

    load_plugins()
    return list(PRESETS) + sorted(n for n in NAVIGATORS if n not in PRESETS)


def policy_label(dispatcher: str, navigator: str, collisions: str | None = None) -> str:
    """The name of a (dispatcher, navigator) pair running under the collision mode
    ``collisions`` (``None``: any) (module docstring). A preset's name says all it runs: a pair
    of its parts under another collision mode (``ppo+cql_tuned`` without PIBT), or a navigator
    named like a preset with other parts (``greedy`` + ``random``), is ``DISPATCHER+NAVIGATOR``."""
    for name, (disp, nav, mode) in PRESETS.items():
        if (disp, nav) == (dispatcher, navigator) and collisions in (None, mode or collisions):
            return name
    if dispatcher == "greedy" and navigator not in PRESETS:
        return navigator
    return f"{dispatcher}+{navigator}"


def scenario_policy(scenario: Scenario) -> PolicySpec:
    """The policy a scenario file names in its ``policies`` section."""
    p = scenario.policies
    mode = p.shield or scenario.physics.collisions
    return PolicySpec(policy_label(p.dispatcher, p.navigator, mode), p.dispatcher, p.navigator)


def resolve_policy(
    name: str | None,
    scenario: Scenario,
    *,
    dispatcher: str | None = None,
    navigator: str | None = None,
    collisions: str | None = None,
    source: Path | None = None,
) -> PolicySpec:
    """Turn a policy name (``None``: the scenario's) and flag overrides into a checked spec.

    An unknown part named by the scenario (``source``, its file) is reported against the
    file's ``policies.*`` field, one named by a flag against the flag."""
    from agents import NAVIGATORS
    from hierarchy import DISPATCHERS

    load_plugins()
    if name is None:
        spec = scenario_policy(scenario)
    elif name in PRESETS:
        spec = PolicySpec(name, *PRESETS[name])
    elif name in NAVIGATORS:
        spec = PolicySpec(name, "greedy", name, None)
    elif "+" in name:
        disp, _, nav = name.partition("+")
        for part, known in (("dispatcher", DISPATCHERS), ("navigator", NAVIGATORS)):
            value = disp if part == "dispatcher" else nav
            if value not in known:
                raise InputError(
                    None, "--policy", f"{name!r}: unknown {part} {value!r}; known: {sorted(known)}"
                )
        mode = scenario.policies.shield or scenario.physics.collisions
        spec = PolicySpec(policy_label(disp, nav, mode), disp, nav, None)
    else:
        raise InputError(
            None,
            "--policy",
            f"unknown policy {name!r}; known: {policy_names()}, or DISPATCHER+NAVIGATOR",
        )
    base = spec
    # (an empty name given is no part: refused below, not taken for "not given")
    if dispatcher is not None:
        spec = replace(spec, dispatcher=dispatcher)
    if navigator is not None:
        spec = replace(spec, navigator=navigator)
    if collisions is not None:
        spec = replace(spec, collisions=collisions)
    spec = replace(spec, name=overridden_name(base, spec))

    def where(flag: str, given: str | None, part: str) -> tuple[Path | None, str]:
        return (source, f"policies.{part}") if name is None and given is None else (None, flag)

    if spec.dispatcher not in DISPATCHERS:
        raise InputError(
            *where("--dispatcher", dispatcher, "dispatcher"),
            f"unknown dispatcher {spec.dispatcher!r}; known: {sorted(DISPATCHERS)}",
        )
    if spec.navigator not in NAVIGATORS:
        raise InputError(
            *where("--navigator", navigator, "navigator"),
            f"unknown navigator {spec.navigator!r}; known: {sorted(NAVIGATORS)}",
        )
    if spec.collisions is not None:
        checked_collisions(spec.collisions)
    return spec


def overridden_name(base: PolicySpec, spec: PolicySpec) -> str:
    """The name of ``base`` with the parts of ``spec`` (flags changed them), as runs label their
    columns: ``rule_based:fifo+random/pibt``; ``base``'s own name when nothing changed."""
    suffix = ""
    if (spec.dispatcher, spec.navigator) != (base.dispatcher, base.navigator):
        suffix += f":{spec.dispatcher}+{spec.navigator}"
    if spec.collisions != base.collisions:
        suffix += f"/{spec.collisions}"
    return base.name + suffix


def checked_collisions(mode: str, flag: str = "--collisions") -> str:
    """``mode`` if it names a collision mode (a built-in or installed shield), else the one-line
    error against ``flag``."""
    from .shield import check_collision_mode

    try:
        return check_collision_mode(mode)
    except ValueError as exc:
        raise InputError(None, flag, f"{exc}, got {mode!r}") from None


def build_policy(
    spec: PolicySpec, scenario: Scenario, source: Path | None = None, floor: Any = None
) -> tuple[Any, Any]:
    """Instantiate ``(dispatcher, navigator)``; the parts that load a network get the scenario's
    checkpoints (:func:`checkpoint_kwargs`). With the ``floor`` it will drive, a navigator that
    cannot drive it is refused (:func:`check_fits_floor`)."""
    from agents import make_navigator

    dispatcher = scenario_dispatcher(spec.dispatcher, scenario, source)
    kwargs = checkpoint_kwargs("navigator", spec.navigator, scenario, source)
    args = part_args("navigator", spec.navigator, scenario)
    navigator = _built("navigator", spec.navigator, args, make_navigator, {**kwargs, **args})
    check_fits_tasks(spec, navigator, scenario, source)
    if floor is not None:
        check_fits_floor(spec, navigator, floor)
    return dispatcher, navigator


def from_file(exc: InputError, source: Path | None) -> InputError:
    """``exc`` naming the scenario file when it is about a ``policies.*`` field and names no
    file (the checks of a policy's parts know the field, not where it was written)."""
    if exc.source is None and (exc.field or "").startswith("policies."):
        return InputError(source, exc.field, exc.message)
    return exc


def check_fits_tasks(
    spec: PolicySpec, navigator: Any, scenario: Scenario, source: Path | None = None
) -> None:
    """A navigator that plans one-shot MAPF instances only (``one_shot_only``, the ``lacam``
    navigator) is refused outside them, against ``tasks.assignment`` of the scenario."""
    assignment = scenario.tasks.assignment
    if getattr(navigator, "one_shot_only", False) and assignment != "one_shot":
        from agents.lacam import one_shot_refusal

        raise InputError(source, "tasks.assignment", one_shot_refusal(spec.navigator, assignment))


#: collision modes with no PIBT shield to rank the alternatives of conflicting robots: a
#: navigator that leaves its conflicts to one (``needs_pibt``) jams under them
UNRANKED_MODES = ("block", "physical")


#: the hint of :func:`pibt_note` for a command that changes the collision mode with ``--set``
SET_PIBT = "--set {field}=pibt"


def mode_setting(scenario: Scenario) -> str:
    """The scenario setting that decides the collision mode of a policy with none of its own:
    ``policies.shield`` where the scenario sets one (``physics.collisions`` does not override
    it), else ``physics.collisions``."""
    return "policies.shield" if scenario.policies.shield else "physics.collisions"


def pibt_note(
    spec: PolicySpec, navigator: Any, scenario: Scenario, setting: str = "--collisions pibt"
) -> str | None:
    """One line for a navigator that proposes moves that may conflict and leaves them to a PIBT
    shield (``needs_pibt``: the ``guided`` navigator) running under ``block`` or ``physical``,
    where the conflicting moves wait or collide and the floor jams; ``None`` otherwise.
    ``setting`` is how the command changes the collision mode; a ``{field}`` in it
    (:data:`SET_PIBT`) becomes the setting that decides it (:func:`mode_setting`)."""
    mode = spec.collisions_for(scenario)
    if not getattr(navigator, "needs_pibt", False) or mode not in UNRANKED_MODES:
        return None
    outcome = "wait and the floor jams" if mode == "block" else "collide"
    field = mode_setting(scenario)
    # (a policy's own mode is the physics.collisions its simulation runs)
    decides = "physics.collisions" if spec.collisions else field
    return (
        f"{spec.name}: the navigator {spec.navigator!r} proposes moves that may conflict and "
        f"leaves them to a PIBT shield; under {decides}={mode} they {outcome}: use "
        f"{setting.replace('{field}', field)} (or pibt_swap)"
    )


class PibtWarning(UserWarning):
    """A navigator that leaves its conflicts to a PIBT shield runs without one
    (:func:`pibt_note`): :class:`warehouse.model.WarehouseModel` warns with it when built."""


@contextlib.contextmanager
def pibt_note_told() -> Iterator[None]:
    """Inside, :class:`PibtWarning` is not raised: a command that prints the
    :func:`pibt_note` once for the run (``warehouse run``, ``sweep``, ``bench``) builds its
    models here, so the note is not given again, in another shape, for every episode."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PibtWarning)
        yield


def check_fits_floor(spec: PolicySpec, navigator: Any, floor: Any) -> None:
    """A learned navigator reads an egocentric grid window and answers WAIT, N, E, S, W. On a
    floor that is not a grid the actions are neighbour slots (:mod:`warehouse.floor.compiled`),
    so its moves would mean other directions: refused, rather than measured."""
    if getattr(navigator, "needs_observation", False) and not floor.is_grid:
        raise InputError(
            None,
            "policy",
            f"{spec.name!r}: its navigator {spec.navigator!r} was trained on grid floors (moves "
            f"N, E, S, W), and the floor {floor.name!r} is not a grid (its moves are neighbour "
            "slots); use a rule-based navigator, e.g. the policy rule_based",
        )


#: keywords a run sets itself, so ``policies.*_args`` may not: where they come from instead
_RESERVED_ARGS = {
    "checkpoint": "policies.{part}_checkpoint",
    "lookahead": "policies.order_pool",
    "anticipate": "policies.anticipate",
    "seed": "the run's seeds (the part is seeded through reset)",
    "device": "the machine (learned parts use the GPU when there is one)",
}


def part_args(part: str, name: str, scenario: Scenario) -> dict[str, Any]:
    """The ``policies.<part>_args`` of the part called ``name``, checked against the named
    keywords of its factory (a keyword it would swallow or ignore is refused, not dropped)."""
    import inspect

    from agents import NAVIGATORS
    from hierarchy import DISPATCHERS

    args = dict(getattr(scenario.policies, f"{part}_args").get(name, {}))
    if not args:
        return {}
    factory = (NAVIGATORS if part == "navigator" else DISPATCHERS)[name]
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        params = []  # type: ignore[assignment]
    keywords = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    by_name = {p.name: p for p in params if p.kind in keywords}
    named = set(by_name) - set(_RESERVED_ARGS)
    for key, value in args.items():
        field = f"policies.{part}_args.{name}.{key}"
        if key in _RESERVED_ARGS:
            raise InputError(None, field, f"set by {_RESERVED_ARGS[key].format(part=part)}")
        if key not in named:
            takes = f"it takes: {', '.join(sorted(named))}" if named else "it takes none"
            raise InputError(None, field, f"the {part} {name!r} has no keyword {key!r} ({takes})")
        expected = _expected_type(factory, by_name[key])
        if (  # a whole float for a count (``1e1``, ``10.0``), as scenario counts take it
            expected is not None
            and isinstance(value, float)
            and value.is_integer()
            and _fits(value, expected[0]) is False
            and _fits(int(value), expected[0]) is True
        ):
            value = args[key] = int(value)
        if expected is not None and _fits(value, expected[0]) is False:
            raise InputError(
                None,
                field,
                f"the {part} {name!r} takes {key} as {expected[1]}, got {value!r}",
            )
    return args


def _expected_type(factory: Any, param: Any) -> tuple[Any, str] | None:
    """``(type, how to say it)`` of a factory's keyword: its annotation when it can be read
    (``p: float``), else the type of a number, text or true/false default (``p=0.2``); ``None``
    when neither says."""
    import inspect
    import typing

    annotation = param.annotation
    if isinstance(annotation, str):  # ``from __future__ import annotations``
        target = factory.__init__ if inspect.isclass(factory) else factory
        try:
            hints = typing.get_type_hints(inspect.unwrap(target))
        except Exception:  # a name the factory's module does not define: say nothing
            hints = {}
        annotation = hints.get(param.name, inspect.Parameter.empty)
    if annotation is not inspect.Parameter.empty:
        shown = getattr(annotation, "__name__", None) or str(annotation)
        return annotation, str(param.annotation) if isinstance(param.annotation, str) else shown
    default = param.default
    if isinstance(default, bool):
        return bool, "true/false (its default is " + str(default).lower() + ")"
    if isinstance(default, int | float):
        return float, f"a number (its default is {default})"
    if isinstance(default, str):
        return str, f"text (its default is {default!r})"
    return None


def _fits(value: Any, expected: Any) -> bool | None:
    """Whether a YAML value fits a type: True, False, or ``None`` when the type says too little
    to tell (a class of the part's own, ``Any``, a container of those)."""
    import collections.abc
    import types
    import typing

    if expected is Any:
        return None
    if expected is None or expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    origin, members = typing.get_origin(expected), typing.get_args(expected)
    if origin is typing.Union or origin is types.UnionType:
        fits = [_fits(value, member) for member in members]
        return True if True in fits else (None if None in fits else False)
    if origin is typing.Literal:
        return any(value == m and type(value) is type(m) for m in members)
    if origin in (list, tuple, collections.abc.Sequence) or expected in (list, tuple):
        if not isinstance(value, list):
            return False
        if len(members) == 1 or (len(members) == 2 and members[1] is Ellipsis):
            fits = [_fits(v, members[0]) for v in value]
            return False if False in fits else (None if None in fits else True)
        return None
    return None


def _built(part: str, name: str, args: dict[str, Any], make: Any, kwargs: dict[str, Any]) -> Any:
    """``make(name, **kwargs)``, checked (:func:`warehouse.plugins.check_part`); a value of
    ``args`` the part refuses is a one-line error, and so is an installed part's factory that
    raises (:func:`warehouse.plugins.build_part`)."""
    from .plugins import DISPATCHER_GROUP, NAVIGATOR_GROUP, build_part, check_part

    group = DISPATCHER_GROUP if part == "dispatcher" else NAVIGATOR_GROUP
    try:
        built = build_part(group, name, lambda **kw: make(name, **kw), kwargs)
    except (TypeError, ValueError) as exc:
        if not args:
            raise
        raise InputError(None, f"policies.{part}_args.{name}", str(exc)) from None
    except InputError as exc:
        cause = exc.__cause__  # an installed part's refusal of its arguments
        if args and isinstance(cause, TypeError | ValueError):
            raise InputError(None, f"policies.{part}_args.{name}", str(cause)) from None
        raise
    return check_part(part, name, built)


def scenario_dispatcher(
    name: str, scenario: Scenario, source: Path | None = None, *, strict: bool = False
) -> Any:
    """The dispatcher ``name`` with the scenario's ``policies`` settings: its checkpoint
    (:func:`checkpoint_kwargs`), order pool, anticipation (:mod:`hierarchy.anticipation`),
    starvation guard (:mod:`hierarchy.guard`), task swaps (:mod:`hierarchy.swaps`) and parking
    (:mod:`hierarchy.parking`).

    A pool and anticipation apply to :data:`POOLED_DISPATCHERS` only; with ``strict`` (one
    dispatcher, no run to check as a whole) one that does not apply is refused."""
    from hierarchy import make_dispatcher
    from hierarchy.guard import AgeGuard
    from hierarchy.parking import IdleParking
    from hierarchy.swaps import TaskSwaps

    load_plugins()
    p = scenario.policies
    kwargs: dict[str, Any] = dict(checkpoint_kwargs("dispatcher", name, scenario, source))
    for key, value in (("lookahead", p.order_pool), ("anticipate", p.anticipate or None)):
        if value is None:
            continue
        if name in POOLED_DISPATCHERS:
            kwargs[key] = value
        elif strict:
            raise InputError(source, _POOL_SETTINGS[key], _no_pool(name))
    args = part_args("dispatcher", name, scenario)
    dispatcher = _built("dispatcher", name, args, make_dispatcher, {**kwargs, **args})
    if p.max_order_age is not None:
        dispatcher = AgeGuard(dispatcher, p.max_order_age)
    if p.task_swaps:
        dispatcher = TaskSwaps(dispatcher)
    return dispatcher if p.park_idle is None else IdleParking(dispatcher, p.park_idle)


#: dispatcher keyword → the ``policies`` setting that gives it (pooled dispatchers only)
_POOL_SETTINGS = {"lookahead": "policies.order_pool", "anticipate": "policies.anticipate"}


def _no_pool(used: str) -> str:
    pooled = ", ".join(sorted(POOLED_DISPATCHERS))
    return f"no dispatcher of this run has an order pool ({used}); those that do: {pooled}"


def checkpoint_kwargs(
    part: str, name: str, scenario: Scenario, source: Path | None = None
) -> dict[str, Path]:
    """``{"checkpoint": path}`` when the scenario names a ``policies.<part>_checkpoint`` and the
    ``part`` (``"navigator"`` or ``"dispatcher"``) called ``name`` runs a network from one; else
    ``{}``. Relative paths count from the scenario file's folder. So a run comparing ``cql``
    with ``rule_based`` gives the checkpoint to the first; :func:`check_checkpoints_used`
    refuses one that no policy of a run would load."""
    path = getattr(scenario.policies, f"{part}_checkpoint")
    if path and name in _loaders(part):
        return {"checkpoint": _resolve(path, source)}
    return {}


def _loaders(part: str) -> frozenset[str]:
    """The ``part``s that load a ``policies.<part>_checkpoint``: the built-in ones that run a
    network, and any other registered part (an installed package's) whose factory names a
    ``checkpoint`` keyword, which ``policies.<part>_args`` may not set."""
    import inspect

    from agents import CHECKPOINT_NAVIGATORS, NAVIGATORS
    from hierarchy import CHECKPOINT_DISPATCHERS, DISPATCHERS

    load_plugins()
    if part == "navigator":
        fixed, registry = CHECKPOINT_NAVIGATORS, NAVIGATORS
    else:
        fixed, registry = CHECKPOINT_DISPATCHERS, DISPATCHERS  # type: ignore[assignment]
    keywords = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

    def takes_checkpoint(factory: Any) -> bool:
        try:
            param = inspect.signature(factory).parameters.get("checkpoint")
        except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
            return False
        return param is not None and param.kind in keywords

    return fixed | {n for n, f in registry.items() if n not in fixed and takes_checkpoint(f)}


def check_checkpoints_used(
    specs: list[PolicySpec], scenario: Scenario, source: Path | None = None
) -> None:
    """Refuse a ``policies.*_checkpoint`` that none of ``specs`` loads, or a
    ``policies.order_pool`` or ``policies.anticipate`` that none of their dispatchers has (it
    would be ignored)."""
    dispatchers = sorted({s.dispatcher for s in specs})
    if not set(dispatchers) & POOLED_DISPATCHERS:
        for key in _POOL_SETTINGS.values():
            if getattr(scenario.policies, key.removeprefix("policies.")) not in (None, False):
                raise InputError(source, key, _no_pool(", ".join(dispatchers)))
    for part in ("navigator", "dispatcher"):
        used = sorted({getattr(s, part) for s in specs})
        for name in getattr(scenario.policies, f"{part}_args"):
            if name not in used:
                raise InputError(
                    None,
                    f"policies.{part}_args.{name}",
                    f"no policy of this run has the {part} {name!r} ({', '.join(used)})",
                )
        if getattr(scenario.policies, f"{part}_checkpoint") and not set(used) & _loaders(part):
            raise InputError(
                source,
                f"policies.{part}_checkpoint",
                f"no {part} of this run loads a checkpoint ({', '.join(used)}); "
                f"those that do: {', '.join(sorted(_loaders(part)))}",
            )


#: ``policies.*`` settings that may differ between the two policies of ``warehouse shadow``
#: (everything else describes the floor they share).
SIDE_SETTINGS = (
    "policies.dispatcher_checkpoint",
    "policies.navigator_checkpoint",
    "policies.order_pool",
    "policies.anticipate",
    "policies.max_order_age",
    "policies.task_swaps",
    "policies.park_idle",
)


def check_side_settings(spec: PolicySpec, keys: list[str], flag: str) -> None:
    """Refuse a setting given to one policy only (``flag KEY``) that is not one of
    :data:`SIDE_SETTINGS`, or that this policy would ignore (a checkpoint its part does not
    load, an order pool its dispatcher does not have)."""
    for key in keys:
        if key not in SIDE_SETTINGS:
            raise InputError(None, f"{flag} {key}", f"only {', '.join(SIDE_SETTINGS)} can differ")
        part = key.removeprefix("policies.").removesuffix("_checkpoint")
        if key.endswith("_checkpoint") and getattr(spec, part) not in _loaders(part):
            raise InputError(
                None,
                f"{flag} {key}",
                f"the {part} {getattr(spec, part)!r} of {spec.name!r} loads no checkpoint; "
                f"those that do: {', '.join(sorted(_loaders(part)))}",
            )
        if key in _POOL_SETTINGS.values() and spec.dispatcher not in POOLED_DISPATCHERS:
            raise InputError(None, f"{flag} {key}", _no_pool(spec.dispatcher))


def _resolve(path: str, source: Path | None) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and source is not None:
        p = source.parent / p
    return p
