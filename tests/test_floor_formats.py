"""Map readers and writers: every format on small hand-written inputs, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.errors import InputError
from warehouse.floor import (
    WarehouseLayout,
    compile_floor,
    generate_warehouse,
    infer_pick_and_station_cells,
)
from warehouse.floor.formats import (
    common,
    detect_format,
    load_map,
    parse_ascii,
    parse_graphml,
    parse_movingai,
    parse_node_link_json,
    parse_pogema,
    parse_pogema_yaml,
    parse_rhcr,
    save_graph,
)
from warehouse.floor.kinds import NodeKind


def kinds_of(graph: nx.Graph) -> dict[str, set[tuple[int, int]]]:
    out: dict[str, set] = {k.name.lower(): set() for k in NodeKind}
    for node, data in graph.nodes(data=True):
        out[data["kind"]].add(node)
    return out


def kind_grid(graph: nx.Graph) -> np.ndarray:
    grid = np.full(graph.graph["grid_shape"], -1, dtype=np.int8)
    for (r, c), data in graph.nodes(data=True):
        grid[r, c] = NodeKind.parse(data["kind"])
    return grid


def raises(field: str | None, *, match: str | None = None):
    """Context manager: an InputError with exactly this field."""

    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(InputError, match=match)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            assert self.info.value.field == field, self.info.value.one_line()
            return handled

    return _Check()


# ---------------------------------------------------------------------------------- ASCII
ASCII = """\
S....
.##p.
S....
"""


def test_ascii_explicit_kinds_and_edges():
    g = parse_ascii(ASCII, name="t")
    assert not g.is_directed()
    assert g.graph["explicit_kinds"] is True
    assert g.graph["grid_shape"] == (3, 5)
    assert g.graph["name"] == "t"
    k = kinds_of(g)
    assert k["station"] == {(0, 0), (2, 0)}
    assert k["pick"] == {(1, 3)}
    assert k["blocked"] == {(1, 1), (1, 2)}
    assert len(k["aisle"]) == 15 - 5
    # 13 passable cells: horizontal 4+2+4 (row 1: (1,0)| and (1,3)-(1,4)) → 4+1+4, vertical
    # cols 0,3,4 have 2 each → 6, cols 1,2 none.
    assert g.number_of_edges() == 4 + 1 + 4 + 6
    assert not any(g.has_edge((1, 1), n) for n in g.nodes)


def test_ascii_without_marks_uses_inference_rule():
    text = "....\n.##.\n...."
    g = parse_ascii(text)
    passable = np.array([[c != "#" for c in line] for line in text.split("\n")])
    assert np.array_equal(kind_grid(g), infer_pick_and_station_cells(passable))
    assert g.graph["explicit_kinds"] is False
    assert kinds_of(g)["pick"] == {(0, 1), (0, 2), (2, 1), (2, 2)}


def test_ascii_only_picks_marked_infers_stations_keeps_picks():
    g = parse_ascii(".p..\n.##.\n....")
    k = kinds_of(g)
    assert k["pick"] == {(0, 1)}  # the marked one only; the others are not inferred
    assert k["station"] == {(0, 0), (1, 0), (2, 0), (0, 3), (1, 3), (2, 3)}
    assert g.graph["explicit_kinds"] is True


def test_ascii_one_way_cells():
    g = parse_ascii("S...\n.>>.\n.v..\np...")
    assert g.is_directed()
    # '>' row: eastbound only through (1,1) and (1,2), including the moves into/out of them.
    for a, b in [((1, 0), (1, 1)), ((1, 1), (1, 2)), ((1, 2), (1, 3))]:
        assert g.has_edge(a, b)
        assert not g.has_edge(b, a)
    # Vertical moves through a '>' cell are unrestricted.
    assert g.has_edge((0, 1), (1, 1)) and g.has_edge((1, 1), (0, 1))
    # 'v' at (2,1): southbound only; its horizontal moves stay two-way.
    assert g.has_edge((1, 1), (2, 1)) and not g.has_edge((2, 1), (1, 1))
    assert g.has_edge((2, 1), (3, 1)) and not g.has_edge((3, 1), (2, 1))
    assert g.has_edge((2, 1), (2, 2)) and g.has_edge((2, 2), (2, 1))
    # Plain two-way cells keep both directions.
    assert g.has_edge((0, 2), (0, 3)) and g.has_edge((0, 3), (0, 2))
    assert kinds_of(g)["aisle"] >= {(1, 1), (1, 2), (2, 1)}


def test_ascii_facing_arrows_have_no_edge_and_up_arrow():
    g = parse_ascii("S><.\n...^\np...")
    assert not g.has_edge((0, 1), (0, 2)) and not g.has_edge((0, 2), (0, 1))
    assert g.has_edge((2, 3), (1, 3)) and g.has_edge((1, 3), (0, 3))
    assert not g.has_edge((1, 3), (2, 3)) and not g.has_edge((0, 3), (1, 3))


def test_ascii_at_sign_is_shelf_and_trailing_blank_lines_ignored():
    g = parse_ascii("\n\nS.@p  \n....\n\n")
    assert g.graph["grid_shape"] == (2, 4)
    assert g.nodes[(0, 2)]["kind"] == "blocked"


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ("S..\n..\np..", "layout.map line 2", "2 cells, expected 3"),
        ("S..\np.x", "layout.map line 2", "'x' in column 3"),
        ("S..\n\np..", "layout.map line 2", "0 cells"),
        ("", "layout.map", "empty"),
        ("  \n \n", "layout.map", "empty"),
        ("S.é", "layout.map line 1", "'é'"),
    ],
)
def test_ascii_bad_input(text, field, match):
    with raises(field, match=match) as info:
        parse_ascii(text, source="/x/scen.yaml")
    assert info.value.source == "/x/scen.yaml"


# ---------------------------------------------------------------------------------- MovingAI
MOVINGAI = """\
type octile
height 4
width 5
map
.@@@.
.GSE.
.OTW.
.....
"""


def test_movingai_passable_chars_and_inferred_kinds():
    g = parse_movingai(MOVINGAI, name="m")
    assert g.graph["grid_shape"] == (4, 5)
    assert g.graph["explicit_kinds"] is False
    k = kinds_of(g)
    assert k["blocked"] == {(0, 1), (0, 2), (0, 3), (2, 1), (2, 2), (2, 3)}
    # G, S (swamp) and E are passable; S is not a station here.
    assert {(1, 1), (1, 2), (1, 3)} <= k["pick"]
    assert (1, 2) not in k["station"]
    assert k["pick"] == {(1, 1), (1, 2), (1, 3), (3, 1), (3, 2), (3, 3)}
    assert k["station"] == {(r, c) for r in range(4) for c in (0, 4)}
    # Edges: row 1 has 4, row 3 has 4; columns 0 and 4 have 3 each.
    assert g.number_of_edges() == 4 + 4 + 3 + 3


def test_movingai_crlf_and_header_order():
    text = "type octile\r\nwidth 2\r\nheight 1\r\nmap\r\n..\r\n"
    g = parse_movingai(text)
    assert g.graph["grid_shape"] == (1, 2)


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ("type octile\nwidth 2\nmap\n..\n", "header.height", "missing"),
        ("type octile\nheight 1\nwidth two\nmap\n..\n", "header.width", "line 3"),
        ("type octile\nheight 0\nwidth 2\nmap\n", "header.height", "positive"),
        ("type grid\nheight 1\nwidth 2\nmap\n..\n", "header.type", "octile"),
        ("type octile\nheight 1\nwidth 2\n..\n", "header", "line 4"),
        ("type octile\nheight 1\nheight 1\nwidth 2\nmap\n..\n", "header.height", "twice"),
        ("type octile\nheight 1\nwidth 2\n", "header.map", "no 'map'"),
        ("type octile\nheight 3\nwidth 2\nmap\n..\n..\n", "header.height", "has 2"),
        ("type octile\nheight 1\nwidth 2\nmap\n..\n..\n", "header.height", "line 6"),
        ("type octile\nheight 2\nwidth 2\nmap\n..\n...\n", "line 6", "3 cells"),
        ("type octile\nheight 2\nwidth 2\nmap\n..\n.x\n", "line 6", "'x'"),
        ("type octile\nheight 5000\nwidth 2\nmap\n", "header", "too large"),
    ],
)
def test_movingai_bad_input(text, field, match):
    with raises(field, match=match):
        parse_movingai(text, source="m.map")


# ---------------------------------------------------------------------------------- POGEMA
POGEMA = """\
.....
.@#$.
.....
"""


def test_pogema_flags_and_kinds():
    g = parse_pogema(POGEMA)
    assert g.graph["explicit_kinds"] is True
    n = g.nodes
    assert n[(1, 1)]["kind"] == "pick" and n[(1, 1)]["start"] and not n[(1, 1)]["goal"]
    assert n[(1, 3)]["kind"] == "station" and n[(1, 3)]["goal"] and not n[(1, 3)]["start"]
    assert n[(0, 0)]["kind"] == "aisle" and n[(0, 0)]["start"] and n[(0, 0)]["goal"]
    assert n[(1, 2)]["kind"] == "blocked"
    assert g.number_of_edges() == 4 + 2 + 4 + 4 * 2  # rows 0,2: 4 each; row 1: 2; cols 0,1,3,4


def test_pogema_without_marks_is_inferred():
    g = parse_pogema("...\n.#.\n...")
    assert g.graph["explicit_kinds"] is False
    assert kinds_of(g)["pick"] == {(0, 1), (2, 1)}
    assert all(d["start"] and d["goal"] for _, d in g.nodes(data=True) if d["kind"] != "blocked")


def test_pogema_yaml_single_and_named():
    one = parse_pogema_yaml('"w": |-\n  ..$\n  @#.\n')
    assert one.graph["name"] == "w" and one.graph["grid_shape"] == (2, 3)
    assert one.nodes[(0, 2)]["kind"] == "station"
    two = 'a: |-\n  ...\nb:\n  - ".$."\n  - "@.."\n'
    g = parse_pogema_yaml(two, map_name="b")
    assert g.graph["name"] == "b" and g.nodes[(1, 0)]["kind"] == "pick"
    with raises(None, match="holds 2 maps"):
        parse_pogema_yaml(two)
    with raises("c", match="no such map"):
        parse_pogema_yaml(two, map_name="c")


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ("a: [1, 2\n", "line 2", "invalid YAML"),
        ("- a\n- b\n", None, "mapping"),
        ("a: 3\n", None, "no map strings"),
        ("a: 3\nb: {c: 1}\n", None, "no map strings"),
        ("a: |-\n  ...\n  .x.\n", "a line 2", "'x'"),
        ("a: |-\n  ...\n  ..\n", "a line 2", "2 cells"),
    ],
)
def test_pogema_yaml_bad_input(text, field, match):
    with raises(field, match=match):
        parse_pogema_yaml(text, source="p.yaml")


def test_pogema_yaml_named_entry_must_be_a_map():
    with raises("b", match="map string"):
        parse_pogema_yaml("a: '..'\nb: 3\n", map_name="b")


# ---------------------------------------------------------------------------------- RHCR
RHCR = """\
3,4
2
1
100
.ee.
r@@.
....
"""


def test_rhcr_kinds_and_counts():
    g = parse_rhcr(RHCR)
    assert g.graph["explicit_kinds"] is True
    assert g.graph["grid_shape"] == (3, 4)
    assert (g.graph["rhcr_endpoints"], g.graph["rhcr_agents"], g.graph["rhcr_max_time"]) == (
        2,
        1,
        100,
    )
    k = kinds_of(g)
    assert k["pick"] == {(0, 1), (0, 2)}
    assert k["station"] == {(1, 0)}
    assert k["blocked"] == {(1, 1), (1, 2)}
    assert g.number_of_edges() == 3 + 3 + 2 + 2  # rows 0 and 2; columns 0 and 3


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ("3;4\n0\n0\n0\n", "header.rows", "rows,cols"),
        ("1,2\n0\nmany\n0\n..\n", "header.agents", "line 3"),
        ("1,2\n0\n0\n", "header.max_time", "line 4"),
        ("1,2\n0\n0\n0\n..\n..\n", "header.rows", "line 6"),
        ("2,2\n0\n0\n0\n..\n", "header.rows", "end of file"),
        ("1,2\n0\n0\n0\n...\n", "line 5", "3 cells"),
        ("1,2\n0\n0\n0\n.#\n", "line 5", "'#'"),
        ("0,2\n0\n0\n0\n", "header.rows", "empty"),
    ],
)
def test_rhcr_bad_input(text, field, match):
    with raises(field, match=match):
        parse_rhcr(text, source="k.map")


# ---------------------------------------------------------------------------------- JSON
def diamond(directed: bool = False) -> dict:
    """A non-grid floor: a station joined diagonally to two picks and an aisle hub."""
    return {
        "directed": directed,
        "graph": {"name": "diamond", "cell_size": 2.0},
        "nodes": [
            {"id": "s", "pos": [0, 0], "kind": "station"},
            {"id": "a", "pos": [1, 1], "kind": "pick"},
            {"id": "b", "pos": [-1, 1], "kind": "pick", "goal": False},
            {"id": "h", "pos": [0, 2.0], "kind": "aisle"},
        ],
        "edges": [
            {"source": "s", "target": "a", "length": 1.5},
            {"source": "s", "target": "b"},
            {"source": "a", "target": "h"},
            {"source": "b", "target": "h"},
            {"source": "s", "target": "h", "length": 4},
        ],
    }


def test_json_non_grid_floor_compiles_with_slots():
    g = parse_node_link_json(json.dumps(diamond()))
    assert g.graph["explicit_kinds"] is True
    assert g.edges["s", "a"]["length"] == 1.5
    assert g.edges["s", "b"]["length"] == 2.0  # default: cell_size
    assert g.nodes["b"]["goal"] is False and g.nodes["a"]["goal"] is True
    floor = compile_floor(g)
    assert not floor.is_grid
    assert floor.n_actions == 1 + 3  # WAIT + the largest degree (s and h have 3)
    # Positions are shifted so the smallest row is 0.
    assert floor.pos.min() == 0 and floor.shape == (3, 3)
    for v, node in enumerate(floor.nodes):
        targets = sorted(floor.index_of(u) for u in g.neighbors(node))
        slots = [int(floor.nbr[v, a]) for a in range(1, floor.n_actions) if floor.mask[v, a]]
        assert slots == targets
    s = floor.index_of("s")
    slot_h = [a for a in range(1, 4) if floor.mask[s, a] and floor.nbr[s, a] == floor.index_of("h")]
    assert floor.length[s, slot_h[0]] == 4.0
    assert floor.goal_ok[floor.index_of("b")] == 0


def test_json_directed_keeps_one_way_edges_and_links_key():
    data = diamond(directed=True)
    data["links"] = data.pop("edges")
    data["links"].append({"source": "h", "target": "s"})
    g = parse_node_link_json(json.dumps(data))
    assert g.is_directed()
    assert g.has_edge("s", "a") and not g.has_edge("a", "s")
    assert g.has_edge("h", "s") and g.has_edge("s", "h")
    floor = compile_floor(g)
    a = floor.index_of("a")
    assert floor.mask[a, 1:].sum() == 1  # a → h only


def mutate(path: str, value, *, delete: bool = False) -> str:
    data = diamond()
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if delete:
        del node[last if not last.isdigit() else int(last)]
    else:
        node[int(last) if last.isdigit() else last] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ('{"nodes": [', "line 1", "invalid JSON"),
        ("[1, 2]", None, "object"),
        ("{}", "nodes", "non-empty"),
        (mutate("nodes.1.pos", None, delete=True), "nodes[1].pos", "missing"),
        (mutate("nodes.1.pos", [1, 2, 3]), "nodes[1].pos", "two numbers"),
        (mutate("nodes.1.pos", ["a", 1]), "nodes[1].pos", "number"),
        (mutate("nodes.1.pos", [float("nan"), 1]), "nodes[1].pos", "finite"),
        (mutate("nodes.2.pos", [0, 0]), "nodes[2].pos", "same cell"),
        (mutate("nodes.0.kind", "shelf"), "nodes[0].kind", "unknown kind"),
        (mutate("nodes.0.kind", None, delete=True), "nodes[0].kind", "missing"),
        (mutate("nodes.0.start", "yes"), "nodes[0].start", "true or false"),
        (mutate("nodes.3.id", "a"), "nodes[3].id", "duplicate"),
        (mutate("nodes.3.id", {"x": 1}), "nodes[3].id", "ids"),
        (mutate("nodes.3.id", None), "nodes[3].id", "ids"),
        (mutate("edges.2.target", "zz"), "edges[2].target", "unknown node"),
        (mutate("edges.2.source", None, delete=True), "edges[2].source", "missing"),
        (mutate("edges.2.target", "a"), "edges[2]", "self-loop"),
        (mutate("edges.0.length", -1), "edges[0].length", "> 0"),
        (mutate("edges.0.length", "far"), "edges[0].length", "number"),
        (mutate("edges", {}), "edges", "list"),
        (mutate("multigraph", True), "multigraph", "parallel"),
        (mutate("directed", "yes"), "directed", "true or false"),
        (mutate("graph.cell_size", 0), "graph.cell_size", "> 0"),
        (mutate("graph.grid_shape", [2]), "graph.grid_shape", "two whole numbers"),
        (mutate("graph.grid_shape", [2, 2]), "nodes[2].pos", "outside grid_shape"),
        (mutate("graph.explicit_kinds", "no"), "graph.explicit_kinds", "true or false"),
        (mutate("nodes.3.pos", [0, 10**6]), "nodes", "span"),
    ],
)
def test_json_bad_input(text, field, match):
    with raises(field, match=match):
        parse_node_link_json(text, source="f.json")


def test_json_deeply_nested_is_input_error():
    with raises(None, match="nested"):
        parse_node_link_json("[" * 100_000 + "]" * 100_000)


# ---------------------------------------------------------------------------------- GraphML
GRAPHML = """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="row" for="node" attr.name="row" attr.type="int"/>
  <key id="col" for="node" attr.name="col" attr.type="double"/>
  <key id="kind" for="node" attr.name="kind" attr.type="string"/>
  <key id="len" for="edge" attr.name="length" attr.type="double"/>
  <graph edgedefault="directed">
    <node id="s"><data key="row">0</data><data key="col">0</data>
      <data key="kind">station</data></node>
    <node id="p"><data key="row">1</data><data key="col">1</data>
      <data key="kind">pick</data></node>
    <node id="q"><data key="row">2</data><data key="col">0.5</data>
      <data key="kind">aisle</data></node>
    <edge source="s" target="p"><data key="len">1.4</data></edge>
    <edge source="p" target="q"/>
    <edge source="q" target="s"/>
  </graph>
</graphml>
"""


def test_graphml_non_grid_directed_floor():
    g = parse_graphml(GRAPHML)
    assert g.is_directed()
    assert g.nodes["s"]["pos"] == (0, 0) and g.nodes["q"]["pos"] == (2.0, 0.5)
    assert g.edges["s", "p"]["length"] == pytest.approx(1.4)
    assert g.edges["p", "q"]["length"] == 1.0
    assert not g.has_edge("p", "s")
    floor = compile_floor(g)
    assert not floor.is_grid and floor.n_actions == 2
    assert floor.picks.tolist() == [floor.index_of("p")]


@pytest.mark.parametrize(
    ("edit", "field", "match"),
    [
        (('<data key="row">1</data>', ""), "nodes[1].row", "no row"),
        (('<data key="col">0.5</data>', '<data key="col">x</data>'), None, "GraphML"),
        (
            ('<data key="kind">pick</data>', '<data key="kind">wall</data>'),
            "nodes[1].kind",
            "unknown kind",
        ),
        (("</graph>", "</grph>"), "line 17", "invalid XML"),
        (("<graph ", '<!DOCTYPE g [<!ENTITY x "y">]><graph '), None, "DOCTYPE"),
        (('target="q"/>', 'target="p"/>'), "edge p-p", "self-loop"),
        (
            (
                '<data key="row">2</data><data key="col">0.5</data>',
                '<data key="row">0</data><data key="col">0.2</data>',
            ),
            "nodes[2].pos",
            "same cell",
        ),
    ],
)
def test_graphml_bad_input(edit, field, match):
    with raises(field, match=match):
        parse_graphml(GRAPHML.replace(*edit), source="f.graphml")


def test_other_attributes_load_but_typos_are_refused():
    """Graphs from other tools carry attributes of their own (labels, weights): ignored. A name
    one typo away from one the reader uses would be ignored too, silently: refused, naming it."""
    data = diamond()
    data["graph"]["creator"] = "some tool"
    data["nodes"][0]["label"] = "dock 1"
    data["edges"][0]["weight"] = 3
    g = parse_node_link_json(json.dumps(data))
    assert g.nodes["s"]["label"] == "dock 1" and g.edges["s", "a"]["length"] == 1.5
    for where, i, typo, field in [
        ("nodes", 2, "strat", "nodes[2].strat"),
        ("edges", 1, "lenght", "edges[1].lenght"),
    ]:
        bad = diamond()
        bad[where][i][typo] = 2
        with raises(field, match="unknown attribute; did you mean"):
            parse_node_link_json(json.dumps(bad), source="f.json")
    bad = diamond()
    bad["graph"]["cellsize"] = 2.0
    with raises("graph.cellsize", match="did you mean 'cell_size'"):
        parse_node_link_json(json.dumps(bad), source="f.json")
    typo = GRAPHML.replace('attr.name="kind"', 'attr.name="knd"')
    with raises("nodes[0].knd", match="did you mean 'kind'"):
        parse_graphml(typo, source="f.graphml")


def test_a_floor_too_large_is_refused_in_a_short_line():
    """Positions spanning more cells than a floor may hold: refused, and an absurd size is shown
    as a float rather than in its 301 digits."""
    data = diamond()
    data["nodes"][1]["pos"] = [1e300, 1]
    with raises("nodes", match=r"positions span 1\.0e\+300x3 cells \(at most"):
        parse_node_link_json(json.dumps(data), source="f.json")
    data["nodes"][1]["pos"] = [5000, 1]
    with raises("nodes", match="positions span 5002x3 cells"):
        parse_node_link_json(json.dumps(data), source="f.json")


def test_graphml_parallel_edges_refused():
    text = GRAPHML.replace('<edge source="p" target="q"/>', '<edge source="p" target="q"/>' * 2)
    with raises("edges", match="parallel"):
        parse_graphml(text)


# ---------------------------------------------------------------------------------- round trip
def same_graph(a: nx.Graph, b: nx.Graph) -> None:
    assert a.is_directed() == b.is_directed()
    assert set(a.nodes) == set(b.nodes)
    for node, data in a.nodes(data=True):
        got = b.nodes[node]
        assert tuple(got["pos"]) == tuple(data["pos"])
        assert (got["kind"], got["start"], got["goal"]) == (
            data["kind"],
            data["start"],
            data["goal"],
        )
    assert set(a.edges) == set(b.edges)
    for u, v, data in a.edges(data=True):
        assert b.edges[u, v]["length"] == pytest.approx(data["length"])
    for key in ("grid_shape", "cell_size", "name", "explicit_kinds"):
        assert b.graph.get(key) == a.graph.get(key), key


@pytest.mark.parametrize("ext", [".json", ".graphml"])
def test_round_trip_grid_floors(tmp_path: Path, ext: str):
    one_way = generate_warehouse(
        WarehouseLayout(shelf_rows=2, shelf_cols=2, block_length=3, one_way=True, cell_size=1.5),
        name="gen",
    )
    one_way.graph["explicit_kinds"] = False
    pogema = parse_pogema(POGEMA, name="pg")
    for graph in (one_way, pogema):
        path = save_graph(graph, tmp_path / f"floor{ext}")
        back = load_map(path)
        same_graph(graph, back)
        assert back.graph["format"] == ext[1:]
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("ext", [".json", ".graphml"])
def test_round_trip_non_grid(tmp_path: Path, ext: str):
    data = diamond(directed=True)
    data["edges"].append({"source": "h", "target": "s", "length": 3.25})
    g = parse_node_link_json(json.dumps(data))
    back = load_map(save_graph(g, tmp_path / f"d{ext}"))
    assert back.has_edge("h", "s") and not back.has_edge("a", "s")
    same_graph(g, back)
    a, b = compile_floor(g), compile_floor(back)
    assert np.array_equal(a.nbr, b.nbr) and np.array_equal(a.mask, b.mask)
    assert np.allclose(a.length, b.length)


def test_save_graph_bad_extension(tmp_path: Path):
    with raises(None, match="use .json or .graphml"):
        save_graph(parse_ascii(ASCII), tmp_path / "floor.png")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- load_map
@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.map", MOVINGAI, "movingai"),
        ("a.map", RHCR, "rhcr"),
        ("a.txt", POGEMA, "pogema"),
        ("a.txt", "..#\n.@.\n...", "pogema"),
        ("a.txt", ASCII, "ascii"),
        ("a.txt", "..@\n...", "ascii"),
        ("a", RHCR, "rhcr"),
        ("a.floor", MOVINGAI, "movingai"),
        ("a.yaml", "m: |-\n  .$.\n", "pogema"),
        ("a.yml", "m: |-\n  .$.\n", "pogema"),
        ("a.json", json.dumps(diamond()), "json"),
        ("a.dat", json.dumps(diamond()), "json"),
        ("a.graphml", GRAPHML, "graphml"),
        ("a.data", GRAPHML, "graphml"),
    ],
)
def test_load_map_detects_format(tmp_path: Path, name: str, text: str, fmt: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect_format(path, text) == fmt
    g = load_map(path)
    assert g.graph["format"] == fmt
    expected = {".yaml": "m", ".yml": "m", ".json": "diamond", ".dat": "diamond"}
    assert g.graph["name"] == expected.get(path.suffix, path.stem)
    compile_floor(g, source=path)


def test_load_map_format_override_and_name(tmp_path: Path):
    path = tmp_path / "starts.txt"
    path.write_text("...\n.@.\n...", encoding="utf-8")
    assert load_map(path).nodes[(1, 1)]["kind"] == "blocked"  # ASCII: '@' is a shelf
    g = load_map(path, fmt="pogema")
    assert g.nodes[(1, 1)]["kind"] == "pick" and not g.nodes[(1, 1)]["goal"]
    assert g.graph["name"] == "starts"


def test_load_map_ascii_errors_name_the_line(tmp_path: Path):
    path = tmp_path / "floor.txt"
    path.write_text("S..\n..\np..\n", encoding="utf-8")
    with raises("line 2") as info:
        load_map(path)
    assert info.value.one_line().startswith(f"{path}: line 2: ")


def test_load_map_bom_is_ignored(tmp_path: Path):
    path = tmp_path / "bom.map"
    path.write_bytes(b"\xef\xbb\xbf" + MOVINGAI.encode())
    assert load_map(path).graph["grid_shape"] == (4, 5)


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("empty.map", b"", "empty"),
        ("blank.txt", b"\n  \n", "empty"),
        ("nul.map", b"type octile\x00\n", "NUL"),
        ("latin.txt", "S.é".encode("latin-1"), "UTF-8"),
        ("png.png", b"\x89PNG\r\n\x1a\n\x00\x00", "NUL"),
    ],
)
def test_load_map_unreadable_files(tmp_path: Path, name: str, data: bytes, match: str):
    path = tmp_path / name
    path.write_bytes(data)
    with raises(None, match=match) as info:
        load_map(path)
    assert info.value.source == str(path)


def test_load_map_missing_directory_and_format(tmp_path: Path):
    with raises(None, match="no such file"):
        load_map(tmp_path / "nope.map")
    with raises(None, match="not a file"):
        load_map(tmp_path)
    (tmp_path / "a.map").write_text(MOVINGAI)
    with raises("format", match="unknown map format"):
        load_map(tmp_path / "a.map", fmt="png")


def test_load_map_unknown_map_header(tmp_path: Path):
    path = tmp_path / "odd.map"
    path.write_text("hello\n...\n")
    with raises("header", match="MovingAI"):
        load_map(path)


def test_load_map_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "big.map"
    path.write_text(MOVINGAI)
    monkeypatch.setattr(common, "MAX_FILE_BYTES", 10)
    with raises(None, match="limited to 50 MB"):
        load_map(path)
    monkeypatch.undo()
    path.write_text("type octile\nheight 4000\nwidth 4000\nmap\n")
    with raises("header", match="too large"):
        load_map(path)
    path.write_text("100000,2\n0\n0\n0\n")
    with raises("header.rows", match="too large"):
        load_map(path)


def test_load_map_wrong_format_forced_is_input_error(tmp_path: Path):
    path = tmp_path / "k.map"
    path.write_text(RHCR)
    for fmt, message in (
        ("movingai", "header: line 1: expected 'type octile'"),
        ("pogema", "line 1: unknown map character '3'"),
        ("ascii", "line 1: unknown map character '3'"),
        ("json", "line 1: invalid JSON"),
        ("graphml", "line 1: invalid XML"),
    ):
        with pytest.raises(InputError, match=message):
            load_map(path, fmt=fmt)


def test_scenario_file_layout_uses_load_map(tmp_path: Path):
    from scenarios.load import build_floor
    from scenarios.schema import AsciiLayout, FileLayout, Scenario

    (tmp_path / "kiva.map").write_text(RHCR)
    scen = Scenario(layout=FileLayout(path="kiva.map"), fleet={"robots": 2})
    floor = build_floor(scen, tmp_path / "s.yaml")
    assert floor.picks.size == 2 and floor.stations.size == 1
    scen = Scenario(layout=AsciiLayout(map="S..\n..\n"))
    with raises("layout.map line 2"):
        build_floor(scen, tmp_path / "s.yaml")


# ---------------------------------------------------------------------------------- fuzz
FRAGMENTS = [
    "type octile\n",
    "height 2\n",
    "width 3\n",
    "map\n",
    "2,3\n",
    "0\n",
    "...\n",
    ".@#\n",
    "p$S\n",
    "><^v\n",
    "e r\n",
    "{",
    "}",
    '"nodes": [',
    '{"id": 1, "pos": [0, 1], "kind": "pick"}',
    "]",
    ",",
    "<graphml>",
    "<graph>",
    "<node id='a'/>",
    "</graphml>",
    "a: |\n  ",
    "- ",
    "\n",
    "é",
    "\t",
]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=12),
    ext=st.sampled_from([".map", ".txt", ".json", ".graphml", ".yaml", ""]),
)
def test_load_map_only_raises_input_error(tmp_path: Path, parts: list[str], ext: str):
    path = tmp_path / f"fuzz{ext}"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        graph = load_map(path)
    except InputError as exc:
        assert exc.source == str(path) and "\n" not in exc.one_line()
    else:
        assert graph.number_of_nodes() > 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=64))
def test_load_map_random_bytes(tmp_path: Path, data: bytes):
    path = tmp_path / "bytes.map"
    path.write_bytes(data)
    try:
        graph = load_map(path)
    except InputError as exc:
        assert exc.source == str(path)
    else:  # only a well-formed RHCR / MovingAI map could get here
        assert graph.graph["format"] in ("rhcr", "movingai")
