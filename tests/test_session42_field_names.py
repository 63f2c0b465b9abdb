"""A bad setting names the same field whether a scenario file or ``--set`` gave it.

The file's error is ``FILE: FIELD: MESSAGE``, the override's ``--set FIELD: MESSAGE``, FIELD the
whole dotted path (``faults.closures[1].start_s``). Before, a ``--set`` of a section or list
named the part it set and put the rest in the message (``--set faults.closures: [1].start_s``),
or dropped the rest (``--set fleet: ...`` for ``fleet.robots``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import TINY, fails_cleanly

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.errors import InputError

CLOSURES = "[{cells: [[1, 1]], start_s: 0}, {cells: [[1, 1], [2, 2]], start_s: -1}]"
OFF_FLOOR = "[{cells: [[1, 1]], start_s: 0}, {cells: [[1, 1], [200, 5]], start_s: 1}]"

#: (setting, its value as YAML, the field both errors name)
CASES = [
    ("fleet.robots", "-1", "fleet.robots"),
    ("fleet", "{robots: -1}", "fleet.robots"),  # a section given whole: the field inside it
    ("fleet", "{robots: 100000}", "fleet.robots"),  # (refused by the floor, not the schema)
    ("faults.closures", CLOSURES, "faults.closures[1].start_s"),  # a list item's field
    ("faults", f"{{closures: {CLOSURES}}}", "faults.closures[1].start_s"),
    ("faults.closures", OFF_FLOOR, "faults.closures[1].cells[1]"),  # (the floor's check)
    ("layout.station_walls", "[west, up]", "layout.station_walls[1]"),
    ("episode.seeds", "[0, false]", "episode.seeds[1]"),
    ("fleet.start_cells", "[[1, 1], [2, 2], [1, 1]]", "fleet.start_cells[2]"),
    ("battery", "{capacity_wh: 10, chargers: [[1, 1], [500, 500]]}", "battery.chargers[1]"),
]


def _file_with(tmp_path: Path, setting: str, value: str) -> Path:
    """The built-in ``tiny`` scenario with ``setting`` (dotted) given ``value`` in the file."""
    data: dict[str, Any] = yaml.safe_load(TINY.read_text())
    node = data
    *sections, last = setting.split(".")
    for part in sections:
        node = node.setdefault(part, {})
    node[last] = yaml.safe_load(value)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("setting", "value", "field"), CASES)
def test_a_file_and_set_name_the_same_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: str,
    field: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _file_with(tmp_path, setting, value)
    in_file = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"bad.yaml: {field}: ")
    by_set = ["validate", str(TINY), "--set", f"{setting}={value}"]
    in_set = fails_cleanly(by_set, tmp_path, capsys, f"--set {field}: ")
    assert in_file.removeprefix("error: bad.yaml: ") == in_set.removeprefix("error: --set ")


def test_the_python_api_names_the_whole_path_too() -> None:
    """``apply_overrides`` without option names (``make_env(faults=...)``) names the field as
    the file does; an option that is not a setting's name keeps it and adds the rest."""
    sc, source = load_scenario("tiny")
    overrides = {"faults": yaml.safe_load(f"{{closures: {CLOSURES}}}")}
    with pytest.raises(InputError) as err:
        apply_overrides(sc, overrides, source)
    assert err.value.field == "faults.closures[1].start_s"
    with pytest.raises(InputError) as err:
        apply_overrides(sc, overrides, source, {"faults": "--faults"})
    assert err.value.field == "--faults: closures[1].start_s"
    cells = {"faults.closures": yaml.safe_load(OFF_FLOOR)}
    with pytest.raises(InputError) as err:
        build_floor(apply_overrides(sc, cells, source), source, {"faults.closures": "--set x"})
    assert err.value.field == "--set x: [1].cells[1]"
