"""Run the ``warehouse`` command in-process, as the test files need it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios import builtin_path

#: The built-in ``tiny`` scenario; from a working folder outside the repository (the tests
#: that ``chdir`` into ``tmp_path``) its errors show this absolute path.
TINY = builtin_path("tiny")
TINY_LAYOUT = "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Call ``warehouse ARGV`` and return ``(exit code, stdout, stderr)``."""
    from warehouse.cli.main import main

    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def given_once(base: list[str], extra: list[str]) -> list[str]:
    """``base`` then ``extra``, less the options of ``base`` (``--opt value``) that ``extra``
    gives again: every command refuses an option of one value given twice."""
    again = {arg for arg in extra if arg.startswith("--")}
    out, i = [], 0
    while i < len(base):
        if base[i] in again:  # the option, and its value where it takes one
            i += 2 if i + 1 < len(base) and not base[i + 1].startswith("--") else 1
        else:
            out.append(base[i])
            i += 1
    return [*out, *extra]


def snapshot(root: Path) -> set[str]:
    """Every path below ``root``."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def fails_cleanly(
    argv: list[str], root: Path, capsys: pytest.CaptureFixture[str], expected: str
) -> str:
    """``warehouse ARGV`` exits 2 with one line starting ``error: EXPECTED``, no traceback, and
    ``root`` unchanged; returns the line."""
    before = snapshot(root)
    code, out, err = run_cli(argv, capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {expected}"), lines[0]
    assert "Traceback" not in out + err
    assert snapshot(root) == before
    return lines[0]


def run_ok(out: Path, capsys: pytest.CaptureFixture[str], target: str | Path, *argv: str) -> Path:
    """``warehouse run TARGET ARGV --out OUT``; must exit 0. Returns ``out``."""
    code, stdout, err = run_cli(["run", str(target), *argv, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    return out


def report_of(folder: Path) -> dict[str, Any]:
    """``report.json`` of a run folder without ``created`` (the time it was written)."""
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    report.pop("created")
    return report


def written_policies(folder: Path) -> Any:
    """The ``policies`` section of a run folder's ``scenario.yaml`` (None: left out)."""
    return yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8")).get("policies")


def tiny_with_policies(tmp_path: Path, name: str, policies: dict[str, Any]) -> Path:
    """The built-in ``tiny`` scenario with this ``policies`` section, written as ``name``."""
    path = tmp_path / name
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "policies": policies}), encoding="utf-8")
    return path


def shadow_into(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, target: Path | str, *flags: str
) -> tuple[dict[str, Any], bytes]:
    """``warehouse shadow TARGET FLAGS --out NAME``: shadow.json and divergences.csv."""
    out = tmp_path / name
    code, stdout, err = run_cli(["shadow", str(target), *flags, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    summary = json.loads((out / "shadow.json").read_text(encoding="utf-8"))
    return summary, (out / "divergences.csv").read_bytes()


def assert_same_shadow(a: tuple[dict[str, Any], bytes], b: tuple[dict[str, Any], bytes]) -> None:
    """Two :func:`shadow_into` results agree: the figures, the floor's mode, each side's name,
    parts, settings and networks, and every divergence."""
    for key in ("dispatch", "navigation", "collisions", "steps", "robots", "seed"):
        assert a[0][key] == b[0][key], key
    for side in ("incumbent", "candidate"):
        for key in ("policy", "dispatcher", "navigator", "settings", "weights"):
            assert a[0][side][key] == b[0][side][key], (side, key)
    assert a[1] == b[1]
