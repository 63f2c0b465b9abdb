"""Audit of the map readers: malformed files give one named error, nothing silently dropped."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from warehouse.errors import InputError
from warehouse.floor.formats import load_map

GRAPHML = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
<key id="row" for="node" attr.name="row" attr.type="double"/>
<key id="col" for="node" attr.name="col" attr.type="double"/>
<key id="kind" for="node" attr.name="kind"{kind_type}/>
<key id="length" for="edge" attr.name="length" attr.type="double"/>
<graph id="G" edgedefault="undirected">
<node id="a"><data key="row">0</data><data key="col">0</data><data key="kind">station</data></node>
<node id="b"><data key="row">{b_row}</data><data key="col">1</data>
<data key="kind">aisle</data></node>
<node id="c"><data key="row">1</data><data key="col">1</data><data key="kind">pick</data></node>
<edge source="a" target="b"/>
<edge source="b" target="c"/>
{extra}
</graph>
{after}
</graphml>
"""


def graphml(extra: str = "", after: str = "", b_row: str = "0", kind_type: str = "") -> str:
    kind_type = kind_type or ' attr.type="string"'
    return GRAPHML.format(extra=extra, after=after, b_row=b_row, kind_type=kind_type)


def node_link(**graph: object) -> dict:
    return {
        "directed": False,
        "graph": dict(graph),
        "nodes": [
            {"id": "a", "pos": [0, 0], "kind": "station"},
            {"id": "b", "pos": [0, 1], "kind": "aisle"},
            {"id": "c", "pos": [1, 1], "kind": "pick"},
        ],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
    }


def read_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_map(path)
    assert info.value.source == str(path) and "\n" not in info.value.one_line()
    return info.value


# ------------------------------------------------------------------------ node-link JSON
@pytest.mark.parametrize("value", ["abc", 5])
def test_json_transit_nodes_must_be_a_list(tmp_path: Path, value: object):
    # a string was kept as the graph's transit set: every node became a transit node
    path = tmp_path / "t.json"
    path.write_text(json.dumps(node_link(transit_nodes=value)))
    err = read_error(path)
    assert err.field == "graph.transit_nodes" and "list" in err.message


def test_json_reserved_graph_attributes_are_not_passed_through(tmp_path: Path):
    # "reader_notes": "hi" became one note per letter; "inferred_kinds" a traceback in validate
    path = tmp_path / "r.json"
    doc = node_link(reader_notes="hi", inferred_kinds="pick", edge_split="x", format="ascii")
    path.write_text(json.dumps(doc))
    graph = load_map(path)
    assert graph.graph["format"] == "json"
    assert not {"reader_notes", "inferred_kinds", "edge_split"} & set(graph.graph)


def test_json_edges_and_links_both_given(tmp_path: Path):
    doc = node_link()
    doc["links"] = [{"source": "a", "target": "c"}]  # was silently ignored
    path = tmp_path / "both.json"
    path.write_text(json.dumps(doc))
    assert read_error(path).field == "links"


def test_json_multigraph_flag_must_be_boolean(tmp_path: Path):
    doc = node_link()
    doc["multigraph"] = "no"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    err = read_error(path)
    assert err.field == "multigraph" and "true or false" in err.message


def test_json_edge_to_blocked_node_is_refused(tmp_path: Path):
    doc = node_link()
    doc["nodes"].append({"id": "x", "pos": [1, 0], "kind": "blocked"})
    doc["edges"].append({"source": "a", "target": "x"})  # the floor dropped it silently
    path = tmp_path / "blocked.json"
    path.write_text(json.dumps(doc))
    err = read_error(path)
    assert "blocked node 'x'" in err.message


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["edges"][0].update(length="2"), "edges[0].length"),
        (lambda d: d["nodes"][0].update(pos=["0", "0"]), "nodes[0].pos"),
        (lambda d: d["graph"].update(cell_size="1.5"), "graph.cell_size"),
        (lambda d: d["nodes"][0].update(cell=["0", 0]), "nodes[0].cell"),
    ],
)
def test_json_numbers_given_as_text_are_refused(tmp_path: Path, edit, field: str):
    doc = node_link()
    edit(doc)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    err = read_error(path)
    assert err.field == field and "expected a number" in err.message


# ------------------------------------------------------------------------------- GraphML
@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"after": '<graph id="H" edgedefault="undirected"><node id="z"/></graph>'}, "graph 'H'"),
        (
            {
                "extra": '<node id="n"><data key="row">4</data><data key="col">4</data>'
                '<data key="kind">aisle</data><graph id="sub" edgedefault="undirected">'
                '<node id="n::x"/></graph></node>'
            },
            "graph 'sub'",
        ),
    ],
)
def test_graphml_second_or_nested_graph_is_refused(tmp_path: Path, kw: dict, field: str):
    path = tmp_path / "g.graphml"
    path.write_text(graphml(**kw))
    assert read_error(path).field == field


def test_graphml_edge_to_undeclared_node(tmp_path: Path):
    # networkx added node 'zz'; the error then blamed a nodes[3].row the file does not have
    path = tmp_path / "g.graphml"
    path.write_text(graphml(extra='<edge source="a" target="zz"/>'))
    err = read_error(path)
    assert err.field == "edges[2].target" and "'zz'" in err.message


@pytest.mark.parametrize(
    ("kw", "where"),
    [
        ({"b_row": "x"}, "node 'b'.row: expected double, got 'x'"),
        (
            {"extra": '<edge source="a" target="c"><data key="length">abc</data></edge>'},
            "edges[2].length: expected double, got 'abc'",
        ),
    ],
)
def test_graphml_bad_typed_value_names_the_element(tmp_path: Path, kw: dict, where: str):
    path = tmp_path / "g.graphml"
    path.write_text(graphml(**kw))
    assert where in read_error(path).message


def test_graphml_key_without_type_reads_quietly(tmp_path: Path):
    path = tmp_path / "g.graphml"
    path.write_text(graphml(kind_type=" "))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = load_map(path)
    assert graph.nodes["a"]["kind"] == "station"


# ------------------------------------------------------------------------- POGEMA YAML
def test_pogema_yaml_repeated_name_is_refused(tmp_path: Path):
    path = tmp_path / "maps.yaml"
    path.write_text("a: |-\n  ..$\n  @#.\nb: |-\n  ..\na: |-\n  .#\n")
    err = read_error(path)
    assert err.field == "line 6" and "duplicate key 'a'" in err.message


def test_pogema_yaml_alias_bomb_is_refused(tmp_path: Path):
    lines = ["a: &a ['....', '....']"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    lines.append("m: |-\n  ....\n  .##.\n  @..$")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="alias bomb"):
        load_map(path, map_name="m")


# ---------------------------------------------------------------------- grid headers
@pytest.mark.parametrize("height", ["0_3", "+3", "\u0663"])
def test_movingai_height_must_be_plain_digits(tmp_path: Path, height: str):
    path = tmp_path / "m.map"
    path.write_text(f"type octile\nheight {height}\nwidth 4\nmap\n....\n.@@.\n....\n")
    assert read_error(path).field == "header.height"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("type octile\nheight " + "9" * 5000 + "\nwidth 4\nmap\n....\n", "header.height"),
        ("9" * 5000 + ",4\n1\n1\n1\n....\n", "header.rows"),
        ("1,4\n" + "9" * 5000 + "\n1\n1\n....\n", "header.endpoints"),
        ("\u0663,4\n1\n1\n1\n....\n....\n....\n", "header"),
    ],
)
def test_huge_or_odd_header_numbers(tmp_path: Path, text: str, field: str):
    path = tmp_path / "h.map"
    path.write_text(text)
    err = read_error(path)
    assert err.field == field and len(err.one_line()) < 300


def test_movingai_header_with_a_tab_in_a_txt_file(tmp_path: Path):
    path = tmp_path / "m.txt"
    path.write_text("type\toctile\nheight 1\nwidth 2\nmap\n..\n")
    assert load_map(path).graph["format"] == "movingai"


def test_a_map_file_over_16_mib_reaches_its_reader(tmp_path: Path) -> None:
    """Map files may be up to 50 MiB (the readers' limit); the scenario loader capped them at
    the 16 MiB of a scenario file."""
    from scenarios import build_floor, load_scenario

    big = tmp_path / "big.map"
    with big.open("w") as fh:  # a broken header, then 17 MiB of rows
        fh.write("type octile\nheight x\nwidth 4\nmap\n")
        fh.write("....\n" * (17 * 2**20 // 5))
    with pytest.raises(InputError) as caught:
        build_floor(*load_scenario(big))
    assert "larger than" not in str(caught.value) and "height" in str(caught.value)
    huge = tmp_path / "huge.map"
    with huge.open("wb") as fh:
        fh.truncate(51 * 2**20)
    with pytest.raises(InputError, match="larger than 50 MiB"):
        load_scenario(huge)


def test_the_list_of_rows_pogema_form_is_read_as_a_map(tmp_path: Path) -> None:
    """The POGEMA reader takes rows as a list of strings; the loader took such a file for a
    scenario ("a: unknown key")."""
    from scenarios import load_scenario

    path = tmp_path / "m.yaml"
    path.write_text("a:\n  - '....'\n  - '@..$'\n")
    sc, _ = load_scenario(path)
    assert sc.layout.type == "file" and sc.layout.format == "pogema"


def test_graphml_key_default_of_the_wrong_type_names_the_key(tmp_path: Path) -> None:
    # networkx's own message named neither: "could not convert string to float: 'abc'"
    path = tmp_path / "g.graphml"
    path.write_text(
        graphml().replace(
            'attr.name="length" attr.type="double"/>',
            'attr.name="length" attr.type="double"><default>abc</default></key>',
        )
    )
    err = read_error(path)
    assert err.field == "key length" and "<default> expected double, got 'abc'" in err.message


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".map", "type octile\nheight 2\nwidth 4\nmap\n@..T\n....\n"),  # MovingAI
        (".map", "2,4\n1\n1\n10\n@..e\n...r\n"),  # RHCR
        (".txt", "@..$\n....\n"),  # POGEMA text
    ],
)
def test_old_mac_and_windows_line_endings_read_as_unix_ones(
    tmp_path: Path, suffix: str, text: str, ending: str
) -> None:
    """A lone CR ended lines in old Mac files; it was refused as an unknown map character."""
    unix, other = tmp_path / f"u{suffix}", tmp_path / f"o{suffix}"
    unix.write_text(text)
    other.write_bytes(text.replace("\n", ending).encode())
    a, b = load_map(unix), load_map(other)
    assert sorted(a.nodes(data="pos")) == sorted(b.nodes(data="pos"))
    assert sorted(a.edges) == sorted(b.edges) and a.number_of_nodes() >= 6


def test_a_pogema_yaml_entry_that_is_not_a_map_is_not_passed_over(tmp_path: Path) -> None:
    """With one map in the file and no map name, an entry beside it that is not a map string
    was silently skipped."""
    path = tmp_path / "m.yaml"
    path.write_text("wh: |-\n  @..$\n  ....\nnotes: 5\n")
    err = read_error(path)
    assert err.field == "notes" and "expected a map string" in err.message
    assert load_map(path, map_name="wh").number_of_nodes() == 8  # chosen by name: read
