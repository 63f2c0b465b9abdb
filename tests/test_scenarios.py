"""Scenario files: built-ins, schema, overrides, map targets and the bounded YAML reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import (
    Scenario,
    apply_overrides,
    build_floor,
    builtin_names,
    describe,
    load_scenario,
    parse_assignment,
)
from scenarios.docs import schema_markdown, schema_rows
from scenarios.safe_yaml import MAX_DEPTH, parse_yaml
from scenarios.schema import AsciiLayout, FileLayout, GeneratorLayout
from warehouse.errors import InputError
from warehouse.model import WarehouseModel

DATA = Path(__file__).resolve().parent / "data"
REQUIRED = {"tiny", "small", "medium", "large", "one_way_aisles", "goal_visit", "faults"}


def test_registry_has_required_builtins() -> None:
    assert REQUIRED <= set(builtin_names())


@pytest.mark.parametrize("name", sorted(REQUIRED - {"large"}))
def test_builtin_loads_validates_and_runs_50_steps(name: str) -> None:
    sc, source = load_scenario(name)
    assert source is not None and source.name == f"{name}.yaml"
    assert sc.name == name and sc.description
    summary = describe(name)
    assert summary.robots == sc.fleet.robots
    model = WarehouseModel(name, seed=0, steps=50)
    kpis = model.run()
    assert kpis["steps"] == 50
    assert kpis["robots"] == sc.fleet.robots
    assert model.visits.sum() == 50 * sc.fleet.robots


ROOT = Path(__file__).resolve().parents[1]
PROJECT_FLOORS = sorted(
    [
        *(ROOT / "agents" / "scenarios").glob("*.yaml"),
        *(ROOT / "hierarchy" / "scenarios").glob("*.yaml"),
    ]
)


@pytest.mark.parametrize("path", PROJECT_FLOORS, ids=lambda p: p.stem)
def test_training_floors_load_and_run_20_steps(path: Path) -> None:
    """The navigator's data floors and the dispatcher's training floors are valid scenarios."""
    sc, _ = load_scenario(str(path))
    assert sc.name == path.stem and sc.description
    kpis = WarehouseModel(str(path), seed=0, steps=20).run()
    assert kpis["steps"] == 20 and kpis["robots"] == sc.fleet.robots


def test_builtin_fleet_sizes_match_their_names() -> None:
    robots = {n: load_scenario(n)[0].fleet.robots for n in REQUIRED}
    assert robots["tiny"] <= 10
    assert 20 <= robots["small"] <= 50
    assert 100 <= robots["medium"] <= 200
    assert robots["large"] >= 1000
    assert load_scenario("goal_visit")[0].tasks.mode == "goal_visit"
    faults = load_scenario("faults")[0].faults
    assert faults.breakdown_prob > 0 and faults.closure_prob > 0
    one_way = load_scenario("one_way_aisles")[0].layout
    assert isinstance(one_way, GeneratorLayout) and one_way.one_way


def test_large_loads_builds_and_runs_50_steps_with_fewer_robots() -> None:
    sc, source = load_scenario("large")
    floor = build_floor(sc, source)  # checks that 1,000+ robots fit
    assert int(floor.start_ok.sum()) >= sc.fleet.robots >= 1000
    small = apply_overrides(sc, {"robots": 40}, source)
    model = WarehouseModel(small, source=source, floor=floor, seed=0, steps=50)
    assert model.run()["steps"] == 50


@pytest.mark.slow
def test_large_full_fleet_runs_50_steps() -> None:
    model = WarehouseModel("large", seed=0, steps=50)
    kpis = model.run()
    assert kpis["robots"] >= 1000 and kpis["steps"] == 50


def test_one_way_floor_is_directed() -> None:
    sc, source = load_scenario("one_way_aisles")
    floor = build_floor(sc, source)
    assert floor.graph.is_directed()
    two_way = build_floor(apply_overrides(sc, {"layout.one_way": False}, source), source)
    assert floor.mask.sum() < two_way.mask.sum()


def test_layout_without_type_is_a_generator() -> None:
    sc = Scenario.model_validate({"layout": {"shelf_rows": 2}})
    assert isinstance(sc.layout, GeneratorLayout) and sc.layout.shelf_rows == 2


def test_apply_overrides_shortcuts_and_dotted_keys() -> None:
    sc, source = load_scenario("tiny")
    out = apply_overrides(
        sc, {"robots": 3, "steps": 7, "tasks.arrival_rate": 0.1, "collisions": "physical"}, source
    )
    assert (out.fleet.robots, out.episode.steps) == (3, 7)
    assert out.tasks.arrival_rate == 0.1 and out.physics.collisions == "physical"
    assert sc.fleet.robots == 6  # the original is untouched
    with pytest.raises(InputError, match=r"fleet\.robotz: unknown setting"):
        apply_overrides(sc, {"fleet.robotz": 1}, source)


def test_parse_assignment_reads_yaml_values() -> None:
    assert parse_assignment("fleet.robots=40") == ("fleet.robots", 40)
    assert parse_assignment("tasks.arrival_rate=0.25") == ("tasks.arrival_rate", 0.25)
    assert parse_assignment("layout.station_walls=[west, east]") == (
        "layout.station_walls",
        ["west", "east"],
    )
    assert parse_assignment("layout.one_way=true") == ("layout.one_way", True)
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        parse_assignment("fleet.robots")


def test_scenario_relative_ascii_map_file(tmp_path: Path) -> None:
    sc, source = load_scenario(DATA / "corridor.yaml")
    assert isinstance(sc.layout, FileLayout)
    floor = build_floor(sc, source)
    assert floor.shape == (3, 8)
    assert floor.stations.size == 2 and floor.picks.size == 2


def test_inline_ascii_layout() -> None:
    sc = Scenario.model_validate(
        {"layout": {"type": "ascii", "map": "S....p\n......\n"}, "fleet": {"robots": 2}}
    )
    assert isinstance(sc.layout, AsciiLayout)
    floor = build_floor(sc)
    assert floor.n_nodes == 12 and floor.stations.size == 1 and floor.picks.size == 1


def test_map_file_target_uses_defaults(shared_maps: Path) -> None:
    path = shared_maps / "movingai" / "warehouse-10-20-10-2-1.map"
    sc, source = load_scenario(str(path))
    assert isinstance(sc.layout, FileLayout)
    assert Path(sc.layout.path).is_absolute() and Path(sc.layout.path) == path.resolve()
    default = Scenario()
    assert sc.fleet == default.fleet and sc.tasks == default.tasks
    floor = build_floor(apply_overrides(sc, {"robots": 200}, source), source)
    assert floor.shape == (63, 161)
    assert floor.picks.size > 0 and floor.stations.size > 0  # inferred by the documented rule


def test_map_target_runs(shared_maps: Path) -> None:
    path = shared_maps / "rhcr" / "kiva.map"
    model = WarehouseModel(str(path), seed=0, steps=20, robots=10)
    assert model.run()["robots"] == 10


def test_pogema_yaml_collection_is_a_map_target(shared_maps: Path) -> None:
    sc, source = load_scenario(str(shared_maps / "pogema" / "wfi_warehouse.yaml"))
    assert isinstance(sc.layout, FileLayout) and sc.layout.format == "pogema"
    assert build_floor(sc, source).n_nodes > 100


def test_schema_table_documents_every_field() -> None:
    keys = {row[0].split(" ")[0] for row in schema_rows()}
    for section in ("fleet", "tasks", "physics", "reward", "faults", "observation", "episode"):
        model = Scenario.model_fields[section].annotation
        for field in model.model_fields:
            assert f"{section}.{field}" in keys
    assert all(row[3] for row in schema_rows()), "every field has a description"
    assert "`layout.shelf_rows (generator)`" in schema_markdown()


# ---------------------------------------------------------------- bounded YAML reader
def nested_lists(depth: int) -> list:
    """``depth`` lists, each the only item of the one around it."""
    out: list = []
    for _ in range(depth - 1):
        out = [out]
    return out


def test_parse_yaml_plain_documents() -> None:
    assert parse_yaml("a: &x {b: 1}\nc: *x\n", "f") == {"a": {"b": 1}, "c": {"b": 1}}
    # The limit counts the mapping too: MAX_DEPTH - 1 lists inside it are the deepest allowed,
    # and they come back whole; one more list is refused.
    deepest = MAX_DEPTH - 1
    text = "a: " + "[" * deepest + "]" * deepest
    assert parse_yaml(text, "f") == {"a": nested_lists(deepest)}
    with pytest.raises(InputError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        parse_yaml("a: [" + text[3:] + "]", "f")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: " + "[" * 100_000 + "]" * 100_000, "nesting deeper"),
        ("a: &a [*a]", "recursive alias"),
        ("a: !!python/object/apply:os.system ['true']", "unsupported YAML tag"),
        ("a: !!binary AAAA\nb: !!python/tuple [1]", "unsupported YAML tag"),
        ("a: 1\n---\nb: 2\n", "YAML syntax error"),
    ],
)
def test_parse_yaml_refuses_fast(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        parse_yaml(text, "f.yaml")
    assert err.value.source == "f.yaml" and "\n" not in err.value.one_line()


def _bomb(levels: int) -> str:
    """``a0`` holds 10 strings, each ``a{i}`` 10 aliases of ``a{i-1}``: 10 ** (levels + 1)
    strings once expanded, from a few hundred characters."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines)


def test_alias_bomb_is_refused_without_expanding(monkeypatch: pytest.MonkeyPatch) -> None:
    from scenarios import safe_yaml

    # A small one (11,111 nodes once expanded) loads, aliases and all.
    small = parse_yaml(_bomb(3), "ok.yaml")
    assert len(small["a3"]) == 10 and small["a3"][9][9][9] == ["lol"] * 10
    constructed = []  # how many documents were built (not the nodes: their repr is huge)
    real = safe_yaml._BoundedLoader.construct_document

    def spy(self, node):  # type: ignore[no-untyped-def]
        constructed.append(1)
        return real(self, node)

    monkeypatch.setattr(safe_yaml._BoundedLoader, "construct_document", spy)
    # 10 ** 12 strings: refused on the count of the composed nodes, before any is constructed
    # (the line is that of the first anchor whose expansion passes the limit: a5, 10 ** 6).
    with pytest.raises(InputError, match="more than 1,000,000 nodes \\(alias bomb") as err:
        parse_yaml(_bomb(11), "bomb.yaml")
    assert constructed == [] and err.value.field == "line 6"


def test_readme_documents_every_setting() -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    if not readme.is_file():
        pytest.skip("no README.md")
    text = readme.read_text(encoding="utf-8")
    for row in schema_rows():
        assert f"`{row[0]}`" in text, f"README lacks {row[0]} (warehouse validate --schema)"
