"""Checks the commands share: seed lists, output paths, and removing a run folder that a
command created itself when bad input stops it (no partial output left behind)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import typer

from warehouse.errors import InputError


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


def check_out_folder(out: Path, flag: str = "--out") -> Path:
    """``out`` may be a new or an existing folder, not an existing file nor inside one."""
    if out.exists() and not out.is_dir():
        raise InputError(out, flag, "exists and is not a folder")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise InputError(out, flag, f"{str(above)!r} is a file, not a folder")
    return out


def writable_out_folder(out: Path, flag: str = "--out") -> Path:
    """:func:`check_out_folder`, and the folder (or the nearest one above it that exists) is
    writable."""
    check_out_folder(out, flag)
    parent = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise InputError(out, flag, f"cannot write into {str(parent)!r}")
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
            raise InputError(
                source,
                "--" + name.replace("_", "-"),
                f"the resumed run keeps {kept[name]!r} (its saved setting), not {value!r}",
            )
