"""Scenario files and the floors built from them: settings a run cannot hold, types YAML gives
that the schema misreads, the documented schema and the generator's floors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from cli_helpers import TINY_LAYOUT, fails_cleanly, run_cli
from pydantic import BaseModel

from scenarios import apply_overrides, build_floor, describe, load_scenario
from scenarios.docs import scenario_template, schema_markdown, schema_rows
from scenarios.schema import AsciiLayout, FileLayout, FloorLayout, GeneratorLayout, Scenario
from warehouse.errors import InputError
from warehouse.floor import WarehouseLayout, compile_floor, generate_warehouse
from warehouse.floor.checks import one_way_moves
from warehouse.floor.formats.common import MAX_CELLS, MAX_SIDE
from warehouse.floor.generator import generate_kinds
from warehouse.floor.kinds import NodeKind
from warehouse.floor.transform import transpose_floor

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# ------------------------------------------------------------ settings a run cannot hold
#: counts and rates without an upper bound ended a run in an OverflowError traceback (numpy
#: int32/int64 timers, numba arguments, the report's standard deviation): refused up front now
HUGE = {
    "physics.stuck_after": "100000000000000000000",
    "physics.jam_after": "100000000000000000000",
    "faults.breakdown_steps": "3000000000",
    "faults.closure_steps": "100000000000000000000",
    "tasks.max_open_orders": "100000000000000000000",
    "tasks.station_limit": "100000000000000000000",
    "policies.order_pool": "100000000000000000000",
    "battery.auto_chargers": "100000000000000000000",
    "physics.energy_wh_per_metre": "1.0e+300",
    "physics.idle_power_w": "1.0e+300",
}


@pytest.mark.parametrize("key", sorted(HUGE))
def test_huge_settings_are_refused_by_validate(key: str, tmp_path: Path, capsys) -> None:
    argv = ["validate", "tiny", "--set", f"{key}={HUGE[key]}"]
    fails_cleanly(argv, tmp_path, capsys, f"--set {key}: Input should be less than or equal to")


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("physics.stuck_after", []),
        ("faults.breakdown_steps", ["faults.breakdown_prob=1"]),
        ("faults.closure_steps", ["faults.closure_prob=1"]),
        ("tasks.station_limit", []),
        ("physics.energy_wh_per_metre", []),
    ],
)
def test_the_largest_allowed_value_runs(key: str, extra: list[str], tmp_path: Path) -> None:
    """The bound is one a run holds: the largest value runs and reports (two seeds: the
    report's spread squares the differences)."""
    from warehouse.report import build_report
    from warehouse.runner import prepare, run_experiment

    field = _field(key)
    top = next(m.le for m in field.metadata if hasattr(m, "le"))
    sets = [f"{key}={top}", "fleet.robots=3", *extra]
    exp = prepare("tiny", policies=["rule_based"], seeds=[0, 1], steps=4, sets=sets)
    results = run_experiment(exp)
    report = build_report(results)
    assert [r.seed for r in results.runs] == [0, 1]
    assert np.isfinite(report["runs"][0]["kpis"]["energy_kwh"]["mean"])


def test_booleans_are_not_seeds(tmp_path: Path, capsys) -> None:
    """``seeds: [true, false]`` ran seeds 1 and 0; ``[true, 1]`` said the seeds repeat."""
    path = _write(tmp_path, TINY_LAYOUT + "episode: {seeds: [3, true]}\n")
    fails_cleanly(
        ["validate", str(path)], tmp_path, capsys, f"{path}: episode.seeds[1]: expected a number"
    )
    argv = ["validate", "tiny", "--set", "episode.seeds=[false]"]
    fails_cleanly(argv, tmp_path, capsys, "--set episode.seeds[0]: expected a number, got false")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fleet: {1: 2}\n", "fleet: keys must be text, got 1"),
        ("fleet: {true: 2}\n", "fleet: keys must be text, got true"),
        ("layout: {~: 2}\n", "layout: keys must be text, got null"),
        ("policies: {navigator_args: {1: {a: 1}}}\n", "policies.navigator_args: keys must be"),
        (
            "policies: {navigator_args: {rule_based: {2: 1}}}\n",
            "policies.navigator_args.rule_based: keys must be text, got 2",
        ),
        ("faults: {closures: [{3: 1}]}\n", "faults.closures[0]: keys must be text, got 3"),
        ("7: 1\n", "keys must be text, got 7"),
    ],
)
def test_keys_that_are_not_text_name_their_mapping(
    text: str, expected: str, tmp_path: Path, capsys
) -> None:
    """Was ``fleet[1]: Keys should be strings``, ``layout.None: …``, ``…[1].[key]: …``."""
    path = _write(tmp_path, text)
    fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: {expected}")


# ------------------------------------------------------------------------ generated floors
def test_a_generated_floor_is_held_to_the_map_files_size_limit(tmp_path: Path, capsys) -> None:
    """200 blocks of 200 cells side by side: a 4×40,203 floor (with 200 × 200 blocks, within
    the schema's bounds: hundreds of millions of cells) was built cell by cell into a networkx
    graph."""
    path = _write(tmp_path, "layout: {shelf_rows: 1, shelf_cols: 200, block_length: 200}\n")
    line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: layout: ")
    assert f"at most {MAX_SIDE} per side" in line and "4×40203 cells" in line
    with pytest.raises(ValueError, match="too large"):
        generate_kinds(  # 2,001 × 4,003: each side within the limit, not their product
            WarehouseLayout(shelf_rows=200, block_depth=9, shelf_cols=40, block_length=99)
        )
    # the largest a side may be is built
    kinds, _, _ = generate_kinds(
        WarehouseLayout(shelf_rows=1, shelf_cols=1, block_length=MAX_SIDE - 4, station_zone=3)
    )
    assert kinds.shape == (4, MAX_SIDE) and kinds.size <= MAX_CELLS


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("{station_spacing: 100}", "station_spacing 100 leaves the west wall (13 cells)"),
        (
            "{station_walls: [west, north], station_spacing: 30}",
            "station_spacing 30 leaves the west wall (15 cells)",
        ),
        (
            "{station_walls: [north, east], station_spacing: 25, shelf_cols: 1}",
            "station_spacing 25 leaves the north wall (12 cells)",
        ),
    ],
)
def test_a_station_wall_left_without_stations_is_named(
    layout: str, expected: str, tmp_path: Path, capsys
) -> None:
    """Was ``layout: the floor has no stations`` (or, with another wall that got one, nothing:
    the wall the user asked for carried no station, silently)."""
    path = _write(tmp_path, f"layout: {layout}\nfleet: {{robots: 2}}\n")
    line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: layout: ")
    assert expected in line
    # the largest spacing that still puts one on the wall: 2 × 13 − 1
    ok = _write(tmp_path, "layout: {station_spacing: 25}\nfleet: {robots: 2}\n", "ok.yaml")
    assert describe(str(ok)).stations == 1


def test_the_generator_docstring_draws_what_it_generates() -> None:
    """The module's example floor is the one its parameters give (it showed another)."""
    from warehouse.floor import generator
    from warehouse.floor.formats import parse_ascii

    doc = generator.__doc__ or ""
    params = re.search(r"Example \(``(.*?)``", doc, re.S)
    assert params is not None
    kwargs = eval(f"dict({params.group(1)})")  # (the docstring's own literal)
    drawing = re.search(r"::\n\n((?:    \S+\n)+)", doc)
    assert drawing is not None
    text = "\n".join(line.strip() for line in drawing.group(1).splitlines())
    drawn = compile_floor(parse_ascii(text, source=None, name="doc"))
    made = compile_floor(generate_warehouse(WarehouseLayout(**kwargs)))
    assert drawn.shape == made.shape
    assert np.array_equal(drawn.cell_of >= 0, made.cell_of >= 0)
    assert np.array_equal(drawn.kind, made.kind)


@pytest.mark.parametrize(
    "layout",
    [
        WarehouseLayout(shelf_rows=2, shelf_cols=3, block_length=4, one_way=True),
        WarehouseLayout(
            shelf_rows=3,
            shelf_cols=2,
            block_length=3,
            aisle_width=2,
            one_way=True,
            station_walls=("north", "east"),
            parking_walls=("west",),
        ),
        WarehouseLayout(shelf_rows=1, shelf_cols=4, block_length=2, station_walls=("south",)),
    ],
)
def test_transposed_generated_floor_is_the_same_floor_turned(layout: WarehouseLayout) -> None:
    """Every cell keeps its kind at (col, row), every move its direction, so the one-way
    moves, picks, stations and the distances between them carry over."""
    graph = generate_warehouse(layout)
    floor, turned = compile_floor(graph), compile_floor(transpose_floor(graph))
    assert turned.shape == floor.shape[::-1]
    assert np.array_equal(turned.cell_of >= 0, (floor.cell_of >= 0).T)
    grid = np.full(floor.shape, -1)
    grid[tuple(floor.pos.T)] = floor.kind
    turned_grid = np.full(turned.shape, -1)
    turned_grid[tuple(turned.pos.T)] = turned.kind
    assert np.array_equal(turned_grid, grid.T)
    assert not floor.notes and not turned.notes  # strongly connected: nothing cut off
    assert one_way_moves(turned)[0].size == one_way_moves(floor)[0].size
    assert (turned.picks.size, turned.stations.size) == (floor.picks.size, floor.stations.size)


# -------------------------------------------------------------------- the documented schema
def _field(key: str) -> Any:
    """The pydantic field of a schema table key (``layout.map (ascii)``,
    ``faults.closures[].end_s``)."""
    dotted, _, tag = key.partition(" ")
    layouts = {"(generator)": GeneratorLayout, "(ascii)": AsciiLayout, "(file)": FileLayout}
    model: type[BaseModel] = Scenario
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        name = part.removesuffix("[]")
        if model is Scenario and name == "layout":
            model = layouts.get(tag, FloorLayout)
            continue
        field = model.model_fields[name]
        if i == len(parts) - 1:
            return field
        ann = field.annotation
        inner = ann.__args__[0] if part.endswith("[]") else ann
        model = inner
    raise AssertionError(key)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def test_schema_table_defaults_read_back_as_the_defaults() -> None:
    """The table's defaults are YAML: ``None`` there is the text "None" to the loader, and an
    empty code span for "" is no default at all."""
    for key, _typ, default, _ in schema_rows():
        if key == "layout.type" or default in ("required", "(see below)"):
            continue
        field = _field(key)
        assert default.startswith("`") and default.endswith("`") and len(default) > 2, key
        shown = yaml.safe_load(default[1:-1])
        assert shown == _plain(field.get_default(call_default_factory=True)), (key, default)


def test_readme_holds_the_schema_table_as_validate_prints_it() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert schema_markdown() in readme


def test_template_comments_keep_hyphenated_words_whole() -> None:
    text = scenario_template()
    assert "north-south aisles run east-west" in text.replace("\n  # ", " ")
    assert not [line for line in text.splitlines() if line.startswith(" ") and line.endswith("-")]


def test_builtin_summaries_match_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    rows = re.findall(r"^\| `(\w+)` \| ([\d,]+) \| (\d+×\d+) \|", readme, re.M)
    from scenarios import builtin_names

    assert sorted(r[0] for r in rows) == builtin_names()
    for name, robots, cells in rows:
        s = describe(name)
        assert (s.robots, s.floor) == (int(robots.replace(",", "")), cells), name
        sc, source = load_scenario(name)
        floor = build_floor(sc, source)
        assert s.free == floor.n_nodes == int(np.count_nonzero(floor.start_ok)) >= s.robots
        assert s.stations == int((floor.kind == NodeKind.STATION).sum()) > 0
        assert not s.notes  # nothing cut off, no dead ends


def test_overrides_keep_the_kind_of_floor_settings_apart(tmp_path: Path) -> None:
    """``--set layout.type=ascii`` drops the generator settings; the new kind's follow."""
    sc, source = load_scenario("tiny")
    turned = apply_overrides(
        sc, {"layout.map": "S..p", "layout.type": "ascii", "robots": 2}, source
    )
    assert isinstance(turned.layout, AsciiLayout) and turned.layout.map == "S..p"
    with pytest.raises(InputError, match="unknown setting"):
        apply_overrides(turned, {"layout.shelf_rows": 2}, source)


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        # the section came last: robots=3 was dropped, and the file's 6 with it (20 robots ran)
        (["fleet.robots=3", "fleet={start: spread}"], "--set fleet.robots: given beside --set "),
        # the section came first: "unknown setting (allowed: start)", robots being one
        (["fleet={start: spread}", "robots=3"], "--set robots: given beside --set fleet, which"),
        (["layout={type: generator}", "layout.shelf_rows=3"], "--set layout.shelf_rows: given"),
    ],
)
def test_a_setting_beside_its_whole_section_is_refused(
    sets: list[str], expected: str, tmp_path: Path, capsys
) -> None:
    argv = ["validate", "tiny"]
    for item in sets:
        argv += ["--set", item]
    fails_cleanly(argv, tmp_path, capsys, expected)
    # a section alone replaces the file's section; a setting alone changes that setting
    assert describe("tiny", ["fleet={start: spread}"]).robots == 20
    assert describe("tiny", ["fleet.start=spread"]).robots == 6


def test_a_flag_beside_the_section_it_sets_is_refused(tmp_path: Path, capsys) -> None:
    argv = ["run", "tiny", "--policy", "rule_based", "--robots", "3", "--steps", "3"]
    argv += ["--set", "fleet={start: spread}", "--out", str(tmp_path / "o")]
    fails_cleanly(argv, tmp_path, capsys, "--robots: given beside --set fleet, which sets all")


HALL = (
    '{"directed": false, "graph": {"name": "h"}, "nodes": ['
    '{"id": "s", "pos": [0, 0], "kind": "station", "start": false},'
    '{"id": "a", "pos": [0, 1], "kind": "aisle", "start": false},'
    '{"id": "b", "pos": [1, 1], "kind": "aisle"}, {"id": "p", "pos": [1, 2], "kind": "pick"}],'
    '"edges": [{"source": "a", "target": "s"}, {"source": "a", "target": "b"},'
    '{"source": "b", "target": "p"}]}'
)


def test_a_fleet_larger_than_the_start_cells_says_which_cells_count(tmp_path: Path, capsys) -> None:
    """``validate`` counts 4 free cells; the refusal said "must be ≤ free cells (2)"."""
    path = _write(tmp_path, HALL, "h.json")
    code, out, err = run_cli(["validate", str(path), "--set", "fleet.robots=2"], capsys)
    assert code == 0 and "(4 free cells;" in out, err
    argv = ["validate", str(path), "--set", "fleet.robots=3"]
    fails_cleanly(
        argv,
        tmp_path,
        capsys,
        "--set fleet.robots: must be ≤ start cells (2; the map lets no robot start on the "
        "other 2 of its 4 free cells)",
    )
    # where every free cell is a start cell, the message stays as the README quotes it
    fails_cleanly(
        ["validate", "tiny", "--set", "robots=60"],
        tmp_path,
        capsys,
        "--set robots: must be ≤ free cells (59)",
    )


def test_one_dead_end_is_counted_in_the_singular(tmp_path: Path, capsys) -> None:
    """Was "1 stations and 1 pick locations are dead ends"."""
    path = _write(tmp_path, HALL, "h.json")
    code, out, err = run_cli(["validate", str(path), "--set", "fleet.robots=1"], capsys)
    assert code == 0, err
    assert "note: 1 station and 1 pick location are dead ends (one neighbour)" in out
