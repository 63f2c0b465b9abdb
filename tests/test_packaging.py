"""An installed (non-editable) copy carries every data file the code reads.

``pip install .`` copies only ``.py`` files and what ``[tool.setuptools.package-data]`` names.
A data file beside the code but outside those globs works in the editable checkout and is
missing from a wheel: ``agents/scenarios/corridors.yaml`` pointed at a ``corridors.json`` that
no wheel carried.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11")

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = ("warehouse", "agents", "hierarchy", "scenarios", "visualize")


def _data_files(package: str) -> set[Path]:
    """Files under a top-level package that are neither Python source nor caches."""
    base = ROOT / package
    return {
        path.relative_to(base)
        for path in base.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


def _packaged(package: str) -> set[Path]:
    """What ``package-data`` puts into the wheel for one top-level package."""
    globs = CONFIG["tool"]["setuptools"].get("package-data", {}).get(package, [])
    base = ROOT / package
    return {path.relative_to(base) for pattern in globs for path in base.glob(pattern)}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_data_file_is_packaged(package: str) -> None:
    missing = sorted(str(p) for p in _data_files(package) - _packaged(package))
    assert not missing, f"{package}/: not in [tool.setuptools.package-data]: {missing}"


def test_the_packages_are_the_ones_the_wheel_finds() -> None:
    include = CONFIG["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(p.rstrip("*") for p in include) == sorted(PACKAGES)


@pytest.mark.parametrize("name", ["corridors.yaml", "corridors_T.yaml"])
def test_a_scenario_beside_its_floor_file_ships_both(name: str) -> None:
    """The corridor scenarios name a floor file by a path relative to themselves."""
    import yaml

    scenario = ROOT / "agents" / "scenarios" / name
    layout = yaml.safe_load(scenario.read_text(encoding="utf-8"))["layout"]
    floor = Path("scenarios") / layout["path"]
    assert floor in _packaged("agents")
