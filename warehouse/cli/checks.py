"""Checks the commands share: seed lists, output paths, and removing a run folder that a
command created itself when bad input stops it (no partial output left behind)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import typer

from warehouse.errors import InputError

#: The largest seed of a training run: torch seeds its generator from 64 bits.
MAX_TRAIN_SEED = 2**64 - 1


def given(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` (its Python name) was given on the command line."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def seed_list(text: str, flag: str = "--seeds") -> list[int]:
    """``"0,1,2"`` / ``"0..9"`` / mixes, distinct and non-negative (numpy seeds are ≥ 0)."""
    from warehouse.runner import parse_seeds

    seeds = parse_seeds(text, flag) or []
    if not seeds:
        raise InputError(None, flag, f"expected seeds such as 0,1,2 or 0..9, got {text!r}")
    if min(seeds) < 0:
        raise InputError(None, flag, f"seeds must be ≥ 0, got {min(seeds)}")
    return seeds


def name_list(text: str, flag: str) -> list[str]:
    """``"a,b"`` → ``["a", "b"]``: at least one name, none empty, none twice (a repeated
    scenario or dataset would silently count twice)."""
    names = [part.strip() for part in text.split(",")]
    if not any(names):
        raise InputError(None, flag, f"expected one or more names, comma-separated, got {text!r}")
    if not all(names):
        raise InputError(None, flag, f"empty name in {text!r}")
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        raise InputError(None, flag, f"{', '.join(repeated)} given twice")
    return names


def episode_steps(steps: int | None, flag: str = "--steps") -> int | None:
    """``steps`` (None: the scenario's) within the bounds of a scenario's ``episode.steps``, as
    ``run`` and ``sweep`` check ``--steps`` through the scenario."""
    if steps is None:
        return None
    from pydantic import ValidationError

    from scenarios.schema import EpisodeConfig

    try:
        EpisodeConfig(steps=steps)
    except ValidationError as exc:
        raise InputError(None, flag, f"{exc.errors()[0]['msg']}, got {steps}") from None
    return steps


#: why a list is refused by :func:`one_policy` where the caller says nothing else
SEVERAL_POLICIES = "warehouse run --policy A,B runs several"


def one_policy(text: str, flag: str, several: str = SEVERAL_POLICIES) -> str:
    """The one policy name of ``flag``, stripped as the names of ``run --policy A,B`` are; a list
    is refused, ``several`` saying what to do instead (default: only ``warehouse run`` compares
    several policies)."""
    name = text.strip()
    if "," in name:
        raise InputError(None, flag, f"takes one policy, got {text!r} ({several})")
    if not name:
        raise InputError(None, flag, f"expected a policy name, got {text!r}")
    return name


def distinct_files(paths: list[Path], flag: str) -> list[Path]:
    """``paths`` with no file given twice (two spellings of one file count as the same)."""
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve().with_suffix("")  # STEM, STEM.json and STEM.safetensors: one file
        if key in seen:
            raise InputError(path, flag, f"given twice (as {str(seen[key])!r} too)")
        seen[key] = path
    return paths


def counted(n: int, noun: str) -> str:
    """``"1 robot"``, ``"3 robots"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def input_file(path: Path, flag: str, what: str = "file") -> Path:
    """An input file given on the command line: not a folder (missing files are reported by
    the reader, which knows what it expected)."""
    if not path.name or path.is_dir():
        raise InputError(path, flag, f"is a folder, expected a {what}")
    return path


#: The dotted scenario key each command-line flag sets (``--set`` may not set it too).
FLAG_KEYS = {
    "--robots": "fleet.robots",
    "--steps": "episode.steps",
    "--seeds": "episode.seeds",
    "--seed": "episode.seeds",  # (shadow's one episode)
    "--tasks": "tasks.mode",
    "--collisions": "physics.collisions",
    "--dispatcher": "policies.dispatcher",
    "--navigator": "policies.navigator",
}
#: The flag that sets each of those keys (errors in a flag's value name the flag).
FLAG_OF = {key: flag for flag, key in FLAG_KEYS.items() if flag != "--seed"}


#: Settings only one comparing command reads, and why: ``policies.baseline`` (``warehouse run``)
#: and :data:`SHADOW_SETTINGS` (``warehouse shadow``). The other commands refuse them as
#: ``--set`` (:func:`check_set_keys`'s ``unused``, by :func:`warehouse.unused_setting`, as
#: :func:`warehouse.make_env` refuses :data:`warehouse.ENV_UNUSED`), and each of the two
#: refuses the other's (:func:`unused_but`); in a scenario *file* (a run or shadow folder's
#: ``scenario.yaml``) they are recorded data, and the file loads everywhere.
READ_BY_ONE_COMMAND = {
    "policies.baseline": "only `warehouse run` reads it (the policy its report compares the "
    "others with)",
    "policies.candidate": "only `warehouse shadow` reads it (the policy whose decisions it "
    "logs beside the incumbent's)",
    "policies.candidate_set": "only `warehouse shadow` reads it (the candidate's own "
    "settings, as --candidate-set gives them)",
    "policies.incumbent_set": "only `warehouse shadow` reads it (the incumbent's own "
    "settings, as --incumbent-set gives them)",
}
#: The settings of :data:`READ_BY_ONE_COMMAND` that ``warehouse shadow`` reads.
SHADOW_SETTINGS = ("policies.candidate", "policies.candidate_set", "policies.incumbent_set")


def unused_but(*settings: str) -> dict[str, str]:
    """:data:`READ_BY_ONE_COMMAND` less ``settings``: what the one command that reads them
    refuses."""
    return {key: why for key, why in READ_BY_ONE_COMMAND.items() if key not in settings}


def check_set_keys(
    sets: list[str] | tuple[str, ...] | None,
    flags: dict[str, object] | None = None,
    option: str = "--set",
    unused: dict[str, str] | None = None,
) -> None:
    """Each ``KEY=VALUE`` of ``sets`` names its key once, and no key that a flag given here
    (``flags``: ``{"--robots": value or None}``) sets too: one of the two values would be
    silently dropped. Shortcuts count as their dotted key (``robots`` = ``fleet.robots``).
    ``unused``: settings the command does not read (``{dotted: why}``,
    :data:`READ_BY_ONE_COMMAND`), which ``sets`` may not give (its value would be silently
    ignored), nor a section of them given whole (``policies={baseline: x}``)."""
    from scenarios.load import SHORTCUTS

    seen: dict[str, str] = {}
    for item in sets or ():
        typed = item.partition("=")[0].strip()
        key = SHORTCUTS.get(typed, typed)
        if key in seen:
            raise InputError(None, f"{option} {typed}", f"given twice (also as {seen[key]!r})")
        seen[key] = typed
        check_setting_used(typed, item.partition("=")[2], unused, option)
    for flag, value in (flags or {}).items():
        key = FLAG_KEYS[flag]
        if value is not None and key in seen:
            raise InputError(None, f"{option} {seen[key]}", f"{flag} sets {key} too; give it once")


def check_setting_used(
    key: str, raw: Any, unused: dict[str, str] | None, option: str = "--set"
) -> None:
    """``option KEY=RAW`` (``raw``: the value as typed, or read already) sets none of the
    settings ``unused`` lists (:func:`check_set_keys`): else a one-line :class:`InputError`
    naming it and why its value would be ignored."""
    if not unused:
        return
    from warehouse import unused_setting

    value = raw
    sections = {setting.partition(".")[0] for setting in unused}
    if isinstance(raw, str) and key in sections and raw.strip():  # (a section given whole)
        from scenarios.load import parse_value

        with suppress(InputError):  # (a value that cannot be read is reported where it is read)
            value = parse_value(raw, f"{option} {key}")
    if (found := unused_setting(key, value, unused)) is not None:
        setting, why = found
        inside = f"{setting}: " if key in sections else ""
        raise InputError(None, f"{option} {key}", f"its value would be ignored: {inside}{why}")


def check_out_folder(out: Path | str, flag: str = "--out", writes: tuple[str, ...] = ()) -> Path:
    """``out`` may be a new or an existing folder, not an existing file nor inside one, nor
    ``""``; an existing folder may not hold any of the files ``writes`` names (an earlier
    run's output, which would be silently replaced)."""
    if not str(out).strip():
        raise InputError(None, flag, "empty path")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, flag, "exists and is not a folder")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise InputError(out, flag, f"{str(above)!r} is a file, not a folder")
    taken = [name for name in writes if os.path.lexists(out / name)]  # (a dangling link too)
    if out.is_dir() and taken:
        raise InputError(
            out, flag, f"already holds {taken[0]} of an earlier run; choose another folder"
        )
    return out


def new_output_file(path: Path, flag: str, what: str = "file") -> Path:
    """An output file given on the command line: not a folder, in a folder that exists, and
    not there yet (an earlier output would be silently replaced)."""
    input_file(path, flag, what)
    if os.path.lexists(path):  # (a link to a file not there yet too: it would be replaced)
        raise InputError(path, flag, "already exists; choose another name")
    if not path.parent.is_dir():
        why = "is not a folder" if path.parent.exists() else "does not exist"
        raise InputError(path, flag, f"{str(path.parent)!r} {why}")
    check_can_write(path.parent, path, flag)
    return path


def check_can_write(folder: Path, out: Path, flag: str) -> None:
    """A file can be made in the existing ``folder`` (for the output ``out`` of ``flag``): one is
    made and removed again. ``os.access`` does not tell: root passes it on a read-only file
    system or in ``/proc``, where the output would fail after the whole run."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".warehouse-probe-")
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise InputError(out, flag, f"cannot write into {str(folder)!r} ({why})") from None
    os.close(fd)
    os.unlink(probe)


#: What ``train-dispatcher`` writes into its run folder, and what ``train-navigator`` (offline
#: and fine-tuning) writes into its own: neither trains into the other's folder.
DISPATCHER_RUN_FILES = ("policy.json", "checkpoint")
NAVIGATOR_RUN_FILES = ("model.json", "checkpoints")


def writable_out_folder(out: Path, flag: str = "--out", writes: tuple[str, ...] = ()) -> Path:
    """:func:`check_out_folder`, and the folder (or the nearest one above it that exists) is
    writable."""
    out = check_out_folder(out, flag, writes)
    parent = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    check_can_write(parent, out, flag)
    return out


def new_run_folder(kind: str) -> Path:
    """``runs/YYYYmmdd-HHMMSS-KIND`` (UTC; ``-2``, ``-3`` … when taken), for a run without
    ``--out``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{stamp}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', kind)}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


@contextmanager
def final_out_folder(
    out: Path, given: bool, anew: Callable[[], Path], writes: tuple[str, ...]
) -> Iterator[Path]:
    """Yield the folder a command writes into once its runs are done: they took a while, and
    another command may have written into ``out`` since it was checked. A given one is checked
    again, so that it is refused rather than overwritten. A default one (``given`` False:
    :func:`new_run_folder`, named after the second the run started, which another run started
    then shares) is made now, empty, so that of two runs ending together only one gets it (the
    other chooses ``anew()``); it is removed again, with the folders made above it, if the
    block fails while it is still empty."""
    if given:
        yield writable_out_folder(out, writes=writes)
        return
    while True:
        made = [p for p in reversed(out.parents) if not p.exists()]
        try:
            out.mkdir(parents=True)  # (atomic: fails where another run made it first)
            break
        except FileExistsError:
            out = anew()
        except OSError:  # (the one-line error of a folder that cannot be made)
            writable_out_folder(out, writes=writes)
            raise
    try:
        yield out
    except BaseException:
        for folder in [out, *reversed(made)]:  # (left alone where anything was written)
            with suppress(OSError):
                folder.rmdir()
        raise


@contextmanager
def removed_on_input_error(folder: Path) -> Iterator[None]:
    """Delete ``folder`` if it did not exist before and an :class:`InputError` ends the block."""
    existed = folder.exists()
    try:
        yield
    except InputError:
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def refuse_changed_settings(
    ctx: typer.Context,
    asked: dict[str, object],
    kept: dict[str, object],
    source: Path | None = None,
) -> None:
    """On ``--resume`` a run keeps its saved settings: an option given again must agree with
    them, or it would be silently ignored."""
    for name, value in asked.items():
        if name in kept and given(ctx, name) and value != kept[name]:
            saved = "no value (the default)" if kept[name] is None else repr(kept[name])
            raise InputError(
                source,
                "--" + name.replace("_", "-"),
                f"the resumed run keeps {saved} (its saved setting), not {value!r}",
            )


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` for the ``python -m`` entry points that users run (evaluation): a usage
    error is one line on stderr (``error: …``), exit code 2, like the ``warehouse`` command."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        sys.exit(2)
