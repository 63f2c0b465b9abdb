"""Non-grid floors as networkx node-link JSON or GraphML, and :func:`save_graph`.

An in-memory networkx graph (``warehouse.make_env(G)``) is read by :func:`read_graph`, by the
rules below for a JSON file of it (one function, :func:`_from_node_link`, checks both).

Node attributes:

* ``pos`` — ``[row, col]``, two finite numbers (a floor drawn on a grid of cells; fractional
  positions are rounded to the cell used for observation windows and drawing, and no two nodes
  may share a cell: see ``cell``). GraphML has no tuples, so it carries numeric ``row`` and
  ``col`` attributes instead;
* ``cell`` — optional ``[row, col]``, two whole numbers: the cell the node is drawn in where it
  is not the one ``pos`` rounds to (GraphML: ``cell_row`` and ``cell_col``). No two nodes may
  have the same cell. A floor split by ``physics.speed_m_s`` gives it to the transit nodes that
  found their rounded cell taken (:mod:`warehouse.floor.transit`), so :func:`save_graph` writes
  such a floor and it reads back to the same cells;
* ``kind`` — ``aisle``, ``pick``, ``station``, ``parking`` or ``blocked``;
* ``start`` / ``goal`` — optional booleans (default True);
* ``charger`` — optional boolean (default False): a charger of the battery model on an
  ``aisle`` or ``parking`` node (``battery.chargers`` defaults to the marked nodes);
* ``transit`` — optional boolean (default False): a transit node of a long edge split by
  ``physics.speed_m_s`` (:mod:`warehouse.floor.transit`): an ``aisle`` node, never a start or
  a goal. :func:`save_graph` marks them on a split floor, so the floor read back treats them as
  the live one did: random closures and parking pass them over, closures cannot name them, and
  splitting it again at the same speed keeps their chains. (JSON files saved before the mark
  list them in the graph attribute ``transit_nodes``, read where no node has the mark.)

Edge attribute ``length`` (metres, positive; default the graph's ``cell_size``): the metres a
move travels, and its travel time with ``physics.speed_m_s`` (:mod:`warehouse.floor.transit`
splits long edges when the floor is built; without it every edge takes one step). A directed
graph (``"directed": true`` / ``edgedefault="directed"``) keeps one-way edges; an undirected
edge may be travelled both ways. Graph attributes (all optional): ``name``, ``cell_size``
(metres per cell, default 1), ``grid_shape`` (``[H, W]``; GraphML: ``grid_rows`` and
``grid_cols``) and ``explicit_kinds`` (default True: the kinds come from the file, so pick
locations and stations must be reachable). Multigraphs and self-loops are refused.

JSON edges may be listed under ``edges`` (networkx ≥ 3.6) or ``links`` (older networkx).
Node ids that are ``[row, col]`` lists (JSON) or ``"(row, col)"`` strings equal to the node's
position (GraphML) become ``(row, col)`` tuples, so grid floors round-trip exactly.
GraphML files may not declare a DOCTYPE or entities. Nothing is unpickled.

Numbers are JSON numbers in a JSON file (``"2"`` for a length is refused; GraphML values are
text, converted by their key's ``attr.type``). A GraphML file holds one ``<graph>`` (a second
or nested one is refused) whose edges join declared nodes; no edge may touch a ``blocked`` node.
Graph attributes the readers set themselves (``format``, ``transit_nodes``, ``edge_split``,
``reader_notes``, ``inferred_kinds``) are not taken from a file as text or numbers.

Other attributes are ignored, so graphs written by other tools (labels, weights, coordinates)
load; a name one typo away from one above (``strat``, ``lenght``, ``grid_col``) is refused
instead of ignored.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from ...atomic import write_text_atomic
from ...errors import InputError
from ...jsonio import loads_json_strict
from ..kinds import NodeKind
from .common import MAX_CELLS, MAX_SIDE, TRANSIT_KEY

Source = str | Path | None
#: the attributes read from nodes, edges and the graph (after GraphML's row/col become pos)
NODE_ATTRS = ("pos", "kind", "start", "goal", "charger", "cell", "transit")
EDGE_ATTRS = ("length",)
GRAPH_ATTRS = ("name", "cell_size", "grid_shape", "grid_rows", "grid_cols", "explicit_kinds")
#: graph attributes the readers and the floor builder set themselves: a file's own value of one
#: is not passed through (a string ``transit_nodes`` would make every node a transit node, a
#: string ``reader_notes`` a note per letter)
RESERVED_GRAPH_ATTRS = (TRANSIT_KEY, "edge_split", "reader_notes", "inferred_kinds", "format")
_TUPLE_ID = re.compile(r"^\((-?\d+), (-?\d+)\)$")


# ---------------------------------------------------------------------------------- reading
def parse_node_link_json(text: str, *, source: Source = None, name: str = "graph") -> nx.Graph:
    """Floor graph of a networkx node-link JSON document (see module docstring)."""
    return _from_node_link(loads_json_strict(text, source), source, name)


def read_graph(graph: Any, *, source: Source = "graph", name: str = "graph") -> nx.Graph:
    """Floor graph of an in-memory networkx ``Graph`` or ``DiGraph``, checked by exactly the
    rules a node-link JSON file of it gets: it is read as :func:`save_graph` writes it (tuples
    as lists, numpy values as Python numbers), so the floor equals the one read back from that
    file. Errors name the node (``node 'a1'.kind``) or edge (``edge 'a1'-'a2'.length``) under
    ``source``. A new graph is returned; ``graph`` is not changed."""
    if not isinstance(graph, nx.Graph):
        raise InputError(
            source, None, f"expected a networkx Graph or DiGraph, got {type(graph).__name__}"
        )
    ids = list(graph.nodes)
    pairs = list(graph.edges)
    data = _node_link_data(graph)
    try:  # the file's values, all at once (what save_graph writes, read back)
        plain = json.loads(json.dumps(data, default=_json_default))
    except (TypeError, ValueError, RecursionError):  # name the value no file could hold
        plain = _json_values(data, source, ids, pairs)
    return _from_node_link(
        plain,
        source,
        name,
        node_at=lambda i: f"node {ids[i]!r}",
        edge_at=lambda j: f"edge {pairs[j][0]!r}-{pairs[j][1]!r}",
        edge_field=lambda u, v: f"edge {u!r}-{v!r}",
    )


def _json_values(
    data: dict[str, Any], source: Source, ids: list[Any], pairs: list[tuple[Any, ...]]
) -> dict[str, Any]:
    """:func:`read_graph`'s node-link ``data`` as a JSON file holds it, value by value: a node
    id, edge end or attribute this module reads that JSON cannot hold is an error naming it;
    another attribute (ignored, as a file's) is kept as it is."""

    def plain(value: Any, field: str | None) -> Any:
        try:
            return json.loads(json.dumps(value, default=_json_default))
        except (TypeError, ValueError, RecursionError) as exc:
            if field is None:
                return value
            raise InputError(source, field, f"not a JSON value ({exc}), got {value!r}") from None

    def entry(attrs: dict[str, Any], known: tuple[str, ...], where: str) -> dict[str, Any]:
        return {str(k): plain(v, f"{where}.{k}" if k in known else None) for k, v in attrs.items()}

    out = dict(data)
    out["graph"] = entry(data["graph"], (*GRAPH_ATTRS, TRANSIT_KEY), "graph")
    out["nodes"] = [
        entry(node, ("id", *NODE_ATTRS), f"node {ids[i]!r}") for i, node in enumerate(data["nodes"])
    ]
    out["edges"] = [
        entry(edge, ("source", "target", *EDGE_ATTRS), f"edge {pairs[j][0]!r}-{pairs[j][1]!r}")
        for j, edge in enumerate(data["edges"])
    ]
    return out


def _from_node_link(
    data: Any,
    source: Source,
    name: str,
    *,
    node_at: Callable[[int], str] | None = None,
    edge_at: Callable[[int], str] | None = None,
    edge_field: Callable[[Any, Any], str | None] = lambda u, v: None,
) -> nx.Graph:
    """The floor graph of parsed node-link ``data`` (a JSON file's, or :func:`read_graph`'s):
    the one set of rules for both. ``node_at(i)`` / ``edge_at(j)`` name the ``i``-th node and
    ``j``-th edge in errors (default: ``nodes[i]``, ``edges[j]``, a file's list entries)."""
    if not isinstance(data, dict):
        raise InputError(source, None, "expected a node-link JSON object with 'nodes'")
    multigraph = data.get("multigraph", False)
    if not isinstance(multigraph, bool):
        raise InputError(source, "multigraph", "expected true or false")
    if multigraph:
        raise InputError(source, "multigraph", "parallel edges (multigraphs) are not supported")
    directed = data.get("directed", False)
    if not isinstance(directed, bool):
        raise InputError(source, "directed", "expected true or false")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise InputError(source, "nodes", "expected a non-empty list of nodes")
    if len(nodes) > MAX_CELLS:
        raise InputError(source, "nodes", f"{len(nodes)} nodes is too many (at most {MAX_CELLS})")
    if "edges" in data and "links" in data:
        raise InputError(
            source, "links", "given beside 'edges': list the edges under one of the two"
        )
    edge_key = "edges" if "edges" in data else "links"
    edges = data.get(edge_key, [])
    if not isinstance(edges, list):
        raise InputError(source, edge_key, "expected a list of edges")
    attrs = data.get("graph", {})
    if not isinstance(attrs, dict):
        raise InputError(source, "graph", "expected an object of graph attributes")
    node_at = node_at or (lambda i: f"nodes[{i}]")
    edge_at = edge_at or (lambda j: f"{edge_key}[{j}]")

    ids: dict[Any, int] = {}
    clean_nodes = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise InputError(source, node_at(i), "expected an object with an 'id'")
        key = _hashable(node["id"], source, f"{node_at(i)}.id")
        if key in ids:
            raise InputError(source, f"{node_at(i)}.id", f"duplicate of {node_at(ids[key])}")
        ids[key] = i
        clean_nodes.append({**node, "id": key})
    clean_edges = []
    seen_edges: dict[tuple[Any, ...], int] = {}
    for j, edge in enumerate(edges):
        field = edge_at(j)
        if not isinstance(edge, dict):
            raise InputError(source, field, "expected an object with 'source' and 'target'")
        ends = []
        for end in ("source", "target"):
            if end not in edge:
                raise InputError(source, f"{field}.{end}", "missing")
            key = _hashable(edge[end], source, f"{field}.{end}")
            if key not in ids:
                raise InputError(source, f"{field}.{end}", f"unknown node {edge[end]!r}")
            ends.append(key)
        if ends[0] == ends[1]:
            raise InputError(source, field, "self-loops are not allowed")
        if "length" in edge:
            _positive(edge["length"], source, f"{field}.length", text_ok=False)
        pair = tuple(ends) if directed else tuple(sorted(ends, key=repr))
        if pair in seen_edges:
            raise InputError(source, field, f"duplicate of {edge_at(seen_edges[pair])}")
        seen_edges[pair] = j
        clean_edges.append({**edge, "source": ends[0], "target": ends[1]})

    raw = {
        "directed": directed,
        "multigraph": False,
        "graph": {},
        "nodes": clean_nodes,
        edge_key: clean_edges,
    }
    try:
        graph = nx.node_link_graph(raw, directed=directed, multigraph=False, **_edges_kw(edge_key))
    except (nx.NetworkXError, KeyError, TypeError, ValueError) as exc:  # pragma: no cover
        raise InputError(source, None, f"invalid node-link graph: {exc}") from None
    graph.graph.update(
        _graph_attrs(attrs, source, name, shape_key="grid_shape", text_ok=False), format="json"
    )
    listed = attrs.get(TRANSIT_KEY)  # saved before nodes carried the transit mark
    if listed is not None and not isinstance(listed, list):
        raise InputError(source, f"graph.{TRANSIT_KEY}", "expected a list of node ids")
    if isinstance(listed, list) and not any("transit" in d for _, d in graph.nodes(data=True)):
        for node in listed:
            key = _hashable(node, source, f"graph.{TRANSIT_KEY}")
            if key in graph:
                graph.nodes[key]["transit"] = True
    for i, (_node, data_) in enumerate(graph.nodes(data=True)):
        if "pos" not in data_:
            raise InputError(source, f"{node_at(i)}.pos", "missing (row, col) position")
        data_["pos"] = _pair(data_["pos"], source, f"{node_at(i)}.pos", text_ok=False)
        if "cell" in data_:
            data_["cell"] = _whole_pair(data_["cell"], source, f"{node_at(i)}.cell", text_ok=False)
    return _finish(graph, source, node_at, edge_field)


def parse_graphml(text: str, *, source: Source = None, name: str = "graph") -> nx.Graph:
    """Floor graph of a GraphML document (see module docstring)."""
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise InputError(source, None, "GraphML files may not declare a DOCTYPE or entities")
    try:
        _check_graphml_ids(ET.fromstring(text), source)
        with warnings.catch_warnings():  # a key without attr.type is a string (GraphML's rule)
            warnings.filterwarnings("ignore", "No key type for id", UserWarning)
            graph = nx.parse_graphml(text)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise InputError(source, f"line {line}" if line else None, f"invalid XML: {exc}") from None
    except (nx.NetworkXError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(source, None, f"invalid GraphML: {exc}") from None
    if graph.is_multigraph():
        if any(len(keys) > 1 for _, _, keys in _multi_pairs(graph)):
            raise InputError(source, "edges", "parallel edges (multigraphs) are not supported")
        graph = nx.DiGraph(graph) if graph.is_directed() else nx.Graph(graph)
    if graph.number_of_nodes() == 0:
        raise InputError(source, "nodes", "the graph has no nodes")
    if graph.number_of_nodes() > MAX_CELLS:
        raise InputError(source, "nodes", f"too many nodes (at most {MAX_CELLS})")
    attrs = dict(graph.graph)
    if "grid_rows" in attrs or "grid_cols" in attrs:
        attrs["grid_shape"] = [attrs.pop("grid_rows", None), attrs.pop("grid_cols", None)]
    graph.graph.clear()
    graph.graph.update(_graph_attrs(attrs, source, name, shape_key="grid_shape"), format="graphml")
    for i, (node, data) in enumerate(graph.nodes(data=True)):
        for axis in ("row", "col"):
            if axis not in data:
                raise InputError(source, f"nodes[{i}].{axis}", f"node {node!r} has no {axis}")
        data["pos"] = _pair(
            [_number(data.pop(axis), source, f"nodes[{i}].{axis}") for axis in ("row", "col")],
            source,
            f"nodes[{i}].pos",
        )
        if "cell_row" in data or "cell_col" in data:
            data["cell"] = _whole_pair(
                [data.pop("cell_row", None), data.pop("cell_col", None)],
                source,
                f"nodes[{i}].cell_row/cell_col",
            )
        for flag in ("start", "goal", "charger", "transit"):
            if isinstance(data.get(flag), str):
                data[flag] = {"true": True, "false": False}.get(data[flag].lower(), data[flag])
    for u, v in graph.edges:
        if u == v:
            raise InputError(source, f"edge {u}-{v}", "self-loops are not allowed")
    graph = _tuple_ids(graph)
    return _finish(graph, source, lambda i: f"nodes[{i}]", lambda u, v: f"edge {u}-{v}")


def _check_graphml_ids(root: ET.Element, source: Source) -> None:
    """Refuse what networkx would silently merge, drop or invent: two ``<key>`` or two
    ``<node>`` elements with one id, one element holding two ``<data>`` values for one key, a
    second or nested ``<graph>`` (networkx reads the first graph's own nodes only) and an edge
    to a node the file does not declare (networkx would add it)."""
    keys: set[str] = set()
    nodes: dict[str, int] = {}
    graphs = 0
    types = {
        elem.get("id", ""): (elem.get("attr.name") or "", elem.get("attr.type") or "string")
        for elem in root.iter()
        if elem.tag.rpartition("}")[2] == "key"
    }
    edges: list[ET.Element] = []
    for elem in root.iter():
        tag = elem.tag.rpartition("}")[2]
        if tag == "graph":
            graphs += 1
            if graphs > 1:
                raise InputError(
                    source,
                    f"graph {elem.get('id')!r}" if elem.get("id") else "graph",
                    "a second or nested <graph>: a floor file holds one graph",
                )
        elif tag == "edge":
            edges.append(elem)
        if tag == "key":
            key = elem.get("id", "")
            if key in keys:
                raise InputError(source, f"key {key}", "declared twice")
            keys.add(key)
            _check_key_default(elem, source)
        elif tag == "node":
            node = elem.get("id", "")
            if node in nodes:
                raise InputError(source, f"nodes[{len(nodes)}]", f"node id {node!r} repeats")
            nodes[node] = len(nodes)
        if tag in ("node", "edge", "graph"):
            data = [d.get("key", "") for d in elem if d.tag.rpartition("}")[2] == "data"]
            where = f"node {elem.get('id')!r}" if tag == "node" else tag
            if repeated := sorted({k for k in data if data.count(k) > 1}):
                raise InputError(source, f"{where}", f"two values for key {repeated[0]!r}")
            if tag == "edge":
                where = f"edges[{len(edges) - 1}]"
            _check_typed_data(elem, types, source, where)
    for j, edge in enumerate(edges):
        for end in ("source", "target"):
            ref = edge.get(end)
            if ref is None:
                raise InputError(source, f"edges[{j}].{end}", "missing")
            if ref not in nodes:
                raise InputError(source, f"edges[{j}].{end}", f"unknown node {ref!r}")


#: GraphML ``attr.type`` values networkx converts, and how (booleans: ``true``/``false``/1/0)
_GRAPHML_NUMBERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
}


def _check_typed_data(
    elem: ET.Element, types: dict[str, tuple[str, str]], source: Source, where: str
) -> None:
    """A ``<data>`` value networkx cannot convert to its key's ``attr.type`` is named here
    (networkx's own error names neither the element nor the attribute)."""
    for child in elem:
        if child.tag.rpartition("}")[2] != "data" or child.text is None or len(child):
            continue
        name, kind = types.get(child.get("key", ""), ("", "string"))
        if not _typed_ok(kind, child.text):  # (the message names the element and attribute)
            raise InputError(
                source,
                None,
                f"invalid GraphML: {where}.{name or child.get('key')}: expected {kind}, "
                f"got {child.text!r}",
            )


def _check_key_default(elem: ET.Element, source: Source) -> None:
    """A key's ``<default>`` that its ``attr.type`` cannot read is named here, as data are."""
    kind = elem.get("attr.type") or "string"
    for child in elem:
        if child.tag.rpartition("}")[2] == "default" and child.text is not None:
            if not _typed_ok(kind, child.text):
                raise InputError(
                    source,
                    f"key {elem.get('id', '')}",
                    f"invalid GraphML: <default> expected {kind}, got {child.text!r}",
                )


def _typed_ok(kind: str, text: str) -> bool:
    """Whether networkx reads ``text`` as a GraphML value of ``attr.type`` ``kind``."""
    if kind == "boolean":
        return text.lower() in ("true", "false", "0", "1")
    try:
        _GRAPHML_NUMBERS.get(kind, str)(text)
    except ValueError:
        return False
    return True


def _finish(
    graph: nx.Graph,
    source: Source,
    node_field: Callable[[int], str],
    edge_field: Callable[[Any, Any], str | None],
) -> nx.Graph:
    """Check kinds, flags, positions and lengths; fill defaults."""
    cells: dict[tuple[int, int], int] = {}
    transit: list[Any] = []
    cell_size = graph.graph["cell_size"]
    shape = graph.graph.get("grid_shape")
    for i, (node, data) in enumerate(graph.nodes(data=True)):
        field = node_field(i)
        _refuse_typos(data, NODE_ATTRS, source, field)
        kind = data.get("kind")
        try:
            if not isinstance(kind, str):
                raise KeyError(kind)
            data["kind"] = NodeKind.parse(kind).name.lower()
        except KeyError:
            allowed = ", ".join(k.name.lower() for k in NodeKind)
            what = "missing" if kind is None else f"unknown kind {kind!r}"
            raise InputError(source, f"{field}.kind", f"{what} (one of: {allowed})") from None
        for flag in ("start", "goal"):
            value = data.setdefault(flag, True)
            if not isinstance(value, bool | np.bool_):
                raise InputError(
                    source, f"{field}.{flag}", f"expected true or false, got {value!r}"
                )
            data[flag] = bool(value)
        if "charger" in data:
            value = data["charger"]
            if not isinstance(value, bool | np.bool_):
                raise InputError(
                    source, f"{field}.charger", f"expected true or false, got {value!r}"
                )
            data["charger"] = bool(value)
            if data["charger"] and data["kind"] not in ("aisle", "parking"):
                raise InputError(
                    source,
                    f"{field}.charger",
                    f"a charger must be an aisle or parking node, not {data['kind']}",
                )
        if "transit" in data:
            value = data.pop("transit")
            if not isinstance(value, bool | np.bool_):
                raise InputError(
                    source, f"{field}.transit", f"expected true or false, got {value!r}"
                )
            if value and data["kind"] != "aisle":
                raise InputError(
                    source,
                    f"{field}.transit",
                    f"a transit node is an aisle node, not {data['kind']}",
                )
            if value:  # never a start or a goal, as split_long_edges makes them
                data["start"] = data["goal"] = False
                transit.append(node)
        cell = data.get("cell") or (round(data["pos"][0]), round(data["pos"][1]))
        if cell in cells:
            raise InputError(
                source,
                f"{field}.pos",
                f"node {node!r} lies in the same cell {cell} as {node_field(cells[cell])}",
            )
        cells[cell] = i
        if shape is not None and not (0 <= cell[0] < shape[0] and 0 <= cell[1] < shape[1]):
            raise InputError(source, f"{field}.pos", f"{cell} lies outside grid_shape {shape}")
    rows = [c[0] for c in cells]
    cols = [c[1] for c in cells]
    height, width = max(rows) - min(rows) + 1, max(cols) - min(cols) + 1
    if height > MAX_SIDE or width > MAX_SIDE or height * width > MAX_CELLS:
        raise InputError(
            source,
            "nodes",
            f"positions span {_size(height)}x{_size(width)} cells (at most {MAX_SIDE} per side and "
            f"{MAX_CELLS} cells)",
        )
    for j, (u, v, data) in enumerate(graph.edges(data=True)):
        efield = edge_field(u, v)
        _refuse_typos(data, EDGE_ATTRS, source, efield or f"edges[{j}]")
        for end in (u, v):  # the floor would drop it: a shelf is no place to drive to
            if graph.nodes[end]["kind"] == "blocked":
                raise InputError(
                    source,
                    efield or f"edge {u}-{v}",
                    f"joins the blocked node {end!r} (blocked nodes have no edges)",
                )
        if "length" in data:
            if efield is not None:
                data["length"] = _positive(data["length"], source, f"{efield}.length")
            else:
                data["length"] = float(data["length"])
        else:
            data["length"] = cell_size
    if transit:  # as split_long_edges leaves a floor (the node mark is not kept)
        graph.graph[TRANSIT_KEY] = frozenset(transit)
    return graph


def _refuse_typos(
    attrs: dict[str, Any], known: tuple[str, ...], source: Source, field: str
) -> None:
    """An attribute name close to a known one but not it is a typo that would be ignored."""
    for key in attrs:
        if key not in known and (close := difflib.get_close_matches(str(key), known, 1, 0.75)):
            raise InputError(
                source, f"{field}.{key}", f"unknown attribute; did you mean {close[0]!r}?"
            )


def _size(n: int) -> str:
    """A cell count for a message: in full, or as ``1.0e+300`` where it is absurd."""
    return str(n) if n < 10**9 else f"{float(n):.1e}"


def _graph_attrs(
    attrs: dict[str, Any], source: Source, name: str, *, shape_key: str, text_ok: bool = True
) -> dict:
    _refuse_typos(attrs, GRAPH_ATTRS, source, "graph")
    out: dict[str, Any] = {
        k: v
        for k, v in attrs.items()
        if isinstance(v, str | int | float | bool) and k not in RESERVED_GRAPH_ATTRS
    }
    out["name"] = str(attrs.get("name", name))
    out["cell_size"] = _positive(
        attrs.get("cell_size", 1.0), source, "graph.cell_size", text_ok=text_ok
    )
    explicit = attrs.get("explicit_kinds", True)
    if not isinstance(explicit, bool):
        raise InputError(source, "graph.explicit_kinds", "expected true or false")
    out["explicit_kinds"] = explicit
    shape = attrs.get(shape_key)
    if shape is not None:
        if (
            not isinstance(shape, list | tuple)
            or len(shape) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
        ):
            raise InputError(
                source, f"graph.{shape_key}", "expected [rows, cols], two whole numbers > 0"
            )
        if shape[0] > MAX_SIDE or shape[1] > MAX_SIDE or shape[0] * shape[1] > MAX_CELLS:
            raise InputError(source, f"graph.{shape_key}", f"{shape[0]}x{shape[1]} is too large")
        out[shape_key] = (int(shape[0]), int(shape[1]))
    return out


def _hashable(value: Any, source: Source, field: str) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v, source, field) for v in value)
    if isinstance(value, str | int | float | bool):
        return value
    raise InputError(source, field, f"node ids must be strings, numbers or lists, got {value!r}")


def _number(value: Any, source: Source, field: str, *, text_ok: bool = True) -> float:
    """A finite number; ``text_ok=False`` (JSON, which has numbers of its own) refuses text."""
    if isinstance(value, bool) or (not text_ok and isinstance(value, str)):
        raise InputError(source, field, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(source, field, f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(source, field, f"expected a finite number, got {value!r}")
    return number


def _positive(value: Any, source: Source, field: str, *, text_ok: bool = True) -> float:
    number = _number(value, source, field, text_ok=text_ok)
    if number <= 0:
        raise InputError(source, field, f"must be > 0, got {value!r}")
    return number


def _pair(
    value: Any, source: Source, field: str, *, text_ok: bool = True
) -> tuple[float, float] | tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InputError(source, field, f"expected [row, col], two numbers, got {value!r}")
    row, col = (_number(v, source, field, text_ok=text_ok) for v in value)
    if row.is_integer() and col.is_integer():
        return (int(row), int(col))
    return (row, col)


def _whole_pair(value: Any, source: Source, field: str, *, text_ok: bool = True) -> tuple[int, int]:
    """A ``cell``: ``[row, col]``, two whole numbers (``2.0`` is 2)."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InputError(source, field, f"expected [row, col], two whole numbers, got {value!r}")
    numbers = [_number(v, source, field, text_ok=text_ok) for v in value]
    if not all(x.is_integer() for x in numbers):
        raise InputError(source, field, f"expected [row, col], two whole numbers, got {value!r}")
    return (int(numbers[0]), int(numbers[1]))


def _multi_pairs(graph: nx.MultiGraph):
    for u, nbrs in graph.adjacency():
        for v, keys in nbrs.items():
            yield u, v, keys


def _tuple_ids(graph: nx.Graph) -> nx.Graph:
    """Relabel ``"(r, c)"`` string ids to ``(r, c)`` when every id matches its own position
    (transit nodes aside: they keep their names, ``"(r, c)~(r, c)#i"``)."""
    mapping = {}
    for node, data in graph.nodes(data=True):
        if data.get("transit") is True:
            continue
        match = _TUPLE_ID.match(str(node))
        key = (int(match[1]), int(match[2])) if match else None
        if key is None or key != data["pos"]:
            return graph
        mapping[node] = key
    return nx.relabel_nodes(graph, mapping, copy=True)


def _edges_kw(edge_key: str) -> dict[str, str]:
    """networkx renamed node-link's ``link=`` keyword to ``edges=`` (3.4); support both."""
    params = inspect.signature(nx.node_link_graph).parameters
    return {"edges": edge_key} if "edges" in params else {"link": edge_key}


# ---------------------------------------------------------------------------------- writing
def save_graph(graph: nx.Graph, path: str | Path) -> Path:
    """Write ``graph`` as node-link JSON (``.json``) or GraphML (``.graphml``), atomically."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".json":
        payload = _node_link_text(graph)
    elif ext in (".graphml", ".xml"):
        payload = "\n".join(nx.generate_graphml(_graphml_ready(graph))) + "\n"
    else:
        raise InputError(
            path, None, f"cannot save a floor as {ext or 'no extension'!r}: use .json or .graphml"
        )
    try:
        write_text_atomic(path, payload)
    except OSError as exc:
        raise InputError(path, None, f"cannot write: {exc.strerror or exc}") from None
    return path


def _node_link_text(graph: nx.Graph) -> str:
    return json.dumps(_node_link_data(graph), indent=1, default=_json_default) + "\n"


def _node_link_data(graph: nx.Graph) -> dict[str, Any]:
    """What :func:`save_graph` writes to a JSON file, before it is text: the node-link data,
    edges under ``edges``, transit nodes marked on the nodes (``graph`` is not changed)."""
    params = inspect.signature(nx.node_link_data).parameters
    kw = {"edges": "edges"} if "edges" in params else {"link": "edges"}
    transit = graph.graph.get(TRANSIT_KEY)
    if isinstance(transit, set | frozenset | list | tuple):  # marks on the nodes instead
        graph = graph.copy()
        del graph.graph[TRANSIT_KEY]
        for node in transit:
            if node in graph:
                graph.nodes[node]["transit"] = True
    return nx.node_link_data(graph, **kw)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def _scalar(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    return value if isinstance(value, str | int | float | bool) else None


def _graphml_ready(graph: nx.Graph) -> nx.Graph:
    """A copy with scalar attributes only: ``pos`` → ``row``/``col``, ``cell`` →
    ``cell_row``/``cell_col``, ``grid_shape`` → ``grid_rows``/``grid_cols``, transit nodes
    marked ``transit``, node ids as strings."""
    transit = graph.graph.get(TRANSIT_KEY) or frozenset()
    out = nx.DiGraph() if graph.is_directed() else nx.Graph()
    for key, value in graph.graph.items():
        if key == "grid_shape" and value is not None:
            out.graph["grid_rows"], out.graph["grid_cols"] = int(value[0]), int(value[1])
        elif _scalar(value) is not None:
            out.graph[key] = _scalar(value)
    labels = {node: str(node) for node in graph.nodes}
    if len(set(labels.values())) != len(labels):
        labels = {node: f"n{i}" for i, node in enumerate(graph.nodes)}
    for node, data in graph.nodes(data=True):
        attrs = {k: _scalar(v) for k, v in data.items() if k not in ("pos", "cell")}
        attrs = {k: v for k, v in attrs.items() if v is not None}
        if "pos" in data:
            attrs["row"], attrs["col"] = (_scalar(p) for p in data["pos"])
        if data.get("cell") is not None:
            attrs["cell_row"], attrs["cell_col"] = (int(p) for p in data["cell"])
        if node in transit:
            attrs["transit"] = True
        out.add_node(labels[node], **attrs)
    for u, v, data in graph.edges(data=True):
        attrs = {k: _scalar(x) for k, x in data.items()}
        out.add_edge(labels[u], labels[v], **{k: x for k, x in attrs.items() if x is not None})
    return out
